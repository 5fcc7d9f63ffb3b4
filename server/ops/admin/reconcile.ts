// Start-up reconciliation: after a crash the cluster may run what the database does not say runs
// (a server killed at `web: 0/1 ready` leaves the new release rolling out while the database
// marks it failed and the previous one current). The database wins: refs only ever point at code
// that deployed, the pusher saw the push fail, and the release that was rolling out never passed
// its readiness check. So the current release is applied again, before any deploy is accepted.
// A database the stopped server was still making (its job now interrupted) is removed, as a
// failure midway would have removed it.
import type { Services } from '../../context.ts';
import type { Workload } from '../../deploy/deployer.ts';
import type { DeployableRelease } from '../../model.ts';
import { processName } from '../../kube/labels.ts';
import { RELEASE_TYPE, replicasFor } from '../../deploy/workload.ts';
import { log } from '../../output/log.ts';
import { ownerAlive } from '../../process.ts';
import { deployable } from '../releases/release.ts';
import { removeHalfMade } from '../data/addons.ts';

/** What was done at start-up: apps whose workloads were put back, leftover pods removed, half-made databases removed (`app/name`). */
export interface Reconciled {
  restored: string[];
  sweptPods: number;
  halfMade: string[];
  /** Scratch copies of databases (a drill's, a fork's) a server that stopped midway left, as `app/pod`. */
  scratch: string[];
}

/**
 * Why the cluster's Deployments of an app differ from what `expected` (the current release, or
 * none) runs: one sentence, or undefined when they match.
 */
export function drift(expected: Pick<DeployableRelease, 'version' | 'runsAs' | 'formation' | 'autoscale'> & { processes: readonly { type: string }[] } | undefined, running: readonly Workload[]): string | undefined {
  // A rollback runs its target's instances: those carry the target's number.
  const runs = expected?.runsAs ?? expected?.version;
  const want = new Map((expected?.processes ?? []).filter((p) => p.type !== RELEASE_TYPE)
    .map((p) => [processName(p.type), { release: runs!, replicas: replicasFor(expected!, p.type), autoscale: expected!.autoscale?.[p.type] }]));
  for (const w of running) {
    const e = want.get(w.process);
    if (!e) return `${w.process} runs${w.release === null ? '' : ` v${w.release}`}, which ${expected ? `v${expected.version} does not have` : 'no release that deployed has'}`;
    if (w.release !== e.release) return `${w.process} runs ${w.release === null ? 'an unknown release' : `v${w.release}`}, the database says v${e.release}`;
    // An autoscaled type runs what its autoscaler chose, within its bounds.
    const rule = e.autoscale;
    if (rule ? w.replicas < rule.min || w.replicas > rule.max : w.replicas !== e.replicas) {
      return `${w.process} runs ${w.replicas} instances, the database says ${rule ? `${rule.min} to ${rule.max} (autoscaled)` : e.replicas}`;
    }
  }
  const missing = [...want.keys()].find((name) => !running.some((w) => w.process === name));
  return missing ? `${missing} of v${expected!.version} is not in the cluster` : undefined;
}

/**
 * Brings the cluster in line with the database: removes one-off and release pods of processes
 * that are gone, and applies each app's current release again where its workloads differ. An
 * app whose deploy lock a live process holds (the local CLI deploying) is left to it.
 */
export async function reconcileAtStart(services: Pick<Services, 'config' | 'store' | 'deployer'>): Promise<Reconciled> {
  const { store, deployer } = services;
  const done: Reconciled = { restored: [], sweptPods: 0, halfMade: [], scratch: [] };
  if (!deployer) return done;
  try {
    done.sweptPods = await deployer.oneOff.sweepPods(ownerAlive);
  } catch (err) {
    // Without the cluster there is nothing to compare with, and no deploy can run either.
    log.error('could not reach the cluster at start-up: what it runs was not compared with the database', { err });
    return done;
  }
  const lockedElsewhere = new Set(store.apps.lockedElsewhere());
  for (const app of store.apps.list()) {
    if (lockedElsewhere.has(app.name)) continue;
    try {
      // A canary does not outlive the server that ran it (its deploy failed with it): a split left
      // behind goes, and every request is on the serving set again.
      if (deployer.canary && store.canary.get(app.name)) await deployer.canary.finish(app.name);
      for (const name of await removeHalfMade(services, app.name)) done.halfMade.push(`${app.name}/${name}`);
      if (store.data.list(app.name).length) for (const pod of await deployer.data.sweepScratch(app.name)) done.scratch.push(`${app.name}/${pod}`);
      const current = store.releases.current(app.name);
      const expected = current?.image ? deployable(services, current) : undefined;
      const why = drift(expected, await deployer.rollout.workloads(app.name));
      if (!why) continue;
      log.warn(`the cluster does not run what the database says: ${why}; applying ${expected ? `v${expected.version}` : 'no release'} again`, { app: app.name });
      await deployer.rollout.restore(app.name, expected);
      done.restored.push(app.name);
    } catch (err) {
      log.error('could not bring the app in line with the database at start-up', { app: app.name, err });
    }
  }
  return done;
}
