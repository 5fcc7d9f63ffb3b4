// Canary releases (issue 40): an app with a canary setting (canary:set) deploys every later
// release (push, config change, rollback, apps:promote) beside the serving one: the new set of web
// instances takes a share of the requests, sticky by a cookie, rising at each step after a window
// whose verdict compares its 5xx rate and p95 latency with the stable set's (canary-rules.ts);
// a canary worse by more than the margin is aborted: every request back on the stable set in one
// write, and the deploy fails with the figures (the deployer then removes the new set and puts the
// previous release back, as for any failed rollout). canary:promote and canary:abort end it by hand.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Actor } from '../actor.ts';
import type { Services } from '../../context.ts';
import type { CanarySplit, Deployer } from '../../deploy/deployer.ts';
import type { DeployableRelease } from '../../model.ts';
import type { Transcript } from '../../output/transcript.ts';
import type { CanarySetting } from '../../store/canary.ts';
import { UserError } from '../../errors.ts';
import { log } from '../../output/log.ts';
import { DEFAULT_MARGIN, DEFAULT_STEP_SECONDS, figuresBetween, figuresText, judge, parseMargin, parseStep, parseSteps, settingText, type Figures } from './canary-rules.ts';

/** A canary as it runs now (canary APP, releases, the API). */
export interface CanaryState {
  app: string;
  /** The canary's release, and the stable one it runs beside. */
  release: number;
  stable: number;
  /** Its share of the requests now, in percent. */
  weight: number;
  /** running; promoting or aborting once decided (by a verdict or by hand). */
  state: 'running' | 'promoting' | 'aborting';
  /** The step it is at (1-based) of how many. */
  step: number;
  steps: number;
  /** When the current window ends (ISO). */
  windowEndsAt: string;
  /** The last window's figures of each set, once one window ended. */
  figures?: { stable: Figures; canary: Figures };
}

/** A running canary and how it is ended by hand. */
interface Run {
  state: CanaryState;
  /** Set by canary:promote or canary:abort (and who). */
  decision?: { action: 'promote' | 'abort'; by: string };
  /** Ends the current window now. */
  wake: () => void;
}

/** The canaries running in this server, per app (one per app: a deploy holds the app's lock). */
const running = new WeakMap<object, Map<string, Run>>();
function runsOf(services: Pick<Services, 'store'>): Map<string, Run> {
  let m = running.get(services.store);
  if (!m) running.set(services.store, (m = new Map()));
  return m;
}

/** The app's canary as it runs now, undefined when none runs. */
export function runningCanary(services: Pick<Services, 'store'>, app: string): CanaryState | undefined {
  const r = runsOf(services).get(app);
  return r && { ...r.state };
}

/** What canary:set was given, as typed. */
export interface CanaryInput {
  steps: string;
  step?: string | undefined;
  margin?: string | undefined;
}

/** The setting canary:set stores (or a push option runs once), from what was typed; one sentence when it is no such thing. */
export function canarySetting(input: CanaryInput): CanarySetting {
  return {
    steps: parseSteps(input.steps),
    stepSeconds: input.step === undefined ? DEFAULT_STEP_SECONDS : parseStep(input.step),
    margin: input.margin === undefined ? { ...DEFAULT_MARGIN } : parseMargin(input.margin),
  };
}

/** The app's canary setting and the canary running now (canary APP). */
export function canaryInfo(actor: Pick<Actor, 'services'>, app: string): { app: string; setting: CanarySetting | null; running: CanaryState | null } {
  const s = actor.services.store.canary.get(app);
  return { app, setting: s ? { steps: s.steps, stepSeconds: s.stepSeconds, margin: s.margin } : null, running: runningCanary(actor.services, app) ?? null };
}

/**
 * canary:set APP STEPS: every later deploy of the app is a canary with these steps; refused with
 * one sentence (nothing stored) when the input is bad or the deployer cannot split traffic.
 */
export function setCanary(actor: Pick<Actor, 'identity' | 'services'>, app: string, input: CanaryInput): CanarySetting {
  const setting = canarySetting(input);
  if (actor.services.deployer && !actor.services.deployer.canary) throw new UserError(`The ${actor.services.deployer.name} deployer cannot split an app's requests; canary releases need Kubernetes with Traefik.`);
  actor.services.store.canary.set(app, setting, actor.identity.name);
  return setting;
}

