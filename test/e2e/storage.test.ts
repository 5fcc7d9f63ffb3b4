// Persistent storage on the testbed's real pieces (pack, registry, a Kubernetes node with the
// local-path provisioner k3s ships, running Slipway's setup of k8s/volumes/, Traefik): a volume made
// and mounted before the first push, a note written through the app (SQLite on the volume) that
// survives a redeploy, a rollback and ps:stop/ps:start; a 1Mi volume that refuses the 64 MiB a
// one-off pod writes to it, and storage:list showing it full; unmount, destroy, and apps:destroy
// with and without --include-storage. Tests run in order and share one app (test/fixtures/notes-app).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '../../server/kube/client.ts';
import { loadConfig } from '../../server/config.ts';
import { doctorChecks } from '../../server/ops/admin/doctor.ts';
import type { V1Deployment, V1PersistentVolumeClaim, V1Pod } from '../../server/kube/types.ts';
import { remoteLines, type TestServer } from '../support/harness.ts';
import { startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { httpThroughIngress, waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS', 'SLIPWAY_TEST_STORAGE_CLASS'] as const;
const BASE_DOMAIN = 'slipway.test';
const APP = `storage-${randomBytes(3).toString('hex')}`;
const NS = `slipway-${APP}`;
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 60_000;

/** The client library's model objects as plain data, to compare with literals. */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x ?? null));

interface Notes { release: string; notes: string[] }
interface VolumeInfo { name: string; size: string; status: string; mounts: { process: string; path: string }[]; usedBytes?: number; capacityBytes?: number }
interface PersistentVolume { spec?: { claimRef?: { name?: string; namespace?: string }; local?: { path?: string }; hostPath?: { path?: string } } }

