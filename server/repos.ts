import { mkdirSync, rmSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from './config.ts';
import { git } from './git.ts';
import { appName } from './names.ts';
import { MAX_PUSH_OPTIONS } from '../hooks/wire.ts';

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
    '# the quarantine receive-pack set up for the pushed objects, and the push options (git push -o),',
    '# their count and the first MAX_PUSH_OPTIONS of them (each quoted: a value is never interpreted).',
    `NODE_COMPILE_CACHE=${sq(join(config.runDir, 'compile-cache'))} exec ${sq(config.nodeBinary)} ${sq(HOOK_CLIENT)} ${sq(config.hookSocket)} \\`,
    '  "${SLIPWAY_PUSH_ID-}" "${GIT_OBJECT_DIRECTORY-}" "${GIT_ALTERNATE_OBJECT_DIRECTORIES-}" "${GIT_QUARANTINE_PATH-}" \\',
    `  "\${GIT_PUSH_OPTION_COUNT-0}" ${Array.from({ length: MAX_PUSH_OPTIONS }, (_, i) => `"\${GIT_PUSH_OPTION_${i}-}"`).join(' ')}`,
    '',
  ].join('\n');
  const tmp = join(config.hooksDir, '.pre-receive.tmp');
  writeFileSync(tmp, body, { mode: 0o755 });
  renameSync(tmp, join(config.hooksDir, 'pre-receive'));
}

/**
 * `-c` settings for every git that serves a push or fetch, over either transport. Given at spawn
 * time, so a changed limit or a moved data dir applies to every existing repo at once.
 */
export function serveSettings(config: Pick<Config, 'hooksDir' | 'maxPushBytes'>): string[] {
  return [
    '-c', `core.hooksPath=${config.hooksDir}`,
    '-c', `receive.maxInputSize=${config.maxPushBytes}`,
    '-c', 'transfer.fsckObjects=true',
    // Push options (`git push -o canary=10`, `-o detach`) reach the hook, which passes them on
    // (bounded, parsed by the server: hooks/wire.ts, pushOptions).
    '-c', 'receive.advertisePushOptions=true',
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

/** Removes the app's bare repo (nothing if it is already gone, so a destroy can be rerun). */
export function removeRepo(config: Pick<Config, 'reposDir'>, app: string): void {
  rmSync(repoPath(config, app), { recursive: true, force: true });
}

/** Removes the app's build logs (DATA_DIR/logs/APP). */
export function removeLogs(config: Pick<Config, 'logsDir'>, app: string): void {
  rmSync(join(config.logsDir, appName(app)), { recursive: true, force: true });
}

const INCOMING = 'tmp_objdir-incoming-';

/**
 * Removes the quarantines (objects/tmp_objdir-incoming-*) that receive-pack killed mid-push left
 * behind, in every repo; git removes them itself only when it exits normally. Only those older
 * than `before` (the server's start): the caller runs this before any push can begin. Returns
 * how many were removed.
 */
export async function sweepIncoming(config: Pick<Config, 'reposDir'>, before: number): Promise<number> {
  const repos = await readdir(config.reposDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw new Error(`listing ${config.reposDir} failed`, { cause: err });
  });
  let removed = 0;
  for (const repo of repos.filter((r) => r.endsWith('.git'))) {
    const objects = join(config.reposDir, repo, 'objects');
    const names = await readdir(objects).catch(() => [] as string[]);
    for (const n of names.filter((x) => x.startsWith(INCOMING))) {
      const path = join(objects, n);
      if ((await stat(path)).mtimeMs >= before) continue;
      await rm(path, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

/** Points the repo's HEAD at the branch that was deployed, so clones check it out. */
export async function setHead(config: Pick<Config, 'reposDir'>, app: string, branch: string): Promise<void> {
  const repo = repoPath(config, app);
  // It usually does already (a new repo's HEAD is main), as the symbolic ref git wrote says: then
  // no git (a fork of this large process, 8 ms of a push) runs. Unreadable: git says why below.
  const head = await readFile(join(repo, 'HEAD'), 'utf8').catch(() => '');
  if (head === `ref: refs/heads/${branch}\n`) return;
  await git(['symbolic-ref', 'HEAD', `refs/heads/${branch}`], { cwd: repo });
}
