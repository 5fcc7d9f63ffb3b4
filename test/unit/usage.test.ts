// PodMetrics (metrics.k8s.io) into each process type's pods: the quantities metrics-server
// writes, pods matched to their Deployment by its selector, web first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processUsage, usageValue } from '../../server/deploy/usage.ts';

test('usageValue reads the quantities metrics-server writes: nanocores, microcores, Ki and plain bytes', () => {
  assert.equal(usageValue('123456789n'), 0.123456789);
  assert.equal(usageValue('250u'), 0.00025);
  assert.equal(usageValue('5m'), 0.005);
  assert.equal(usageValue('2'), 2);
  assert.equal(usageValue('20480Ki'), 20 * 2 ** 20);
  assert.equal(usageValue('1048576'), 2 ** 20);
  assert.ok(Number.isNaN(usageValue('lots')));
});

test('processUsage groups pods under the Deployment whose selector takes them, sums containers, web first', () => {
  const C = 'app.kubernetes.io/component';
  const R = 'slipway/release';
  const deployment = (name: string, matchLabels: Record<string, string>, type?: string) =>
    ({ metadata: { name, ...(type ? { annotations: { 'slipway/process-type': type } } : {}) }, spec: { selector: { matchLabels }, template: {} } });
  const pod = (name: string, labels: Record<string, string>, containers: { cpu: string; memory: string }[]) =>
    ({ metadata: { name, labels }, containers: containers.map((usage, i) => ({ name: `c${i}`, usage })) });
  const out = processUsage(
    [deployment('worker', { [C]: 'worker' }), deployment('my-job-abc123', { [C]: 'my-job-abc123' }, 'my_job'), deployment('web-v3', { [C]: 'web', [R]: '3' }, 'web')],
    [
      pod('web-v3-2', { [C]: 'web', [R]: '3' }, [{ cpu: '1500000n', memory: '10Mi' }]),
      pod('web-v3-1', { [C]: 'web', [R]: '3' }, [{ cpu: '2000000n', memory: '8192Ki' }, { cpu: '500000n', memory: '2Mi' }]),
      // The warm set of the release before: not this Deployment's.
      pod('web-v2-1', { [C]: 'web', [R]: '2' }, [{ cpu: '1', memory: '1Gi' }]),
      pod('my-job-abc123-1', { [C]: 'my-job-abc123', [R]: '3' }, [{ cpu: '0', memory: 'garbage' }]),
      pod('other', { [C]: 'elsewhere' }, [{ cpu: '1', memory: '1Gi' }]),
    ],
  );
  assert.deepEqual(out, [
    { type: 'web', pods: [
      { name: 'web-v3-1', process: 'web', cpuMillicores: 3, memoryBytes: 10 * 2 ** 20 },
      { name: 'web-v3-2', process: 'web', cpuMillicores: 2, memoryBytes: 10 * 2 ** 20 },
    ] },
    { type: 'my_job', pods: [{ name: 'my-job-abc123-1', process: 'my_job', cpuMillicores: 0, memoryBytes: 0 }] },
    { type: 'worker', pods: [] },
  ]);
});
