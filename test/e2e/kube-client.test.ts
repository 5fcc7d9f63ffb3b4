// Slipway's own Kubernetes client (server/kube/) against the testbed's real API server, through
// a counting proxy: a kubeconfig whose server is http://127.0.0.1:PORT, a loopback proxy that
// forwards each request to the API with the admin's TLS client certificate and notes what it saw.
// What the proxy saw is what the client sent: every request counted, its User-Agent, discovery
// asked once per group version, ordinary requests on one kept-alive connection and a watch on its
// own, the model's renamed fields under their API names, and watches from a list's version.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Agent, request } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient, WatchExpiredError, type WatchEvent } from '../../server/kube/client.ts';
import { loadKubeconfig } from '../../server/kube/kubeconfig.ts';
import type { KubeObject, V1ConfigMap, V1LimitRange, V1NetworkPolicy } from '../../server/kube/types.ts';
import { PACKAGE_VERSION } from '../../server/config.ts';
import { needTestbed, testbedEnv } from '../support/testbed.ts';

const NEEDS = ['KUBECONFIG'] as const;
const NS = `slipway-kclient-${randomBytes(3).toString('hex')}`;
const LABELS = { 'kclient-test': 'yes' };

/** One request the proxy forwarded: its method, path and query, User-Agent, and which connection (numbered) it came on. */
interface Seen { method: string; url: string; agent: string | undefined; connection: number }

