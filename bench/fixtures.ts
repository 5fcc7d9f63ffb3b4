// The two repositories the bench pushes and clones, generated once into the cache dir and reused:
// "big" (100 MB of incompressible random blobs, one commit) and "small" (1,500 text files of a few
// KB each, about 7 MB, three commits). Both are fully packed, as a developer's repo usually is, so
// the client reuses the packed objects and the transport is a larger share of each timing.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../server/exec.ts';

/** A generated source repository. */
export interface Fixture {
  name: 'big' | 'small';
  dir: string;
  /** Bytes of file content in the commit(s). */
  bytes: number;
  files: number;
  /** The commit at main. */
  head: string;
}

// Bump when the generator changes, so a stale cache is regenerated rather than silently reused.
const FIXTURE_VERSION = '1';

/** The git environment for fixture and client work: no system or user config leaks in. */
export function isolatedGitEnv(home: string): Record<string, string> {
  return {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Slipway Bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid',
    GIT_COMMITTER_NAME: 'Slipway Bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid',
    GIT_AUTHOR_DATE: '2025-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2025-01-01T00:00:00Z',
    GIT_TERMINAL_PROMPT: '0',
  };
}

async function git(args: string[], cwd: string, env: Record<string, string>): Promise<string> {
  const r = await run('git', args, { cwd, env, timeoutMs: 300_000 });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(' ')} failed in ${cwd} (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

// A small seeded generator (mulberry32) so the text repo is the same on every machine.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ('const let function return if else for while await async import export from class extends new this ' +
  'value name count index result error options config server client request response stream buffer push deploy ' +
  'build release app repo commit branch token key channel window packet socket hook pipeline store').split(' ');

/** Source-like text of about `size` bytes. */
function textFile(rand: () => number, size: number): string {
  const lines: string[] = [];
  let n = 0;
  while (n < size) {
    const indent = '  '.repeat(Math.floor(rand() * 4));
    const words: string[] = [];
    const count = 3 + Math.floor(rand() * 9);
    for (let i = 0; i < count; i++) words.push(WORDS[Math.floor(rand() * WORDS.length)]!);
    const line = `${indent}${words.join(' ')}${rand() < 0.3 ? ` // ${Math.floor(rand() * 1e6).toString(36)}` : ';'}`;
    lines.push(line);
    n += line.length + 1;
  }
  return lines.join('\n') + '\n';
}

async function generate(name: Fixture['name'], dir: string, home: string): Promise<Omit<Fixture, 'head' | 'dir' | 'name'>> {
  const env = isolatedGitEnv(home);
  await git(['init', '-q', '--initial-branch=main', dir], home, env);
  let bytes = 0;
  let files = 0;
  if (name === 'big') {
    // 20 × 5 MiB of random bytes: incompressible, so zlib and delta search cannot shrink it.
    for (let i = 0; i < 20; i++) {
      const data = randomBytes(5 * 1024 * 1024);
      writeFileSync(join(dir, `blob-${String(i).padStart(2, '0')}.bin`), data);
      bytes += data.length;
      files++;
    }
    await git(['add', '-A'], dir, env);
    await git(['commit', '-q', '-m', 'bench: 100 MB of random blobs'], dir, env);
  } else {
    const rand = prng(20250101);
    // 1,500 files in 30 directories, committed in three batches of 500 so history has depth.
    for (let batch = 0; batch < 3; batch++) {
      for (let i = batch * 500; i < (batch + 1) * 500; i++) {
        const sub = join(dir, `pkg${String(i % 30).padStart(2, '0')}`);
        mkdirSync(sub, { recursive: true });
        const body = textFile(rand, 2048 + Math.floor(rand() * 5120));
        writeFileSync(join(sub, `file${String(i).padStart(4, '0')}.ts`), body);
        bytes += Buffer.byteLength(body);
        files++;
      }
      await git(['add', '-A'], dir, env);
      await git(['commit', '-q', '-m', `bench: text batch ${batch + 1}`], dir, env);
    }
  }
  await git(['repack', '-a', '-d', '-q'], dir, env);
  await git(['prune-packed'], dir, env);
  return { bytes, files };
}

/** Returns the cached fixture, generating it first if it is missing or from another generator version. */
export async function ensureFixture(cacheDir: string, name: Fixture['name'], log: (s: string) => void): Promise<Fixture> {
  const dir = join(cacheDir, 'repos', name);
  const meta = join(cacheDir, 'repos', `${name}.json`);
  const home = join(cacheDir, 'git-home');
  mkdirSync(home, { recursive: true });
  if (existsSync(meta) && existsSync(dir)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { version: string; bytes: number; files: number };
    if (m.version === FIXTURE_VERSION) {
      const head = await git(['rev-parse', 'main'], dir, isolatedGitEnv(home));
      return { name, dir, bytes: m.bytes, files: m.files, head };
    }
  }
  log(`generating the ${name} fixture repo in ${dir} (once; cached afterwards)`);
  rmSync(dir, { recursive: true, force: true });
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const { bytes, files } = await generate(name, tmp, home);
  renameSync(tmp, dir);
  writeFileSync(meta, JSON.stringify({ version: FIXTURE_VERSION, bytes, files }) + '\n');
  const head = await git(['rev-parse', 'main'], dir, isolatedGitEnv(home));
  return { name, dir, bytes, files, head };
}
