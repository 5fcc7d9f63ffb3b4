// Issue 8, HTTP: clients that misbehave more than git or fetch can, so raw node:net sockets on
// loopback against the real server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { configureLog } from '../../server/output/log.ts';
import { startTestServer, type TestServer } from '../support/harness.ts';

function basic(user: string, pass: string): string {
  return 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
}

/** A raw connection that collects what the server sends and notes when it closes. */
function rawConnection(port: number): Promise<{ sock: Socket; received: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const opened = Date.now();
    let data = '';
    const sock = connect(port, '127.0.0.1');
    const closed = new Promise<number>((r) => sock.once('close', () => r(Date.now() - opened)));
    sock.on('data', (d: Buffer) => { data += d.toString('latin1'); });
    sock.on('error', () => { /* a reset by the server is one of the outcomes under test */ });
    sock.once('connect', () => resolve({ sock, received: () => data, closed }));
    sock.once('error', reject);
  });
}

/** Sends one raw request and returns the whole response (the server closes or answers once). */
async function rawRequest(port: number, head: string, waitMs = 3000): Promise<string> {
  const c = await rawConnection(port);
  c.sock.write(head);
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && !/\r\n\r\n[\s\S]*\n/.test(c.received())) await new Promise((r) => setTimeout(r, 20));
  c.sock.destroy();
  return c.received();
}

describe('HTTP hardening', () => {
  let s: TestServer;
  let token: string;
  before(async () => {
    s = await startTestServer();
    assert.equal((await s.ssh(s.admin, 'apps:create myapp')).exitCode, 0);
    token = (await s.ssh(s.admin, 'tokens:create ci')).stdout.split('\n')[1]!;
  });
  after(() => s.close());

  test('after a 401 the server closes the connection instead of reading a trickled body', async () => {
    const c = await rawConnection(s.slipway.httpPort);
    c.sock.write('POST /myapp.git/git-receive-pack HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-receive-pack-request\r\nContent-Length: 100000000\r\n\r\n' + 'x'.repeat(100));
    // Trickle a byte every 100 ms, bounded: at most 5 s.
    const trickle = setInterval(() => { if (!c.sock.destroyed) c.sock.write('x'); }, 100);
    const closedAfter = await Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(-1), 5000))]);
    clearInterval(trickle);
    c.sock.destroy();
    assert.match(c.received(), /^HTTP\/1\.1 401 /);
    assert.match(c.received(), /\r\nconnection: close\r\n/i);
    assert.ok(closedAfter >= 0 && closedAfter < 3000, `the connection stayed open (${closedAfter})`);
  });

  test('a bad request target is a 400 with one sentence, with or without credentials', async () => {
    for (const auth of ['', `Authorization: ${basic('x', token)}\r\n`]) {
      const res = await rawRequest(s.slipway.httpPort, `GET http://[::1 HTTP/1.1\r\nHost: x\r\n${auth}\r\n`);
      assert.match(res, /^HTTP\/1\.1 400 /, res);
      assert.ok(res.includes('\r\nBad request: the request target is not a valid URL.\n'), res);
      assert.doesNotMatch(res, /at |Error/);
    }
  });

  test('failed authentications are logged without the token and slowed down per address', async () => {
    const lines: string[] = [];
    configureLog({ level: 'warn', sink: (l) => lines.push(l) });
    try {
      const wrong = 'slw_wrongwrongwrong';
      const timeOne = async () => {
        const t0 = Date.now();
        const res = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/myapp.git/info/refs?service=git-upload-pack`, { headers: { authorization: basic('mallory', wrong) } });
        assert.equal(res.status, 401);
        await res.text();
        return Date.now() - t0;
      };
      // The free attempts in the window are answered at once...
      for (let i = 0; i < 20; i++) assert.ok((await timeOne()) < 1000);
      // ...then each further failure waits longer (250 ms per failure over 20).
      assert.ok((await timeOne()) >= 200);
      assert.ok((await timeOne()) >= 450);
      assert.ok((await timeOne()) >= 700);
      // A correct token is not slowed down.
      const t0 = Date.now();
      const ok = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/myapp.git/info/refs?service=git-upload-pack`, { headers: { authorization: basic('x', token) } });
      assert.equal(ok.status, 200);
      await ok.text();
      assert.ok(Date.now() - t0 < 1000);
      const failures = lines.filter((l) => l.includes('http authentication failed'));
      assert.equal(failures.length, 23);
      assert.ok(failures.every((l) => !l.includes(wrong) && !l.includes(Buffer.from(`mallory:${wrong}`).toString('base64'))), 'the token is never logged');
      assert.equal(JSON.parse(failures.at(-1)!).address, '127.0.0.1');
    } finally {
      configureLog({ level: process.env.SLIPWAY_TEST_LOG ? 'debug' : 'error', sink: (l) => process.stderr.write(l + '\n') });
    }
  });
});

describe('HTTP connection cap', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ SLIPWAY_HTTP_MAX_CONNECTIONS: '3', SLIPWAY_HTTP_MAX_CONNECTIONS_PER_SOURCE: '3' });
  });
  after(() => s.close());

  test('connections over SLIPWAY_HTTP_MAX_CONNECTIONS are closed at accept; a freed slot is usable again', async (t) => {
    const held: Array<Awaited<ReturnType<typeof rawConnection>>> = [];
    // Registered before the asserts: a failure must not leave sockets that keep the server open.
    t.after(() => { for (const c of held) c.sock.destroy(); });
    for (let i = 0; i < 3; i++) held.push(await rawConnection(s.slipway.httpPort));
    const extra = await rawConnection(s.slipway.httpPort);
    t.after(() => extra.sock.destroy());
    extra.sock.write('GET /x.git/info/refs HTTP/1.1\r\nHost: x\r\n\r\n');
    const closedAfter = await Promise.race([extra.closed, new Promise<number>((r) => setTimeout(() => r(-1), 3000))]);
    assert.ok(closedAfter >= 0, 'the connection over the cap was kept');
    assert.equal(extra.received(), '', 'and got no answer');
    held.shift()!.sock.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const res = await rawRequest(s.slipway.httpPort, 'GET /x.git/info/refs HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(res, /^HTTP\/1\.1 401 /);
  });
});
