// extract → build → release → deploy → announce: what a push runs under its lock, and what
// apps:rebuild runs for the deployed commit.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { UserError } from '../../errors.ts';
import type { Services } from '../../context.ts';
import type { PushBackends } from '../../context.ts';
import type { Identity } from '../../auth/identity.ts';
import { appUrl } from '../../urls.ts';
import type { Transcript } from '../../output/transcript.ts';
import { repoPath } from '../../repos.ts';
import { log } from '../../output/log.ts';
import { extractTree, readTreeFile, scanTree } from '../../build/extract.ts';
import { parseAppJson } from '../apps/app-json.ts';
import { startAppSetup } from '../apps/app-setup.ts';
import type { Quarantine } from '../../../hooks/wire.ts';
import { releaseAndDeploy, type Released } from '../releases/release.ts';
import type { Deployer } from '../../deploy/deployer.ts';
import type { HostCert } from '../../shapes/domains.ts';
import type { DeployableRelease } from '../../model.ts';
import { replicasFor } from '../../deploy/workload.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { digestOf } from '../../gc/keep.ts';
import { observeBuild, observePushToLive, secondsSince, type Outcome } from '../../observe/metrics.ts';
import { inSpan } from '../../observe/traces.ts';
import type { CanarySetting } from '../../store/canary.ts';

/** A commit to build and deploy, under a lock the caller holds. */
export interface DeployRequest {
  app: string;
  commit: string;
  /** What the release says it is, e.g. `Deploy 3f2c1ab`. */
  description: string;
  /** Set while a push is in progress: the pushed objects are still in git's quarantine. */
  quarantine: Quarantine;
  by: Identity;
  transcript: Transcript;
  signal: AbortSignal;
  /** The builder and deployer, checked once by whoever started the walk (requireBackends). */
  backends: PushBackends;
  /** A push's start (`performance.now()` as git receive-pack started): its push-to-live is measured to the release serving. */
  startedAt?: number | undefined;
  /** This push's canary (`git push -o canary=10`; `off`: none); default: the app's. */
  canary?: CanarySetting | 'off';
  /** Called once the canary takes its first share of the requests (`git push -o detach` ends the push there). */
  onCanaryStarted?: () => void;
}

function stopIfAborted(signal: AbortSignal): void {
  if (!signal.aborted) return;
  // A reason meant for the user (the pusher's key lost the app) is said; any other is the generic one.
  const why = signal.reason instanceof UserError ? signal.reason.message.replace(/\.$/, '') : undefined;
  if (why) throw new UserError(`${why}: the push was stopped and nothing was deployed.`, { cause: signal.reason });
  throw new UserError('The push was cancelled (the client went away or apps:unlock ran); nothing was deployed.', { cause: signal.reason });
}

/** extract → build → release → deploy → announce, for a push or a rebuild; resolves with the new release's version. */
export async function buildAndDeploy(services: Services, req: DeployRequest): Promise<number> {
  const { store, config } = services;
  const { builder, deployer } = req.backends;
  const { app, transcript: t, signal } = req;
  const short = req.commit.slice(0, 7);
  const repo = sourceRepo(services, app);
  stopIfAborted(signal);

  // One listing of the tree: too large a tree, then a malformed app.json, reject the push before
  // anything is written or built.
  const source = { repo, commit: req.commit, quarantine: req.quarantine, signal };
  const appJson = parseAppJson(await readTreeFile(source, 'app.json', await scanTree(source, config.maxTreeBytes, 'app.json')));
  // A first deploy's config vars from app.json env, before the build that should see them.
  const setup = startAppSetup(services, app, appJson, t);
  // extract: the tree, straight from git (and its quarantine during a push).
  const tree = await extractTree({ ...source, tmpRoot: config.tmpDir, directory: builder.wantsDirectory })
    .catch((err: unknown) => { setup.undo(); throw err; });
  let released: Released | undefined;
  try {
    // build
    const builderImage = builderFor(services, app);
    const logDir = join(config.logsDir, app);
    mkdirSync(logDir, { recursive: true, mode: 0o700 });
    const build = store.builds.start(app, req.commit, (id) => join(logDir, `build-${id}.log`));
    t.step(`Building ${app} (${short}) with ${builderImage}`);
    // One read: the release records exactly the config the build saw.
    const appConfig = store.config.all(app);
    let result;
    let buildStart = performance.now();
    try {
      result = await services.pushes.building(() => {
        buildStart = performance.now();
        return inSpan('build', { 'slipway.app': app, 'slipway.backend': builder.name }, () => builder.build({
          app, tenant: req.by.name, commit: req.commit, source: tree.path, env: appConfig, builderImage,
          tag: `build-${build.id}`, logFile: build.logFile, maxLogBytes: config.maxBuildLogBytes, transcript: t, signal,
        }));
      }, () => t.detail('Waiting for the registry\'s garbage collection to finish'));
      observeBuild(builder.name, 'succeeded', secondsSince(buildStart));
    } catch (err) {
      const outcome: Outcome = signal.aborted ? 'cancelled' : 'failed';
      observeBuild(builder.name, outcome, secondsSince(buildStart));
      store.builds.finish(build.id, 'failed');
      stopIfAborted(signal);
      throw err;
    }
    try {
      await refuseLargeImage(services, app, result.digest);
    } catch (err) {
      store.builds.finish(build.id, 'failed', result.image);
      throw err;
    }
    store.builds.finish(build.id, 'succeeded', result.image);
    stopIfAborted(signal);

    // release → deploy
    setup.applyFormation(result.processes);
    let released;
    try {
      released = await releaseAndDeploy(services, app, {
        description: req.description, commit: req.commit, image: result.image, processes: result.processes, config: appConfig, checks: appJson.checks, cron: appJson.cron, createdBy: req.by.name,
      }, { transcript: t, signal, runRelease: true, deployer, ...(req.canary ? { canary: req.canary } : {}), ...(req.onCanaryStarted ? { onCanaryStarted: req.onCanaryStarted } : {}) });
    } catch (err) {
      stopIfAborted(signal);
      throw err;
    }

    const { release, plan: running, settings } = released;
    if (req.startedAt !== undefined) observePushToLive(builder.name, secondsSince(req.startedAt));

    // announce
    t.step(`Released v${release.version}`);
    const https = await waitForHttps(services, deployer, running, signal);
    t.raw(`=====> Application deployed:`);
    t.detail(appUrl(config, app, https.certs));
    // A worker-only app (app.json formation `web: 0`, or no web type) has a URL that answers nothing.
    if (!running.processes.some((p) => p.type === 'web')) t.detail('(no web process: nothing answers at this URL)');
    else if (settings.stopped.includes('web')) t.detail(`(web is stopped: nothing answers at this URL until ps:start ${app} web)`);
    else if (replicasFor(running, 'web') === 0) t.detail(`(web is scaled to 0: nothing answers at this URL until ps:scale ${app} web=1)`);
    if (https.note) t.detail(https.note);
    log.info('deployed', { app, version: release.version, commit: req.commit, by: req.by.name });
    return release.version;
  } catch (err) {
    if (!released) setup.undo();
    throw err;
  } finally {
    // Removing thousands of files need not delay the verdict the pusher is waiting for.
    void tree.cleanup().catch((err: unknown) => log.warn('could not remove an extracted tree', { path: tree.path, err }));
  }
}

