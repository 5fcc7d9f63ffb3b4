import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newApp, startTestServer, remoteLines, type TestServer } from '../support/harness.ts';

// Each test makes its own app and pushes what it needs itself.
describe('build commands (fake builder at the Builder interface)', () => {
  let s: TestServer;
  const work = () => s.workRepo({ 'index.js': '1' });
  /** A new app whose first push went through. */
  const deployedApp = async (prefix: string) => {
    const app = await newApp(s, prefix);
    const wd = await work();
    const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
    return { app, wd };
  };
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('builds lists builds and builds:output prints the kept log', async () => {
    const app = await newApp(s, 'builds');
    assert.match((await s.ssh(s.admin, `builds ${app}`)).stdout, /no builds yet/);
    const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: await work() });
    assert.equal(push.exitCode, 0, push.stderr);
    const list = JSON.parse((await s.ssh(s.admin, `builds ${app} --json`)).stdout) as { id: number; status: string }[];
    assert.deepEqual(list.map((b) => b.status), ['succeeded']);
    const bad = await s.ssh(s.admin, `builds:output ${app} ../../etc/passwd`);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /is not a build id/);
    assert.match((await s.ssh(s.admin, `builds:output ${app} 999`)).stderr, /has no build 999/);
  });

  test('builder:set per app and globally', async (t) => {
    const { app, wd } = await deployedApp('builder');
    assert.equal((await s.ssh(s.admin, `builder:set ${app} registry.local:5000/team/builder:1`)).stdout, `${app} now builds with registry.local:5000/team/builder:1.`);
    await s.git(['commit', '-q', '--allow-empty', '-m', '2'], { cwd: wd });
    const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.ok(remoteLines(push.stderr).some((l) => l.endsWith('with registry.local:5000/team/builder:1')), push.stderr);
    assert.equal((await s.ssh(s.admin, `builder:set ${app} --unset`)).exitCode, 0);
    // The global builder is the server's, not this test's: put it back whatever happens (through
    // the store: builder:set cannot unset the global builder, it takes APP or --global IMAGE).
    const settings = s.slipway.services.store.settings;
    const global = settings.get('builder') ?? null;
    t.after(() => settings.set('builder', global));
    assert.equal((await s.ssh(s.admin, 'builder:set --global paketobuildpacks/builder-jammy-base')).exitCode, 0);
    assert.match((await s.ssh(s.admin, `apps:info ${app}`)).stdout, /Builder:\s+paketobuildpacks\/builder-jammy-base/);
    const bad = await s.ssh(s.admin, `builder:set ${app} 'x;rm -rf /'`);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /is not an image reference/);
  });

  test('apps:rebuild redeploys the deployed commit without a push', async () => {
    const { app } = await deployedApp('rebuild');
    const before = s.builder.builds.length;
    const r = await s.ssh(s.admin, `apps:rebuild ${app}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`-----> Building ${app}`));
    assert.match(r.stdout, /=====> Application deployed:/);
    assert.equal(s.builder.builds.length, before + 1);
    const releases = JSON.parse((await s.ssh(s.admin, `releases ${app} --json`)).stdout) as { description: string }[];
    assert.match(releases[0]!.description, /^Rebuild [0-9a-f]{7}$/);
    const empty = await newApp(s, 'empty');
    assert.match((await s.ssh(s.admin, `apps:rebuild ${empty}`)).stderr, /no deployed commit/);
  });

  test('repo:purge-cache drops the build cache', async () => {
    const { app } = await deployedApp('purge');
    const before = s.builder.purged.length;
    assert.equal((await s.ssh(s.admin, `repo:purge-cache ${app}`)).exitCode, 0);
    assert.deepEqual(s.builder.purged.slice(before), [app]);
  });
});
