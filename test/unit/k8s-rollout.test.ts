import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event, V1Deployment, V1Pod } from '../../server/kube/types.ts';
import { crashLines, ownedBy, podState, readyPodsOf, recentWarnings, rolloutState, whyNotReady } from '../../server/deploy/rollout.ts';
import { formatLogLine, instanceId, mergeLogs, splitLogLine } from '../../server/deploy/logs.ts';

function deployment(spec: { replicas: number; generation?: number }, status: V1Deployment['status']): V1Deployment {
  return { metadata: { name: 'web', generation: spec.generation ?? 2 }, spec: { replicas: spec.replicas, selector: {}, template: {} }, status };
}

test('rolloutState decides as kubectl rollout status does', () => {
  const unseen = rolloutState(deployment({ replicas: 2, generation: 3 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }));
  assert.equal(unseen.done, false, 'the controller has not seen the new spec yet');
  assert.match(unseen.waiting, /deployment controller/);
  const updating = rolloutState(deployment({ replicas: 2 }, { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 }));
  assert.deepEqual([updating.done, updating.waiting], [false, '1 of 2 new replicas have been updated']);
  const oldLeft = rolloutState(deployment({ replicas: 2 }, { observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 3 }));
  assert.deepEqual([oldLeft.done, oldLeft.waiting], [false, '1 old replicas are pending termination']);
  const unavailable = rolloutState(deployment({ replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1 }));
  assert.deepEqual([unavailable.done, unavailable.waiting], [false, '1 of 2 updated replicas are available']);
  assert.equal(rolloutState(deployment({ replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })).done, true);
  // Scaled to zero: nothing to wait for once the controller saw it.
  assert.equal(rolloutState(deployment({ replicas: 0 }, { observedGeneration: 2 })).done, true);
  const deadline = rolloutState(deployment({ replicas: 1 }, { observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] }));
  assert.equal(deadline.failed, 'web exceeded its progress deadline');
});

test('rolloutState counts the pods\' own readiness before the Deployment\'s status copies it, and nothing else', () => {
  // Ready in the pod list, not yet in the status (the ReplicaSet and Deployment controllers copy it a moment later).
  const lagging = deployment({ replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 0 });
  assert.deepEqual([rolloutState(lagging, 1).done, rolloutState(lagging, 1).waiting], [false, '1 of 2 updated replicas are available']);
  assert.equal(rolloutState(lagging, 2).done, true);
  assert.equal(rolloutState(lagging).done, false, 'without the pods, the status alone decides');
  // Ready pods never stand in for what only the status knows: an unseen spec, replicas not yet updated, old ones left.
  assert.equal(rolloutState(deployment({ replicas: 2, generation: 3 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2 }), 2).done, false);
  assert.equal(rolloutState(deployment({ replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 1 }), 2).done, false);
  assert.match(rolloutState(deployment({ replicas: 2 }, { observedGeneration: 2, replicas: 3, updatedReplicas: 2 }), 3).waiting, /old replicas are pending termination/);
});

test('a Deployment\'s own pods are those of its ReplicaSets; ready ones count unless terminating', () => {
  const named = (name: string): V1Deployment => ({ metadata: { name, generation: 1 }, spec: { selector: {}, template: {} } });
  const owned = (name: string, rs: string, ready: boolean, extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({
    metadata: { name, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: rs, controller: true }], ...extra },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const set = owned('web-v3-7d9f8c6b5-abcde', 'web-v3-7d9f8c6b5', true);
  const legacy = owned('web-5c4b3a2d1-fghij', 'web-5c4b3a2d1', true);
  assert.ok(ownedBy(named('web-v3'), set));
  assert.ok(!ownedBy(named('web'), set), "web-v3's pods are not the older `web` Deployment's");
  assert.ok(ownedBy(named('web'), legacy) && !ownedBy(named('web-v3'), legacy));
  assert.ok(!ownedBy(named('web-v3'), { metadata: { name: 'web-v3-x', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'web-v3-abc', uid: 'j', controller: true }] } }));
  const pods = [
    set,
    owned('web-v3-7d9f8c6b5-klmno', 'web-v3-7d9f8c6b5', false),
    owned('web-v3-7d9f8c6b5-pqrst', 'web-v3-7d9f8c6b5', true, { deletionTimestamp: new Date() }),
    legacy,
  ];
  assert.equal(readyPodsOf(named('web-v3'), pods), 1, 'not ready, and ready but terminating (its preStop pause), do not count');
  assert.equal(readyPodsOf(named('web'), pods), 1);
});

function pod(name: string, status: V1Pod['status'], labels: Record<string, string> = {}): V1Pod {
  return { metadata: { name, labels: { 'app.kubernetes.io/component': 'web', 'slipway/release': '7', ...labels } }, status };
}

