// The git calls the client makes, through the real `git` with argument arrays: the repository's
// remotes, `git config slipway.remote`, and adding or removing the `paas` remote.
import { capture } from './proc.ts';
import type { GitRemote } from './remotes.ts';

/** The repository's remotes with their fetch URLs; none outside a repository. */
export async function gitRemotes(cwd: string): Promise<GitRemote[]> {
  const r = await capture('git', ['config', '--get-regexp', '^remote\\..*\\.url$'], { cwd }).catch(() => undefined);
  if (!r || r.code !== 0) return [];
  return r.stdout.split('\n').flatMap((line) => {
    const m = /^remote\.(.+)\.url (.*)$/.exec(line);
    return m ? [{ name: m[1]!, url: m[2]! }] : [];
  });
}

/** One value of git config (`slipway.remote`), or undefined. */
export async function gitConfig(cwd: string, key: string): Promise<string | undefined> {
  const r = await capture('git', ['config', '--get', key], { cwd }).catch(() => undefined);
  const v = r?.code === 0 ? r.stdout.trim() : '';
  return v === '' ? undefined : v;
}

/** Whether `cwd` is inside a git work tree. */
export async function inRepository(cwd: string): Promise<boolean> {
  const r = await capture('git', ['rev-parse', '--is-inside-work-tree'], { cwd }).catch(() => undefined);
  return r?.code === 0 && r.stdout.trim() === 'true';
}

/** Adds a remote; resolves with git's error text when it failed. */
export async function addRemote(cwd: string, name: string, url: string): Promise<string | undefined> {
  const r = await capture('git', ['remote', 'add', '--', name, url], { cwd });
  return r.code === 0 ? undefined : r.stderr.trim();
}

/** Removes a remote; resolves with git's error text when it failed. */
export async function removeRemote(cwd: string, name: string): Promise<string | undefined> {
  const r = await capture('git', ['remote', 'remove', '--', name], { cwd });
  return r.code === 0 ? undefined : r.stderr.trim();
}
