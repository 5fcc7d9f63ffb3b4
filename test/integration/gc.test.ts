// Garbage collection through the real servers and commands, with fakes only at our own
// interfaces: FakeBuilder "publishes" each build to a FakeRegistry (ImageRegistry) under `latest`
// and `build-N`, as pack does to the real registry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newApp, startTestServer, type TestServer } from '../support/harness.ts';
import { FakeRegistry } from '../support/fakes.ts';
import { eventually } from '../support/eventually.ts';

const KEEP = 3;

describe('garbage collection (fake builder and registry at their interfaces)', () => {
  let s: TestServer;
  const registry = new FakeRegistry();
  const ssh = (command: string) => s.ssh(s.admin, command);
  const buildTags = (app: string) => [...(registry.repos.get(app)?.keys() ?? [])].filter((t) => t.startsWith('build-')).sort();
  /** Pushes `n` new commits one by one; returns the work dir. */
  const pushes = async (app: string, n: number, wd?: string): Promise<string> => {
    const dir = wd ?? await s.workRepo({ 'index.js': '0' });
    for (let i = 1; i <= n; i++) {
      if (wd || i > 1) await s.git(['commit', '-q', '--allow-empty', '-m', `change ${i}`], { cwd: dir });
      const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: dir });
      assert.equal(r.exitCode, 0, r.stderr);
    }
    return dir;
  };
  before(async () => {
    s = await startTestServer({ SLIPWAY_KEEP_RELEASES: String(KEEP) }, { registry });
    s.builder.registry = registry;
  });
  after(() => s.close());

  test('after each deploy only the last KEEP images stay; rollback to a collected release says so, to a kept one works without a build', async () => {
    const app = await newApp(s, 'gc');
    await pushes(app, 5);
    await eventually('the images beyond the keep set are deleted', async () => buildTags(app).length === KEEP);
    const builds = s.builder.builds.length;
    const list = JSON.parse((await ssh(`releases ${app} --json`)).stdout) as { version: number; image: string; imageCollectedAt: string | null }[];
    assert.deepEqual(list.filter((r) => r.imageCollectedAt).map((r) => r.version).sort(), [1, 2]);
    assert.match((await ssh(`releases ${app}`)).stdout, /v1 .*\(image removed by gc\)/);

    const refused = await ssh(`rollback ${app} v2`);
    assert.equal(refused.exitCode, 1);
    assert.equal(refused.stderr, ` !     v2's image was removed by garbage collection (SLIPWAY_KEEP_RELEASES=${KEEP} keeps the last ${KEEP}); push again or roll back to v3 or later.`);
    assert.equal(JSON.parse((await ssh(`releases ${app} --json`)).stdout).length, 5, 'nothing changed');

    const ok = await ssh(`rollback ${app} v3`);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.match(ok.stdout, /Rolling back .* to v3\.\.\. done, v6/);
    assert.equal(s.builder.builds.length, builds, 'no build');
    assert.equal(s.deployer.rollout.deployed.at(-1)!.image, list.find((r) => r.version === 3)!.image);
    // v6 runs v3's image: the newest 3 distinct images are still v3's, v5's and v4's, so nothing goes.
    assert.equal((await ssh('gc')).exitCode, 0);
    assert.equal(buildTags(app).length, KEEP);
  });

  test('a bare rollback skips a release whose image was collected and goes to the newest earlier one that still has its image', async () => {
    const app = await newApp(s, 'gcr');
    await pushes(app, 3);
    const list = JSON.parse((await ssh(`releases ${app} --json`)).stdout) as { version: number; image: string }[];
    // The state under test, set directly: v2's image gone while v1's stays.
    s.slipway.services.store.releases.markCollected(app, [2]);
    const r = await ssh(`rollback ${app}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Rolling back .* to v1\.\.\. done, v4/);
    assert.equal(s.deployer.rollout.deployed.at(-1)!.image, list.find((x) => x.version === 1)!.image);
  });

  test('gc collects the registry storage and removes the caches of destroyed apps; apps:destroy removes images and cache', async () => {
    const app = await newApp(s, 'gcd');
    await pushes(app, 1);
    const report = JSON.parse((await ssh(`apps:report ${app} --json`)).stdout) as { images: { count: number; bytes: number }; cacheBytes: number };
    assert.deepEqual(report.images, { count: 1, bytes: 1_000_000 });
    assert.equal(report.cacheBytes, 1000);
    assert.match((await ssh(`apps:report ${app}`)).stdout, /Images:\s+1 in the registry, 1\.0 MB/);

    // A cache nobody owns any more (an app destroyed while Docker was down) goes at the next gc.
    s.builder.caches.add('gone-app');
    const runs = registry.storageRuns;
    const gc = await ssh('gc');
    assert.equal(gc.exitCode, 0, gc.stderr);
    assert.match(gc.stdout, /Registry storage collected in/);
    assert.match(gc.stdout, /Removed 1 build cache of destroyed apps/);
    assert.equal(registry.storageRuns, runs + 1);
    assert.ok(s.builder.purged.includes('gone-app'));

    const destroyed = await ssh(`apps:destroy ${app} --confirm ${app}`);
    assert.equal(destroyed.exitCode, 0, destroyed.stderr);
    assert.deepEqual(await registry.tags(app), []);
    assert.ok(s.builder.purged.includes(app));
  });

  test('gc is for admins; storage GC that is not configured says why', async (t) => {
    registry.storageSkipped = 'SLIPWAY_REGISTRY_GC_CONFIG is not set';
    t.after(() => { delete registry.storageSkipped; });
    const gc = await ssh('gc');
    assert.match(gc.stdout, /Registry storage not collected: SLIPWAY_REGISTRY_GC_CONFIG is not set\./);
  });
});
