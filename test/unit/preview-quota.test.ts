// Issue 35, items 7 and 8 as pure functions: a preview's quota is its share of its parent's, never
// above it and, all previews together, never above it either; every app container's scratch disk
// is bounded (the LimitRange) and counted (the ResourceQuota); no app pod has an unbounded emptyDir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeployableRelease, QuotaPlan } from '../../server/model.ts';
import { PREVIEW_ROOM, limitRangeObject, previewPlan, quotaRefusal, releaseDemand, resourceQuotaObject, storageQuantity } from '../../server/deploy/quota.ts';
import { cronJobObject, deploymentObject, releasePodObject, runPodObject } from '../../server/deploy/workload.ts';
import { quantityValue } from '../../server/kube/quantity.ts';
import { quotaPlan } from '../../server/ops/releases/release.ts';
import { loadConfig } from '../../server/config.ts';
import { openStore } from '../../server/store/index.ts';

const config = loadConfig({ SLIPWAY_DATA_DIR: '/tmp/x', SLIPWAY_HOST: 'h', SLIPWAY_BASE_DOMAIN: 'apps.test' });

/** The platform's defaults with an admin's quota of 4 pods and 1 GiB, as in the issue. */
const parent: QuotaPlan = {
  quota: { pods: 4, memory: '1Gi', cpu: '4', ephemeralStorage: '4Gi' },
  storage: { volumes: 5, size: '20Gi' },
  runs: 2,
  container: { limits: { memory: '256Mi', cpu: '500m' }, requests: { memory: '128Mi', cpu: '50m' }, ephemeralStorage: { limit: '1Gi', request: '64Mi' } },
};

const web = { type: 'web', command: ['web'], args: [], default: true };
const preview = (plan: QuotaPlan, over: Partial<DeployableRelease> = {}): DeployableRelease => ({
  app: 'shop--login', version: 1, image: '127.0.0.1:5000/slipway/shop--login@sha256:' + 'a'.repeat(64),
  processes: [web], config: {}, formation: {}, domains: ['shop--login.apps.test'], quota: plan, ...over,
});

/** Each field of the quota a plan gives, as numbers (bytes, cores, pods). */
const sizes = (p: QuotaPlan) => ({
  pods: p.quota.pods, memory: quantityValue(p.quota.memory), cpu: quantityValue(p.quota.cpu),
  disk: quantityValue(p.quota.ephemeralStorage ?? '0'), volumes: p.storage?.volumes ?? 0, storage: quantityValue(p.storage?.size ?? '0'),
});

test("a preview's quota is its parent's divided by previews:limit, each field rounded down", () => {
  const two = previewPlan(parent, 'shop', 2);
  assert.deepEqual(two.quota, { pods: 2, memory: '512Mi', cpu: '2', ephemeralStorage: '2Gi' });
  assert.deepEqual(two.storage, { volumes: 2, size: '10Gi' });
  assert.deepEqual(two.share, { parent: 'shop', previews: 2 });
  // Room for the two containers a preview's web instance needs while it rolls out: the defaults stay.
  assert.deepEqual(two.container, parent.container);
  // The five previews: 0 pods each (4 / 5), 204Mi, 800m.
  const five = previewPlan(parent, 'shop', 5);
  assert.deepEqual(five.quota, { pods: 0, memory: '204Mi', cpu: '800m', ephemeralStorage: '819Mi' });
  // Containers get what PREVIEW_ROOM of them fit in the share, requests kept under their limits.
  assert.equal(PREVIEW_ROOM, 2);
  assert.deepEqual(five.container, { limits: { memory: '102Mi', cpu: '400m' }, requests: { memory: '102Mi', cpu: '50m' }, ephemeralStorage: { limit: '409Mi', request: '64Mi' } });
  // previews:limit 0 allows none (the reconciler removes them all): no division by zero meanwhile.
  assert.deepEqual(previewPlan(parent, 'shop', 0).quota, parent.quota);
});

