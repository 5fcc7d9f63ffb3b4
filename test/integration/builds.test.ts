import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, remoteLines, type TestServer } from '../support/harness.ts';

describe('build commands (fake builder at the Builder interface)', () => {
  let s: TestServer;
  let wd: string;
  before(async () => {
    s = await startTestServer();
    await s.ssh(s.admin, 'apps:create myapp');
    wd = await s.workRepo({ 'index.js': '1' });
  });
  after(() => s.close());

  test('builds lists builds and builds:output prints the kept log', async () => {
    assert.match((await s.ssh(s.admin, 'builds myapp')).stdout, /no builds yet/);
    const push = await s.git(['push', s.sshRemote('myapp'), 'main'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
    const list = JSON.parse((await s.ssh(s.admin, 'builds myapp --json')).stdout) as { id: number; status: string }[];
    assert.deepEqual(list.map((b) => b.status), ['succeeded']);
    const bad = await s.ssh(s.admin, 'builds:output myapp ../../etc/passwd');
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /is not a build id/);
    assert.match((await s.ssh(s.admin, 'builds:output myapp 999')).stderr, /has no build 999/);
  });

  test('builder:set per app and globally', async () => {
    assert.equal((await s.ssh(s.admin, 'builder:set myapp registry.local:5000/team/builder:1')).stdout, 'myapp now builds with registry.local:5000/team/builder:1.');
    await s.git(['commit', '-q', '--allow-empty', '-m', '2'], { cwd: wd });
    const push = await s.git(['push', s.sshRemote('myapp'), 'main'], { cwd: wd });
    assert.ok(remoteLines(push.stderr).some((l) => l.endsWith('with registry.local:5000/team/builder:1')), push.stderr);
    assert.equal((await s.ssh(s.admin, 'builder:set myapp --unset')).exitCode, 0);
    assert.equal((await s.ssh(s.admin, 'builder:set --global paketobuildpacks/builder-jammy-base')).exitCode, 0);
    assert.match((await s.ssh(s.admin, 'apps:info myapp')).stdout, /Builder:\s+paketobuildpacks\/builder-jammy-base/);
    const bad = await s.ssh(s.admin, "builder:set myapp 'x;rm -rf /'");
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /is not an image reference/);
  });

  test('apps:rebuild redeploys the deployed commit without a push', async () => {
    const before = s.builder.builds.length;
    const r = await s.ssh(s.admin, 'apps:rebuild myapp');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /-----> Building myapp/);
    assert.match(r.stdout, /=====> Application deployed:/);
    assert.equal(s.builder.builds.length, before + 1);
    const releases = JSON.parse((await s.ssh(s.admin, 'releases myapp --json')).stdout) as { description: string }[];
    assert.match(releases[0]!.description, /^Rebuild [0-9a-f]{7}$/);
    await s.ssh(s.admin, 'apps:create empty');
    assert.match((await s.ssh(s.admin, 'apps:rebuild empty')).stderr, /no deployed commit/);
  });

  test('repo:purge-cache drops the build cache', async () => {
    assert.equal((await s.ssh(s.admin, 'repo:purge-cache myapp')).exitCode, 0);
    assert.deepEqual(s.builder.purged, ['myapp']);
  });
});
