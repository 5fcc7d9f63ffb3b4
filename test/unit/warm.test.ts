// Instant rollback, operations side: SLIPWAY_WARM_ROLLBACK, the window deployable() hands the
// deployer, a rollback running its target's instances (runsAs), ps:warm's operation, and the
// warm-window sweep, against a real store (SQLite in a temp dir) and the fake deployer.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatWarmWindow, loadConfig, parseWarmWindow } from '../../server/config.ts';
import { openStore } from '../../server/store/index.ts';
import { RunningDeploys, RunningSessions, type Services } from '../../server/context.ts';
import { lineTranscript } from '../../server/output/transcript.ts';
import { LockedError } from '../../server/errors.ts';
import type { Actor, Progress } from '../../server/ops/actor.ts';
import { tryLockApp } from '../../server/ops/lock.ts';
import { deployable } from '../../server/ops/releases/release.ts';
import { rollback } from '../../server/ops/releases/releases.ts';
import { listProcesses, setWarmWindow, warmWindow } from '../../server/ops/processes/ps.ts';
import { resourceReport } from '../../server/ops/processes/resources.ts';
import { sweepWarm } from '../../server/ops/releases/warm.ts';
import { FakeDeployer } from '../support/fakes.ts';
import { Events } from '../../server/jobs/events.ts';
import { JobRunner } from '../../server/jobs/runner.ts';
import { configureLog } from '../../server/output/log.ts';
import { AuditLog } from '../../server/ops/audit/recorder.ts';

// The failures these tests provoke are logged as they should be; the test output needs none of it.
configureLog({ level: 'error' });

interface World {
  services: Services;
  deployer: FakeDeployer;
  alice: Actor;
  lines: string[];
  progress: Progress;
}

/** A store in a temp dir, the fake deployer, an admin `alice`, and app `a` created. */
function world(t: TestContext, env: Record<string, string> = {}): World {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-warm-'));
  const config = loadConfig({ SLIPWAY_DATA_DIR: dir, SLIPWAY_BASE_DOMAIN: 'apps.test', ...env });
  const store = openStore(join(dir, 'slipway.db'));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const deployer = new FakeDeployer({});
  const pushes = new RunningDeploys();
  const events = new Events();
  const services: Services = { config, store, pushes, sessions: new RunningSessions(), jobs: new JobRunner(store, config, pushes, events), events, builder: undefined, deployer, audit: new AuditLog(store) };
  store.apps.create('a');
  const lines: string[] = [];
  return {
    services, deployer, lines,
    alice: { identity: { name: 'alice', admin: true, via: 'ssh' }, services },
    progress: { transcript: lineTranscript((l) => lines.push(l)), signal: new AbortController().signal },
  };
}

/** Records a release of `a` that ran, as a push would leave it, and deploys it on the fake. */
async function released(w: World, image = `registry.test/a@sha256:${w.services.store.releases.all('a').length + 1}`): Promise<number> {
  const r = w.services.store.releases.create({ app: 'a', description: 'Deploy', commit: 'c0ffee', image, processes: [{ type: 'web', command: ['web'], args: [], default: true }], config: {} });
  w.services.store.releases.finish('a', r.version, 'succeeded');
  await w.deployer.rollout.deploy(deployable(w.services, r), { transcript: { detail: () => {} } });
  return r.version;
}

const at = (ms: number) => new Date(ms).toISOString();

