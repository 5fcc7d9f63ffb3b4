import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment, V1Ingress, V1Namespace, V1Secret, V1Service } from '../../server/kube/types.ts';
import type { DeployableRelease } from '../../server/model.ts';
import { releaseObjects } from '../../server/deploy/objects.ts';
import { LABEL, namespaceFor, processName } from '../../server/kube/labels.ts';
import { KUBERNETES_SERVICE_VARS, PORT, processCommand, releasePodObject, restartPatch, runPodObject } from '../../server/deploy/workload.ts';
import type { KubeObject, V1NetworkPolicy, V1PodSpec } from '../../server/kube/types.ts';
import { EGRESS_ALLOW, FROM_INGRESS, ISOLATION, METADATA_RANGES, networkPolicyObjects } from '../../server/kube/netpol.ts';
import { loadConfig, type ClusterNetwork } from '../../server/config.ts';

const SECRET_VALUE = 'hunter2-$(id)-"quoted"';
const release: DeployableRelease = {
  app: 'myapp',
  version: 7,
  image: '127.0.0.1:5000/slipway/myapp@sha256:' + 'a'.repeat(64),
  processes: [
    { type: 'web', command: ['bash', '-c', 'npm start'], args: [], default: true },
    { type: 'worker', command: ['node', 'worker.js'], args: [], default: false },
    { type: 'celery_beat', command: ['beat'], args: [], default: false },
  ],
  config: { DATABASE_URL: 'postgres://u:p@db/x', API_TOKEN: SECRET_VALUE },
  formation: { worker: 2 },
  domains: ['myapp.apps.test', 'www.example.com'],
};

function byKind<T>(objects: KubeObject[], kind: string): KubeObject<T>[] {
  return objects.filter((o) => o.kind === kind) as KubeObject<T>[];
}

test("a release becomes a namespace, a Secret, a Deployment per process type (web: the release's own set), a budget per type of 2+ instances, and a Service and Ingress for web, in apply order", () => {
  const objects = releaseObjects(release);
  assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), [
    'Namespace/slipway-myapp', 'Secret/env-v7', 'Deployment/web-v7', 'Deployment/worker', `Deployment/${processName('celery_beat')}`, 'PodDisruptionBudget/worker', 'Service/web', 'Ingress/web',
  ]);
  for (const o of objects.slice(1)) assert.equal(o.metadata.namespace, 'slipway-myapp', `${o.kind} is in the app's namespace`);
  assert.equal(namespaceFor('myapp'), 'slipway-myapp');
  const ns = byKind<V1Namespace>(objects, 'Namespace')[0]!;
  assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
});

test('every object carries the recommended labels; the process type is the component', () => {
  for (const o of releaseObjects(release)) {
    const l = o.metadata.labels ?? {};
    assert.equal(l['app.kubernetes.io/name'], 'myapp', o.kind);
    assert.equal(l['app.kubernetes.io/instance'], 'myapp', o.kind);
    assert.equal(l['app.kubernetes.io/part-of'], 'myapp', o.kind);
    assert.equal(l['app.kubernetes.io/managed-by'], 'slipway', o.kind);
  }
  const [web, worker] = byKind<V1Deployment>(releaseObjects(release), 'Deployment');
  assert.equal(web!.metadata.labels?.[LABEL.process], 'web');
  assert.equal(worker!.metadata.labels?.[LABEL.process], 'worker');
  // Web: each release's set selects its own pods; other types' selector is stable across releases
  // (it is immutable), and their pods also carry the release.
  assert.deepEqual(web!.spec?.selector.matchLabels, { 'app.kubernetes.io/instance': 'myapp', 'app.kubernetes.io/component': 'web', [LABEL.release]: '7' });
  assert.deepEqual(worker!.spec?.selector.matchLabels, { 'app.kubernetes.io/instance': 'myapp', 'app.kubernetes.io/component': 'worker' });
  assert.equal(web!.spec?.template.metadata?.labels?.[LABEL.release], '7');
  assert.equal(worker!.spec?.template.metadata?.labels?.[LABEL.release], '7');
  for (const [k, v] of Object.entries(web!.spec!.selector.matchLabels!)) assert.equal(web!.spec!.template.metadata!.labels![k], v);
});

