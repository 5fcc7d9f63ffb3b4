// End-to-end files run at once on one cluster, registry and Docker engine (scripts/run-tests.ts),
// so each must own its names: an app's name is its namespace, its registry repository, its build
// cache volume and its host on the shared ingress. These checks read the files' sources, so that
// the next file added cannot break a parallel run by reusing a name another file uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { aloneReason, testFiles } from '../../scripts/run-tests.ts';

const root = resolve(import.meta.dirname, '..', '..');
const e2e = testFiles('e2e').map((file) => ({ file, text: readFileSync(join(root, file), 'utf8') }));
/** A random part per process: node's crypto, or the harness's names (which carry one). */
const RANDOM = /\brandomBytes\(|\brandomUUID\(|\buniqueAppName\(|\bnewApp\(|\bdeployedApp\(/;
/** Where a file names apps for the cluster or the registry. */
const MAKES_APPS = /apps:create|startWithApps\(|destroyApps\(/;
/** A literal app name handed to apps:create (`apps:create shop'`), not one built from a variable. */
const LITERAL_CREATE = /['"`]apps:create ([a-z][a-z0-9-]*)['"`]/g;
/** Names that can never be created (reserved by the platform): a file may try them to see the refusal. */
const REFUSED = new Set(['slipway']);
/** `const APP = 'name'` and friends: an app name fixed in the source. */
const FIXED_CONST = /^const [A-Z_]*APP[A-Z_]* = ['"][a-z][a-z0-9-]*['"];/gm;
/** A fixed TCP port a file listens on or gives a server (`const SSH_PORT = 2422`). */
const FIXED_PORT = /^const [A-Z_]*PORT[A-Z_]* = (\d{2,5});/gm;

test('every end-to-end file that makes apps names them with a random part of its own', () => {
  const bad = e2e.filter(({ text }) => MAKES_APPS.test(text) && !RANDOM.test(text)).map(({ file }) => file);
  assert.deepEqual(bad, [], 'these files make apps with names another run or file could share');
});

test('no end-to-end file creates an app under a fixed name or declares one', () => {
  const bad = e2e.flatMap(({ file, text }) => [
    ...[...text.matchAll(LITERAL_CREATE)].filter((m) => !REFUSED.has(m[1]!)).map((m) => `${file}: apps:create ${m[1]}`),
    ...[...text.matchAll(FIXED_CONST)].map((m) => `${file}: ${m[0]}`),
  ]);
  assert.deepEqual(bad, []);
});

test('fixed ports in end-to-end files are never shared by two files', () => {
  const owners = new Map<string, string[]>();
  for (const { file, text } of e2e) {
    for (const m of text.matchAll(FIXED_PORT)) owners.set(m[1]!, [...(owners.get(m[1]!) ?? []), file]);
  }
  const shared = [...owners].filter(([, files]) => new Set(files).size > 1);
  assert.deepEqual(shared, []);
});

test('a file that runs alone says why in one line the runner reads', () => {
  for (const { file, text } of e2e) {
    const marked = /^\/\/ e2e: alone/m.test(text.split('\n').slice(0, 20).join('\n'));
    const reason = aloneReason(file);
    assert.equal(marked, reason !== undefined, `${file}: the line must read "// e2e: alone (WHY)"`);
    if (reason) assert.ok(reason.length > 20, `${file}: say why it runs alone`);
  }
});

test('the checks see these rules break (a file of fixed names fails them)', () => {
  const text = "const APP = 'shop';\nawait ssh('apps:create shop');\n";
  assert.equal(MAKES_APPS.test(text) && !RANDOM.test(text), true);
  assert.deepEqual([...text.matchAll(LITERAL_CREATE)].map((m) => m[1]), ['shop']);
  assert.deepEqual([...text.matchAll(FIXED_CONST)].map((m) => m[0]), ["const APP = 'shop';"]);
});
