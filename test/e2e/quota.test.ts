// Issue 16, items 4 and 8 on the testbed's real pieces (pack, the registry, Kubernetes with a real
// node): the app namespace holds its ResourceQuotas and LimitRange, a one-off pod runs under the
// app's limits, the one-off pod past SLIPWAY_APP_MAX_RUNS is refused, a push with too many Procfile
// types is rejected before anything deploys, a pod that sets no limits
// gets the defaults from the LimitRange, and an image over SLIPWAY_MAX_IMAGE_MB, measured from the
// registry's manifest, fails its push with nothing deployed (its build log on disk bounded by
// SLIPWAY_MAX_BUILD_LOG_MB). Issue 35, item 8: every container's scratch disk is limited (a
// one-off pod writing past it is evicted by the node's kubelet) and counted in the quota.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '../../server/kube/client.ts';
import type { KubeObject, V1LimitRange, V1Pod, V1ResourceQuota } from '../../server/kube/types.ts';
import { LABEL } from '../../server/kube/labels.ts';
import { RegistryApi } from '../../server/build/registry.ts';
import { PackBuilder } from '../../server/build/pack.ts';
import { kubeDeployer } from '../../server/backends.ts';
import { loadConfig } from '../../server/config.ts';
import { remoteLines, startTestServer, type TestServer } from '../support/harness.ts';
import { startOnTestbed } from '../support/on-testbed.ts';
import { clusterEnv, fixtureCopy, needTestbed, registryAuthEnv, testbedEnv, testbedPack } from '../support/testbed.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG'] as const;
const APP = `quota-${randomBytes(3).toString('hex')}`;
const BIG = `quota-big-${randomBytes(3).toString('hex')}`;
const NS = `slipway-${APP}`;
const TYPES = `quota-types-${randomBytes(3).toString('hex')}`;
const PUSH_MS = 10 * 60_000;