test('SLIPWAY_WARM_ROLLBACK: 5 minutes by default; seconds or 90s, 5m, 1h; 0 is off; anything else one sentence', () => {
  assert.equal(loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test' }).warmRollbackSeconds, 300);
  const read = (v: string) => loadConfig({ SLIPWAY_BASE_DOMAIN: 'example.test', SLIPWAY_WARM_ROLLBACK: v }).warmRollbackSeconds;
  assert.deepEqual(['300', '90s', '5m', '1h', '0', '24h'].map(read), [300, 90, 300, 3600, 0, 86_400]);
  for (const bad of ['5x', '-1', '1.5m', '25h', 'five', '5 m', '86401']) {
    assert.throws(() => read(bad), { message: `SLIPWAY_WARM_ROLLBACK must be seconds (300) or a duration like 90s, 5m or 1h, at most 24h (0 turns warm rollback off), got "${bad}".` });
  }
  assert.deepEqual([90, 300, 3600, 5400, 61, 0].map(formatWarmWindow), ['90s', '5m', '1h', '90m', '61s', 'off']);
  assert.equal(parseWarmWindow('90m'), 5400);
});

test("deployable() hands the deployer the app's warm window (its own, else the default) and the release it runs as", async (t) => {
  const w = world(t, { SLIPWAY_WARM_ROLLBACK: '2m' });
  const v1 = await released(w);
  const r1 = w.services.store.releases.get('a', v1)!;
  assert.deepEqual([deployable(w.services, r1).warmSeconds, deployable(w.services, r1).runsAs], [120, undefined]);
  w.services.store.apps.setWarmSeconds('a', 0);
  assert.equal(deployable(w.services, r1).warmSeconds, 0, "the app's own 0 beats the default");
  w.services.store.apps.setWarmSeconds('a', 3600);
  assert.equal(deployable(w.services, r1).warmSeconds, 3600);
  const r2 = w.services.store.releases.create({ app: 'a', description: 'Rollback to v1', commit: null, image: r1.image, processes: r1.processes, config: {}, runsAs: 1 });
  assert.equal(deployable(w.services, r2).runsAs, 1);
});

test("a rollback records and deploys the target's instances (runsAs), following a rollback target to the release it ran", async (t) => {
  const w = world(t);
  await released(w);
  await released(w);
  const r3 = await rollback(w.alice, 'a', { version: 1 }, w.progress);
  assert.deepEqual(r3, { target: 1, release: 3 });
  assert.equal(w.services.store.releases.get('a', 3)!.runsAs, 1);
  assert.deepEqual([w.deployer.rollout.deployed.at(-1)!.version, w.deployer.rollout.deployed.at(-1)!.runsAs], [3, 1]);
  await rollback(w.alice, 'a', { version: 2 }, w.progress);
  assert.equal(w.deployer.rollout.deployed.at(-1)!.runsAs, 2);
  // v3 ran v1's instances: rolling back to v3 runs them again, not a set named after v3.
  await rollback(w.alice, 'a', { version: 3 }, w.progress);
  assert.deepEqual([w.services.store.releases.get('a', 5)!.runsAs, w.deployer.rollout.deployed.at(-1)!.runsAs], [1, 1]);
  assert.equal(w.deployer.rollout.deployed.at(-1)!.warmSeconds, 300, 'the default window');
});

test("ps:warm: shows the window and its source, stores one, `default` resets it; 0 stops the warm set under the app's lock", async (t) => {
  const w = world(t);
  assert.deepEqual(warmWindow(w.alice, 'a'), { seconds: 300, source: 'default' });
  assert.deepEqual(await setWarmWindow(w.alice, 'a', '10m', w.progress), { seconds: 600, source: 'app', dropped: 0 });
  assert.equal(w.services.store.apps.get('a')!.warmSeconds, 600);
  assert.deepEqual(await setWarmWindow(w.alice, 'a', 90, w.progress), { seconds: 90, source: 'app', dropped: 0 }, 'a number (the API) is seconds');
  assert.deepEqual(await setWarmWindow(w.alice, 'a', 'default', w.progress), { seconds: 300, source: 'default', dropped: 0 });
  assert.equal(w.services.store.apps.get('a')!.warmSeconds, null);
  assert.equal(w.deployer.warm.warmDrops.length, 0, 'a window above 0 stops nothing');

  // Deployed, with a warm set: 0 stops it at once, inside a job holding the lock.
  await released(w);
  await released(w);
  w.deployer.warm.addWarm('a', 1, at(Date.now() + 60_000), 2);
  const owner: (string | null)[] = [];
  const drop = w.deployer.warm.dropWarm.bind(w.deployer.warm);
  w.deployer.warm.dropWarm = async (app, opts) => {
    owner.push(w.services.store.apps.get(app)!.lock?.owner ?? null);
    return drop(app, opts);
  };
  assert.deepEqual(await setWarmWindow(w.alice, 'a', '0', w.progress), { seconds: 0, source: 'app', dropped: 1 });
  assert.deepEqual(w.deployer.warm.warmDrops.map((d) => [d.app, d.all]), [['a', true]]);
  assert.deepEqual(owner, ['ps:warm by alice']);
  assert.equal(w.services.store.apps.get('a')!.lock, null, 'the lock is free again');
  assert.ok(w.lines.some((l) => l.includes('Stopped 1 warm set of web instances')), w.lines.join('\n'));
  assert.deepEqual(w.deployer.warm.sets, []);
});

test('ps:warm: bad input is one sentence and nothing is written; a held lock refuses 0 and keeps the setting', async (t) => {
  const w = world(t);
  await setWarmWindow(w.alice, 'a', '2m', w.progress);
  for (const bad of ['soon', '-5', '2d', '1.5h', '25h', '']) {
    await assert.rejects(setWarmWindow(w.alice, 'a', bad, w.progress), { message: `${JSON.stringify(bad)} is not a warm window; give seconds (300) or a duration like 90s, 5m or 1h (at most 24h), 0 to turn it off, or default.` });
  }
  await assert.rejects(setWarmWindow(w.alice, 'a', -1, w.progress), /"-1" is not a warm window/);
  await assert.rejects(setWarmWindow(w.alice, 'a', 1.5, w.progress), /"1.5" is not a warm window/);
  assert.equal(w.services.store.apps.get('a')!.warmSeconds, 120);

  await released(w);
  w.deployer.warm.addWarm('a', 1, at(Date.now() + 60_000));
  const lock = tryLockApp(w.services, 'a', 'a push by bob');
  assert.ok(lock.ok);
  await assert.rejects(setWarmWindow(w.alice, 'a', '0', w.progress), LockedError);
  lock.unlock();
  assert.equal(w.services.store.apps.get('a')!.warmSeconds, 120, 'nothing written');
  assert.deepEqual(w.deployer.warm.warmDrops, []);
});

test('ps:warm 0 whose stop fails puts the window back', async (t) => {
  const w = world(t);
  await released(w);
  w.deployer.warm.dropWarm = async () => { throw new Error('the cluster said no'); };
  await assert.rejects(setWarmWindow(w.alice, 'a', '0', w.progress), /the cluster said no/);
  assert.equal(w.services.store.apps.get('a')!.warmSeconds, null);
});

test('ps lists a warm set after the serving types; resource:report counts its instances and their memory', async (t) => {
  const w = world(t);
  await released(w);
  await released(w);
  w.services.store.stopped.stop('a', ['web']);
  w.deployer.warm.addWarm('a', 1, '2026-12-03T12:05:07.000Z', 2);
  const ps = await listProcesses(w.alice, 'a');
  assert.deepEqual(ps.map((p) => [p.type, p.warm?.release ?? null, p.stopped]), [['web', null, true], ['web', 1, false]]);
  const report = await resourceReport(w.alice, 'a');
  assert.deepEqual(report.warm, [{ type: 'web', release: 1, until: '2026-12-03T12:05:07.000Z', instances: 2, limits: { memory: '256Mi', cpu: '500m' }, memoryMiB: 512 }]);
  w.services.store.resources.replace('a', [{ process: 'web', kind: 'limit', memory: '1Gi', cpu: null, memoryMax: null, cpuMax: null, maxSetBy: null }]);
  assert.deepEqual((await resourceReport(w.alice, 'a')).warm[0]!.limits, { memory: '1Gi', cpu: '500m' });
  assert.equal((await resourceReport(w.alice, 'a')).warm[0]!.memoryMiB, 2048);
});

test('the sweep stops expired warm sets under the lock, leaves current ones, and skips a locked app', async (t) => {
  const w = world(t);
  w.services.store.apps.create('b');
  w.services.store.apps.create('c');
  const now = Date.parse('2026-12-03T12:00:00.000Z');
  w.deployer.warm.addWarm('a', 1, at(now - 1000));
  w.deployer.warm.addWarm('b', 4, at(now - 1));
  w.deployer.warm.addWarm('c', 2, at(now + 60_000));
  const held: (string | null)[] = [];
  const drop = w.deployer.warm.dropWarm.bind(w.deployer.warm);
  w.deployer.warm.dropWarm = async (app, opts) => {
    held.push(w.services.store.apps.get(app)!.lock?.owner ?? null);
    return drop(app, opts);
  };
  const lock = tryLockApp(w.services, 'b', 'rollback by bob');
  assert.ok(lock.ok);
  const first = await sweepWarm(w.services, () => now);
  assert.deepEqual(first, { dropped: [{ app: 'a', sets: 1 }], skipped: ['b'] });
  assert.deepEqual(w.deployer.warm.warmDrops, [{ app: 'a', now, all: false }]);
  assert.deepEqual(held, ['warm-window sweep']);
  assert.equal(w.services.store.apps.get('a')!.lock, null, 'the sweep frees the lock');
  assert.equal(w.services.store.apps.get('b')!.lock?.owner, 'rollback by bob', "the holder's lock is left alone");
  lock.unlock();
  const second = await sweepWarm(w.services, () => now);
  assert.deepEqual(second, { dropped: [{ app: 'b', sets: 1 }], skipped: [] });
  assert.deepEqual(w.deployer.warm.sets.map((s) => s.app), ['c'], 'the set still in its window stays');
});

test('a failing drop is logged and the sweep goes on to the next app', async (t) => {
  const w = world(t);
  w.services.store.apps.create('b');
  const now = Date.now();
  w.deployer.warm.addWarm('a', 1, at(now - 1000));
  w.deployer.warm.addWarm('b', 1, at(now - 1000));
  const drop = w.deployer.warm.dropWarm.bind(w.deployer.warm);
  w.deployer.warm.dropWarm = async (app, opts) => {
    if (app === 'a') throw new Error('the cluster said no');
    return drop(app, opts);
  };
  const r = await sweepWarm(w.services, () => now);
  assert.deepEqual(r.dropped, [{ app: 'b', sets: 1 }]);
  assert.equal(w.services.store.apps.get('a')!.lock, null, 'the lock is freed after a failure too');
});
