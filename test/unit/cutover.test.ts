// Atomic cutover as pure functions: which objects a release's web instances become, how a
// rollback names the instances it runs, and how the switch reads EndpointSlices and Traefik's API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment, V1EndpointSlice, V1Pod, V1Service } from '../../server/kube/types.ts';
import type { DeployableRelease } from '../../server/model.ts';
import { releaseObjects } from '../../server/deploy/objects.ts';
import { ANNOTATION, LABEL } from '../../server/kube/labels.ts';
import { cutover, runView, warmPatch, webSetName } from '../../server/deploy/workload.ts';
import { readyPodAddresses, sameAddresses, sliceAddresses, traefikServers, traefikServiceName } from '../../server/deploy/ingress-sync.ts';
import { rolloutState } from '../../server/deploy/rollout.ts';
import { drift } from '../../server/ops/admin/reconcile.ts';
import { loadConfig } from '../../server/config.ts';

const release: DeployableRelease = {
  app: 'shop',
  version: 9,
  image: '127.0.0.1:5000/slipway/shop@sha256:' + 'b'.repeat(64),
  processes: [
    { type: 'web', command: ['web'], args: [], default: true },
    { type: 'worker', command: ['worker'], args: [], default: false },
  ],
  config: { GREETING: 'hi' },
  formation: { web: 2, worker: 1 },
  domains: ['shop.apps.test'],
};

const kinds = (r: DeployableRelease, serving?: number) => releaseObjects(r, {}, new Set(), serving);
const deployments = (r: DeployableRelease) => kinds(r).filter((o) => o.kind === 'Deployment') as (V1Deployment & { metadata: { name: string } })[];

test('web runs as its release\'s own set (web-vN) and the worker as its one Deployment; a mounted web is replaced as before', () => {
  assert.ok(cutover(release));
  assert.deepEqual(deployments(release).map((d) => d.metadata.name), ['web-v9', 'worker']);
  const [web] = deployments(release);
  assert.equal(web!.metadata.annotations?.[ANNOTATION.processType], 'web');
  assert.equal(rolloutState(web!).name, 'web', 'the set is counted as the web type');
  const mounted = { ...release, mounts: { web: [{ volume: 'data', path: '/data' }] } };
  assert.ok(!cutover(mounted));
  assert.deepEqual(deployments(mounted).map((d) => d.metadata.name), ['web', 'worker']);
  const svc = kinds(mounted).find((o) => o.kind === 'Service') as V1Service;
  assert.equal(svc.spec?.selector?.[LABEL.release], undefined, 'a replaced web has one set: the Service selects it whatever its release');
  assert.ok(!cutover({ ...release, processes: release.processes.slice(1) }), 'no web, nothing to switch');
});

test('the Service stays on the serving release until the switch moves it', () => {
  const svc = (serving?: number) => (kinds({ ...release, version: 10 }, serving).find((o) => o.kind === 'Service') as V1Service).spec?.selector;
  assert.equal(svc(9)?.[LABEL.release], '9');
  assert.equal(svc()?.[LABEL.release], '10');
});

test('a rollback runs its target\'s instances: the same set, Secret and pod template', () => {
  const target = { ...release, version: 4 };
  const rollback = { ...release, version: 11, runsAs: 4 };
  assert.deepEqual(kinds(runView(rollback)), kinds(target));
  assert.equal(runView(release), release, 'a release runs its own instances');
  assert.equal(runView({ ...release, runsAs: 9 }).version, 9);
});

test('a warm mark is its own field manager\'s label and annotation; without a time it owns nothing', () => {
  const on = warmPatch('shop', 8, '2026-12-03T12:00:00.000Z');
  assert.equal(on.metadata.name, webSetName(8));
  assert.deepEqual(on.metadata.labels, { [LABEL.warm]: 'true' });
  assert.deepEqual(on.metadata.annotations, { [ANNOTATION.warmUntil]: '2026-12-03T12:00:00.000Z' });
  const off = warmPatch('shop', 8, null);
  assert.equal(off.metadata.labels, undefined);
  assert.equal(off.metadata.annotations, undefined);
});

