// The warm-window sweep: the web instances a deploy took the traffic from stay warm for an instant
// rollback (ps:warm, SLIPWAY_WARM_ROLLBACK) until their window ends; then this stops them. An app
// whose lock is taken is left for the next round: the deploy or rollback holding it may be moving
// the traffic back to that very set.
import type { Services } from '../../context.ts';
import { log } from '../../output/log.ts';
import { tryLockApp } from '../lock.ts';

/** How often the sweep looks for warm sets whose window ended. */
export const WARM_SWEEP_MS = 10_000;

/** What one sweep did: apps whose expired warm sets were stopped (and how many), apps skipped because locked. */
export interface WarmSweep {
  dropped: { app: string; sets: number }[];
  skipped: string[];
}

/** Stops every warm set whose window has ended, each under its app's lock, taken only if free. */
export async function sweepWarm(services: Pick<Services, 'store' | 'deployer'>, now: () => number = Date.now): Promise<WarmSweep> {
  const result: WarmSweep = { dropped: [], skipped: [] };
  const deployer = services.deployer;
  if (!deployer) return result;
  const expired = new Set((await deployer.warm.warmSets()).filter((w) => Date.parse(w.until) <= now()).map((w) => w.app));
  for (const app of expired) {
    const lock = tryLockApp(services, app, 'warm-window sweep');
    if (!lock.ok) {
      result.skipped.push(app);
      continue;
    }
    try {
      const sets = await deployer.warm.dropWarm(app, { now: now() });
      if (sets) {
        result.dropped.push({ app, sets });
        log.info('stopped warm web instances whose window ended', { app, sets });
      }
    } catch (err) {
      // One app's failure must not keep the others warm; the next round tries it again.
      log.warn('could not stop warm web instances; the next sweep tries again', { app, err });
    } finally {
      lock.unlock();
    }
  }
  return result;
}
