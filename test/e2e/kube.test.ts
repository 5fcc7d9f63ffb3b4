// The Kubernetes deployer and the day-2 commands against a REAL Kubernetes API server (the
// testbed's control plane: etcd, kube-apiserver, controller-manager, scheduler). Pushes and
// commands go through the real SSH server and git; only the builder is the fake (its images are
// never pulled).
//
// Why the rollout wait is off for most tests: the fake builder's images do not exist, so pods
// never run (Pending without a node, ErrImagePull with the testbed's node). These tests therefore
// check what the control plane does
// with our objects (Deployments, ReplicaSets, Pods, Secrets, Ingresses, pruning, deletion)
// with the deployer's `waitForRollout: false`; the rollout wait itself is tested below where it
// can finish without a node (scale to zero) and where it must fail (deadline, then restore).
//
// Outside CI a missing KUBECONFIG skips these tests, saying why; in CI it fails them.
import { servingWebSet, webSetNames } from '../support/web-set.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1ConfigMap, V1Deployment, V1Ingress, V1Pod, V1ReplicaSet, V1Secret } from '../../server/kube/types.ts';
import { KubeClient } from '../../server/kube/client.ts';
import { KubeDeployer } from '../../server/deploy/kube.ts';
import { tlsSecretName } from '../../server/deploy/tls.ts';
import { run } from '../../server/exec.ts';
import type { DeployableRelease } from '../../server/model.ts';
import { UserError, renderError } from '../../server/errors.ts';
import { lineTranscript } from '../../server/output/transcript.ts';
import { remoteLines, startTestServer, useControls, type TestServer } from '../support/harness.ts';
import { needTestbed, testbedEnv } from '../support/testbed.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['KUBECONFIG'] as const;
const SECRET = `s3cret-${randomBytes(6).toString('hex')}`;
const suffix = randomBytes(3).toString('hex');
const APP = `kube-${suffix}`;
const OTHER = `kubeother-${suffix}`;
const ns = (app: string) => `slipway-${app}`;
const web = { type: 'web', command: ['web'], args: [], default: true };
const worker = { type: 'worker', command: ['worker'], args: [], default: false };

/** The model objects the library returns, as plain data (for deepEqual). */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function release(app: string, version: number, over: Partial<DeployableRelease> = {}): DeployableRelease {
  return { app, version, image: `registry.test/${app}@sha256:${String(version).padStart(64, '0')}`, processes: [web], config: { SECRET }, formation: {}, domains: [`${app}.apps.test`], ...over };
}

