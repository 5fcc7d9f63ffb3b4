import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment, V1Ingress, V1Namespace, V1Secret, V1Service } from '../../server/deploy/kube-types.ts';
import type { DeployableRelease } from '../../server/deploy/deployer.ts';
import { releaseObjects } from '../../server/deploy/objects.ts';
import { LABEL, namespaceFor, processName } from '../../server/deploy/labels.ts';
import { PORT, processCommand, restartPatch } from '../../server/deploy/workload.ts';
import type { KubeObject } from '../../server/deploy/kube-types.ts';

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

test('a release becomes a namespace, a Secret, a Deployment per process type, and a Service and Ingress for web, in apply order', () => {
  const objects = releaseObjects(release);
  assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), [
    'Namespace/slipway-myapp', 'Secret/env-v7', 'Deployment/web', 'Deployment/worker', `Deployment/${processName('celery_beat')}`, 'Service/web', 'Ingress/web',
  ]);
  for (const o of objects.slice(1)) assert.equal(o.metadata.namespace, 'slipway-myapp', `${o.kind} is in the app's namespace`);
  assert.equal(namespaceFor('myapp'), 'slipway-myapp');
  const ns = byKind<V1Namespace>(objects, 'Namespace')[0]!;
  assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'baseline');
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
  // The selector is stable across releases (it is immutable); the pods also carry the release.
  assert.deepEqual(web!.spec?.selector.matchLabels, { 'app.kubernetes.io/instance': 'myapp', 'app.kubernetes.io/component': 'web' });
  assert.equal(web!.spec?.template.metadata?.labels?.[LABEL.release], '7');
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

test('a config-only change gives the pod template a new Secret reference and release annotation, so the pods roll', () => {
  const a = byKind<V1Deployment>(releaseObjects(release), 'Deployment')[0]!;
  const b = byKind<V1Deployment>(releaseObjects({ ...release, version: 8, config: { ...release.config, NEW: '1' } }), 'Deployment')[0]!;
  assert.notDeepEqual(a.spec?.template, b.spec?.template);
  assert.equal(b.spec?.template.metadata?.annotations?.['slipway/release'], 'v8');
  assert.deepEqual(a.spec?.selector, b.spec?.selector);
  // Scaling alone leaves the template as it is: no restart.
  const c = byKind<V1Deployment>(releaseObjects({ ...release, formation: { web: 3 } }), 'Deployment')[0]!;
  assert.deepEqual(a.spec?.template, c.spec?.template);
});

test('the Service targets the web pods; the Ingress routes each domain, default first, with the configured class', () => {
  const objects = releaseObjects(release, { ingressClass: 'traefik' });
  const svc = byKind<V1Service>(objects, 'Service')[0]!;
  assert.deepEqual(svc.spec?.selector, { 'app.kubernetes.io/instance': 'myapp', 'app.kubernetes.io/component': 'web' });
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
