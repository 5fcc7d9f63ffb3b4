// The release stage, written once for every way a release is made (push, rebuild, config change,
// rollback): record it, roll it out in place of the current one, mark how that went.
import type { TlsPlan } from '../../model.ts';
import type { Services } from '../../context.ts';
import { requireDeployer } from '../../context.ts';
import type { Deployer } from '../../deploy/deployer.ts';
import type { AppQuota, Autoscale, CronTask, DeployableRelease, HealthCheck, HealthChecks, ProcessResources, QuotaPlan, ScheduledTask } from '../../model.ts';
import { RELEASE_TYPE, RUN_PROCESS } from '../../deploy/workload.ts';
import { quantityValue } from '../../kube/quantity.ts';
import { previewPlan, quotaRefusal, storageQuantity } from '../../deploy/quota.ts';
import { previewLimit } from '../previews/preview-policy.ts';
import { UserError } from '../../errors.ts';
import { ALL_PROCESSES, type ResourceRow } from '../../store/resources.ts';
import type { AutoscaleRow } from '../../store/autoscale.ts';
import type { Transcript } from '../../output/transcript.ts';
import { configChanges, type Release } from '../../store/releases.ts';
import { defaultDomain } from '../../urls.ts';
import { log } from '../../output/log.ts';
import { mountsByType, scaleRefusal, volumesOf } from '../storage/volumes.ts';
import { databaseLimits } from '../data/resources.ts';
import { inSpan } from '../../observe/traces.ts';
import type { CanarySetting } from '../../store/canary.ts';
import { canaryBeside, canaryFor } from './canary.ts';

/**
 * Where a type's settings come from, most specific first: its own, then the app's defaults ('*').
 * One-off pods (`run`) have no type of their own and run under the main type's (`web`, else the
 * default process); the release command under its own settings, else the main type's.
 */
function settingChain(type: string, main: string | undefined): string[] {
  const via = main !== undefined && main !== type ? [main] : [];
  if (type === RUN_PROCESS) return [...via, ALL_PROCESSES];
  if (type === RELEASE_TYPE) return [type, ...via, ALL_PROCESSES];
  return [type, ALL_PROCESSES];
}

/**
 * The limits and requests of each process type: the first setting along its chain (settingChain),
 * a limit never above a ceiling an admin set anywhere along it (a deployer's own setting cannot
 * lift it), and a request never above its limit (Kubernetes refuses such a pod; an admin's lower
 * ceiling can put a deployer's request there). `capRequests: false` shows requests as set, to check them.
 */
export function resolveResources(rows: readonly ResourceRow[], types: readonly string[], main?: string, opts: { capRequests?: boolean } = {}): Record<string, ProcessResources> {
  const out: Record<string, ProcessResources> = {};
  const min = (a: string | undefined, b: string | null | undefined) => (b == null ? a : a === undefined || quantityValue(b) < quantityValue(a) ? b : a);
  for (const type of types) {
    const chain = settingChain(type, main);
    const res: ProcessResources = {};
    for (const kind of ['limit', 'reserve'] as const) {
      const pick = (field: 'memory' | 'cpu') => {
        let v: string | undefined;
        for (const p of chain) v ??= rows.find((r) => r.process === p && r.kind === kind && r[field] !== null)?.[field] ?? undefined;
        if (kind === 'limit') {
          for (const p of chain) v = min(v, rows.find((r) => r.process === p && r.kind === 'limit')?.[field === 'memory' ? 'memoryMax' : 'cpuMax']);
        } else if (opts.capRequests !== false) {
          v = min(v, v === undefined ? undefined : res.limits?.[field]);
        }
        return v;
      };
      const memory = pick('memory');
      const cpu = pick('cpu');
      if (memory || cpu) res[kind === 'limit' ? 'limits' : 'requests'] = { ...(memory ? { memory } : {}), ...(cpu ? { cpu } : {}) };
    }
    if (res.limits || res.requests) out[type] = res;
  }
  return out;
}