/** canary:unset APP: later deploys switch all traffic at once again (a canary running now goes on). Whether there was a setting. */
export function unsetCanary(actor: Pick<Actor, 'services'>, app: string): boolean {
  const had = actor.services.store.canary.get(app) !== undefined;
  actor.services.store.canary.set(app, null, '');
  return had;
}

/** canary:promote / canary:abort APP: ends the app's running canary now, by hand; one sentence when none runs. */
export function decideCanary(actor: Pick<Actor, 'identity' | 'services'>, app: string, action: 'promote' | 'abort'): CanaryState {
  const r = runsOf(actor.services).get(app);
  if (!r) throw new UserError(`No canary of ${app} is running.`);
  if (r.decision) throw new UserError(`The canary of ${app} is already ${r.decision.action === 'promote' ? 'being promoted' : 'being aborted'} (by ${r.decision.by}).`);
  r.decision = { action, by: actor.identity.name };
  r.state.state = action === 'promote' ? 'promoting' : 'aborting';
  r.wake();
  return { ...r.state };
}

/**
 * What releaseAndDeploy hands the deployer for a canary (its `beside`) and runs once the deploy
 * ended (`done`), or undefined when the deploy is no canary: `setting` (a push option's, else the
 * app's) or none, or a deployer that cannot split.
 */
export function canaryBeside(services: Services, deployer: Deployer, next: DeployableRelease, setting: CanarySetting | undefined, t: Transcript, signal: AbortSignal, onStarted?: () => void): { beside: (serving: number) => Promise<void>; done: () => Promise<void> } | undefined {
  const split = deployer.canary;
  if (!setting || !split) return undefined;
  let ran = false;
  return {
    beside: (serving) => {
      ran = true;
      return runCanary(services, split, next, serving, setting, t, signal, onStarted);
    },
    // Once the deploy ended (the web Service serves the new set, or the previous release is
    // back): the split goes, and the app's Ingresses take every request again.
    done: async () => {
      if (ran) await split.finish(next.app);
    },
  };
}

/** Runs the canary's steps beside the serving set; resolves when it is to be promoted, throws (after the abort) when not. */
async function runCanary(services: Services, split: CanarySplit, next: DeployableRelease, stable: number, setting: CanarySetting, t: Transcript, signal: AbortSignal, onStarted?: () => void): Promise<void> {
  const app = next.app;
  const runs = runsOf(services);
  const windows = setting.steps.filter((w) => w < 100);
  let wake = () => {};
  const run: Run = {
    state: { app, release: next.version, stable, weight: 0, state: 'running', step: 0, steps: setting.steps.length, windowEndsAt: new Date().toISOString() },
    wake: () => wake(),
  };
  runs.set(app, run);
  t.step(`Canary: v${next.version} beside v${stable} (${settingText(setting)})`);
  let started = false;
  try {
    for (const [i, weight] of windows.entries()) {
      if (started) await split.weigh(app, weight);
      else await split.start(next, next.version, weight);
      started = true;
      Object.assign(run.state, { weight, step: i + 1, windowEndsAt: new Date(Date.now() + setting.stepSeconds * 1000).toISOString() });
      services.events.publish({ type: 'release', app, version: next.version });
      t.detail(`v${next.version} takes ${weight} % of the requests (sticky by cookie) for ${setting.stepSeconds} s`);
      if (i === 0) onStarted?.();
      const before = await split.sample(app);
      await windowEnds(setting.stepSeconds * 1000, signal, (f) => (wake = f), () => run.decision !== undefined);
      if (signal.aborted) throw new UserError(`The deploy was cancelled during v${next.version}'s canary.`);
      if (run.decision?.action === 'promote') {
        t.detail(`Promoted by hand (${run.decision.by}) at ${weight} %`);
        break;
      }
      if (run.decision?.action === 'abort') {
        await abortNow(split, app, stable, t);
        throw new UserError(`The canary of v${next.version} was aborted by hand (${run.decision.by}) at ${weight} %; every request is back on v${stable}.`);
      }
      const after = await split.sample(app);
      const figures = { stable: figuresBetween(before.stable, after.stable), canary: figuresBetween(before.canary, after.canary) };
      run.state.figures = figures;
      const verdict = judge(figures.stable, figures.canary, setting.margin);
      const verdictAt = Date.now();
      t.detail(`Window at ${weight} %: v${next.version} ${figuresText(figures.canary)}; v${stable} ${figuresText(figures.stable)}`);
      if (!verdict.ok) {
        run.state.state = 'aborting';
        const ms = await abortNow(split, app, stable, t, verdictAt);
        log.info('canary aborted', { app, release: next.version, stable, weight, verdictAt: new Date(verdictAt).toISOString(), abortMs: ms, reasons: verdict.reasons });
        throw new UserError(`The canary of v${next.version} was aborted at ${weight} %: ${verdict.reasons.join('; ')}. Every request is back on v${stable}.`);
      }
      if (figures.canary.requests === 0) t.detail(`(no request reached v${next.version} in this window: nothing against it)`);
    }
    run.state.state = 'promoting';
    t.detail(`v${next.version} passed its canary: it takes all the requests`);
  } catch (err) {
    // Whatever stopped it (a verdict, by hand, an error reading the ingress), no request stays on the canary.
    // (What is left of the split goes once the deploy has put the previous release back: `done`.)
    if (started && run.state.state !== 'aborting') await abortNow(split, app, stable, t).catch((e: unknown) => log.error('aborting a canary failed', { app, err: e }));
    throw err;
  } finally {
    runs.delete(app);
    services.events.publish({ type: 'release', app, version: next.version });
  }
}

