// Apps that sleep at zero (issue 40): ps:sleep APP --after 30m stops an app's web instances once
// the ingress has counted no request to it for that long (the `sleep` round), and the waker holds
// the next request to its host while this wakes it. Previews sleep by default
// (SLIPWAY_PREVIEW_SLEEP_AFTER); apps only when told.
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import type { Services } from '../../context.ts';
import { requireDeployer } from '../../context.ts';
import { MAX_SLEEP_SECONDS, formatWarmWindow, parseSleepAfter } from '../../config.ts';
import type { SleepWake, WebTarget } from '../../deploy/deployer.ts';
import type { Wake, WakeTrigger } from '../../store/sleep.ts';
import { log } from '../../output/log.ts';
import { recordAfter } from '../audit/recorder.ts';
import { deployable } from '../releases/release.ts';
import { deployedRelease } from '../rollout.ts';
import type { Actor } from '../actor.ts';

/** An app's idle time before it sleeps and where it comes from: its own (ps:sleep), a preview's default, or none. */
export interface SleepAfter {
  seconds: number;
  source: 'app' | 'preview' | 'default';
}

/** What ps:sleep shows: the idle time, since when the app sleeps (null: awake), its newest wakes. */
export interface SleepState extends SleepAfter {
  asleepSince: string | null;
  wakes: Wake[];
}

/** How long a woken app's instances are handed to requests still sent to the waker, without asking the cluster again. */
const RECENT_WAKE_MS = 15_000;

/** The app's idle time: ps:sleep's own, else SLIPWAY_PREVIEW_SLEEP_AFTER for a preview, else none. */
export function sleepAfter(services: Pick<Services, 'config' | 'store'>, app: string): SleepAfter {
  const own = services.store.sleep.after(app);
  return own !== null ? { seconds: own, source: 'app' } : sleepDefault(services, app);
}

/** The idle time an app has without its own: SLIPWAY_PREVIEW_SLEEP_AFTER for a preview, none for an app. */
function sleepDefault(services: Pick<Services, 'config' | 'store'>, app: string): SleepAfter {
  return services.store.previews.get(app) ? { seconds: services.config.previewSleepSeconds, source: 'preview' } : { seconds: 0, source: 'default' };
}

/** An idle time as given (ps:sleep's word, or seconds through the API): seconds, null for `default`; one sentence otherwise. */
export function sleepSeconds(given: string | number): number | null {
  if (given === 'default') return null;
  const seconds = typeof given === 'number'
    ? (Number.isInteger(given) && given >= 0 && given <= MAX_SLEEP_SECONDS ? given : undefined)
    : parseSleepAfter(given);
  if (seconds === undefined) throw new UserError(`${shown(String(given))} is not an idle time; give seconds (1800) or a duration like 90s, 30m, 2h or 1d (at most 30d), 0 to never sleep, or default.`);
  return seconds;
}

/** An idle time in words (`30m`, `off`). */
export function formatSleepAfter(seconds: number): string {
  return seconds > 0 && seconds % 86_400 === 0 ? `${seconds / 86_400}d` : formatWarmWindow(seconds);
}

/** The deployer's sleep port and the waker's address, or one sentence saying which is missing. */
function sleepBackend(services: Pick<Services, 'config' | 'deployer'>): { port: SleepWake; waker: { address: string; port: number } } {
  const deployer = requireDeployer(services);
  if (!deployer.sleep) throw new UserError(`This server's deployer (${deployer.name}) cannot put apps to sleep.`);
  if (!services.config.wakerAddress) throw new UserError('Apps cannot sleep on this server: SLIPWAY_WAKER_ADDRESS (where the ingress reaches the waker) is not set.');
  return { port: deployer.sleep, waker: { address: services.config.wakerAddress, port: services.config.wakerPort } };
}

/** ps:sleep APP: the idle time, whether the app sleeps, its newest wakes. */
export function sleepState(actor: Pick<Actor, 'services'>, app: string): SleepState {
  const { store } = actor.services;
  return { ...sleepAfter(actor.services, app), asleepSince: store.sleep.asleepSince(app), wakes: store.sleep.wakes(app) };
}