/** The type whose limits one-off pods run under: `web`, else the image's default process, else the first. */
export function mainType(processes: readonly { type: string; default?: boolean }[]): string | undefined {
  const types = processes.filter((p) => p.type !== RELEASE_TYPE);
  return (types.find((p) => p.type === 'web') ?? types.find((p) => p.default) ?? types[0])?.type;
}

/**
 * An app's quota plan: resource:quota's settings (or `change`, about to be stored) over the
 * SLIPWAY_APP_MAX_* defaults. A preview's is its share of its parent's (previewPlan): never above
 * the parent's, and all of the parent's previews together never above it either.
 */
export function quotaPlan(services: Pick<Services, 'config' | 'store'>, app: string, change: Partial<Pick<AppQuota, 'pods' | 'memory' | 'cpu'>> = {}): QuotaPlan {
  const { config, store } = services;
  const preview = store.previews.get(app);
  if (preview) return previewPlan(quotaPlan(services, preview.parent), preview.parent, previewLimit(store.previews.settings(preview.parent)));
  const own = store.quotas.get(app);
  const pods = change.pods ?? own?.pods ?? config.appMaxPods;
  const disk = config.containerDefaults.ephemeralStorage;
  // Unset, the scratch disk of the app's pods together follows its pod quota: raising that gives room for the pods' disk too.
  const ephemeralStorage = config.appMaxEphemeralStorage ?? (disk ? storageQuantity(pods * quantityValue(disk.limit)) : undefined);
  return {
    quota: { pods, memory: change.memory ?? own?.memory ?? config.appMaxMemory, cpu: change.cpu ?? own?.cpu ?? config.appMaxCpu, ...(ephemeralStorage ? { ephemeralStorage } : {}) },
    storage: { volumes: config.appMaxVolumes, size: config.appMaxStorage },
    runs: config.appMaxRuns,
    container: config.containerDefaults,
  };
}

/**
 * The app's warm window: ps:warm's own, else SLIPWAY_WARM_ROLLBACK's, but none for a preview: its
 * share of its parent's quota (previewPlan) holds its web instance and the one replacing it, and a
 * warm set beside them would leave no room for its release command or `run`.
 */
export function warmDefault(services: Pick<Services, 'config' | 'store'>, app: string): { seconds: number; source: 'app' | 'default' | 'preview' } {
  const own = services.store.apps.get(app)?.warmSeconds ?? null;
  if (own !== null) return { seconds: own, source: 'app' };
  return services.store.previews.get(app) ? { seconds: 0, source: 'preview' } : { seconds: services.config.warmRollbackSeconds, source: 'default' };
}

/** A release's own health checks (app.json) with the ones checks:set gave replacing the same type. */
export function mergeChecks(own: HealthChecks, set: Readonly<Record<string, readonly HealthCheck[]>>): Record<string, HealthCheck[]> {
  const out: Record<string, HealthCheck[]> = {};
  for (const type of new Set([...Object.keys(own), ...Object.keys(set)])) {
    const overrides = set[type] ?? [];
    out[type] = [...(own[type] ?? []).filter((c) => !overrides.some((o) => o.type === c.type)), ...overrides];
  }
  return out;
}

/**
 * What a release plan reads of the app besides the release itself: its formation, stopped types,
 * volumes, warm window, domains, limits, quota, checks, egress, suspended tasks and TLS. Read
 * once per change (under the app's lock nothing else changes them), then planRelease turns any
 * release of the app into what the deployer runs without reading again.
 */
