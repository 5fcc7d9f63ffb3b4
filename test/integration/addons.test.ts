// addons:* over the real SSH server, with the fake deployer at Slipway's Deployer interface:
// creating a database attaches it in a release (its URL in config, TLS required, a certificate
// for its Service's names from the app's own authority), refusals write nothing, a database that
// does not start is removed again, and addons:destroy detaches and deletes it. The objects:
// test/unit/data.test.ts; on a real cluster with real Postgres and Valkey: test/e2e/databases.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { deployedApp, newApp, startTestServer, type TestServer } from '../support/harness.ts';
import { api, makeToken } from '../support/api-client.ts';
import { backupRound, unprovenDatabases } from '../../server/ops/data/drills.ts';
import { reconcileAtStart } from '../../server/ops/admin/reconcile.ts';
import type { AddonInfo } from '../../server/shapes/data.ts';

describe('addons commands', { timeout: 120_000 }, () => {
  let s: TestServer;
  const addons = async (app: string) => JSON.parse((await s.ssh(s.admin, `addons ${app} --json`)).stdout) as { name: string; attachment: string; kind: string }[];
  const config = async (app: string) => JSON.parse((await s.ssh(s.admin, `config ${app} --json`)).stdout) as Record<string, string>;
  const lastDeploy = (app: string) => s.deployer.rollout.deployed.findLast((d) => d.app === app);
  before(async () => {
    s = await startTestServer({ SLIPWAY_POSTGRES_IMAGE: 'registry.test/slipway/postgres:17', SLIPWAY_VALKEY_IMAGE: 'registry.test/slipway/valkey:8', SLIPWAY_APP_MAX_DATABASES: '2', SLIPWAY_STORAGE_MAX_SIZE: '4Gi', SLIPWAY_APP_MAX_STORAGE: '6Gi' });
  });
  after(() => s.close());

  test('addons:create postgres attaches DATABASE_URL in a release; valkey REDIS_URL; both serve certificates of the app\'s authority', async () => {
    const { app } = await deployedApp(s, 'addon');
    const before = lastDeploy(app)!.version;
    const r = await s.ssh(s.admin, `addons:create ${app} heroku-postgresql:essential-0`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Created postgres \\(postgres 17, 1Gi\\) as DATABASE_URL, released as v${before + 1}\\n`));
    const url = (await config(app)).DATABASE_URL!;
    assert.match(url, new RegExp(`^postgres://u[0-9a-f]{12}:[A-Za-z0-9_-]{32}@db-postgres\\.slipway-${app}\\.svc:5432/app\\?sslmode=require&sslrootcert=/etc/slipway/data-ca/ca\\.crt$`));
    assert.equal(lastDeploy(app)!.config.DATABASE_URL, url, 'rolled out with the URL');
    const pg = s.deployer.data.running.get(`${app}/postgres`)!;
    assert.equal(pg.image, 'registry.test/slipway/postgres:17');
    assert.equal(pg.credentials.password, new URL(url).password);
    const cert = new X509Certificate(pg.tls.cert);
    const ca = new X509Certificate(pg.tls.ca);
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'signed by the app\'s authority');
    assert.equal(cert.checkHost(`db-postgres.slipway-${app}.svc`), `db-postgres.slipway-${app}.svc`);
    assert.equal(cert.checkHost(`db-postgres.slipway-${app}.svc.cluster.local`), `db-postgres.slipway-${app}.svc.cluster.local`);
    assert.equal(ca.ca, true);

    const v = await s.ssh(s.admin, `addons:create ${app} redis --size 512Mi --json`);
    assert.equal(v.exitCode, 0, v.stderr);
    assert.deepEqual(JSON.parse(v.stdout), { name: 'valkey', kind: 'valkey', version: '8', size: '512Mi', attachment: 'REDIS_URL', release: before + 2 });
    assert.match((await config(app)).REDIS_URL!, new RegExp(`^rediss://default:[A-Za-z0-9_-]{32}@db-valkey\\.slipway-${app}\\.svc:6379$`));
    const vk = s.deployer.data.running.get(`${app}/valkey`)!;
    assert.equal(vk.tls.ca, pg.tls.ca, 'one authority per app');
    assert.deepEqual((await addons(app)).map((a) => [a.name, a.kind, a.attachment]), [['postgres', 'postgres', 'DATABASE_URL'], ['valkey', 'valkey', 'REDIS_URL']]);
    const text = await s.ssh(s.admin, `addons ${app}`);
    assert.match(text.stdout, /Name +Kind +Size +Attached as +State\n.*postgres +postgres 17 +1Gi +DATABASE_URL +ready\n.*valkey +valkey 8 +512Mi +REDIS_URL +ready/);
    const info = await s.ssh(s.admin, `addons:info ${app} postgres`);
    assert.match(info.stdout, new RegExp(`Host: +db-postgres\\.slipway-${app}\\.svc:5432 \\(TLS only\\)`));
    assert.ok(!info.stdout.includes(pg.credentials.password) && !text.stdout.includes(pg.credentials.password), 'no password in addons or addons:info');

    const psql = await s.ssh(s.admin, `pg:psql ${app}`);
    assert.deepEqual([psql.exitCode, psql.stdout], [0, 'postgres console on postgres']);
    const cli = await s.ssh(s.admin, `redis:cli ${app} valkey`);
    assert.deepEqual([cli.exitCode, cli.stdout], [0, 'valkey console on valkey']);
    const wrong = await s.ssh(s.admin, `redis:cli ${app} postgres`);
    assert.equal(wrong.stderr, ' !     postgres is a Postgres database, not Valkey.');

    // A third is one more than SLIPWAY_APP_MAX_DATABASES: refused, nothing made.
    const third = await s.ssh(s.admin, `addons:create ${app} postgres --name other`);
    assert.equal(third.exitCode, 1);
    assert.equal(third.stderr, ` !     ${app} has 2 databases, the most an app may have (SLIPWAY_APP_MAX_DATABASES); addons:destroy one first.`);

    const noConfirm = await s.ssh(s.admin, `addons:destroy ${app} valkey`);
    assert.equal(noConfirm.exitCode, 2);
    assert.match(noConfirm.stderr, new RegExp(`to go ahead, run: addons:destroy ${app} valkey --confirm ${app}`));
    const gone = await s.ssh(s.admin, `addons:destroy ${app} valkey --confirm ${app}`);
    assert.equal(gone.exitCode, 0, gone.stderr);
    assert.match(gone.stdout, new RegExp(`Destroyed valkey of ${app} and its data \\(detached in v${before + 3}\\)`));
    assert.equal((await config(app)).REDIS_URL, undefined);
    assert.equal(lastDeploy(app)!.config.REDIS_URL, undefined);
    assert.equal(s.deployer.data.running.has(`${app}/valkey`), false);
    assert.deepEqual((await addons(app)).map((a) => a.name), ['postgres']);
  });

  test('bad input gets one sentence and nothing is made; a database that does not start is removed again', async () => {
    const { app } = await deployedApp(s, 'addbad');
    const versions = lastDeploy(app)!.version;
    for (const [cmd, want] of [
      [`addons:create ${app} mysql`, ` !     "mysql" is not a database Slipway runs; use postgres (Postgres 17) or valkey (Valkey 8, Redis-compatible).`],
      [`addons:create ${app} postgres --version 9`, ` !     Postgres "9" is not available; this server runs Postgres 17.`],
      [`addons:create ${app} postgres --size 5Gi`, ` !     A volume may hold at most 4Gi (SLIPWAY_STORAGE_MAX_SIZE); 5Gi is more.`],
      [`addons:create ${app} postgres --size 4Gi`, ` !     A database of 4Gi needs twice that (data and backups), and ${app}'s volumes and databases would then hold more than 6Gi (SLIPWAY_APP_MAX_STORAGE); make it smaller with --size, or free some first.`],
      [`addons:create ${app} postgres --name Bad_Name`, ` !     "Bad_Name" is not a valid database name: use 1-30 lowercase letters, digits and dashes, starting with a letter and not ending with a dash.`],
    ] as const) {
      const r = await s.ssh(s.admin, cmd);
      assert.equal(r.exitCode, 1, cmd);
      assert.equal(r.stderr, want, cmd);
    }
    // The quota counts a database's pod: web (twice while it rolls out, 256Mi each) and one more of 256Mi do not fit in 600Mi.
    assert.equal((await s.ssh(s.admin, `resource:quota ${app} --memory 600Mi`)).exitCode, 0);
    const tight = await s.ssh(s.admin, `addons:create ${app} postgres`);
    assert.match(tight.stderr, new RegExp(`^ !     ${app} at web=1 with 1 database needs 768Mi of memory limits .*above its quota of 600Mi .*raise its quota before adding a database\\.$`));
    assert.equal((await s.ssh(s.admin, `resource:quota ${app} --memory 2Gi`)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `config:set ${app} DATABASE_URL=postgres://elsewhere/db`)).exitCode, 0);
    const taken = await s.ssh(s.admin, `addons:create ${app} postgres --as database`);
    assert.equal(taken.stderr, ` !     DATABASE_URL is already set for ${app}; attach the database under another name with --as, or config:unset ${app} DATABASE_URL first.`);
    // Without --as it takes its own name's var, leaving the app's own DATABASE_URL alone.
    s.deployer.data.failNext = 'postgres postgres did not start: ImagePullBackOff: no such image.';
    const failed = await s.ssh(s.admin, `addons:create ${app} postgres`);
    assert.equal(failed.exitCode, 1);
    assert.match(failed.stderr, / !     postgres postgres did not start: ImagePullBackOff: no such image\.$/);
    assert.deepEqual(await addons(app), [], 'no row');
    assert.equal(s.deployer.data.running.has(`${app}/postgres`), false, 'its objects removed');
    assert.equal((await config(app)).DATABASE_URL, 'postgres://elsewhere/db');
    assert.equal(lastDeploy(app)!.version, versions + 1, 'no release but the config:set');
    assert.deepEqual(lastDeploy(app)!.databases, [], 'the quota counts no database that is not there');
    const ok = await s.ssh(s.admin, `addons:create ${app} postgres`);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.match(ok.stdout, /as POSTGRES_URL, released as v/);
    assert.deepEqual(lastDeploy(app)!.databases, [{ memory: '256Mi', cpu: '500m' }], 'its release counts it');
    assert.equal((await config(app)).DATABASE_URL, 'postgres://elsewhere/db');
  });

  test('an app that runs nothing yet gets its database and the URL stored for its first deploy', async () => {
    const app = await newApp(s, 'addnew');
    const r = await s.ssh(s.admin, `addons:create ${app} valkey`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Created valkey \\(valkey 8, 1Gi\\) as REDIS_URL \\(stored: ${app} runs nothing yet; its first deploy gets it\\)`));
    assert.match((await config(app)).REDIS_URL!, /^rediss:\/\//);
    const none = await s.ssh(s.admin, `pg:psql ${app}`);
    assert.equal(none.stderr, ` !     ${app} has no Postgres database; addons:create ${app} postgres makes one.`);
  });

  test('the API: a read token lists, a deploy token creates (202 with the job, 201 before a first deploy) and destroys with confirm', async () => {
    const { app } = await deployedApp(s, 'addapi');
    const read = await makeToken(s, s.admin, 'addons-read', 'read');
    const deploy = await makeToken(s, s.admin, 'addons-deploy');
    assert.equal((await api(s, 'POST', `/apps/${app}/addons`, { token: read, body: { kind: 'postgres' } })).status, 403);
    const bad = await api(s, 'POST', `/apps/${app}/addons`, { token: deploy, body: { kind: 'mysql' } });
    assert.equal(bad.status, 422, 'a user error');
    const made = await api(s, 'POST', `/apps/${app}/addons`, { token: deploy, body: { kind: 'postgres', as: 'MAIN' } });
    assert.equal(made.status, 202, JSON.stringify(made.json));
    const listed = await api(s, 'GET', `/apps/${app}/addons`, { token: read });
    assert.equal(listed.status, 200);
    assert.deepEqual((listed.json as { name: string; attachment: string }[]).map((a) => [a.name, a.attachment]), [['postgres', 'MAIN_URL']]);
    assert.ok(!JSON.stringify(listed.json).includes(s.deployer.data.running.get(`${app}/postgres`)!.credentials.password), 'no password');
    assert.equal((await api(s, 'GET', `/apps/${app}/addons/postgres`, { token: read })).status, 200);
    assert.equal((await api(s, 'DELETE', `/apps/${app}/addons/postgres?confirm=nope`, { token: deploy })).status, 400);
    const gone = await api(s, 'DELETE', `/apps/${app}/addons/postgres?confirm=${app}`, { token: deploy });
    assert.equal(gone.status, 202, JSON.stringify(gone.json));
    const fresh = await newApp(s, 'addapi');
    const stored = await api(s, 'POST', `/apps/${fresh}/addons`, { token: deploy, body: { kind: 'valkey' } });
    assert.deepEqual([stored.status, stored.json], [201, { name: 'valkey', kind: 'valkey', version: '8', size: '1Gi', attachment: 'REDIS_URL', release: null }]);
  });

  test("addons:info shows the volumes' use and the connections; a full volume is one sentence, and a backup onto a full backup volume is refused before it starts", async () => {
    const { app } = await deployedApp(s, 'addstats');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} postgres`)).exitCode, 0);
    const info = await s.ssh(s.admin, `pg:info ${app}`);
    assert.match(info.stdout, /Used: +1\.0 MiB of 1\.0 GiB \(0 %\) data, 1\.0 MiB of 1\.0 GiB \(0 %\) backups\n/);
    assert.match(info.stdout, /Connections: +2 of 20\n/);
    s.deployer.data.stats.set(`${app}/postgres`, 'data_used 1030000000\ndata_avail 99000000000\nbackup_used 1000000000\nbackup_avail 10000000\n');
    const full = await s.ssh(s.admin, `pg:info ${app}`);
    assert.match(full.stdout, /Connections: +unknown \(the server did not answer\)\n/);
    assert.match(full.stdout, /The data volume of postgres is full \(982\.3 MiB of 1\.0 GiB used\): writes fail once it has no room left; .*pg:backups:restore .* --size SIZE --promote/);
    assert.match(full.stdout, /The backup volume of postgres is full \(953\.7 MiB of 963\.2 MiB used\): new backups are refused/);
    const listed = (await addons(app))[0]! as unknown as AddonInfo;
    assert.equal(listed.problems.length, 2);
    assert.deepEqual(listed.stats!.backup, { usedBytes: 1000000000, sizeBytes: 1010000000 }, 'the file system has less room left than the claim');
    const ran = s.deployer.data.commands.length;
    const refused = await s.ssh(s.admin, `pg:backups:capture ${app}`);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /^ !     The backup volume of postgres is full \(953\.7 MiB of 963\.2 MiB used\): new backups are refused/m);
    assert.deepEqual(s.deployer.data.commands.slice(ran), [], 'no backup started');
    s.deployer.data.stats.delete(`${app}/postgres`);
  });

  test('pg:backups, pg:backups:capture, pg:restore into a new database (the source untouched), pg:promote and rollback', async () => {
    const { app } = await deployedApp(s, 'addpitr');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} postgres`)).exitCode, 0);
    const none = await s.ssh(s.admin, `pg:backups ${app}`);
    assert.match(none.stdout, /No backups yet; pg:backups:capture/);
    const cap = await s.ssh(s.admin, `pg:backups:capture ${app}`);
    assert.equal(cap.exitCode, 0, cap.stderr);
    assert.match(cap.stdout, /-----> Backing up postgres of .* \(full\)\n {7}P00   INFO: backup command end: completed successfully\nBacked up as 20261205-00000F \(full, 1000 B|Backed up as 20261205-00000F/);
    const listed = JSON.parse((await s.ssh(s.admin, `pg:backups ${app} --json`)).stdout) as { backups: { label: string; type: string }[]; archive: unknown };
    assert.deepEqual(listed.backups.map((b) => [b.label, b.type]), [['20261205-00000F', 'full']]);
    s.deployer.data.failCommand = 'P00  ERROR: [047]: unable to create path \'/var/lib/slipway/backup/pgbackrest\': No space left on device';
    const full = await s.ssh(s.admin, `pg:backups:capture ${app}`);
    assert.equal(full.exitCode, 1);
    assert.match(full.stderr, / !     backup full failed in postgres \(exit 1\): \[047\]: unable to create path .*No space left on device\.$/);

    for (const [cmd, want] of [
      [`pg:restore ${app} --at 2999-01-01T00:00:00Z`, / !     2999-01-01T00:00:00Z is in the future; a restore recovers to a time that has passed\./],
      [`pg:restore ${app} --at yesterday`, / !     "yesterday" is not a time; write it as 2026-12-05T10:15:00Z/],
      [`pg:restore ${app} --from nosuch`, new RegExp(` !     ${app} has no database nosuch`)],
    ] as const) assert.match((await s.ssh(s.admin, cmd)).stderr, want, cmd);

    const old = (await config(app)).DATABASE_URL!;
    const applied = s.deployer.data.applies.length;
    const at = new Date(Date.now() - 60_000).toISOString();
    const r = await s.ssh(s.admin, `pg:restore ${app} --at ${at} --to restored`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Restoring postgres of ${app} into a new database restored, to ${at.replace(/\./g, '\\.')} \\(postgres is not touched\\)`));
    assert.match(r.stdout, /Restored postgres into restored \(as of .*\), attached as RESTORED_URL in v\d+\nMake it the app's database with: pg:promote/);
    // Each is a job of its own (a restart would leave it interrupted), the release that attaches one too.
    const jobs = JSON.parse((await s.ssh(s.admin, `jobs ${app} --json`)).stdout) as { kind: string; status: string }[];
    assert.deepEqual(jobs.slice(0, 4).map((j) => [j.kind, j.status]), [['config:set', 'succeeded'], ['pg:restore', 'succeeded'], ['pg:backups:capture', 'failed'], ['pg:backups:capture', 'succeeded']]);
    assert.deepEqual(s.slipway.services.store.data.making(app), [], 'made: no job names it any more');
    const [withSource, own] = s.deployer.data.applies.slice(applied);
    assert.deepEqual(withSource!.restore, { fromClaim: 'db-postgres.backup', target: at }, 'made from the source\'s backup volume');
    assert.equal(own!.restore, undefined, 'then on its own');
    assert.equal(own!.credentials.username, s.deployer.data.running.get(`${app}/postgres`)!.credentials.username, 'the roles come with the data');
    const cfg = await config(app);
    assert.equal(cfg.DATABASE_URL, old, 'the app still uses the source');
    assert.match(cfg.RESTORED_URL!, new RegExp(`@db-restored\\.slipway-${app}\\.svc:5432/`));

    const p = await s.ssh(s.admin, `pg:promote ${app} restored`);
    assert.equal(p.exitCode, 0, p.stderr);
    assert.match(p.stdout, /Promoted restored to DATABASE_URL in v\d+; postgres stays/);
    const after = await config(app);
    assert.deepEqual([after.DATABASE_URL, after.POSTGRES_URL, after.RESTORED_URL], [cfg.RESTORED_URL, old, undefined]);
    assert.deepEqual((await addons(app)).map((a) => [a.name, a.attachment]), [['postgres', 'POSTGRES_URL'], ['restored', 'DATABASE_URL']]);
    assert.equal((await s.ssh(s.admin, `rollback ${app}`)).exitCode, 0);
    assert.equal(lastDeploy(app)!.config.DATABASE_URL, old, 'a rollback brings the old database back with the old release');
    assert.deepEqual((await addons(app)).map((a) => [a.name, a.attachment]), [['postgres', 'DATABASE_URL'], ['restored', 'RESTORED_URL']], 'the record follows the config the rollback brought back');

    // Destroying the database the rollback made DATABASE_URL again detaches DATABASE_URL (the
    // record said POSTGRES_URL before, and the app was left naming a database that was gone).
    const destroyed = await s.ssh(s.admin, `addons:destroy ${app} postgres --confirm ${app}`);
    assert.equal(destroyed.exitCode, 0, destroyed.stderr);
    assert.match(destroyed.stdout, /Detaching postgres \(DATABASE_URL\)/);
    assert.equal((await config(app)).DATABASE_URL, undefined);

    // --promote: made DATABASE_URL in the release that attaches it, one release in all.
    const releases = lastDeploy(app)!.version;
    const both = await s.ssh(s.admin, `pg:restore ${app} --from restored --to again --promote`);
    assert.equal(both.exitCode, 0, both.stderr);
    assert.match(both.stdout, new RegExp(`Restored restored into again \\(to the end of its archive; .*\\), attached as DATABASE_URL in v${releases + 1}\\nrestored stays, with its data as it was`));
    assert.equal(lastDeploy(app)!.version, releases + 1);
    const last = await config(app);
    assert.deepEqual([last.DATABASE_URL?.includes('@db-again.'), last.RESTORED_URL?.includes('@db-restored.'), last.AGAIN_URL], [true, true, undefined]);
  });

  test('restore drills prove backups: pg:backups:verify, addons:info shows the last verified restore, a damaged backup fails it, doctor names databases without one', async () => {
    const { app } = await deployedApp(s, 'adddrill');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} postgres`)).exitCode, 0);
    const never = await s.ssh(s.admin, `addons:info ${app} postgres`);
    assert.match(never.stdout, /Last backup: +none yet\nLast verified restore: +never/);
    // Every recorded drill, failed or not, and every backup is an `app` event (change data) for the dashboard's live view.
    const heard: string[] = [];
    const unsubscribe = s.slipway.services.events.subscribe('test', (e) => { if (e.type === 'app' && e.app === app) heard.push(e.change); });
    const none = await s.ssh(s.admin, `pg:backups:verify ${app}`);
    assert.equal(none.exitCode, 1);
    assert.match(none.stdout, /Restore drill FAILED at verify: there is no backup to restore yet/);
    assert.deepEqual(heard, ['data']);

    assert.equal((await s.ssh(s.admin, `pg:backups:capture ${app}`)).exitCode, 0);
    unsubscribe();
    assert.deepEqual(heard, ['data', 'data'], 'a backup taken is one too');
    const ok = await s.ssh(s.admin, `pg:backups:verify ${app}`);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.match(ok.stdout, /^Restore drill ok: restored to the end of the archive, amcheck clean; RPO \d+ s, RTO 38\.0 s$/m);
    const drilled = s.deployer.data.drills.at(-1)!;
    assert.deepEqual(drilled.restore, { fromClaim: 'db-postgres.backup', target: undefined }, 'from its own backup volume, into a scratch copy');
    assert.match((await s.ssh(s.admin, `addons:info ${app} postgres`)).stdout, /Last backup: +\d+ s ago\nLast verified restore: +ok, \d+ s ago, RPO \d+ s, RTO 38 s/);
    assert.match((await s.ssh(s.admin, `pg:info ${app}`)).stdout, /Last verified restore: +ok, \d+ s ago, RPO \d+ s, RTO 38 s/, 'pg:info: the first Postgres');

    s.deployer.data.failCommand = "P00  ERROR: [028]: invalid checksum in '/var/lib/slipway/backup/pgbackrest/backup/db/20261205-000000F/pg_data/base/1/1259.zst'";
    const damaged = await s.ssh(s.admin, `pg:backups:verify ${app} --json`);
    assert.equal(damaged.exitCode, 1);
    assert.match(damaged.stdout, /"step": "verify"/);
    const info = JSON.parse((await s.ssh(s.admin, `addons:info ${app} postgres --json`)).stdout) as { lastDrill: { ok: boolean; step: string }; lastVerifiedRestore: { ok: boolean } };
    assert.deepEqual([info.lastDrill.ok, info.lastDrill.step, info.lastVerifiedRestore.ok], [false, 'verify', true]);
    assert.match((await s.ssh(s.admin, `addons:info ${app} postgres`)).stdout, /The last restore drill \(\d+ s ago\) failed at verify: pgBackRest's verify found the backups damaged: \[028\]: invalid checksum/);
    s.deployer.data.drillAnswers = [{ code: 0, stdout: new Date().toISOString(), stderr: '' }, { code: 2, stdout: 'heap table "app.public.pages_row", block 0, offset 1: xmin 1234 precedes relation freeze threshold', stderr: '' }];
    const corrupt = await s.ssh(s.admin, `pg:backups:verify ${app}`);
    assert.match(corrupt.stdout, /Restore drill FAILED at amcheck: pg_amcheck found corruption in the restored copy: heap table/);
    // Each drill is a job of the app's, beside deploys: a failed one fails its job with the drill's sentence.
    const jobsOf = async (a: string) => JSON.parse((await s.ssh(s.admin, `jobs ${a} --json`)).stdout) as { id: string; kind: string; status: string; by: string; error: string | null }[];
    const drillJobs = (await jobsOf(app)).filter((j) => j.kind === 'pg:backups:verify');
    assert.deepEqual(drillJobs.map((j) => [j.status, j.by]), [['failed', 'admin'], ['failed', 'admin'], ['succeeded', 'admin'], ['failed', 'admin']]);
    assert.match(drillJobs[0]!.error!, /^The restore drill of postgres FAILED at amcheck: pg_amcheck found corruption/);

    // doctor: a database whose last drill failed, now; one without any drill only once it is a day old.
    const services = s.slipway.services;
    const dayLater = Date.now() + 27 * 3_600_000;
    assert.ok(unprovenDatabases(services).some((u) => u.startsWith(`${app}/postgres (last drill failed at amcheck`)));
    const fresh = await deployedApp(s, 'adddrill');
    assert.equal((await s.ssh(s.admin, `addons:create ${fresh.app} postgres`)).exitCode, 0);
    assert.ok(!unprovenDatabases(services).some((u) => u.startsWith(`${fresh.app}/`)), 'too young to be held to it');
    assert.ok(unprovenDatabases(services, dayLater).includes(`${fresh.app}/postgres (no verified restore in 26 h)`));
    // The round: a day later both a backup and a drill are due; it takes the backup and runs the drill.
    const before = s.deployer.data.drills.length;
    await backupRound(services, new AbortController().signal, dayLater).catch(() => {});
    assert.ok(s.deployer.data.commands.includes(`${app}/postgres backup full`));
    assert.ok(s.deployer.data.drills.length > before, 'a drill ran');
    // Both as jobs started by Slipway itself (jobs APP: by slipway); one database's failure (app's: its last drill failed) stops no other.
    const scheduled = (jobs: { kind: string; status: string; by: string }[]) => jobs.filter((j) => j.by === 'slipway').map((j) => [j.kind, j.status]);
    assert.deepEqual(scheduled(await jobsOf(fresh.app)), [['scheduled-drill', 'succeeded'], ['scheduled-backup', 'succeeded']]);
    const transcript = await s.ssh(s.admin, `jobs:output ${(await jobsOf(fresh.app))[0]!.id}`);
    assert.match(transcript.stdout, /Restore drill of postgres of adddrill\S*: its backups and archive restored into a scratch copy \(postgres is not touched\)\n +ok: restored to .*, amcheck clean; RPO \d+ s, RTO 38000 ms/);

    // pg:backups:schedule: at a time of day (UTC); refused otherwise in one sentence, nothing stored.
    const bad = await s.ssh(s.admin, `pg:backups:schedule ${fresh.app} --at 25:00`);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /"25:00" is not a time of day; write it as 02:00 UTC/);
    assert.equal(services.store.data.backupAt(fresh.app, 'postgres'), null);
    const set = await s.ssh(s.admin, `pg:backups:schedule ${fresh.app} --at '3:30 UTC'`);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.match(set.stdout, /^postgres is backed up every day at 03:30 UTC/);
    assert.match((await s.ssh(s.admin, `addons:info ${fresh.app} postgres`)).stdout, /Last backup: +.*\(daily at 03:30 UTC\)/);
    const token = await makeToken(s, s.admin, 'schedule', 'deploy');
    const viaApi = await api(s, 'POST', `/apps/${fresh.app}/addons/postgres/backups/schedule`, { token, body: { at: '04:15' } });
    assert.deepEqual([viaApi.status, viaApi.json], [200, { database: 'postgres', at: '04:15' }]);
    services.store.data.backedUp(fresh.app, 'postgres');
    const last = Date.parse(services.store.data.lastBackupAt(fresh.app, 'postgres')!);
    const slotAfter = (ms: number) => { const d = new Date(ms); const t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 4, 15); return t > ms ? t : t + 24 * 3_600_000; };
    const commands = () => s.deployer.data.commands.filter((c) => c === `${fresh.app}/postgres backup full`).length;
    const n = commands();
    await backupRound(services, new AbortController().signal, slotAfter(last) - 60_000).catch(() => {});
    assert.equal(commands(), n, 'not before its time of day');
    await backupRound(services, new AbortController().signal, slotAfter(last) + 60_000).catch(() => {});
    assert.equal(commands(), n + 1, 'at its time of day');
    assert.equal((await s.ssh(s.admin, `pg:backups:unschedule ${fresh.app}`)).exitCode, 0);
    assert.equal(services.store.data.backupAt(fresh.app, 'postgres'), null);
  });

  test("addons:update moves a database running another image to the server's, on the same volumes; one that does not come up runs its old image again", async () => {
    const { app } = await deployedApp(s, 'imageup');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} postgres`)).exitCode, 0);
    const key = `${app}/postgres`;
    const OLD = 'registry.test/slipway/postgres:17-older';
    const NEW = 'registry.test/slipway/postgres:17';
    // What a database made by an older Slipway runs.
    s.deployer.data.running.set(key, { ...s.deployer.data.running.get(key)!, image: OLD });
    const info = await s.ssh(s.admin, `addons:info ${app} postgres`);
    assert.ok(info.stdout.includes(`postgres runs ${OLD}, not this server's ${NEW}: addons:update ${app} postgres moves it (a restart: a few seconds without it).`), info.stdout);
    assert.equal((JSON.parse((await s.ssh(s.admin, `addons:info ${app} postgres --json`)).stdout) as AddonInfo).image, OLD);

    // Not coming up on the new image: applied again with the old one, and one sentence.
    s.deployer.data.failNext = 'postgres did not accept connections within 180 s';
    const applies = s.deployer.data.applies.length;
    const failed = await s.ssh(s.admin, `addons:update ${app} postgres`);
    assert.equal(failed.exitCode, 1);
    assert.match(failed.stderr, new RegExp(`postgres did not come up on ${NEW} \\(postgres did not accept connections within 180 s\\); it runs ${OLD} again\\.`));
    assert.deepEqual(s.deployer.data.applies.slice(applies).map((d) => d.image), [NEW, OLD]);
    assert.equal(s.deployer.data.running.get(key)!.image, OLD);

    const token = await makeToken(s, s.admin, 'imageup', 'deploy');
    const r = await api(s, 'POST', `/apps/${app}/addons/postgres/image`, { token });
    assert.deepEqual([r.status, r.json], [200, { name: 'postgres', from: OLD, to: NEW, changed: true }]);
    assert.equal(s.deployer.data.running.get(key)!.image, NEW);
    const again = await s.ssh(s.admin, `addons:update ${app} postgres`);
    assert.deepEqual([again.exitCode, again.stdout.trim()], [0, `postgres runs ${NEW} already; nothing was changed.`]);
    assert.ok(!(await s.ssh(s.admin, `addons:info ${app} postgres`)).stdout.includes('addons:update'), 'no sentence once it runs the server\'s image');
    assert.match((await s.ssh(s.admin, `addons:update ${app} nope`)).stderr, new RegExp(`${app} has no database nope; addons ${app} lists its databases\\.`));
  });

  test('the start-up reconcile removes the scratch copies (a drill\'s, a fork\'s) a server that stopped midway left; an app without databases is not asked', async () => {
    const { app } = await deployedApp(s, 'addscratch');
    assert.equal((await s.ssh(s.admin, `addons:create ${app} postgres`)).exitCode, 0);
    const bare = await deployedApp(s, 'addscratch');
    s.deployer.data.leftScratch.set(app, ['db-postgres-drill', 'db-postgres-fork']);
    const done = await reconcileAtStart(s.slipway.services);
    assert.deepEqual(done.scratch.filter((x) => x.startsWith(`${app}/`)), [`${app}/db-postgres-drill`, `${app}/db-postgres-fork`]);
    assert.ok(s.deployer.data.swept.includes(app));
    assert.ok(!s.deployer.data.swept.includes(bare.app));
    assert.equal((await reconcileAtStart(s.slipway.services)).scratch.filter((x) => x.startsWith(`${app}/`)).length, 0, 'gone');
  });
});
