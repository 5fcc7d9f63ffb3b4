// The backups' encryption against age's reference implementation (Debian's `age`, the Go one that
// defines age-encryption.org/v1): what Slipway encrypts opens with `age -d`, and what `age -r`
// encrypts opens in Slipway, byte for byte, at the sizes where the 64 KiB chunking has its edges
// (empty, one byte, a chunk less one, one chunk, one more, two chunks, several). Slipway's payload
// runs on Node's own ChaCha20-Poly1305 (patches/age-encryption+0.3.1.patch), so this is what proves
// it writes and reads the same bytes as the format's authors. A byte flipped in a file `age` wrote
// is refused in the sentence a damaged archive gets.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, getCiphers } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { run } from '../../server/exec.ts';
import { decrypting, encrypting, identityIn, writeKeyFile } from '../../server/ops/self-backup/age.ts';

const dir = mkdtempSync(join(tmpdir(), 'slipway-age-interop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CHUNK = 64 * 1024;
const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 5 * CHUNK + 12345];

/** Bytes that differ at every position (a hash chain), so a chunk moved or repeated shows. */
function payload(size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(String(size)).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** In pieces that do not line up with age's chunks, as files and sockets give them. */
const pieces = (b: Buffer) => Readable.from(Array.from({ length: Math.ceil(b.length / 10_000) }, (_, i) => b.subarray(i * 10_000, (i + 1) * 10_000)), { objectMode: false });

test('the runtime has the native ChaCha20-Poly1305 the payload uses', () => {
  assert.ok(getCiphers().includes('chacha20-poly1305'));
});

test("what Slipway encrypts opens with age's reference CLI, and what it encrypts opens in Slipway, at every chunk edge", async () => {
  const version = await run('age', ['--version']);
  assert.equal(version.exitCode, 0, `the age CLI (Debian's age; scripts/provision installs it): ${version.stderr}`);
  const keyFile = join(dir, 'key.txt');
  const { recipient } = await writeKeyFile(keyFile);
  const identity = identityIn(readFileSync(keyFile, 'utf8'), keyFile);
  for (const size of SIZES) {
    const plain = payload(size);
    const ours = join(dir, `ours-${size}.age`);
    writeFileSync(ours, await collect(await encrypting(pieces(plain), [recipient])));
    const opened = await run('age', ['-d', '-i', keyFile, '-o', join(dir, `ours-${size}.out`), ours]);
    assert.equal(opened.exitCode, 0, `age -d of Slipway's ${size} bytes: ${opened.stderr}`);
    // (age makes its output file at its first byte: none for an empty plaintext.)
    const out = join(dir, `ours-${size}.out`);
    assert.ok((existsSync(out) ? readFileSync(out) : Buffer.alloc(0)).equals(plain), `age -d gave other bytes for ${size}`);

    writeFileSync(join(dir, `plain-${size}`), plain);
    const theirs = join(dir, `theirs-${size}.age`);
    const sealed = await run('age', ['-r', recipient, '-o', theirs, join(dir, `plain-${size}`)]);
    assert.equal(sealed.exitCode, 0, sealed.stderr);
    const back = await collect(await decrypting(pieces(readFileSync(theirs)), identity, `theirs-${size}.age`));
    assert.ok(back.equals(plain), `Slipway read other bytes from age's ${size}`);
  }
});

test("a byte flipped in a file age wrote, or its end cut off, is refused as damaged", async () => {
  const keyFile = join(dir, 'key2.txt');
  const { recipient } = await writeKeyFile(keyFile);
  const identity = identityIn(readFileSync(keyFile, 'utf8'), keyFile);
  const size = 3 * CHUNK + 7;
  writeFileSync(join(dir, 'flip-plain'), payload(size));
  const sealed = await run('age', ['-r', recipient, '-o', join(dir, 'flip.age'), join(dir, 'flip-plain')]);
  assert.equal(sealed.exitCode, 0, sealed.stderr);
  const good = readFileSync(join(dir, 'flip.age'));
  // Positions in the second chunk, the last one, and the last chunk's tag.
  for (const at of [good.length - size - 100 + CHUNK, good.length - 20, good.length - 1]) {
    const bad = Buffer.from(good);
    bad[at] = bad[at]! ^ 0x01;
    await assert.rejects(collect(await decrypting(pieces(bad), identity, 'flip.age')), /flip\.age is damaged or truncated \(invalid tag\): it cannot be restored/);
  }
  const cut = good.subarray(0, good.length - 7 - 16);
  await assert.rejects(collect(await decrypting(pieces(cut), identity, 'cut.age')), /cut\.age is damaged or truncated/);
});
