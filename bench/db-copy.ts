// A Postgres database's copy off the machine on the testbed (issue 37): `pg:backups:copy` (a
// pg_dump encrypted with age, uploaded to the testbed's S3 endpoint, read back and checked) and
// `pg:backups:restore --from-s3 latest` (downloaded, opened with the key, restored into a NEW
// database made for it), side by side with what a Dokku user scripts for the same (Dokku's
// postgres:export piped through an encrypter to `aws s3 cp`): `kubectl exec … pg_dump -Fc | age
// -r RECIPIENT > FILE; curl --aws-sigv4 -T FILE`, and back: `curl` the object, `age -d`, and
// `pg_restore` into a database made with `createdb` in the same server (no new instance, no
// release). One database of BENCH_COPY_MB of rows (default 512), BENCH_ROUNDS rounds (default 2),
// interleaved.
//   eval "$(npm run -s testbed)"; node bench/db-copy.ts
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../server/config.ts';
import { kubeDeployer } from '../server/backends.ts';
import { pipe, runChecked } from '../server/exec.ts';
import { KubeClient } from '../server/kube/client.ts';
import { execOutput } from '../server/kube/exec-io.ts';
import { writeKeyFile } from '../server/ops/self-backup/age.ts';
import { S3Bucket } from '../server/s3.ts';
import { startTestServer } from '../test/support/harness.ts';
import { clusterEnv } from '../test/support/testbed.ts';
import { median } from './stats.ts';
import { writeKeepingSections } from './results-file.ts';
import { benchEnv, requireTestbed } from './settings.ts';

const SETTINGS = Object.freeze({
  rounds: Number(benchEnv.BENCH_ROUNDS || 2),
  megabytes: Number(benchEnv.BENCH_COPY_MB || 512),
  registry: benchEnv.SLIPWAY_REGISTRY ?? '',
  kubeconfig: benchEnv.KUBECONFIG ?? '',
  postgresImage: benchEnv.SLIPWAY_POSTGRES_IMAGE ?? '',
  s3Endpoint: benchEnv.SLIPWAY_TEST_S3_ENDPOINT ?? '',
  s3Bucket: benchEnv.SLIPWAY_TEST_S3_BUCKET ?? '',
  s3Credentials: benchEnv.SLIPWAY_TEST_S3_CREDENTIALS ?? '',
  s3Ca: benchEnv.SLIPWAY_TEST_S3_CA ?? '',
  out: resolve(import.meta.dirname, 'results', 'db-copy.md'),
});
requireTestbed('db-copy', SETTINGS);
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const s2 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const app = `bench-copy-${Date.now().toString(36)}`;
const ns = `slipway-${app}`;
const work = mkdtempSync(join(tmpdir(), 'bench-db-copy-'));
const key = await writeKeyFile(join(work, 'backup.key'));
const folderUrl = `${SETTINGS.s3Endpoint}/${SETTINGS.s3Bucket}/${app}`;
const s3 = { SLIPWAY_BACKUP_S3_URL: folderUrl, SLIPWAY_BACKUP_S3_CREDENTIALS: SETTINGS.s3Credentials, SLIPWAY_BACKUP_S3_CA: SETTINGS.s3Ca };
const env = { SLIPWAY_REGISTRY: SETTINGS.registry, KUBECONFIG: SETTINGS.kubeconfig, SLIPWAY_BASE_DOMAIN: 'slipway.bench', SLIPWAY_APP_MAX_DATABASES: '4', SLIPWAY_APP_MAX_VOLUMES: '8', SLIPWAY_BACKUP_KEY: key.recipient, SLIPWAY_BACKUP_DIR: join(work, 'backups'), ...s3, ...clusterEnv() };
const deployer = kubeDeployer(loadConfig({ ...env, SLIPWAY_DATA_DIR: '/nonexistent' }));
const s = await startTestServer(env, { deployer });
const kube = new KubeClient(SETTINGS.kubeconfig);
const ssh = async (cmd: string, input?: string) => {
  const r = await s.ssh(s.admin, cmd, input);
  if (r.exitCode !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
};
const timed = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};
// curl's credential in a config file of its own (never on a command line); curl 7.88 signs no
// payload hash of its own: the header says the payload is not signed, as S3 allows over TLS.
const curlConfig = join(work, 'curl.conf');
writeFileSync(curlConfig, `user = "${readFileSync(SETTINGS.s3Credentials, 'utf8').trim()}"\n`, { mode: 0o600 });
/** curl with the endpoint's authority and S3's signature, as a user scripts it. */
const curl = ['curl', '-sS', '--fail', '-K', curlConfig, '--cacert', SETTINGS.s3Ca, '--aws-sigv4', 'aws:amz:us-east-1:s3', '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD'];
/** kubectl with the testbed's kubeconfig, as a user runs it. */
const kubectl = (args: string[]): [string, string[]] => ['kubectl', ['--kubeconfig', SETTINGS.kubeconfig, ...args]];

