// A canary's rules (figures in, verdict out), its setting as typed, the ingress's counters read
// from Traefik's metrics text, and its objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MARGIN, figuresBetween, judge, parseMargin, parseStep, parseSteps, quantileMs, type Figures } from '../../server/ops/releases/canary-rules.ts';
import { canarySample, parsePrometheus, setOfService } from '../../server/deploy/ingress-metrics.ts';
import { CANARY_PRIORITY, canaryRouteObject, canaryServiceObject, splitObject } from '../../server/deploy/canary.ts';
import { UserError } from '../../server/errors.ts';

const f = (requests: number, errorRate: number, p95Ms: number | null): Figures => ({ requests, errorRate, p95Ms });

test('the verdict: a canary worse than the stable set by more than the margin is aborted, with the figures', () => {
  const margin = { errorPoints: 1, p95Ms: 100 };
  assert.deepEqual(judge(f(900, 0, 20), f(100, 0, 25), margin), { ok: true, reasons: [] });
  // At the margin is not over it.
  assert.equal(judge(f(900, 0.5, 20), f(100, 1.5, 120), margin).ok, true);
  assert.deepEqual(judge(f(900, 0, 20), f(100, 100, 3), margin), { ok: false, reasons: ['5xx 100.0 % against 0.0 % on the stable set (margin 1 point)'] });
  assert.deepEqual(judge(f(900, 0, 20), f(100, 0, 400), margin), { ok: false, reasons: ['p95 400 ms against 20 ms on the stable set (margin 100 ms)'] });
  assert.equal(judge(f(900, 0, 20), f(100, 5, 400), margin).reasons.length, 2);
  // A stable set that fails as much is no reason to abort the canary.
  assert.equal(judge(f(900, 50, 20), f(100, 50.5, 20), margin).ok, true);
  // No request reached the canary: nothing against it; no stable request: latency is not judged.
  assert.equal(judge(f(900, 0, 20), f(0, 0, null), margin).ok, true);
  assert.equal(judge(f(0, 0, null), f(10, 0, 900), margin).ok, true);
  assert.equal(judge(f(0, 0, null), f(10, 20, 900), margin).ok, false);
});

test('the steps: rising whole percentages, 100 last (added when left out); anything else is one sentence', () => {
  assert.deepEqual(parseSteps('10,50,100'), [10, 50, 100]);
  assert.deepEqual(parseSteps('5, 25'), [5, 25, 100]);
  assert.deepEqual(parseSteps('100'), [100]);
  for (const bad of ['', '50,10', '10,10', '0,50', '10,150', 'ten', '10;50', '1.5,50', '-5']) {
    assert.throws(() => parseSteps(bad), (e: unknown) => e instanceof UserError && /is not a list of canary steps; give rising percentages/.test(e.message), bad);
  }
  assert.throws(() => parseSteps('1,2,3,4,5,6,7,8,9,10,11'), /at most 10 steps/);
  assert.equal(parseStep('5s'), 5);
  assert.equal(parseStep('5m'), 300);
  assert.equal(parseStep('90'), 90);
  for (const bad of ['0', '0s', '25h', '5 m', 'soon']) assert.throws(() => parseStep(bad), /is not a canary window/, bad);
});

test('the margin: 5xx in points and p95 in ms, each optional, the other kept at its default', () => {
  assert.deepEqual(parseMargin('5xx=2'), { errorPoints: 2, p95Ms: DEFAULT_MARGIN.p95Ms });
  assert.deepEqual(parseMargin('p95=250ms'), { errorPoints: DEFAULT_MARGIN.errorPoints, p95Ms: 250 });
  assert.deepEqual(parseMargin('5xx=0.5%,p95=50'), { errorPoints: 0.5, p95Ms: 50 });
  for (const bad of ['', '5xx', '5xx=101', '5xx=2ms', 'p95=1.5', 'p95=10%', 'p99=10', '5xx=1;p95=2']) {
    assert.throws(() => parseMargin(bad), /is not a canary margin/, bad);
  }
});

test("a window's figures from two samples: deltas of the counters, p95 interpolated in its bucket", () => {
  const a = { requests: 100, errors: 2, buckets: [[0.025, 90], [0.05, 98], [0.1, 100], [Infinity, 100]] as [number, number][] };
  const b = { requests: 300, errors: 12, buckets: [[0.025, 190], [0.05, 198], [0.1, 300], [Infinity, 300]] as [number, number][] };
  // 200 requests: 100 under 25 ms, 100 between 50 and 100 ms; the 190th is 90 % into that bucket.
  assert.deepEqual(figuresBetween(a, b), { requests: 200, errorRate: 5, p95Ms: 95 });
  // A counter that went back (Traefik restarted) counts from zero.
  assert.equal(figuresBetween(b, a).requests, 100);
  assert.deepEqual(figuresBetween(a, a), { requests: 0, errorRate: 0, p95Ms: null });
  // In the +Inf bucket: the highest finite bound.
  assert.equal(quantileMs([[0.1, 0], [5, 1], [Infinity, 100]], 0.95), 5000);
  assert.equal(quantileMs([[0.025, 10], [Infinity, 10]], 0.95), 24);
});