export interface AppSettings {
  app: string;
  /** The formation as set (ps:scale, app.json), stopped types included. */
  formation: Record<string, number>;
  /** The types ps:stop stopped: they run 0 until ps:start. */
  stopped: readonly string[];
  volumes: ReturnType<Services['store']['volumes']['list']>;
  /** The container limits of each of the app's databases (its quota counts their pods). */
  databases: readonly { memory: string; cpu: string }[];
  /** The certificate of the databases' authority, when the app has a database. */
  dataCa: string | undefined;
  warmSeconds: number;
  domains: string[];
  resources: readonly ResourceRow[];
  quota: QuotaPlan;
  checks: Readonly<Record<string, readonly HealthCheck[]>>;
  egress: DeployableRelease['egress'];
  suspended: readonly string[];
  tls: { tls?: TlsPlan };
  /** Autoscaled process types (ps:autoscale), and the window their autoscalers wait before scaling down. */
  autoscale?: { rules: readonly AutoscaleRow[]; scaleDownSeconds: number };
}

/** The app's settings a release plan reads (AppSettings), read now. */
export function appSettings(services: Pick<Services, 'config' | 'store'>, app: string): AppSettings {
  const { store } = services;
  return {
    app,
    formation: store.formation.all(app),
    stopped: store.stopped.all(app),
    volumes: store.volumes.list(app),
    databases: store.data.list(app).map(() => databaseLimits(services, app)),
    dataCa: store.data.list(app).length ? store.data.ca(app)?.cert : undefined,
    warmSeconds: warmDefault(services, app).seconds,
    domains: [defaultDomain(services.config, app), ...store.domains.list(app)],
    resources: store.resources.all(app),
    quota: quotaPlan(services, app),
    checks: store.checks.all(app),
    egress: store.egress.list(app),
    suspended: store.cron.suspended(app),
    tls: tlsPlan(services, app),
    autoscale: { rules: store.autoscale.all(app), scaleDownSeconds: services.config.autoscaleScaleDownSeconds },
  };
}

/** Turns a stored release of the app into what the deployer runs, from settings read once (appSettings). */
export function planRelease(settings: AppSettings, r: Release): DeployableRelease {
  if (r.app !== settings.app) throw new Error(`a release of ${r.app} planned with the settings of ${settings.app}`);
  const autoscaled = autoscaleRules(settings, r.processes);
  return {
    app: r.app,
    version: r.version,
    runsAs: r.runsAs ?? undefined,
    warmSeconds: settings.warmSeconds,
    commit: r.commit,
    image: r.image ?? '',
    processes: r.processes,
    config: r.config,
    // ps:stop keeps the formation and runs 0 of the stopped types until ps:start; an autoscaled
    // type runs at least its min.
    formation: { ...settings.formation, ...Object.fromEntries(Object.entries(autoscaled).map(([t, a]) => [t, a.min])), ...Object.fromEntries(settings.stopped.map((t) => [t, 0])) },
    ...(Object.keys(autoscaled).length ? { autoscale: autoscaled } : {}),
    domains: settings.domains,
    resources: resolveResources(settings.resources, [...r.processes.map((p) => p.type), RUN_PROCESS], mainType(r.processes)),
    quota: settings.quota,
    checks: mergeChecks(r.checks ?? {}, settings.checks),
    egress: settings.egress,
    cron: scheduledTasks(settings.suspended, r.cron ?? []),
    // Volumes and mounts are the app's as of now, whichever release runs (a rollback keeps them).
    volumes: volumesOf(settings.volumes),
    mounts: mountsByType(settings.volumes, mainType(r.processes), RUN_PROCESS),
    databases: settings.databases,
    dataCa: settings.dataCa,
    ...settings.tls,
  };
}

/** The autoscaled types a release runs, by type: a stopped type (ps:stop) is outside its autoscaler until ps:start. */
function autoscaleRules(settings: AppSettings, processes: Release['processes']): Record<string, Autoscale> {
  const out: Record<string, Autoscale> = {};
  for (const a of settings.autoscale?.rules ?? []) {
    if (settings.stopped.includes(a.process) || !processes.some((p) => p.type === a.process) || a.process === RELEASE_TYPE) continue;
    out[a.process] = { min: a.min, max: a.max, ...(a.cpu !== null ? { cpu: a.cpu } : {}), ...(a.memory !== null ? { memory: a.memory } : {}), scaleDownSeconds: settings.autoscale!.scaleDownSeconds };
  }
  return out;
}