describe('quotas on a real cluster', { timeout: 20 * 60_000 }, () => {
  let s: TestServer | undefined;
  let kube: KubeClient;
  const runPods = async () => (await kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: `${LABEL.instance}=${APP},${LABEL.process}=run` }))
    .filter((p) => !p.metadata?.deletionTimestamp);

  before(async () => {
    const tb = testbedEnv(NEEDS);
    if (!tb) return;
    kube = new KubeClient(tb.KUBECONFIG!);
    ({ server: s } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: 'slipway.test', SLIPWAY_ROLLOUT_TIMEOUT_S: '180', SLIPWAY_APP_MAX_RUNS: '2',
      // Small, so that a pod writes past it in a second: the app's sum is then 10 x 100Mi.
      SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_LIMIT: '100Mi', SLIPWAY_CONTAINER_EPHEMERAL_STORAGE_REQUEST: '10Mi',
      // Twenty SSH connections at once must all reach the command: no random early drop here.
      SLIPWAY_SSH_MAX_STARTUPS: '50' }, { buildTimeoutMs: PUSH_MS }));
    assert.equal((await s.ssh(s.admin, `apps:create ${APP}`)).exitCode, 0);
    // Stored before the first push, so every pod of the app is made under them.
    assert.equal((await s.ssh(s.admin, `resource:limit ${APP} --process web --memory 300Mi --cpu 300m`)).exitCode, 0);
    const wd = fixtureCopy('day2-app');
    await s.commitAll(wd, 'quota app');
    const push = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    assert.equal(push.exitCode, 0, push.stderr);
  });
  after(async () => {
    if (!s) return;
    await Promise.all([APP, TYPES].map((app) => s!.ssh(s!.admin, `apps:destroy ${app} --confirm ${app}`)));
    await s.close();
  });

  test('the app namespace holds its quota, its one-off pod quota and its container defaults', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const quota = await kube.read<KubeObject<V1ResourceQuota>>('v1', 'ResourceQuota', 'slipway-quota', NS);
    assert.deepEqual(quota?.spec?.hard, {
      pods: '10', 'limits.memory': '2Gi', 'limits.cpu': '4', 'requests.ephemeral-storage': '1000Mi', 'limits.ephemeral-storage': '1000Mi', persistentvolumeclaims: '10', 'requests.storage': '20Gi',
    });
    const oneOff = await kube.read<KubeObject<V1ResourceQuota>>('v1', 'ResourceQuota', 'slipway-one-off', NS);
    assert.deepEqual([oneOff?.spec?.scopes, oneOff?.spec?.hard], [['Terminating'], { pods: '3' }]);
    const limits = await kube.read<KubeObject<V1LimitRange>>('v1', 'LimitRange', 'slipway-defaults', NS);
    const item = limits?.spec?.limits[0];
    assert.deepEqual([item?.type, item?._default, item?.defaultRequest], ['Container', { memory: '256Mi', cpu: '500m', 'ephemeral-storage': '100Mi' }, { memory: '128Mi', cpu: '50m', 'ephemeral-storage': '10Mi' }]);
    // The quota counts what runs: the web pod, under its limits, its scratch disk too.
    await eventually('the quota counts the web pod', async () => {
      const q = await kube.read<KubeObject<V1ResourceQuota>>('v1', 'ResourceQuota', 'slipway-quota', NS);
      return q?.status?.used?.['limits.memory'] === '300Mi' && q.status.used['limits.ephemeral-storage'] === '100Mi';
    });
  });

  test('twenty concurrent run:detached start two one-off pods, under the app\'s limits; the rest are refused in one sentence', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    // The attack: twenty at once (before quotas, all twenty were accepted in 4 s).
    const results = await Promise.all(Array.from({ length: 20 }, () => s!.ssh(s!.admin, `run:detached ${APP} --timeout 120 sleep 100`)));
    const started = results.filter((r) => r.exitCode === 0);
    assert.equal(started.length, 2, results.map((r) => r.stderr).join('\n'));
    for (const r of results.filter((x) => x.exitCode !== 0)) {
      assert.equal(r.exitCode, 1);
      assert.match(r.stderr, new RegExp(`^ !     ${APP} already runs 2 one-off pods, the most it may run at once \\(SLIPWAY_APP_MAX_RUNS=2\\); wait for one to finish \\(logs ${APP} -p run shows them\\)\\.$`));
    }
    const pods = await runPods();
    assert.deepEqual(pods.map((p) => p.metadata?.name).sort(), started.map((r) => r.stdout.trim()).sort(), 'only the two accepted pods exist');
    for (const p of pods) {
      assert.deepEqual({ ...p.spec?.containers[0]?.resources?.limits }, { memory: '300Mi', cpu: '300m', 'ephemeral-storage': '100Mi' }, p.metadata?.name);
    }
    await Promise.all(pods.map((p) => kube.remove('v1', 'Pod', p.metadata!.name!, NS, { gracePeriodSeconds: 0 })));
  });

  test('a one-off pod that writes more than its scratch disk limit is evicted by the node, not left to fill its disk (issue 35, item 8)', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    // The attack: 300 MB into the container's own filesystem; before, it stayed, and so would 48 GB.
    const r = await s.ssh(s.admin, `run:detached ${APP} --timeout 120 -- sh -c 'dd if=/dev/zero of=/tmp/fill bs=1M count=300; sleep 100'`);
    assert.equal(r.exitCode, 0, r.stderr);
    const name = r.stdout.trim();
    try {
      // The kubelet measures scratch disk every 10 s.
      let pod: V1Pod | undefined;
      await eventually('the pod to be evicted', async () => {
        pod = await kube.read<V1Pod>('v1', 'Pod', name, NS);
        return pod?.status?.reason === 'Evicted';
      }, 90_000, 1000);
      assert.equal(pod?.status?.phase, 'Failed');
      assert.match(pod?.status?.message ?? '', /ephemeral (local )?storage/, pod?.status?.message);
      assert.match(pod?.status?.message ?? '', /100Mi/, pod?.status?.message);
    } finally {
      await kube.remove('v1', 'Pod', name, NS, { gracePeriodSeconds: 0 });
    }
  });

  test('a push whose Procfile declares more than SLIPWAY_APP_MAX_PROCESS_TYPES types is rejected; nothing reaches the cluster', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    // The attack was 300 types making 302 Deployments; 21 is past the default cap of 20.
    assert.equal((await s.ssh(s.admin, `apps:create ${TYPES}`)).exitCode, 0);
    const wd = fixtureCopy('node-app-procfile');
    writeFileSync(join(wd, 'Procfile'), ['web: node server.js', ...Array.from({ length: 20 }, (_, i) => `w${i + 1}: node worker.js`)].join('\n') + '\n');
    await s.commitAll(wd, 'many types');
    const push = await s.git(['push', s.sshRemote(TYPES), 'main'], { cwd: wd });
    assert.notEqual(push.exitCode, 0);
    assert.ok(remoteLines(push.stderr).includes(' !     This release declares 21 process types, more than the 20 an app may have (SLIPWAY_APP_MAX_PROCESS_TYPES); nothing was deployed.'), push.stderr);
    assert.equal(await kube.read('v1', 'Namespace', `slipway-${TYPES}`), undefined, 'nothing was applied');
    assert.equal((await s.ssh(s.admin, `releases ${TYPES} --json`)).stdout, '[]');
  });

  test('a pod that sets no limits in the namespace gets the default limits and requests', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const name = `bare-${randomBytes(3).toString('hex')}`;
    // Made straight through the API, as anything but Slipway would: admission fills in the defaults.
    const created = await kube.apply<KubeObject<V1Pod>>({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS },
      spec: { restartPolicy: 'Never', automountServiceAccountToken: false, containers: [{
        name: 'c', image: 'registry.invalid/none:1',
        // Whatever Pod Security level the namespace enforces (baseline, or restricted), this pod passes it.
        securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 1000, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
      }] },
    });
    try {
      assert.deepEqual(JSON.parse(JSON.stringify(created.spec?.containers[0]?.resources)), {
        limits: { memory: '256Mi', cpu: '500m', 'ephemeral-storage': '100Mi' }, requests: { memory: '128Mi', cpu: '50m', 'ephemeral-storage': '10Mi' },
      });
    } finally {
      await kube.remove('v1', 'Pod', name, NS, { gracePeriodSeconds: 0 });
    }
  });
});