describe('Kubernetes deployer against a real API server', { timeout: 5 * 60_000 }, () => {
  let s: TestServer | undefined;
  let kube: KubeClient;
  let wd: string;
  const silent = lineTranscript(() => {});
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  /** Deletes a namespace a test made and waits until it is gone. */
  const cleanup = (app: string) => new KubeDeployer(kube, { rolloutTimeoutMs: 120_000 }).rollout.destroy(app);
  const deployments = (app: string) => kube.list<V1Deployment>('apps/v1', 'Deployment', ns(app));
  const replicaSets = async (app: string, process: string) =>
    (await kube.list<V1ReplicaSet>('apps/v1', 'ReplicaSet', ns(app), { labelSelector: `app.kubernetes.io/component=${process}` }));
  const rsOf = async (app: string, process: string, release: number) =>
    (await replicaSets(app, process)).find((rs) => rs.spec?.template?.metadata?.labels?.['slipway/release'] === String(release));

  before(async () => {
    const env = testbedEnv(NEEDS);
    if (!env) return;
    kube = new KubeClient(env.KUBECONFIG!);
    const deployer = new KubeDeployer(kube, { rolloutTimeoutMs: 60_000, waitForRollout: false });
    s = await startTestServer({}, { deployer });
    for (const app of [APP, OTHER]) assert.equal((await ssh(`apps:create ${app}`)).exitCode, 0);
    wd = await s.workRepo({ 'index.js': 'console.log("hi")\n' });
  });
  after(async () => {
    if (!s) return;
    for (const app of [APP, OTHER]) await kube.remove('v1', 'Namespace', ns(app));
    await s.close();
  });

  test('a first push creates the namespace, Secret, Deployments, Service, Ingress, then ReplicaSets and Pods', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    useControls(t, s, { processes: [web, worker] });
    assert.equal((await ssh(`config:set ${APP} SECRET=${SECRET} GREETING=hello`)).exitCode, 0);
    const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(remoteLines(r.stderr).includes('       Applied v1: web=1, worker=0'), r.stderr);
    const ds = await deployments(APP);
    assert.deepEqual(ds.map((d) => [d.metadata?.name, d.spec?.replicas]).sort(), [['web-v1', 1], ['worker', 0]]);
    assert.ok(await kube.read('v1', 'Secret', 'env-v1', ns(APP)));
    assert.ok(await kube.read('v1', 'Service', 'web', ns(APP)));
    const ing = await kube.read<V1Ingress>('networking.k8s.io/v1', 'Ingress', 'web', ns(APP));
    assert.deepEqual(ing?.spec?.rules?.map((x) => x.host), [`${APP}.apps.test`]);
    // The controller-manager turns the Deployment into a ReplicaSet and a Pod (Pending: no node).
    const rs = await eventually('the web ReplicaSet', () => rsOf(APP, 'web', 1));
    assert.equal(rs.spec?.replicas, 1);
    const pods = await eventually('a web pod', async () => {
      const p = await kube.list<V1Pod>('v1', 'Pod', ns(APP), { labelSelector: 'app.kubernetes.io/component=web' });
      return p.length > 0 && p;
    });
    assert.equal(pods[0]!.spec?.containers[0]?.command?.[0], '/cnb/process/web');
  });

  test('config values are only in the Secret: not in a ConfigMap, an annotation, env, command or args', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const secret = await kube.read<V1Secret>('v1', 'Secret', 'env-v1', ns(APP));
    assert.equal(Buffer.from(secret!.data!.SECRET!, 'base64').toString(), SECRET);
    assert.equal(JSON.stringify(secret!.metadata?.annotations ?? {}).includes(SECRET), false, 'no last-applied annotation with values');
    const encoded = Buffer.from(SECRET).toString('base64');
    const all = [
      ...await kube.list<V1ConfigMap>('v1', 'ConfigMap', ns(APP)),
      ...await deployments(APP),
      ...await kube.list<V1ReplicaSet>('apps/v1', 'ReplicaSet', ns(APP)),
      ...await kube.list<V1Pod>('v1', 'Pod', ns(APP)),
      ...await kube.list('v1', 'Service', ns(APP)),
      ...await kube.list('networking.k8s.io/v1', 'Ingress', ns(APP)),
    ];
    for (const o of all) {
      const text = JSON.stringify(o);
      assert.ok(!text.includes(SECRET) && !text.includes(encoded), `${(o as { kind?: string }).kind} ${(o as V1Pod).metadata?.name} holds a config value`);
    }
  });

  test('config:set rolls out a new release: a new Secret and a new ReplicaSet', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const r = await ssh(`config:set ${APP} GREETING=bonjour`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Releasing v2 \(Set GREETING config vars\)/);
    const rs = await eventually('the v2 web ReplicaSet', () => rsOf(APP, 'web', 2));
    assert.deepEqual(plain(rs.spec?.template?.spec?.containers[0]?.envFrom), [{ secretRef: { name: 'env-v2' } }]);
    const v2 = await kube.read<V1Secret>('v1', 'Secret', 'env-v2', ns(APP));
    assert.equal(Buffer.from(v2!.data!.GREETING!, 'base64').toString(), 'bonjour');
    assert.ok(await kube.read('v1', 'Secret', 'env-v1', ns(APP)), 'the previous release keeps its Secret while its instances stay warm');
    assert.deepEqual(await webSetNames(kube, ns(APP)), ['web-v1', 'web-v2'], "v1's web instances stay beside v2's");
    assert.equal((await servingWebSet(kube, ns(APP)))?.metadata?.name, 'web-v2', 'the Service moved to v2');
  });

  test('ps:scale changes replicas without a new ReplicaSet; ps shows desired and instances', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const before = (await replicaSets(APP, 'web')).length;
    const r = await ssh(`ps:scale ${APP} web=2 worker=1`);
    assert.equal(r.exitCode, 0, r.stderr);
    const ds = Object.fromEntries((await deployments(APP)).map((d) => [d.metadata!.name!, d.spec!.replicas]));
    // The serving set scales; the warm one stays as it was.
    assert.deepEqual(ds, { 'web-v1': 1, 'web-v2': 2, worker: 1 });
    await eventually('the controller to see the scale', async () => {
      const d = await servingWebSet(kube, ns(APP));
      return (d?.status?.observedGeneration ?? 0) >= (d?.metadata?.generation ?? 1);
    });
    assert.equal((await replicaSets(APP, 'web')).length, before, 'scaling does not roll the pods');
    const ps = await ssh(`ps ${APP}`);
    assert.match(ps.stdout, /=== web: 0\/2 ready/);
    assert.match(ps.stdout, /=== worker: 0\/1 ready/);
    // Pending without a node; with the testbed's node the fake image is being pulled (and fails).
    assert.match(ps.stdout, /v2 {2}(Pending|ContainerCreating|ErrImagePull|ImagePullBackOff)/);
  });

  test('logs says so when no instance has started (without a node, none ever does)', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const r = await ssh(`logs ${APP} -n 10`);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr, ` !     ${APP} has no instances that have started; nothing to show.`);
  });

  test('ps:restart rolls the pods through a new ReplicaSet of the same release', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const before = (await replicaSets(APP, 'worker')).length;
    assert.equal((await ssh(`ps:restart ${APP} worker`)).exitCode, 0);
    const d = await kube.read<V1Deployment>('apps/v1', 'Deployment', 'worker', ns(APP));
    assert.match(d?.spec?.template.metadata?.annotations?.['slipway/restarted-at'] ?? '', /^\d{4}-/);
    await eventually('a new worker ReplicaSet', async () => (await replicaSets(APP, 'worker')).length > before);
  });

  test('a push without the worker process type prunes its Deployment', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    useControls(t, s, { processes: [web] });
    await s.git(['commit', '-q', '--allow-empty', '-m', 'no worker'], { cwd: wd });
    const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    // v2's web instances stay warm; v1's went when v3 started.
    assert.deepEqual((await deployments(APP)).map((d) => d.metadata?.name).sort(), ['web-v2', 'web-v3']);
    // Old Secrets go too: only this release's and the warm one's stay.
    const secrets = await kube.list<V1Secret>('v1', 'Secret', ns(APP), { labelSelector: 'app.kubernetes.io/managed-by=slipway' });
    assert.deepEqual(secrets.map((x) => x.metadata?.name).sort(), ['env-v2', 'env-v3']);
  });

  test("rollback runs the old image and config as a new release, on v1's instances (made again: v1's are no longer warm)", async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const r = await ssh(`rollback ${APP} v1`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /done, v4/);
    const v1 = JSON.parse((await ssh(`releases:info ${APP} v1 --json`)).stdout) as { image: string };
    const d = await servingWebSet(kube, ns(APP));
    assert.equal(d?.metadata?.name, 'web-v1');
    assert.equal(d?.spec?.template.spec?.containers[0]?.image, v1.image);
    assert.deepEqual(plain(d?.spec?.template.spec?.containers[0]?.envFrom), [{ secretRef: { name: 'env-v1' } }]);
    const config = await kube.read<V1Secret>('v1', 'Secret', 'env-v1', ns(APP));
    assert.equal(Buffer.from(config!.data!.GREETING!, 'base64').toString(), 'hello');
    // v1 had a worker process type: the rollback brings its Deployment back, at the stored scale.
    assert.deepEqual(Object.fromEntries((await deployments(APP)).map((x) => [x.metadata!.name!, x.spec!.replicas])), { 'web-v1': 2, 'web-v3': 2, worker: 1 });
  });

  test('domains: added hosts reach the Ingress; a host another app has is refused', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    await s.git(['push', s.sshRemote(OTHER), 'main'], { cwd: wd });
    assert.equal((await ssh(`domains:add ${APP} www.${suffix}.example.com`)).exitCode, 0);
    const ing = await kube.read<V1Ingress>('networking.k8s.io/v1', 'Ingress', 'web', ns(APP));
    assert.deepEqual(ing?.spec?.rules?.map((x) => x.host), [`${APP}.apps.test`, `www.${suffix}.example.com`]);
    const taken = await ssh(`domains:add ${OTHER} www.${suffix}.example.com`);
    assert.equal(taken.exitCode, 1);
    assert.equal(taken.stderr, ` !     www.${suffix}.example.com is already taken by another app.`);
    const other = await kube.read<V1Ingress>('networking.k8s.io/v1', 'Ingress', 'web', ns(OTHER));
    assert.deepEqual(other?.spec?.rules?.map((x) => x.host), [`${OTHER}.apps.test`]);
  });

  test('certs:remove of the last uploaded certificate deletes its TLS Secret (the private key) from the namespace', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    // This server has no SLIPWAY_ACME_EMAIL: once the last uploaded certificate goes, the app has no TLS at all.
    const host = `${APP}.apps.test`;
    const dir = mkdtempSync(join(tmpdir(), 'slipway-cert-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const opensslKey = join(dir, 'key.pem');
    const opensslCert = join(dir, 'cert.pem');
    const made = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=kube e2e',
      '-addext', `subjectAltName=DNS:${host}`, '-keyout', opensslKey, '-out', opensslCert]);
    assert.equal(made.exitCode, 0, made.stderr);
    const add = await s.ssh(s.admin, `certs:add ${APP}`, readFileSync(opensslCert, 'utf8') + readFileSync(opensslKey, 'utf8'));
    assert.equal(add.exitCode, 0, add.stderr);
    const name = tlsSecretName(host, 'uploaded');
    const secret = await kube.read<V1Secret>('v1', 'Secret', name, ns(APP));
    assert.equal(secret?.type, 'kubernetes.io/tls');
    assert.equal(Buffer.from(secret!.data!['tls.key']!, 'base64').toString(), readFileSync(opensslKey, 'utf8'));
    const rm = await ssh(`certs:remove ${APP} ${host}`);
    assert.equal(rm.exitCode, 0, rm.stderr);
    assert.equal(await kube.read('v1', 'Secret', name, ns(APP)), undefined, 'the private key is gone from the namespace');
  });

  test('the rollout wait: scaling to zero finishes; a release that never gets ready fails at the deadline and the previous one is restored', async (t) => {
    const env = needTestbed(t, NEEDS);
    if (!env) return;
    const app = `kubewait-${suffix}`;
    // 10 s: long enough for a loaded control plane (other files run beside this one) to make the pod.
    const d = new KubeDeployer(new KubeClient(env.KUBECONFIG!), { rolloutTimeoutMs: 10_000, pollMs: 250 });
    const lines: string[] = [];
    const transcript = lineTranscript((l) => lines.push(l));
    try {
      const v1 = release(app, 1, { formation: { web: 0 } });
      await d.rollout.deploy(v1, { transcript, signal: new AbortController().signal });
      const v2 = release(app, 2);
      const err = await d.rollout.deploy(v2, { previous: v1, transcript, signal: new AbortController().signal }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof UserError, String(err));
      // Without a node the pod stays Pending (with a node, the fake image would fail to pull).
      assert.match(err.message, /^v2 did not become ready: (after \d+ s, )?web instance web-\S+ is (Pending \(.*\)|ContainerCreating|ImagePullBackOff|ErrImagePull)[^;]*; v1 is running again\.$/);
      assert.ok(lines.includes('       web: 0/1 ready'), lines.join('\n'));
      // v2's set is gone; v1's serves (at its scale of zero) as before.
      assert.deepEqual(await webSetNames(kube, ns(app)), ['web-v1']);
      const dep = await servingWebSet(kube, ns(app));
      assert.equal(dep?.spec?.template.metadata?.labels?.['slipway/release'], '1');
      assert.equal(dep?.spec?.replicas, 0);
    } finally {
      await cleanup(app);
    }
  });

  test('a first release that never gets ready leaves nothing running', async (t) => {
    const env = needTestbed(t, NEEDS);
    if (!env) return;
    const app = `kubefirst-${suffix}`;
    const d = new KubeDeployer(new KubeClient(env.KUBECONFIG!), { rolloutTimeoutMs: 1500, pollMs: 250 });
    try {
      await assert.rejects(d.rollout.deploy(release(app, 1), { transcript: silent, signal: new AbortController().signal }), /; nothing was left running\.$/);
      assert.deepEqual(await deployments(app), []);
    } finally {
      await cleanup(app);
    }
  });

  test('apps:destroy deletes the namespace', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const r = await ssh(`apps:destroy ${OTHER} --confirm ${OTHER}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(await kube.read('v1', 'Namespace', ns(OTHER)), undefined);
  });

  test('an API server that is down gives one clear sentence', async (t) => {
    const env = needTestbed(t, NEEDS);
    if (!env) return;
    const port = await closedPort();
    const dir = mkdtempSync(join(tmpdir(), 'slipway-kc-'));
    try {
      const file = join(dir, 'down.kubeconfig');
      writeFileSync(file, readFileSync(env.KUBECONFIG!, 'utf8').replace(/server: \S+/g, `server: https://127.0.0.1:${port}`));
      const d = new KubeDeployer(new KubeClient(file), { rolloutTimeoutMs: 3000 });
      const err = await d.rollout.deploy(release(APP, 99), { transcript: silent, signal: new AbortController().signal }).then(() => undefined, (e: unknown) => e);
      assert.deepEqual(renderError(err), { message: `The Kubernetes API at https://127.0.0.1:${port} is not reachable: ECONNREFUSED.`, exitCode: 1 });
      assert.ok((err as Error).cause, 'the original error is kept as cause');
      await assert.rejects(d.runtime.status(APP), /is not reachable/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a kubeconfig whose user has no rights gives one clear sentence', async (t) => {
    const env = needTestbed(t, ['SLIPWAY_TEST_KUBECONFIG_NORIGHTS']);
    if (!env) return;
    const d = new KubeDeployer(new KubeClient(env.SLIPWAY_TEST_KUBECONFIG_NORIGHTS!), { rolloutTimeoutMs: 3000 });
    const err = await d.rollout.deploy(release(APP, 99), { transcript: silent, signal: new AbortController().signal }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof UserError, String(err));
    // Its first calls (at once) read which set of web instances serves, before anything is applied.
    assert.match(err.message, new RegExp(`^The kubeconfig's user may not (read Service web|list Deployments|read Deployment web) in slipway-${APP} \\(403 Forbidden: .*cannot (get|list) resource "(services|deployments)".*\\)\\.$`));
    await assert.rejects(d.runtime.status(APP), /^UserError: The kubeconfig's user may not list (Deployments|Pods) in slipway-/);
  });
});
