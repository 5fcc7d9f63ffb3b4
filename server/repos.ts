import { mkdirSync, rmSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import { git } from './git.ts';
import { appName } from './names.ts';

const HOOK_CLIENT = join(import.meta.dirname, '..', 'hooks', 'pre-receive.ts');

/** The bare repo of an app; the path is built from a validated name, never from raw input. */
export function repoPath(config: Pick<Config, 'reposDir'>, app: string): string {
  return join(config.reposDir, `${appName(app)}.git`);
}

function sq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * Writes the shared pre-receive shim every repo points at (core.hooksPath). It only hands the
 * push to the server over the hook socket; rewritten at each start so it names this Node binary.
 */
export function installHookShim(config: Pick<Config, 'hooksDir' | 'hookSocket' | 'nodeBinary' | 'runDir'>): void {
  mkdirSync(config.hooksDir, { recursive: true, mode: 0o700 });
  const body = [
    '#!/bin/sh',
    '# Written by Slipway at start-up: hands the push to the running server, which runs the pipeline.',
    '# The compile cache makes the client start in a third of the time (it runs on every push).',
    '# What the server needs from git\'s environment goes as arguments: the push id our transport set,',
    '# and the quarantine receive-pack set up for the pushed objects.',
    `NODE_COMPILE_CACHE=${sq(join(config.runDir, 'compile-cache'))} exec ${sq(config.nodeBinary)} ${sq(HOOK_CLIENT)} ${sq(config.hookSocket)} \\`,
    '  "${SLIPWAY_PUSH_ID-}" "${GIT_OBJECT_DIRECTORY-}" "${GIT_ALTERNATE_OBJECT_DIRECTORIES-}" "${GIT_QUARANTINE_PATH-}"',
    '',
  ].join('\n');
  const tmp = join(config.hooksDir, '.pre-receive.tmp');
  writeFileSync(tmp, body, { mode: 0o755 });
  renameSync(tmp, join(config.hooksDir, 'pre-receive'));
}

/**
 * `-c` settings for every git that serves a push or fetch. Given at spawn time (they reach
 * receive-pack through http-backend too), so a changed limit or a moved data dir applies to
 * every existing repo at once.
 */
export function serveSettings(config: Pick<Config, 'hooksDir' | 'maxPushBytes'>): string[] {
  return [
    '-c', `core.hooksPath=${config.hooksDir}`,
    '-c', `receive.maxInputSize=${config.maxPushBytes}`,
    '-c', 'transfer.fsckObjects=true',
    '-c', 'http.getanyfile=false',
    '-c', 'receive.advertisePushOptions=false',
  ];
}

/** Creates the app's bare repo; fails if it exists. */
export async function createRepo(config: Pick<Config, 'reposDir'>, app: string): Promise<string> {
  const path = repoPath(config, app);
  if (existsSync(path)) throw new Error(`repository ${path} already exists`);
  mkdirSync(config.reposDir, { recursive: true, mode: 0o700 });
  // --template= keeps git's sample hooks out. The hook, limits and checks are not stored in the
  // repo: every git that serves it gets them from serveSettings() at spawn time.
  await git(['init', '--quiet', '--bare', '--template=', '--initial-branch=main', path]);
  return path;
}

/** Removes the app's bare repo. */
export function removeRepo(config: Pick<Config, 'reposDir'>, app: string): void {
  rmSync(repoPath(config, app), { recursive: true, force: true });
}

/** Points the repo's HEAD at the branch that was deployed, so clones check it out. */
export async function setHead(config: Pick<Config, 'reposDir'>, app: string, branch: string): Promise<void> {
  await git(['symbolic-ref', 'HEAD', `refs/heads/${branch}`], { cwd: repoPath(config, app) });
}
