// previews:config --fork-db over the real SSH server and git, with the fake deployer at Slipway's
// Deployer interface: refused in one sentence while the parent's Postgres has no backup; then a
// new preview's Postgres is a copy of the parent's latest backup (a scratch copy of the parent's
// database restored from its backup volume, pg_dump of it streamed into the preview's import),
// never read from the parent's live database; its Valkey starts empty; a fork that fails leaves
// no database behind. On a real cluster: test/e2e/databases-valkey.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deployedApp, remoteLines, startTestServer, type TestServer } from '../support/harness.ts';
import { previewAppName } from '../../server/names.ts';

describe('previews with copies of the parent\'s latest backups (--fork-db)', { timeout: 120_000 }, () => {
  let s: TestServer;
  const ok = async (command: string) => {
    const r = await s.ssh(s.admin, command);
    assert.equal(r.exitCode, 0, `${command}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    s = await startTestServer({ SLIPWAY_POSTGRES_IMAGE: 'registry.test/slipway/postgres:17', SLIPWAY_VALKEY_IMAGE: 'registry.test/slipway/valkey:8' });
  });
  after(() => s.close());

  test('refused until the parent has a backup; then a preview gets its Postgres from the latest backup, its Valkey empty', async () => {
    const { app, wd } = await deployedApp(s, 'fork');
    const none = await s.ssh(s.admin, `previews:config ${app} --fork-db`);
    assert.deepEqual([none.exitCode, none.stderr], [1, ` !     ${app} has no Postgres database; --fork-db copies the parent's Postgres databases into each new preview (addons:create ${app} postgres makes one).`]);
    await ok(`addons:create ${app} postgres`);
    await ok(`addons:create ${app} valkey`);
    const early = await s.ssh(s.admin, `previews:config ${app} --fork-db`);
    assert.deepEqual([early.exitCode, early.stderr], [1, ` !     ${app}'s database postgres has no backup yet, and a preview's copy is restored from the latest backup, never from the live database; pg:backups:capture ${app} postgres takes one.`]);
    assert.equal((JSON.parse(await ok(`previews:config ${app} --json`)) as { forkDb: boolean }).forkDb, false, 'nothing changed');
    const both = await s.ssh(s.admin, `previews:config ${app} --fork-db --share X`);
    assert.equal(both.exitCode, 2);

    await ok(`pg:backups:capture ${app}`);
    const on = await ok(`previews:config ${app} --fork-db`);
    assert.match(on, new RegExp(`Databases: +Postgres copied from ${app}'s latest backups \\(--fork-db\\)`));
    await ok(`previews:enable ${app}`);
    // Half the parent's quota: a web instance, the release and two databases.
    await ok(`previews:limit ${app} 1`);
    s.deployer.data.dumps.set(`${app}/postgres`, Buffer.from('PGDMP the parent as its latest backup holds it'));
    const liveDumps = () => s.deployer.data.commands.filter((c) => c.startsWith(`${app}/postgres dump`)).length;
    const dumpsBefore = liveDumps();
    const forks = s.deployer.data.forks.length;

    const r = await s.git(['push', s.sshRemote(app), 'main:feature'], { cwd: wd });
    const lines = remoteLines(r.stderr);
    assert.equal(r.exitCode, 0, lines.join('\n'));
    const preview = previewAppName(app, 'feature');
    assert.ok(lines.includes(`-----> Creating Postgres 17 postgres (1Gi) for preview ${preview}, as DATABASE_URL, a copy of ${app}'s latest backup (previews:config --fork-db)`), lines.join('\n'));
    assert.ok(lines.some((l) => /^ {7}Restored \S+ of .* postgres into postgres \(its scratch copy started in 21\.0 s\)$/.test(l)), lines.join('\n'));
    assert.ok(lines.includes(`-----> Creating an empty Valkey 8 valkey (1Gi) for preview ${preview}, as REDIS_URL (${app}'s data stays with ${app})`), lines.join('\n'));
    const [fork] = s.deployer.data.forks.slice(forks);
    assert.deepEqual([fork!.d.app, fork!.d.name, fork!.d.restore, fork!.command], [app, 'postgres', { fromClaim: 'db-postgres.backup', target: 'immediate' }, 'dump'], "a scratch copy of the parent's database from its backup volume, as its newest backup ended");
    assert.equal(s.deployer.data.forks.length, forks + 1, 'only Postgres is copied');
    assert.equal(liveDumps(), dumpsBefore, "the parent's live database is never dumped");
    assert.equal(s.deployer.data.imports.get(`${preview}/postgres`)?.toString(), 'PGDMP the parent as its latest backup holds it', "into the preview's own database");
    const urls = await Promise.all([app, preview].map(async (a) => (JSON.parse(await ok(`config ${a} --json`)) as Record<string, string>).DATABASE_URL));
    assert.match(urls[1]!, new RegExp(`@db-postgres\\.slipway-${preview}\\.svc:5432/`));
    assert.notEqual(urls[1], urls[0]);
  });

  test("a preview whose share of the volumes cannot hold all of the parent's databases is refused before any of them is made", async () => {
    const { app, wd } = await deployedApp(s, 'forkq');
    await ok(`addons:create ${app} postgres`);
    await ok(`addons:create ${app} valkey`);
    await ok(`previews:enable ${app}`);
    // Ten previews share the parent's volumes: one each, and the preview would need two.
    await ok(`previews:limit ${app} 10`);
    const preview = previewAppName(app, 'small');
    const applies = s.deployer.data.applies.length;
    const r = await s.git(['push', s.sshRemote(app), 'main:small'], { cwd: wd });
    const lines = remoteLines(r.stderr);
    assert.notEqual(r.exitCode, 0, lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith(` !     A database needs a volume and ${preview} has 1 of its 1`) && l.endsWith(`: the preview's databases (one for each of ${app}'s) were not made.`)), lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes('Creating')), 'no database was started');
    assert.equal(s.deployer.data.applies.length, applies);
    assert.equal((await s.ssh(s.admin, `apps:info ${preview}`)).exitCode, 1, 'the preview made by the refused push is gone');
  });

  test("a fork whose copy does not start fails the preview's deploy in one sentence and leaves no database", async () => {
    const { app, wd } = await deployedApp(s, 'forkf');
    await ok(`addons:create ${app} postgres`);
    await ok(`pg:backups:capture ${app}`);
    await ok(`previews:config ${app} --fork-db`);
    await ok(`previews:enable ${app}`);
    const preview = previewAppName(app, 'broken');
    // The preview's own database starts (apply), then the parent's scratch copy does not.
    const apply = s.deployer.data.apply.bind(s.deployer.data);
    s.deployer.data.apply = async (d, ...rest) => {
      await apply(d, ...rest);
      if (d.app === preview) s.deployer.data.failNext = 'the scratch copy of postgres did not start: ImagePullBackOff.';
    };
    try {
      const r = await s.git(['push', s.sshRemote(app), 'main:broken'], { cwd: wd });
      const lines = remoteLines(r.stderr);
      assert.notEqual(r.exitCode, 0);
      assert.ok(lines.some((l) => l.includes('the scratch copy of postgres did not start: ImagePullBackOff.')), lines.join('\n'));
    } finally {
      s.deployer.data.apply = apply;
    }
    assert.ok(![...s.deployer.data.running.keys()].some((k) => k.startsWith(`${preview}/`)), 'the preview\'s database is removed');
    await ok(`previews:config ${app} --no-fork-db`);
    assert.equal((JSON.parse(await ok(`previews:config ${app} --json`)) as { forkDb: boolean }).forkDb, false);
  });
});
