// Preview apps through the real SSH and HTTP servers and the real git client, with the fake
// builder and deployer: a push of another branch deploys its preview, deleting it destroys it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { deployedApp, makeKey, newApp, remoteLines, startTestServer, useControls, type TestKey, type TestServer } from '../support/harness.ts';
import { previewAppName } from '../../server/names.ts';
import { api } from '../support/api-client.ts';
import { reconcilePreviews } from '../../server/ops/previews/preview-reconcile.ts';

interface Listed { app: string; branch: string; commit: string | null; url: string; ageSeconds: number }

describe('preview apps of branches', () => {
  let s: TestServer;
  let dev: TestKey;
  let devToken: string;
  before(async () => {
    s = await startTestServer();
    dev = await makeKey(s.dir, 'dev');
    await s.ssh(s.admin, 'keys:add dev', dev.pub);
    devToken = (await s.ssh(dev, 'tokens:create devtok')).stdout.split('\n')[1]!;
  });
  after(() => s.close());

  const ok = async (command: string, key: TestKey = s.admin) => {
    const r = await s.ssh(key, command);
    assert.equal(r.exitCode, 0, `${command}: ${r.stderr}`);
    return r.stdout;
  };
  const refOf = async (app: string, branch: string) =>
    (await s.git(['--git-dir', join(s.dir, 'data/repos', `${app}.git`), 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`])).stdout.trim();
  const head = async (wd: string) => (await s.git(['rev-parse', 'HEAD'], { cwd: wd })).stdout.trim();
  const commit = async (wd: string, message: string) => {
    await s.git(['commit', '-q', '--allow-empty', '-m', message], { cwd: wd });
    return head(wd);
  };
  const previews = async (app: string) => JSON.parse(await ok(`previews ${app} --json`)) as Listed[];
  const appExists = async (app: string) => (await s.ssh(s.admin, `apps:info ${app} --json`)).exitCode === 0;

  test('with previews off a push of another branch is refused as before', async () => {
    const { app, wd } = await deployedApp(s, 'off');
    const r = await s.git(['push', s.sshRemote(app), 'main:feature-x'], { cwd: wd });
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).some((l) => l.startsWith(' !     Pushed to refs/heads/feature-x, but only main (or master) deploys')), r.stderr);
    assert.equal(await refOf(app, 'feature-x'), '');
    assert.deepEqual(await previews(app), []);
  });

  test('a pushed branch deploys its own preview app with the shared keys only; a second push updates it; deleting the branch destroys it', async () => {
    const { app, wd } = await deployedApp(s, 'shop');
    await ok(`config:set ${app} LOG_LEVEL=debug DATABASE_URL=postgres://prod --no-restart`);
    await ok(`previews:enable ${app}`);
    await ok(`previews:config ${app} --share LOG_LEVEL`);
    const name = previewAppName(app, 'feature/Login');

    const sha1 = await commit(wd, 'feature one');
    const r1 = await s.git(['push', s.sshRemote(app), 'HEAD:refs/heads/feature/Login'], { cwd: wd });
    assert.equal(r1.exitCode, 0, r1.stderr);
    const lines = remoteLines(r1.stderr);
    assert.ok(lines.includes(`-----> Deploying preview ${name} of ${app} (${sha1.slice(0, 7)}) from feature/Login`), lines.join('\n'));
    const at = lines.indexOf('=====> Application deployed:');
    assert.equal(lines[at + 1], `       http://${name}.apps.test`);
    const deployed = s.deployer.rollout.deployed.at(-1)!;
    assert.equal(deployed.app, name);
    assert.equal(deployed.config.LOG_LEVEL, 'debug');
    assert.equal(Object.hasOwn(deployed.config, 'DATABASE_URL'), false, 'an unshared key stays out of the preview');
    assert.equal(s.builder.builds.at(-1)?.commit, sha1);
    assert.equal(await refOf(app, 'feature/Login'), sha1);
    // The parent's deploy is untouched, and main still deploys the parent.
    assert.deepEqual((JSON.parse(await ok(`releases ${app} --json`)) as unknown[]).length, 1);
    let list = await previews(app);
    assert.deepEqual(list.map((p) => [p.app, p.branch, p.commit, p.url]), [[name, 'feature/Login', sha1, `http://${name}.apps.test`]]);

    // config:set of the preview sets its own value; the parent keeps its own.
    await ok(`config:set ${name} DATABASE_URL=postgres://preview`);
    assert.equal(s.deployer.rollout.deployed.at(-1)?.config.DATABASE_URL, 'postgres://preview');
    assert.equal((JSON.parse(await ok(`config ${app} --json`)) as Record<string, string>).DATABASE_URL, 'postgres://prod');

    const sha2 = await commit(wd, 'feature two');
    const r2 = await s.git(['push', s.sshRemote(app), 'HEAD:refs/heads/feature/Login'], { cwd: wd });
    assert.equal(r2.exitCode, 0, r2.stderr);
    const rel = JSON.parse(await ok(`releases ${name} --json`)) as { version: number; commit: string }[];
    assert.deepEqual(rel.map((x) => [x.version, x.commit]), [[3, sha2], [2, sha1], [1, sha1]]);
    assert.equal(s.deployer.rollout.deployed.at(-1)?.app, name);
    list = await previews(app);
    assert.equal(list[0]?.commit, sha2);

    const r3 = await s.git(['push', s.sshRemote(app), ':refs/heads/feature/Login'], { cwd: wd });
    assert.equal(r3.exitCode, 0, r3.stderr);
    assert.ok(remoteLines(r3.stderr).includes(`-----> Destroying preview ${name} of feature/Login`), r3.stderr);
    assert.ok(s.deployer.rollout.destroyed.includes(name));
    assert.equal(await appExists(name), false);
    assert.equal(await refOf(app, 'feature/Login'), '');
    assert.deepEqual(await previews(app), []);
  });

  test('a preview push past the limit is refused with one sentence and nothing written', async () => {
    const { app, wd } = await deployedApp(s, 'limit');
    await ok(`previews:enable ${app}`);
    await ok(`previews:limit ${app} 1`);
    assert.equal((await s.git(['push', s.sshRemote(app), 'main:one'], { cwd: wd })).exitCode, 0);
    const r = await s.git(['push', s.sshRemote(app), 'main:two'], { cwd: wd });
    assert.notEqual(r.exitCode, 0);
    const refusal = remoteLines(r.stderr).filter((l) => l.startsWith(' !     '));
    assert.deepEqual(refusal, [` !     ${app} already has its 1 preview (previews:limit ${app}); delete a branch (git push paas :BRANCH) or raise the limit; nothing was deployed.`], r.stderr);
    assert.equal(await refOf(app, 'two'), '');
    assert.equal(await appExists(previewAppName(app, 'two')), false);
    assert.deepEqual((await previews(app)).map((p) => p.branch), ['one']);
    // A deployer may not raise the limit past the default.
    await ok(`access:grant ${app} dev`);
    const raise = await s.ssh(dev, `previews:limit ${app} 9`);
    assert.equal(raise.exitCode, 1);
    assert.match(raise.stderr, /Only admins may allow more than 5 previews/);
  });

  test("a preview's quota is its share of the parent's: an admin's quota and previews:limit reach running previews at once, and a preview its share cannot hold is refused (issue 35, item 7)", async () => {
    const { app, wd } = await deployedApp(s, 'share');
    // The attack: the parent limited by an admin, its previews got the platform's 10 pods / 2Gi / 4 CPU each.
    await ok(`resource:quota ${app} --pods 4 --memory 1Gi`);
    await ok(`previews:enable ${app}`);
    await ok(`previews:limit ${app} 2`);
    assert.equal((await s.git(['push', s.sshRemote(app), 'main:small'], { cwd: wd })).exitCode, 0);
    const name = previewAppName(app, 'small');
    const deployed = s.deployer.rollout.deployed.at(-1)!;
    assert.equal(deployed.app, name);
    assert.deepEqual(deployed.quota!.quota, { pods: 2, memory: '512Mi', cpu: '2', ephemeralStorage: '2Gi' });
    assert.deepEqual(deployed.quota!.share, { parent: app, previews: 2 });
    // No warm set beside its instance and its replacement: the share would have no room left for a release pod or `run`.
    assert.equal(deployed.warmSeconds, 0);
    assert.match(await ok(`ps:warm ${name}`), /a preview's default: its share of its parent's quota holds no warm set/);
    assert.match(await ok(`resource:quota ${name}`), new RegExp(`Pods:\\s+2 \\(1/2 of ${app}'s, previews:limit ${app}\\)`));
    assert.equal((JSON.parse(await ok(`resource:quota ${name} --json`)) as { memory: string }).memory, '512Mi');
    const own = await s.ssh(s.admin, `resource:quota ${name} --pods 10`);
    assert.equal(own.exitCode, 1);
    assert.equal(own.stderr, ` !     ${name} is a preview of ${app}: its quota is its share of ${app}'s (divided by previews:limit ${app}); change either of those.`);

    // An admin lowers the parent's quota: the running preview's namespace follows at once.
    await ok(`resource:quota ${app} --memory 512Mi`);
    assert.deepEqual(s.deployer.rollout.quotas.filter((q) => q.app === name).at(-1)?.plan.quota, { pods: 2, memory: '256Mi', cpu: '2', ephemeralStorage: '2Gi' });
    // A higher previews:limit makes each share smaller, at once too.
    await ok(`previews:limit ${app} 4`);
    assert.deepEqual(s.deployer.rollout.quotas.filter((q) => q.app === name).at(-1)?.plan.quota, { pods: 1, memory: '128Mi', cpu: '1', ephemeralStorage: '1Gi' });
    // A new preview its share cannot hold (a web instance and its replacement) is refused before anything runs, and not kept.
    const before = s.deployer.rollout.deployed.length;
    const r = await s.git(['push', s.sshRemote(app), 'main:other'], { cwd: wd });
    assert.notEqual(r.exitCode, 0);
    const other = previewAppName(app, 'other');
    assert.ok(remoteLines(r.stderr).includes(` !     ${other} at web=1 needs 2 pods (counting a second set of web instances and one extra pod per other process type while it rolls out), above its quota of 1 pods (1/4 of ${app}'s quota, previews:limit ${app}); scale down, lower its limits or lower previews:limit ${app}; nothing was deployed.`), r.stderr);
    assert.equal(s.deployer.rollout.deployed.length, before);
    assert.equal(await appExists(other), false);
  });

  test('the release phase runs in the preview, with the preview\'s config', async (t) => {
    const { app, wd } = await deployedApp(s, 'relphase');
    await ok(`config:set ${app} SHARED=1 PRIVATE=2 --no-restart`);
    await ok(`previews:enable ${app}`);
    await ok(`previews:config ${app} --share SHARED`);
    useControls(t, s, { processes: [{ type: 'web', command: ['web'], args: [], default: true }, { type: 'release', command: ['migrate'], args: [], default: true }] });
    const r = await s.git(['push', s.sshRemote(app), 'main:migrations'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    const phase = s.deployer.oneOff.releasePhases.at(-1)!;
    assert.equal(phase.app, previewAppName(app, 'migrations'));
    assert.deepEqual(phase.config, { SHARED: '1' });
  });

  test('a failed first push of a branch leaves no preview app behind', async (t) => {
    const { app, wd } = await deployedApp(s, 'fail');
    await ok(`previews:enable ${app}`);
    useControls(t, s, { buildFailure: 'No buildpack detected this app.' });
    const r = await s.git(['push', s.sshRemote(app), 'main:broken'], { cwd: wd });
    assert.notEqual(r.exitCode, 0);
    assert.equal(await appExists(previewAppName(app, 'broken')), false);
    assert.deepEqual(await previews(app), []);
    assert.equal(await refOf(app, 'broken'), '');
  });

  test('a key granted the app pushes previews over HTTP and uses them; others do not see them', async () => {
    const app = await newApp(s, 'granted');
    const wd = await s.workRepo({ 'index.js': '1\n' });
    await ok(`access:grant ${app} dev`);
    await ok(`previews:enable ${app}`, dev);
    const r = await s.git(['push', s.httpRemote(app, devToken), 'main:feature'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    const name = previewAppName(app, 'feature');
    assert.equal(s.deployer.rollout.deployed.at(-1)?.app, name);
    await ok(`config:set ${name} X=1`, dev);
    const listed = await api(s, 'GET', `/apps/${app}/previews`, { token: devToken });
    assert.equal(listed.status, 200);
    assert.deepEqual((listed.json as Listed[]).map((p) => [p.app, p.branch]), [[name, 'feature']]);
    const settings = await api(s, 'GET', `/apps/${app}/previews/settings`, { token: devToken });
    assert.deepEqual(settings.json, { app, enabled: true, limit: 5, ttl: '7d', sharedKeys: [], forkDb: false });
    assert.ok((await ok('apps:list', dev)).includes(name));
    await ok(`access:revoke ${app} dev`);
    const denied = await s.ssh(dev, `config ${name}`);
    assert.equal(denied.exitCode, 1);
  });

  test('the reconciler destroys a preview not pushed within its time to live and keeps its branch', async () => {
    const { app, wd } = await deployedApp(s, 'ttl');
    await ok(`previews:enable ${app}`);
    await ok(`previews:ttl ${app} 2d`);
    assert.equal((await s.git(['push', s.sshRemote(app), 'main:stale'], { cwd: wd })).exitCode, 0);
    const name = previewAppName(app, 'stale');
    const day = 86_400_000;
    assert.deepEqual((await reconcilePreviews(s.slipway.services, Date.now() + day)).filter((x) => x.parent === app), []);
    assert.ok(await appExists(name));
    const removed = (await reconcilePreviews(s.slipway.services, Date.now() + 2 * day + 60_000)).filter((x) => x.parent === app);
    assert.deepEqual(removed.map((x) => [x.app, x.reason]), [[name, 'expired']]);
    assert.equal(await appExists(name), false);
    assert.ok(s.deployer.rollout.destroyed.includes(name));
    assert.notEqual(await refOf(app, 'stale'), '', 'the branch stays');
  });

  test('previews:disable destroys the previews; apps:destroy of the parent destroys its previews', async () => {
    const { app, wd } = await deployedApp(s, 'parent');
    await ok(`previews:enable ${app}`);
    assert.equal((await s.git(['push', s.sshRemote(app), 'main:a'], { cwd: wd })).exitCode, 0);
    const a = previewAppName(app, 'a');
    const out = await ok(`previews:disable ${app}`);
    assert.ok(out.includes(`Destroyed ${a}, the preview of a (previews disabled).`), out);
    assert.equal(await appExists(a), false);

    await ok(`previews:enable ${app}`);
    assert.equal((await s.git(['push', s.sshRemote(app), 'main:b'], { cwd: wd })).exitCode, 0);
    const b = previewAppName(app, 'b');
    assert.ok(await appExists(b));
    await ok(`apps:destroy ${app} --confirm ${app}`);
    assert.equal(await appExists(b), false);
    assert.ok(s.deployer.rollout.destroyed.includes(b));
    assert.ok(s.deployer.rollout.destroyed.includes(app));
  });

  test('a preview cannot manage previews nor be pushed to, apps:rebuild rebuilds it, and apps:create keeps -- for previews', async () => {
    const { app, wd } = await deployedApp(s, 'nest');
    await ok(`previews:enable ${app}`);
    assert.equal((await s.git(['push', s.sshRemote(app), 'main:x'], { cwd: wd })).exitCode, 0);
    const name = previewAppName(app, 'x');
    const r = await s.ssh(s.admin, `previews:enable ${name}`);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, new RegExp(`${name} is a preview of ${app}; manage previews on ${app}\\.`));
    // A preview has no repository of its own; apps:rebuild finds its commit in the parent's.
    const push = await s.git(['push', s.sshRemote(name), 'main'], { cwd: wd });
    assert.notEqual(push.exitCode, 0);
    assert.ok(push.stderr.includes(`${name} is a preview of ${app} and has no repository of its own: push to ${app} (git push paas x).`), push.stderr);
    const rebuilt = await s.ssh(s.admin, `apps:rebuild ${name}`);
    assert.equal(rebuilt.exitCode, 0, rebuilt.stderr);
    assert.equal(s.deployer.rollout.deployed.at(-1)?.app, name);
    const c = await s.ssh(s.admin, 'apps:create my--app');
    assert.equal(c.exitCode, 1);
    assert.match(c.stderr, /"my--app" has "--" in it/);
  });
});
