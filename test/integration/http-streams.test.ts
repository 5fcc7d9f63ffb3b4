// Long-lived HTTP requests against a real server (fake builder and deployer): event streams of
// every kind count together against one cap per key and one per source address, and one address
// holds at most its share of the connections, so git, the dashboard and other keys and addresses
// are still served while one client holds all it may. A revoked token's streams end at once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { deployedApp, holdRollouts, makeKey, startTestServer, useControls, type TestKey, type TestServer } from '../support/harness.ts';
import { api, makeToken } from '../support/api-client.ts';

/** A request held open: its status, what it sent so far, and when its connection closed. */
interface Held {
  status: number;
  body: () => string;
  closed: Promise<void>;
  close: () => void;
}

/** Opens GET /api/v1`path` on a connection of its own from `localAddress`; resolves once the headers are in. */
function open(s: TestServer, path: string, token: string, localAddress = '127.0.0.1'): Promise<Held> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port: s.slipway.httpPort, path: `/api/v1${path}`, localAddress, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('error', () => { /* a stream the server cuts is one of the outcomes under test */ });
      const closed = new Promise<void>((r) => res.once('close', () => r()));
      resolve({ status: res.statusCode ?? 0, body: () => body, closed, close: () => req.destroy() });
    });
    req.once('error', reject);
  });
}

/** Waits for `p` at most `ms`; false if it did not settle by then. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => { timer = setTimeout(() => r(false), ms); });
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The refusal's sentence, once its connection closed. */
async function refusal(h: Held): Promise<string> {
  await h.closed;
  return (JSON.parse(h.body()) as { error: { message: string } }).error.message;
}

/** Whether `text` is one sentence: one full stop, at its end. */
function oneSentence(text: string): boolean {
  return /^[^.]+\.$/.test(text.replace(/\([^)]*\)/g, ''));
}

