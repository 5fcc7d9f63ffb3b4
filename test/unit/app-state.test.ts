// The rule for an app's state in apps:list and the dashboard, the config keys a release changed
// (names only), and the cluster overview apps:list reads (over a stand-in for the kube client).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appState } from '../../server/ops/apps/apps.ts';
import { configChanges } from '../../server/store/releases.ts';
import { KubeDeployer } from '../../server/deploy/kube.ts';
import type { KubeClient } from '../../server/kube/client.ts';

test('an app is deploying, failed, stopped, new or running, in that order of precedence', () => {
  const cases: [Parameters<typeof appState>[0], string][] = [
    [{ lastDeploy: undefined, stopped: false, released: false }, 'new'],
    [{ lastDeploy: 'running', stopped: false, released: false }, 'deploying'],
    [{ lastDeploy: 'failed', stopped: false, released: false }, 'failed'],
    [{ lastDeploy: 'succeeded', stopped: false, released: true }, 'running'],
    [{ lastDeploy: undefined, stopped: false, released: true }, 'running'],
    // A deploy under way wins over everything; a failed last deploy over stopped processes.
    [{ lastDeploy: 'running', stopped: true, released: true }, 'deploying'],
    [{ lastDeploy: 'failed', stopped: true, released: true }, 'failed'],
    [{ lastDeploy: 'succeeded', stopped: true, released: true }, 'stopped'],
  ];
  for (const [input, state] of cases) assert.equal(appState(input), state, JSON.stringify(input));
});

test('configChanges names the keys added, changed and removed, sorted, never a value', () => {
  assert.deepEqual(configChanges({}, {}), { added: [], changed: [], removed: [] });
  assert.deepEqual(
    configChanges({ KEEP: 'same', B: 'old', GONE: 'x' }, { KEEP: 'same', B: 'new', A: 'secret', C: '' }),
    { added: ['A', 'C'], changed: ['B'], removed: ['GONE'] },
  );
  assert.doesNotMatch(JSON.stringify(configChanges({ B: 'old' }, { B: 'new-secret' })), /secret|old/);
});

test('the cluster overview: one Deployment list (and one Certificate list) across namespaces, then watches; summed by app', async () => {
  const calls: { kind: string; namespace: string | undefined; labelSelector: string | undefined }[] = [];
  const meta = (app: string, name: string) => ({ name, namespace: `slipway-${app}`, labels: { 'app.kubernetes.io/instance': app, 'app.kubernetes.io/managed-by': 'slipway' } });
  const deployment = (app: string, replicas: number, ready?: number, name = 'web') => ({ metadata: meta(app, name), spec: { replicas }, status: ready === undefined ? {} : { readyReplicas: ready } });
  const objects: Record<string, unknown[]> = {
    Deployment: [deployment('a', 2, 2), deployment('a', 1, 0, 'worker'), deployment('b', 0), { metadata: { name: 'stray', namespace: 'x' }, spec: { replicas: 5 } }],
    Certificate: [
      { metadata: meta('a', 'a-tls'), spec: { dnsNames: ['a.apps.test'] }, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      { metadata: meta('b', 'b-tls'), spec: { dnsNames: ['b.apps.test'] }, status: { conditions: [{ type: 'Ready', status: 'False' }] } },
    ],
  };
  const client = {
    onWrite: () => undefined,
    listVersioned: async (_apiVersion: string, kind: string, namespace: string | undefined, opts: { labelSelector?: string } = {}) => {
      calls.push({ kind, namespace, labelSelector: opts.labelSelector });
      return { items: structuredClone(objects[kind] ?? []), resourceVersion: '7' };
    },
    watch: (_apiVersion: string, kind: string, _namespace: string | undefined, opts: { signal: AbortSignal }) => {
      calls.push({ kind: `watch ${kind}`, namespace: undefined, labelSelector: undefined });
      return new Promise<void>((resolve) => opts.signal.addEventListener('abort', () => resolve(), { once: true }));
    },
  } as unknown as KubeClient;
  const deployer = new KubeDeployer(client, { rolloutTimeoutMs: 1000 });
  try {
    const seen = await deployer.runtime.overview({ certificates: true });
    assert.deepEqual(Object.fromEntries(seen), {
      a: { running: 2, desired: 3, issuedHosts: ['a.apps.test'] },
      b: { running: 0, desired: 0, issuedHosts: [] },
    });
    assert.deepEqual(calls.filter((c) => !c.kind.startsWith('watch ')), [
      { kind: 'Deployment', namespace: undefined, labelSelector: 'app.kubernetes.io/managed-by=slipway' },
      { kind: 'Certificate', namespace: undefined, labelSelector: 'app.kubernetes.io/managed-by=slipway' },
    ]);
    calls.length = 0;
    await deployer.runtime.overview({ certificates: false });
    await deployer.runtime.overview({ certificates: true });
    assert.deepEqual(calls.filter((c) => !c.kind.startsWith('watch ')), [], 'later reads come from the watched caches');
  } finally {
    deployer.close();
  }
});
