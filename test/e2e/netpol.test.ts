// Tenant isolation on the testbed's real cluster, enforced by a real NetworkPolicy controller
// (kube-router's, the one k3s embeds: testbed/parts/62-netpol.sh). Two apps A and B are pushed
// (test/fixtures/day2-app); from a `run` pod of A, a probe tries what an attacker's code would:
// B's pod directly, B's Service, the node's ports bound to 0.0.0.0 (Slipway's own SSH, the
// kubelet, a stand-in for the registry and every other host service), while A's own Service, DNS
// and the ingress keep working. Then the pod hardening: `run A -- env` carries no address of the
// API server and no service links, the namespace is Pod Security "restricted", A's pods run as a
// non-root user without capabilities, and a pod asking for root is refused. B's Postgres database
// takes connections from B's own pods only: not from A's pod, not from the node's address (where
// the ingress runs here, SLIPWAY_INGRESS_FROM=node, and where a build pod on the node's network
// would come from).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, connect, type Server } from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { KubeClient } from '../../server/kube/client.ts';
import type { KubeObject, V1Namespace, V1Pod, V1Service } from '../../server/kube/types.ts';
import { LABEL } from '../../server/kube/labels.ts';
import type { TestServer } from '../support/harness.ts';
import { startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { waitForBody } from '../support/ingress.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS', 'SLIPWAY_NODE_NAME', 'SLIPWAY_TEST_NETPOL', 'SLIPWAY_POSTGRES_IMAGE'] as const;
const run = promisify(execFile);
const SUFFIX = randomBytes(3).toString('hex');
const A = `netpol-a-${SUFFIX}`;
const B = `netpol-b-${SUFFIX}`;
const BASE = 'slipway.test';
const PUSH_MS = 10 * 60_000;

/** Whether something on this machine accepts a TCP connection at host:port (2 s at most). */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 2000 });
    const done = (v: boolean) => { s.destroy(); resolve(v); };
    s.on('connect', () => done(true));
    s.on('timeout', () => done(false));
    s.on('error', () => done(false));
  });
}

/** Whether a TCP connection to host:port opens from the testbed's second node's network (its nspawn machine; 3 s at most). */
async function fromNode2(host: string, port: number): Promise<boolean> {
  const machine = fileURLToPath(new URL('../../testbed/node2/machine.sh', import.meta.url));
  const { stdout } = await run('bash', [machine, 'exec', 'bash', '-c', 'if timeout 3 bash -c \'exec 3<>"/dev/tcp/$0/$1"\' "$0" "$1" 2>/dev/null; then echo open; else echo closed; fi', host, String(port)], { timeout: 15_000 });
  return stdout.trim().split('\n').at(-1) === 'open';
}

/**
 * The probe A's code runs (`node -` reads it from stdin): a TCP connection to each target, which
 * sends an HTTP request and reports the first line of the answer ("open: HTTP/1.1 200 OK", "open:
 * SSH-2.0-…", "open" when nothing came within a second), or why it failed (ECONNREFUSED: the
 * enforcer's REJECT; timeout), and the addresses DNS gives for the names. One JSON line out.
 */
