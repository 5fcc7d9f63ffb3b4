// app.json `cron`: the schedule grammar both we and Kubernetes read the same way, task ids, the
// one sentence a bad entry gets, the CronJob a task becomes and how `cron` reads its runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeployableRelease, ScheduledTask } from '../../server/model.ts';
import type { V1CronJob, V1Job } from '../../server/kube/types.ts';
import { LABEL, namespaceFor } from '../../server/kube/labels.ts';
import { CRON_HISTORY, CRON_PROCESS, LAUNCHER, RUN_PROCESS, cronJobObject, manualJobObject, runPodObject } from '../../server/deploy/workload.ts';
import { cronState, jobRun, scheduledRuns } from '../../server/deploy/cron-state.ts';
import { cronId, nextRun, parseCron, scheduleProblem } from '../../server/ops/cron/cron-spec.ts';
import { parseAppJson } from '../../server/ops/apps/app-json.ts';
import { scheduledTasks } from '../../server/ops/releases/release.ts';
import { UserError } from '../../server/errors.ts';

const release: DeployableRelease = {
  app: 'myapp',
  version: 7,
  commit: 'c0ffee',
  image: '127.0.0.1:5000/slipway/myapp@sha256:' + 'a'.repeat(64),
  processes: [{ type: 'web', command: ['node', 'server.js'], args: [], default: true }],
  config: { DATABASE_URL: 'postgres://u:p@db/x' },
  formation: {},
  domains: ['myapp.apps.test'],
  resources: { run: { limits: { memory: '512Mi', cpu: '1' } }, web: { limits: { memory: '1Gi' } } },
};

/** The message of the UserError `fn` throws (fails the test if it throws none, or another kind). */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UserError, String(err));
    return err.message;
  }
  assert.fail('expected a UserError');
}

test('schedules Kubernetes and croner both read: five fields, names, steps, lists, the macros', () => {
  for (const s of ['* * * * *', '*/5 * * * *', '0 0 * jan sun', '0 0 * * 0-6/2', '0 0 1,15 * *', '0 3 * * 1-5', '15,45 9-17 * JAN-MAR MON-FRI', '0 0 1 */2 ?', '@daily', '@midnight', '@hourly', '@weekly', '@monthly', '@yearly', '@annually', '0 0 * * 0,6']) {
    assert.equal(scheduleProblem(s), undefined, s);
  }
});

