// Apps that sleep at zero (issue 40), on a real server with the fake deployer: ps:sleep sets and
// refuses; the sleep round reads request counts from an ingress metrics page (a stand-in for
// Traefik's, serving its text format) and puts an idle app to sleep; the waker, on its own port,
// holds a request to the sleeping app's host while the (fake) wake runs, then passes it on to the
// app's instance (a local HTTP server here), method, path, headers and body unchanged; the wake is
// recorded and audited; past the bound on held requests or the hold time a 503 with Retry-After;
// a host of no sleeping app is a 404.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { deployedApp, startTestServer, type TestServer } from '../support/harness.ts';
import { previewAppName } from '../../server/names.ts';
import { putToSleep, wakeApp } from '../../server/ops/processes/sleep.ts';
import { sleepRound } from '../../server/ops/processes/sleep-round.ts';

/** An address of this machine other than loopback (an EndpointSlice cannot name loopback; the waker binds it). */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('this machine has no non-loopback IPv4 address for the waker');
}

/** Listens on `address` (default 127.0.0.1) port 0. */
function listen(server: Server, address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => server.listen(0, address, () => resolve((server.address() as AddressInfo).port)));
}

/** One request to the waker with `Host: host`; the answer's status, Retry-After and body. */
function atWaker(s: TestServer, host: string, opts: { method?: string; path?: string; body?: string } = {}): Promise<{ status: number; retry: string | undefined; body: string }> {
  const { wakerAddress, wakerPort } = s.slipway.services.config;
  return new Promise((resolve, reject) => {
    const req = request({ host: wakerAddress, port: wakerPort, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: { host, 'x-test': 'kept' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retry: res.headers['retry-after'] as string | undefined, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('apps that sleep at zero, with the fake deployer', () => {
  let s: TestServer;
  let bare: TestServer;
  let app: string;
  let instance: Server;
  let metrics: Server;
  let count = 10;

  before(async () => {
    // The app's instance: echoes what reached it.
    instance = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => res.end(`${req.method} ${req.url} host=${req.headers.host} x-test=${req.headers['x-test']} body=${body}`));
    });
    // The waker connects from its own address (what the app's NetworkPolicy admits): not to loopback.
    const instancePort = await listen(instance, hostAddress());
    metrics = createServer((_req, res) => res.end(`# TYPE traefik_service_requests_total counter\ntraefik_service_requests_total{code="200",method="GET",protocol="http",service="slipway-${app}-web-http@kubernetes"} ${count}\n`));
    const metricsPort = await listen(metrics);
    s = await startTestServer({
      SLIPWAY_WAKER_ADDRESS: hostAddress(), SLIPWAY_WAKER_PORT: '0', SLIPWAY_WAKER_MAX_HELD: '2', SLIPWAY_WAKER_HOLD_S: '1.5',
      SLIPWAY_INGRESS_API: `http://127.0.0.1:${metricsPort}`, SLIPWAY_SLEEP_ROUND_S: '3600',
    });
    s.deployer.sleep.target = { address: hostAddress(), port: instancePort };
    ({ app } = await deployedApp(s, 'sleepy'));
    bare = await startTestServer();
  });
  after(async () => {
    await s.close();
    await bare.close();
    instance.close();
    metrics.close();
  });

  test('ps:sleep sets, shows and refuses bad input with one sentence; without a waker it is refused and nothing is written', async () => {
    const bad = await s.ssh(s.admin, `ps:sleep ${app} --after soon`);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /"soon" is not an idle time; give seconds \(1800\) or a duration like 90s, 30m, 2h or 1d \(at most 30d\), 0 to never sleep, or default\./);
    const shown = await s.ssh(s.admin, `ps:sleep ${app}`);
    assert.match(shown.stdout, /sleeps never \(an app sleeps only when told: ps:sleep APP --after 30m\)\.\nIt is awake\./);
    const set = await s.ssh(s.admin, `ps:sleep ${app} --after 1`);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.match(set.stdout, /Setting the idle time of .* done, it now sleeps after 1s without a request \(set by ps:sleep\)\./);

    const { app: other } = await deployedApp(bare, 'nowaker');
    const refused = await bare.ssh(bare.admin, `ps:sleep ${other} --after 30m`);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /Apps cannot sleep on this server: SLIPWAY_WAKER_ADDRESS \(where the ingress reaches the waker\) is not set\./);
    assert.equal(JSON.parse((await bare.ssh(bare.admin, `ps:sleep ${other} --json`)).stdout).seconds, 0);
    const blind = await startTestServer({ SLIPWAY_WAKER_ADDRESS: hostAddress(), SLIPWAY_WAKER_PORT: '0' });
    try {
      const { app: third } = await deployedApp(blind, 'nometrics');
      const r = await blind.ssh(blind.admin, `ps:sleep ${third} --after 30m`);
      assert.equal(r.exitCode, 1);
      assert.match(r.stderr, /Apps cannot sleep on this server: SLIPWAY_INGRESS_API \(where Slipway reads the ingress's request counts\) is not set\./);
      assert.equal(JSON.parse((await blind.ssh(blind.admin, `ps:sleep ${third} --json`)).stdout).seconds, 0);
    } finally {
      await blind.close();
    }
  });

  test('an app whose web is autoscaled does not sleep, and one that sleeps is not autoscaled: one sentence each, nothing written', async () => {
    const { app: other } = await deployedApp(s, 'sleepauto');
    assert.equal((await s.ssh(s.admin, `ps:autoscale ${other} web --max 3 --cpu 70`)).exitCode, 0);
    const refused = await s.ssh(s.admin, `ps:sleep ${other} --after 30m`);
    assert.equal(refused.exitCode, 1);
    assert.equal(refused.stderr, ` !     ${other}'s web is autoscaled, and its autoscaler keeps at least its --min running, so it cannot sleep; ps:autoscale:off ${other} web first.`);
    assert.equal(s.slipway.services.store.sleep.after(other), null, 'nothing written');
    assert.equal((await s.ssh(s.admin, `ps:autoscale:off ${other} web`)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `ps:sleep ${other} --after 30m`)).exitCode, 0);
    const auto = await s.ssh(s.admin, `ps:autoscale ${other} web --max 3 --cpu 70`);
    assert.equal(auto.exitCode, 1);
    assert.equal(auto.stderr, ` !     ${other} sleeps when idle (ps:sleep), which an autoscaler of web would undo; ps:sleep ${other} --after 0 first.`);
    assert.deepEqual(s.slipway.services.store.autoscale.all(other), [], 'nothing written');
  });

  test("a preview sleeps after SLIPWAY_PREVIEW_SLEEP_AFTER by default (30m), an app never unless told; ps:sleep --after default goes back to it", async () => {
    const { app: parent, wd } = await deployedApp(s, 'parent');
    assert.equal((await s.ssh(s.admin, `previews:enable ${parent}`)).exitCode, 0);
    const push = await s.git(['push', s.sshRemote(parent), 'HEAD:refs/heads/feature'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
    const preview = previewAppName(parent, 'feature');
    const show = async (a: string) => JSON.parse((await s.ssh(s.admin, `ps:sleep ${a} --json`)).stdout) as { seconds: number; source: string };
    assert.deepEqual(await show(preview), { seconds: 1800, source: 'preview', asleepSince: null, wakes: [] });
    assert.deepEqual([(await show(parent)).seconds, (await show(parent)).source], [0, 'default']);
    assert.equal((await s.ssh(s.admin, `ps:sleep ${preview} --after 2h`)).exitCode, 0);
    assert.deepEqual([(await show(preview)).seconds, (await show(preview)).source], [7200, 'app']);
    assert.equal((await s.ssh(s.admin, `ps:sleep ${preview} --after default`)).exitCode, 0);
    assert.deepEqual([(await show(preview)).seconds, (await show(preview)).source], [1800, 'preview']);
  });

  test('the sleep round puts the app to sleep once its count has not moved for its idle time', async () => {
    const run = async () => JSON.parse((await s.ssh(s.admin, 'rounds:run sleep --json')).stdout) as { lastError: string | null };
    assert.equal((await run()).lastError, null);
    assert.equal(s.deployer.sleep.calls.length, 0, 'the first reading only starts the idle time');
    count++;
    await new Promise((r) => setTimeout(r, 1100));
    await run();
    assert.equal(s.deployer.sleep.calls.length, 0, 'a request moved the count: the idle time started over');
    await new Promise((r) => setTimeout(r, 1100));
    await run();
    assert.deepEqual(s.deployer.sleep.calls.map((c) => [c.op, c.app]), [['sleep', app]]);
    const state = JSON.parse((await s.ssh(s.admin, `ps:sleep ${app} --json`)).stdout) as { asleepSince: string | null };
    assert.ok(state.asleepSince);
    assert.equal(s.deployer.sleep.asleep.get(app)?.port, s.slipway.services.config.wakerPort, "the Service points at the waker's bound port");
  });

  test('a request to the sleeping host is held while the app wakes, then passed on unchanged; the wake is recorded and audited', async () => {
    let open!: () => void;
    s.deployer.sleep.wakeGate = new Promise<void>((r) => { open = r; });
    let answered = 0;
    const answer = atWaker(s, `${app}.apps.test`, { method: 'POST', path: '/orders?x=1', body: 'hello' }).finally(() => { answered = Date.now(); });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(answered, 0, 'held while the app wakes');
    const opened = Date.now();
    open();
    const r = await answer;
    assert.ok(answered >= opened);
    s.deployer.sleep.wakeGate = undefined;
    assert.deepEqual([r.status, r.body], [200, `POST /orders?x=1 host=${app}.apps.test x-test=kept body=hello`]);
    const state = JSON.parse((await s.ssh(s.admin, `ps:sleep ${app} --json`)).stdout) as { asleepSince: string | null; wakes: { trigger: string; readyMs: number; error: string | null }[] };
    assert.equal(state.asleepSince, null);
    assert.equal(state.wakes.length, 1);
    assert.equal(state.wakes[0]!.trigger, 'request');
    assert.ok(state.wakes[0]!.readyMs > 0);
    const audit = s.slipway.services.store.audit.list({ limit: 20 }).filter((e) => e.app === app && e.interface === 'server').map((e) => [e.action, e.outcome]);
    assert.deepEqual(audit, [['wake', 'ok'], ['sleep', 'ok']]);
    // A request the ingress still sends to the waker right after the wake goes to the instance too.
    assert.equal((await atWaker(s, `${app}.apps.test`)).status, 200);
  });

  test('past the bound on held requests, or the hold time, a 503 with Retry-After; a host of no sleeping app is a 404', async () => {
    s.slipway.services.store.sleep.fellAsleep(app);
    let open!: () => void;
    s.deployer.sleep.wakeGate = new Promise<void>((r) => { open = r; });
    const held = [atWaker(s, `${app}.apps.test`), atWaker(s, `${app}.apps.test`)];
    await new Promise((r) => setTimeout(r, 200));
    const third = await atWaker(s, `${app}.apps.test`);
    assert.deepEqual([third.status, third.retry], [503, '5']);
    assert.match(third.body, /Too many requests are waiting for sleeping apps; .* is waking, try again in a few seconds\./);
    // Nobody opens the gate: the hold time (1.5 s) ends both.
    for (const r of await Promise.all(held)) {
      assert.deepEqual([r.status, r.retry], [503, '5']);
      assert.match(r.body, /is still waking; try again in a few seconds\./);
    }
    open();
    s.deployer.sleep.wakeGate = undefined;
    const unknown = await atWaker(s, 'elsewhere.example');
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /No sleeping app answers at "elsewhere\.example"\./);
  });

  test('the sleep round leaves a waking app alone, however long its wake: its held requests are not counted until an instance is ready', async () => {
    const services = s.slipway.services;
    assert.equal((await s.ssh(s.admin, `ps:sleep ${app} --after 1`)).exitCode, 0);
    if (!services.store.sleep.asleepSince(app)) assert.equal(await putToSleep(services, app), true);
    let open!: () => void;
    s.deployer.sleep.wakeGate = new Promise<void>((r) => { open = r; });
    const woke = wakeApp(services, app, 'ps:wake');
    try {
      // Two readings further apart than its idle time (1 s), the count unmoved: idle, were it not waking.
      const round = sleepRound(services);
      const signal = new AbortController().signal;
      const sleeps = () => s.deployer.sleep.calls.filter((c) => c.op === 'sleep').length;
      const before = sleeps();
      await round(signal);
      await new Promise((r) => setTimeout(r, 1100));
      assert.deepEqual((await round(signal)).slept, []);
      assert.equal(sleeps(), before, 'not put back to sleep while it wakes');
    } finally {
      open();
      s.deployer.sleep.wakeGate = undefined;
    }
    await woke;
    assert.equal(services.store.sleep.asleepSince(app), null);
  });
});
