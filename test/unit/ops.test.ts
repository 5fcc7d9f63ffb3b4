// The operations against a real store (SQLite in a temp dir) and the fake deployer: what they
// store, what they roll out, and what they put back when the rollout fails.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { openStore } from '../../server/store/index.ts';
import { RunningDeploys, RunningSessions, type Services } from '../../server/context.ts';
import { lineTranscript } from '../../server/output/transcript.ts';
import { ForbiddenError, LockedError, NotFoundError } from '../../server/errors.ts';
import type { DeployableRelease } from '../../server/model.ts';
import type { Actor, Progress } from '../../server/ops/actor.ts';
import { authorizeApp, requireAdmin } from '../../server/ops/access.ts';
import { breakLock, tryLockApp } from '../../server/ops/lock.ts';
import { setConfig } from '../../server/ops/config/config.ts';
import { rollback } from '../../server/ops/releases/releases.ts';
import { scale } from '../../server/ops/processes/ps.ts';
import { addDomain } from '../../server/ops/domains/domains.ts';
import { setAutoCerts } from '../../server/ops/domains/certs.ts';
import { appInfo } from '../../server/ops/apps/apps.ts';
import { collectApp } from '../../server/ops/gc/collect.ts';
import { FakeDeployer, FakeRollouts, type FakeControls } from '../support/fakes.ts';
import { Events } from '../../server/jobs/events.ts';
import { JobRunner } from '../../server/jobs/runner.ts';
import { AuditLog } from '../../server/ops/audit/recorder.ts';

/** Fake rollouts that also note who held the app's lock during each rollout. */
class WatchingRollouts extends FakeRollouts {
  lockOwners: (string | null)[] = [];
  services?: Services;
  override async deploy(release: DeployableRelease, opts: { transcript: { detail(t: string): void } }): Promise<void> {
    this.lockOwners.push(this.services?.store.apps.get(release.app)?.lock?.owner ?? null);
    return super.deploy(release, opts);
  }
}

/** The fake deployer with WatchingRollouts. */
class WatchingDeployer extends FakeDeployer {
  override readonly rollout = new WatchingRollouts(this);
}

interface World {
  services: Services;
  deployer: WatchingDeployer;
  controls: FakeControls;
  alice: Actor;
  lines: string[];
  progress: Progress;
}

/** A store in a temp dir, the fake deployer, an admin `alice`, and app `a` created. */
function world(t: TestContext, env: Record<string, string> = {}): World {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-ops-'));
  const config = loadConfig({ SLIPWAY_DATA_DIR: dir, SLIPWAY_BASE_DOMAIN: 'apps.test', ...env });
  const store = openStore(join(dir, 'slipway.db'));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const controls: FakeControls = {};
  const deployer = new WatchingDeployer(controls);
  const pushes = new RunningDeploys();
  const events = new Events();
  const services: Services = { config, store, pushes, sessions: new RunningSessions(), jobs: new JobRunner(store, config, pushes, events), events, builder: undefined, deployer, audit: new AuditLog(store) };
  deployer.rollout.services = services;
  store.apps.create('a');
  const lines: string[] = [];
  return {
    services, deployer, controls, lines,
    alice: { identity: { name: 'alice', admin: true, via: 'ssh' }, services },
    progress: { transcript: lineTranscript((l) => lines.push(l)), signal: new AbortController().signal },
  };
}

/** Records a release of `a` that ran (or failed) with `config`, as a push would leave it. */
function released(w: World, status: 'succeeded' | 'failed', config: Record<string, string> = {}, image = `registry.test/a@sha256:${w.services.store.releases.all('a').length + 1}`): number {
  const r = w.services.store.releases.create({ app: 'a', description: 'Deploy', commit: 'c0ffee', image, processes: [{ type: 'web', command: ['web'], args: [], default: true }], config });
  w.services.store.releases.finish('a', r.version, status);
  return r.version;
}

