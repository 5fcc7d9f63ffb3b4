// The release stage, written once for every way a release is made (push, rebuild, config change,
// rollback): record it, roll it out in place of the current one, mark how that went.
import type { TlsPlan } from '../deploy/tls.ts';
import type { Services } from '../context.ts';
import { requireDeployer } from '../context.ts';
import type { DeployableRelease } from '../deploy/deployer.ts';
import type { Transcript } from '../output/transcript.ts';
import type { Release } from '../store/releases.ts';
import { defaultDomain } from '../urls.ts';

/** Turns a stored release into what the deployer runs. */
export function deployable(services: Pick<Services, 'config' | 'store'>, r: Release): DeployableRelease {
  return {
    app: r.app,
    version: r.version,
    image: r.image ?? '',
    processes: r.processes,
    config: r.config,
    formation: services.store.formation.all(r.app),
    domains: [defaultDomain(services.config, r.app), ...services.store.domains.list(r.app)],
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
}

/** How the release stage reports itself. */
export interface ReleaseOptions {
  transcript: Transcript;
  signal: AbortSignal;
  /** Name the release's description in its step line (`Releasing v4 (Rollback to v2)`). */
  describe?: boolean;
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
    await deployer.deploy(deployable(services, release), { previous: previous && deployable(services, previous), transcript: opts.transcript, signal: opts.signal });
  } catch (err) {
    store.releases.finish(app, release.version, 'failed');
    throw err;
  }
  store.releases.finish(app, release.version, 'succeeded');
  return release;
}