/**
 * Waits (a bounded few seconds) for the default host's certificate: once it is issued the redirect
 * is applied and the certificates are returned (appUrl then says https); otherwise also the one
 * sentence saying why HTTPS is not there yet. No certificates when the app has no TLS.
 */
async function waitForHttps(services: Services, deployer: Deployer, release: DeployableRelease, signal: AbortSignal): Promise<{ certs?: HostCert[]; note?: string }> {
  if (!release.tls) return {};
  const deadline = Date.now() + services.config.certWaitMs;
  for (;;) {
    let certs;
    try {
      certs = await deployer.tls.certificates(release);
    } catch (err) {
      log.warn('reading certificates failed', { app: release.app, err });
      return { note: `HTTPS is not ready yet: its certificate could not be read (${(err as Error).message}).` };
    }
    const [first] = certs;
    if (!first || first.state === 'none') return {};
    if (first.state === 'issued') {
      await deployer.tls.refreshTls(release);
      return { certs };
    }
    // A failed self-check is often only the solver starting: wait the whole bounded time.
    if (Date.now() >= deadline || signal.aborted) {
      return { note: `HTTPS is not ready yet: the certificate for ${first.host} is ${first.state} (${first.detail}); it is served over HTTPS once issued (see certs ${release.app}).` };
    }
    await sleep(500);
  }
}

/**
 * Refuses an image larger than SLIPWAY_MAX_IMAGE_MB, measured as the registry's manifest lists it
 * (config and compressed layers): what a node pulls and the registry's disk keeps. The refused
 * image is deleted at once unless a release of the app runs the same digest.
 */
async function refuseLargeImage(services: Services, app: string, digest: string): Promise<void> {
  const { registry, config, store } = services;
  if (!registry) return;
  const bytes = await registry.bytes(app, [digest]);
  if (bytes <= config.maxImageBytes) return;
  const mb = (n: number) => Math.ceil(n / 2 ** 20);
  if (!store.releases.all(app).some((r) => digestOf(r.image) === digest)) {
    await registry.remove(app, digest).catch((err: unknown) => log.warn('could not delete a refused image', { app, digest, err }));
  }
  throw new UserError(`The image is ${mb(bytes)} MB, more than the ${mb(config.maxImageBytes)} MB an app's image may be (SLIPWAY_MAX_IMAGE_MB); nothing was deployed.`);
}

/** The repository an app's commits are in: its own, or for a preview app (which has none) its parent's, where its branch is. */
export function sourceRepo(services: Pick<Services, 'store' | 'config'>, app: string): string {
  return repoPath(services.config, services.store.previews.get(app)?.parent ?? app);
}

/** The builder image an app builds with: its own setting, else the global one, else SLIPWAY_BUILDER. */
export function builderFor(services: Pick<Services, 'store' | 'config'>, app: string): string {
  return services.store.apps.get(app)?.builder ?? services.store.settings.get('builder') ?? services.config.builderImage;
}
