import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from '../git.ts';

/** Git's quarantine environment for a push in progress (set by receive-pack for its hooks). */
export interface Quarantine {
  GIT_OBJECT_DIRECTORY?: string;
  GIT_ALTERNATE_OBJECT_DIRECTORIES?: string;
  GIT_QUARANTINE_PATH?: string;
}

/**
 * Writes the pushed commit's tree into a fresh temp dir. The objects are still in git's
 * quarantine (not yet in the repo), so git must be pointed at it; nothing is written to the repo:
 * a throwaway index file lives beside the extracted tree.
 */
export async function extractTree(opts: { repo: string; commit: string; tmpRoot: string; quarantine: Quarantine; signal: AbortSignal }): Promise<{ dir: string; cleanup(): Promise<void> }> {
  await mkdir(opts.tmpRoot, { recursive: true, mode: 0o700 });
  const root = await mkdtemp(join(opts.tmpRoot, 'push-'));
  const dir = join(root, 'src');
  await mkdir(dir);
  const env = {
    GIT_DIR: opts.repo,
    GIT_WORK_TREE: dir,
    GIT_INDEX_FILE: join(root, 'index'),
    GIT_OBJECT_DIRECTORY: opts.quarantine.GIT_OBJECT_DIRECTORY,
    GIT_ALTERNATE_OBJECT_DIRECTORIES: opts.quarantine.GIT_ALTERNATE_OBJECT_DIRECTORIES,
    GIT_QUARANTINE_PATH: opts.quarantine.GIT_QUARANTINE_PATH,
  };
  const cleanup = () => rm(root, { recursive: true, force: true });
  try {
    await git(['read-tree', opts.commit], { env, signal: opts.signal });
    await git(['checkout-index', '--all', '--force'], { env, signal: opts.signal });
  } catch (err) {
    await cleanup();
    throw new Error(`extracting ${opts.commit} failed`, { cause: err });
  }
  return { dir, cleanup };
}
