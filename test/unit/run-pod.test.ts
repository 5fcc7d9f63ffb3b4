import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeployableRelease } from '../../server/model.ts';
import { LABEL, namespaceFor } from '../../server/kube/labels.ts';
import { LAUNCHER, RUN_PROCESS, isRunPodName, runCommand, runDyno, runPodName, runPodObject } from '../../server/deploy/workload.ts';
import { parseTimeout, DEFAULT_RUN_TIMEOUT_S } from '../../server/commands/run.ts';
import { commands, parseArgs } from '../../server/commands/registry.ts';

const release: DeployableRelease = {
  app: 'myapp',
  version: 7,
  commit: 'c0ffee',
  image: '127.0.0.1:5000/slipway/myapp@sha256:' + 'a'.repeat(64),
  processes: [{ type: 'web', command: ['node', 'server.js'], args: [], default: true }],
  config: { DATABASE_URL: 'postgres://u:p@db/x', SLIPWAY_APP: 'mine' },
  formation: {},
  domains: ['myapp.apps.test'],
};

test('an interactive run pod waits in the release image with its Secret and metadata env, never restarts, has a deadline and run labels', () => {
  const pod = runPodObject(release, { name: 'run-x7k2p', command: ['node', 'scripts/seed.js'], deadlineSeconds: 3600, mode: 'interactive' });
  assert.equal(pod.metadata.name, 'run-x7k2p');
  assert.equal(pod.metadata.namespace, namespaceFor('myapp'));
  assert.equal(pod.metadata.labels?.[LABEL.instance], 'myapp');
  assert.equal(pod.metadata.labels?.[LABEL.process], RUN_PROCESS);
  assert.equal(pod.metadata.labels?.[LABEL.run], 'interactive');
  assert.equal(pod.metadata.labels?.[LABEL.release], '7');
  assert.equal(pod.spec?.restartPolicy, 'Never');
  assert.equal(pod.spec?.activeDeadlineSeconds, 3600);
  assert.equal(pod.spec?.automountServiceAccountToken, false);
  const c = pod.spec!.containers[0]!;
  assert.equal(c.name, RUN_PROCESS);
  assert.equal(c.image, release.image);
  assert.deepEqual(c.command, ['sleep', '3600']);
  assert.deepEqual(c.envFrom, [{ secretRef: { name: 'env-v7' } }]);
  // Config values never reach the spec; a config var wins over the metadata env of the same name.
  assert.doesNotMatch(JSON.stringify(pod), /postgres:/);
  assert.deepEqual(c.env?.map((e) => e.name).filter((n) => !n.startsWith('KUBERNETES_')), ['PORT', 'DYNO', 'SOURCE_VERSION', 'SLIPWAY_RELEASE', 'SLIPWAY_PROCESS']);
  assert.match(c.env!.find((e) => e.name === 'DYNO')!.value!, /^run\.\d+$/);
  assert.deepEqual(runCommand(['node', 'scripts/seed.js']), [LAUNCHER, '--', 'node', 'scripts/seed.js']);
});

test('a detached run pod runs the command itself through the launcher, its words as argument values', () => {
  const pod = runPodObject(release, { name: 'run-bbbbb', command: ['sh', '-c', 'echo $(id); exit 3'], deadlineSeconds: 60, mode: 'detached' });
  assert.deepEqual(pod.spec!.containers[0]!.command, [LAUNCHER, '--', 'sh', '-c', 'echo $(id); exit 3']);
  assert.equal(pod.metadata.labels?.[LABEL.run], 'detached');
  assert.equal(pod.spec?.activeDeadlineSeconds, 60);
});

test('run pod names are run- and five generated characters, and only those pass for one', () => {
  for (let i = 0; i < 50; i++) assert.ok(isRunPodName(runPodName()));
  assert.equal(isRunPodName('web'), false);
  assert.equal(isRunPodName('run-x7k2p,a=b'), false);
});

test("a one-off pod's DYNO is run.N, N unique to its name (Heroku's run.9157)", () => {
  assert.equal(runDyno('run-bbbbb'), 'run.1');
  assert.equal(runDyno('run-bbbbc'), 'run.2');
  assert.equal(runDyno('run-99999'), `run.${27 ** 5}`);
  const names = new Set(Array.from({ length: 200 }, () => runPodName()));
  assert.equal(new Set([...names].map(runDyno)).size, names.size, 'different pods, different DYNO');
  assert.throws(() => runDyno('web'), /not a one-off pod/);
});

test('--timeout takes seconds or m/h, up to a day', () => {
  assert.equal(parseTimeout(undefined), DEFAULT_RUN_TIMEOUT_S);
  assert.equal(parseTimeout('90'), 90);
  assert.equal(parseTimeout('10m'), 600);
  assert.equal(parseTimeout('2h'), 7200);
  assert.throws(() => parseTimeout('0'), /not a timeout/);
  assert.throws(() => parseTimeout('25h'), /not a timeout/);
  assert.throws(() => parseTimeout('1d'), /not a timeout/);
});

test('run takes the command verbatim after its first word, with or without --', () => {
  const run = commands.find((c) => c.name === 'run')!;
  assert.deepEqual(parseArgs(run, ['myapp', 'ls', '-la', '--timeout', '5']), { args: ['myapp', 'ls', '-la', '--timeout', '5'], flags: {} });
  assert.deepEqual(parseArgs(run, ['myapp', '--timeout', '5', '--', 'node', '-e', '1']), { args: ['myapp', 'node', '-e', '1'], flags: { timeout: '5' } });
  assert.throws(() => parseArgs(run, ['myapp']), /usage: run/);
  assert.throws(() => parseArgs(run, ['myapp', '--']), /usage: run/);
});
