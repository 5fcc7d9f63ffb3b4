// Slipway's own backup and restore (issue 38) on a store of 50 apps and 500 releases whose images
// hold about 2 GB (each app a base layer of its own, each release a layer of its own; random bytes,
// as compressed layers are): backup:create's write (store copy, tar, age encryption, image blobs
// streamed in) and its verify (decrypt, every checksum, SQLite's integrity check), then a restore
// into an empty data dir with every image pushed back. The registry is Slipway's ImageBlobs
// interface in memory, so the numbers are Slipway's own work, not a registry's or a network's.
// Side by side: `tar -c | gzip` of the same files (the data dir and the images as an OCI layout on
// disk) and `gzip -d | tar -x` back, what a plain copy costs. With the testbed's S3 endpoint
// (SLIPWAY_TEST_S3_*, testbed/parts/69-s3.sh), the archive's copy off the machine too (upload and
// read back whole), beside what a cron script would do instead: `curl --aws-sigv4 -T` up and
// `curl | sha256sum` back.
//   node bench/self-backup.ts        (BENCH_APPS=50 BENCH_RELEASES=10 BENCH_BASE_MB=20 BENCH_RELEASE_MB=2)
// The file's sections after the first (measured by other means) are kept as they are.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execFileSync, spawn } from 'node:child_process';
import { loadConfig } from '../server/config.ts';
import { openStore, storeKeysOf } from '../server/store/index.ts';
import type { Services } from '../server/context.ts';
import { backUp } from '../server/ops/self-backup/backups.ts';
import type { BackupRecord } from '../server/shapes/self-backups.ts';
import { S3Bucket } from '../server/s3.ts';
import { writeKeyFile } from '../server/ops/self-backup/age.ts';
import { PUSHING, restoreArchive } from '../server/ops/self-backup/restore.ts';
import { RegistryBlobs } from '../server/build/registry-blobs.ts';
import { MemoryImages, seedStore } from '../test/support/self-backup.ts';
import { freePort } from '../test/support/harness.ts';
import { eventually } from '../test/support/eventually.ts';
import { benchEnv } from './settings.ts';
import { writeKeepingSections } from './results-file.ts';

const SETTINGS = Object.freeze({
  apps: Number(benchEnv.BENCH_APPS || 50),
  releases: Number(benchEnv.BENCH_RELEASES || 10),
  baseMb: Number(benchEnv.BENCH_BASE_MB || 20),
  releaseMb: Number(benchEnv.BENCH_RELEASE_MB || 2),
  out: resolve(import.meta.dirname, 'results', 'self-backup.md'),
});
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const s2 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number) => (bytes < 10e6 ? `${(bytes / 1e3).toFixed(0)} kB` : `${(bytes / 1e6).toFixed(0)} MB`);
const rate = (bytes: number, ms: number) => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;

/** The testbed's bucket, a folder of this run's own; undefined without the testbed. */
const s3 = benchEnv.SLIPWAY_TEST_S3_ENDPOINT && benchEnv.SLIPWAY_TEST_S3_BUCKET && benchEnv.SLIPWAY_TEST_S3_CREDENTIALS && benchEnv.SLIPWAY_TEST_S3_CA
  ? { SLIPWAY_BACKUP_S3_URL: `${benchEnv.SLIPWAY_TEST_S3_ENDPOINT}/${benchEnv.SLIPWAY_TEST_S3_BUCKET}/bench-${randomBytes(3).toString('hex')}`, SLIPWAY_BACKUP_S3_CREDENTIALS: benchEnv.SLIPWAY_TEST_S3_CREDENTIALS, SLIPWAY_BACKUP_S3_CA: benchEnv.SLIPWAY_TEST_S3_CA }
  : undefined;
if (!s3) say('no SLIPWAY_TEST_S3_* (the testbed is not up): the copy off the machine is not measured');

