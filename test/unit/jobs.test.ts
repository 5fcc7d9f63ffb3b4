// The job store (states, interrupted at start-up, retention) and the runner (followers, cancel,
// detached jobs), against a real SQLite file and real transcript files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../server/store/index.ts';
import { RunningDeploys } from '../../server/context.ts';
import { JOBS_KEPT, JobRunner, interruptAbandonedJobs } from '../../server/jobs/runner.ts';
import { JobLog } from '../../server/jobs/job-log.ts';
import { isJobId, jobJson } from '../../server/jobs/job.ts';
import { UserError } from '../../server/errors.ts';
import type { Identity } from '../../server/auth/identity.ts';
import { configureLog } from '../../server/output/log.ts';

// What the runner logs, so a test can find the job an internal error is logged under.
const logged: string[] = [];
configureLog({ level: 'info', sink: (line) => logged.push(line) });

const alice: Identity = { name: 'alice', admin: false, via: 'ssh' };

interface World { store: Store; dir: string; pushes: RunningDeploys; jobs: JobRunner; logsDir: string }

async function withWorld(fn: (w: World) => Promise<void> | void, maxBytes = 1024 * 1024): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-jobs-'));
  const store = openStore(join(dir, 'slipway.db'));
  store.apps.create('web');
  const logsDir = join(dir, 'logs');
  const pushes = new RunningDeploys();
  const jobs = new JobRunner(store, { logsDir, maxBuildLogBytes: maxBytes }, pushes);
  try {
    await fn({ store, dir, pushes, jobs, logsDir });
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A promise and the function that resolves it. */
function gate(): { open: () => void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => { open = resolve; });
  return { open, wait };
}

test('a stored job goes queued → running → one end; a second end does not overwrite the first', () => withWorld(({ store }) => {
  const q = store.jobs.create({ id: 'aaaaaaaaaaaa', kind: 'config:set', app: 'web', by: 'alice', origin: 'ssh', logFile: '/x' });
  assert.equal(q.status, 'queued');
  assert.equal(q.startedAt, null);
  const r = store.jobs.start(q.id);
  assert.equal(r.status, 'running');
  assert.ok(r.startedAt);
  const done = store.jobs.finish(q.id, 'succeeded', { release: 4 })!;
  assert.deepEqual([done.status, done.release, done.error], ['succeeded', 4, null]);
  assert.ok(done.finishedAt);
  assert.equal(store.jobs.finish(q.id, 'failed', { error: 'late' })!.status, 'succeeded');
  assert.throws(() => store.db.prepare("UPDATE jobs SET status = 'bogus' WHERE id = ?").run(q.id), /CHECK constraint/);
}));

test('jobs list newest first, bounded; destroying the app removes its jobs', () => withWorld(({ store }) => {
  for (const id of ['job000000001', 'job000000002', 'job000000003']) store.jobs.create({ id, kind: 'k', app: 'web', by: 'alice', origin: 'api', logFile: '/x' });
  assert.deepEqual(store.jobs.list('web', 2).map((j) => j.id), ['job000000003', 'job000000002']);
  store.apps.remove('web');
  assert.equal(store.jobs.get('job000000001'), undefined);
}));

test('at start-up, queued and running jobs become interrupted with their transcript kept and the reason added; ended ones stay', () => withWorld(({ store, dir }) => {
  const file = join(dir, 'running.log');
  for (const [id, to] of [['runningjob01', 'running'], ['queuedjob001', 'queued'], ['donejob00001', 'done']] as const) {
    store.jobs.create({ id, kind: 'push', app: 'web', by: 'alice', origin: 'push', logFile: id === 'runningjob01' ? file : join(dir, 'gone', `${id}.log`) });
    if (to !== 'queued') store.jobs.start(id);
    if (to === 'done') store.jobs.finish(id, 'failed', { error: 'The build failed.' });
  }
  // What the dead server had written of the running job.
  writeFileSync(file, '-----> Building web\n');
  assert.equal(interruptAbandonedJobs(store), 2);
  assert.equal(store.jobs.get('runningjob01')!.status, 'interrupted');
  assert.equal(store.jobs.get('queuedjob001')!.status, 'interrupted');
  assert.match(store.jobs.get('runningjob01')!.error!, /server stopped while this job ran/);
  assert.deepEqual([store.jobs.get('donejob00001')!.status, store.jobs.get('donejob00001')!.error], ['failed', 'The build failed.']);
  assert.equal(readFileSync(file, 'utf8'), '-----> Building web\n !     The server stopped while this job ran; it did not finish.\n');
  assert.equal(interruptAbandonedJobs(store), 0, 'nothing left to interrupt');
}));