test('the switch is done when the EndpointSlices and Traefik list exactly the new set\'s ready pods', () => {
  const pod = (ip: string, ready: boolean, terminating = false): V1Pod => ({
    metadata: { name: ip, ...(terminating ? { deletionTimestamp: new Date() } : {}) },
    status: { podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const want = readyPodAddresses([pod('10.0.0.5', true), pod('10.0.0.6', true), pod('10.0.0.7', false), pod('10.0.0.8', true, true)]);
  assert.deepEqual([...want].sort(), ['10.0.0.5', '10.0.0.6']);
  const slice = (eps: [string, boolean, boolean?][]): V1EndpointSlice => ({
    addressType: 'IPv4', endpoints: eps.map(([a, ready, terminating]) => ({ addresses: [a], conditions: { ready, terminating: terminating ?? false } })),
  });
  assert.ok(!sameAddresses(want, sliceAddresses([slice([['10.0.0.5', true], ['10.0.0.1', true]])])), 'an old pod still listed');
  assert.ok(sameAddresses(want, sliceAddresses([slice([['10.0.0.5', true]]), slice([['10.0.0.6', true], ['10.0.0.1', false, true]])])));
  assert.ok(!sameAddresses(new Set(), new Set()), 'no instance at all is never a switch');
  assert.equal(traefikServiceName('slipway-shop', 'web', 'http'), 'slipway-shop-web-http@kubernetes');
  // Traefik normalizes every run of other characters to one dash: a preview's `--` is one there.
  assert.equal(traefikServiceName('slipway-shop--feature-x-1a2b3c4d', 'web', 'http'), 'slipway-shop-feature-x-1a2b3c4d-web-http@kubernetes');
  const answer = { loadBalancer: { servers: [{ url: 'http://10.0.0.5:5000' }, { url: 'http://10.0.0.6:5000' }, { url: 'http://10.0.0.1:5000', fenced: true }] } };
  assert.ok(sameAddresses(want, traefikServers(answer)), 'a fenced (terminating) server takes no new request');
  assert.ok(!sameAddresses(want, traefikServers({ loadBalancer: { servers: [{ url: 'http://10.0.0.5:5000' }, { url: 'http://10.0.0.1:5000' }] } })));
  assert.equal(traefikServers(null).size, 0);
  assert.equal(traefikServers({ loadBalancer: { servers: [{ url: 'not a url' }, { url: 5 }] } }).size, 0);
});

test('start-up compares a rollback with the instances of its target', () => {
  const expected = { ...release, version: 11, runsAs: 4 };
  assert.equal(drift(expected, [{ process: 'web', release: 4, replicas: 2 }, { process: 'worker', release: 4, replicas: 1 }]), undefined);
  assert.match(drift(expected, [{ process: 'web', release: 11, replicas: 2 }, { process: 'worker', release: 4, replicas: 1 }])!, /web runs v11, the database says v4/);
});

test('SLIPWAY_INGRESS_API is an http address or a proxy path on the API server; anything else is one sentence', () => {
  assert.equal(loadConfig({ SLIPWAY_INGRESS_API: 'http://127.0.0.1:8082/' }).ingressApi, 'http://127.0.0.1:8082');
  const path = '/api/v1/namespaces/kube-system/services/slipway-traefik-api:9000/proxy';
  assert.equal(loadConfig({ SLIPWAY_INGRESS_API: path }).ingressApi, path);
  assert.equal(loadConfig({ SLIPWAY_INGRESS_API: '' }).ingressApi, undefined);
  for (const bad of ['/etc/passwd', '/api/v1/namespaces/kube-system/secrets/x/proxy', 'ftp://x', '/api/v1/namespaces/kube-system/services/a/proxy/../../secrets']) {
    assert.throws(() => loadConfig({ SLIPWAY_INGRESS_API: bad }), /^UserError: SLIPWAY_INGRESS_API must be an http:\/\/ address or an API server proxy path like \/api\/v1\/namespaces\/kube-system\/services\/slipway-traefik-api:9000\/proxy, got /);
  }
});
