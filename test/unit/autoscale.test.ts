// Autoscaling (issue 40, part 2) as pure functions and one kube part on a recording client: the
// HorizontalPodAutoscaler of an autoscaled type, the quota's refusal of a max it cannot hold, the
// release plan (min as the formation, a stopped type outside its autoscaler), the checks of
// ps:autoscale's input, what ps shows, and the hand-over of a Deployment's replicas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeployableRelease, QuotaPlan } from '../../server/model.ts';
import type { KubeObject, V1Deployment, V2HorizontalPodAutoscaler } from '../../server/kube/types.ts';
import type { KubeClient } from '../../server/kube/client.ts';
import { AUTOSCALE_FIELD_MANAGER, FIELD_MANAGER } from '../../server/kube/labels.ts';
import { autoscalerObject, autoscalerObjects, startReplicas, targetUse, webAutoscalerObject } from '../../server/deploy/autoscale.ts';
import { releaseObjects } from '../../server/deploy/objects.ts';
import { deploymentObject } from '../../server/deploy/workload.ts';
import { quotaRefusal, releaseDemand } from '../../server/deploy/quota.ts';
import { applyWorkload, autoscalerState } from '../../server/deploy/kube/autoscale.ts';
import { planRelease, type AppSettings } from '../../server/ops/releases/release.ts';
import { checkAutoscale } from '../../server/ops/processes/autoscale.ts';
import { autoscaleEntry, autoscaledRefusal } from '../../server/ops/processes/autoscale-view.ts';
import { autoscaleLine } from '../../server/commands/ps.ts';

const plan: QuotaPlan = {
  quota: { pods: 10, memory: '2Gi', cpu: '4' },
  runs: 2,
  container: { limits: { memory: '256Mi', cpu: '500m' }, requests: { memory: '128Mi', cpu: '50m' } },
};
const web = { type: 'web', command: ['web'], args: [], default: true };
const worker = { type: 'worker', command: ['worker'], args: [], default: false };

const release = (over: Partial<DeployableRelease> = {}): DeployableRelease => ({
  app: 'myapp', version: 3, image: '127.0.0.1:5000/slipway/myapp@sha256:' + 'a'.repeat(64),
  processes: [web, worker], config: {}, formation: {}, domains: ['myapp.apps.test'], quota: plan, ...over,
});

test("an autoscaled web's HPA counts the serving set, aims at a share of the limits as quantities, and scales down after the window", () => {
  const r = release({ autoscale: { web: { min: 1, max: 5, cpu: 70, memory: 80, scaleDownSeconds: 15 } }, resources: { web: { limits: { cpu: '200m' } } } });
  const h = autoscalerObject(r, 'web', r.autoscale!.web!, 2);
  assert.deepEqual([h.apiVersion, h.kind, h.metadata.name, h.metadata.namespace], ['autoscaling/v2', 'HorizontalPodAutoscaler', 'web', 'slipway-myapp']);
  assert.equal(h.metadata.labels?.['app.kubernetes.io/instance'], 'myapp');
  assert.deepEqual(h.spec, {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-v2' },
    minReplicas: 1,
    maxReplicas: 5,
    metrics: [
      // 70 % of its own 200m limit; 80 % of the namespace's default 256Mi.
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: '140m' } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '204Mi' } } },
    ],
    behavior: { scaleDown: { stabilizationWindowSeconds: 15 } },
  });
  assert.equal(webAutoscalerObject(r, 4)?.spec?.scaleTargetRef.name, 'web-v4', 'the switch moves it to the new set');
  assert.equal(autoscalerObject(release({ autoscale: { web: { min: 1, max: 2, cpu: 50 } } }), 'web', { min: 1, max: 2, cpu: 50 }).spec?.behavior?.scaleDown?.stabilizationWindowSeconds, 300, "Kubernetes' default without the setting");
});