test(`an app keeps its newest ${JOBS_KEPT} jobs: older ended ones and their transcripts go as new ones start`, () => withWorld(async ({ store, jobs }) => {
  const first = jobs.start({ kind: 'k', app: 'web', identity: alice, origin: 'ssh' }, async () => {});
  await first.ended;
  assert.ok(existsSync(first.job.logFile));
  for (let i = 1; i < JOBS_KEPT; i++) await jobs.start({ kind: 'k', app: 'web', identity: alice, origin: 'ssh' }, async () => {}).ended;
  assert.ok(store.jobs.get(first.job.id), `${JOBS_KEPT} jobs are all kept`);
  await jobs.start({ kind: 'k', app: 'web', identity: alice, origin: 'ssh' }, async () => {}).ended;
  assert.equal(store.jobs.get(first.job.id), undefined, 'the oldest is forgotten');
  assert.equal(existsSync(first.job.logFile), false, 'with its transcript');
  assert.equal(store.jobs.list('web', 1000).length, JOBS_KEPT);
}));

test('a running job is never pruned, however many jobs come after it', () => withWorld(({ store }) => {
  store.jobs.create({ id: 'oldrunning01', kind: 'k', app: 'web', by: 'a', origin: 'ssh', logFile: '/x' });
  store.jobs.start('oldrunning01');
  for (let i = 0; i < 3; i++) store.jobs.create({ id: `newjob00000${i}`, kind: 'k', app: 'web', by: 'a', origin: 'ssh', logFile: '/x' });
  assert.deepEqual(store.jobs.prune('web', 1).map((j) => j.id), [], 'the newer ones are queued, the old one runs');
  for (let i = 0; i < 3; i++) store.jobs.finish(`newjob00000${i}`, 'succeeded');
  assert.deepEqual(store.jobs.prune('web', 1).map((j) => j.id).sort(), ['newjob000000', 'newjob000001']);
  assert.ok(store.jobs.get('oldrunning01'));
}));

test('a job id is 12 lower-case letters and digits, different each time', () => withWorld(async ({ jobs }) => {
  const started = Array.from({ length: 20 }, () => jobs.start({ kind: 'k', app: 'web', identity: alice, origin: 'ssh' }, async () => {}));
  await Promise.all(started.map((s) => s.ended));
  for (const { job } of started) assert.ok(isJobId(job.id), job.id);
  assert.equal(new Set(started.map((s) => s.job.id)).size, 20);
  assert.equal(isJobId('-aaaaaaaaaaa'), false);
  assert.equal(isJobId('AAAAAAAAAAAA'), false);
}));

test('a follower that joins mid-job gets every line so far, then the new ones, then the end with the release', () => withWorld(async ({ store, jobs }) => {
  const v = store.releases.create({ app: 'web', description: 'd', commit: null, image: 'img', processes: [], config: {} });
  store.releases.finish('web', v.version, 'succeeded');
  const g = gate();
  const started = jobs.start({ kind: 'config:set', app: 'web', identity: alice, origin: 'api' }, async (t) => {
    t.step('Setting config');
    t.detail('one\ntwo');
    await g.wait;
    t.detail('web: 1/1 ready');
    return 'value';
  });
  assert.equal(started.job.status, 'running');
  const seen: string[] = [];
  const following = jobs.follow(started.job, (lines) => { seen.push(...lines); }, new AbortController().signal);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, ['-----> Setting config', '       one', '       two']);
  g.open();
  const end = await following;
  assert.deepEqual(seen, ['-----> Setting config', '       one', '       two', '       web: 1/1 ready']);
  assert.equal(await started.result, 'value');
  assert.deepEqual(jobJson(end), { ...jobJson(store.jobs.get(started.job.id)!), status: 'succeeded', release: v.version, error: null });
  assert.equal(readFileSync(started.job.logFile, 'utf8'), seen.join('\n') + '\n', 'the saved transcript is what the follower saw');
  // A finished job replays its saved transcript and ends at once.
  const again: string[] = [];
  assert.equal((await jobs.follow(end, (lines) => { again.push(...lines); }, new AbortController().signal)).status, 'succeeded');
  assert.deepEqual(again, seen);
}));

