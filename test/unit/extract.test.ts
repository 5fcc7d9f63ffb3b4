import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';
import { extractTree, readTreeFile, scanTree, sweepTrees } from '../../server/build/extract.ts';

let dir: string;
let repo: string;
const env = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };

async function git(args: string[]): Promise<string> {
  const r = await run('git', args, { cwd: repo, env });
  assert.equal(r.exitCode, 0, r.stderr);
  return r.stdout.trim();
}

async function commit(message: string): Promise<string> {
  await git(['add', '-A']);
  await git(['commit', '-q', '-m', message]);
  return git(['rev-parse', 'HEAD']);
}

/** Each entry's name, creator system (3 = Unix) and Unix mode, read by Python's zipfile. */
async function zipEntries(zip: string): Promise<string[]> {
  const script = 'import sys, zipfile\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, i.create_system, oct(i.external_attr >> 16))';
  const r = await run('python3', ['-c', script, zip]);
  assert.equal(r.exitCode, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

const extract = (commitId: string) =>
  extractTree({ repo: join(repo, '.git'), commit: commitId, tmpRoot: join(dir, 'tmp'), quarantine: {}, signal: new AbortController().signal });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-extract-'));
  repo = join(dir, 'repo');
  mkdirSync(join(repo, 'lib', 'deep'), { recursive: true });
  await run('git', ['init', '-q', '-b', 'main', repo], { env });
  writeFileSync(join(repo, 'server.js'), 'x\n');
  writeFileSync(join(repo, 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(repo, 'run.sh'), 0o755);
  writeFileSync(join(repo, 'lib', 'deep', 'data.txt'), 'data\n');
  symlinkSync('lib/deep/data.txt', join(repo, 'latest'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a tree becomes one zip whose every entry carries its Unix mode', async () => {
  const tree = await extract(await commit('files'));
  assert.match(tree.path, /\.zip$/);
  assert.deepEqual((await zipEntries(tree.path)).sort(), [
    'latest 3 0o120777',
    'lib/ 3 0o40755',
    'lib/deep/ 3 0o40755',
    'lib/deep/data.txt 3 0o100644',
    'run.sh 3 0o100755',
    'server.js 3 0o100644',
  ]);
  await tree.cleanup();
  assert.equal(existsSync(tree.path), false);
});

test('a tree with a project.toml is unpacked into a directory, where pack reads the descriptor', async () => {
  writeFileSync(join(repo, 'project.toml'), '[_]\nschema-version = "0.2"\n');
  const tree = await extract(await commit('descriptor'));
  assert.ok(statSync(tree.path).isDirectory());
  assert.ok(existsSync(join(tree.path, 'project.toml')));
  assert.equal(statSync(join(tree.path, 'run.sh')).mode & 0o777, 0o755);
  assert.equal(statSync(join(tree.path, 'server.js')).mode & 0o777, 0o644);
  assert.equal(statSync(join(tree.path, 'lib', 'deep')).mode & 0o777, 0o755);
  assert.ok(lstatSync(join(tree.path, 'latest')).isSymbolicLink());
  await tree.cleanup();
  rmSync(join(repo, 'project.toml'));
  await commit('no descriptor');
});

test('one listing finds the root app.json (not a nested one) and refuses a tree over the limit', async () => {
  writeFileSync(join(repo, 'app.json'), '{"name":"root"}');
  writeFileSync(join(repo, 'lib', 'app.json'), '{"name":"nested"}');
  const id = await commit('app.json');
  const source = { repo: join(repo, '.git'), commit: id, quarantine: {}, signal: new AbortController().signal };
  const entry = await scanTree(source, 1024 * 1024, 'app.json');
  assert.equal(entry?.type, 'blob');
  assert.equal(entry?.size, '{"name":"root"}'.length);
  assert.equal(await readTreeFile(source, 'app.json', entry), '{"name":"root"}');
  assert.equal(await scanTree(source, 1024 * 1024, 'absent.json'), undefined);
  // The files add up to some 60 bytes.
  await assert.rejects(scanTree(source, 10, 'app.json'), /the pushed files add up to more than the 0 MB limit/);
  rmSync(join(repo, 'app.json'));
  rmSync(join(repo, 'lib', 'app.json'));
  await commit('no app.json');
});

test('an unknown commit fails with the reason and leaves nothing behind', async () => {
  await assert.rejects(extract('0'.repeat(40)), (err: Error) => {
    assert.match(err.message, /extracting 0{40} failed/);
    assert.match(String((err.cause as Error).message), /git archive/);
    return true;
  });
  assert.equal(await sweepTrees(join(dir, 'tmp')), 0);
});

test('trees a stopped server left are swept, and only those', async () => {
  const tmp = join(dir, 'tmp');
  mkdirSync(join(tmp, 'push-left'), { recursive: true });
  writeFileSync(join(tmp, 'push-left', 'src.zip'), '');
  writeFileSync(join(tmp, 'unrelated'), '');
  assert.equal(await sweepTrees(tmp), 1);
  assert.equal(existsSync(join(tmp, 'push-left')), false);
  assert.equal(existsSync(join(tmp, 'unrelated')), true);
});
