// Runs the client CLI as a user does: a real `node client/main.ts` process (or `npm run -s cli`)
// in a repository, with its own config directory and a real ssh-agent holding the user's key.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { run, type RunResult } from '../../server/exec.ts';
import type { TestKey } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** A user's machine for the client: HOME, XDG_CONFIG_HOME and an ssh-agent with `key` in it. */
export interface ClientUser {
  env: Record<string, string>;
  configDir: string;
  /** Runs `slipway ARGS` in `cwd` (node client/main.ts; `npm: true` through the npm script). */
  cli(cwd: string, args: string[], opts?: { env?: Record<string, string>; npm?: boolean; input?: string }): Promise<RunResult>;
  close(): Promise<void>;
}

/** Starts a real ssh-agent with `key` added, and a fresh home and config directory. */
export async function clientUser(key: TestKey): Promise<ClientUser> {
  const home = mkdtempSync(join(tmpdir(), 'slipway-client-'));
  const configDir = join(home, 'config');
  mkdirSync(configDir);
  const sock = join(home, 'agent.sock');
  const agent = await run('ssh-agent', ['-a', sock, '-s']);
  if (agent.exitCode !== 0) throw new Error(`ssh-agent failed: ${agent.stderr}`);
  const pid = /SSH_AGENT_PID=(\d+)/.exec(agent.stdout)?.[1];
  const added = await run('ssh-add', ['-q', key.path], { env: { SSH_AUTH_SOCK: sock } });
  if (added.exitCode !== 0) throw new Error(`ssh-add failed: ${added.stderr}`);
  const env: Record<string, string> = {
    HOME: home, XDG_CONFIG_HOME: configDir, SSH_AUTH_SOCK: sock, PATH: process.env.PATH ?? '',
    GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0',
    // The agent's key only, nothing of this machine's ~/.ssh; a throwaway server's host key.
    SLIPWAY_SSH_COMMAND: 'ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes',
  };
  return {
    env, configDir,
    cli: (cwd, args, opts = {}) => opts.npm
      ? run('npm', ['run', '-s', '--prefix', ROOT, 'cli', '--', ...args], { cwd, env: { ...env, ...opts.env }, extendEnv: false, ...(opts.input !== undefined ? { input: opts.input } : {}) })
      : run(process.execPath, [join(ROOT, 'client', 'main.ts'), ...args], { cwd, env: { ...env, ...opts.env }, extendEnv: false, ...(opts.input !== undefined ? { input: opts.input } : {}) }),
    close: async () => {
      if (pid) process.kill(Number(pid));
    },
  };
}
