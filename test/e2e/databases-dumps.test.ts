// Logical dumps, imports and credential rotation on the testbed, with the real Postgres image,
// real volumes and a Django app that reads DATABASE_URL (issue 37): pg:backups:download over SSH
// and over HTTP gives an archive pg_restore reads (a client that goes away mid-dump ends pg_dump in
// the pod); pg:backups:restore --promote puts it into a NEW database that the app then answers from;
// a garbage upload is one sentence with nothing left behind; pg:credentials:rotate changes the URL
// in one release while a console session with the old login keeps working, and once that session
// is gone the db-logins round takes the old login's LOGIN away. pg:backups:copy puts the database's
// dump, encrypted, into the testbed's S3 bucket (versitygw over HTTPS); pg:backups:restore
// --from-s3 with the key file brings it back into a NEW database, and a wrong key makes nothing.
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { KubeClient } from '../../server/kube/client.ts';
import { loadConfig } from '../../server/config.ts';
import { S3Bucket } from '../../server/s3.ts';
import { writeKeyFile } from '../../server/ops/self-backup/age.ts';
import type { V1Pod, V1Secret } from '../../server/kube/types.ts';
import type { PackBuilder } from '../../server/build/pack.ts';
import { sshOptions, type TestServer } from '../support/harness.ts';
import { makeToken } from '../support/api-client.ts';
import { deployApp, destroyApps, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { httpThroughIngress, waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS', 'SLIPWAY_POSTGRES_IMAGE', 'SLIPWAY_TEST_S3_ENDPOINT', 'SLIPWAY_TEST_S3_BUCKET', 'SLIPWAY_TEST_S3_CREDENTIALS', 'SLIPWAY_TEST_S3_CA'] as const;
const BASE_DOMAIN = 'slipway.test';
const suffix = randomBytes(3).toString('hex');
const APPS = { shop: `dbdump-${suffix}` } as const;
const APP = APPS.shop;
const NS = `slipway-${APP}`;
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 90_000;

describe('dumps, imports and credential rotation', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;
  let kube: KubeClient;
  /** The console session held open across the rotation (ended in `after` when the test fails first). */
  let held: ChildProcess | undefined;
  const host = `${APP}.${BASE_DOMAIN}`;
  const ssh = (command: string, input?: string) => s!.ssh(s!.admin, command, input);
  const get = (path: string) => httpThroughIngress(tb!.SLIPWAY_TEST_INGRESS!, host, 10_000, path);
  const config = async () => JSON.parse((await ssh(`config ${APP} --json`)).stdout) as Record<string, string>;
  /** `ssh … COMMAND` with its standard output into `file` (bytes as they come) and standard input from `from`. */
  const sshFile = (command: string, io: { out?: string; from?: string }) => new Promise<{ code: number; stderr: string; stdout: string }>((resolve, reject) => {
    const out = io.out ? openSync(io.out, 'w') : 'pipe';
    const input = io.from ? openSync(io.from, 'r') : 'ignore';
    const p = spawn('ssh', [...sshOptions(s!.admin), '-p', String(s!.slipway.sshPort), 'git@127.0.0.1', command], { stdio: [input, out, 'pipe'] });
    let stderr = '';
    let stdout = '';
    p.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => {
      if (typeof out === 'number') closeSync(out);
      if (typeof input === 'number') closeSync(input);
      resolve({ code: code ?? -1, stderr, stdout });
    });
  });
  /** pg_restore -l of an archive (Postgres 17's, from the database image: the host's may be older): its exit code and table of contents. */
  const toc = (file: string) => new Promise<{ code: number; list: string[] }>((resolve, reject) => {
    const input = openSync(file, 'r');
    const p = spawn('docker', ['run', '--rm', '-i', '--network', 'none', '--entrypoint', 'pg_restore', tb!.SLIPWAY_POSTGRES_IMAGE!, '-l'], { stdio: [input, 'pipe', 'inherit'] });
    let out = '';
    p.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => {
      closeSync(input);
      resolve({ code: code ?? -1, list: out.split('\n').filter((l) => /^\d+;/.test(l)).map((l) => l.replace(/^\d+; \d+ \d+ /, '')) });
    });
  });
  /** psql in the database's pod as `user` with `password` over TLS: its exit code and what it said. */
  const loginAs = async (db: string, user: string, password: string) => {
    let out = '';
    const sink = async (c: Buffer) => { out += c.toString(); };
    const code = await kube.exec(NS, `db-${db}-0`, 'postgres', ['env', `PGPASSWORD=${password}`, 'psql', '-X', '-At', `host=127.0.0.1 port=5432 sslmode=require user=${user} dbname=app`, '-c', 'SELECT current_user'], { stdin: Readable.from([]), stdout: sink, stderr: sink }, AbortSignal.timeout(20_000));
    return { code, out: out.trim() };
  };

  /** The key file copies are encrypted to, another that does not open them, and the bucket's settings (a folder of this run's own). */
  const work = mkdtempSync(join(tmpdir(), 'slipway-dumps-e2e-'));
  let keyFile = '';
  let s3: Record<string, string> = {};

  before(async () => {
    const env = testbedEnv(NEEDS);
    if (env) {
      const key = await writeKeyFile(join(work, 'backup.key'));
      keyFile = key.file;
      s3 = { SLIPWAY_BACKUP_S3_URL: `${env.SLIPWAY_TEST_S3_ENDPOINT}/${env.SLIPWAY_TEST_S3_BUCKET}/${APP}`, SLIPWAY_BACKUP_S3_CREDENTIALS: env.SLIPWAY_TEST_S3_CREDENTIALS!, SLIPWAY_BACKUP_S3_CA: env.SLIPWAY_TEST_S3_CA!, SLIPWAY_BACKUP_KEY: key.recipient };
    }
    ({ tb, server: s, builder } = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240', SLIPWAY_WARM_ROLLBACK: '0', SLIPWAY_BACKUP_DIR: join(work, 'backups'), ...s3 }, { buildTimeoutMs: PUSH_MS }) ?? {});
    if (tb) kube = new KubeClient(tb.KUBECONFIG!);
  });
  after(async () => {
    held?.kill();
    await destroyApps(s, builder, APPS);
    // This run's copies leave the shared bucket.
    if (s3.SLIPWAY_BACKUP_S3_URL) {
      const bucket = new S3Bucket(loadConfig({ SLIPWAY_DATA_DIR: work, ...s3 }).backupS3!);
      const folder = `databases/${APP}/imported/`;
      for (const name of await bucket.list(undefined, folder).catch(() => [])) await bucket.remove(folder + name).catch(() => {});
    }
    rmSync(work, { recursive: true, force: true });
  });

  test('a dump over SSH and HTTP, imported with --promote; garbage refused with nothing left; rotation while an old session stays open', { timeout: PUSH_MS + 12 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const started = Date.now();
    const lap = (what: string) => t.diagnostic(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal((await ssh(`addons:create ${APP} postgres`)).exitCode, 0);
    const dir = fixtureCopy('django-db-app');
    await s.commitAll(dir, 'django app with a database');
    await deployApp(s, APP, dir);
    await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b.startsWith('rows 0'), ROUTE_MS, '/rows');
    for (let n = 1; n <= 20; n++) assert.equal((await get(`/rows?add=${n}`)).status, 200);
    lap('deployed with 20 rows');

    // Downloads: the same archive's table of contents over SSH and over HTTP.
    const viaSsh = join(s.dir, 'ssh.dump');
    const d = await sshFile(`pg:backups:download ${APP}`, { out: viaSsh });
    assert.equal(d.code, 0, d.stderr);
    assert.equal(readFileSync(viaSsh).subarray(0, 5).toString(), 'PGDMP', 'a custom-format archive, byte for byte');
    const sshToc = await toc(viaSsh);
    assert.equal(sshToc.code, 0, 'pg_restore -l reads the SSH download');
    assert.ok(sshToc.list.some((l) => /TABLE DATA public pages_row /.test(l)), sshToc.list.join('\n'));
    const token = await makeToken(s, s.admin, `dump-${suffix}`, 'deploy');
    const res = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1/apps/${APP}/addons/postgres/dump`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.match(res.headers.get('content-disposition') ?? '', new RegExp(`attachment; filename="${APP}-postgres.dump"`));
    const viaHttp = join(s.dir, 'http.dump');
    writeFileSync(viaHttp, Buffer.from(await res.arrayBuffer()));
    const httpToc = await toc(viaHttp);
    assert.equal(httpToc.code, 0, 'pg_restore -l reads the HTTP download');
    assert.deepEqual(httpToc.list, sshToc.list);
    const readOnly = await makeToken(s, s.admin, `dump-read-${suffix}`, 'read');
    assert.equal((await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1/apps/${APP}/addons/postgres/dump`, { headers: { authorization: `Bearer ${readOnly}` } })).status, 403, 'a read token may not take all the data');
    lap('downloaded over SSH and HTTP');

    // A client that goes away mid-dump ends pg_dump in the pod: a table big enough that the dump
    // waits on its reader, a reader that takes one chunk and leaves.
    const big = await ssh(`pg:psql ${APP}`, "CREATE TABLE big AS SELECT g, md5(g::text) || md5((g * 7)::text) AS v FROM generate_series(1, 400000) g;\n");
    assert.equal(big.exitCode, 0, big.stderr);
    // What a whole dump of it costs over HTTP, and the server's memory meanwhile (it streams: it
    // never holds the archive). The server runs in this process.
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, process.memoryUsage().rss); }, 20);
    const whole = Date.now();
    const full = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1/apps/${APP}/addons/postgres/dump`, { headers: { authorization: `Bearer ${token}` } });
    let fullBytes = 0;
    for await (const chunk of full.body!) fullBytes += (chunk as Uint8Array).length;
    clearInterval(sampler);
    t.diagnostic(`a dump of 400,000 rows over HTTP: ${(fullBytes / 2 ** 20).toFixed(1)} MiB in ${Date.now() - whole} ms; the server's process grew by at most ${((rssPeak - rssBefore) / 2 ** 20).toFixed(1)} MiB meanwhile`);
    assert.ok(fullBytes > 8 * 2 ** 20, `${fullBytes} bytes`);
    const dumping = "SELECT 'dumping=' || count(*) FROM pg_stat_activity WHERE usename = 'postgres' AND datname = 'app';\n";
    const leave = new AbortController();
    const partial = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1/apps/${APP}/addons/postgres/dump`, { headers: { authorization: `Bearer ${token}` }, signal: leave.signal });
    const reader = partial.body!.getReader();
    await reader.read();
    assert.match((await ssh(`pg:psql ${APP}`, dumping)).stdout, /dumping=1/, 'pg_dump is connected while the client reads');
    leave.abort();
    await eventually(() => 'pg_dump to end after its client left', async () => /dumping=0/.test((await ssh(`pg:psql ${APP}`, dumping)).stdout), 30_000, 500);
    assert.equal((await ssh(`pg:psql ${APP}`, 'DROP TABLE big;\n')).exitCode, 0);
    lap('a client that left ended pg_dump');

    // An import with --promote: a NEW database with the rows of the dump, DATABASE_URL in one release.
    assert.equal((await get('/rows?add=21')).status, 200, 'a row after the dump, in the old database only');
    const before = await config();
    const imp = await sshFile(`pg:backups:restore ${APP} --to imported --promote`, { from: viaSsh });
    assert.equal(imp.code, 0, imp.stderr + imp.stdout);
    assert.match(imp.stdout, /Restored the archive \([\d.]+[KMG]i\) into imported, attached as DATABASE_URL in v\d+\n/);
    const promoted = await config();
    assert.notEqual(promoted.DATABASE_URL, before.DATABASE_URL);
    assert.equal(promoted.POSTGRES_URL, before.DATABASE_URL, 'the old database stays, as its own POSTGRES_URL');
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b.startsWith('rows '), ROUTE_MS, '/rows'), 'rows 20, last 20, tls on\n', "the dump's rows, from the new database");
    lap('imported and promoted');

    // Garbage over SSH and over HTTP: one sentence each, no database, no volume left behind.
    const junk = join(s.dir, 'junk.dump');
    writeFileSync(junk, randomBytes(64 * 1024));
    const bad = await sshFile(`pg:backups:restore ${APP} --to junk`, { from: junk });
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trim(), '!     The archive could not be restored (this is not an archive pg_restore reads (pg_dump -Fc): input file does not appear to be a valid archive); junk was removed and nothing else changed.');
    const post = await fetch(`http://127.0.0.1:${s.slipway.httpPort}/api/v1/apps/${APP}/addons/import?to=junk2`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: readFileSync(junk) });
    assert.equal(post.status, 422);
    assert.match(((await post.json()) as { error: { message: string } }).error.message, /^The archive could not be restored \(this is not an archive pg_restore reads/);
    const names = (JSON.parse((await ssh(`addons ${APP} --json`)).stdout) as { name: string }[]).map((a) => a.name);
    assert.deepEqual(names, ['postgres', 'imported']);
    // Deleted with the database; a claim goes once its pod has.
    await eventually(() => 'the refused imports\' claims to be gone', async () => {
      const claims = await kube.list<{ metadata?: { name?: string } }>('v1', 'PersistentVolumeClaim', NS);
      return !claims.some((c) => /junk/.test(c.metadata?.name ?? ''));
    }, 60_000, 1000);
    assert.deepEqual((await config()).DATABASE_URL, promoted.DATABASE_URL, 'config as it was');
    lap('garbage refused over SSH and HTTP');

    // Rotation while a console session with the old login stays open.
    const oldUrl = new URL(promoted.DATABASE_URL!);
    held = spawn('ssh', [...sshOptions(s.admin), '-p', String(s.slipway.sshPort), 'git@127.0.0.1', `pg:psql ${APP} imported`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let heldOut = '';
    held.stdout!.on('data', (c: Buffer) => { heldOut += c.toString(); });
    const ask = async (sql: string, expect: RegExp) => {
      held!.stdin!.write(`${sql}\n`);
      await eventually(() => `the held session to answer ${sql} (${heldOut.slice(-200)})`, async () => expect.test(heldOut), 20_000, 100);
    };
    await ask("SELECT 'before=' || count(*) FROM pages_row;", /before=20/);
    const rot = await ssh(`pg:credentials:rotate ${APP} imported --json`);
    assert.equal(rot.exitCode, 0, rot.stderr);
    const rotated = JSON.parse(rot.stdout) as { name: string; attachment: string; release: number; retiring: string };
    assert.deepEqual([rotated.name, rotated.attachment, rotated.retiring], ['imported', 'DATABASE_URL', decodeURIComponent(oldUrl.username)]);
    const newUrl = new URL((await config()).DATABASE_URL!);
    assert.notEqual(newUrl.username, oldUrl.username);
    assert.notEqual(newUrl.password, oldUrl.password);
    const secret = await kube.read<V1Secret>('v1', 'Secret', 'db-imported', NS);
    assert.equal(Buffer.from(secret!.data!.POSTGRES_USER!, 'base64').toString(), newUrl.username, 'the Secret has the new login, for a restart');
    await ask("SELECT 'during=' || count(*) FROM pages_row;", /during=20/);
    // The new release connects with the new login, and writes as the role that owns the data.
    const added = await get('/rows?add=22');
    if (added.status !== 200) {
      const probe = await ssh(`run ${APP} -- python -c "import os, psycopg; c = psycopg.connect(os.environ['DATABASE_URL']); print(c.execute('SELECT current_user, session_user, count(*) FROM pages_row').fetchone())"`);
      t.diagnostic(`a connection with DATABASE_URL: ${probe.exitCode} ${probe.stdout} ${probe.stderr}`);
    }
    assert.equal(added.status, 200, added.body.slice(0, 500));
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b.startsWith('rows 21'), ROUTE_MS, '/rows'), 'rows 21, last 22, tls on\n');
    await ask(`SELECT 'app=' || count(*) FROM pg_stat_activity WHERE usename = '${newUrl.username}';`, /app=[1-9]/);
    assert.equal((await loginAs('imported', decodeURIComponent(oldUrl.username), decodeURIComponent(oldUrl.password))).code, 0, 'the old login still logs in while a session uses it');
    const round = await ssh('rounds:run db-logins');
    assert.equal(round.exitCode, 0, round.stderr);
    await ask("SELECT 'still=' || count(*) FROM pages_row;", /still=21/);
    lap('rotated with the old session open');

    const ending = held;
    ending.stdin!.end();
    await new Promise((f) => ending.once('close', f));
    // The old release's pods (with their pooled connections) are gone once the rollout ended; the round then retires the login.
    await eventually(() => 'the old login to be retired', async () => {
      await ssh('rounds:run db-logins');
      const r = await loginAs('imported', decodeURIComponent(oldUrl.username), decodeURIComponent(oldUrl.password));
      return r.code !== 0 && /not permitted to log in|password authentication failed/.test(r.out) ? r : undefined;
    }, 150_000, 3000);
    const fresh = await loginAs('imported', newUrl.username, decodeURIComponent(newUrl.password));
    assert.deepEqual([fresh.code, fresh.out], [0, decodeURIComponent(oldUrl.username)], 'the new login acts as the role that owns the data');
    assert.match((await ssh(`pg:psql ${APP} imported`, "SELECT 'console=' || count(*) FROM pages_row;\n")).stdout, /console=21/, 'the console uses the new login');
    lap('the old login retired');
    const pods = await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'slipway/data=imported' });
    assert.equal(pods[0]?.status?.containerStatuses?.[0]?.restartCount, 0, 'the database was not restarted by the rotation');
  });
  test('a copy off the machine: the dump encrypted in the bucket, restored with the key into a new database; a wrong key makes nothing', { timeout: 6 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !keyFile) return;
    const started = Date.now();
    // The app's database by now: imported (promoted, then rotated), with 21 rows.
    const copy = await ssh(`pg:backups:copy ${APP} imported --json`);
    assert.equal(copy.exitCode, 0, copy.stderr + copy.stdout);
    const made = JSON.parse(copy.stdout) as { database: string; name: string; url: string; bytes: number };
    assert.equal(made.database, 'imported');
    assert.equal(made.url, `${s3.SLIPWAY_BACKUP_S3_URL}/databases/${APP}/imported/${made.name}`);
    t.diagnostic(`pg:backups:copy: ${made.bytes} bytes encrypted, copied and read back in ${Date.now() - started} ms`);
    // What the bucket holds (versitygw keeps objects as files): age's format, no row in the clear.
    const stored = readFileSync(join(tb!.SLIPWAY_TEST_S3_CREDENTIALS!, '..', 'data', tb!.SLIPWAY_TEST_S3_BUCKET!, APP, 'databases', APP, 'imported', made.name));
    assert.equal(stored.subarray(0, 21).toString(), 'age-encryption.org/v1');
    assert.ok(!stored.includes(Buffer.from('pages_row')), 'no table name in the clear');
    const listed = JSON.parse((await ssh(`pg:backups:copies ${APP} imported --json`)).stdout) as { copies: string[] };
    assert.deepEqual(listed.copies, [made.name]);

    // A key that is not the one: one sentence, no database made.
    const other = await writeKeyFile(join(work, 'other.key'));
    const wrong = await sshFile(`pg:backups:restore ${APP} --from-s3 latest --from imported --to wrongkey`, { from: other.file });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr.trim(), new RegExp(`^!     ${made.name.replace(/\./g, '\\.')} does not open with this key`));
    assert.ok(!(JSON.parse((await ssh(`addons ${APP} --json`)).stdout) as { name: string }[]).some((a) => a.name === 'wrongkey'));

    // The key: a new database with the copy's rows, the live one untouched.
    const restored = await sshFile(`pg:backups:restore ${APP} --from-s3 latest --from imported --to fromcopy`, { from: keyFile });
    assert.equal(restored.code, 0, restored.stderr + restored.stdout);
    assert.match(restored.stdout, /Restored the archive \([\d.]+[KMG]i\) into fromcopy, attached as FROMCOPY_URL in v\d+\n/);
    assert.match((await ssh(`pg:psql ${APP} fromcopy`, "SELECT 'copied=' || count(*) || ',' || max(n) FROM pages_row;\n")).stdout, /copied=21,22/);
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b.startsWith('rows '), ROUTE_MS, '/rows'), 'rows 21, last 22, tls on\n', 'the app still answers from its own database');
    t.diagnostic(`copied and restored in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