test('replicas come from the formation: web defaults to 1, other types to 0', () => {
  const deployments = byKind<V1Deployment>(releaseObjects(release), 'Deployment');
  assert.deepEqual(deployments.map((d) => d.spec?.replicas), [1, 2, 0]);
  const scaled = byKind<V1Deployment>(releaseObjects({ ...release, formation: { web: 0, worker: 0, celery_beat: 3 } }), 'Deployment');
  assert.deepEqual(scaled.map((d) => d.spec?.replicas), [0, 0, 3]);
});

test('CNB processes run through the launcher as /cnb/process/TYPE, whatever their own command is', () => {
  const deployments = byKind<V1Deployment>(releaseObjects(release), 'Deployment');
  assert.deepEqual(deployments.map((d) => d.spec?.template.spec?.containers[0]?.command), [['/cnb/process/web'], ['/cnb/process/worker'], ['/cnb/process/celery_beat']]);
  for (const d of deployments) {
    const c = d.spec!.template.spec!.containers[0]!;
    assert.equal(c.args, undefined, 'no arguments: the launcher takes them from the image metadata');
    assert.equal(c.image, release.image, 'the image is pinned by digest');
  }
  assert.deepEqual(processCommand({ type: 'web' }), ['/cnb/process/web']);
});

test('process type names that are not DNS labels are sanitised, stay distinct, and keep the original in an annotation', () => {
  assert.equal(processName('web'), 'web');
  assert.match(processName('celery_beat'), /^celery-beat-[0-9a-f]{6}$/);
  assert.notEqual(processName('a_b'), processName('a.b'));
  assert.match(processName('9lives'), /^[a-z]/);
  assert.match(processName('UPPER'), /^upper-[0-9a-f]{6}$/);
  const d = byKind<V1Deployment>(releaseObjects(release), 'Deployment')[2]!;
  assert.equal(d.metadata.annotations?.['slipway/process-type'], 'celery_beat');
  assert.equal(d.spec?.template.spec?.containers[0]?.name, processName('celery_beat'));
});

test('web listens on PORT, is probed on it over TCP, drains before stopping; workers get PORT but no probe', () => {
  const [web, worker] = byKind<V1Deployment>(releaseObjects(release), 'Deployment');
  const c = web!.spec!.template.spec!.containers[0]!;
  // PORT first, then the release metadata (test/unit/day2-parity.test.ts covers it).
  assert.deepEqual(c.env?.[0], { name: 'PORT', value: String(PORT) });
  assert.deepEqual(c.ports, [{ name: 'http', containerPort: PORT, protocol: 'TCP' }]);
  assert.deepEqual(c.readinessProbe?.tcpSocket, { port: 'http' });
  assert.ok((c.lifecycle?.preStop?.sleep?.seconds ?? 0) > 0, 'a preStop sleep lets the ingress stop routing first');
  const w = worker!.spec!.template.spec!.containers[0]!;
  assert.deepEqual(w.env?.[0], { name: 'PORT', value: String(PORT) });
  assert.equal(w.env?.find((e) => e.name === 'SLIPWAY_PROCESS')?.value, 'worker');
  assert.equal(w.readinessProbe, undefined);
  assert.equal(w.ports, undefined);
});

test('rolling updates never drop below the desired count, and app pods get no API token or service links', () => {
  for (const d of byKind<V1Deployment>(releaseObjects(release), 'Deployment')) {
    assert.deepEqual(d.spec?.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    assert.equal(d.spec?.template.spec?.automountServiceAccountToken, false);
    assert.equal(d.spec?.template.spec?.enableServiceLinks, false);
    assert.equal(d.spec?.template.spec?.containers[0]?.securityContext?.allowPrivilegeEscalation, false);
  }
});

test('config reaches the pods only through envFrom of the per-release Secret', () => {
  const objects = releaseObjects(release);
  const secret = byKind<V1Secret>(objects, 'Secret')[0]!;
  assert.equal(secret.metadata.name, 'env-v7');
  assert.equal(secret.immutable, true);
  assert.equal(secret.type, 'Opaque');
  assert.deepEqual(Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])), release.config);
  for (const d of byKind<V1Deployment>(objects, 'Deployment')) {
    assert.deepEqual(d.spec?.template.spec?.containers[0]?.envFrom, [{ secretRef: { name: 'env-v7' } }]);
  }
});