test('setConfig stores the change and rolls out a release with it', async (t) => {
  const w = world(t);
  released(w, 'succeeded', { A: '1' });
  const r = await setConfig(w.alice, 'a', { set: { B: '2' }, unset: ['A'] }, w.progress);
  assert.deepEqual(r, { set: ['B'], unset: ['A'], release: 2 });
  assert.deepEqual(w.services.store.config.all('a'), { B: '2' });
  assert.deepEqual(w.deployer.rollout.deployed.at(-1)?.config, { B: '2' });
  assert.ok(w.lines.includes('-----> Releasing v2 (Set B config vars; Remove A config vars)'), w.lines.join('\n'));
  assert.deepEqual(w.deployer.rollout.lockOwners, ['config:set by alice']);
  assert.equal(w.services.store.apps.get('a')?.lock, null, 'the lock is released');
});

test('setConfig on an app that never deployed only stores, and says no release rolled out', async (t) => {
  const w = world(t);
  assert.deepEqual(await setConfig(w.alice, 'a', { set: { K: 'v' } }, w.progress), { set: ['K'], unset: [], release: null });
  assert.deepEqual(w.services.store.config.all('a'), { K: 'v' });
  assert.equal(w.deployer.rollout.deployed.length, 0);
});

test('a failing rollout takes the setting back: the store keeps saying what runs', async (t) => {
  const w = world(t);
  released(w, 'succeeded', { A: '1' });
  w.services.store.config.change('a', { A: '1' });
  w.controls.deployFailure = 'web never became ready';
  await assert.rejects(setConfig(w.alice, 'a', { set: { A: '2', B: '3' } }, w.progress), /web never became ready/);
  assert.deepEqual(w.services.store.config.all('a'), { A: '1' });
  assert.equal(w.services.store.releases.get('a', 2)?.status, 'failed');
});

test('bad input is one sentence and nothing is stored', async (t) => {
  const w = world(t);
  await assert.rejects(setConfig(w.alice, 'a', { set: { '1BAD': 'x' } }, w.progress), /"1BAD" is not a valid config key/);
  await assert.rejects(setConfig(w.alice, 'a', { set: { K: 'a' }, unset: ['K'] }, w.progress), /^UserError: K is both set and unset/);
  await assert.rejects(setConfig(w.alice, 'a', {}, w.progress), /Nothing to change/);
  assert.deepEqual(w.services.store.config.all('a'), {});
});

test('a held lock refuses a change with the "Another deploy" sentence, and nothing is stored', async (t) => {
  const w = world(t);
  released(w, 'succeeded');
  const held = tryLockApp(w.services, 'a', 'push of abc1234 by bob');
  assert.ok(held.ok);
  const err = await setConfig(w.alice, 'a', { set: { K: 'v' } }, w.progress).catch((e: unknown) => e);
  assert.ok(err instanceof LockedError);
  assert.match(err.message, /^Another deploy of a is in progress \(push of abc1234 by bob, since .+\); wait for it, or run apps:unlock a if it is stuck\.$/);
  assert.deepEqual(w.services.store.config.all('a'), {});
  // Garbage collection takes the same lock: it skips the app rather than wait.
  assert.deepEqual(await collectApp(w.services, 'a'), { app: 'a', skipped: 'a deploy is in progress (push of abc1234 by bob)' });
  held.unlock();
  assert.equal((await setConfig(w.alice, 'a', { set: { K: 'v' } }, w.progress)).release, 2);
});

test('apps:unlock stops a rollout in flight through the same lock and clears it', async (t) => {
  const w = world(t);
  released(w, 'succeeded');
  let started!: () => void;
  const running = new Promise<void>((resolve) => { started = resolve; });
  w.deployer.rollout.deploy = (_release, opts) => {
    started();
    const { signal } = opts as unknown as { signal: AbortSignal };
    return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  };
  const change = setConfig(w.alice, 'a', { set: { K: 'v' } }, w.progress);
  await running;
  assert.equal(w.services.store.apps.get('a')?.lock?.owner, 'config:set by alice');
  assert.equal(breakLock(w.services, 'a', 'carol'), true);
  await assert.rejects(change, /apps:unlock by carol/);
  assert.deepEqual(w.services.store.config.all('a'), {}, 'the change was taken back');
  assert.equal(w.services.store.apps.get('a')?.lock, null);
  assert.equal(breakLock(w.services, 'a', 'carol'), false);
});

