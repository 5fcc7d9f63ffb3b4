// SLIPWAY_REGISTRY_AUTH_FILE: the registry's credential, read once by the config; a file other
// users may read, or one that is not a single USER:PASSWORD line, is refused with one sentence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { UserError } from '../../server/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'slipway-registry-auth-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A credential file with that text and mode; the config it gives. */
function load(name: string, text: string, mode = 0o600) {
  const file = join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return () => loadConfig({ SLIPWAY_DATA_DIR: '/nonexistent', SLIPWAY_REGISTRY_AUTH_FILE: file });
}

test('unset, requests to the registry go without a credential', () => {
  assert.equal(loadConfig({ SLIPWAY_DATA_DIR: '/nonexistent' }).registryAuth, undefined);
});

test('one USER:PASSWORD line, owner-only, is the credential', () => {
  assert.deepEqual(load('ok', 'slipway:0f3a:b9\n')().registryAuth, { username: 'slipway', password: '0f3a:b9' });
  assert.deepEqual(load('no-newline', 'slipway:pw')().registryAuth, { username: 'slipway', password: 'pw' });
});

test('a file others may read, a malformed one or a missing one is refused with one sentence', () => {
  assert.throws(load('open', 'slipway:pw\n', 0o644), (err: unknown) => err instanceof UserError && /may be read by other users \(mode 0644\): chmod 600 it\.$/.test(err.message));
  assert.throws(load('group', 'slipway:pw\n', 0o640), (err: unknown) => err instanceof UserError && /mode 0640/.test(err.message));
  for (const [name, text] of [['empty', ''], ['no-password', 'slipway:\n'], ['no-user', ':pw\n'], ['two-lines', 'slipway:pw\nother:pw\n'], ['spaces', 'sli pway:pw\n']]) {
    assert.throws(load(name!, text!), (err: unknown) => err instanceof UserError && err.message.endsWith('must hold one line USER:PASSWORD.'), name);
  }
  assert.throws(() => loadConfig({ SLIPWAY_REGISTRY_AUTH_FILE: join(dir, 'absent') }), (err: unknown) => err instanceof UserError && /cannot be read \(ENOENT\)\.$/.test(err.message));
});
