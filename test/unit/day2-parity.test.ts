// Issue 13's pure pieces: release metadata in the environment, resources, HTTP probes, the
// release pod, quantities, app.json health checks, OOMKilled in pod states and the readiness verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment, V1Pod, CoreV1Event } from '../../server/kube/types.ts';
import type { DeployableRelease } from '../../server/model.ts';
import { releaseObjects } from '../../server/deploy/objects.ts';
import { releaseCommand, releasePodObject } from '../../server/deploy/workload.ts';
import { cpuQuantity, memoryQuantity, quantityValue } from '../../server/kube/quantity.ts';
import { parseAppJson } from '../../server/ops/apps/app-json.ts';
import { mergeChecks, resolveResources } from '../../server/ops/releases/release.ts';
import { podState, readinessFailure } from '../../server/deploy/rollout.ts';
import { UserError } from '../../server/errors.ts';

const release: DeployableRelease = {
  app: 'myapp', version: 4, commit: 'c0ffee'.padEnd(40, '0'),
  image: 'registry.test/myapp@sha256:' + 'a'.repeat(64),
  processes: [
    { type: 'web', command: ['web'], args: [], default: true },
    { type: 'worker', command: ['worker'], args: [], default: false },
    { type: 'release', command: ['release'], args: [], default: false },
  ],
  config: { SLIPWAY_APP: 'user-wins' },
  formation: {},
  domains: ['myapp.apps.test'],
  resources: { web: { limits: { memory: '512Mi', cpu: '1' }, requests: { memory: '256Mi' } } },
  checks: { web: [{ type: 'readiness', path: '/healthz', attempts: 2, wait: 1 }, { type: 'liveness', path: '/live', initialDelay: 10 }] },
};
const deployment = (type: string) => releaseObjects(release).find((o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === type) as V1Deployment | undefined;
const container = (type: string) => deployment(type)!.spec!.template.spec!.containers[0]!;

test('every process sees DYNO, SOURCE_VERSION, SLIPWAY_RELEASE, SLIPWAY_APP, SLIPWAY_PROCESS; a config var of the same name wins', () => {
  assert.deepEqual(container('worker').env?.filter((e) => !e.name.startsWith('KUBERNETES_')), [
    { name: 'PORT', value: '5000' },
    { name: 'DYNO', value: 'worker.1' },
    { name: 'SOURCE_VERSION', value: release.commit },
    { name: 'SLIPWAY_RELEASE', value: 'v4' },
    { name: 'SLIPWAY_PROCESS', value: 'worker' },
  ], 'SLIPWAY_APP is a config var here, so it comes from the Secret (envFrom) alone');
  const noCommit = releaseObjects({ ...release, commit: null }).find((o) => o.kind === 'Deployment') as V1Deployment;
  assert.ok(!noCommit.spec!.template.spec!.containers[0]!.env!.some((e) => e.name === 'SOURCE_VERSION'), 'no commit, no SOURCE_VERSION');
  assert.equal(container('web').env?.find((e) => e.name === 'DYNO')?.value, 'web.1');
  const own = releaseObjects({ ...release, config: { DYNO: 'mine' } }).find((o) => o.kind === 'Deployment') as V1Deployment;
  assert.ok(!own.spec!.template.spec!.containers[0]!.env!.some((e) => e.name === 'DYNO'), 'a DYNO config var comes from the Secret alone');
});

test('the release type is not a Deployment; its pod runs once with the new image, config, metadata and a deadline', () => {
  assert.equal(deployment('release'), undefined);
  const pod = releasePodObject(release, release.processes[2]!, 600);
  assert.equal(pod.metadata.name, 'release-v4');
  assert.equal(pod.spec!.restartPolicy, 'Never');
  assert.equal(pod.spec!.activeDeadlineSeconds, 600);
  assert.equal(pod.spec!.terminationGracePeriodSeconds, 3, 'stopped promptly at the deadline');
  const c = pod.spec!.containers[0]!;
  // The pod waits; the command runs in it over exec.
  assert.deepEqual([c.image, c.command], [release.image, ['sleep', '600']]);
  assert.deepEqual(releaseCommand(release.processes[2]!), ['/cnb/process/release']);
  assert.deepEqual(c.envFrom, [{ secretRef: { name: 'env-v4' } }]);
  assert.ok(c.env!.some((e) => e.name === 'SLIPWAY_PROCESS' && e.value === 'release'));
  assert.ok(c.env!.some((e) => e.name === 'DYNO' && e.value === 'release.1'));
  assert.equal(pod.metadata.labels!['slipway/release'], '4');
});

test('limits and requests become the container resources; types without settings get none', () => {
  assert.deepEqual(container('web').resources, { limits: { memory: '512Mi', cpu: '1' }, requests: { memory: '256Mi' } });
  assert.equal(container('worker').resources, undefined);
});

test("a type's own resource settings win over the app's defaults, field by field", () => {
  const rows = [
    { process: '*', kind: 'limit' as const, memory: '1Gi', cpu: '2' },
    { process: 'web', kind: 'limit' as const, memory: '512Mi', cpu: null },
    { process: '*', kind: 'reserve' as const, memory: null, cpu: '100m' },
  ];
  assert.deepEqual(resolveResources(rows, ['web', 'worker']), {
    web: { limits: { memory: '512Mi', cpu: '2' }, requests: { cpu: '100m' } },
    worker: { limits: { memory: '1Gi', cpu: '2' }, requests: { cpu: '100m' } },
  });
});

test('HTTP checks become probes; web without a readiness check keeps the TCP one', () => {
  const web = container('web');
  assert.deepEqual(web.readinessProbe, { httpGet: { path: '/healthz', port: 'http' }, timeoutSeconds: 1, periodSeconds: 1, failureThreshold: 2 });
  assert.deepEqual(web.livenessProbe, { httpGet: { path: '/live', port: 'http' }, initialDelaySeconds: 10, timeoutSeconds: 1, periodSeconds: 2, failureThreshold: 3 });
  assert.equal(web.startupProbe, undefined);
  const plain = releaseObjects({ ...release, checks: {} }).find((o) => o.kind === 'Deployment') as V1Deployment;
  assert.deepEqual(plain.spec!.template.spec!.containers[0]!.readinessProbe, { tcpSocket: { port: 'http' }, periodSeconds: 1, failureThreshold: 3 });
  assert.equal(container('worker').readinessProbe, undefined);
});

test('checks:set replaces the release check of the same type and keeps the others', () => {
  assert.deepEqual(mergeChecks(release.checks!, { web: [{ type: 'readiness', path: '/ready' }], worker: [{ type: 'liveness', path: '/', port: 9000 }] }), {
    web: [{ type: 'liveness', path: '/live', initialDelay: 10 }, { type: 'readiness', path: '/ready' }],
    worker: [{ type: 'liveness', path: '/', port: 9000 }],
  });
});

test('quantities follow the Kubernetes syntax; bad ones get one sentence', () => {
  assert.equal(quantityValue('512Mi'), 512 * 2 ** 20);
  assert.equal(quantityValue('1.5'), 1.5);
  assert.equal(quantityValue('250m'), 0.25);
  assert.equal(quantityValue('1e3'), 1000);
  assert.ok(Number.isNaN(quantityValue('-1')));
  assert.equal(memoryQuantity('1Gi'), '1Gi');
  assert.equal(cpuQuantity('500m'), '500m');
  assert.equal(cpuQuantity('2'), '2');
  const bad: [() => string, RegExp][] = [
    [() => memoryQuantity('512MB'), /^"512MB" is not a memory size; write it as Kubernetes does, for example 512Mi or 1Gi\.$/],
    [() => memoryQuantity('512m'), /^"512m" means 512 thousandths of a byte; for megabytes write 512Mi\.$/],
    [() => memoryQuantity('1Ki'), /too little memory/],
    [() => memoryQuantity('1 Gi'), /not a memory size/],
    [() => cpuQuantity('1Gi'), /^"1Gi" is not a CPU amount/],
    [() => cpuQuantity('0.0001'), /less than the smallest CPU amount, 1m/],
    [() => cpuQuantity('-1'), /not a CPU amount/],
    [() => cpuQuantity('$(id)'), /not a CPU amount/],
  ];
  for (const [fn, re] of bad) assert.throws(fn, (e: unknown) => e instanceof UserError && re.test(e.message));
});

test("app.json healthchecks in Dokku's shape are parsed strictly", () => {
  assert.deepEqual(parseAppJson(undefined).checks, {});
  assert.deepEqual(parseAppJson('{"name":"x"}').checks, {});
  assert.deepEqual(parseAppJson(JSON.stringify({ healthchecks: { web: [{ type: 'startup', path: '/up', port: 5000, initialDelay: 1, timeout: 2, attempts: 3, wait: 4, name: 'ignored' }] } })).checks, {
    web: [{ type: 'startup', path: '/up', port: 5000, initialDelay: 1, timeout: 2, attempts: 3, wait: 4 }],
  });
  const bad: [string, RegExp][] = [
    ['{', /^Push rejected: app\.json line 1, column 2: /],
    ['[]', /must hold a JSON object/],
    ['{"healthchecks":{"web":{}}}', /healthchecks\.web must be a list/],
    ['{"healthchecks":{"web":[{"type":"tcp"}]}}', /healthchecks\.web\[0\]: the check type must be startup, liveness or readiness, not "tcp"/],
    ['{"healthchecks":{"web":[{"path":"healthz"}]}}', /the path must start with \//],
    ['{"healthchecks":{"web":[{"path":"/","attempts":0}]}}', /attempts must be a whole number from 1 to 100/],
    ['{"healthchecks":{"web":[{"path":"/"},{"path":"/x"}]}}', /more than one readiness check/],
    ['{"healthchecks":{"worker":[{"path":"/"}]}}', /a check of a process other than web needs a port/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseAppJson(text), (e: unknown) => e instanceof UserError && re.test(e.message), text);
});

const pod = (cs: object, name = 'web-abc-1'): V1Pod => ({
  metadata: { name, labels: { 'app.kubernetes.io/component': 'web', 'slipway/release': '4' } },
  status: { phase: 'Running', containerStatuses: [cs as never] },
});

test('an instance killed for memory says OOMKilled in ps and in rollout reasons', () => {
  const oomLoop = pod({ ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } });
  assert.equal(podState(oomLoop).state, 'CrashLoopBackOff (OOMKilled, exit code 137)');
  assert.equal(podState(oomLoop).fatal, 'CrashLoopBackOff (OOMKilled, exit code 137)');
  const restarted = pod({ ready: true, restartCount: 1, state: { running: { startedAt: new Date() } }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } });
  assert.equal(podState(restarted).state, 'Running (restarted after OOMKilled)');
  const plainCrash = pod({ ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { reason: 'Error', exitCode: 1 } } });
  assert.equal(podState(plainCrash).state, 'CrashLoopBackOff (exit code 1)');
});

