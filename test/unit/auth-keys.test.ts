import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';
import { parsePublicKey } from '../../server/auth/keys.ts';

const kinds: Array<[string, string[]]> = [
  ['ed25519', ['-t', 'ed25519']],
  ['rsa 3072', ['-t', 'rsa', '-b', '3072']],
  ['ecdsa 256', ['-t', 'ecdsa', '-b', '256']],
  ['ecdsa 384', ['-t', 'ecdsa', '-b', '384']],
  ['ecdsa 521', ['-t', 'ecdsa', '-b', '521']],
];

for (const [kind, args] of kinds) {
  test(`a real ${kind} key from ssh-keygen parses, with ssh-keygen's own fingerprint`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-keys-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'k');
    await run('ssh-keygen', ['-q', ...args, '-N', '', '-C', 'me@laptop', '-f', path]);
    const line = readFileSync(path + '.pub', 'utf8');
    const key = parsePublicKey(line);
    const listed = (await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', path + '.pub'])).stdout;
    assert.equal(key.fingerprint, listed.split(' ')[1]);
    assert.equal(key.type, line.split(' ')[0]);
    assert.equal(key.comment, 'me@laptop');
  });
}

test('a blob that is not the key it says it is, or is cut short, is refused with one sentence', () => {
  const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const ed = Buffer.concat([field(Buffer.from('ssh-ed25519')), field(Buffer.alloc(32, 7))]).toString('base64');
  assert.doesNotThrow(() => parsePublicKey(`ssh-ed25519 ${ed}`));
  assert.throws(() => parsePublicKey(`ssh-rsa ${ed}`), { message: 'That SSH public key could not be read.' });
  assert.throws(() => parsePublicKey(`ssh-ed25519 ${ed.slice(0, 40)}`), { message: 'That SSH public key could not be read.' });
  assert.throws(() => parsePublicKey('ssh-ed25519 not*base64'), { message: 'That SSH public key could not be read.' });
  assert.throws(() => parsePublicKey('-----BEGIN OPENSSH PRIVATE KEY-----'), { message: 'That is a private key; send the public key (the .pub file).' });
});

test('a generated host key is always one the SSH library reads back', async (t) => {
  const { loadHostKey, SshServer } = await import('../../server/transport/ssh/lib.ts');
  const dir = mkdtempSync(join(tmpdir(), 'slipway-hostkey-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // ssh2's generator makes an unreadable key about 1 time in 270: 600 tries would hit one.
  for (let i = 0; i < 600; i++) {
    const key = loadHostKey(join(dir, `k${i}`));
    assert.doesNotThrow(() => new SshServer({ hostKeys: [key] }), `host key ${i}`);
  }
});