const METRICS = `# HELP traefik_service_requests_total How many HTTP requests processed on a service.
# TYPE traefik_service_requests_total counter
traefik_service_requests_total{code="200",method="GET",protocol="http",service="slipway-shop-web-http@kubernetes"} 40
traefik_service_requests_total{code="200",method="GET",protocol="http",service="slipway-shop-web-http@kubernetescrd"} 900
traefik_service_requests_total{code="502",method="GET",protocol="http",service="slipway-shop-web-http@kubernetescrd"} 3
traefik_service_requests_total{code="500",method="GET",protocol="http",service="slipway-shop-web-canary-http@kubernetescrd"} 97
traefik_service_requests_total{code="200",method="GET",protocol="http",service="slipway-shop-canary-split@kubernetescrd"} 1000
traefik_service_requests_total{code="200",method="GET",protocol="http",service="slipway-shopper-web-http@kubernetes"} 7
traefik_service_request_duration_seconds_bucket{code="200",method="GET",protocol="http",service="slipway-shop-web-http@kubernetescrd",le="0.025"} 800
traefik_service_request_duration_seconds_bucket{code="200",method="GET",protocol="http",service="slipway-shop-web-http@kubernetescrd",le="+Inf"} 900
traefik_service_request_duration_seconds_bucket{code="502",method="GET",protocol="http",service="slipway-shop-web-http@kubernetescrd",le="0.025"} 3
traefik_service_request_duration_seconds_bucket{code="502",method="GET",protocol="http",service="slipway-shop-web-http@kubernetescrd",le="+Inf"} 3
traefik_service_request_duration_seconds_bucket{code="500",method="GET",protocol="http",service="slipway-shop-web-canary-http@kubernetescrd",le="0.025"} 97
traefik_service_request_duration_seconds_bucket{code="500",method="GET",protocol="http",service="slipway-shop-web-canary-http@kubernetescrd",le="+Inf"} 97
`;

test("the ingress's counters of each set, from Traefik's metrics text: the app's Services only, over every provider and code", () => {
  assert.equal(parsePrometheus(METRICS).length, 12);
  assert.equal(setOfService('slipway-shop-web-http@kubernetes', 'slipway-shop', 'web-canary'), 'stable');
  assert.equal(setOfService('slipway-shop-web-canary-http@kubernetescrd', 'slipway-shop', 'web-canary'), 'canary');
  assert.equal(setOfService('slipway-shop-canary-split@kubernetescrd', 'slipway-shop', 'web-canary'), undefined);
  assert.equal(setOfService('slipway-shopper-web-http@kubernetes', 'slipway-shop', 'web-canary'), undefined);
  // A preview's namespace is normalized as Traefik does it.
  assert.equal(setOfService('slipway-shop-feature-1a2b-web-http@kubernetes', 'slipway-shop--feature-1a2b', 'web-canary'), 'stable');
  assert.deepEqual(canarySample(METRICS, 'slipway-shop', 'web-canary'), {
    stable: { requests: 943, errors: 3, buckets: [[0.025, 803], [Infinity, 903]] },
    canary: { requests: 97, errors: 97, buckets: [[0.025, 97], [Infinity, 97]] },
  });
});

test("a canary's objects: its Service selects its release's set; the split weighs both Services with a sticky cookie; the route takes the app's hosts above the Ingresses", () => {
  const svc = canaryServiceObject('shop', 5) as { metadata: { name: string; namespace: string }; spec: { selector: Record<string, string> } };
  assert.equal(svc.metadata.name, 'web-canary');
  assert.equal(svc.metadata.namespace, 'slipway-shop');
  assert.equal(svc.spec.selector['slipway/release'], '5');
  const split = splitObject('shop', 10) as unknown as { spec: { weighted: { services: { name: string; weight: number }[]; sticky: { cookie: { name: string } } } } };
  assert.deepEqual(split.spec.weighted.services.map((s) => [s.name, s.weight]), [['web', 90], ['web-canary', 10]]);
  assert.equal(split.spec.weighted.sticky.cookie.name, 'slipway-canary');
  const route = canaryRouteObject({ app: 'shop', domains: ['shop.example.com', 'www.shop.test'] }, new Set(['www.shop.test'])) as unknown as { spec: { routes: { match: string; priority: number; middlewares?: { name: string }[]; services: { name: string; kind: string }[] }[] } };
  assert.deepEqual(route.spec.routes.map((r) => [r.match, r.middlewares?.map((m) => m.name) ?? []]), [
    ['(Host(`shop.example.com`)) && !PathPrefix(`/.well-known/acme-challenge/`)', []],
    ['(Host(`www.shop.test`)) && !PathPrefix(`/.well-known/acme-challenge/`)', ['https-redirect']],
  ]);
  assert.ok(route.spec.routes.every((r) => r.priority === CANARY_PRIORITY && r.services[0]!.kind === 'TraefikService'));
});