test("a worker's HPA counts its one Deployment; a type without a rule, or not in the release, has none", () => {
  const r = release({ autoscale: { worker: { min: 2, max: 4, memory: 50 } } });
  const objects = autoscalerObjects(r);
  assert.deepEqual(objects.map((o) => [o.metadata.name, o.spec?.scaleTargetRef.name, o.spec?.metrics?.map((m) => m.resource?.name)]), [['worker', 'worker', ['memory']]]);
  assert.deepEqual(autoscalerObjects(release({ processes: [web], autoscale: { worker: { min: 1, max: 2, cpu: 50 } } })), []);
  assert.equal(webAutoscalerObject(r, 3), undefined);
  assert.deepEqual(targetUse(release({ quota: undefined }), 'web', { min: 1, max: 2, cpu: 50 }), {}, 'no limit known: nothing to aim at');
});

test("a release's objects carry its autoscalers (pruned with the rest when a rule goes); the Deployment keeps the min as its replicas", () => {
  const r = release({ formation: { web: 2 }, autoscale: { web: { min: 2, max: 4, cpu: 50 } } });
  const objects = releaseObjects(r, {}, new Set(), 2);
  const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler') as KubeObject<V2HorizontalPodAutoscaler>;
  assert.equal(hpa.spec?.scaleTargetRef.name, 'web-v2', 'the set that serves, as the Service');
  assert.equal(releaseObjects(release()).filter((o) => o.kind === 'HorizontalPodAutoscaler').length, 0);
  assert.equal((deploymentObject(r, web) as KubeObject<V1Deployment>).spec?.replicas, 2);
});

test('the quota counts an autoscaled type at its max, and says so in its one sentence', () => {
  const r = release({ processes: [web], formation: { web: 1 }, autoscale: { web: { min: 1, max: 6, cpu: 50 } } });
  assert.equal(releaseDemand(r, plan).pods, 12, 'six, twice while a new set rolls out');
  assert.equal(quotaRefusal(r, plan),
    "myapp at web=1..6 needs 12 pods (counting an autoscaled type at its max, a second set of web instances and one extra pod per other process type while it rolls out), above its quota of 10 pods (resource:quota myapp); scale down, lower an autoscaled type's --max or lower its limits.");
  assert.equal(quotaRefusal({ ...r, autoscale: { web: { min: 1, max: 4, cpu: 50 } } }, plan), undefined, 'four fit: eight pods, 2Gi of memory');
  // Memory before pods: 2 x 4 x 512Mi = 4Gi.
  assert.match(quotaRefusal({ ...r, resources: { web: { limits: { memory: '512Mi' } } }, autoscale: { web: { min: 1, max: 4, cpu: 50 } } }, plan)!, /^myapp at web=1\.\.4 needs 4Gi of memory limits .* above its quota of 2Gi of memory/);
});

test('a new set starts at the count of the set it takes over from, within the bounds', () => {
  assert.equal(startReplicas({ min: 2, max: 5 }, undefined), 2);
  assert.equal(startReplicas({ min: 2, max: 5 }, 4), 4);
  assert.equal(startReplicas({ min: 2, max: 5 }, 9), 5);
  assert.equal(startReplicas({ min: 2, max: 5 }, 0), 2, 'a stopped type started again');
});

/** AppSettings with only what planRelease reads for these cases. */
function settings(over: Partial<AppSettings>): AppSettings {
  return {
    app: 'myapp', formation: {}, stopped: [], volumes: [], databases: [], dataCa: undefined, warmSeconds: 0, domains: ['myapp.apps.test'], resources: [], quota: plan,
    checks: {}, egress: [], suspended: [], tls: {}, ...over,
  };
}
const stored = { app: 'myapp', version: 3, runsAs: null, commit: null, image: 'img', processes: [web, worker], config: {}, description: 'x', createdAt: '', createdBy: null, status: 'succeeded' } as unknown as Parameters<typeof planRelease>[1];

