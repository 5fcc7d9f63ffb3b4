import { KubeDeployer } from '../../server/deploy/kube.ts';
import { randomBytes } from 'node:crypto';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
// Starts a real Slipway (ssh2 server, git's smart HTTP, SQLite file) on loopback port 0 and drives
// it with the real OpenSSH and git clients, as a user would.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { run, type RunResult } from '../../server/exec.ts';
import { startSlipway, type RunningSlipway } from '../../server/server.ts';
import type { Backends } from '../../server/context.ts';
import { configureLog } from '../../server/output/log.ts';
import { FakeBuilder, FakeDeployer, type FakeControls } from './fakes.ts';

configureLog({ level: process.env.SLIPWAY_TEST_LOG ? 'debug' : 'error' });

export interface TestKey { name: string; path: string; pub: string }

/** Generates a real ed25519 key pair with ssh-keygen. */
export async function makeKey(dir: string, name: string): Promise<TestKey> {
  const path = join(dir, `key-${name}`);
  const r = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path]);
  if (r.exitCode !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  return { name, path, pub: readFileSync(path + '.pub', 'utf8') };
}

/** OpenSSH client options for a throwaway loopback server. */
export function sshOptions(key: TestKey): string[] {
  return ['-i', key.path, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'];
}

/** A work dir's git environment: isolated from the machine's git config. */
export function gitEnv(home: string, key?: TestKey): Record<string, string> {
  return {
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.invalid',
    GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.invalid',
    GIT_TERMINAL_PROMPT: '0',
    ...(key ? { GIT_SSH_COMMAND: ['ssh', ...sshOptions(key)].join(' ') } : {}),
  };
}

export interface TestServer {
  slipway: RunningSlipway;
  dir: string;
  admin: TestKey;
  builder: FakeBuilder;
  deployer: FakeDeployer;
  controls: FakeControls;
  /** Runs `ssh git@127.0.0.1 <command>` with a key. */
  ssh(key: TestKey, command: string, input?: string): Promise<RunResult>;
  /** Runs git with the key for SSH remotes. */
  git(args: string[], opts?: { cwd?: string; key?: TestKey }): Promise<RunResult>;
  sshRemote(app: string): string;
  httpRemote(app: string, token?: string): string;
  /** A new repo with one commit (files given) on `main`. */
  workRepo(files: Record<string, string | Buffer>, name?: string): Promise<string>;
  /** Makes `dir` (e.g. a fixture copy) a repo with everything committed on `main`. */
  commitAll(dir: string, message?: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts a server with one admin key and fake builder/deployer, unless real ones are given. */
export async function startTestServer(env: Record<string, string> = {}, backends: Backends = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-test-'));
  const admin = await makeKey(dir, 'admin');
  const controls: FakeControls = {};
  const builder = new FakeBuilder(controls);
  const deployer = new FakeDeployer(controls);
  const config = loadConfig({
    SLIPWAY_DATA_DIR: join(dir, 'data'), SLIPWAY_SSH_PORT: '0', SLIPWAY_HTTP_PORT: '0', SLIPWAY_BIND: '127.0.0.1',
    SLIPWAY_HOST: '127.0.0.1', SLIPWAY_BASE_DOMAIN: 'apps.test', SLIPWAY_ADMIN_KEYS: admin.path + '.pub', ...env,
  });
  // The server's one Kubernetes client is its deployer's, as server/backends.ts wires them.
  const kube = backends.kube ?? (backends.deployer instanceof KubeDeployer ? backends.deployer.client : undefined);
  const slipway = await startSlipway(config, { builder: backends.builder ?? builder, deployer: backends.deployer ?? deployer, registry: backends.registry, ...(kube ? { kube } : {}) });
  const home = join(dir, 'home');
  let repos = 0;
  const self: TestServer = {
    slipway, dir, admin, builder, deployer, controls,
    ssh: (key, command, input) =>
      run('ssh', [...sshOptions(key), '-p', String(slipway.sshPort), 'git@127.0.0.1', command], { input: input ?? '' }),
    git: (args, opts = {}) => run('git', args, { cwd: opts.cwd, env: gitEnv(home, opts.key ?? admin) }),
    sshRemote: (app) => `ssh://git@127.0.0.1:${slipway.sshPort}/${app}.git`,
    httpRemote: (app, token) => `http://${token ? `x:${token}@` : ''}127.0.0.1:${slipway.httpPort}/${app}.git`,
    workRepo: async (files, name = `work${++repos}`) => {
      const { mkdirSync, writeFileSync } = await import('node:fs');
      const wd = join(dir, name);
      mkdirSync(wd, { recursive: true });
      await self.git(['init', '-q', '-b', 'main', wd]);
      for (const [f, content] of Object.entries(files)) {
        mkdirSync(join(wd, f, '..'), { recursive: true });
        writeFileSync(join(wd, f), content);
      }
      await self.git(['add', '-A'], { cwd: wd });
      await self.git(['commit', '-q', '-m', 'initial'], { cwd: wd });
      return wd;
    },
    commitAll: async (wd, message = 'change') => {
      await self.git(['init', '-q', '-b', 'main', wd]);
      await self.git(['add', '-A'], { cwd: wd });
      await self.git(['commit', '-q', '--allow-empty', '-m', message], { cwd: wd });
      return (await self.git(['rev-parse', 'HEAD'], { cwd: wd })).stdout.trim();
    },
    close: async () => {
      await slipway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}

/** The `remote:` lines of git's output, without the prefix and trailing padding. */
export function remoteLines(output: string): string[] {
  return output.split('\n').filter((l) => l.startsWith('remote: ')).map((l) => l.slice(8).trimEnd());
}

let apps = 0;
/** This process's own part of app names: test files run at once on one cluster and registry. */
const RUN = randomBytes(3).toString('hex');

/** A fresh, valid app name (`prefix-RUN-N`), unique across the test processes; nothing is created. */
export function uniqueAppName(prefix = 'app'): string {
  return `${prefix}-${RUN}-${++apps}`;
}

/** Runs `apps:create` for a new, unique app (`prefix-N`) and returns its name: one app per test. */
export async function newApp(s: TestServer, prefix = 'app'): Promise<string> {
  const name = uniqueAppName(prefix);
  const r = await s.ssh(s.admin, `apps:create ${name}`);
  if (r.exitCode !== 0) throw new Error(`apps:create ${name} failed (exit ${r.exitCode}): ${r.stderr}`);
  return name;
}

/** A new app (newApp) with a one-file repository pushed over SSH: one deployed app per test. */
export async function deployedApp(s: TestServer, prefix = 'app'): Promise<{ app: string; wd: string }> {
  const app = await newApp(s, prefix);
  const wd = await s.workRepo({ 'index.js': 'console.log("hi")\n' });
  const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
  if (push.exitCode !== 0) throw new Error(`git push to ${app} failed (exit ${push.exitCode}): ${push.stderr}`);
  return { app, wd };
}

/**
 * Sets fake controls for one test. What they were is put back in `t.after`, registered before the
 * test asserts anything, so a failing assertion cannot leave them set for the next test.
 */
export function useControls(t: TestContext, s: TestServer, set: Partial<FakeControls>): void {
  const keys = Object.keys(set) as (keyof FakeControls)[];
  const saved = Object.fromEntries(keys.map((k) => [k, s.controls[k]])) as Partial<FakeControls>;
  t.after(() => {
    for (const k of keys) {
      if (saved[k] === undefined) delete s.controls[k];
      else (s.controls as Record<string, unknown>)[k] = saved[k];
    }
  });
  Object.assign(s.controls, set);
}

/** Holds the fake deployer's rollouts at a gate for this test: `reached` settles once one waits there, `open` lets them go. */
export function holdRollouts(t: TestContext, s: TestServer): { open: () => void; reached: Promise<void> } {
  let open!: () => void;
  let reached!: () => void;
  const r = new Promise<void>((resolve) => { reached = resolve; });
  useControls(t, s, { deployGate: new Promise<void>((resolve) => { open = resolve; }), onDeployStart: () => reached() });
  t.after(() => open());
  return { open, reached: r };
}

/** A TCP port free on 127.0.0.1 right now (for a server that must be told its ports). */
export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}