/**
 * ps:sleep APP --after DURATION: stores the app's idle time (`default`: a preview's default, or
 * never). Turning sleep off wakes the app if it sleeps. Setting one needs the waker configured.
 */
export async function setSleepAfter(actor: Actor, app: string, given: string | number): Promise<SleepState & { woke: boolean }> {
  const { services } = actor;
  const seconds = sleepSeconds(given);
  const effective = seconds ?? sleepDefault(services, app).seconds;
  if (effective > 0) {
    if (webAutoscaled(services, app)) throw new UserError(`${app}'s web is autoscaled, and its autoscaler keeps at least its --min running, so it cannot sleep; ps:autoscale:off ${app} web first.`);
    sleepBackend(services);
    // Idle is what the ingress counts: without its metrics the app would never sleep.
    if (!services.config.ingressApi) throw new UserError('Apps cannot sleep on this server: SLIPWAY_INGRESS_API (where Slipway reads the ingress\'s request counts) is not set.');
  }
  services.store.sleep.setAfter(app, seconds);
  let woke = false;
  if (effective === 0 && services.store.sleep.asleepSince(app)) {
    await wakeApp(services, app, 'ps:wake', actor.signal);
    woke = true;
  }
  return { ...sleepState(actor, app), woke };
}

/** Whether the app's web type is autoscaled (ps:autoscale): its autoscaler keeps at least its min, so it never sleeps. */
export function webAutoscaled(services: Pick<Services, 'store'>, app: string): boolean {
  return services.store.autoscale.all(app).some((r) => r.process === 'web');
}

/** ps:wake APP: wakes the app now if it sleeps; resolves with the wake (null when it was awake). */
export async function wakeNow(actor: Actor, app: string): Promise<Wake | null> {
  const { services } = actor;
  deployedRelease(services, app);
  if (!services.store.sleep.asleepSince(app)) return null;
  await wakeApp(services, app, 'ps:wake', actor.signal);
  return services.store.sleep.wakes(app, 1)[0] ?? null;
}

/** A wake under way, and the last one's instances (requests the ingress still sends to the waker go there). */
interface WakeFlights {
  running: Map<string, Promise<WebTarget[]>>;
  recent: Map<string, { at: number; targets: WebTarget[] }>;
  /** Apps being put to sleep now: a wake waits for it, so that the sleep cannot stop what the wake started. */
  sleeping: Map<string, Promise<unknown>>;
}
const flightsOf = new WeakMap<object, WakeFlights>();

/** This server's wakes (one per app at a time). */
function flights(services: object): WakeFlights {
  let f = flightsOf.get(services);
  if (!f) flightsOf.set(services, f = { running: new Map(), recent: new Map(), sleeping: new Map() });
  return f;
}

/**
 * Wakes the app (its web set back at its count) and resolves with its ready instances; one wake
 * per app at a time, which every caller waits for (`signal` stops only this caller's wait). The
 * wake is recorded: since when it slept, what woke it, how long until an instance was ready.
 */