/** Turns a stored release into what the deployer runs, reading the app's settings now. */
export function deployable(services: Pick<Services, 'config' | 'store'>, r: Release): DeployableRelease {
  return planRelease(appSettings(services, r.app), r);
}

/** A release's tasks as the deployer schedules them: suspended by cron:suspend (by id) or app.json `maintenance`. */
export function scheduledTasks(suspended: readonly string[], tasks: readonly CronTask[]): ScheduledTask[] {
  return tasks.map((t) => ({ ...t, suspended: t.maintenance === true || suspended.includes(t.id) }));
}

/** The app's TLS: ACME certificates when an email is set and they are on for the app, and what was uploaded. */
function tlsPlan(services: Pick<Services, 'config' | 'store'>, app: string): { tls?: TlsPlan } {
  const uploaded = services.store.certs.uploaded(app);
  const auto = services.config.acmeEmail !== undefined && services.store.certs.auto(app);
  if (services.config.acmeEmail === undefined && uploaded.length === 0) return {};
  return { tls: { issuer: auto ? services.config.acmeIssuer : undefined, uploaded } };
}

/** What a new release runs: the image, process types and config. */
export interface ReleaseSpec {
  description: string;
  commit: string | null;
  image: string;
  processes: Release['processes'];
  config: Record<string, string>;
  /** Health checks from the pushed app.json; others keep the ones the release they copy had. */
  checks?: HealthChecks;
  /** Scheduled tasks from the pushed app.json; others keep the ones the release they copy had. */
  cron?: readonly CronTask[];
  /** The key whose push or command makes it. */
  createdBy: string;
  /** The release whose instances it runs (a rollback's target, so a warm one only takes the traffic back); absent: its own. */
  runsAs?: number;
}

/** How the release stage reports itself. */
export interface ReleaseOptions {
  transcript: Transcript;
  signal: AbortSignal;
  /** Name the release's description in its step line (`Releasing v4 (Rollback to v2)`). */
  describe?: boolean;
  /** Run the Procfile's `release` command before the rollout (pushes and config changes do). */
  runRelease?: boolean;
  /** The deployer the caller already checked (a push checks its backends once); default: the server's. */
  deployer?: Deployer;
  /** This deploy's canary (a push's `-o canary=…`; `off`: none); default: the app's (canary:set). */
  canary?: CanarySetting | 'off';
  /** Called once the canary takes its first share of the requests (a push's `-o detach` ends there). */
  onCanaryStarted?: () => void;
}

/**
 * Refuses, with one sentence and before anything is recorded or applied, a release with more
 * process types than SLIPWAY_APP_MAX_PROCESS_TYPES, with more than one instance of a type that
 * mounts a volume, or whose formation does not fit the app's quota (unless it needs no more than
 * what runs now).
 */
export function admitRelease(services: Pick<Services, 'config' | 'store'>, app: string, processes: Release['processes'], previous: Release | undefined, settings: AppSettings = appSettings(services, app)): void {
  const max = services.config.appMaxProcessTypes;
  const types = processes.filter((p) => p.type !== RELEASE_TYPE).length;
  if (types > max) throw new UserError(`This release declares ${types} process types, more than the ${max} an app may have (SLIPWAY_APP_MAX_PROCESS_TYPES); nothing was deployed.`);
  // A formation set before the first deploy (app.json) must not run two writers of a volume either.
  for (const p of processes) {
    const twoWriters = scaleRefusal(settings.volumes, app, p.type, settings.formation[p.type] ?? 0);
    if (twoWriters) throw new UserError(`${twoWriters.replace(/\.$/, '')}; nothing was deployed.`);
  }
  const draft = (r: Pick<Release, 'processes'>) => {
    const d = planRelease(settings, { ...DRAFT, app, processes: r.processes });
    return { app, processes: d.processes, formation: d.formation, resources: d.resources, mounts: d.mounts, databases: d.databases, autoscale: d.autoscale };
  };
  const refused = quotaRefusal(draft({ processes }), settings.quota, previous && draft(previous));
  if (refused) throw new UserError(`${refused.replace(/\.$/, '')}; nothing was deployed.`);
}