/** POSTs `body` to `path` through the ingress (loopback only) with the app's Host header. */
function post(addr: string, host: string, path: string, body: string): Promise<{ status: number; body: string }> {
  const m = /^(127\.\d+\.\d+\.\d+):(\d+)$/.exec(addr);
  if (!m) throw new Error(`the ingress must be a loopback address, got ${addr}`);
  return new Promise((resolve, reject) => {
    const req = request({ hostname: m[1], port: Number(m[2]), path, method: 'POST', headers: { host, 'content-type': 'text/plain' }, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5000 ms')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls the app every 100 ms until stopped; resolves with the longest run of failed answers, in ms. */
function watchGap(addr: string, host: string): { stop(): Promise<number> } {
  let running = true;
  let longest = 0;
  const done = (async () => {
    let downSince: number | undefined;
    while (running) {
      const ok = (await httpThroughIngress(addr, host, 2000).catch(() => undefined))?.status === 200;
      const now = Date.now();
      if (!ok) downSince ??= now;
      else if (downSince !== undefined) {
        longest = Math.max(longest, now - downSince);
        downSince = undefined;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return longest;
  })();
  return { stop: () => { running = false; return done; } };
}

describe('persistent storage: a volume survives deploys, rollbacks and ps:stop', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let kube: KubeClient;
  let ingress: string;
  let wd: string;
  const host = `${APP}.${BASE_DOMAIN}`;
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const volumes = async (): Promise<VolumeInfo[]> => JSON.parse((await ssh(`storage:list ${APP} --json`)).stdout) as VolumeInfo[];
  /** The volumes as storage:list --json shows them, without what the kubelet measured (it changes as the app writes). */
  const volumesNow = async () => (await volumes()).map(({ usedBytes: _u, capacityBytes: _c, ...v }) => v);
  const lastError = (text: string) => text.split('\n').filter((l) => l.startsWith(' !     ')).at(-1) ?? '';
  /** The notes once the release `release` answers them. */
  const notesOf = (release: string) => eventually(`${release} to answer /notes`, async () => {
    const r = await httpThroughIngress(ingress, host, 5000, '/notes').catch(() => undefined);
    if (r?.status !== 200) return undefined;
    const n = JSON.parse(r.body) as Notes;
    return n.release === release && n;
  }, ROUTE_MS, 500);

  before(async () => {
    const tb = testbedEnv(NEEDS);
    if (!tb) return;
    ingress = tb.SLIPWAY_TEST_INGRESS!;
    kube = new KubeClient(tb.KUBECONFIG!);
    ({ server: s } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '180' }, { buildTimeoutMs: PUSH_MS }));
    assert.equal((await ssh(`apps:create ${APP}`)).exitCode, 0);
  });
  after(async () => {
    if (!s) return;
    if ((await ssh('apps:list')).stdout.includes(APP)) await ssh(`apps:destroy ${APP} --confirm ${APP} --include-storage`);
    await s.close();
  });

  test('a volume made and mounted before the first push is a claim from the default class, mounted by that push', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const created = await ssh(`storage:create ${APP} notes --size 100Mi`);
    assert.equal(created.exitCode, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`^Creating volume notes \\(100Mi\\) for ${APP}\\.\\.\\. done$`, 'm'));
    const claim = await kube.read<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', 'notes', NS);
    assert.deepEqual([claim?.spec?.accessModes, claim?.spec?.resources?.requests?.storage, claim?.spec?.storageClassName], [['ReadWriteOnce'], '100Mi', 'local-path'], 'the default class was filled in by the API server');
    assert.deepEqual(await volumes(), [{ name: 'notes', size: '100Mi', status: 'Pending', mounts: [] }]);
    const mounted = await ssh(`storage:mount ${APP} notes /data`);
    assert.equal(mounted.exitCode, 0, mounted.stderr);
    assert.match(mounted.stdout, /Mounting volume notes into web of .* at \/data\.\.\. stored \(.* runs nothing yet; its next deploy applies it\)/);

    wd = fixtureCopy('notes-app');
    await s.commitAll(wd, 'notes app');
    const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(remoteLines(r.stderr).includes('       Applied v1: web=1'));
    await waitForBody(ingress, host, (b) => b === 'notes app\n', ROUTE_MS);
    const added = await post(ingress, host, '/notes', 'first note');
    assert.equal(added.status, 201, added.body);
    assert.deepEqual((await notesOf('v1')).notes, ['first note']);
    const [web] = await kube.list<V1Deployment>('apps/v1', 'Deployment', NS);
    assert.equal(web?.spec?.strategy?.type, 'Recreate', 'a type with a volume is replaced, never rolled with two instances');
    assert.deepEqual(plain(web?.spec?.template?.spec?.volumes), [{ name: 'notes', persistentVolumeClaim: { claimName: 'notes' } }]);
    assert.deepEqual(plain(web?.spec?.template?.spec?.containers[0]?.volumeMounts), [{ name: 'notes', mountPath: '/data' }]);
    assert.equal(web?.spec?.template?.spec?.securityContext?.fsGroup, 1000);
    assert.deepEqual(await volumesNow(), [{ name: 'notes', size: '100Mi', status: 'Bound', mounts: [{ process: 'web', path: '/data' }] }]);
  });

  test("doctor names the class volumes come from, and fails on a SLIPWAY_STORAGE_CLASS the cluster lacks", async (t) => {
    const tb = needTestbed(t, NEEDS);
    if (!tb || !s) return;
    const r = await ssh('doctor');
    assert.match(r.stdout, new RegExp(`cluster +API .*, ingress class \\S+, storage class ${tb.SLIPWAY_TEST_STORAGE_CLASS} \\(default\\)`));
    const config = loadConfig({ KUBECONFIG: tb.KUBECONFIG!, SLIPWAY_STORAGE_CLASS: 'no-such-class', SLIPWAY_DATA_DIR: '/nonexistent' });
    const outcome = await doctorChecks(config, { kube: new KubeClient(tb.KUBECONFIG!) }).find((c) => c.name === 'cluster')!.run(new AbortController().signal);
    assert.equal(outcome.ok, false);
    assert.match(outcome.detail, new RegExp(`^no StorageClass no-such-class \\(SLIPWAY_STORAGE_CLASS; have: .*${tb.SLIPWAY_TEST_STORAGE_CLASS}.*\\)$`));
  });

  test('a process type with a volume is not scaled above one instance', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const r = await ssh(`ps:scale ${APP} web=2`);
    assert.equal(r.exitCode, 1);
    assert.equal(lastError(r.stderr), ` !     web has volume notes mounted at /data, which one instance writes at a time (ReadWriteOnce); it runs 1 instance at most (storage:unmount ${APP} notes to scale it out).`);
  });

  test('the note survives a redeploy, a rollback, ps:stop with ps:start, and ps:restart', { timeout: PUSH_MS + 4 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const server = join(wd, 'server.js');
    writeFileSync(server, readFileSync(server, 'utf8').replace("'notes app\\n'", "'notes app, second edition\\n'"));
    await s.commitAll(wd, 'second edition');
    // How long the app does not answer while Recreate replaces its one instance (shown, not asserted).
    const gap = watchGap(ingress, host);
    const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual((await notesOf('v2')).notes, ['first note'], 'after a redeploy');
    t.diagnostic(`a redeploy of web with a volume left it unanswered for ${await gap.stop()} ms at most`);
    assert.equal((await post(ingress, host, '/notes', 'second note')).status, 201);

    const back = await ssh(`rollback ${APP} v1`);
    assert.equal(back.exitCode, 0, back.stderr);
    // The rollback (v3) runs v1's instances: v1's image and config with today's mounts (mounts are
    // app settings, not release contents); SLIPWAY_RELEASE names the release they were made for.
    assert.deepEqual((await notesOf('v1')).notes, ['first note', 'second note'], 'after a rollback');
    assert.equal((await httpThroughIngress(ingress, host)).body, 'notes app\n');

    assert.equal((await ssh(`ps:stop ${APP}`)).exitCode, 0);
    assert.equal((await ssh(`ps:start ${APP}`)).exitCode, 0);
    assert.deepEqual((await notesOf('v1')).notes, ['first note', 'second note'], 'after ps:stop and ps:start');
    const pod = (await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'app.kubernetes.io/component=web' })).map((p) => p.metadata?.name);
    assert.equal((await ssh(`ps:restart ${APP}`)).exitCode, 0);
    const fresh = await eventually('a fresh web instance', async () => {
      const pods = await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'app.kubernetes.io/component=web' });
      return pods.length === 1 && !pod.includes(pods[0]!.metadata?.name) && pods[0]!.status?.phase === 'Running';
    }, ROUTE_MS, 500);
    assert.ok(fresh);
    assert.deepEqual((await notesOf('v1')).notes, ['first note', 'second note'], 'after ps:restart');
    // A one-off pod mounts the web process's volume too (a copy or a migration runs there).
    const ls = await ssh(`run ${APP} ls /data`);
    assert.equal(ls.exitCode, 0, ls.stderr);
    assert.match(ls.stdout, /^notes\.db$/m);
  });

  test('a 1Mi volume holds 1Mi: a one-off pod writing 64 MiB to it is refused with "No space left on device", and storage:list shows the volume full', { timeout: 5 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    assert.equal((await ssh(`storage:create ${APP} tiny --size 1Mi`)).exitCode, 0);
    const mounted = await ssh(`storage:mount ${APP} tiny /tiny`);
    assert.equal(mounted.exitCode, 0, mounted.stderr);
    // The volume is a file system of its own (k8s/volumes/setup.sh), in a `local` PersistentVolume
    // the kubelet measures; a directory on the node's disk (a hostPath one) held whatever was written.
    const pv = (await kube.list<PersistentVolume>('v1', 'PersistentVolume', undefined)).find((p) => p.spec?.claimRef?.namespace === NS && p.spec.claimRef.name === 'tiny');
    assert.ok(pv?.spec?.local?.path && !pv.spec.hostPath, `a local volume: ${JSON.stringify(pv?.spec)}`);

    // The attack: 64 MiB into the 1 MiB volume, from a pod of the app as any of its commands would.
    const dd = await ssh(`run ${APP} -- dd if=/dev/zero of=/tiny/fill bs=4k count=16384`);
    const said = dd.stdout + dd.stderr;
    assert.notEqual(dd.exitCode, 0, `dd wrote all of it:\n${said}`);
    assert.match(said, /dd: error writing '\/tiny\/fill': No space left on device/);
    const copied = /^(\d+) bytes .* copied/m.exec(said);
    assert.ok(copied && Number(copied[1]) <= 2 ** 20, `at most 1 MiB written: ${said}`);

    // The web instance mounts it too: its node's kubelet measures the file system (every 10 s on the testbed).
    const listed = await eventually('storage:list to show tiny full', async () => {
      const r = await ssh(`storage:list ${APP}`);
      return /^Volume tiny is full/m.test(r.stdout) && r.stdout;
    }, ROUTE_MS, 1000);
    assert.match(listed, /^tiny +1Mi +\d+Ki \((9[5-9]|100)%\) +Bound +web:\/tiny$/m);
    assert.match(listed, /^Volume tiny is full \((9[5-9]|100)%\): writes to it fail with "No space left on device"; delete files on it, or move the data to a larger volume\.$/m);
    assert.doesNotMatch(listed, /not held to its/, 'every volume here is held to its size');
    const tiny = (await volumes()).find((v) => v.name === 'tiny')!;
    assert.ok(tiny.capacityBytes! <= 2 ** 20 && tiny.usedBytes! >= 0.95 * tiny.capacityBytes!, JSON.stringify(tiny));
    const notes = (await volumes()).find((v) => v.name === 'notes')!;
    assert.ok(notes.capacityBytes! <= 100 * 2 ** 20 && notes.usedBytes! < notes.capacityBytes!, `the 100Mi volume is 100Mi: ${JSON.stringify(notes)}`);

    // The app is not stopped by a full volume: only writes past its size fail.
    assert.equal((await httpThroughIngress(ingress, host)).status, 200);
    assert.equal((await ssh(`storage:unmount ${APP} tiny /tiny`)).exitCode, 0);
    assert.equal((await ssh(`storage:destroy ${APP} tiny --confirm tiny`)).exitCode, 0);
  });

  test('a mounted volume is not destroyed; unmounted, the app loses it and storage:destroy deletes its claim', { timeout: 3 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const refused = await ssh(`storage:destroy ${APP} notes --confirm notes`);
    assert.equal(refused.exitCode, 1);
    assert.equal(lastError(refused.stderr), ` !     Volume notes is mounted into web at /data; run storage:unmount ${APP} notes first.`);

    const un = await ssh(`storage:unmount ${APP} notes /data`);
    assert.equal(un.exitCode, 0, un.stderr);
    assert.match(un.stdout, /Unmounting volume notes from web of .* \(\/data\)\.\.\. done/);
    const lost = await eventually('the app to run without the volume', async () => {
      const g = await httpThroughIngress(ingress, host, 5000, '/notes').catch(() => undefined);
      return g?.status === 500 && g.body;
    }, ROUTE_MS, 500);
    assert.match(lost, /unable to open database file/);
    const [web] = await kube.list<V1Deployment>('apps/v1', 'Deployment', NS);
    assert.equal(web?.spec?.strategy?.type, 'RollingUpdate', 'without a volume the type rolls again');
    assert.equal(web?.spec?.template?.spec?.volumes, undefined);

    const gone = await ssh(`storage:destroy ${APP} notes --confirm notes`);
    assert.equal(gone.exitCode, 0, gone.stderr);
    assert.deepEqual(await volumes(), []);
    await eventually('the claim to be deleted', async () => !(await kube.read('v1', 'PersistentVolumeClaim', 'notes', NS)), ROUTE_MS, 500);
  });

  test('apps:destroy refuses an app with volumes; with --include-storage it deletes them with the app', { timeout: 4 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    assert.equal((await ssh(`storage:create ${APP} keep --size 50Mi`)).exitCode, 0);
    const refused = await ssh(`apps:destroy ${APP} --confirm ${APP}`);
    assert.equal(refused.exitCode, 1);
    assert.equal(lastError(refused.stderr), ` !     ${APP} has a volume (keep) whose data apps:destroy would delete; nothing was destroyed: add --include-storage to delete it too, or storage:destroy first.`);
    assert.ok(await kube.read('v1', 'PersistentVolumeClaim', 'keep', NS), 'the claim is still there');
    assert.equal((await httpThroughIngress(ingress, host)).status, 200, 'the app still runs');

    const gone = await ssh(`apps:destroy ${APP} --confirm ${APP} --include-storage`);
    assert.equal(gone.exitCode, 0, gone.stderr);
    assert.equal(await kube.read('v1', 'Namespace', NS), undefined);
    // The provisioner deletes the released volumes (reclaim policy Delete) and their directories.
    await eventually('the app\'s volumes to be deleted', async () => {
      const pvs = await kube.list<{ spec?: { claimRef?: { namespace?: string } } }>('v1', 'PersistentVolume', undefined);
      return !pvs.some((pv) => pv.spec?.claimRef?.namespace === NS);
    }, 2 * ROUTE_MS, 1000);
  });
});
