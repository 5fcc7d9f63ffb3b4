// The API data the dashboard reads, against a real server (fake builder and deployer): apps with
// state, release, URL, instances and last deploy (and apps:list showing the same); who made a
// release and which config keys it changed; the live event stream, which only carries the apps a
// key may use; doctor and the GC report for admins only; an app's access; logs of one process type.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { holdRollouts, makeKey, newApp, startTestServer, useControls, type TestKey, type TestServer } from '../support/harness.ts';
import { api, apiError, makeToken, push, rawConnection, readEvents, sshJson, type SseEvent } from '../support/api-client.ts';
import type { DeployableRelease } from '../../server/model.ts';

type Job = { id: string; kind: string; app: string; status: string; release: number | null };
type AppItem = {
  name: string; state: string; release: string | null; url: string; https: boolean;
  processes: { running: number; desired: number };
  lastDeploy: { at: string; result: string; release: string | null; jobId: string | null } | null;
};
type ReleaseItem = { version: number; createdBy: string | null; configChanges: { added: string[]; changed: string[]; removed: string[] } | null };

describe('HTTP API: what the dashboard reads', { timeout: 180_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  let token: string;
  let readToken: string;
  let adminToken: string;
  let app: string;
  let hidden: string;

  /** Polls the job until it ended (bounded: 10 s). */
  async function ended(id: string): Promise<Job> {
    for (let i = 0; i < 200; i++) {
      const job = (await api(s, 'GET', `/jobs/${id}`, { token: adminToken })).json as Job;
      if (job.status !== 'queued' && job.status !== 'running') return job;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`job ${id} did not end`);
  }

  /** Changes config over the API and waits for its job; returns the job. */
  async function configure(body: unknown, as = token, target = app): Promise<Job> {
    const r = await api(s, 'PATCH', `/apps/${target}/config`, { token: as, body });
    assert.equal(r.status, 202, r.text);
    return ended((r.json as { job: Job }).job.id);
  }

  async function appItem(name: string, as = token): Promise<AppItem> {
    const r = await api(s, 'GET', '/apps', { token: as });
    assert.equal(r.status, 200, r.text);
    const item = (r.json as AppItem[]).find((a) => a.name === name);
    assert.ok(item, `${name} is listed`);
    return item;
  }

  before(async () => {
    s = await startTestServer();
    dev = await makeKey(s.dir, 'dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    app = await newApp(s, 'dash');
    hidden = await newApp(s, 'dash-hidden');
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    token = await makeToken(s, dev, 'dev-deploy');
    readToken = await makeToken(s, dev, 'dev-read', 'read');
    adminToken = await makeToken(s, s.admin, 'admin-all');
  });
  after(() => s.close());

  test('GET /apps: a new app, then running, deploying, failed, stopped; apps:list shows the same as columns', async (t) => {
    const fresh = await appItem(app);
    assert.deepEqual(fresh, { ...fresh, state: 'new', release: null, url: `http://${app}.apps.test`, https: false, processes: { running: 0, desired: 0 }, lastDeploy: null });
    assert.equal(((await api(s, 'GET', '/apps', { token })).json as AppItem[]).some((a) => a.name === hidden), false, 'an app the key may not use is not listed');

    await push(s, app, 'one');
    const running = await appItem(app);
    assert.equal(running.state, 'running');
    assert.equal(running.release, 'v1');
    assert.deepEqual(running.processes, { running: 1, desired: 1 });
    assert.equal(running.lastDeploy?.result, 'succeeded');
    assert.equal(running.lastDeploy?.release, 'v1');
    assert.match(running.lastDeploy?.jobId ?? '', /^[a-z0-9]{12}$/);
    assert.ok(!Number.isNaN(Date.parse(running.lastDeploy!.at)));

    // The cluster is asked once per listing, whatever the number of apps.
    const asked = s.deployer.runtime.overviews;
    await api(s, 'GET', '/apps', { token: adminToken });
    assert.equal(s.deployer.runtime.overviews, asked + 1);

    const gate = holdRollouts(t, s);
    const change = await api(s, 'PATCH', `/apps/${app}/config`, { token, body: { set: { HELD: '1' } } });
    assert.equal(change.status, 202, change.text);
    await gate.reached;
    const deploying = await appItem(app);
    assert.equal(deploying.state, 'deploying');
    assert.deepEqual(deploying.lastDeploy, { ...deploying.lastDeploy, result: 'running', release: null, jobId: (change.json as { job: Job }).job.id });
    gate.open();
    assert.equal((await ended((change.json as { job: Job }).job.id)).status, 'succeeded');
    assert.equal((await appItem(app)).release, 'v2');

    useControls(t, s, { deployFailure: 'the fake rollout failed' });
    assert.equal((await configure({ set: { BROKEN: '1' } })).status, 'failed');
    const failed = await appItem(app);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.release, 'v2', 'the release that runs is still the one before');
    assert.equal(failed.lastDeploy?.result, 'failed');
    delete s.controls.deployFailure;

    // A later deploy that succeeds clears it.
    assert.equal((await configure({ set: { FIXED: '1' } })).status, 'succeeded');
    assert.equal((await appItem(app)).state, 'running');

    const stop = await api(s, 'POST', `/apps/${app}/stop`, { token });
    assert.equal(stop.status, 202, stop.text);
    assert.equal((await ended((stop.json as { job: Job }).job.id)).status, 'succeeded');
    const stopped = await appItem(app);
    assert.equal(stopped.state, 'stopped');
    assert.deepEqual(stopped.processes, { running: 0, desired: 0 });

    // apps:list: the same objects with --json, and as columns.
    assert.deepEqual(await sshJson(s, dev, 'apps:list'), (await api(s, 'GET', '/apps', { token })).json);
    const text = await s.ssh(dev, 'apps:list');
    assert.equal(text.exitCode, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+STATE\s+RELEASE\s+READY\s+URL$/);
    assert.match(lines[1]!, new RegExp(`^${app}\\s+stopped\\s+v4\\s+0/0\\s+http://${app}\\.apps\\.test$`));

    const start = await api(s, 'POST', `/apps/${app}/start`, { token });
    assert.equal((await ended((start.json as { job: Job }).job.id)).status, 'succeeded');
    const back = await appItem(app);
    assert.equal(back.state, 'running');
    assert.deepEqual(back.processes, { running: 1, desired: 1 });
  });

  test('releases say who made them and which config keys changed, never the values', async () => {
    const target = await newApp(s, 'dash-rel');
    assert.equal((await s.ssh(s.admin, `access:grant ${target} ${dev.name}`)).exitCode, 0);
    await push(s, target, 'first');
    await configure({ set: { SECRET_A: 'value-one', KEEP: 'same' } }, token, target);
    await configure({ set: { SECRET_A: 'value-two', NEW_B: 'b' } }, adminToken, target);
    assert.equal((await s.ssh(s.admin, `config:unset ${target} KEEP`)).exitCode, 0);
    const r = await api(s, 'GET', `/apps/${target}/releases`, { token: readToken });
    assert.equal(r.status, 200, r.text);
    for (const secret of ['value-one', 'value-two', 'same']) assert.doesNotMatch(r.text, new RegExp(secret));
    const list = (r.json as ReleaseItem[]).map(({ version, createdBy, configChanges }) => ({ version, createdBy, configChanges }));
    assert.deepEqual(list, [
      { version: 4, createdBy: 'admin', configChanges: { added: [], changed: [], removed: ['KEEP'] } },
      { version: 3, createdBy: 'admin', configChanges: { added: ['NEW_B'], changed: ['SECRET_A'], removed: [] } },
      { version: 2, createdBy: 'dev', configChanges: { added: ['KEEP', 'SECRET_A'], changed: [], removed: [] } },
      { version: 1, createdBy: 'admin', configChanges: null },
    ]);
    const one = await api(s, 'GET', `/apps/${target}/releases/3`, { token: readToken });
    assert.equal(one.status, 200, one.text);
    assert.deepEqual((one.json as ReleaseItem).configChanges, { added: ['NEW_B'], changed: ['SECRET_A'], removed: [] });
    assert.equal((one.json as ReleaseItem).createdBy, 'admin');
    assert.deepEqual(one.json, await sshJson(s, dev, `releases:info ${target} v3`));
  });

  test('GET /events: a config change brings its job and release events; an app the key may not use brings none', async () => {
    const seen: SseEvent[] = [];
    let changed!: Promise<void>;
    const stream = await readEvents(s, '/events', readToken, (e) => {
      seen.push(e);
      // The app event comes last: the change is said once its job has ended.
      return e.event === 'app' && (JSON.parse(e.data) as { app: string }).app === app;
    }, () => {
      changed = (async () => {
        // The hidden app's change first: had it been sent, it would come before the end we wait for.
        await configure({ set: { ELSEWHERE: '1' } }, adminToken, hidden).catch(() => {});
        assert.equal((await s.ssh(s.admin, `config:set ${hidden} ALSO=1`)).exitCode, 0);
        await configure({ set: { LIVE: '1' } }, token);
      })();
    });
    await changed;
    assert.equal(stream.status, 200);
    assert.match(stream.type ?? '', /^text\/event-stream/);
    const parsed = seen.map((e) => ({ event: e.event, data: JSON.parse(e.data) as Record<string, unknown> }));
    assert.ok(parsed.every((e) => e.data.app === app), `only ${app}'s events: ${JSON.stringify(parsed)}`);
    const jobs = parsed.filter((e) => e.event === 'job').map((e) => e.data as Job);
    assert.deepEqual(jobs.map((j) => [j.kind, j.status]), [['config:set', 'running'], ['config:set', 'succeeded']]);
    assert.deepEqual(Object.keys(jobs[1]!).sort(), ['app', 'by', 'createdAt', 'credential', 'error', 'finishedAt', 'id', 'kind', 'release', 'startedAt', 'status']);
    const version = `v${jobs[1]!.release}`;
    assert.deepEqual(parsed.filter((e) => e.event === 'release').map((e) => e.data), [{ app, release: version }, { app, release: version }]);
    assert.deepEqual(parsed.filter((e) => e.event === 'app').map((e) => e.data), [{ app, change: 'config' }]);
  });

  test('GET /events: a key that loses the app stops hearing of it; at most 20 streams per key', async () => {
    const other = await newApp(s, 'dash-lose');
    assert.equal((await s.ssh(s.admin, `access:grant ${other} ${dev.name}`)).exitCode, 0);
    const seen: { event: string; app: string; change?: string }[] = [];
    await readEvents(s, '/events', readToken, (e) => {
      const data = JSON.parse(e.data) as { app: string; change?: string };
      seen.push({ event: e.event, ...data });
      return data.app === app && data.change === 'config';
    }, () => {
      void (async () => {
        assert.equal((await s.ssh(s.admin, `config:set ${other} SEEN=1 --no-restart`)).exitCode, 0);
        assert.equal((await s.ssh(s.admin, `access:revoke ${other} ${dev.name}`)).exitCode, 0);
        assert.equal((await s.ssh(s.admin, `config:set ${other} UNSEEN=1 --no-restart`)).exitCode, 0);
        assert.equal((await s.ssh(s.admin, `config:set ${app} LAST=1 --no-restart`)).exitCode, 0);
      })();
    });
    assert.deepEqual(seen, [{ event: 'app', app: other, change: 'config' }, { event: 'app', app, change: 'config' }]);

    // The streams above are closed (the server notices their clients left) before counting.
    for (let i = 0; i < 100 && s.slipway.services.events.count(dev.name) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.slipway.services.events.count(dev.name), 0);
    const open: AbortController[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const c = new AbortController();
        open.push(c);
        const r = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1/events`, { headers: { authorization: `Bearer ${readToken}` }, signal: c.signal });
        assert.equal(r.status, 200);
      }
      const refused = await api(s, 'GET', '/events', { token });
      assert.equal(refused.status, 429, refused.text);
      assert.match(apiError(refused).message, /^The key dev has 20 streams open already/);
      // Another key is not held back by this one's streams.
      const admin = new AbortController();
      open.push(admin);
      assert.equal((await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1/events`, { headers: { authorization: `Bearer ${adminToken}` }, signal: admin.signal })).status, 200);
    } finally {
      for (const c of open) c.abort();
    }
  });

  test('GET /events: a reader that does not read is cut off, not buffered without bound', async (t) => {
    const { events } = s.slipway.services;
    const until = async (ok: () => boolean, what: string) => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(ok(), what);
    };
    await until(() => events.count('admin') === 0, "the earlier tests' streams are closed");
    const c = await rawConnection(s);
    t.after(() => c.sock.destroy());
    c.sock.pause();
    c.sock.write(`GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\n\r\n`);
    await until(() => events.count('admin') === 1, 'the stream started');
    // 8 MB of events at once, to a client that takes nothing: the stream holds at most 1 MiB, then ends.
    const job = { id: 'x'.repeat(12), kind: 'config:set', app, by: 'admin', origin: 'api' as const, status: 'running' as const, createdAt: new Date().toISOString(), startedAt: null, finishedAt: null, release: null, error: 'e'.repeat(300), logFile: '/nonexistent', credential: 'key' };
    for (let i = 0; i < 20_000; i++) events.publish({ type: 'job', app, job });
    await until(() => events.count('admin') === 0, 'the stream was closed');
    c.sock.resume();
    await c.closed;
    assert.ok(c.received().startsWith('HTTP/1.1 200 '), c.received().slice(0, 200));
    assert.ok(c.received().length < 16 * 1024 * 1024, `${c.received().length} bytes were sent to a client that read nothing`);
  });

  test('doctor and the GC report are for admin tokens only (403 otherwise); the report deletes nothing', async () => {
    s.slipway.services.doctorChecks = () => [
      { name: 'docker', run: async () => ({ ok: true, detail: 'Docker 26.1.5' }) },
      { name: 'registry', run: async () => ({ ok: false, detail: 'not reachable', fix: 'start it' }) },
    ];
    const adminRead = await makeToken(s, s.admin, 'admin-read', 'read');
    for (const path of ['/doctor', '/gc']) {
      for (const t of [token, readToken, adminRead]) {
        const r = await api(s, 'GET', path, { token: t });
        assert.equal(r.status, 403, `${path}: ${r.text}`);
        assert.equal(apiError(r).code, 'forbidden');
      }
    }
    const doctor = await api(s, 'GET', '/doctor', { token: adminToken });
    assert.equal(doctor.status, 200, doctor.text);
    assert.deepEqual(doctor.json, [{ name: 'docker', ok: true, detail: 'Docker 26.1.5' }, { name: 'registry', ok: false, detail: 'not reachable', fix: 'start it' }]);
    const before = await sshJson(s, s.admin, `releases ${app}`);
    const gc = await api(s, 'GET', '/gc', { token: adminToken });
    assert.equal(gc.status, 200, gc.text);
    const report = gc.json as { keepReleases: number; apps: { app: string }[]; storage: { runs: boolean } };
    assert.ok(report.keepReleases > 0);
    assert.ok(report.apps.some((a) => a.app === app));
    assert.deepEqual(report, await sshJson(s, s.admin, 'gc --dry-run'));
    assert.deepEqual(await sshJson(s, s.admin, `releases ${app}`), before, 'nothing marked collected or pruned');
  });

  test('GET /apps/APP/access lists the keys granted; an app the key may not use is 404', async () => {
    const r = await api(s, 'GET', `/apps/${app}/access`, { token: readToken });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { app, keys: ['dev'] });
    assert.equal((await api(s, 'GET', `/apps/${hidden}/access`, { token: readToken })).status, 404);
    assert.deepEqual((await api(s, 'GET', `/apps/${hidden}/access`, { token: adminToken })).json, { app: hidden, keys: [] });
  });

  test('logs ?process=TYPE: one process type, checked against the app\'s types, as logs -p over SSH', async () => {
    const app = await newApp(s, 'dash-logs');
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    await push(s, app, 'logs');
    const r = await api(s, 'GET', `/apps/${app}/logs?process=web&tail=5`, { token: readToken });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, `2000-01-01T00:00:00Z app[web.fake]: ${app} log (lines=5, follow=false)\n`);
    assert.equal((await s.ssh(dev, `logs ${app} --process web -n 5`)).stdout, r.text.trimEnd());
    assert.equal((await s.ssh(dev, `logs ${app} -p web -n 5`)).stdout, r.text.trimEnd());
    const bad = await api(s, 'GET', `/apps/${app}/logs?process=worker`, { token: readToken });
    assert.equal(bad.status, 422, bad.text);
    assert.equal(apiError(bad).message, 'There is no "worker" process type; this app has web.');
    const both = await api(s, 'GET', `/apps/${app}/logs?process=web&ps=worker`, { token: readToken });
    assert.equal(both.status, 400, both.text);
  });

  test('GET /apps with 100 apps: one cluster listing, timed', async (t) => {
    const { store } = s.slipway.services;
    const base = s.deployer.rollout.deployed.length;
    for (let i = 0; i < 100; i++) {
      const name = `dash-many-${i}`;
      store.apps.create(name);
      const r = store.releases.create({ app: name, description: 'Deploy 0000000', commit: '0'.repeat(40), image: `registry.test/${name}@sha256:${'0'.repeat(64)}`, processes: [{ type: 'web', command: ['web'], args: [], default: true }], config: { A: '1' }, createdBy: 'admin' });
      store.releases.finish(name, r.version, 'succeeded');
      s.deployer.rollout.deployed.push({ app: name, version: r.version, image: r.image!, processes: r.processes, config: {}, formation: {}, domains: [`${name}.apps.test`] } as DeployableRelease);
    }
    t.after(() => {
      for (let i = 0; i < 100; i++) store.apps.remove(`dash-many-${i}`);
      s.deployer.rollout.deployed.splice(base);
    });
    const times: number[] = [];
    const asked = s.deployer.runtime.overviews;
    for (let round = 0; round < 10; round++) {
      const started = performance.now();
      const r = await api(s, 'GET', '/apps', { token: adminToken });
      times.push(performance.now() - started);
      assert.equal(r.status, 200);
      assert.ok((r.json as AppItem[]).length >= 100);
    }
    assert.equal(s.deployer.runtime.overviews, asked + 10);
    const sorted = [...times].sort((a, b) => a - b);
    t.diagnostic(`GET /apps with ${((await api(s, 'GET', '/apps', { token: adminToken })).json as AppItem[]).length} apps (fake deployer), 10 rounds: median ${sorted[5]!.toFixed(1)} ms, max ${sorted[9]!.toFixed(1)} ms, first ${times[0]!.toFixed(1)} ms`);
  });
});
