import { mkdtemp, rm, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { pipe } from '../exec.ts';
import { git, gitPipe } from '../git.ts';
import type { Quarantine } from '../../hooks/wire.ts';
import { giveUnixModes } from './zip-modes.ts';


const PREFIX = 'push-';

/**
 * Removes the trees a previous process left unpacked (it stopped mid-push); returns how many.
 * Only this server's own kind of entry is touched, should the dir be shared.
 */
export async function sweepTrees(tmpRoot: string): Promise<number> {
  const names = await readdir(tmpRoot).catch(() => [] as string[]);
  const stale = names.filter((n) => n.startsWith(PREFIX));
  await Promise.all(stale.map((n) => rm(join(tmpRoot, n), { recursive: true, force: true })));
  return stale.length;
}

async function drain(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/** The pushed tree, ready for the builder, and how to remove it. */
export interface ExtractedTree {
  /** A zip archive of the tree, or the tree unpacked into a directory (pack takes either). */
  path: string;
  cleanup(): Promise<void>;
}

interface ExtractOptions {
  repo: string; commit: string; tmpRoot: string; quarantine: Quarantine; signal: AbortSignal;
  /** Always a directory, never the zip (a builder that streams the tree elsewhere as a tar wants one). */
  directory?: boolean;
}

/** An entry of the pushed commit's tree, as `git ls-tree -l` lists it. */
export interface TreeEntry {
  type: string;
  sha: string;
  size: number;
}

/**
 * Lists the commit's tree once: refuses it if its files add up to more than `limit` (the listing
 * stops there), and returns the entry of `rootFile` at its root, if there is one (app.json, read
 * with readTreeFile). receive.maxInputSize and fsck see only the pack, and a pack of a few KB can
 * list one large zero-filled blob many times: only the tree says what extracting it writes.
 */
export async function scanTree(opts: Pick<ExtractOptions, 'repo' | 'commit' | 'quarantine' | 'signal'>, limit: number, rootFile: string): Promise<TreeEntry | undefined> {
  const ls = gitPipe(['ls-tree', '-r', '-l', '-z', '--full-tree', opts.commit], { env: gitEnv(opts), signal: opts.signal });
  const stderr = drain(ls.stderr);
  let total = 0;
  let rest = '';
  let found: TreeEntry | undefined;
  // -z: entries end with NUL (paths may hold newlines): `<mode> <type> <sha> <size>\t<path>`,
  // the path from the root. Submodule entries have `-` for a size and add nothing.
  for await (const chunk of ls.stdout) {
    const entries = (rest + String(chunk)).split('\0');
    rest = entries.pop()!;
    for (const e of entries) {
      const tab = e.indexOf('\t');
      const [, type = '', sha = '', size] = e.slice(0, tab).split(' ').filter(Boolean);
      const bytes = Number(size);
      if (Number.isFinite(bytes)) total += bytes;
      if (e.slice(tab + 1) === rootFile) found = { type, sha, size: bytes };
    }
    if (total > limit) {
      ls.kill();
      break;
    }
  }
  const [code, err] = await Promise.all([ls.exited, stderr]);
  if (total > limit) throw new UserError(`Push rejected: the pushed files add up to more than the ${Math.round(limit / 1048576)} MB limit (SLIPWAY_MAX_TREE_MB).`);
  if (code !== 0) throw new Error(`git ls-tree of ${opts.commit} exited ${code}: ${err.trim()}`);
  return found;
}

/**
 * Writes the pushed commit's tree for the build. The objects are still in git's quarantine (not
 * yet in the repo), so git is pointed at it; nothing is written to the repo. Usually one file: a
 * zip archive (stored, not compressed) with Unix modes, which pack reads as it reads a directory;
 * unpacking thousands of files costs far more on a slow disk. A tree with a project.toml (pack
 * reads it only from a directory) or too large for a plain zip is unpacked into a directory.
 */
export async function extractTree(opts: ExtractOptions): Promise<ExtractedTree> {
  await mkdir(opts.tmpRoot, { recursive: true, mode: 0o700 });
  const root = await mkdtemp(join(opts.tmpRoot, PREFIX));
  const cleanup = () => rm(root, { recursive: true, force: true });
  try {
    if (!opts.directory) {
      const zip = join(root, 'src.zip');
      await git(['archive', '--format=zip', '-0', '--output', zip, opts.commit], { env: gitEnv(opts), signal: opts.signal });
      const facts = await giveUnixModes(zip);
      if (facts && !facts.rootNames.has('project.toml')) return { path: zip, cleanup };
      await rm(zip, { force: true });
    }
    const dir = join(root, 'src');
    await mkdir(dir);
    await unpack(opts, dir);
    return { path: dir, cleanup };
  } catch (err) {
    await cleanup();
    throw new Error(`extracting ${opts.commit} failed`, { cause: err });
  }
}

/** Largest file readTreeFile reads: app.json is a few KB. */
const MAX_READ_BYTES = 256 * 1024;

/**
 * One file at the root of the pushed commit's tree (app.json), as scanTree found it, straight from
 * git and its quarantine; undefined when the tree has no such file. Refused above 256 KB.
 */
export async function readTreeFile(opts: Pick<ExtractOptions, 'repo' | 'quarantine' | 'signal'>, name: string, entry: TreeEntry | undefined): Promise<string | undefined> {
  if (entry?.type !== 'blob' || !entry.sha) return undefined;
  if (entry.size > MAX_READ_BYTES) throw new UserError(`Push rejected: ${name} is larger than ${MAX_READ_BYTES / 1024} KB.`);
  return git(['cat-file', 'blob', entry.sha], { env: gitEnv(opts), signal: opts.signal });
}

function gitEnv(opts: Pick<ExtractOptions, 'repo' | 'quarantine'>): Record<string, string | undefined> {
  return {
    GIT_DIR: opts.repo,
    GIT_OBJECT_DIRECTORY: opts.quarantine.GIT_OBJECT_DIRECTORY,
    GIT_ALTERNATE_OBJECT_DIRECTORIES: opts.quarantine.GIT_ALTERNATE_OBJECT_DIRECTORIES,
    GIT_QUARANTINE_PATH: opts.quarantine.GIT_QUARANTINE_PATH,
  };
}

/**
 * `git archive | tar -x` into dir. Paths are safe to unpack: transfer.fsckObjects already refused
 * trees with `..`, `.git` or absolute entries.
 */
async function unpack(opts: ExtractOptions, dir: string): Promise<void> {
  // 644 and 755, as in the zip (git's own tar.umask default would make them group-writable); tar
  // keeps the archive's modes whoever runs it.
  const archive = gitPipe(['-c', 'tar.umask=0022', 'archive', '--format=tar', opts.commit], { env: gitEnv(opts), signal: opts.signal });
  const untar = pipe('tar', ['--extract', '--no-same-owner', '--same-permissions', '--directory', dir], { signal: opts.signal });
  archive.stdout.pipe(untar.stdin);
  untar.stdout.resume();
  const [archiveErr, untarErr, archiveCode, untarCode] = await Promise.all([drain(archive.stderr), drain(untar.stderr), archive.exited, untar.exited]);
  if (archiveCode !== 0 || untarCode !== 0) {
    throw new Error(`git archive exited ${archiveCode} (${archiveErr.trim()}), tar exited ${untarCode} (${untarErr.trim()})`);
  }
}
