// The ssh2 patch (patches/ssh2+*.patch) that encrypts outgoing packets in reused buffers: a bulk
// transfer between the patched client and server arrives intact, for each kind of native cipher,
// while the server's socket is handed only a handful of distinct packet buffers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { CipherAlgorithm, MacAlgorithm } from 'ssh2';
import { newHostKey } from '../../server/transport/ssh/lib.ts';

const require = createRequire(import.meta.url);
const ssh2 = require('ssh2') as typeof import('ssh2');

const PAYLOAD = randomBytes(8 * 1024 * 1024 + 3);
const PAYLOAD_SHA = createHash('sha256').update(PAYLOAD).digest('hex');

/** The servers' host key, as Slipway makes its own (ssh2's generator now and then makes one its parser refuses). */
const HOST_KEY = newHostKey();

/** Sends PAYLOAD from server to client with `cipher`; returns what the client got and the server's packet buffers. */
async function transfer(cipher: CipherAlgorithm, mac?: MacAlgorithm): Promise<{ sha: string; packets: number; buffers: number }> {
  const hostKey = HOST_KEY;
  const buffers = new Set<ArrayBufferLike>();
  let packets = 0;
  const server = new ssh2.Server({ hostKeys: [hostKey] }, (conn) => {
    conn.on('authentication', (ctx) => ctx.accept());
    conn.on('ready', () => conn.on('session', (accept) => accept().on('exec', (acceptExec) => {
      const channel = acceptExec();
      // 64 KiB at a time, the next once ssh2 took the last: as Slipway relays git's output.
      const send = (at: number) => {
        if (at >= PAYLOAD.length) {
          channel.exit(0);
          channel.end();
          return;
        }
        channel.write(PAYLOAD.subarray(at, at + 64 * 1024), () => send(at + 64 * 1024));
      };
      send(0);
    })));
  });
  // Every buffer the server hands its socket, counted before ssh2 sees the socket.
  const listener = createServer((socket: Socket) => {
    const write = socket.write.bind(socket) as (data: Buffer, cb?: (err?: Error | null) => void) => boolean;
    socket.write = ((data: Buffer, cb?: (err?: Error | null) => void) => {
      if (data.length > 4096) {
        packets++;
        buffers.add(data.buffer);
      }
      return write(data, cb);
    }) as typeof socket.write;
    server.injectSocket(socket);
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  try {
    const sha = await new Promise<string>((resolve, reject) => {
      const client = new ssh2.Client();
      client.on('error', reject);
      client.on('ready', () => client.exec('send', (err, stream) => {
        if (err) return reject(err);
        const hash = createHash('sha256');
        stream.on('data', (d: Buffer) => hash.update(d));
        stream.on('close', () => { client.end(); resolve(hash.digest('hex')); });
      }));
      client.connect({
        host: '127.0.0.1', port: (listener.address() as AddressInfo).port, username: 'x',
        algorithms: { cipher: [cipher], ...(mac ? { hmac: [mac] } : {}) },
      });
    });
    return { sha, packets, buffers: buffers.size };
  } finally {
    await new Promise((r) => listener.close(r));
  }
}

test('ssh2 encrypts with its native binding here (the buffers are reused only on that path)', () => {
  assert.equal((require('ssh2/lib/protocol/crypto.js') as { bindingAvailable: boolean }).bindingAvailable, true);
});

for (const [cipher, mac] of [['chacha20-poly1305@openssh.com'], ['aes128-gcm@openssh.com'], ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com']] as [CipherAlgorithm, MacAlgorithm?][]) {
  test(`8 MB over ${cipher}${mac ? ` + ${mac}` : ''} arrive intact from a few reused packet buffers`, async () => {
    const r = await transfer(cipher, mac);
    assert.equal(r.sha, PAYLOAD_SHA);
    // 32 KiB packets: some 256 of them; a fresh buffer each would make as many distinct buffers.
    assert.ok(r.packets >= 256, `${r.packets} packets`);
    assert.ok(r.buffers <= 16, `${r.buffers} distinct buffers for ${r.packets} packets`);
  });
}