/** A loopback HTTP proxy to the API server of `kubeconfig`, adding its TLS client credentials. */
async function countingProxy(kubeconfig: string): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const target = loadKubeconfig(kubeconfig);
  const upstream = new Agent({ keepAlive: true, ...(target.tls.ca ? { ca: target.tls.ca } : {}), ...(target.tls.cert ? { cert: target.tls.cert } : {}), ...(target.tls.key ? { key: target.tls.key } : {}) });
  const seen: Seen[] = [];
  const ids = new WeakMap<Socket, number>();
  let connections = 0;
  const hopByHop = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([k]) => !['host', 'connection', 'keep-alive', 'transfer-encoding'].includes(k)));
  const server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, agent: req.headers['user-agent'], connection: ids.get(req.socket)! });
    const up = request(new URL(req.url!, target.server), { method: req.method, headers: hopByHop(req.headers), agent: upstream }, (answer) => {
      res.writeHead(answer.statusCode!, hopByHop(answer.headers));
      answer.pipe(res);
    });
    up.on('error', (err) => res.destroy(err));
    // The client went (an aborted watch): so does the request upstream.
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  server.on('connection', (s: Socket) => ids.set(s, ++connections));
  server.on('close', () => upstream.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe("Slipway's Kubernetes client through a counting proxy", { timeout: 5 * 60_000 }, () => {
  let proxy: Awaited<ReturnType<typeof countingProxy>> | undefined;
  let dir: string;
  let kube: KubeClient;

  before(async () => {
    const env = testbedEnv(NEEDS);
    if (!env) return;
    proxy = await countingProxy(env.KUBECONFIG!);
    dir = mkdtempSync(join(tmpdir(), 'slipway-kclient-'));
    const file = join(dir, 'proxy.kubeconfig');
    writeFileSync(file, [
      'apiVersion: v1', 'kind: Config',
      `clusters: [{name: proxy, cluster: {server: '${proxy.url}'}}]`,
      'users: [{name: through-proxy, user: {}}]',
      'contexts: [{name: proxy, context: {cluster: proxy, user: through-proxy}}]',
      'current-context: proxy', '',
    ].join('\n'));
    kube = new KubeClient(file);
  });
  after(async () => {
    if (!proxy) return;
    await kube.remove('v1', 'Namespace', NS);
    proxy.server.closeAllConnections();
    await new Promise((resolve) => proxy!.server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  test('every request is counted and says it is Slipway; discovery is asked once per group version; ordinary requests share one connection', async (t) => {
    if (!needTestbed(t, NEEDS) || !proxy) return;
    await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    for (const n of ['a', 'b', 'c']) await kube.apply<KubeObject<V1ConfigMap>>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n, namespace: NS, labels: LABELS }, data: { n } });
    assert.equal((await kube.read<V1ConfigMap>('v1', 'ConfigMap', 'b', NS))?.data?.n, 'b');
    assert.equal(await kube.read('v1', 'ConfigMap', 'missing', NS), undefined);
    assert.deepEqual((await kube.list<V1ConfigMap>('v1', 'ConfigMap', NS, { labelSelector: 'kclient-test=yes' })).map((c) => c.metadata?.name), ['a', 'b', 'c']);
    assert.equal(await kube.remove('v1', 'ConfigMap', 'c', NS), true);
    assert.equal(await kube.remove('v1', 'ConfigMap', 'c', NS), false);
    assert.equal(kube.requestCount, proxy.seen.length, 'the count is what reached the API');
    assert.deepEqual(proxy.seen.filter((s) => s.url === '/api/v1').length, 1, 'Namespace and ConfigMap: one discovery of v1');
    assert.deepEqual(proxy.seen.map((s) => s.method), ['GET', 'PATCH', 'PATCH', 'PATCH', 'PATCH', 'GET', 'GET', 'GET', 'DELETE', 'DELETE']);
    assert.deepEqual(kube.requestsByVerb, { GET: 4, PATCH: 4, DELETE: 2 });
    assert.deepEqual([...new Set(proxy.seen.map((s) => s.agent))], [`slipway/${PACKAGE_VERSION}`]);
    assert.equal(new Set(proxy.seen.map((s) => s.connection)).size, 1, 'one kept-alive connection');
    assert.match(proxy.seen[1]!.url, /^\/api\/v1\/namespaces\/[a-z0-9-]+\?fieldManager=slipway&force=true$/);
  });

  test("the model's renamed fields reach the API under their names: a NetworkPolicy's from, a LimitRange's default", async (t) => {
    if (!needTestbed(t, NEEDS) || !proxy) return;
    const policy = await kube.apply<KubeObject<V1NetworkPolicy>>({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'from-same-namespace', namespace: NS },
      spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ _from: [{ podSelector: {} }] }] },
    });
    assert.deepEqual(policy.spec?.ingress, [{ _from: [{ podSelector: {} }] }], 'the answer in the model\'s names');
    const stored = await kube.rawGet(`/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies/from-same-namespace`, { timeoutMs: 5000, maxBytes: 1 << 20 });
    assert.ok('body' in stored, JSON.stringify(stored));
    assert.deepEqual((JSON.parse(stored.body) as { spec: { ingress: unknown } }).spec.ingress, [{ from: [{ podSelector: {} }] }], 'as the API server stored it');
    await kube.apply<KubeObject<V1LimitRange>>({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'limits', namespace: NS }, spec: { limits: [{ type: 'Container', _default: { memory: '256Mi' } }] } });
    const [range] = await kube.list<V1LimitRange>('v1', 'LimitRange', NS);
    assert.deepEqual(range?.spec?.limits.map((l) => l._default), [{ memory: '256Mi' }]);
  });

  test("a watch from a list's resourceVersion sees the changes in order on a connection of its own; too old a version is WatchExpiredError", async (t) => {
    if (!needTestbed(t, NEEDS) || !proxy) return;
    const listed = await kube.listVersioned<V1ConfigMap>('v1', 'ConfigMap', NS, { labelSelector: 'kclient-test=yes' });
    assert.deepEqual(listed.items.map((c) => c.metadata?.name), ['a', 'b']);
    assert.match(listed.resourceVersion, /^\d+$/);
    const events: WatchEvent<V1ConfigMap>[] = [];
    const started = Date.now();
    const watching = kube.watch<V1ConfigMap>('v1', 'ConfigMap', NS, { labelSelector: 'kclient-test=yes', resourceVersion: listed.resourceVersion, timeoutSeconds: 4, signal: new AbortController().signal }, (e) => events.push(e));
    const cm = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched', namespace: NS, labels: LABELS }, data });
    await kube.apply(cm({ v: '1' }));
    await kube.apply(cm({ v: '2' }));
    await kube.remove('v1', 'ConfigMap', 'watched', NS);
    await watching;
    assert.ok(Date.now() - started >= 3000, 'the API server ended the watch at its timeout');
    const changes = events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata?.name} ${e.object.data?.v ?? ''}`.trim());
    assert.deepEqual(changes, ['ADDED watched 1', 'MODIFIED watched 2', 'DELETED watched 2']);
    const watch = proxy.seen.find((s) => /[?&]watch=true/.test(s.url))!;
    assert.match(watch.url, new RegExp(`allowWatchBookmarks=true&resourceVersion=${listed.resourceVersion}&timeoutSeconds=4&labelSelector=kclient-test%3Dyes`));
    assert.equal(proxy.seen.filter((s) => s.connection === watch.connection).length, 1, 'no other request used the watch\'s connection');
    assert.equal(kube.requestsByVerb.WATCH, 1);

    const stop = new AbortController();
    const long = kube.watch('v1', 'ConfigMap', NS, { resourceVersion: listed.resourceVersion, timeoutSeconds: 300, signal: stop.signal }, () => {});
    setTimeout(() => stop.abort(), 300);
    const t0 = Date.now();
    await long;
    assert.ok(Date.now() - t0 < 3000, 'an aborted watch resolves at once');
    await assert.rejects(kube.watch('v1', 'ConfigMap', NS, { resourceVersion: '1', timeoutSeconds: 5, signal: new AbortController().signal }, () => {}), WatchExpiredError);
    assert.equal(kube.requestCount, proxy.seen.length);
  });
});