test('no config value appears anywhere but the Secret data: not in labels, annotations, env, command or args', () => {
  const objects = releaseObjects(release);
  const needles = Object.values(release.config).flatMap((v) => [v, Buffer.from(v).toString('base64')]);
  for (const o of objects) {
    const text = JSON.stringify(o.kind === 'Secret' ? { ...o, data: undefined } : o);
    for (const n of needles) assert.ok(!text.includes(n), `${o.kind}/${o.metadata.name} contains a config value`);
  }
  assert.ok(!objects.some((o) => o.kind === 'ConfigMap'));
});

test('a config-only change gives the pod template a new Secret reference and release annotation, so the pods roll (web: a new set)', () => {
  const a = byKind<V1Deployment>(releaseObjects(release), 'Deployment')[0]!;
  const b = byKind<V1Deployment>(releaseObjects({ ...release, version: 8, config: { ...release.config, NEW: '1' } }), 'Deployment')[0]!;
  assert.notDeepEqual(a.spec?.template, b.spec?.template);
  assert.equal(b.spec?.template.metadata?.annotations?.['slipway/release'], 'v8');
  assert.equal(b.metadata.name, 'web-v8');
  const [, wa] = byKind<V1Deployment>(releaseObjects(release), 'Deployment');
  const [, wb] = byKind<V1Deployment>(releaseObjects({ ...release, version: 8, config: { ...release.config, NEW: '1' } }), 'Deployment');
  assert.deepEqual(wa!.spec?.selector, wb!.spec?.selector);
  assert.notDeepEqual(wa!.spec?.template, wb!.spec?.template);
  // Scaling alone leaves the template as it is: no restart.
  const c = byKind<V1Deployment>(releaseObjects({ ...release, formation: { web: 3 } }), 'Deployment')[0]!;
  assert.deepEqual(a.spec?.template, c.spec?.template);
});

test('the Service targets the serving set of web pods; the Ingress routes each domain, default first, with the configured class', () => {
  const objects = releaseObjects(release, { ingressClass: 'traefik' });
  const svc = byKind<V1Service>(objects, 'Service')[0]!;
  assert.deepEqual(svc.spec?.selector, { 'app.kubernetes.io/instance': 'myapp', 'app.kubernetes.io/component': 'web', [LABEL.release]: '7' });
  // Until a new set is ready, the Service keeps the traffic on the set that serves.
  const during = byKind<V1Service>(releaseObjects({ ...release, version: 8 }, {}, new Set(), 7), 'Service')[0]!;
  assert.equal(during.spec?.selector?.[LABEL.release], '7');
  assert.deepEqual(svc.spec?.ports, [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
  const ing = byKind<V1Ingress>(objects, 'Ingress')[0]!;
  assert.equal(ing.spec?.ingressClassName, 'traefik');
  assert.deepEqual(ing.spec?.rules?.map((r) => r.host), ['myapp.apps.test', 'www.example.com']);
  for (const r of ing.spec!.rules!) {
    assert.deepEqual(r.http?.paths, [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } }]);
  }
  // Without a class the cluster's default IngressClass (Traefik on k3s) is used.
  assert.equal(byKind<V1Ingress>(releaseObjects(release), 'Ingress')[0]!.spec?.ingressClassName, undefined);
});

test('a release without a web process gets no Service or Ingress', () => {
  const objects = releaseObjects({ ...release, processes: release.processes.filter((p) => p.type !== 'web') });
  assert.deepEqual(objects.filter((o) => o.kind === 'Service' || o.kind === 'Ingress'), []);
});

test('the restart patch only sets a template annotation', () => {
  const p = restartPatch('myapp', 'celery_beat', '2024-01-01T00:00:00.000Z');
  assert.equal(p.metadata.name, processName('celery_beat'));
  assert.equal(p.metadata.namespace, 'slipway-myapp');
  // Nothing else: the restart field manager owns only this annotation (never the scale or the pod spec).
  assert.deepEqual(p.spec, { template: { metadata: { annotations: { 'slipway/restarted-at': '2024-01-01T00:00:00.000Z' } } } });
});