describe('HTTP: long-lived requests and connections per key and per address', { timeout: 120_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  let app: string;
  let devToken: string;
  let adminToken: string;

  before(async () => {
    s = await startTestServer({
      SLIPWAY_HTTP_MAX_CONNECTIONS: '24', SLIPWAY_HTTP_MAX_CONNECTIONS_PER_SOURCE: '10',
      SLIPWAY_MAX_STREAMS_PER_KEY: '4', SLIPWAY_MAX_STREAMS_PER_SOURCE: '6',
    });
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    ({ app } = await deployedApp(s, 'streams'));
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    devToken = await makeToken(s, dev, 'dev-deploy');
    adminToken = await makeToken(s, s.admin, 'admin-all');
  });
  after(() => s.close());

  test('a key holds at most its cap of streams of every kind together; other keys, other addresses and git are still served', async (t) => {
    const held: Held[] = [];
    t.after(() => { for (const h of held) h.close(); });
    useControls(t, s, { followLogs: true });
    const gate = holdRollouts(t, s);
    const change = await api(s, 'PATCH', `/apps/${app}/config`, { token: devToken, body: { set: { HELD: '1' } } });
    assert.equal(change.status, 202, change.text);
    const job = (change.json as { job: { id: string } }).job.id;
    await gate.reached;

    // One of each kind: the key's cap (4).
    for (const path of ['/events', `/apps/${app}/logs?follow=1`, `/apps/${app}/metrics?follow=1`, `/jobs/${job}/events`]) {
      const h = await open(s, path, devToken);
      held.push(h);
      assert.equal(h.status, 200, `${path}: ${h.body()}`);
    }
    for (const path of ['/events', `/apps/${app}/logs?follow=1`]) {
      const refused = await open(s, path, devToken);
      assert.equal(refused.status, 429, path);
      const message = await refusal(refused);
      assert.match(message, /^The key dev has 4 streams open already/);
      assert.ok(oneSentence(message), message);
    }

    // Another key from the same address is served, up to the address's cap (6)…
    for (let i = 0; i < 2; i++) {
      const h = await open(s, '/events', adminToken);
      held.push(h);
      assert.equal(h.status, 200, h.body());
    }
    const refused = await open(s, `/apps/${app}/logs?follow=1`, adminToken);
    assert.equal(refused.status, 429);
    const message = await refusal(refused);
    assert.match(message, /^Your address has 6 streams open already/);
    assert.ok(oneSentence(message), message);
    // …another address is not held back by this one's streams…
    const elsewhere = await open(s, '/events', adminToken, '127.0.0.2');
    held.push(elsewhere);
    assert.equal(elsewhere.status, 200, elsewhere.body());
    // …and git over HTTP still works from the address holding its streams.
    const ls = await s.git(['ls-remote', s.httpRemote(app, adminToken)]);
    assert.equal(ls.exitCode, 0, ls.stderr);
    assert.match(ls.stdout, /refs\/heads\/main/);

    // A stream that ends gives its slot back.
    const first = held.shift()!;
    first.close();
    await first.closed;
    let again: Held | undefined;
    for (let i = 0; i < 100 && again?.status !== 200; i++) {
      if (again) await new Promise((r) => setTimeout(r, 20));
      again = await open(s, '/events', devToken);
      held.push(again);
    }
    assert.equal(again?.status, 200, again?.body());
    gate.open();
  });

  test('one address holding every connection it can leaves git and the dashboard to the others', async (t) => {
    const flood: Socket[] = [];
    t.after(() => { for (const c of flood) c.destroy(); });
    const closed: Promise<boolean>[] = [];
    // As many connections as the whole server takes, from one address, never sending a byte.
    for (let i = 0; i < 24; i++) {
      const c = connect({ host: '127.0.0.1', port: s.slipway.httpPort, localAddress: '127.0.0.2' });
      c.on('error', () => { /* a reset by the server is one of the outcomes under test */ });
      flood.push(c);
      closed.push(new Promise((r) => c.once('close', () => r(true))));
      await new Promise<void>((r) => { c.once('connect', () => r()); c.once('close', () => r()); });
    }
    // Those over the address's share (10) are closed at once.
    const cut = await Promise.all(closed.map((p) => within(p, 300)));
    assert.equal(cut.filter(Boolean).length, 14, 'connections over the per-address cap are closed');
    const ls = await s.git(['ls-remote', s.httpRemote(app, adminToken)]);
    assert.equal(ls.exitCode, 0, ls.stderr);
    const page = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/`);
    await page.text();
    assert.ok(page.status === 200 || page.status === 503, `the dashboard answered ${page.status}`);
    const stream = await open(s, '/events', devToken);
    stream.close();
    assert.equal(stream.status, 200, stream.body());
  });

  test("tokens:revoke (SSH or API) ends the token's open streams at once; the key's other tokens keep theirs", async (t) => {
    const held: Held[] = [];
    t.after(() => { for (const h of held) h.close(); });
    useControls(t, s, { followLogs: true });
    const leaker = await makeKey(s.dir, 'leaker');
    assert.equal((await s.ssh(s.admin, `keys:add ${leaker.name}`, leaker.pub)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${leaker.name}`)).exitCode, 0);
    const leaked = await makeToken(s, leaker, 'leaked', 'read');
    const kept = await makeToken(s, leaker, 'kept', 'read');
    const streams = [];
    for (const path of ['/events', `/apps/${app}/logs?follow=1`]) {
      const h = await open(s, path, leaked, '127.0.0.3');
      held.push(h);
      assert.equal(h.status, 200, `${path}: ${h.body()}`);
      streams.push(h);
    }
    const other = await open(s, '/events', kept, '127.0.0.3');
    held.push(other);
    assert.equal(other.status, 200, other.body());

    const revoked = await s.ssh(leaker, 'tokens:revoke leaked');
    assert.equal(revoked.exitCode, 0, revoked.stderr);
    // Well before the next rights round (every 5 s): the revocation itself ends them.
    for (const h of streams) {
      assert.ok(await within(h.closed, 2000), `a stream of the revoked token is still open: ${h.body().slice(-200)}`);
      assert.match(h.body(), /event: error\ndata: \{"error":\{"message":"The access token this stream was opened with was revoked\."/);
    }
    assert.equal(await within(other.closed, 200), false, "the key's other token keeps its stream");
    assert.equal((await api(s, 'GET', '/events', { token: leaked })).status, 401);

    // Revoked over the API (DELETE /tokens/NAME), the same.
    const manager = await makeToken(s, leaker, 'manager', 'deploy');
    assert.equal((await api(s, 'DELETE', '/tokens/kept', { token: manager })).status, 200);
    assert.ok(await within(other.closed, 2000), 'the stream of the token revoked over the API is still open');
    assert.match(other.body(), /was revoked\./);
  });
});