function probeScript(targets: Record<string, [string, number]>, names: string[], retryMs = 0): string {
  return `
const net = require('node:net');
const dns = require('node:dns/promises');
const targets = ${JSON.stringify(targets)};
const names = ${JSON.stringify(names)};
const probe = ([host, port]) => new Promise((resolve) => {
  const s = net.connect({ host, port });
  let out = '';
  let timer = setTimeout(() => done('timeout'), 5000);
  function done(v) { clearTimeout(timer); s.destroy(); resolve(v); }
  s.on('connect', () => {
    clearTimeout(timer);
    timer = setTimeout(() => done('open'), 1000);
    s.write('GET / HTTP/1.0\\r\\nHost: probe\\r\\n\\r\\n');
  });
  s.on('data', (d) => { out += d; if (out.includes('\\n')) done('open: ' + out.split('\\n')[0].trim()); });
  s.on('error', (e) => done(e.code || e.message));
  s.on('close', () => done(out ? 'open: ' + out.trim() : 'closed'));
});
(async () => {
  // The enforcer programs a new pod's rules once the kubelet reports its address: a process that
  // starts with the pod has them about 0.7-0.9 s later (docs/security.md, "Tenant isolation"). A command run over
  // exec (this one) starts after that in practice; the wait keeps the check on the policies.
  await new Promise((r) => setTimeout(r, 2000));
  const result = {};
  // With retryMs, a target that refused or timed out is tried again until then (a connection that
  // should be let in, while the enforcer may still be programming a new pod's rules).
  const until = Date.now() + ${retryMs};
  await Promise.all(Object.entries(targets).map(async ([k, t]) => {
    for (;;) {
      result[k] = await probe(t);
      if (/^(open|closed$)/.test(result[k]) || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  }));
  for (const n of names) result['dns ' + n] = await dns.lookup(n).then((a) => a.address, (e) => e.code);
  console.log(JSON.stringify(result));
})();
`;
}

