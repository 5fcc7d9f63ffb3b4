import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { UserError } from '../errors.ts';
import type { Identity, Services } from '../commands/types.ts';
import { appUrl, defaultDomain } from '../urls.ts';
import type { Transcript } from '../output/transcript.ts';
import { repoPath, setHead } from '../repos.ts';
import { log } from '../output/log.ts';
import { deployTarget, type RefUpdate } from './receive.ts';
import { extractTree, type Quarantine } from './extract.ts';
import type { Deployer, DeployableRelease } from '../deploy/deployer.ts';
import type { Builder } from '../build/builder.ts';
import type { Release } from '../store/releases.ts';

/** One push as the pre-receive hook hands it over. */
export interface PushRequest {
  app: string;
  identity: Identity;
  updates: readonly RefUpdate[];
  quarantine: Quarantine;
  transcript: Transcript;
  signal: AbortSignal;
}

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
  };
}

function stopIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new UserError('The push was cancelled (the client went away or apps:unlock ran); nothing was deployed.', { cause: signal.reason });
}

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
}

/**
 * The push, top to bottom: receive → lock → extract → build → release → deploy → announce.
 * Throwing rejects the push: git then leaves every ref as it was.
 */
export async function runPipeline(services: Services, push: PushRequest): Promise<void> {
  const { store } = services;
  const { app, transcript: t } = push;

  // receive: which branch and commit this push deploys.
  const appRow = store.apps.get(app);
  if (!appRow) throw new UserError(`App ${app} does not exist.`);
  const target = deployTarget(push.updates, appRow.deployBranch);
  const short = target.commit.slice(0, 7);
  // Said before the lock and the upload's extraction: nothing can be deployed without them.
  backendsOf(services);

  // lock: one deploy per app at a time; a second push is turned away at once.
  const unlock = lockApp(services, app, `push of ${short} by ${push.identity.name}`);
  try {
    t.step(`Deploying ${app} (${short}) from ${target.branch}`);
    await buildAndDeploy(services, {
      app, commit: target.commit, description: `Deploy ${short}`, quarantine: push.quarantine,
      by: push.identity, transcript: t, signal: push.signal,
    });
    await setHead(services.config, app, target.branch);
  } finally {
    unlock();
  }
}

/** Takes the app's deploy lock, or says who holds it and how to clear it; returns the unlock. */
export function lockApp(services: Pick<Services, 'store'>, app: string, owner: string): () => void {
  const lock = services.store.apps.lock(app, owner);
  if (!lock.ok) throw new UserError(`Another deploy of ${app} is in progress (${lock.holder}, since ${lock.since}); wait for it, or run apps:unlock ${app} if it is stuck.`);
  return () => { services.store.apps.unlock(app, owner); };
}

/** The configured builder, or a sentence saying how to set one up. */
export function requireBuilder(services: Pick<Services, 'builder'>): Builder {
  if (!services.builder) throw new UserError('This server has no builder configured: install pack and a Docker engine (see the README, "npm run testbed"), then restart Slipway.');
  return services.builder;
}

/** The configured deployer, or a sentence saying how to set one up. */
export function requireDeployer(services: Pick<Services, 'deployer'>): Deployer {
  if (!services.deployer) throw new UserError('This server has no Kubernetes cluster configured: set KUBECONFIG to a kubeconfig for your k3s cluster, then restart Slipway.');
  return services.deployer;
}

/** The configured builder and deployer, or a sentence naming the one that is missing. */
function backendsOf(services: Pick<Services, 'builder' | 'deployer'>): { builder: Builder; deployer: Deployer } {
  return { builder: requireBuilder(services), deployer: requireDeployer(services) };
}

/** extract → build → release → deploy → announce, for a push or a rebuild. */
export async function buildAndDeploy(services: Services, req: DeployRequest): Promise<void> {
  const { store, config } = services;
  const { builder, deployer } = backendsOf(services);
  const { app, transcript: t, signal } = req;
  const short = req.commit.slice(0, 7);
  stopIfAborted(signal);

  // extract: the tree, straight from git (and its quarantine during a push).
  const tree = await extractTree({ repo: repoPath(config, app), commit: req.commit, tmpRoot: config.tmpDir, quarantine: req.quarantine, signal, maxTreeBytes: config.maxTreeBytes });
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
    try {
      result = await builder.build({
        app, commit: req.commit, source: tree.path, env: appConfig, builderImage,
        tag: `build-${build.id}`, logFile: build.logFile, transcript: t, signal,
      });
    } catch (err) {
      store.builds.finish(build.id, 'failed');
      stopIfAborted(signal);
      throw err;
    }
    store.builds.finish(build.id, 'succeeded', result.image);
    stopIfAborted(signal);

    // release
    const previous = store.releases.current(app);
    const release = store.releases.create({
      app, description: req.description, commit: req.commit, image: result.image, processes: result.processes, config: appConfig,
    });
    t.step(`Releasing v${release.version}`);

    // deploy
    try {
      await deployer.deploy(deployable(services, release), { previous: previous && deployable(services, previous), transcript: t, signal });
    } catch (err) {
      store.releases.finish(app, release.version, 'failed');
      stopIfAborted(signal);
      throw err;
    }
    store.releases.finish(app, release.version, 'succeeded');

    // announce
    t.step(`Released v${release.version}`);
    t.raw(`=====> Application deployed:`);
    t.detail(appUrl(config, app));
    log.info('deployed', { app, version: release.version, commit: req.commit, by: req.by.name });
  } finally {
    // Removing thousands of files need not delay the verdict the pusher is waiting for.
    void tree.cleanup().catch((err: unknown) => log.warn('could not remove an extracted tree', { path: tree.path, err }));
  }
}

/** The builder image an app builds with: its own setting, else the global one, else SLIPWAY_BUILDER. */
export function builderFor(services: Pick<Services, 'store' | 'config'>, app: string): string {
  return services.store.apps.get(app)?.builder ?? services.store.settings.get('builder') ?? services.config.builderImage;
}
