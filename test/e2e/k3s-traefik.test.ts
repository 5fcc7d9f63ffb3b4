// k3s's own Traefik as install.sh configures it (issues 40 and 26): install.sh writes a
// HelmChartConfig for the Traefik chart k3s bundles; k3s's helm-controller renders the chart with
// k3s's values and then these. This file renders the same chart (the 37.1 line k3s v1.34 bundles,
// testbed/helm/build.sh) with Helm the same way, from the YAML in install.sh itself, and checks
// what Slipway reads of that Traefik: its API and its per-service Prometheus metrics (request
// counts by service, latency buckets) on the internal `traefik` entry point, port 9000, not
// exposed by the chart's Service, with the selector of install.sh's slipway-traefik-api Service
// matching its pods. Then it starts the testbed's Traefik binary with exactly the rendered
// arguments (each entry point's address moved to a loopback port; the cluster providers swapped
// for one file route, this machine being no pod), sends requests through its `web` entry point,
// and reads /api/version and /metrics there: the metrics parse with Prometheus's own parser and
// with the readers the canary (latency buckets) and ps:sleep (request counts) use.
//
// The API server of the testbed takes every rendered object (a server-side dry run, nothing kept).
// What this does not run: k3s itself and its helm-controller (this machine reaches no get.k3s.io).
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dump, loadAll } from 'js-yaml';
import { freePort } from '../support/harness.ts';
import { needTestbed, testbedEnv } from '../support/testbed.ts';
import { eventually } from '../support/eventually.ts';
import { parseExposition } from '../support/prom-text.ts';
import { requestCounts } from '../../server/ops/processes/sleep-idle.ts';
import { parsePrometheus } from '../../server/deploy/ingress-metrics.ts';

const NEEDS = ['SLIPWAY_TEST_HELM', 'SLIPWAY_TEST_TRAEFIK_CHART', 'SLIPWAY_TEST_TRAEFIK', 'KUBECONFIG', 'SLIPWAY_KUBE_BIN_DIR'] as const;
const INSTALL_SH = resolve(import.meta.dirname, '..', '..', 'install.sh');
/** The buckets install.sh asks for (what the canary's p95 reads). */
const BUCKETS = ['0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5'];

/**
 * k3s's own values for its Traefik chart (k3s's manifests/traefik.yaml, v1.34 line), which
 * install.sh's HelmChartConfig is merged over: the ones that shape the Deployment and Service.
 */