describe('image size on a real registry', { timeout: 20 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;

  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    const env = { SLIPWAY_BUILDER: tb.SLIPWAY_BUILDER!, SLIPWAY_REGISTRY: tb.SLIPWAY_REGISTRY!, KUBECONFIG: tb.KUBECONFIG!, ...clusterEnv(), ...registryAuthEnv(), SLIPWAY_BASE_DOMAIN: 'slipway.test', SLIPWAY_MAX_IMAGE_MB: '1', SLIPWAY_MAX_BUILD_LOG_MB: '0.002' };
    const deployer = kubeDeployer(loadConfig({ ...env, SLIPWAY_DATA_DIR: '/nonexistent' }));
    const builder = new PackBuilder(testbedPack(tb.SLIPWAY_PACK!, PUSH_MS));
    const registry = new RegistryApi({ registry: tb.SLIPWAY_REGISTRY!, gcConfig: undefined, binary: '', auth: loadConfig(registryAuthEnv()).registryAuth });
    s = await startTestServer(env, { builder, deployer, registry });
    assert.equal((await s.ssh(s.admin, `apps:create ${BIG}`)).exitCode, 0);
  });
  after(async () => {
    if (!s) return;
    await s.ssh(s.admin, `apps:destroy ${BIG} --confirm ${BIG}`);
    await s.close();
  });

  test('an image over SLIPWAY_MAX_IMAGE_MB fails the push in one sentence; nothing deploys and its manifest is deleted', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const wd = fixtureCopy('node-app');
    await s.commitAll(wd, 'big image');
    const push = await s.git(['push', s.sshRemote(BIG), 'main'], { cwd: wd });
    assert.notEqual(push.exitCode, 0);
    const said = remoteLines(push.stderr).find((l) => l.startsWith(' !     The image is '));
    assert.match(said ?? push.stderr, /^ !     The image is \d+ MB, more than the 1 MB an app's image may be \(SLIPWAY_MAX_IMAGE_MB\); nothing was deployed\.$/);
    assert.equal((await s.ssh(s.admin, `releases ${BIG} --json`)).stdout, '[]');
    assert.equal(await new KubeClient(tb!.KUBECONFIG!).read('v1', 'Namespace', `slipway-${BIG}`), undefined, 'nothing was applied');
    const api = new RegistryApi({ registry: tb!.SLIPWAY_REGISTRY!, gcConfig: undefined, binary: '', auth: loadConfig(registryAuthEnv()).registryAuth });
    assert.deepEqual(await api.tags(BIG), [], 'the refused image is deleted');
    // The build log on disk kept its head and tail within 2 KB, with the marker between.
    const log = await s.ssh(s.admin, `builds:output ${BIG}`);
    assert.equal(log.exitCode, 0, log.stderr);
    assert.ok(Buffer.byteLength(log.stdout) < 2097 + 400, `${Buffer.byteLength(log.stdout)} bytes`);
    assert.match(log.stdout, /\n----- \d+ lines \(\d+ bytes\) of this build's output are left out here: a build log keeps its first and last lines, at most 2097 bytes \(SLIPWAY_MAX_BUILD_LOG_MB\) -----\n/);
  });
});