test('cancel stops the job: cancelled, with the reason at the end of its transcript, and its registration gone', () => withWorld(async ({ jobs, pushes, store }) => {
  const started = jobs.start({ kind: 'ps:scale', app: 'web', identity: alice, origin: 'ssh' }, (t, signal) => new Promise((_resolve, reject) => {
    t.step('Scaling');
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  }));
  assert.equal(pushes.list().length, 1, 'tracked like a push: apps:unlock and a revoked key reach it');
  const end = await jobs.cancel(started.job, 'bob');
  assert.equal(end.status, 'cancelled');
  assert.equal(end.error, 'The job was cancelled by bob.');
  await assert.rejects(started.result, (err: unknown) => err instanceof UserError && err.message === 'The job was cancelled by bob.');
  assert.equal(readFileSync(started.job.logFile, 'utf8'), '-----> Scaling\n !     The job was cancelled by bob.\n');
  assert.equal(pushes.list().length, 0);
  assert.throws(() => jobs.cancel(store.jobs.get(started.job.id)!, 'bob'), /has already ended \(cancelled\)/);
}));

test("a foreground job stops when its caller goes away; a detached one survives its starter's going away, until jobs:cancel", () => withWorld(async ({ jobs }) => {
  const g = gate();
  const work = (_t: unknown, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    void g.wait.then(resolve);
  });
  // Both are started from a connection that then closes; only the foreground one is tied to it.
  const connection = new AbortController();
  const fg = jobs.start({ kind: 'push', app: 'web', identity: alice, origin: 'push', caller: connection.signal }, work);
  const bg = jobs.start({ kind: 'config:set', app: 'web', identity: alice, origin: 'api' }, work);
  const bg2 = jobs.start({ kind: 'ps:restart', app: 'web', identity: alice, origin: 'api' }, work);
  connection.abort();
  const fgEnd = await fg.ended;
  assert.deepEqual([fgEnd.status, fgEnd.error], ['cancelled', 'The job was cancelled: the client went away.']);
  assert.equal((await jobs.cancel(bg2.job, 'alice')).status, 'cancelled');
  g.open();
  assert.equal((await bg.ended).status, 'succeeded');
}));

test('a failing job is failed with its sentence; an internal error is recorded without its details', () => withWorld(async ({ jobs }) => {
  const user = jobs.start({ kind: 'k', app: 'web', identity: alice, origin: 'ssh' }, async () => { throw new UserError('The rollout did not become ready.'); });
  assert.deepEqual([(await user.ended).status, (await user.ended).error], ['failed', 'The rollout did not become ready.']);
  const internal = jobs.start({ kind: 'k', app: 'web', identity: alice, origin: 'ssh' }, async () => { throw new Error('ECONNRESET at 10.0.0.1'); });
  const end = await internal.ended;
  assert.equal(end.status, 'failed');
  assert.equal(end.error, `Internal error; the server log has the details (job ${end.id}).`);
  const entry = logged.map((l) => JSON.parse(l) as { level: string; job?: string; err?: { message: string } }).find((l) => l.job === end.id);
  assert.deepEqual([entry?.level, entry?.err?.message], ['error', 'ECONNRESET at 10.0.0.1'], 'the details are in the log under the job id');
  await assert.rejects(internal.result, /ECONNRESET/, 'the caller still gets the error itself');
}));