const root = mkdtempSync(join(tmpdir(), 'slipway-bench-self-backup-'));
try {
  const { recipient } = await writeKeyFile(join(root, 'backup.key'));
  const config = loadConfig({ SLIPWAY_DATA_DIR: join(root, 'data'), SLIPWAY_BACKUP_KEY: recipient, SLIPWAY_REGISTRY: 'registry.test', SLIPWAY_BACKUP_KEEP: '100', ...s3 });
  const store = openStore(config.dbFile, storeKeysOf(config));
  const images = new MemoryImages();
  say(`seeding ${SETTINGS.apps} apps × ${SETTINGS.releases} releases, images ${SETTINGS.baseMb} MB per app + ${SETTINGS.releaseMb} MB per release`);
  seedStore(store, config, images, { apps: SETTINGS.apps, releases: SETTINGS.releases, baseBytes: SETTINGS.baseMb * 1e6, releaseBytes: SETTINGS.releaseMb * 1e6, basePerApp: true });
  writeFileSync(config.hostKeyFile, 'bench host key\n', { mode: 0o600 });
  let imageBytes = 0;
  const blobs = new Map<string, Buffer>();
  for (const [k, b] of images.blobs) blobs.set(k.split('@')[1]!, b);
  for (const [k, m] of images.manifests) blobs.set(k.split('@')[1]!, Buffer.from(m.bytes));
  for (const b of blobs.values()) imageBytes += b.length;
  const storeBytes = statSync(config.dbFile).size;
  say(`store ${mb(storeBytes)}, images ${mb(imageBytes)} in ${blobs.size} blobs`);

  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, process.memoryUsage().rss); }, 100);
  const t0 = performance.now();
  const record = await backUp({ config, store, images } as unknown as Services);
  const backupMs = performance.now() - t0;
  clearInterval(sampler);
  if (!record.verified) throw new Error(`the backup failed its verification: ${record.verifyError}`);
  if (record.copy && !record.copy.ok) throw new Error(`the backup's copy failed: ${record.copy.error}`);
  say(`backup: ${s2(record.writeMs)} write + ${s2(record.verifyMs ?? 0)} verify${record.copy ? ` + ${s2(record.copy.ms)} copy` : ''}, ${mb(record.bytes)}`);

  // What a cron script would do instead: curl's own SigV4 up, and the object back through sha256sum.
  let curlMs: number | undefined;
  if (s3 && config.backupS3) {
    const archive = join(config.backupDir, record.name);
    const url = `${s3.SLIPWAY_BACKUP_S3_URL}/curl-${record.name}`;
    const auth = `user = "${config.backupS3.accessKeyId}:${config.backupS3.secretAccessKey}"\n`;
    const t = performance.now();
    // curl 7.88 signs no payload hash of its own: the header says the payload is not signed, as S3 allows over TLS.
    const unsigned = 'x-amz-content-sha256: UNSIGNED-PAYLOAD';
    execFileSync('curl', ['-sSf', '-K', '-', '--cacert', s3.SLIPWAY_BACKUP_S3_CA, '--aws-sigv4', 'aws:amz:us-east-1:s3', '-H', unsigned, '-T', archive, url], { input: auth });
    const back = execFileSync('sh', ['-c', 'curl -sSf -K - --cacert "$1" --aws-sigv4 aws:amz:us-east-1:s3 -H "$3" "$2" | sha256sum', 'sh', s3.SLIPWAY_BACKUP_S3_CA, url, unsigned], { input: auth }).toString();
    curlMs = performance.now() - t;
    if (!back.startsWith(record.sha256)) throw new Error('curl read back other bytes than the archive');
    say(`curl up and back: ${s2(curlMs)}`);
    const bucket = new S3Bucket(config.backupS3);
    for (const name of await bucket.list()) await bucket.remove(name);
  }

  const fresh = new MemoryImages();
  const t1 = performance.now();
  const restored = await restoreArchive({ config: { dataDir: join(root, 'restored'), registry: 'registry.test', registryAuth: undefined }, archive: join(config.backupDir, record.name), keyFile: join(root, 'backup.key'), images: fresh });
  const restoreMs = performance.now() - t1;
  say(`restore: ${s2(restoreMs)}, ${restored.blobsPushed} blobs pushed`);

  // The same files on disk, for tar | gzip: the data dir (the store, repositories, host key) and an OCI layout.
  const plain = join(root, 'plain');
  mkdirSync(join(plain, 'images', 'blobs', 'sha256'), { recursive: true });
  for (const [digest, b] of blobs) writeFileSync(join(plain, 'images', 'blobs', 'sha256', digest.slice(7)), b);

  // A fresh machine's registry holds none of the images: Debian's docker-registry on a loopback port
  // with an empty storage folder on the same disk (a registry of the testbed's kind), and the same
  // restore into it; beside it, a plain copy of the same blob files into another folder.
  let registryRestore: { ms: number; blobs: number; copyMs: number; backup: BackupRecord } | undefined;
  const registryBinary = benchEnv.SLIPWAY_REGISTRY_BINARY || '/usr/bin/docker-registry';
  if (existsSync(registryBinary)) {
    const addr = `127.0.0.1:${await freePort()}`;
    writeFileSync(join(root, 'registry.yml'), ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${join(root, 'registry')}`, 'http:', `  addr: ${addr}`, ''].join('\n'));
    const registry = spawn(registryBinary, ['serve', join(root, 'registry.yml')], { stdio: 'ignore' });
    try {
      await eventually(`the registry at ${addr}`, () => fetch(`http://${addr}/v2/`).then((r) => r.ok, () => false), 10_000, 100);
      const t = performance.now();
      const r = await restoreArchive({ config: { dataDir: join(root, 'restored-registry'), registry: addr, registryAuth: undefined }, archive: join(config.backupDir, record.name), keyFile: join(root, 'backup.key'), images: new RegistryBlobs(addr) });
      const ms = performance.now() - t;
      const tc = performance.now();
      execFileSync('sh', ['-c', 'cp -r "$1" "$2" && sync', 'sh', join(plain, 'images'), join(root, 'images-copy')]);
      const copyMs = performance.now() - tc;
      say(`restore into an empty docker-registry: ${s2(ms)}, ${r.blobsPushed} blobs pushed; cp -r of the blobs: ${s2(copyMs)}`);
      // The same backup again, its images read from that registry as a server's are (no copy off the machine).
      const fromRegistry = loadConfig({ SLIPWAY_DATA_DIR: join(root, 'data'), SLIPWAY_BACKUP_KEY: recipient, SLIPWAY_REGISTRY: addr, SLIPWAY_BACKUP_DIR: join(root, 'backups-registry') });
      const backup = await backUp({ config: fromRegistry, store, images: new RegistryBlobs(addr) } as unknown as Services);
      if (!backup.verified) throw new Error(`the backup from the registry failed its verification: ${backup.verifyError}`);
      say(`backup from the docker-registry: ${s2(backup.writeMs)} write + ${s2(backup.verifyMs ?? 0)} verify`);
      registryRestore = { ms, blobs: r.blobsPushed, copyMs, backup };
    } finally {
      registry.kill();
      rmSync(join(root, 'registry'), { recursive: true, force: true });
      rmSync(join(root, 'images-copy'), { recursive: true, force: true });
    }
  } else say(`no ${registryBinary}: the restore into a real registry is not measured`);
  execFileSync('cp', ['-a', config.dataDir, join(plain, 'data')]);
  rmSync(join(plain, 'data', 'backups'), { recursive: true, force: true });
  const tgz = join(root, 'plain.tar.gz');
  const t2 = performance.now();
  execFileSync('sh', ['-c', 'tar -C "$1" -cf - data images | gzip > "$2"', 'sh', plain, tgz]);
  const tarMs = performance.now() - t2;
  const out = join(root, 'untar');
  mkdirSync(out);
  const t3 = performance.now();
  execFileSync('sh', ['-c', 'gzip -dc "$1" | tar -C "$2" -xf -', 'sh', tgz, out]);
  const untarMs = performance.now() - t3;
  const tgzBytes = statSync(tgz).size;
  say(`tar | gzip: ${s2(tarMs)} (${mb(tgzBytes)}); gzip -d | tar -x: ${s2(untarMs)}`);

  const total = storeBytes + imageBytes;
  const lines = [
    "# Slipway's own backup and restore",
    '',
    `${new Date().toISOString().slice(0, 10)}, \`node bench/self-backup.ts\`: ${SETTINGS.apps} apps, ${SETTINGS.apps * SETTINGS.releases} releases, a store of ${mb(storeBytes)}, images of ${mb(imageBytes)} in ${blobs.size} blobs (each app a ${SETTINGS.baseMb} MB base layer of its own, each release a ${SETTINGS.releaseMb} MB layer; random bytes, as compressed layers are). One run. Machine: 2 shared cores (other work beside it), temporary files on the same disk. The backup reads the images from Slipway's ImageBlobs interface in memory, and the first restore pushes them into another: those times are Slipway's own work. The second restore pushes into a real, empty registry, as on a fresh machine. age's payload runs on Node's own ChaCha20-Poly1305 (patches/age-encryption+0.3.1.patch).`,
    '',
    '| measure | time | rate | size | goal |',
    '|---|---|---|---|---|',
    `| backup:create: write (store copy, tar, age, image blobs streamed in) | ${s2(record.writeMs)} | ${rate(total, record.writeMs)} | ${mb(record.bytes)} | |`,
    `| backup:create: verify (decrypt into a scratch dir, every checksum and digest, integrity check) | ${s2(record.verifyMs ?? 0)} | ${rate(total, record.verifyMs ?? 1)} | | |`,
    ...(record.copy && curlMs !== undefined ? [
      `| backup:create: the copy to an S3-compatible bucket (the testbed's versitygw over HTTPS on loopback), uploaded in one streamed request (in 16 MiB parts above 4 GiB) and read back whole | ${s2(record.copy.ms)} | ${rate(2 * record.bytes, record.copy.ms)} both ways | | |`,
      `| \`curl --aws-sigv4 -T\` of the archive, then \`curl \\| sha256sum\` back | ${s2(curlMs)} | ${rate(2 * record.bytes, curlMs)} both ways | | |`,
      `| ratio: Slipway's copy / curl's | ${(record.copy.ms / curlMs).toFixed(2)}× | | | |`,
    ] : []),
    `| backup:create in all (write, verify, ${record.copy ? 'the copy, ' : ''}retention) | ${s2(backupMs)} | ${rate(total, backupMs)} | | ≤ 2 min (issue 38) |`,
    `| restore into an empty data dir, every image pushed back (${restored.blobsPushed} blobs) | ${s2(restoreMs)} | ${rate(total, restoreMs)} | | |`,
    ...(registryRestore ? [
      `| restore onto a fresh machine's empty registry (Debian's docker-registry on loopback, its storage on the same disk), every image pushed (${registryRestore.blobs} blobs) | ${s2(registryRestore.ms)} | ${rate(total, registryRestore.ms)} | | |`,
      `| \`cp -r\` of the same blob files into another folder (and \`sync\`) | ${s2(registryRestore.copyMs)} | ${rate(imageBytes, registryRestore.copyMs)} | | |`,
      `| ratio: restore into the registry / plain copy | ${(registryRestore.ms / registryRestore.copyMs).toFixed(2)}× | | | |`,
      `| backup:create: write, its images read from that registry (the server's case; the rows above read them from memory) | ${s2(registryRestore.backup.writeMs)} | ${rate(total, registryRestore.backup.writeMs)} | | |`,
      `| backup:create: verify of that archive | ${s2(registryRestore.backup.verifyMs ?? 0)} | ${rate(total, registryRestore.backup.verifyMs ?? 1)} | | |`,
    ] : []),
    `| \`tar -c \\| gzip\` of the same files | ${s2(tarMs)} | ${rate(total, tarMs)} | ${mb(tgzBytes)} | |`,
    `| \`gzip -d \\| tar -x\` back | ${s2(untarMs)} | ${rate(total, untarMs)} | | |`,
    `| ratio: backup write / tar \\| gzip | ${(record.writeMs / tarMs).toFixed(2)}× | | | |`,
    `| ratio: restore / gzip -d \\| tar -x | ${(restoreMs / untarMs).toFixed(2)}× | | | |`,
    '',
    `Memory: the process's resident set grew by ${mb(rssPeak - rssBefore)} during backup:create (before it: ${mb(rssBefore)}, most of it the in-memory registry), against ${mb(total)} written: files and layers stream through the tar and age's 64 KiB chunks, nothing is held whole.`,
    '',
    `What the numbers say: the write is ${(record.writeMs / tarMs).toFixed(2)}× \`tar | gzip\`: gzip's one-core compression, which gains nothing on layers that are compressed already (${mb(tgzBytes)} for ${mb(total)}), costs ${record.writeMs < tarMs ? 'more' : 'less'} than age's encryption and the SHA-256 of every entry, so the archive is not compressed. The restore is ${(restoreMs / untarMs).toFixed(2)}× \`gzip -d | tar -x\`: besides decrypting and unpacking, it hashes every entry, checks every image and the store, and pushes every blob; the verify reads the whole archive back once more, which a plain copy never does.${registryRestore ? ` Into a real registry the restore takes ${(registryRestore.ms / restoreMs).toFixed(1)}× as long as into memory: each blob is a request to ask for it, one to start its upload and one to send it, each written and hashed by the registry (restore pushes ${PUSHING} repositories at a time). Backing up from that registry, the write takes ${(registryRestore.backup.writeMs / record.writeMs).toFixed(1)}× as long as from memory: each blob is one request, read from the registry's storage and streamed in turn.` : ''}`,
    '',
  ];
  // The sections after the table were measured by other means (the install test): kept.
  writeKeepingSections(SETTINGS.out, lines.join('\n'));
  say(`wrote ${SETTINGS.out}`);
  store.close();
} finally {
  rmSync(root, { recursive: true, force: true });
}