test('schedules only one side would take, or none, are refused with the reason', () => {
  const cases: [string, RegExp][] = [
    ['* * * *', /has 4 fields; a schedule is five/],
    ['0 * * * * *', /has 6 fields/],
    ['61 * * * *', /the minute field of "61 \* \* \* \*" goes from 0 to 59/],
    ['0 25 * * *', /the hour field .* goes from 0 to 23/],
    ['0 0 0 * *', /the day-of-month field .* goes from 1 to 31/],
    ['0 0 * 13 *', /the month field .* goes from 1 to 12/],
    ['0 0 * * 1,7', /the day-of-week field .* goes from 0 \(Sunday\) to 6/],
    ['5-1 * * * *', /not a valid schedule \(From value is larger than to value/],
    ['*/0 * * * *', /not a valid schedule \(Syntax error, illegal stepping: 0\)/],
    ['0 0 L * *', /day-of-month field .*"L"/],
    ['0 0 * * 5#2', /day-of-week field/],
    ['0 0 * * 7', /goes from 0 \(Sunday\) to 6/],
    ['0 0 * * 6-7', /goes from 0 \(Sunday\) to 6/],
    ['@every 5m', /not a schedule macro/],
    ['@reboot', /not a schedule macro/],
    ['TZ=UTC 0 0 * * *', /has 6 fields/],
    ['0 0 30 2 *', /never matches a date/],
    ['every day', /has 2 fields/],
  ];
  for (const [s, reason] of cases) assert.match(scheduleProblem(s) ?? '', reason, s);
});

test('the next run is computed in UTC', () => {
  assert.equal(nextRun('@daily', new Date('2026-03-04T05:06:07Z')), '2026-03-05T00:00:00.000Z');
  assert.equal(nextRun('*/15 * * * *', new Date('2026-03-04T05:06:07Z')), '2026-03-04T05:15:00.000Z');
  assert.equal(nextRun('0 9 * * MON', new Date('2026-03-04T05:06:07Z')), '2026-03-09T09:00:00.000Z');
});

test("ids are stable for a command and schedule, change with either, and keep the policy's change", () => {
  const [a] = parseCron([{ command: 'python manage.py clearsessions', schedule: '@daily' }]);
  const [again] = parseCron([{ command: 'python manage.py clearsessions', schedule: ' @daily ', concurrency_policy: 'forbid' }]);
  const [other] = parseCron([{ command: 'python manage.py clearsessions', schedule: '@hourly' }]);
  assert.match(a!.id, /^[0-9a-f]{10}$/);
  assert.equal(again!.id, a!.id);
  assert.equal(again!.concurrencyPolicy, 'forbid');
  assert.notEqual(other!.id, a!.id);
  assert.notEqual(cronId('true', '@daily'), cronId('false', '@daily'));
  assert.deepEqual(a, { id: a!.id, command: 'python manage.py clearsessions', schedule: '@daily', concurrencyPolicy: 'allow' });
});

test("app.json cron in Dokku's shape: policies, maintenance, none when absent", () => {
  const { cron } = parseAppJson(JSON.stringify({
    name: 'x',
    cron: [
      { command: 'npm run send-email', schedule: '@daily' },
      { command: 'node sweep.js', schedule: '*/10 * * * *', concurrency_policy: 'replace', maintenance: true },
    ],
  }));
  assert.deepEqual(cron.map((c) => [c.command, c.concurrencyPolicy, c.maintenance ?? false]), [['npm run send-email', 'allow', false], ['node sweep.js', 'replace', true]]);
  assert.deepEqual(parseAppJson(JSON.stringify({ name: 'x' })).cron, []);
  assert.deepEqual(parseAppJson(undefined).cron, []);
});

test('a bad entry refuses the push with one sentence naming it', () => {
  const bad = (cron: unknown) => refusal(() => parseAppJson(JSON.stringify({ cron })));
  assert.equal(bad({ command: 'x' }), 'Push rejected: app.json cron must be a list of tasks ({"command": …, "schedule": …}).');
  assert.match(bad([{ command: 'true', schedule: '* * * * * *' }]), /^Push rejected: app\.json cron\[0\] \("true"\): "\* \* \* \* \* \*" has 6 fields; a schedule is five .*\.$/);
  assert.match(bad([{ command: 'true', schedule: '@daily' }, { command: 'true', schedule: '61 * * * *' }]), /^Push rejected: app\.json cron\[1\] \("true"\): the minute field of "61 \* \* \* \*" goes from 0 to 59\.$/);
  assert.match(bad([{ command: 'true', schedule: '@daily', concurrency_policy: 'Forbid' }]), /cron\[0\] \("true"\): concurrency_policy must be allow, forbid or replace, not "Forbid"\.$/);
  assert.match(bad([{ command: '', schedule: '@daily' }]), /cron\[0\]: the command must be one line of text/);
  assert.match(bad([{ command: 'a\nb', schedule: '@daily' }]), /cron\[0\]: the command must be one line/);
  assert.match(bad([{ schedule: '@daily' }]), /cron\[0\]: the command must be/);
  assert.match(bad([{ command: 'true', schedule: 5 }]), /cron\[0\] \("true"\): the schedule must be a string/);
  assert.match(bad([{ command: 'true', schedule: '@daily', maintenance: 'yes' }]), /maintenance must be true or false/);
  assert.match(bad([{ command: 'true', schedule: '@daily', when: 'now' }]), /cron\[0\] has "when", which is not command, schedule/);
  assert.match(bad([{ command: 'true', schedule: '@daily' }, { command: 'true', schedule: '@daily' }]), /cron\[1\] repeats cron\[0\]/);
  assert.match(bad(Array.from({ length: 21 }, (_, i) => ({ command: `echo ${i}`, schedule: '@daily' }))), /has 21 tasks, more than the 20/);
  assert.match(bad(['@daily']), /cron\[0\] must be an object/);
});

test('suspension comes from cron:suspend (by id) or app.json maintenance', () => {
  const tasks = parseCron([{ command: 'a', schedule: '@daily' }, { command: 'b', schedule: '@daily' }, { command: 'c', schedule: '@daily', maintenance: true }]);
  assert.deepEqual(scheduledTasks([tasks[1]!.id], tasks).map((t) => t.suspended), [false, true, true]);
});

test('a task becomes a CronJob running the release through the launcher as one-off pods run, bounded', () => {
  const [task] = scheduledTasks([], parseCron([{ command: 'python manage.py clearsessions', schedule: '*/5 * * * *', concurrency_policy: 'forbid' }]));
  const cj = cronJobObject(release, task!, 900);
  assert.equal(cj.kind, 'CronJob');
  assert.equal(cj.metadata.name, `cron-${task!.id}`);
  assert.equal(cj.metadata.namespace, namespaceFor('myapp'));
  const spec = cj.spec!;
  assert.equal(spec.schedule, '*/5 * * * *');
  assert.equal(spec.timeZone, 'Etc/UTC');
  assert.equal(spec.concurrencyPolicy, 'Forbid');
  assert.equal(spec.suspend, false);
  assert.equal(spec.successfulJobsHistoryLimit, CRON_HISTORY);
  assert.equal(spec.failedJobsHistoryLimit, CRON_HISTORY);
  assert.ok(spec.startingDeadlineSeconds! > 0);
  const job = spec.jobTemplate.spec!;
  assert.equal(job.backoffLimit, 0);
  assert.equal(job.activeDeadlineSeconds, 900);
  const pod = job.template;
  // Labelled as the app's (its NetworkPolicies and `logs -p cron` select it), without the release label.
  assert.equal(pod.metadata?.labels?.[LABEL.instance], 'myapp');
  assert.equal(pod.metadata?.labels?.[LABEL.process], CRON_PROCESS);
  assert.equal(pod.metadata?.labels?.[LABEL.cron], task!.id);
  assert.equal(pod.metadata?.labels?.[LABEL.release], undefined);
  // The pod spec is the one-off pods' own: same security, env and limits, only its command and deadline differ.
  const run = runPodObject(release, { name: 'run-x7k2p', command: ['true'], deadlineSeconds: 60, mode: 'detached' }).spec!;
  const c = pod.spec!.containers[0]!;
  assert.equal(c.name, CRON_PROCESS);
  assert.deepEqual(c.command, [LAUNCHER, 'python manage.py clearsessions']);
  assert.equal(pod.spec!.activeDeadlineSeconds, undefined);
  assert.deepEqual(c.resources, { limits: { memory: '512Mi', cpu: '1' } });
  assert.deepEqual(c.securityContext, run.containers[0]!.securityContext);
  assert.deepEqual(c.envFrom, [{ secretRef: { name: 'env-v7' } }]);
  assert.equal(c.env?.find((e) => e.name === 'SLIPWAY_PROCESS')?.value, CRON_PROCESS);
  assert.deepEqual(pod.spec!.securityContext, run.securityContext);
  assert.equal(pod.spec!.restartPolicy, 'Never');
  assert.equal(pod.spec!.automountServiceAccountToken, false);
  assert.equal(pod.spec!.enableServiceLinks, false);
  assert.equal(run.containers[0]!.name, RUN_PROCESS);
  assert.doesNotMatch(JSON.stringify(cj), /postgres:/);
  const suspended = cronJobObject(release, { ...task!, suspended: true, concurrencyPolicy: 'replace' }, 900);
  assert.equal(suspended.spec!.suspend, true);
  assert.equal(suspended.spec!.concurrencyPolicy, 'Replace');
});

test('cron:run makes a Job from the CronJob, owned by it', () => {
  const task: ScheduledTask = { id: 'abc', command: 'true', schedule: '@daily', concurrencyPolicy: 'allow', suspended: false };
  const cj = cronJobObject(release, task, 60);
  const job = manualJobObject({ ...cj, metadata: { ...cj.metadata, namespace: 'slipway-myapp', uid: 'u-1' } }, 'cron-abc-x7k2p');
  assert.equal(job.metadata.name, 'cron-abc-x7k2p');
  assert.deepEqual(job.metadata.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'cron-abc', uid: 'u-1', controller: true, blockOwnerDeletion: true }]);
  assert.equal(job.metadata.labels?.[LABEL.cron], 'abc');
  assert.deepEqual(job.spec, cj.spec!.jobTemplate.spec);
});