test('a readiness check failing past its budget fails the rollout with the kubelet message', () => {
  const startedAt = new Date(0);
  const p = pod({ ready: false, restartCount: 0, state: { running: { startedAt } } });
  const event: CoreV1Event = {
    metadata: {}, involvedObject: { name: 'web-abc-1' }, reason: 'Unhealthy', type: 'Warning',
    message: 'Readiness probe failed: HTTP probe failed with statuscode: 500', lastTimestamp: new Date(5000),
  };
  const checks = { web: [{ type: 'readiness' as const, path: '/healthz', attempts: 2, wait: 1 }] };
  // Budget: 2 attempts × (1 s wait + 1 s timeout) + 2 s = 6 s.
  assert.equal(readinessFailure([p], [event], checks, 5000), null, 'still within the budget');
  assert.equal(readinessFailure([p], [event], checks, 7000), 'web instance web-abc-1 failed its readiness check (GET /healthz): Readiness probe failed: HTTP probe failed with statuscode: 500');
  assert.equal(readinessFailure([p], [], checks, 7000), null, 'no probe failure seen yet');
  assert.equal(readinessFailure([p], [event], {}, 7000), null, 'no declared check: the rollout deadline decides');
  // An instance still starting (its port refuses connections) has the boot timeout, Heroku's 60 s.
  const refused = { ...event, message: 'Readiness probe failed: Get "http://10.42.0.93:5000/healthz": dial tcp 10.42.0.93:5000: connect: connection refused' };
  assert.equal(readinessFailure([p], [refused], checks, 7000), null, 'not listening yet: still starting');
  assert.equal(readinessFailure([p], [refused], checks, 60_000), `web instance web-abc-1 failed its readiness check (GET /healthz): ${refused.message}`);
});
