// The ssh2 patch (patches/ssh2+*.patch) that adds mlkem768x25519-sha256: its hybrid combiner
// against values derived from the specs, and a handshake between the patched client and server.
// Interoperability with OpenSSH 10 is checked in test/integration/ssh-pq-kex.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, decapsulate, diffieHellman, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { newHostKey } from '../../server/transport/ssh/lib.ts';

interface ClientKeys { mlkemPrivate: KeyObject; x25519Private: KeyObject; init: Buffer }
interface Hybrid {
  CLIENT_INIT_LEN: number;
  SERVER_REPLY_LEN: number;
  supported: boolean;
  combine(pq: Buffer, classical: Buffer): Buffer;
  generateClientKeys(): ClientKeys;
  serverEncapsulate(init: Buffer): { reply: Buffer; secret: Buffer };
  clientDecapsulate(keys: Omit<ClientKeys, 'init'>, reply: Buffer): Buffer;
}
const require = createRequire(import.meta.url);
const hybrid = require('ssh2/lib/protocol/mlkem768x25519.js') as Hybrid;

const hex = (s: string) => Buffer.from(s, 'hex');
const sha256 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
const x25519Public = (raw: Buffer) => createPublicKey({ key: raw, format: 'raw-public', asymmetricKeyType: 'x25519' });

// RFC 7748 section 6.1: Alice's private key, Bob's public key, and their shared secret.
const ALICE_PRIVATE = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
const BOB_PUBLIC = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
const ALICE_BOB_SHARED = hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');

test('the patched ssh2 offers the method on this Node', () => {
  assert.equal(hybrid.supported, true);
  const constants = require('ssh2/lib/protocol/constants.js') as { SUPPORTED_KEX: string[]; DEFAULT_KEX: string[] };
  assert.ok(constants.SUPPORTED_KEX.includes('mlkem768x25519-sha256'));
  assert.equal(constants.DEFAULT_KEX[0], 'mlkem768x25519-sha256', 'preferred by default, as in OpenSSH 10');
});

test('client K for a known reply = SHA-256(ML-KEM key || X25519 secret), from the specs', () => {
  // ML-KEM-768 key pair from a fixed FIPS 203 seed d || z. A ciphertext that is not an
  // encryption under this key takes FIPS 203's implicit rejection, whose key is
  // J(z || c) = SHAKE256(z || c, 32 bytes): a decapsulation result known without running ML-KEM.
  const seed = Buffer.alloc(64);
  for (let i = 0; i < 64; i++) seed[i] = i;
  const ciphertext = Buffer.alloc(1088, 0xa5);
  const kPq = createHash('shake256', { outputLength: 32 }).update(seed.subarray(32)).update(ciphertext).digest();
  const keys = {
    mlkemPrivate: createPrivateKey({ key: seed, format: 'raw-seed', asymmetricKeyType: 'ml-kem-768' }),
    x25519Private: createPrivateKey({ key: ALICE_PRIVATE, format: 'raw-private', asymmetricKeyType: 'x25519' }),
  };
  // S_REPLY is the ciphertext first, then the server's X25519 key.
  const reply = Buffer.concat([ciphertext, BOB_PUBLIC]);
  assert.equal(hybrid.clientDecapsulate(keys, reply).toString('hex'), sha256(kPq, ALICE_BOB_SHARED).toString('hex'));
  assert.equal(hybrid.combine(kPq, ALICE_BOB_SHARED).toString('hex'), sha256(kPq, ALICE_BOB_SHARED).toString('hex'));
});

test('server and client agree on K; blobs are laid out as C_INIT and S_REPLY', () => {
  const keys = hybrid.generateClientKeys();
  assert.equal(keys.init.length, 1184 + 32);
  const { reply, secret } = hybrid.serverEncapsulate(keys.init);
  assert.equal(reply.length, 1088 + 32);
  assert.equal(secret.length, 32);
  assert.deepEqual(hybrid.clientDecapsulate(keys, reply), secret);
  // The same K recomputed from Node's primitives on the split blobs.
  const pq = decapsulate(keys.mlkemPrivate, reply.subarray(0, 1088));
  const classical = diffieHellman({ privateKey: keys.x25519Private, publicKey: x25519Public(reply.subarray(1088)) });
  assert.deepEqual(sha256(pq, classical), secret);
  // The client's X25519 key is the last 32 bytes of C_INIT.
  assert.deepEqual(createPublicKey(keys.x25519Private).export({ format: 'raw-public' }), keys.init.subarray(1184));
});

test('malformed peer values are refused', () => {
  const keys = hybrid.generateClientKeys();
  assert.throws(() => hybrid.serverEncapsulate(keys.init.subarray(1)), /client key is 1215 bytes, expected 1216/);
  assert.throws(() => hybrid.clientDecapsulate(keys, Buffer.alloc(1119)), /server reply is 1119 bytes, expected 1120/);
  // An ML-KEM encapsulation key whose coefficients are not reduced mod q (FIPS 203 key check).
  assert.throws(() => hybrid.serverEncapsulate(Buffer.concat([Buffer.alloc(1184, 0xff), keys.init.subarray(1184)])));
  // X25519's all-zero point is of low order: the shared secret would be all zeros.
  assert.throws(() => hybrid.serverEncapsulate(Buffer.concat([keys.init.subarray(0, 1184), Buffer.alloc(32)])));
  const { reply } = hybrid.serverEncapsulate(keys.init);
  assert.throws(() => hybrid.clientDecapsulate(keys, Buffer.concat([reply.subarray(0, 1088), Buffer.alloc(32)])));
});

test('a patched ssh2 client and server complete a handshake with only the hybrid method', async () => {
  const ssh2 = require('ssh2') as typeof import('ssh2');
  const kex = ['mlkem768x25519-sha256'] as unknown as import('ssh2').KexAlgorithm[];
  const hostKey = newHostKey();
  const seen: string[] = [];
  const server = new ssh2.Server({ hostKeys: [hostKey], algorithms: { kex } }, (conn) => {
    conn.on('handshake', (n) => seen.push(`server ${n.kex}`));
    conn.on('authentication', (ctx) => ctx.reject());
    conn.on('error', (err) => seen.push(`server error ${err.message}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await new Promise<void>((resolve, reject) => {
      const client = new ssh2.Client();
      // The client checks the server's signature over the exchange hash before this event, so
      // both sides derived the same H (and K) from the hybrid exchange.
      client.on('handshake', (n) => { seen.push(`client ${n.kex}`); client.end(); resolve(); });
      client.on('error', reject);
      client.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, username: 'x', algorithms: { kex } });
    });
  } finally {
    await new Promise((r) => server.close(r));
  }
  assert.ok(seen.includes('client mlkem768x25519-sha256'), seen.join(', '));
});
