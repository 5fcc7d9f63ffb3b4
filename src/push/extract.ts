import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipe } from '../exec.ts';

/** Git's quarantine environment for a push in progress (set by receive-pack for its hooks). */
export interface Quarantine {
  GIT_OBJECT_DIRECTORY?: string;
  GIT_ALTERNATE_OBJECT_DIRECTORIES?: string;
  GIT_QUARANTINE_PATH?: string;
}

async function drain(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/**
 * Writes the pushed commit's tree into a fresh temp dir (`git archive | tar -x`). The objects are
 * still in git's quarantine (not yet in the repo), so git is pointed at it; nothing is written to
 * the repo. Paths are safe to unpack: transfer.fsckObjects already refused trees with `..`,
 * `.git` or absolute entries.
 */
export async function extractTree(opts: { repo: string; commit: string; tmpRoot: string; quarantine: Quarantine; signal: AbortSignal }): Promise<{ dir: string; cleanup(): Promise<void> }> {
  await mkdir(opts.tmpRoot, { recursive: true, mode: 0o700 });
  const root = await mkdtemp(join(opts.tmpRoot, 'push-'));
  const dir = join(root, 'src');
  await mkdir(dir);
  const cleanup = () => rm(root, { recursive: true, force: true });
  const env = {
    GIT_DIR: opts.repo,
    GIT_OBJECT_DIRECTORY: opts.quarantine.GIT_OBJECT_DIRECTORY,
    GIT_ALTERNATE_OBJECT_DIRECTORIES: opts.quarantine.GIT_ALTERNATE_OBJECT_DIRECTORIES,
    GIT_QUARANTINE_PATH: opts.quarantine.GIT_QUARANTINE_PATH,
  };
  const archive = pipe('git', ['archive', '--format=tar', opts.commit], { env, signal: opts.signal });
  const untar = pipe('tar', ['--extract', '--no-same-owner', '--directory', dir], { signal: opts.signal });
  archive.stdout.pipe(untar.stdin);
  untar.stdout.resume();
  const [archiveErr, untarErr, archiveCode, untarCode] = await Promise.all([drain(archive.stderr), drain(untar.stderr), archive.exited, untar.exited]);
  if (archiveCode !== 0 || untarCode !== 0) {
    await cleanup();
    throw new Error(`extracting ${opts.commit} failed: git archive exited ${archiveCode} (${archiveErr.trim()}), tar exited ${untarCode} (${untarErr.trim()})`);
  }
  return { dir, cleanup };
}
