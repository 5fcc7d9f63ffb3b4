// The release stage, written once for every way a release is made (push, rebuild, config change,
// rollback): record it, roll it out in place of the current one, mark how that went.
import type { TlsPlan } from '../deploy/deployer.ts';
import type { Services } from '../context.ts';
import { requireDeployer } from '../context.ts';
import type { DeployableRelease, HealthCheck, HealthChecks, ProcessResources } from '../deploy/deployer.ts';
import { RELEASE_TYPE } from '../deploy/workload.ts';
import { ALL_PROCESSES, type ResourceRow } from '../store/resources.ts';
import type { Transcript } from '../output/transcript.ts';
import type { Release } from '../store/releases.ts';
import { defaultDomain } from '../urls.ts';
import { log } from '../output/log.ts';

/** The limits and requests of each process type: its own settings over the app's defaults ('*'). */
export function resolveResources(rows: readonly ResourceRow[], types: readonly string[]): Record<string, ProcessResources> {
  const out: Record<string, ProcessResources> = {};
  for (const type of types) {
    const res: ProcessResources = {};
    for (const kind of ['limit', 'reserve'] as const) {
      const pick = (field: 'memory' | 'cpu') =>
        rows.find((r) => r.process === type && r.kind === kind && r[field] !== null)?.[field] ?? rows.find((r) => r.process === ALL_PROCESSES && r.kind === kind && r[field] !== null)?.[field] ?? undefined;
      const memory = pick('memory');
      const cpu = pick('cpu');
      if (memory || cpu) res[kind === 'limit' ? 'limits' : 'requests'] = { ...(memory ? { memory } : {}), ...(cpu ? { cpu } : {}) };
    }
    if (res.limits || res.requests) out[type] = res;
  }
  return out;
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

/** Turns a stored release into what the deployer runs. */
export function deployable(services: Pick<Services, 'config' | 'store'>, r: Release): DeployableRelease {
  const { store } = services;
  // ps:stop keeps the formation and runs 0 of the stopped types until ps:start.
  const formation = { ...store.formation.all(r.app), ...Object.fromEntries(store.stopped.all(r.app).map((t) => [t, 0])) };
  return {
    app: r.app,
    version: r.version,
    commit: r.commit,
    image: r.image ?? '',
    processes: r.processes,
    config: r.config,
    formation,
    domains: [defaultDomain(services.config, r.app), ...store.domains.list(r.app)],
    resources: resolveResources(store.resources.all(r.app), r.processes.map((p) => p.type)),
    checks: mergeChecks(r.checks ?? {}, store.checks.all(r.app)),
    egress: store.egress.list(r.app),
    ...tlsPlan(services, r.app),
  };
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
}

/** How the release stage reports itself. */
export interface ReleaseOptions {
  transcript: Transcript;
  signal: AbortSignal;
  /** Name the release's description in its step line (`Releasing v4 (Rollback to v2)`). */
  describe?: boolean;
  /** Run the Procfile's `release` command before the rollout (pushes and config changes do). */
  runRelease?: boolean;
}

/**
 * Records a new release and rolls it out in place of the current one (which the deployer puts
 * back if the new one does not become ready). The caller holds the app's deploy lock.
 */
export async function releaseAndDeploy(services: Services, app: string, spec: ReleaseSpec, opts: ReleaseOptions): Promise<Release> {
  const { store } = services;
  const deployer = requireDeployer(services);
  const previous = store.releases.current(app);
  const release = store.releases.create({ app, ...spec });
  opts.transcript.step(`Releasing v${release.version}${opts.describe ? ` (${spec.description})` : ''}`);
  try {
    const next = deployable(services, release);
    if (opts.runRelease && next.processes.some((p) => p.type === RELEASE_TYPE)) {
      opts.transcript.step('Running release command');
      const started = Date.now();
      await deployer.releasePhase(next, { transcript: opts.transcript, signal: opts.signal });
      log.info('release command finished', { app, version: release.version, ms: Date.now() - started });
    }
    await deployer.deploy(next, { previous: previous && deployable(services, previous), transcript: opts.transcript, signal: opts.signal });
  } catch (err) {
    store.releases.finish(app, release.version, 'failed');
    throw err;
  }
  store.releases.finish(app, release.version, 'succeeded');
  return release;
}