/** Every request back on the stable set (one write); says how long that took from the verdict; returns it in ms. */
async function abortNow(split: CanarySplit, app: string, stable: number, t: Transcript, verdictAt = Date.now()): Promise<number> {
  const { writtenAt, confirmedAt } = await split.abort(app);
  const ms = (confirmedAt ?? writtenAt) - verdictAt;
  t.detail(`Verdict at ${new Date(verdictAt).toISOString()}: every request back on v${stable} (written ${writtenAt - verdictAt} ms after the verdict${confirmedAt ? `, confirmed by the ingress ${ms} ms after it` : ''})`);
  return ms;
}

/** Waits `ms`, or less when the signal aborts or `decided` becomes true (checked when woken). */
async function windowEnds(ms: number, signal: AbortSignal, setWake: (f: () => void) => void, decided: () => boolean): Promise<void> {
  if (decided()) return;
  const ac = new AbortController();
  setWake(() => ac.abort());
  await sleep(ms, undefined, { signal: AbortSignal.any([signal, ac.signal]) }).catch(() => {});
}

/** What a deploy of the app runs as a canary: `option` (a push's `-o canary=…`), else the app's setting. */
export function canaryFor(services: Pick<Services, 'store'>, app: string, option?: CanarySetting | 'off'): CanarySetting | undefined {
  if (option === 'off') return undefined;
  if (option) return option;
  const s = services.store.canary.get(app);
  return s && { steps: s.steps, stepSeconds: s.stepSeconds, margin: s.margin };
}

/** What a push's options ask (`git push -o canary=10,50 -o detach`). */
export interface PushOptions {
  /** Its canary: steps with the app's window and margin, `off`, or undefined when none is given. */
  canary: CanarySetting | 'off' | undefined;
  /** End the push once the canary has started; its job carries on (`-o detach`). */
  detach: boolean;
}

/**
 * A push's options: `canary=STEPS` (the steps with the app's window and margin, `app`, else the
 * defaults), `canary=off`, and `detach`, which needs a canary to run; one sentence for an option
 * Slipway does not know, a bad value or a detach with no canary (the push is refused before anything runs).
 */
export function pushOptions(services: Pick<Services, 'store'>, app: string, options: readonly string[]): PushOptions {
  const setting = canaryFor(services, app);
  const out: PushOptions = { canary: undefined, detach: false };
  for (const o of options) {
    if (o === 'detach') {
      out.detach = true;
      continue;
    }
    const m = /^canary=(.*)$/s.exec(o);
    if (!m) throw new UserError(`Slipway knows two push options, canary=STEPS (git push -o canary=10,50) or canary=off, and detach (git push -o detach: the push ends once its canary has started); "${o.slice(0, 40)}" is neither, and nothing was deployed.`);
    out.canary = m[1] === 'off' ? 'off' : { steps: parseSteps(m[1]!), stepSeconds: setting?.stepSeconds ?? DEFAULT_STEP_SECONDS, margin: setting?.margin ?? { ...DEFAULT_MARGIN } };
  }
  if (out.detach && !canaryFor(services, app, out.canary)) {
    throw new UserError(`git push -o detach ends the push once its canary has started, and this deploy of ${app} runs none (canary:set ${app} 10,50,100, or -o canary=10); nothing was deployed.`);
  }
  return out;
}