test('no preview gets more than its parent, and all of them together never more than the parent\'s quota', () => {
  const plans: QuotaPlan[] = [
    parent,
    { ...parent, quota: { pods: 10, memory: '2Gi', cpu: '4', ephemeralStorage: '10Gi' } },
    { ...parent, quota: { pods: 7, memory: '1000M', cpu: '1500m', ephemeralStorage: '3G' } },
    { ...parent, quota: { pods: 500, memory: '64Gi', cpu: '0.3' } },
  ];
  for (const p of plans) {
    const whole = sizes(p);
    for (let n = 1; n <= 50; n++) {
      const each = sizes(previewPlan(p, 'shop', n));
      for (const field of Object.keys(whole) as (keyof typeof whole)[]) {
        assert.ok(each[field] <= whole[field], `${field} of 1/${n} of ${JSON.stringify(p.quota)}`);
        assert.ok(n * each[field] <= whole[field] + 1e-6, `${n} previews' ${field} together, of ${JSON.stringify(p.quota)}`);
      }
      const c = previewPlan(p, 'shop', n).container;
      for (const field of ['memory', 'cpu'] as const) {
        assert.ok(quantityValue(c.limits[field]) <= quantityValue(p.container.limits[field]));
        assert.ok(quantityValue(c.requests[field]) <= quantityValue(c.limits[field]));
      }
    }
  }
});