test('rollback with no version picks rollbackTarget: the newest earlier release that deployed and keeps its image', async (t) => {
  const w = world(t);
  released(w, 'succeeded', { V: '1' });
  released(w, 'succeeded', { V: '2' });
  released(w, 'failed', { V: '3' });
  released(w, 'succeeded', { V: '4' });
  w.services.store.releases.markCollected('a', [2]);
  const r = await rollback(w.alice, 'a', {}, w.progress);
  assert.deepEqual(r, { target: 1, release: 5 });
  assert.deepEqual(w.services.store.config.all('a'), { V: '1' }, 'the config it ran with is back');
  assert.deepEqual(w.deployer.rollout.lockOwners, ['rollback by alice']);
  await assert.rejects(rollback(w.alice, 'a', { version: 2 }, w.progress), /^UserError: v2's image was removed by garbage collection/);
  await assert.rejects(rollback(w.alice, 'a', { version: 5 }, w.progress), /^UserError: v5 is what a runs already\.$/);
});

test('domains and certs go through the same store/re-apply/undo step', async (t) => {
  const w = world(t, { SLIPWAY_ACME_EMAIL: 'ops@example.com' });
  released(w, 'succeeded');
  assert.deepEqual(await addDomain(w.alice, 'a', 'www.example.com', w.progress), { host: 'www.example.com' });
  assert.deepEqual(await setAutoCerts(w.alice, 'a', false, w.progress), { auto: false });
  assert.deepEqual(w.deployer.rollout.lockOwners, ['domains:add by alice', 'certs:auto:disable by alice']);
  assert.deepEqual(w.deployer.rollout.deployed.at(-1)?.domains, ['a.apps.test', 'www.example.com']);
  w.controls.deployFailure = 'the ingress refused';
  await assert.rejects(addDomain(w.alice, 'a', 'api.example.com', w.progress), /the ingress refused/);
  await assert.rejects(setAutoCerts(w.alice, 'a', true, w.progress), /the ingress refused/);
  assert.deepEqual(w.services.store.domains.list('a'), ['www.example.com'], 'the failed domain was taken back');
  assert.equal(w.services.store.certs.auto('a'), false, 'the failed certs change was taken back');
});

test('scale refuses what the app does not run and what its quota cannot hold, storing nothing', async (t) => {
  // web=2 needs 4 pods: the new set of web instances starts beside the serving one (cutover).
  const w = world(t, { SLIPWAY_APP_MAX_PODS: '4' });
  released(w, 'succeeded');
  await assert.rejects(scale(w.alice, 'a', { worker: 1 }, w.progress), /^UserError: There is no "worker" process type; this app has web\.$/);
  await assert.rejects(scale(w.alice, 'a', { web: 1.5 }, w.progress), /whole number of instances/);
  await assert.rejects(scale(w.alice, 'a', { web: 5 }, w.progress), /quota/);
  assert.deepEqual(w.services.store.formation.all('a'), {});
  assert.deepEqual(await scale(w.alice, 'a', { web: 2 }, w.progress), { formation: { web: 2 }, stopped: [] });
  assert.equal(w.deployer.rollout.deployed.at(-1)?.formation.web, 2);
});

test('access: a key sees only apps it was granted, without learning whether others exist; admin operations refuse others', (t) => {
  const w = world(t);
  const bob: Actor = { identity: { name: 'bob', admin: false, via: 'ssh' }, services: w.services };
  assert.throws(() => authorizeApp(bob, 'a'), (e: unknown) => e instanceof NotFoundError && e.message === 'App "a" does not exist, or your key has no access to it.');
  assert.throws(() => authorizeApp(w.alice, 'nope'), /^NotFoundError: App "nope" does not exist\.$/);
  assert.throws(() => authorizeApp(w.alice, 'Bad_Name'), /is not a valid app name/);
  assert.equal(authorizeApp(w.alice, 'a'), 'a');
  assert.throws(() => requireAdmin(bob, 'Only admins may run gc.'), (e: unknown) => e instanceof ForbiddenError && e.message === 'Only admins may run gc.');
});

test('appInfo gives the URL appUrl decides: https once the default host\'s certificate is issued', async (t) => {
  const w = world(t, { SLIPWAY_ACME_EMAIL: 'ops@example.com' });
  released(w, 'succeeded');
  assert.equal((await appInfo(w.alice, 'a')).url, 'http://a.apps.test');
  w.controls.certificatesIssued = true;
  assert.equal((await appInfo(w.alice, 'a')).url, 'https://a.apps.test');
});