export async function wakeApp(services: Services, app: string, trigger: WakeTrigger, signal?: AbortSignal): Promise<WebTarget[]> {
  const f = flights(services);
  let flight = f.running.get(app);
  const recent = f.recent.get(app);
  if (!flight && recent && Date.now() - recent.at < RECENT_WAKE_MS && !services.store.sleep.asleepSince(app)) return recent.targets;
  if (!flight) {
    f.recent.delete(app);
    const sleeping = f.sleeping.get(app);
    flight = (sleeping ? sleeping.then(() => runWake(services, app, trigger), () => runWake(services, app, trigger)) : runWake(services, app, trigger)).finally(() => f.running.delete(app));
    f.running.set(app, flight);
  }
  if (!signal) return flight;
  return new Promise<WebTarget[]>((resolve, reject) => {
    const stop = () => reject(signal.reason);
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    flight.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}

/** One wake, recorded; on failure the app counts as asleep again (the waker still holds its Service). */
async function runWake(services: Services, app: string, trigger: WakeTrigger): Promise<WebTarget[]> {
  const { port } = sleepBackend(services);
  const release = deployable(services, deployedRelease(services, app));
  const since = services.store.sleep.asleepSince(app);
  const id = services.store.sleep.wakeStarted(app, trigger);
  const started = performance.now();
  try {
    const targets = await port.wake(release, { timeoutMs: services.config.rolloutTimeoutMs, signal: AbortSignal.timeout(services.config.rolloutTimeoutMs + 5000) });
    const readyMs = performance.now() - started;
    if (id !== undefined) {
      services.store.sleep.wakeEnded(id, { readyMs });
      log.info('woke a sleeping app', { app, trigger, readyMs: Math.round(readyMs) });
      // ps:wake's own entry is the command's (or the route's); a wake by a request or a deploy is the server's.
      if (trigger !== 'ps:wake') recordAfter(services, { actor: 'slipway', interface: 'server', action: 'wake', app, outcome: 'ok', meta: { trigger, readyMs: Math.round(readyMs) } });
      services.events.publish({ type: 'app', app, change: 'woke' });
    }
    flights(services).recent.set(app, { at: Date.now(), targets });
    return targets;
  } catch (err) {
    if (id !== undefined) {
      services.store.sleep.wakeEnded(id, { error: (err as Error).message });
      if (since) services.store.sleep.fellAsleep(app, since);
      if (trigger !== 'ps:wake') recordAfter(services, { actor: 'slipway', interface: 'server', action: 'wake', app, outcome: 'failed', meta: { trigger, error: (err as Error).message.slice(0, 300) } });
    }
    throw err;
  }
}

/**
 * Whether a wake of the app is under way: it no longer counts as asleep, but its held requests are
 * not answered (nor counted by the ingress) until an instance is ready. The sleep round must not
 * put it back to sleep meanwhile, or the wake would wait for instances it just stopped.
 */
export function waking(services: object, app: string): boolean {
  return flights(services).running.has(app);
}

/**
 * The app a request to `host` wakes: one that sleeps, or woke a moment ago (the ingress may still
 * send its requests to the waker), whose domains include the host. Nothing else is ever reached
 * through the waker: an unknown host is one sentence.
 */
export function appForHost(services: Pick<Services, 'config' | 'store'>, host: string): string {
  const h = host.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  const candidates = new Set([...services.store.sleep.asleep().map((a) => a.app), ...flights(services).recent.keys(), ...flights(services).running.keys()]);
  for (const app of candidates) {
    const current = services.store.releases.current(app);
    if (current?.image && deployable(services, current).domains.includes(h)) return app;
  }
  throw new UserError(`No sleeping app answers at ${shown(h)}.`);
}

/** Puts the app to sleep now (the sleep round, when it was idle long enough); false when it serves nothing to stop. */
export async function putToSleep(services: Services, app: string): Promise<boolean> {
  const { port, waker } = sleepBackend(services);
  const release = deployable(services, deployedRelease(services, app));
  // Asleep before the Service points at the waker: a request that reaches the waker at once finds the app.
  services.store.sleep.fellAsleep(app);
  flights(services).recent.delete(app);
  let slept = false;
  const sleeping = port.sleep(release, waker);
  flights(services).sleeping.set(app, sleeping);
  try {
    slept = await sleeping;
  } finally {
    flights(services).sleeping.delete(app);
    if (!slept) services.store.sleep.notAsleep(app);
  }
  if (!slept) return false;
  recordAfter(services, { actor: 'slipway', interface: 'server', action: 'sleep', app, outcome: 'ok', meta: { after: sleepAfter(services, app).seconds } });
  services.events.publish({ type: 'app', app, change: 'asleep' });
  log.info('put an idle app to sleep', { app });
  return true;
}
