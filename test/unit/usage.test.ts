// PodMetrics (metrics.k8s.io) into each process type's pods: the quantities metrics-server
// writes, pods matched to their Deployment by the process label, web first.
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

test('processUsage groups pods under their Deployment\'s process type, sums containers, web first', () => {
  const deployment = (name: string, type?: string) => ({ metadata: { name, ...(type ? { annotations: { 'slipway/process-type': type } } : {}) } });
  const pod = (name: string, process: string, containers: { cpu: string; memory: string }[]) =>
    ({ metadata: { name, labels: { 'app.kubernetes.io/component': process } }, containers: containers.map((usage, i) => ({ name: `c${i}`, usage })) });
  const out = processUsage(
    [deployment('worker'), deployment('my-job-abc123', 'my_job'), deployment('web')],
    [
      pod('web-2', 'web', [{ cpu: '1500000n', memory: '10Mi' }]),
      pod('web-1', 'web', [{ cpu: '2000000n', memory: '8192Ki' }, { cpu: '500000n', memory: '2Mi' }]),
      pod('my-job-abc123-1', 'my-job-abc123', [{ cpu: '0', memory: 'garbage' }]),
      pod('other', 'elsewhere', [{ cpu: '1', memory: '1Gi' }]),
    ],
  );
  assert.deepEqual(out, [
    { type: 'web', pods: [
      { name: 'web-1', process: 'web', cpuMillicores: 3, memoryBytes: 10 * 2 ** 20 },
      { name: 'web-2', process: 'web', cpuMillicores: 2, memoryBytes: 10 * 2 ** 20 },
    ] },
    { type: 'my_job', pods: [{ name: 'my-job-abc123-1', process: 'my_job', cpuMillicores: 0, memoryBytes: 0 }] },
    { type: 'worker', pods: [] },
  ]);
});