test("a preview whose share cannot hold its web instance and its replacement is refused in one sentence naming the parent's quota and previews:limit", () => {
  assert.equal(quotaRefusal(preview(previewPlan(parent, 'shop', 2)), previewPlan(parent, 'shop', 2)), undefined);
  assert.equal(quotaRefusal(preview(previewPlan(parent, 'shop', 5)), previewPlan(parent, 'shop', 5)),
    "shop--login at web=1 needs 2 pods (counting a second set of web instances and one extra pod per other process type while it rolls out), above its quota of 0 pods (1/5 of shop's quota, previews:limit shop); scale down, lower its limits or lower previews:limit shop.");
  // Its own limits cannot take it above its share either.
  const share = previewPlan(parent, 'shop', 2);
  assert.match(quotaRefusal(preview(share, { resources: { web: { limits: { memory: '1Gi' } } } }), share)!, /needs 2Gi of memory limits .* above its quota of 512Mi of memory \(1\/2 of shop's quota, previews:limit shop\)/);
});

test("quotaPlan gives a preview its share of the parent's quota as it is now: the admin's setting, then previews:limit", () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-previewquota-'));
  const store = openStore(join(dir, 'db'));
  try {
    const services = { config, store };
    store.apps.create('shop');
    assert.equal(store.previews.create('shop--login', 'shop', 'login', 5), 'ok');
    // Before any admin setting: the platform's 10 pods / 2Gi / 4 CPU, over the default limit of 5.
    assert.deepEqual(quotaPlan(services, 'shop').quota, { pods: 10, memory: '2Gi', cpu: '4', ephemeralStorage: '10Gi' });
    assert.deepEqual(quotaPlan(services, 'shop--login').quota, { pods: 2, memory: '409Mi', cpu: '800m', ephemeralStorage: '2Gi' });
    // The attack: an admin limits the parent; before, each preview kept the platform's 10 pods / 2Gi / 4 CPU.
    store.quotas.set('shop', { pods: 4, memory: '1Gi' }, 'admin');
    store.previews.configure('shop', { maxPreviews: 2 });
    const p = quotaPlan(services, 'shop--login');
    assert.deepEqual(p.quota, { pods: 2, memory: '512Mi', cpu: '2', ephemeralStorage: '2Gi' });
    assert.deepEqual(p.share, { parent: 'shop', previews: 2 });
    for (const [field, value] of Object.entries(sizes(p))) assert.ok(value <= sizes(quotaPlan(services, 'shop'))[field as 'pods'], field);
    // A change about to be stored (resource:quota's check) is planned with the new values.
    assert.deepEqual(quotaPlan(services, 'shop', { pods: 6 }).quota, { pods: 6, memory: '1Gi', cpu: '4', ephemeralStorage: '6Gi' });
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("every container's scratch disk is limited by the LimitRange and counted by the ResourceQuota (issue 35, item 8)", () => {
  const hard = resourceQuotaObject('shop', parent).spec!.hard;
  assert.deepEqual(hard, { pods: '4', 'limits.memory': '1Gi', 'limits.cpu': '4', 'requests.ephemeral-storage': '4Gi', 'limits.ephemeral-storage': '4Gi', persistentvolumeclaims: '5', 'requests.storage': '20Gi' });
  assert.deepEqual(JSON.parse(JSON.stringify(limitRangeObject('shop', parent).spec)), {
    limits: [{ type: 'Container', _default: { memory: '256Mi', cpu: '500m', 'ephemeral-storage': '1Gi' }, defaultRequest: { memory: '128Mi', cpu: '50m', 'ephemeral-storage': '64Mi' } }],
  });
  // The platform's settings: the container's limit and request, and the app's sum (unset: the limit times its pods).
  const plan = quotaPlan({ config, store: { quotas: { get: () => undefined }, previews: { get: () => undefined } } as never }, 'shop');
  assert.deepEqual([plan.quota.ephemeralStorage, plan.container.ephemeralStorage], ['10Gi', { limit: '1Gi', request: '64Mi' }]);
  const set = loadConfig({ SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_LIMIT: '100Mi', SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_REQUEST: '10Mi', SLIPWAY_APP_MAX_EPHEMERAL_STORAGE: '2Gi' });
  assert.deepEqual([set.containerDefaults.ephemeralStorage, set.appMaxEphemeralStorage], [{ limit: '100Mi', request: '10Mi' }, '2Gi']);
  assert.throws(() => loadConfig({ SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_REQUEST: '2Gi' }), /SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_REQUEST \(2Gi\) may not be above SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_LIMIT \(1Gi\)\./);
  assert.throws(() => loadConfig({ SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_LIMIT: '1GB' }), /SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_LIMIT must be a storage size like 512Mi, 10Gi or 1Ti, got "1GB"\./);
  assert.throws(() => loadConfig({ SLIPWAY_APP_MAX_EPHEMERAL_STORAGE: 'lots' }), /SLIPWAY_APP_MAX_EPHEMERAL_STORAGE must be a storage size/);
  // A formation whose scratch disk the app's sum cannot hold is refused before anything runs.
  const small = { ...parent, quota: { ...parent.quota, pods: 20, memory: '8Gi', ephemeralStorage: '3Gi' } };
  assert.equal(releaseDemand(preview(small), small).disk, 2 * 2 ** 30);
  assert.match(quotaRefusal(preview(small, { formation: { web: 2 } }), small)!, /needs 4Gi of scratch disk limits .* above its quota of 3Gi of scratch disk \(resource:quota shop--login\)/);
  assert.equal(storageQuantity(10 * 2 ** 30), '10Gi');
  assert.equal(storageQuantity(1.5 * 2 ** 30), '1536Mi');
});

test('no pod Slipway makes in an app namespace has an emptyDir without a size limit', () => {
  const r = preview(parent, {
    processes: [web, { type: 'release', command: ['migrate'], args: [], default: false }],
    mounts: { web: [{ volume: 'data', path: '/data' }], run: [{ volume: 'data', path: '/data' }] },
    volumes: [{ name: 'data', size: '1Gi' }],
  });
  const specs = [
    deploymentObject(r, web).spec!.template.spec!,
    releasePodObject(r, r.processes[1]!, 60).spec!,
    runPodObject(r, { name: 'run-bcdfg', command: ['sh'], deadlineSeconds: 60, mode: 'detached' }).spec!,
    cronJobObject(r, { id: 'nightly', schedule: '0 3 * * *', command: 'echo', concurrencyPolicy: 'forbid', suspended: false }, 60).spec!.jobTemplate.spec!.template.spec!,
  ];
  for (const spec of specs) {
    for (const v of spec.volumes ?? []) if (v.emptyDir) assert.ok(v.emptyDir.sizeLimit, `emptyDir ${v.name} has no sizeLimit`);
    // Nor does any container set its own scratch disk: the namespace's LimitRange gives each one.
    for (const c of spec.containers) assert.equal(c.resources?.limits?.['ephemeral-storage'], undefined);
  }
});