test('the echo gets every line as the job writes it; the saved transcript is bounded like a build log', () => withWorld(async ({ jobs }) => {
  const echoed: string[] = [];
  const { job, ended } = jobs.start({
    kind: 'push', app: 'web', identity: alice, origin: 'push',
    echo: { step: () => {}, detail: () => {}, warn: () => {}, raw: (l) => echoed.push(l), drained: async () => {} },
  }, async (t) => {
    for (let i = 0; i < 1000; i++) t.detail(`line ${String(i).padStart(4, '0')} ${'x'.repeat(40)}`);
  });
  await ended;
  assert.equal(echoed.length, 1000, 'the caller sees every line live');
  const saved = readFileSync(job.logFile, 'utf8').split('\n').slice(0, -1);
  assert.ok(saved.length < 1000);
  assert.equal(saved[0], `       line 0000 ${'x'.repeat(40)}`);
  assert.equal(saved.at(-1), `       line 0999 ${'x'.repeat(40)}`);
  assert.ok(saved.some((l) => /^----- \d+ lines \(\d+ bytes\) of this job's transcript are left out here: .*SLIPWAY_MAX_BUILD_LOG_MB/.test(l)), saved.join('\n'));
}, 16 * 1024));

test('a follower that joins after lines slid out of a bounded transcript is told how many it missed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-joblog-'));
  try {
    const log = new JobLog(join(dir, 'j.log'), 400);
    for (let i = 0; i < 100; i++) log.line(`line ${i}`);
    const { lines, next } = log.read(0);
    assert.equal(next, 100);
    assert.equal(lines[0], 'line 0');
    const marker = lines.findIndex((l) => l.startsWith('----- '));
    assert.ok(marker > 0, lines.join('\n'));
    assert.equal(lines.at(-1), 'line 99');
    const skipped = Number(/^----- (\d+) lines/.exec(lines[marker]!)![1]);
    assert.equal(marker + skipped + (lines.length - marker - 1), 100, 'head + skipped + tail = every line');
    log.end();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a job stopped by the server stopping is interrupted, not cancelled', () => withWorld(async ({ jobs, pushes }) => {
  const started = jobs.start({ kind: 'push', app: 'web', identity: alice, origin: 'push' }, (_t, signal) => new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  }));
  // What the server's close does: jobs first, then every deploy in flight is aborted.
  jobs.close();
  pushes.abortAll('the server is stopping');
  const end = await started.ended;
  assert.deepEqual([end.status, end.error], ['interrupted', 'The server stopped while this job ran; it did not finish.']);
  assert.equal(readFileSync(started.job.logFile, 'utf8'), ' !     The server stopped while this job ran; it did not finish.\n');
}));

test('a job run by another process (the local CLI) is followed through its file to its end', () => withWorld(async ({ store, jobs: elsewhere, logsDir }) => {
  const here = new JobRunner(store, { logsDir, maxBuildLogBytes: 1024 * 1024 }, new RunningDeploys());
  const g = gate();
  const started = elsewhere.start({ kind: 'config:set', app: 'web', identity: { name: 'local', admin: true, via: 'local' }, origin: 'cli' }, async (t) => {
    t.step('Setting config — ünïcode');
    await g.wait;
    t.detail('web: 1/1 ready');
    throw new UserError('The rollout did not become ready.');
  });
  const seen: string[] = [];
  let first!: () => void;
  const sawFirst = new Promise<void>((resolve) => { first = resolve; });
  const following = here.follow(started.job, (lines) => { seen.push(...lines); first(); }, new AbortController().signal);
  await sawFirst;
  assert.deepEqual(seen, ['-----> Setting config — ünïcode']);
  g.open();
  const end = await following;
  assert.equal(end.status, 'failed');
  assert.deepEqual(seen, ['-----> Setting config — ünïcode', '       web: 1/1 ready', ' !     The rollout did not become ready.']);
  assert.throws(() => here.cancel(store.jobs.get(started.job.id)!, 'alice'), /already ended/);
}));
