// apps:promote over the real SSH server and the HTTP API, with fakes only at Slipway's own
// interfaces (FakeBuilder publishing to a FakeRegistry, FakeDeployer): the target gets a release
// of staging's image by digest (copied into its own repository, no build), its own config and
// staging's process types, after the release phase; what changes is said first; every refusal
// (itself, unknown apps, no release, a key without access, an unconfirmed removal) writes nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKey, newApp, startTestServer, useControls, type TestKey, type TestServer } from '../support/harness.ts';
import { FakeRegistry } from '../support/fakes.ts';
import { api, apiError, makeToken } from '../support/api-client.ts';
import { eventually } from '../support/eventually.ts';

interface ReleaseRow { version: number; status: string; description: string; image: string; commit: string }
type Job = { id: string; kind: string; app: string; status: string; release: number | null; error: string | null };

const WEB = { type: 'web', command: ['web'], args: [], default: true };
const WORKER = { type: 'worker', command: ['worker'], args: [], default: false };
const CLOCK = { type: 'clock', command: ['clock'], args: [], default: false };
const RELEASE = { type: 'release', command: ['release'], args: [], default: false };

describe('apps:promote (fake builder, registry and deployer at their interfaces)', { timeout: 120_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  const registry = new FakeRegistry();
  const ssh = (command: string, key?: TestKey) => s.ssh(key ?? s.admin, command);
  const releases = async (app: string): Promise<ReleaseRow[]> => JSON.parse((await ssh(`releases ${app} --json`)).stdout) as ReleaseRow[];
  const lastDeploy = (app: string) => s.deployer.rollout.deployed.findLast((d) => d.app === app)!;
  const digest = (image: string) => image.slice(image.indexOf('@') + 1);
  /** Pushes `wd` (its main) to `app` and returns the commit. */
  const pushTo = async (app: string, wd: string): Promise<string> => {
    const r = await s.git(['push', '--force', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    return (await s.git(['rev-parse', 'HEAD'], { cwd: wd })).stdout.trim();
  };
  const commit = async (wd: string, message: string) => {
    assert.equal((await s.git(['commit', '-q', '--allow-empty', '-m', message], { cwd: wd })).exitCode, 0);
  };
  /** Everything a refused promotion must have left alone. */
  const snapshot = async (...apps: string[]) => ({
    releases: await Promise.all(apps.map((a) => releases(a))),
    copies: registry.copies.length,
    deploys: s.deployer.rollout.deployed.length,
    builds: s.builder.builds.length,
  });

  before(async () => {
    s = await startTestServer({ SLIPWAY_KEEP_RELEASES: '1' }, { registry });
    s.builder.registry = registry;
    dev = await makeKey(s.dir, 'dev');
  });
  after(() => s.close());

  test("the target releases staging's image by digest with its own config and staging's process types, release phase first, saying what changes", async (t) => {
    const staging = await newApp(s, 'staging');
    const production = await newApp(s, 'production');
    // Config before the first deploys: only stored.
    assert.equal((await ssh(`config:set ${staging} SHARED=staging-value DEBUG=1`)).exitCode, 0);
    assert.equal((await ssh(`config:set ${production} SHARED=production-value SENTRY_DSN=https://key@sentry`)).exitCode, 0);
    const wd = await s.workRepo({ 'index.js': 'promote one\n' });
    const old = await pushTo(production, wd);
    await commit(wd, 'Add the worker');
    await commit(wd, 'Fix the thing');
    useControls(t, s, { processes: [WEB, WORKER, RELEASE] });
    const next = await pushTo(staging, wd);
    const [stagingV1] = await releases(staging);
    const builds = s.builder.builds.length;

    const r = await ssh(`apps:promote ${staging} --to ${production}`);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^-----> Job [0-9a-z]+ \(apps:promote\)$/);
    const subjects = (await s.git(['log', '--format=%h %s', '-2'], { cwd: wd })).stdout.trim().split('\n');
    assert.deepEqual(lines.slice(1, 12), [
      `-----> Promoting ${staging} v1 to ${production}`,
      `       Commits: ${old.slice(0, 7)} -> ${next.slice(0, 7)}, 2 new:`,
      `         ${subjects[0]}`,
      `         ${subjects[1]}`,
      `       Config keys only in ${staging}: DEBUG`,
      `       Config keys only in ${production}: SENTRY_DSN`,
      '       Process types added: worker',
      `-----> Releasing v2 (promoted from ${staging} v1)`,
      '-----> Running release command',
      '       fake release command of v2',
      '       web: 1/1 ready',
    ]);
    assert.equal(lines.at(-1), `Promoting ${staging} v1 to ${production}... done, v2`);
    assert.ok(!r.stdout.includes('value') && !r.stdout.includes('sentry'), 'config values are never shown');
    assert.ok(!r.stdout.includes('fake build'), 'no build');
    assert.equal(s.builder.builds.length, builds, 'no build');

    const [v2] = await releases(production);
    assert.deepEqual([v2!.version, v2!.status, v2!.description, v2!.commit], [2, 'succeeded', `promoted from ${staging} v1`, next]);
    assert.equal(digest(v2!.image), digest(stagingV1!.image), 'the same image digest');
    assert.equal(v2!.image, `registry.test/${production}@${digest(stagingV1!.image)}`, "in the target's own repository");
    assert.deepEqual(registry.copies.at(-1), { from: staging, to: production, digest: digest(stagingV1!.image), tag: `promoted-${staging}-v1` });
    const deployed = lastDeploy(production);
    assert.deepEqual(deployed.config, { SHARED: 'production-value', SENTRY_DSN: 'https://key@sentry' }, "the target's own config");
    assert.deepEqual(deployed.processes.map((p) => p.type), ['web', 'worker', 'release'], "staging's process types");
    assert.equal(s.deployer.oneOff.releasePhases.at(-1)!.app, production, 'the release phase ran in the target');
    assert.match((await ssh(`releases ${production}`)).stdout, new RegExp(`v2\\s+promoted from ${staging} v1\\s+succeeded`));
    // The staging app is untouched.
    assert.deepEqual((await releases(staging)).map((x) => x.version), [1]);
  });

  test("garbage collection of staging never takes what a target runs: the target holds the digest in its own repository", async () => {
    const staging = await newApp(s, 'gcstaging');
    const production = await newApp(s, 'gcproduction');
    const wd = await s.workRepo({ 'index.js': 'gc promote\n' });
    await pushTo(production, wd);
    await commit(wd, 'staged');
    await pushTo(staging, wd);
    const promoted = digest((await releases(staging))[0]!.image);
    assert.equal((await ssh(`apps:promote ${staging} --to ${production}`)).exitCode, 0);
    // Staging moves on: with SLIPWAY_KEEP_RELEASES=1 its v1 image goes from its repository.
    for (const n of [1, 2, 3]) {
      await commit(wd, `staging ${n}`);
      await pushTo(staging, wd);
    }
    assert.equal((await ssh('gc')).exitCode, 0);
    await eventually("staging's own copy of the promoted image to be deleted", async () => ![...(registry.repos.get(staging)?.values() ?? [])].includes(promoted));
    assert.equal(registry.repos.get(production)?.get(`promoted-${staging}-v1`), promoted, "the target's tag stays");
    const [current] = JSON.parse((await ssh(`releases ${production} --json`)).stdout) as { version: number; imageCollectedAt: string | null; image: string }[];
    assert.deepEqual([current!.version, current!.imageCollectedAt, digest(current!.image)], [2, null, promoted]);
  });

  test("a target with a canary setting takes the promotion as a canary: staging's image at the first step beside what it runs, then all of it", async () => {
    const staging = await newApp(s, 'cnstaging');
    const production = await newApp(s, 'cnproduction');
    const wd = await s.workRepo({ 'index.js': 'canary promote\n' });
    await pushTo(production, wd);
    await commit(wd, 'staged');
    await pushTo(staging, wd);
    const stable = lastDeploy(production).version;
    assert.equal((await ssh(`canary:set ${production} 10 --step 1s`)).exitCode, 0);
    s.deployer.canary.traffic = { stable: { requests: 100, errors: 0, ms: 20 }, canary: { requests: 10, errors: 0, ms: 20 } };
    const calls = s.deployer.canary.calls.length;
    const r = await ssh(`apps:promote ${staging} --to ${production}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Canary: v${stable + 1} beside v${stable} \\(10 % → 100 %, 1 s windows`));
    assert.deepEqual(s.deployer.canary.calls.slice(calls), [`start ${production} v${stable + 1} 10`, `finish ${production}`]);
    assert.equal(digest(lastDeploy(production).image), digest((await releases(staging))[0]!.image), "production runs staging's image");
  });

  test('refusals, each one sentence with nothing written: itself, unknown apps, no release, no --to', async () => {
    const staging = await newApp(s, 'rstaging');
    const production = await newApp(s, 'rproduction');
    const before = await snapshot(staging, production);
    const self = await ssh(`apps:promote ${staging} --to ${staging}`);
    assert.deepEqual([self.exitCode, self.stderr], [1, ` !     ${staging} cannot be promoted to itself; name another app to promote to.`]);
    const unknown = await ssh(`apps:promote ${staging} --to nosuch-app`);
    assert.deepEqual([unknown.exitCode, unknown.stderr], [1, ' !     App "nosuch-app" does not exist.']);
    const noRelease = await ssh(`apps:promote ${staging} --to ${production}`);
    assert.deepEqual([noRelease.exitCode, noRelease.stderr], [1, ` !     ${staging} has no release to promote; push it first (git push paas main).`]);
    const unknownStaging = await ssh(`apps:promote nosuch-app --to ${production}`);
    assert.deepEqual([unknownStaging.exitCode, unknownStaging.stderr], [1, ' !     App "nosuch-app" does not exist.']);
    const noTo = await ssh(`apps:promote ${staging}`);
    assert.equal(noTo.exitCode, 2);
    assert.match(noTo.stderr, /usage: apps:promote APP --to TARGET/);
    assert.deepEqual(await snapshot(staging, production), before);
  });

  test('a process type the target would lose needs --confirm TARGET; every target is judged before any is touched', async (t) => {
    const staging = await newApp(s, 'cstaging');
    const production = await newApp(s, 'cproduction');
    const qa = await newApp(s, 'cqa');
    const wd = await s.workRepo({ 'index.js': 'confirm\n' });
    useControls(t, s, { processes: [WEB, CLOCK] });
    await pushTo(production, wd);
    s.controls.processes = [WEB];
    await commit(wd, 'no more clock');
    await pushTo(staging, wd);
    const before = await snapshot(staging, production, qa);
    // qa (first, fine on its own) is not promoted either: production's refusal comes first.
    const refused = await ssh(`apps:promote ${staging} --to ${qa},${production}`);
    assert.equal(refused.exitCode, 1);
    assert.equal(refused.stderr, ` !     Promoting ${staging} to ${production} removes its process type clock and stops what runs there, so nothing was promoted: confirm with --confirm ${production}.`);
    assert.equal(refused.stdout, '');
    assert.deepEqual(await snapshot(staging, production, qa), before, 'nothing written anywhere');

    const ok = await ssh(`apps:promote ${staging} --to ${qa},${production} --confirm ${production}`);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.match(ok.stdout, /Process types removed: clock/);
    assert.equal(ok.stdout.match(/^-----> Job [0-9a-z]+ \(apps:promote\)$/gm)?.length, 2, 'one job per target');
    assert.ok(ok.stdout.endsWith(`Promoting ${staging} v1 to ${qa}... done, v1\nPromoting ${staging} v1 to ${production}... done, v2`), ok.stdout);
    assert.match(ok.stdout, new RegExp(`Commit: [0-9a-f]{7} \\(${qa} runs no earlier commit\\)`));
    assert.deepEqual(lastDeploy(production).processes.map((p) => p.type), ['web']);
    assert.equal((await releases(qa))[0]!.description, `promoted from ${staging} v1`);
  });

  test('apps the caller may not use are refused as unknown ones, whichever side they are on', async () => {
    const staging = await newApp(s, 'astaging');
    const production = await newApp(s, 'aproduction');
    await pushTo(staging, await s.workRepo({ 'index.js': 'access\n' }));
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    assert.equal((await ssh(`access:grant ${staging} ${dev.name}`)).exitCode, 0);
    const before = await snapshot(staging, production);
    const target = await ssh(`apps:promote ${staging} --to ${production}`, dev);
    assert.deepEqual([target.exitCode, target.stderr], [1, ` !     App "${production}" does not exist, or your key has no access to it.`]);
    assert.equal((await ssh(`access:revoke ${staging} ${dev.name}`)).exitCode, 0);
    assert.equal((await ssh(`access:grant ${production} ${dev.name}`)).exitCode, 0);
    const source = await ssh(`apps:promote ${staging} --to ${production}`, dev);
    assert.deepEqual([source.exitCode, source.stderr], [1, ` !     App "${staging}" does not exist, or your key has no access to it.`]);
    assert.deepEqual(await snapshot(staging, production), before);
    // With both granted, the key may promote.
    assert.equal((await ssh(`access:grant ${staging} ${dev.name}`)).exitCode, 0);
    const ok = await ssh(`apps:promote ${staging} --to ${production}`, dev);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.equal((JSON.parse((await ssh(`releases ${production} --json`)).stdout) as { createdBy: string }[])[0]!.createdBy, dev.name);
  });

  test("apps pushed from unrelated repositories: only the two short SHAs", async () => {
    const staging = await newApp(s, 'ustaging');
    const production = await newApp(s, 'uproduction');
    const a = await pushTo(production, await s.workRepo({ 'index.js': 'unrelated one\n' }));
    const b = await pushTo(staging, await s.workRepo({ 'index.js': 'unrelated two\n' }));
    const r = await ssh(`apps:promote ${staging} --to ${production}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(r.stdout.includes(`       Commits: ${a.slice(0, 7)} -> ${b.slice(0, 7)} (the commits between are in neither app's repository)\n`), r.stdout);
  });

  test('POST /apps/:app/promote is 202 with the job; refusals are the request\'s, with nothing written', async () => {
    const staging = await newApp(s, 'pstaging');
    const production = await newApp(s, 'pproduction');
    const wd = await s.workRepo({ 'index.js': 'api\n' });
    await pushTo(staging, wd);
    const token = await makeToken(s, s.admin, `promote-${staging}`);
    const readToken = await makeToken(s, s.admin, `promote-read-${staging}`, 'read');
    const forbidden = await api(s, 'POST', `/apps/${staging}/promote`, { token: readToken, body: { to: [production] } });
    assert.equal(forbidden.status, 403, forbidden.text);
    const self = await api(s, 'POST', `/apps/${staging}/promote`, { token, body: { to: [staging] } });
    assert.equal(self.status, 422);
    assert.equal(apiError(self).message, `${staging} cannot be promoted to itself; name another app to promote to.`);
    const unknown = await api(s, 'POST', `/apps/${staging}/promote`, { token, body: { to: ['nosuch-app'] } });
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal((await api(s, 'POST', `/apps/${staging}/promote`, { token, body: { to: [] } })).status, 422, 'an empty list is invalid');
    assert.deepEqual(await releases(production), []);

    const r = await api(s, 'POST', `/apps/${staging}/promote`, { token, body: { to: [production] } });
    assert.equal(r.status, 202, r.text);
    const { job } = r.json as { job: Job };
    assert.deepEqual([job.kind, job.app], ['apps:promote', production]);
    const done = await eventually('the promotion job to end', async () => {
      const j = (await api(s, 'GET', `/jobs/${job.id}`, { token })).json as Job;
      return j.status !== 'queued' && j.status !== 'running' && j;
    });
    assert.deepEqual([done.status, done.release], ['succeeded', 1], done.error ?? '');
    const output = (await api(s, 'GET', `/jobs/${job.id}/output`, { token })).text;
    assert.match(output, new RegExp(`-----> Promoting ${staging} v1 to ${production}\\n`));
    assert.equal((await releases(production))[0]!.description, `promoted from ${staging} v1`);
  });
});