test("a release plan runs an autoscaled type at its min, with the server's window; a stopped one stays at 0 without its autoscaler", () => {
  const rules = [{ process: 'web', min: 2, max: 4, cpu: 60, memory: null }, { process: 'worker', min: 1, max: 3, cpu: null, memory: 70 }];
  const r = planRelease(settings({ formation: { web: 1, worker: 1 }, autoscale: { rules, scaleDownSeconds: 30 } }), stored);
  assert.deepEqual(r.formation, { web: 2, worker: 1 });
  assert.deepEqual(r.autoscale, { web: { min: 2, max: 4, cpu: 60, scaleDownSeconds: 30 }, worker: { min: 1, max: 3, memory: 70, scaleDownSeconds: 30 } });
  const stopped = planRelease(settings({ formation: { web: 1, worker: 1 }, stopped: ['worker'], autoscale: { rules, scaleDownSeconds: 30 } }), stored);
  assert.deepEqual([stopped.formation.worker, Object.keys(stopped.autoscale ?? {})], [0, ['web']]);
  assert.equal(planRelease(settings({}), stored).autoscale, undefined);
});

test("ps:autoscale's input is checked before anything is written, one sentence each", () => {
  const types = ['web', 'worker'];
  assert.deepEqual(checkAutoscale('myapp', 'web', { max: 5, cpu: 70 }, types), { process: 'web', min: 1, max: 5, cpu: 70, memory: null });
  const refused = (input: Parameters<typeof checkAutoscale>[2], type = 'web') => {
    try {
      checkAutoscale('myapp', type, input, types);
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  assert.equal(refused({ max: 5, cpu: 70 }, 'clock'), 'There is no "clock" process type; this app has web, worker.');
  assert.equal(refused({ max: 2, min: 3, cpu: 70 }), '--max (2) is below --min (3); the autoscaler keeps web between them.');
  assert.equal(refused({ max: 0, cpu: 70 }), '--max takes a whole number from 1 to 500, not "0".');
  assert.equal(refused({ max: 5, cpu: 101 }), '--cpu takes a whole number from 1 to 100 (percent of the CPU limit), not "101".');
  assert.equal(refused({ max: 5 }), "Give --cpu, --memory or both: the average use to aim at, in percent of each instance's limits (for example ps:autoscale myapp web --max 5 --cpu 70).");
  assert.equal(autoscaledRefusal('myapp', { process: 'web', min: 1, max: 5 }),
    'web is autoscaled from 1 to 5 instances; ps:autoscale myapp web --min N --max N changes its bounds, ps:autoscale:off myapp web gives its count back to ps:scale.');
});

test('ps shows an autoscaler: its bounds, the instances it runs and wants, each metric in percent of the limits', () => {
  const h: V2HorizontalPodAutoscaler = {
    metadata: { name: 'web', annotations: { 'slipway/process-type': 'web' } },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-v3' }, minReplicas: 1, maxReplicas: 3,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: '50m' } } }],
    },
    status: {
      currentReplicas: 2, desiredReplicas: 3,
      currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageValue: '90m' } } }],
      conditions: [{ type: 'ScalingActive', status: 'True', reason: 'ValidMetricFound', lastTransitionTime: new Date() }],
    },
  };
  const state = autoscalerState(h);
  assert.deepEqual(state, { type: 'web', min: 1, max: 3, target: 'web-v3', current: 2, desired: 3, metrics: [{ resource: 'cpu', current: 0.09, target: 0.05 }] });
  const entry = autoscaleEntry({ process: 'web', min: 1, max: 3, cpu: 50, memory: null }, state);
  assert.deepEqual(entry, { min: 1, max: 3, cpu: 50, current: 2, desired: 3, cpuNow: 90 });
  assert.equal(autoscaleLine(entry), 'autoscaled 1 to 3: 2 running, 3 wanted; CPU 90 % (aim 50 %)');
  const unmeasured = autoscalerState({ ...h, status: { currentReplicas: 1, desiredReplicas: 1, conditions: [{ type: 'ScalingActive', status: 'False', reason: 'FailedGetResourceMetric', message: 'no metrics returned', lastTransitionTime: new Date() }] } });
  assert.equal(autoscaleLine(autoscaleEntry({ process: 'web', min: 1, max: 3, cpu: 50, memory: null }, unmeasured)), 'autoscaled 1 to 3: 1 running, 1 wanted; CPU ? (aim 50 %); no metrics returned');
});