test('podState names the state users know, with exit codes and scheduling reasons', () => {
  const crash = podState(pod('web-a-1', {
    phase: 'Running',
    containerStatuses: [{ name: 'web', image: 'i', imageID: '', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }],
  }));
  assert.deepEqual([crash.state, crash.fatal, crash.restarts, crash.ready, crash.started, crash.release, crash.process], ['CrashLoopBackOff (exit code 1)', 'CrashLoopBackOff (exit code 1)', 3, false, true, 7, 'web']);
  const pull = podState(pod('web-a-2', { phase: 'Pending', containerStatuses: [{ name: 'web', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "x"' } } }] }));
  assert.equal(pull.fatal, 'ImagePullBackOff: Back-off pulling image "x"');
  assert.equal(pull.started, false);
  const creating = podState(pod('web-a-3', { phase: 'Pending', containerStatuses: [{ name: 'web', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] }));
  assert.deepEqual([creating.state, creating.fatal], ['ContainerCreating', null]);
  const unscheduled = podState(pod('web-a-4', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'no nodes available to schedule pods' }] }));
  assert.deepEqual([unscheduled.state, unscheduled.fatal], ['Pending (no nodes available to schedule pods)', null]);
  const running = podState(pod('web-a-5', { phase: 'Running', containerStatuses: [{ name: 'web', image: 'i', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: new Date('2024-01-01T00:00:00Z') } } }] }));
  assert.deepEqual([running.state, running.ready, running.startedAt], ['Running', true, '2024-01-01T00:00:00.000Z']);
  const terminating = podState({ ...pod('web-a-6', { phase: 'Running' }), metadata: { name: 'web-a-6', deletionTimestamp: new Date() } });
  assert.equal(terminating.state, 'Terminating');
});

test('whyNotReady names the stuck instance first, by its process type', () => {
  const states = [rolloutState({ ...deployment({ replicas: 1 }, { observedGeneration: 2, replicas: 1, updatedReplicas: 1 }), metadata: { name: 'web', generation: 2 } })];
  const crash = podState(pod('web-a-1', { containerStatuses: [{ name: 'web', image: 'i', imageID: '', ready: false, restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 137 } } }] }));
  assert.equal(whyNotReady(states, [crash]), 'web instance web-a-1 is CrashLoopBackOff (exit code 137)');
  assert.equal(whyNotReady(states, []), 'web: 0 of 1 updated replicas are available');
});

test('recentWarnings picks the newest warnings about the given objects, each message once', () => {
  const ev = (name: string, reason: string, message: string, at: string, type = 'Warning'): CoreV1Event => ({
    metadata: {}, involvedObject: { name }, reason, message, type, lastTimestamp: new Date(at),
  });
  const events = [
    ev('web-a-1', 'BackOff', 'Back-off restarting failed container', '2024-01-01T00:00:03Z'),
    ev('web-a-1', 'BackOff', 'Back-off restarting failed container', '2024-01-01T00:00:01Z'),
    ev('web-a-1', 'Pulled', 'Successfully pulled', '2024-01-01T00:00:04Z', 'Normal'),
    ev('web-7d9f', 'FailedCreate', 'quota exceeded', '2024-01-01T00:00:02Z'),
    ev('other-x', 'BackOff', 'not ours', '2024-01-01T00:00:05Z'),
  ];
  assert.deepEqual(recentWarnings(events, ['web-a-1', 'web']), [
    'web-a-1: BackOff: Back-off restarting failed container',
    'web-7d9f: FailedCreate: quota exceeded',
  ]);
});

test('log lines: timestamps split and sort by time (nanoseconds), Heroku-style prefixes', () => {
  const l = splitLogLine('2024-05-01T12:00:00.1Z hello world');
  assert.deepEqual(l, { time: '2024-05-01T12:00:00.1Z', key: '2024-05-01T12:00:00.100000000', text: 'hello world' });
  assert.ok(splitLogLine('2024-05-01T12:00:00.1Z a').key > splitLogLine('2024-05-01T12:00:00.09Z b').key);
  assert.deepEqual(splitLogLine('no timestamp here'), { time: '', key: '', text: 'no timestamp here' });
  assert.equal(instanceId('web-7d9f8c6b5-x2k4p'), 'x2k4p');
  assert.equal(formatLogLine('web', 'web-7d9f8c6b5-x2k4p', l), '2024-05-01T12:00:00.1Z app[web.x2k4p]: hello world');
  const merged = mergeLogs([
    { process: 'web', pod: 'web-1-aaaaa', text: '2024-05-01T12:00:01Z a1\n2024-05-01T12:00:03Z a3\n' },
    { process: 'worker', pod: 'worker-1-bbbbb', text: '2024-05-01T12:00:02Z b2\n2024-05-01T12:00:04Z b4\n' },
  ], 3);
  assert.deepEqual(merged, [
    '2024-05-01T12:00:02Z app[worker.bbbbb]: b2',
    '2024-05-01T12:00:03Z app[web.aaaaa]: a3',
    '2024-05-01T12:00:04Z app[worker.bbbbb]: b4',
  ]);
});

test('a secret-cache sync delay right after scheduling is not a fatal state; a real config error is', () => {
  const waiting = (message: string) => podState(pod('web-a-9', { phase: 'Pending', containerStatuses: [{ name: 'web', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'CreateContainerConfigError', message } } }] }));
  assert.equal(waiting('failed to sync secret cache: timed out waiting for the condition').fatal, null);
  assert.equal(waiting('secret "env-v3" is forbidden: no relationship found between node \'vm\' and this object').fatal, null);
  assert.match(waiting('secret "env-v3" not found').fatal ?? '', /^CreateContainerConfigError: secret "env-v3" not found/);
});

test('crash log lines keep the error line that scrolled above the stack trace', () => {
  const stack = ['listening', '/app/server.js:3', '    throw new Error("boom")', '    ^', '', 'Error: boom', ...Array.from({ length: 12 }, (_, i) => `    at frame${i} (node:internal:${i})`), 'Node.js v24.21.0'];
  const shown = crashLines(stack.filter(Boolean));
  assert.equal(shown[0], 'Error: boom');
  assert.equal(shown[1], '…');
  assert.equal(shown.at(-1), 'Node.js v24.21.0');
  assert.equal(shown.length, 12);
  assert.deepEqual(crashLines(['a', 'TypeError: x is not a function', 'b']), ['a', 'TypeError: x is not a function', 'b']);
  assert.deepEqual(crashLines(['only', 'plain', 'lines'], 2), ['plain', 'lines']);
});