/**
 * The sentence refusing one more database (of `limits`) when the app's processes as they run now
 * and its databases would no longer fit its quota; undefined when they would.
 */
export function databaseRefusal(services: Pick<Services, 'config' | 'store'>, app: string, limits: { memory: string; cpu: string }): string | undefined {
  const settings = appSettings(services, app);
  const current = services.store.releases.current(app);
  const d = planRelease({ ...settings, databases: [...settings.databases, limits] }, { ...DRAFT, app, processes: current?.processes ?? [] });
  return quotaRefusal(d, settings.quota);
}

/** The fields deployable() reads besides the app and processes, for a release not yet recorded. */
const DRAFT: Omit<Release, 'app' | 'processes'> = {
  version: 0, description: '', commit: null, image: null, config: {}, checks: {}, cron: [], status: 'pending',
  createdAt: '', finishedAt: null, imageCollectedAt: null, configPrunedAt: null, createdBy: null, configChanges: null, runsAs: null,
};

/** A release made and rolled out, with the plan the deployer ran (the announcement reads it, not the store). */
export interface Released {
  release: Release;
  plan: DeployableRelease;
  /** The app's settings the plan was made from. */
  settings: AppSettings;
}

/**
 * Records a new release and rolls it out in place of the current one (which the deployer puts
 * back if the new one does not become ready). The caller holds the app's deploy lock. The app's
 * settings are read once, for the admission, the new release's plan and the previous one's.
 */
export async function releaseAndDeploy(services: Services, app: string, spec: ReleaseSpec, opts: ReleaseOptions): Promise<Released> {
  const { store } = services;
  const deployer = opts.deployer ?? requireDeployer(services);
  const previous = store.releases.current(app);
  const settings = appSettings(services, app);
  admitRelease(services, app, spec.processes, previous, settings);
  // What changed is judged against what runs now; a pruned copy (garbage collection) cannot say.
  const changes = previous && previous.configPrunedAt === null ? configChanges(previous.config, spec.config) : null;
  const release = store.releases.create({ app, ...spec, configChanges: changes });
  services.events.publish({ type: 'release', app, version: release.version });
  opts.transcript.step(`Releasing v${release.version}${opts.describe ? ` (${spec.description})` : ''}`);
  let next: DeployableRelease;
  try {
    next = planRelease(settings, release);
    if (opts.runRelease && next.processes.some((p) => p.type === RELEASE_TYPE)) {
      opts.transcript.step('Running release command');
      const started = Date.now();
      await inSpan('release', { 'slipway.app': app, 'slipway.release': release.version }, () => deployer.oneOff.releasePhase(next, { transcript: opts.transcript, signal: opts.signal }));
      log.info('release command finished', { app, version: release.version, ms: Date.now() - started });
    }
    // A canary runs beside the serving release, after the release command and before the switch.
    const canary = canaryBeside(services, deployer, next, canaryFor(services, app, opts.canary), opts.transcript, opts.signal, opts.onCanaryStarted);
    try {
      await inSpan('rollout', { 'slipway.app': app, 'slipway.release': release.version }, () => deployer.rollout.deploy(next, { previous: previous && planRelease(settings, previous), transcript: opts.transcript, signal: opts.signal, ...(canary ? { beside: canary.beside } : {}) }));
    } finally {
      await canary?.done();
    }
  } catch (err) {
    store.releases.finish(app, release.version, 'failed');
    services.events.publish({ type: 'release', app, version: release.version });
    throw err;
  }
  store.releases.finish(app, release.version, 'succeeded');
  services.events.publish({ type: 'release', app, version: release.version });
  return { release, plan: next, settings };
}