/** A KubeClient that records applies (with their field manager) and answers reads from `objects`. */
function recordingClient(objects: Record<string, V1Deployment>): { client: KubeClient; applied: { manager: string; obj: KubeObject }[] } {
  const applied: { manager: string; obj: KubeObject }[] = [];
  const client = {
    read: async (_v: string, _k: string, name: string) => objects[name],
    apply: async (obj: KubeObject, manager: string = FIELD_MANAGER) => {
      applied.push({ manager, obj });
      return obj;
    },
  } as unknown as KubeClient;
  return { client, applied };
}

test("an autoscaled Deployment's replicas are handed over, never set back: held by the hand-over manager at their count, then left out", async () => {
  const r = release({ formation: { web: 1 }, autoscale: { web: { min: 1, max: 5, cpu: 50 } } });
  const set = deploymentObject(r, web) as KubeObject;
  const running = recordingClient({ 'web-v3': { spec: { replicas: 4, selector: {}, template: {} } } });
  await applyWorkload(running.client, set, r, 3);
  assert.deepEqual(running.applied.map((a) => [a.manager, (a.obj as KubeObject<V1Deployment>).spec?.replicas]), [[AUTOSCALE_FIELD_MANAGER, 4], [FIELD_MANAGER, undefined]]);
  assert.equal('replicas' in ((running.applied[1]!.obj as KubeObject<V1Deployment>).spec ?? {}), false);

  // A new set starts at what the serving one runs (v2's 4), within the bounds, owned as usual until the switch.
  const next = release({ version: 3, formation: { web: 1 }, autoscale: { web: { min: 1, max: 5, cpu: 50 } } });
  const fresh = recordingClient({ 'web-v2': { spec: { replicas: 4, selector: {}, template: {} } } });
  await applyWorkload(fresh.client, deploymentObject(next, web) as KubeObject, next, 2);
  assert.deepEqual(fresh.applied.map((a) => [a.manager, (a.obj as KubeObject<V1Deployment>).spec?.replicas]), [[FIELD_MANAGER, 4]]);

  // Not autoscaled: applied as it is, replicas and all.
  const plain = recordingClient({});
  await applyWorkload(plain.client, deploymentObject(release({ formation: { web: 2 } }), web) as KubeObject, release({ formation: { web: 2 } }), 3);
  assert.deepEqual(plain.applied.map((a) => [a.manager, (a.obj as KubeObject<V1Deployment>).spec?.replicas]), [[FIELD_MANAGER, 2]]);
});

test("start-up reconciliation takes an autoscaled type's count within its bounds as no drift, outside them as drift", async () => {
  const { drift } = await import('../../server/ops/admin/reconcile.ts');
  const expected = { version: 4, runsAs: undefined, formation: { web: 1 }, autoscale: { web: { min: 1, max: 5, cpu: 50 } }, processes: [web] };
  assert.equal(drift(expected, [{ process: 'web', release: 4, replicas: 4 }]), undefined, 'what the autoscaler chose');
  assert.equal(drift(expected, [{ process: 'web', release: 4, replicas: 7 }]), 'web runs 7 instances, the database says 1 to 5 (autoscaled)');
  assert.equal(drift({ ...expected, autoscale: undefined }, [{ process: 'web', release: 4, replicas: 4 }]), 'web runs 4 instances, the database says 1');
});