test("`cron` reads a task's newest Job: succeeded, failed with Kubernetes' reason, or running", () => {
  const j = (name: string, start: string, conditions: { type: string; status: string; reason?: string }[] = [], id = 'abc'): V1Job => ({
    metadata: { name, labels: { [LABEL.cron]: id } },
    status: { startTime: new Date(start), conditions: conditions.map((c) => ({ ...c, lastTransitionTime: new Date(start) })) },
  });
  assert.equal(jobRun(j('a', '2026-01-01T00:00:00Z', [{ type: 'Complete', status: 'True' }])).result, 'succeeded');
  assert.deepEqual(jobRun(j('b', '2026-01-01T00:00:00Z', [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }])), {
    job: 'b', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:00.000Z', result: 'failed', reason: 'DeadlineExceeded',
  });
  assert.equal(jobRun(j('c', '2026-01-01T00:00:00Z')).result, 'running');
  const cj: V1CronJob = { metadata: { name: 'cron-abc', labels: { [LABEL.cron]: 'abc' } }, spec: { schedule: '@daily', suspend: true, jobTemplate: {} }, status: { lastScheduleTime: new Date('2026-01-02T00:00:00Z') } };
  const state = cronState(cj, [
    j('cron-abc-1', '2026-01-01T00:00:00Z', [{ type: 'Complete', status: 'True' }]),
    j('cron-abc-2', '2026-01-02T00:00:00Z', [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }]),
    j('cron-other-3', '2026-01-03T00:00:00Z', [], 'other'),
  ]);
  assert.equal(state.id, 'abc');
  assert.equal(state.suspended, true);
  assert.equal(state.lastScheduled, '2026-01-02T00:00:00.000Z');
  assert.equal(state.lastRun?.job, 'cron-abc-2');
  assert.equal(state.lastRun?.result, 'failed');
  assert.equal(cronState(cj, []).lastRun, null);
});

test("the audit's scheduled runs: every app's Jobs its CronJobs started, not cron:run's (marked manual)", () => {
  const task: ScheduledTask = { id: 'abc', command: 'true', schedule: '@daily', concurrencyPolicy: 'allow', suspended: false };
  const cj = cronJobObject(release, task, 60);
  const byCron = { metadata: { name: 'cron-abc-29000000', ...cj.spec!.jobTemplate.metadata }, status: { startTime: new Date('2026-01-01T00:00:00Z'), completionTime: new Date('2026-01-01T00:00:05Z'), conditions: [{ type: 'Complete', status: 'True' }] } } as V1Job;
  const manual = manualJobObject({ ...cj, metadata: { ...cj.metadata, namespace: 'slipway-myapp', uid: 'u-1' } }, 'cron-abc-x7k2p') as V1Job;
  assert.deepEqual(scheduledRuns([byCron, manual]), [
    { app: release.app, id: 'abc', job: 'cron-abc-29000000', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:05.000Z', result: 'succeeded' },
  ]);
});