describe('tenant isolation: network policies and pod hardening on a real cluster', { timeout: 25 * 60_000 }, () => {
  let s: TestServer | undefined;
  let kube: KubeClient;
  let host: Server | undefined;
  let tb: Record<string, string> | undefined;
  /** B's database, made while the first tests run. */
  let database: Promise<{ exitCode: number; stdout: string; stderr: string }> | undefined;

  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    kube = new KubeClient(tb.KUBECONFIG!);
    // Bound to every address like install.sh's server (SLIPWAY_BIND 0.0.0.0), so its SSH port is
    // there to be reached from a pod at the node's address, as on a real install.
    ({ server: s } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: BASE, SLIPWAY_BIND: '0.0.0.0', SLIPWAY_ROLLOUT_TIMEOUT_S: '180' }, { buildTimeoutMs: PUSH_MS }));
    // Any other service of the host bound to 0.0.0.0 (install.sh's registry on :5000 is one).
    host = createServer((c) => {
      // The probes only connect: a peer that resets the connection is what they do, not a failure.
      c.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'ECONNRESET') throw err; });
      c.end('host service\n');
    });
    await new Promise<void>((resolve) => host!.listen(0, '0.0.0.0', resolve));
    for (const app of [A, B]) {
      assert.equal((await s.ssh(s.admin, `apps:create ${app}`)).exitCode, 0);
      const wd = fixtureCopy('day2-app');
      await s.commitAll(wd, `${app} app`);
      const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
      assert.equal(push.exitCode, 0, push.stderr);
    }
    database = s.ssh(s.admin, `addons:create ${B} postgres`);
  });
  after(async () => {
    host?.close();
    if (!s) return;
    await database;
    await Promise.all([A, B].map((app) => s!.ssh(s!.admin, `apps:destroy ${app} --confirm ${app}`)));
    await s.close();
  });

  test("A's pod reaches neither B's pod nor B's Service nor any port of the node; its own Service, DNS and the ingress work", async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !tb) return;
    const node = await kube.read<{ status?: { addresses?: { type: string; address: string }[] } }>('v1', 'Node', tb.SLIPWAY_NODE_NAME!);
    const nodeIp = node?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    assert.ok(nodeIp, 'the node has an InternalIP');
    const [bPod] = await kube.list<V1Pod>('v1', 'Pod', `slipway-${B}`, { labelSelector: `${LABEL.instance}=${B},${LABEL.process}=web`, fieldSelector: 'status.phase=Running' });
    const bService = await kube.read<V1Service>('v1', 'Service', 'web', `slipway-${B}`);
    assert.ok(bPod?.status?.podIP && bService?.spec?.clusterIP, "B's pod and Service are there");
    const port = (addr: string | { port: number } | null) => (addr as { port: number }).port;
    const targets: Record<string, [string, number]> = {
      "A's Service": [`web.slipway-${A}.svc.cluster.local`, 80],
      "B's pod": [bPod.status.podIP, 5000],
      "B's Service": [bService.spec.clusterIP, 80],
      "Slipway's SSH": [nodeIp, s.slipway.sshPort],
      'a host service on 0.0.0.0': [nodeIp, port(host!.address())],
    };
    // The kubelet and a registry on the node's address, when this machine has them there.
    if (await listening(nodeIp, 10250)) targets["the kubelet's port"] = [nodeIp, 10250];
    if (await listening(nodeIp, 5000)) targets['the registry'] = [nodeIp, 5000];
    // A Service answers once kube-proxy has written its rules, which may come a moment after the
    // push said Released (the ingress reads the EndpointSlices itself).
    for (const [what, [h, p]] of Object.entries(targets)) {
      if (h.includes('.svc.')) continue;
      let open = await listening(h, p);
      for (const until = Date.now() + 10_000; !open && Date.now() < until; open = await listening(h, p)) await sleep(200);
      assert.ok(open, `${what} (${h}:${p}) answers from the host, so only the policy can stop A`);
    }
    // The registry's pod-network address on the two-node testbed (SLIPWAY_BUILD_REGISTRY): build
    // pods reach it (test/e2e/cluster-build.test.ts); the host forwards it to the registry on its
    // loopback, so it does not answer from the host itself, and an app's pod must not reach it.
    const buildRegistry = process.env.SLIPWAY_BUILD_REGISTRY;
    if (buildRegistry) {
      const at = buildRegistry.lastIndexOf(':');
      targets["the registry's address for build pods"] = [buildRegistry.slice(0, at), Number(buildRegistry.slice(at + 1))];
    }
    const r = await s.ssh(s.admin, `run ${A} -- node -`, probeScript(targets, [`web.slipway-${A}.svc.cluster.local`, `web.slipway-${B}.svc.cluster.local`]));
    assert.equal(r.exitCode, 0, r.stderr);
    const seen = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, string>;
    t.diagnostic(JSON.stringify(seen));
    assert.match(seen["A's Service"]!, /^open: HTTP\/1\.[01] 200/, "A's own Service answers A");
    assert.match(seen[`dns web.slipway-${A}.svc.cluster.local`]!, /^10\.43\./, 'the cluster DNS answers');
    for (const what of Object.keys(targets).filter((k) => k !== "A's Service")) {
      assert.doesNotMatch(seen[what]!, /^open/, `${what} must be unreachable from A's pod (${targets[what]!.join(':')}): ${seen[what]}`);
    }
    // The public path still reaches both apps (the ingress runs on the node here, SLIPWAY_INGRESS_FROM).
    for (const app of [A, B]) await waitForBody(tb.SLIPWAY_TEST_INGRESS!, `${app}.${BASE}`, (b) => b.includes('day2 answer one'), 30_000);
  });

  test('`run A -- env` shows no API server address and no service links; the pods run as non-root with no capabilities', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const env = await s.ssh(s.admin, `run ${A} -- env`);
    assert.equal(env.exitCode, 0, env.stderr);
    const vars = Object.fromEntries(env.stdout.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.equal(vars.SLIPWAY_APP, A);
    const leaked = Object.entries(vars).filter(([k, v]) => /^KUBERNETES_|_SERVICE_(HOST|PORT)|_PORT_\d+_TCP/.test(k) && v !== '');
    assert.deepEqual(leaked, [], 'no variable names an address or port of the API server or of a Service');
    const who = await s.ssh(s.admin, `run ${A} -- sh -c 'id -u; grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status'`);
    assert.equal(who.exitCode, 0, who.stderr);
    const [uid, ...status] = who.stdout.trim().split('\n');
    assert.notEqual(uid, '0', 'not root');
    assert.match(status.join('\n'), /CapEff:\s+0+\n/);
    assert.match(status.join('\n'), /CapBnd:\s+0+\n/);
    assert.match(status.join('\n'), /NoNewPrivs:\s+1/);
    assert.match(status.join('\n'), /Seccomp:\s+2/, 'the runtime default seccomp filter');
  });

  test('the namespace enforces Pod Security "restricted": the app\'s pods are admitted, a pod asking for root is not', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const ns = await kube.read<V1Namespace>('v1', 'Namespace', `slipway-${A}`);
    assert.equal(ns?.metadata?.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    const pods = await kube.list<V1Pod>('v1', 'Pod', `slipway-${A}`, { labelSelector: `${LABEL.instance}=${A},${LABEL.process}=web` });
    assert.ok(pods.some((p) => p.status?.phase === 'Running'), 'the web pod was admitted and runs');
    const image = pods[0]!.spec!.containers[0]!.image!;
    const root: KubeObject<V1Pod> = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'as-root', namespace: `slipway-${A}` },
      spec: { containers: [{ name: 'c', image, command: ['sleep', '5'], securityContext: { runAsUser: 0 } }] },
    };
    await assert.rejects(kube.apply(root), /restricted|PodSecurity|forbidden/i);
  });

  test("B's database answers B's own pod only: not A's pod, not the node's address (the ingress's, or a build pod's on the node's network)", { timeout: 4 * 60_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !database) return;
    const made = await database;
    assert.equal(made.exitCode, 0, made.stderr);
    const [db] = JSON.parse((await s.ssh(s.admin, `addons ${B} --json`)).stdout) as { name: string }[];
    assert.ok(db, `${B} has a database`);
    const ns = `slipway-${B}`;
    const service = `db-${db.name}.${ns}.svc.cluster.local`;
    const [pod] = await kube.list<V1Pod>('v1', 'Pod', ns, { labelSelector: `${LABEL.data}=${db.name}`, fieldSelector: 'status.phase=Running' });
    const [web] = await kube.list<V1Pod>('v1', 'Pod', ns, { labelSelector: `${LABEL.instance}=${B},${LABEL.process}=web`, fieldSelector: 'status.phase=Running' });
    assert.ok(pod?.status?.podIP && web?.status?.podIP, "B's database pod and web pod run");
    const targets: Record<string, [string, number]> = { "B's database Service": [service, 5432], "B's database pod": [pod.status.podIP, 5432] };
    const probe = async (app: string, retryMs = 0) => {
      const r = await s!.ssh(s!.admin, `run ${app} -- node -`, probeScript(targets, [], retryMs));
      assert.equal(r.exitCode, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, string>;
    };
    const fromB = await probe(B, 30_000);
    t.diagnostic(`from B: ${JSON.stringify(fromB)}`);
    // Postgres closes a connection that starts with an HTTP request without a word: `closed` is a
    // connection made (a refused one is ECONNREFUSED, a dropped one a timeout).
    for (const what of Object.keys(targets)) assert.match(fromB[what]!, /^(open|closed$)/, `${what} takes B's own pod's connection: ${fromB[what]}`);
    const fromA = await probe(A);
    t.diagnostic(`from A: ${JSON.stringify(fromA)}`);
    for (const what of Object.keys(targets)) assert.doesNotMatch(fromA[what]!, /^(open|closed$)/, `${what} must be unreachable from A's pod: ${fromA[what]}`);
    // From another node's address (where the ingress runs here, SLIPWAY_INGRESS_FROM=node, and
    // where a build pod on that node's network would come from): B's web pod answers, its database
    // does not. The node a pod runs on always reaches it (NetworkPolicy's own rule): the check
    // comes from this machine for a database on the second node, and from the second node's
    // network for a database here.
    if (!process.env.SLIPWAY_NODE2_NAME) {
      t.diagnostic('one node (SLIPWAY_NODE2_NAME unset): no other node to connect from');
      return;
    }
    const here = pod.spec?.nodeName === tb!.SLIPWAY_NODE_NAME;
    const from = here ? `the second node (${process.env.SLIPWAY_NODE2_NAME})` : 'this node';
    const reach = here ? fromNode2 : listening;
    assert.ok(await reach(web.status.podIP, 5000), `B's web pod answers from ${from} (the ingress's way in)`);
    assert.equal(await reach(pod.status.podIP, 5432), false, `B's database pod on ${pod.spec?.nodeName} must not take a connection from ${from}`);
  });
});
