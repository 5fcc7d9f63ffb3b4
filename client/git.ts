// The git calls the client makes, through the real `git` with argument arrays: the repository's
// remotes, `git config slipway.remote`, and adding or removing the `paas` remote.
import { capture } from './proc.ts';
import type { GitRemote } from './remotes.ts';

/** The repository's remotes with their fetch URLs and `slipway.remote`, read by one git call; none outside a repository. */
export async function remoteConfig(cwd: string): Promise<{ remotes: GitRemote[]; chosen: string | undefined }> {
  const r = await capture('git', ['config', '--get-regexp', '^(remote\\..*\\.url|slipway\\.remote)$'], { cwd }).catch(() => undefined);
  const remotes: GitRemote[] = [];
  let chosen: string | undefined;
  if (!r || r.code !== 0) return { remotes, chosen };
  for (const line of r.stdout.split('\n')) {
    const m = /^remote\.(.+)\.url (.*)$/.exec(line);
    if (m) remotes.push({ name: m[1]!, url: m[2]! });
    else if (line.startsWith('slipway.remote ')) chosen = line.slice('slipway.remote '.length).trim() || undefined;
  }
  return { remotes, chosen };
}

/** The repository's remotes with their fetch URLs; none outside a repository. */
export async function gitRemotes(cwd: string): Promise<GitRemote[]> {
  return (await remoteConfig(cwd)).remotes;
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
