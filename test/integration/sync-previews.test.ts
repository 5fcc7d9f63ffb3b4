// Previews of a forge's branches against a real server (fake builder and deployer): a local bare
// repository served over smart HTTP plays the forge, as in sync.test.ts. With previews on, a
// signed push of another branch deploys its preview as a sync job and its deletion destroys it; the
// limit refuses with the push's sentence; with previews off the same delivery is ignored; polling
// makes previews of new branches, removes those of deleted ones and skips past the limit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { newApp, startTestServer, type TestServer } from '../support/harness.ts';
import { githubDeletion, githubPush, githubSignature, startForge, type TestForge } from '../support/forge.ts';
import { eventually } from '../support/eventually.ts';
import { previewAppName } from '../../server/names.ts';
import { pollSyncs } from '../../server/ops/sync/sync-poll.ts';

interface Answer { status: number; json: { message: string; job?: { id: string; kind: string; by: string; app: string } } }
interface Listed { app: string; branch: string; commit: string | null; url: string }

describe('previews of a forge\'s branches: webhooks and polling', { timeout: 180_000 }, () => {
  let s: TestServer;
  let forge: TestForge;

  before(async () => {
    s = await startTestServer();
    forge = await startForge(join(s.dir, 'forge'));
  });
  after(async () => {
    await forge.close();
    await s.close();
  });

  const ok = async (command: string) => {
    const r = await s.ssh(s.admin, command);
    assert.equal(r.exitCode, 0, `${command}: ${r.stderr}`);
    return r.stdout;
  };

  async function deliver(app: string, body: string): Promise<Answer> {
    const secret = (JSON.parse(await ok(`sync:webhook ${app} --json`)) as { secret: string }).secret;
    const headers = { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': githubSignature(secret, body) };
    const res = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/hooks/${app}`, { method: 'POST', headers, body });
    return { status: res.status, json: JSON.parse(await res.text()) as Answer['json'] };
  }

  /** A new app following main of a new forge repository with one commit. */
  async function connected(prefix: string): Promise<{ app: string; repo: string; main: string }> {
    const app = await newApp(s, prefix);
    const repo = `${app}-src`;
    await forge.create(repo);
    const main = await forge.commit(repo, { 'index.js': 'console.log(1)\n' });
    await ok(`sync:set ${app} ${forge.url(repo)} main`);
    return { app, repo, main };
  }

  const previews = async (app: string) => JSON.parse(await ok(`previews ${app} --json`)) as Listed[];
  const refOf = async (app: string, ref: string) =>
    (await s.git(['--git-dir', join(s.dir, 'data/repos', `${app}.git`), 'rev-parse', '--verify', '--quiet', ref])).stdout.trim();
  const appExists = async (app: string) => (await s.ssh(s.admin, `apps:info ${app} --json`)).exitCode === 0;
  const deploysOf = (app: string) => s.deployer.rollout.deployed.filter((r) => r.app === app);
  const jobsOf = (app: string) => s.slipway.services.store.jobs.list(app, 100);

  async function jobEnd(id: string) {
    return eventually(`job ${id} to end`, async () => {
      const j = s.slipway.services.store.jobs.get(id);
      return j && j.status !== 'running' && j.status !== 'queued' ? j : undefined;
    }, 30_000, 50);
  }

  test('a signed push of another branch deploys its preview as a sync job; its deletion destroys the preview and the branch', async () => {
    const { app, repo } = await connected('hookpv');
    await ok(`config:set ${app} LOG_LEVEL=debug DATABASE_URL=postgres://prod --no-restart`);
    await ok(`previews:enable ${app}`);
    await ok(`previews:config ${app} --share LOG_LEVEL`);
    const name = previewAppName(app, 'feature/login');
    const sha = await forge.commit(repo, { 'login.js': 'login\n' }, 'feature/login');

    const r = await deliver(app, githubPush('feature/login', sha));
    assert.equal(r.status, 202, r.json.message);
    assert.equal(r.json.job?.kind, 'sync');
    assert.equal(r.json.job?.app, name);
    assert.match(r.json.message, new RegExp(`^Syncing feature/login \\(${sha.slice(0, 7)}\\) to its preview ${name} as job [a-z0-9]{12}\\.$`));
    const job = await jobEnd(r.json.job!.id);
    assert.equal(job.status, 'succeeded', job.error ?? '');
    assert.equal(job.origin, 'webhook');

    // The same deploy a push of the branch runs: the preview app, the shared key only, its URL.
    const deployed = deploysOf(name);
    assert.deepEqual(deployed.map((d) => d.commit), [sha]);
    assert.equal(deployed[0]!.config.LOG_LEVEL, 'debug');
    assert.equal(Object.hasOwn(deployed[0]!.config, 'DATABASE_URL'), false, 'an unshared key stays out of the preview');
    assert.deepEqual(deploysOf(app), [], 'the parent is not deployed');
    assert.deepEqual((await previews(app)).map((p) => [p.app, p.branch, p.commit, p.url]), [[name, 'feature/login', sha, `http://${name}.apps.test`]]);
    assert.equal(await refOf(app, 'refs/heads/feature/login'), sha, 'the branch is in the app\'s repository, as after a push');
    const transcript = await ok(`jobs:output ${job.id}`);
    assert.match(transcript, /-----> Fetching feature\/login from http:\/\/127\.0\.0\.1:\d+\//);
    assert.ok(transcript.includes(`-----> Deploying preview ${name} of ${app} (${sha.slice(0, 7)}) from feature/login`), transcript);
    assert.ok(transcript.includes(`=====> Application deployed:\n       http://${name}.apps.test`), transcript);
    const info = JSON.parse(await ok(`sync ${app} --json`)) as { lastResult: string };
    assert.match(info.lastResult, new RegExp(`^Preview ${name} of feature/login: Deployed ${sha.slice(0, 7)} as v1 \\(job [a-z0-9]{12}, webhook\\)$`));

    // The same signed body delivered again under a new delivery id is a replay: nothing runs.
    const again = await deliver(app, githubPush('feature/login', sha));
    assert.equal(again.status, 409, again.json.message);
    assert.equal(deploysOf(name).length, 1);

    await forge.deleteBranch(repo, 'feature/login');
    const gone = await deliver(app, githubDeletion('feature/login', sha));
    assert.equal(gone.status, 202, gone.json.message);
    assert.equal(gone.json.message, `Destroying ${name}, the preview of feature/login; feature/login is deleted here too.`);
    await eventually('the preview to be destroyed', async () => (!(await appExists(name)) && (await refOf(app, 'refs/heads/feature/login')) === '') || undefined, 30_000, 50);
    assert.ok(s.deployer.rollout.destroyed.includes(name));
    assert.deepEqual(await previews(app), []);
    assert.equal(await refOf(app, 'refs/slipway/preview-sync/feature/login'), '');
  });

  test('past the limit a branch\'s delivery is refused with the push\'s sentence and nothing is written', async () => {
    const { app, repo } = await connected('hooklim');
    await ok(`previews:enable ${app}`);
    await ok(`previews:limit ${app} 0`);
    const sha = await forge.commit(repo, { 'x.js': 'x\n' }, 'feature');
    const r = await deliver(app, githubPush('feature', sha));
    assert.equal(r.status, 409);
    assert.equal(r.json.message, `${app} allows no previews (previews:limit ${app} is 0); nothing was deployed.`);
    assert.equal(r.json.job, undefined);
    assert.equal(await appExists(previewAppName(app, 'feature')), false);
    assert.deepEqual(await previews(app), []);
    assert.equal(await refOf(app, 'refs/heads/feature'), '');
    // The app's own deploy branch is never a preview, even when the app follows another branch.
    await ok(`sync:set ${app} ${forge.url(repo)} feature`);
    await ok(`previews:limit ${app} 5`);
    const main = await deliver(app, githubPush('main', sha));
    assert.equal(main.status, 202);
    assert.equal(main.json.message, `Nothing to do: main is ${app}'s own deploy branch here, so it has no preview.`);
    assert.equal(main.json.job, undefined);
  });

  test('with previews off the same delivery is answered 202 with the reason and deploys nothing', async () => {
    const { app, repo } = await connected('hookoff');
    const jobsBefore = jobsOf(app).length;
    const sha = await forge.commit(repo, { 'x.js': 'x\n' }, 'feature');
    const r = await deliver(app, githubPush('feature', sha));
    assert.equal(r.status, 202);
    assert.equal(r.json.job, undefined);
    assert.equal(r.json.message, `Nothing to do: the push moved feature, and ${app} follows main.`);
    assert.equal(await appExists(previewAppName(app, 'feature')), false);
    assert.deepEqual(await previews(app), []);
    assert.equal(jobsOf(app).length, jobsBefore);
    assert.equal(await refOf(app, 'refs/heads/feature'), '');
    const gone = await deliver(app, githubDeletion('feature', sha));
    assert.equal(gone.status, 202);
    assert.equal(gone.json.job, undefined);
  });

  test('polling makes previews of new branches, removes those of deleted ones, and skips past the limit without failing', async () => {
    const { app, repo, main } = await connected('pollpv');
    await ok(`previews:enable ${app}`);
    await ok(`sync:poll ${app} 5m`);
    const a = previewAppName(app, 'feature-a');
    const b = previewAppName(app, 'feature-b');
    const c = previewAppName(app, 'feature-c');
    const shaA = await forge.commit(repo, { 'a.js': 'a\n' }, 'feature-a');
    const mine = (jobs: Awaited<ReturnType<typeof pollSyncs>>) => jobs.filter((j) => j.job.app === app || j.job.app.startsWith(`${app}--`));
    const t0 = Date.now();

    const first = mine(await pollSyncs(s.slipway.services, t0));
    assert.deepEqual(first.map((j) => [j.job.app, j.job.kind, j.job.origin]).sort(), [[app, 'sync', 'poll'], [a, 'sync', 'poll']].sort());
    for (const j of first) assert.equal((await j.ended).status, 'succeeded');
    assert.deepEqual(deploysOf(app).map((d) => d.commit), [main]);
    assert.deepEqual(deploysOf(a).map((d) => d.commit), [shaA]);
    assert.deepEqual((await previews(app)).map((p) => [p.app, p.branch, p.commit]), [[a, 'feature-a', shaA]]);

    // Unchanged branches start nothing.
    assert.deepEqual(mine(await pollSyncs(s.slipway.services, t0 + 5 * 60_000)), []);

    // feature-a deleted at the forge, feature-b new: one preview goes, the other comes.
    await forge.deleteBranch(repo, 'feature-a');
    const shaB = await forge.commit(repo, { 'b.js': 'b\n' }, 'feature-b');
    const second = mine(await pollSyncs(s.slipway.services, t0 + 10 * 60_000));
    assert.deepEqual(second.map((j) => j.job.app), [b]);
    assert.equal((await second[0]!.ended).status, 'succeeded');
    assert.equal(await appExists(a), false);
    assert.ok(s.deployer.rollout.destroyed.includes(a));
    assert.equal(await refOf(app, 'refs/heads/feature-a'), '');
    assert.equal(await refOf(app, 'refs/heads/feature-b'), shaB);
    assert.deepEqual((await previews(app)).map((p) => [p.app, p.branch, p.commit]), [[b, 'feature-b', shaB]]);

    // Past the limit: the new branch is skipped (logged), the poll does not fail, nothing is written.
    await ok(`previews:limit ${app} 1`);
    await forge.commit(repo, { 'c.js': 'c\n' }, 'feature-c');
    assert.deepEqual(mine(await pollSyncs(s.slipway.services, t0 + 15 * 60_000)), []);
    assert.equal(await appExists(c), false);
    assert.equal(await refOf(app, 'refs/heads/feature-c'), '');
    const info = JSON.parse(await ok(`sync ${app} --json`)) as { lastResult: string };
    assert.doesNotMatch(info.lastResult, /Polling failed/);
    assert.deepEqual((await previews(app)).map((p) => p.branch), ['feature-b']);
  });
});
