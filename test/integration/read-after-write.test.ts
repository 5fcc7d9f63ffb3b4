// Issue 36: the Kubernetes deployer's reads (ps, apps:list) come from its watch cache, and a read
// after a write by the same server sees the write before any watch event arrives. The deployer is
// the real one (server/deploy/kube.ts and its cache) on a fake of Slipway's own Kubernetes client
// (test/support/fake-kube.ts) whose watch events the test holds back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeDeployer } from '../../server/deploy/kube.ts';
import type { DeployableRelease } from '../../server/model.ts';
import { lineTranscript } from '../../server/output/transcript.ts';
import { FakeKube } from '../support/fake-kube.ts';

const APP = 'cached';
const NS = `slipway-${APP}`;

/** A release that runs a worker (no web: no switch of the traffic to confirm). */
function release(version: number, workers: number): DeployableRelease {
  return {
    app: APP, version, image: `registry.test/${APP}@sha256:${String(version).padStart(64, '0')}`,
    processes: [{ type: 'worker', command: ['worker'], args: [], default: true }],
    config: {}, formation: { worker: workers }, domains: [],
  };
}

const silent = () => lineTranscript(() => {});

test('a deploy and a scale are read back at once by the same server, before their watch events', async () => {
  const kube = new FakeKube();
  const deployer = new KubeDeployer(kube.client, { rolloutTimeoutMs: 5000, waitForRollout: false });
  try {
    // The first read fills the caches (one list and one watch per kind).
    assert.deepEqual(Object.fromEntries(await deployer.runtime.overview({ certificates: false })), {});
    kube.holding = true;
    await deployer.rollout.deploy(release(1, 1), { transcript: silent(), signal: new AbortController().signal });
    assert.ok(kube.held.length > 0, 'the watch events of the deploy are held back');
    assert.deepEqual((await deployer.runtime.overview({ certificates: false })).get(APP), { running: 0, desired: 1, issuedHosts: [] });
    await deployer.rollout.deploy(release(2, 3), { previous: release(1, 1), transcript: silent(), signal: new AbortController().signal });
    assert.deepEqual((await deployer.runtime.overview({ certificates: false })).get(APP), { running: 0, desired: 3, issuedHosts: [] }, 'the scale is read back');
    assert.equal((await deployer.runtime.status(APP)).find((p) => p.type === 'worker')?.desired, 3);

    // Someone else's change (the controller's readiness) shows once the watch brings it.
    const d = (await kube.list<{ apiVersion: string; kind: string; metadata: { name: string; namespace: string }; status?: unknown }>('apps/v1', 'Deployment', NS))[0]!;
    kube.put({ ...d, status: { readyReplicas: 3 } });
    assert.equal((await deployer.runtime.overview({ certificates: false })).get(APP)?.running, 0, 'not before its event');
    kube.release();
    assert.deepEqual((await deployer.runtime.overview({ certificates: false })).get(APP), { running: 3, desired: 3, issuedHosts: [] });
    // The late events of our own writes did not take the newer state away.
    assert.equal((await deployer.runtime.status(APP)).find((p) => p.type === 'worker')?.ready, 3);
    const lists = [...kube.calls].filter(([k]) => k === 'list Deployment').map(([, n]) => n)[0] ?? 0;
    for (let i = 0; i < 20; i++) {
      await deployer.runtime.overview({ certificates: false });
      await deployer.runtime.status(APP);
    }
    assert.equal([...kube.calls].filter(([k]) => k === 'list Deployment').map(([, n]) => n)[0] ?? 0, lists, 'reads list no Deployments');

    // A destroy: the app's objects leave the reads with the namespace's deletion events.
    await deployer.rollout.destroy(APP);
  } finally {
    deployer.close();
  }
});