test('the builders are pure: the same release gives the same objects', () => {
  assert.deepEqual(releaseObjects(release), releaseObjects(structuredClone(release)));
});

/** Every pod spec an app runs: each Deployment's template, the release pod, a `run` pod. */
function podSpecs(r: DeployableRelease): [string, V1PodSpec][] {
  const withRelease = { ...r, processes: [...r.processes, { type: 'release', command: ['migrate'], args: [], default: false }] };
  return [
    ...byKind<V1Deployment>(releaseObjects(withRelease), 'Deployment').map((d): [string, V1PodSpec] => [`Deployment/${d.metadata.name}`, d.spec!.template.spec!]),
    ['release pod', releasePodObject(withRelease, withRelease.processes.at(-1)!, 600).spec!],
    ['run pod', runPodObject(r, { name: 'run-bbbbb', command: ['env'], deadlineSeconds: 60, mode: 'interactive' }).spec!],
  ];
}

test('every pod an app runs meets Pod Security "restricted": non-root, no capabilities, no privilege gain, RuntimeDefault seccomp, no API token', () => {
  for (const [what, spec] of podSpecs(release)) {
    assert.deepEqual(spec.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, what);
    assert.equal(spec.automountServiceAccountToken, false, what);
    assert.equal(spec.enableServiceLinks, false, what);
    assert.equal(spec.hostNetwork ?? false, false, what);
    for (const c of spec.containers) {
      assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true }, what);
    }
  }
});

test("the API server's variables the kubelet always injects are set empty in every container, unless a config var names them", () => {
  for (const [what, spec] of podSpecs(release)) {
    const env = spec.containers[0]!.env ?? [];
    for (const name of KUBERNETES_SERVICE_VARS) assert.deepEqual(env.filter((e) => e.name === name), [{ name, value: '' }], `${what}: ${name}`);
  }
  assert.ok(KUBERNETES_SERVICE_VARS.includes('KUBERNETES_SERVICE_HOST') && KUBERNETES_SERVICE_VARS.includes('KUBERNETES_PORT_443_TCP_ADDR'));
  // Config vars win over what the platform sets (as for SLIPWAY_*): the user's own value stays.
  const own = { ...release, config: { ...release.config, KUBERNETES_SERVICE_HOST: 'mine' } };
  for (const [what, spec] of podSpecs(own)) assert.ok(!spec.containers[0]!.env!.some((e) => e.name === 'KUBERNETES_SERVICE_HOST'), what);
});

const k3s: ClusterNetwork = loadConfig({ SLIPWAY_NODE_ADDRESSES: '192.0.2.10,2001:db8::10', SLIPWAY_DATA_DIR: '/nonexistent' }).network;

function policies(r: DeployableRelease, net: ClusterNetwork = k3s): KubeObject<V1NetworkPolicy>[] {
  return byKind<V1NetworkPolicy>(releaseObjects(r, { network: net }), 'NetworkPolicy');
}

test('with the cluster network given, the namespace gets its isolation policy right after it, before any pod', () => {
  const objects = releaseObjects(release, { network: k3s });
  assert.deepEqual(objects.slice(0, 4).map((o) => `${o.kind}/${o.metadata.name}`), ['Namespace/slipway-myapp', `NetworkPolicy/${FROM_INGRESS}`, `NetworkPolicy/${ISOLATION}`, 'Secret/env-v7']);
  const p = policies(release)[1];
  assert.equal(p!.metadata.namespace, 'slipway-myapp');
  assert.deepEqual(p!.spec?.podSelector, {}, 'every pod of the namespace: processes, release and run pods, ACME solvers');
  assert.deepEqual(p!.spec?.policyTypes, ['Ingress', 'Egress']);
  assert.ok(!releaseObjects(release).some((o) => o.kind === 'NetworkPolicy'), 'no network, no policy');
});

