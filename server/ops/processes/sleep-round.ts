// The sleep round: reads the ingress's request count of every app that may sleep (Traefik's
// Prometheus metrics, `traefik_service_requests_total` by service), puts to sleep each one whose
// count has not moved for its idle time, and notices a sleeping app that a deploy, a scale or a
// restart brought back (it then counts as awake, its wake recorded as `deploy`). A locked app (a
// deploy under way) is left to the next round.
import type { Services } from '../../context.ts';
import { namespaceFor } from '../../kube/labels.ts';
import { askIngressApi, traefikServiceName } from '../../deploy/ingress-sync.ts';
import { WEB } from '../../deploy/network.ts';
import { log } from '../../output/log.ts';
import { tryLockApp } from '../lock.ts';
import { idleLongEnough, observe, requestCounts, type IdleSample } from './sleep-idle.ts';
import { putToSleep, sleepAfter, wakeApp, waking, webAutoscaled } from './sleep.ts';

/** Largest metrics page read from the ingress. */
const METRICS_READ = { timeoutMs: 5000, maxBytes: 16 * 1024 * 1024 };

/** What one round did: apps put to sleep, apps found woken by a deploy, apps skipped (locked). */
export interface SleepRoundResult {
  slept: string[];
  woken: string[];
  skipped: string[];
}

/** The sleep round of one server: what it saw of each app's count lives as long as the server. */
export function sleepRound(services: Services): (signal: AbortSignal) => Promise<SleepRoundResult> {
  const samples = new Map<string, IdleSample>();
  return async (signal) => {
    const result: SleepRoundResult = { slept: [], woken: [], skipped: [] };
    const { config, store, deployer } = services;
    const port = deployer?.sleep;
    if (!port || !config.wakerAddress) return result;
    // A sleeping app whose web set runs again (a deploy, ps:scale, a restart at start-up) is awake.
    // Its wake then only finds the instances ready and takes the waker's slice away.
    for (const { app } of store.sleep.asleep()) {
      if (signal.aborted || !(await port.serving(app))) continue;
      try {
        await wakeApp(services, app, 'deploy', signal);
        result.woken.push(app);
        samples.delete(app);
      } catch (err) {
        log.warn('could not record the wake of an app running again; the next round tries again', { app, err });
      }
    }
    if (!config.ingressApi) return result;
    const asleep = new Set(store.sleep.asleep().map((a) => a.app));
    const candidates = store.apps.list().map((a) => a.name)
      .filter((app) => !asleep.has(app) && sleepAfter(services, app).seconds > 0 && store.releases.current(app)?.image && !webAutoscaled(services, app));
    for (const app of samples.keys()) if (!candidates.includes(app)) samples.delete(app);
    if (candidates.length === 0) return result;
    const kube = services.kube ?? { rawGet: () => Promise.reject(new Error('no cluster client')) };
    const answer = await askIngressApi(kube, config.ingressApi, '/metrics', { ...METRICS_READ, signal });
    if ('error' in answer) throw new Error(`the ingress's metrics (${config.ingressApi}/metrics) could not be read: ${answer.error}`);
    if (answer.status !== 200) throw new Error(`the ingress's metrics (${config.ingressApi}/metrics) answered ${answer.status}`);
    const counts = requestCounts(answer.body);
    const now = Date.now();
    for (const app of candidates) {
      if (signal.aborted) break;
      // Waking: its first requests are held, not yet counted; it is idle from its wake's end on at the earliest.
      if (waking(services, app)) {
        samples.delete(app);
        continue;
      }
      const sample = observe(samples.get(app), counts.get(traefikServiceName(namespaceFor(app), WEB, 'http')) ?? 0, now);
      samples.set(app, sample);
      if (!idleLongEnough(sample, now, sleepAfter(services, app).seconds)) continue;
      const lock = tryLockApp(services, app, 'sleep round');
      if (!lock.ok) {
        result.skipped.push(app);
        continue;
      }
      try {
        if (await putToSleep(services, app)) result.slept.push(app);
        samples.delete(app);
      } catch (err) {
        // One app's failure must not keep the others awake; the next round tries it again.
        log.warn('could not put an idle app to sleep; the next round tries again', { app, err });
      } finally {
        lock.unlock();
      }
    }
    return result;
  };
}