/**
 * Programs chained output to input, as a shell's `a | b | c` with argument arrays: the last one's
 * output written to the file `to` (or dropped). Throws naming the first program that failed.
 */
async function chain(programs: [string, string[]][], io: { to?: string } = {}): Promise<void> {
  const running = programs.map(([cmd, args]) => ({ cmd, p: pipe(cmd, args), err: '' }));
  running.forEach((r, i) => {
    r.p.stdin.on('error', () => {}); // a reader that ended early: its writer's exit code says why
    r.p.stderr.on('data', (c: Buffer) => { r.err = (r.err + c.toString()).slice(-2000); });
    const next = running[i + 1];
    if (next) r.p.stdout.pipe(next.p.stdin);
  });
  running[0]!.p.stdin.end();
  const last = running.at(-1)!.p.stdout;
  const written = io.to ? pipeline(last, createWriteStream(io.to)) : Promise.resolve(void last.resume());
  const codes = await Promise.all(running.map((r) => r.p.exited));
  await written;
  const bad = codes.findIndex((c) => c !== 0);
  if (bad >= 0) throw new Error(`${running[bad]!.cmd} exited ${codes[bad]}: ${running[bad]!.err.trim()}`);
}
const times = { copy: [] as number[], scriptCopy: [] as number[], restore: [] as number[], scriptRestore: [] as number[] };
let copyBytes = 0;
let dbBytes = 0;
try {
  await ssh(`apps:create ${app}`);
  await ssh(`addons:create ${app} postgres --size 4Gi`);
  const [pg] = await kube.list<{ metadata: { name: string } }>('v1', 'Pod', ns, { labelSelector: 'slipway/data=postgres' });
  const pod = pg!.metadata.name;
  const inPod = async (cmd: string[]) => {
    const r = await execOutput(kube, { namespace: ns, pod, container: 'postgres' }, cmd, AbortSignal.timeout(15 * 60_000), 2 ** 20);
    if (r.code !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  // Rows of about 100 bytes: numbers and hex digests (they compress as a real table's text does, not as zeros).
  const rows = Math.round((SETTINGS.megabytes * 2 ** 20) / 100);
  say(`filling the database with ${rows} rows (about ${SETTINGS.megabytes} MB)`);
  await inPod(['psql', '-X', '-q', '-h', '/tmp', '-U', 'postgres', '-d', 'app', '-c', `CREATE TABLE filler AS SELECT g AS n, md5(g::text) || md5((g * 7)::text) AS v FROM generate_series(1, ${rows}) g`]);
  dbBytes = Number(await inPod(['psql', '-X', '-A', '-t', '-h', '/tmp', '-U', 'postgres', '-d', 'app', '-c', "SELECT pg_database_size('app')"]));
  for (let round = 0; round < SETTINGS.rounds; round++) {
    say(`round ${round + 1}: pg:backups:copy, then the script`);
    times.copy.push(await timed(async () => {
      const c = JSON.parse(await ssh(`pg:backups:copy ${app} --json`)) as { bytes: number };
      copyBytes = c.bytes;
    }));
    const file = join(work, `script-${round}.dump.age`);
    times.scriptCopy.push(await timed(async () => {
      await chain([kubectl(['exec', '-n', ns, pod, '-c', 'postgres', '--', 'pg_dump', '-Fc', '-h', '/tmp', '-U', 'postgres', 'app']), ['age', ['-r', key.recipient]]], { to: file });
      await runChecked(curl[0]!, [...curl.slice(1), '-T', file, `${folderUrl}/script/${round}.dump.age`]);
    }));
    rmSync(file, { force: true });
    say(`round ${round + 1}: pg:backups:restore --from-s3, then the script`);
    times.restore.push(await timed(() => ssh(`pg:backups:restore ${app} --from-s3 latest --to r${round}`, readFileSync(key.file, 'utf8'))));
    await ssh(`addons:destroy ${app} r${round} --confirm ${app}`);
    times.scriptRestore.push(await timed(async () => {
      await inPod(['createdb', '-h', '/tmp', '-U', 'postgres', `script${round}`]);
      await chain([[curl[0]!, [...curl.slice(1), `${folderUrl}/script/${round}.dump.age`]], ['age', ['-d', '-i', key.file]],
        kubectl(['exec', '-i', '-n', ns, pod, '-c', 'postgres', '--', 'pg_restore', '--no-owner', '--no-acl', '-h', '/tmp', '-U', 'postgres', '-d', `script${round}`])]);
    }));
    await inPod(['dropdb', '-h', '/tmp', '-U', 'postgres', `script${round}`]);
  }
} finally {
  await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app}`);
  await s.close();
  deployer.close();
  const bucket = new S3Bucket(loadConfig({ SLIPWAY_DATA_DIR: work, ...s3 }).backupS3!);
  for (const folder of [`databases/${app}/postgres/`, 'script/']) {
    for (const name of await bucket.list(undefined, folder).catch(() => [])) await bucket.remove(folder + name).catch(() => {});
  }
  rmSync(work, { recursive: true, force: true });
}

const ratio = (a: number[], b: number[]) => `${(median(a) / median(b)).toFixed(2)}×`;
const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
const report = [
  '# A database copied off the machine',
  '',
  `${new Date().toISOString().slice(0, 10)}, ${SETTINGS.rounds} rounds (medians), testbed (versitygw over HTTPS on loopback, local-path volumes), image ${SETTINGS.postgresImage}. Machine: 2 shared cores. The database: ${mb(dbBytes)} on disk; its copy ${mb(copyBytes)} (pg_dump's custom format, compressed, then age).`,
  '',
  '## Copy and restore, Slipway and the script a Dokku user writes',
  '',
  '| measure | Slipway | the script | ratio | each round (Slipway / script) |',
  '|---|---|---|---|---|',
  `| copy off the machine: \`pg:backups:copy\` (dump, encrypt, upload, read back and check) / \`pg_dump \\| age > file; curl -T\` (no read-back) | ${s2(median(times.copy))} | ${s2(median(times.scriptCopy))} | ${ratio(times.copy, times.scriptCopy)} | ${times.copy.map((t, i) => `${s2(t)} / ${s2(times.scriptCopy[i]!)}`).join(', ')} |`,
  `| restore: \`pg:backups:restore --from-s3\` into a NEW database (made, restored, attached in a release) / \`curl \\| age -d \\| pg_restore\` into a \`createdb\` beside the live one | ${s2(median(times.restore))} | ${s2(median(times.scriptRestore))} | ${ratio(times.restore, times.scriptRestore)} | ${times.restore.map((t, i) => `${s2(t)} / ${s2(times.scriptRestore[i]!)}`).join(', ')} |`,
  '',
].join('\n');
writeKeepingSections(SETTINGS.out, report);
process.stdout.write(report);
