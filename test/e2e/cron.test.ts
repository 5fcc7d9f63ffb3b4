// app.json `cron` on the testbed's real pieces: an app (test/fixtures/cron-app) whose task runs
// every minute is pushed once; its run is seen in `cron APP` and `logs APP -p cron`, cron:run runs
// it now, cron:suspend holds across a release, a config change re-applies the CronJob with the new
// config, a release without cron removes it and a rollback brings it back, and a bad schedule is
// refused before anything is built. Tests run in order and share that app.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1CronJob, V1Job, V1Pod } from '../../server/kube/types.ts';
import type { CronEntry } from '../../server/shapes/cron.ts';
import { remoteLines, type TestServer } from '../support/harness.ts';
import { startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG'] as const;
const APP = `cron-${randomBytes(3).toString('hex')}`;
const NS = `slipway-${APP}`;
const PUSH_MS = 10 * 60_000;
/** A task scheduled every minute has run within this long (the controller looks every 10 s). */
const TICK_MS = 150_000;
/** A Job started now has finished within this long. */
const RUN_MS = 90_000;

describe('cron: scheduled tasks from app.json as CronJobs of the release', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let kube: KubeClient;
  let wd: string;
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const cron = async (): Promise<CronEntry[]> => {
    const r = await ssh(`cron ${APP} --json`);
    assert.equal(r.exitCode, 0, r.stderr);
    return JSON.parse(r.stdout) as CronEntry[];
  };
  const cronJobs = () => kube.list<V1CronJob>('batch/v1', 'CronJob', NS);
  const releases = async () => JSON.parse((await ssh(`releases ${APP} --json`)).stdout) as { version: number; status: string }[];
  const logs = async () => (await ssh(`logs ${APP} -p cron -n 500`)).stdout;
  /** Waits for the Job `name` to end; resolves with how (Complete or Failed). */
  const jobEnd = (name: string) => eventually(`Job ${name} to finish`, async () => {
    const j = await kube.read<V1Job>('batch/v1', 'Job', name, NS);
    return j?.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.type;
  }, RUN_MS, 1000);

  before(async () => {
    const tb = testbedEnv(NEEDS);
    if (!tb) return;
    kube = new KubeClient(tb.KUBECONFIG!);
    ({ server: s } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: 'slipway.test', SLIPWAY_ROLLOUT_TIMEOUT_S: '180', SLIPWAY_CRON_TIMEOUT_S: '120', SLIPWAY_CRON_AUDIT_S: '2' }, { buildTimeoutMs: PUSH_MS }));
    assert.equal((await ssh(`apps:create ${APP}`)).exitCode, 0);
    assert.equal((await ssh(`config:set ${APP} TICK_MARK=first`)).exitCode, 0);
  });
  after(async () => {
    if (!s) return;
    await ssh(`apps:destroy ${APP} --confirm ${APP}`);
    await s.close();
  });

  test('a task running every minute runs: `cron` shows its last run succeeded and `logs -p cron` its output', { timeout: PUSH_MS + TICK_MS + 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    wd = fixtureCopy('cron-app');
    await s.commitAll(wd, 'cron app');
    const push = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
    const [task] = await cron();
    assert.ok(task, 'one task listed');
    assert.equal(task.schedule, '* * * * *');
    assert.equal(task.command, 'node tasks/tick.js');
    assert.equal(task.concurrencyPolicy, 'forbid');
    assert.equal(task.suspended, false);
    assert.ok(task.nextRun && Date.parse(task.nextRun) > Date.now() - 1000, String(task.nextRun));
    assert.ok(remoteLines(push.stderr).some((l) => l === `       Scheduled ${task.id} (* * * * *)`), push.stderr);
    const [cj] = await cronJobs();
    assert.equal(cj?.metadata?.name, `cron-${task.id}`);
    // Nothing runs as root, and the run is bounded as configured.
    assert.equal(cj?.spec?.jobTemplate.spec?.activeDeadlineSeconds, 120);
    const ran = await eventually(() => 'a scheduled run that succeeded', async () => (await cron())[0]?.lastRun?.result === 'succeeded' ? (await cron())[0] : undefined, TICK_MS, 3000);
    t.diagnostic(`first scheduled run: ${ran.lastRun?.job} at ${ran.lastRun?.startedAt}`);
    const out = await logs();
    assert.match(out, /app\[cron\.[a-z0-9]+\]: cron tick: mark=first process=cron after /, out);
    const text = await ssh(`cron ${APP}`);
    assert.match(text.stdout, new RegExp(`${task.id}\\s+\\* \\* \\* \\* \\*\\s+node tasks/tick\\.js\\s+active\\s+succeeded `), text.stdout);
    // The run is in the audit log, the server's own work by the schedule (the round looks every 2 s here).
    const entry = await eventually(() => 'the scheduled run in the audit log', async () => {
      const entries = JSON.parse((await ssh(`audit ${APP} --action cron:run --json`)).stdout) as { actor: string; interface: string; object: string; outcome: string; meta: { job: string } }[];
      return entries.find((e) => e.meta.job === ran.lastRun?.job);
    }, 30_000, 1000);
    assert.deepEqual({ actor: entry.actor, interface: entry.interface, object: entry.object, outcome: entry.outcome }, { actor: 'slipway', interface: 'cron', object: task.id, outcome: 'ok' });
  });

  test('cron:run runs the task now and says how to follow its output', { timeout: RUN_MS + 30_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const [task] = await cron();
    const r = await ssh(`cron:run ${APP} ${task!.id}`);
    assert.equal(r.exitCode, 0, r.stderr);
    const job = new RegExp(`^Started (cron-${task!.id}-[a-z0-9]{5})$`, 'm').exec(r.stdout)?.[1];
    assert.ok(job, r.stdout);
    assert.match(r.stdout, new RegExp(`Follow its output with: logs ${APP} -p cron -t`));
    assert.equal(await jobEnd(job), 'Complete');
    // Its pod is the app's as one-off pods are: non-root, limits from the namespace's defaults
    // (so the quota counts it), labelled for `logs -p cron` and not as a release's process.
    const [pod] = await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: `job-name=${job}` });
    assert.equal(pod?.metadata?.labels?.['app.kubernetes.io/component'], 'cron');
    assert.equal(pod?.metadata?.labels?.['slipway/release'], undefined);
    assert.equal(pod?.spec?.securityContext?.runAsNonRoot, true);
    assert.ok(pod?.spec?.containers[0]?.resources?.limits?.memory, JSON.stringify(pod?.spec?.containers[0]?.resources));
    assert.equal(pod?.spec?.automountServiceAccountToken, false);
    const unknown = await ssh(`cron:run ${APP} nosuchtask`);
    assert.equal(unknown.exitCode, 1);
    assert.match(unknown.stderr, new RegExp(`${APP} has no scheduled task "nosuchtask"`));
  });

  test('a config change re-applies the CronJob with the new release and config', { timeout: 5 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const set = await ssh(`config:set ${APP} TICK_MARK=second`);
    assert.equal(set.exitCode, 0, set.stderr);
    const version = (await releases())[0]!.version;
    const [cj] = await cronJobs();
    assert.equal(cj?.metadata?.annotations?.['slipway/release'], `v${version}`);
    assert.equal(cj?.spec?.jobTemplate.spec?.template.spec?.containers[0]?.envFrom?.[0]?.secretRef?.name, `env-v${version}`);
    const r = await ssh(`cron:run ${APP} ${(await cron())[0]!.id}`);
    const job = /^Started (\S+)$/m.exec(r.stdout)?.[1];
    assert.equal(await jobEnd(job!), 'Complete');
    const out = await eventually('the run with the new config in the logs', async () => {
      const l = await logs();
      return /cron tick: mark=second process=cron/.test(l) ? l : undefined;
    }, 30_000, 1000);
    assert.match(out, /cron tick: mark=second/);
  });

  test("a release whose rollout fails leaves the running release's CronJob as it was", { timeout: 5 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const running = (await releases())[0]!.version;
    const r = await ssh(`config:set ${APP} CRASH_ON_START=1 TICK_MARK=crashing`);
    assert.equal(r.exitCode, 1, r.stdout);
    assert.match(r.stderr, /did not become ready: web instance \S+ is CrashLoopBackOff/);
    assert.ok(!r.stdout.includes('Scheduled '), r.stdout);
    const [cj] = await cronJobs();
    assert.equal(cj?.metadata?.annotations?.['slipway/release'], `v${running}`);
    assert.equal(cj?.spec?.jobTemplate.spec?.template.spec?.containers[0]?.envFrom?.[0]?.secretRef?.name, `env-v${running}`);
  });

  test('cron:suspend holds across releases until cron:resume', { timeout: 5 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const id = (await cron())[0]!.id;
    const r = await ssh(`cron:suspend ${APP} ${id}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Scheduled task ${id} of ${APP} is suspended\\.`));
    let [task] = await cron();
    assert.equal(task!.suspended, true);
    assert.equal(task!.nextRun, null);
    assert.equal((await cronJobs())[0]?.spec?.suspend, true);
    assert.match((await ssh(`cron ${APP}`)).stdout, new RegExp(`${id}.*suspended`));
    // A new release keeps it suspended.
    assert.equal((await ssh(`config:set ${APP} TICK_MARK=third`)).exitCode, 0);
    [task] = await cron();
    assert.equal(task!.suspended, true);
    assert.equal((await cronJobs())[0]?.spec?.suspend, true);
    assert.equal((await ssh(`cron:resume ${APP} ${id}`)).exitCode, 0);
    assert.equal((await cron())[0]!.suspended, false);
    assert.equal((await cronJobs())[0]?.spec?.suspend, false);
  });

  test('a release without cron removes the CronJob; a rollback to one with it brings it back', { timeout: PUSH_MS + 5 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const withCron = (await releases())[0]!.version;
    writeFileSync(join(wd, 'app.json'), JSON.stringify({ name: 'cron-app' }, null, 2) + '\n');
    await s.commitAll(wd, 'no more cron');
    const push = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
    assert.deepEqual(await cron(), []);
    assert.deepEqual(await cronJobs(), []);
    const rb = await ssh(`rollback ${APP} v${withCron}`);
    assert.equal(rb.exitCode, 0, rb.stderr);
    assert.equal((await cron()).length, 1);
    assert.equal((await cronJobs()).length, 1);
  });

  test('a push with a bad schedule is refused with one sentence naming the entry; nothing is written', { timeout: 2 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const before = await releases();
    const jobsBefore = (await cronJobs()).map((c) => c.metadata?.name);
    const appJson = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'cron-app', 'app.json'), 'utf8')) as { cron: { schedule: string }[] };
    appJson.cron[0]!.schedule = '*/5 * * * * *';
    writeFileSync(join(wd, 'app.json'), JSON.stringify(appJson, null, 2) + '\n');
    await s.commitAll(wd, 'a schedule with seconds');
    const push = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    assert.notEqual(push.exitCode, 0);
    const errors = push.stderr.split('\n').map((l) => l.replace(/^remote: /, '').trimEnd()).filter((l) => l.startsWith(' !     '));
    assert.deepEqual(errors, [' !     Push rejected: app.json cron[0] ("node tasks/tick.js"): "*/5 * * * * *" has 6 fields; a schedule is five (minute hour day-of-month month day-of-week) or a macro such as @daily.'], push.stderr);
    assert.ok(!remoteLines(push.stderr).some((l) => l.startsWith('-----> Building')), 'refused before the build');
    assert.deepEqual(await releases(), before);
    assert.deepEqual((await cronJobs()).map((c) => c.metadata?.name), jobsBefore);
  });
});