const K3S_VALUES = {
  deployment: { podAnnotations: { 'prometheus.io/port': '8082', 'prometheus.io/scrape': 'true' } },
  providers: { kubernetesIngress: { publishedService: { enabled: true } } },
  priorityClassName: 'system-cluster-critical',
  image: { repository: 'rancher/mirrored-library-traefik', tag: '3.5.1' },
  tolerations: [
    { key: 'CriticalAddonsOnly', operator: 'Exists' },
    { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
  ],
  service: { ipFamilyPolicy: 'PreferDualStack' },
};

interface K8sObject { kind: string; metadata: { name: string; namespace?: string }; spec?: Record<string, unknown> }
interface Container { name: string; args?: string[]; ports?: { name?: string; containerPort: number }[] }

/** The objects install.sh writes into k3s's manifests folder for Traefik (its quoted here-document). */
function installShTraefikObjects(): K8sObject[] {
  const text = readFileSync(INSTALL_SH, 'utf8');
  const start = text.indexOf('put "$K3S_MANIFESTS/slipway-traefik.yaml"');
  assert.ok(start >= 0, 'install.sh writes slipway-traefik.yaml');
  const body = text.slice(text.indexOf("<<'EOF'\n", start) + "<<'EOF'\n".length);
  return loadAll(body.slice(0, body.indexOf('\nEOF\n'))) as K8sObject[];
}

describe("k3s's Traefik with install.sh's values: the API and per-service metrics Slipway reads", { timeout: 10 * 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-k3s-traefik-'));
  let rendered: K8sObject[] = [];
  let args: string[] = [];
  let traefik: ChildProcess | undefined;
  let app: Server | undefined;
  let traefikLog = '';

  /** What install.sh writes for k3s's Traefik: its HelmChartConfig and the API's Service. */
  let objects: K8sObject[] = [];

  before(() => {
    const env = testbedEnv(NEEDS);
    if (!env) return;
    objects = installShTraefikObjects();
    const config = objects.find((o) => o.kind === 'HelmChartConfig')!;
    assert.deepEqual([config.metadata.name, config.metadata.namespace], ['traefik', 'kube-system'], "install.sh's HelmChartConfig names k3s's chart");
    writeFileSync(join(dir, 'k3s.yaml'), dump(K3S_VALUES));
    writeFileSync(join(dir, 'slipway.yaml'), String(config.spec!.valuesContent));
    // As k3s's helm-controller: the chart's values, then k3s's, then the HelmChartConfig's.
    const out = execFileSync(env.SLIPWAY_TEST_HELM!, ['template', 'traefik', env.SLIPWAY_TEST_TRAEFIK_CHART!, '--namespace', 'kube-system',
      '--kube-version', '1.34.1', '-f', join(dir, 'k3s.yaml'), '-f', join(dir, 'slipway.yaml')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    writeFileSync(join(dir, 'rendered.yaml'), out);
    // `json`: a key given twice keeps its last value, as Kubernetes' own YAML reading does (k3s's
    // pod annotations and the chart's both set prometheus.io/port; the next test shows which stays).
    rendered = (loadAll(out, { json: true }) as (K8sObject | null)[]).filter((o): o is K8sObject => o !== null);
    const deployment = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === 'traefik');
    const container = ((deployment?.spec?.template as { spec: { containers: Container[] } } | undefined)?.spec.containers ?? []).find((c) => c.name === 'traefik');
    args = container?.args ?? [];
  });

  after(async () => {
    traefik?.kill('SIGKILL');
    await new Promise<void>((f) => (app ? app.close(() => f()) : f()));
    rmSync(dir, { recursive: true, force: true });
  });

  test("the rendered Deployment serves Traefik's API and per-service metrics on the internal entry point that install.sh's Service selects, and exposes it nowhere else", (t) => {
    if (!needTestbed(t, NEEDS)) return;
    t.diagnostic(`rendered arguments: ${args.join(' ')}`);
    for (const want of [
      '--entryPoints.traefik.address=:9000/tcp',
      '--api.insecure=true',
      '--providers.providersThrottleDuration=200ms',
      '--metrics.prometheus=true',
      '--metrics.prometheus.entrypoint=traefik',
      '--metrics.prometheus.addServicesLabels=true',
      '--metrics.prometheus.addEntryPointsLabels=false',
      `--metrics.prometheus.buckets=${BUCKETS.join(',')}`,
    ]) assert.ok(args.includes(want), `the chart renders ${want} (its arguments: ${args.join(' ')})`);
    const deployment = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === 'traefik')!;
    const pod = deployment.spec!.template as { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };
    const ports = pod.spec.containers.find((c) => c.name === 'traefik')!.ports ?? [];
    assert.ok(ports.some((p) => p.containerPort === 9000), `the pod declares port 9000 (${JSON.stringify(ports)})`);
    // install.sh's Service in front of the API (SLIPWAY_INGRESS_API) selects these pods.
    const api = objects.find((o) => o.kind === 'Service')!;
    const selector = api.spec!.selector as Record<string, string>;
    for (const [k, v] of Object.entries(selector)) assert.equal(pod.metadata.labels[k], v, `the pods carry ${k}=${v}, which ${api.metadata.name} selects`);
    assert.equal((api.spec!.ports as { targetPort: number }[])[0]!.targetPort, 9000);
    // The chart's own Service (the node's ports 80 and 443) does not expose the API.
    for (const svc of rendered.filter((o) => o.kind === 'Service')) {
      const exposed = (svc.spec!.ports as { port: number; targetPort: number | string }[]).map((p) => `${p.port}->${p.targetPort}`);
      assert.ok(!exposed.some((p) => /(^9000|->9000|->traefik)$/.test(p)), `${svc.metadata.name} does not expose the API (${exposed.join(', ')})`);
    }
  });

  test('the API server takes every rendered object as k3s would apply it (a server-side dry run: nothing is kept)', (t) => {
    if (!needTestbed(t, NEEDS) || rendered.length === 0) return;
    const out = execFileSync(join(process.env.SLIPWAY_KUBE_BIN_DIR!, 'kubectl'), ['apply', '--dry-run=server', '-f', join(dir, 'rendered.yaml'), '-o', 'json'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const items = (JSON.parse(out) as { items: (K8sObject & { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } })[] }).items;
    assert.deepEqual(items.map((o) => `${o.kind}/${o.metadata.name}`).sort(), rendered.map((o) => `${o.kind}/${o.metadata.name}`).sort());
    const annotations = items.find((o) => o.kind === 'Deployment')!.spec!.template!.metadata!.annotations!;
    t.diagnostic(`the pods' annotations as the API server keeps them: ${JSON.stringify(annotations)}`);
    assert.equal(annotations['prometheus.io/port'], '9000', "a scraper that reads the pods' annotations finds the metrics where they are");
  });

  test('Traefik started with the rendered arguments answers its API, and counts requests per service in buckets the canary reads', async (t) => {
    if (!needTestbed(t, NEEDS) || args.length === 0) return;
    // An upstream for one route, through the `web` entry point.
    app = createServer((req, res) => res.end('ok\n'));
    await new Promise<void>((f) => app!.listen(0, '127.0.0.1', f));
    writeFileSync(join(dir, 'routes.yaml'), dump({
      http: {
        routers: { app: { rule: 'PathPrefix(`/`)', entryPoints: ['web'], service: 'app' } },
        services: { app: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${(app.address() as AddressInfo).port}` }] } } },
      },
    }));
    // The rendered arguments, each entry point on a free loopback port; the cluster's providers
    // (this process is no pod: no service account, no POD_NAMESPACE) swapped for the file.
    const ports = new Map<string, number>();
    const run: string[] = [];
    for (const a of args) {
      const ep = /^--entryPoints\.([^.=]+)\.address=:(\d+)(\/\w+)?$/.exec(a);
      if (ep) {
        const port = await freePort();
        ports.set(ep[1]!, port);
        run.push(`--entryPoints.${ep[1]}.address=127.0.0.1:${port}${ep[3] ?? ''}`);
      } else if (!/^--providers\.kubernetes(crd|ingress|gateway)\b/.test(a)) {
        run.push(a);
      }
    }
    run.push(`--providers.file.filename=${join(dir, 'routes.yaml')}`);
    assert.ok(ports.has('traefik') && ports.has('web'), `the traefik and web entry points (${[...ports.keys()].join(', ')})`);
    t.diagnostic(`run: traefik ${run.join(' ')}`);
    traefik = spawn(process.env.SLIPWAY_TEST_TRAEFIK!, run, { stdio: ['ignore', 'pipe', 'pipe'] });
    traefik.stdout!.on('data', (c: Buffer) => { traefikLog = (traefikLog + c.toString()).slice(-8000); });
    traefik.stderr!.on('data', (c: Buffer) => { traefikLog = (traefikLog + c.toString()).slice(-8000); });
    const api = `http://127.0.0.1:${ports.get('traefik')}`;
    const web = `http://127.0.0.1:${ports.get('web')}`;
    const version = await eventually(() => `Traefik's API at ${api} (its log: ${traefikLog})`, async () => {
      if (traefik!.exitCode !== null) throw new Error(`Traefik exited with ${traefik!.exitCode}: ${traefikLog}`);
      const r = await fetch(`${api}/api/version`).catch(() => undefined);
      return r?.status === 200 ? ((await r.json()) as { Version: string }).Version : undefined;
    }, 30_000, 200);
    t.diagnostic(`Traefik ${version} answers /api/version on the traefik entry point`);
    await eventually(() => `the file route through ${web}`, async () => (await fetch(web).catch(() => undefined))?.status === 200 || undefined, 30_000, 200);
    for (let i = 0; i < 20; i++) assert.equal(await (await fetch(`${web}/n${i}`)).text(), 'ok\n');
    const metrics = await (await fetch(`${api}/metrics`)).text();
    // Prometheus's own parser reads all of it.
    const families = parseExposition(metrics);
    const durations = families.get('traefik_service_request_duration_seconds');
    assert.equal(durations?.type, 'HISTOGRAM');
    const sample = durations.samples.find((s) => s.labels.service === 'app@file');
    assert.ok(sample, `a latency histogram for the service (${JSON.stringify(durations.samples.map((s) => s.labels))})`);
    const upperBounds = (les: Iterable<string>) => [...les].filter((le) => le !== '+Inf').map(Number).sort((a, b) => a - b);
    assert.deepEqual(upperBounds(Object.keys(sample.buckets ?? {})), BUCKETS.map(Number));
    assert.equal(sample.count, 21, 'the 21 requests through web');
    // What ps:sleep reads (request counts by service) and what the canary reads (its buckets).
    assert.equal(requestCounts(metrics).get('app@file'), 21);
    const les = new Set(parsePrometheus(metrics).filter((l) => l.name === 'traefik_service_request_duration_seconds_bucket' && l.labels.service === 'app@file').map((l) => l.labels.le));
    assert.deepEqual(upperBounds(les), BUCKETS.map(Number));
    // No entry point labels (addEntryPointsLabels: false): one series per service and code.
    assert.ok(!families.has('traefik_entrypoint_requests_total'), 'no per-entry-point series');
  });
});