test("ingress: only the namespace's own pods, and the ingress controller's pods (k3s: Traefik in kube-system) to every pod but the databases", () => {
  const [from, iso] = policies(release);
  assert.equal(from!.metadata.name, FROM_INGRESS);
  assert.deepEqual(iso!.spec?.ingress, [{ _from: [{ podSelector: {} }] }]);
  assert.deepEqual(from!.spec?.policyTypes, ['Ingress']);
  assert.deepEqual(from!.spec?.podSelector, { matchExpressions: [{ key: 'slipway/data', operator: 'DoesNotExist' }] }, "a database's pods carry slipway/data");
  assert.deepEqual(from!.spec?.ingress, [
    { _from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } } }] },
  ]);
  // Every rule names its peers: a rule without any admits every source.
  for (const p of [from!, iso!]) for (const rule of p.spec!.ingress!) assert.ok((rule._from ?? []).length > 0);
});

test('an ingress on the node itself (SLIPWAY_INGRESS_FROM=node) is admitted by the node addresses; with none known, no rule admits everyone', () => {
  const node = loadConfig({ SLIPWAY_INGRESS_FROM: 'node', SLIPWAY_NODE_ADDRESSES: '192.0.2.10', SLIPWAY_DATA_DIR: '/x' }).network;
  assert.deepEqual(policies(release, node)[0]!.spec?.ingress, [{ _from: [{ ipBlock: { cidr: '192.0.2.10/32' } }] }]);
  const none = { ...node, nodeAddresses: [] };
  assert.deepEqual(policies(release, none).map((p) => p.metadata.name), [ISOLATION]);
  assert.deepEqual(policies(release, none)[0]!.spec?.ingress, [{ _from: [{ podSelector: {} }] }]);
});

test('egress: the own namespace, DNS (CoreDNS pods or a node), and every address but pods, Services, nodes and metadata', () => {
  const p = policies(release).find((x) => x.metadata.name === ISOLATION);
  const [own, dns, internet, ...more] = p!.spec!.egress!;
  assert.deepEqual(more, []);
  assert.deepEqual(own, { to: [{ podSelector: {} }] });
  assert.deepEqual(dns!.ports, [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }]);
  assert.deepEqual(dns!.to, [
    { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
    { ipBlock: { cidr: '192.0.2.10/32' } },
    { ipBlock: { cidr: '2001:db8::10/128' } },
  ]);
  assert.equal(internet!.ports, undefined);
  assert.deepEqual(internet!.to, [
    { ipBlock: { cidr: '0.0.0.0/0', except: ['10.42.0.0/16', '10.43.0.0/16', '192.0.2.10/32', '169.254.0.0/16', '100.100.100.200/32', '168.63.129.16/32'] } },
    { ipBlock: { cidr: '::/0', except: ['2001:db8::10/128', 'fe80::/10', 'fd00:ec2::254/128'] } },
  ]);
  assert.ok(METADATA_RANGES.includes('169.254.0.0/16') && METADATA_RANGES.includes('fd00:ec2::254/128'));
});

test('egress:allow exceptions become a second policy, one rule per address (TCP and UDP on the port given); none without exceptions', () => {
  assert.deepEqual(policies(release).map((p) => p.metadata.name), [FROM_INGRESS, ISOLATION]);
  const withRules = policies({ ...release, egress: [{ cidr: '10.0.5.0/24', port: 5432 }, { cidr: '192.0.2.10/32' }] });
  assert.deepEqual(withRules.map((p) => p.metadata.name), [FROM_INGRESS, ISOLATION, EGRESS_ALLOW]);
  const allow = withRules[2]!;
  assert.deepEqual(allow.spec?.policyTypes, ['Egress'], 'adds egress only: ingress stays as isolated');
  assert.deepEqual(allow.spec?.egress, [
    { to: [{ ipBlock: { cidr: '10.0.5.0/24' } }], ports: [{ protocol: 'TCP', port: 5432 }, { protocol: 'UDP', port: 5432 }] },
    { to: [{ ipBlock: { cidr: '192.0.2.10/32' } }] },
  ]);
  assert.deepEqual(networkPolicyObjects({ app: 'myapp' }, k3s).length, 2);
});
