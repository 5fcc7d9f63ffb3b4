// Apps themselves: create (with its git repository), list, show, destroy, unlock a stuck deploy,
// and choose the branch whose pushes deploy.
import { UserError } from '../../errors.ts';
import { appName, branchName, PREVIEW_SEPARATOR, shown } from '../../names.ts';
import { createRepo, removeLogs, removeRepo } from '../../repos.ts';
import { removeDeployKey } from '../../forge/remote.ts';
import { appUrl, defaultDomain, remotes } from '../../urls.ts';
import { builderFor } from '../builds/build-and-deploy.ts';
import { breakLock, lockApp } from '../lock.ts';
import { destroyPreview, teardownApp } from './teardown.ts';
import { deployable } from '../releases/release.ts';
import { requireAdmin } from '../access.ts';
import { reachesAllApps } from '../../auth/access.ts';
import { log } from '../../output/log.ts';
import type { Services } from '../../context.ts';
import type { Release } from '../../store/releases.ts';
import type { AppRuntime } from '../../deploy/deployer.ts';
import type { HostCert } from '../../shapes/domains.ts';
import type { JobRow } from '../../store/jobs.ts';
import { RELEASE_TYPE, replicasFor } from '../../deploy/workload.ts';
import type { Actor } from '../actor.ts';
import type { AppInfo, AppState, AppSummary, CreatedApp, DestroyedApp, LastDeploy, Unlocked } from '../../shapes/apps.ts';

/** apps:create (admins only): the app's row and its git repository. */
export async function createApp(actor: Actor, raw: string): Promise<CreatedApp> {
  requireAdmin(actor, 'Only admins may run apps:create.');
  const app = appName(raw);
  // Preview apps are named PARENT--BRANCH-HASH: an app of such a name could take a preview's.
  if (app.includes(PREVIEW_SEPARATOR)) throw new UserError(`${shown(app)} has "${PREVIEW_SEPARATOR}" in it, which names preview apps (APP${PREVIEW_SEPARATOR}BRANCH-HASH); choose another app name.`);
  const { store, config } = actor.services;
  if (!store.apps.create(app)) throw new UserError(`App ${shown(app)} already exists.`);
  try {
    // With no row for the name, a repo or logs of that name are what an interrupted
    // apps:destroy left behind: not an app's, so they are cleared for the new one.
    removeRepo(config, app);
    removeLogs(config, app);
    removeDeployKey(config, app);
    await createRepo(config, app);
  } catch (err) {
    store.apps.remove(app);
    throw new Error(`creating the repository of ${app} failed`, { cause: err });
  }
  actor.services.events.publish({ type: 'app', app, change: 'created' });
  const r = remotes(config, app);
  return { name: app, gitSsh: r.ssh, gitHttp: r.http };
}

/** The job kinds that make a release: an app's newest one of these is its last deploy. */
export const DEPLOY_KINDS: readonly string[] = ['push', 'sync', 'apps:rebuild', 'rollback', 'config:set', 'config:unset'];

/**
 * The one rule for an app's state, in order: a deploy under way; the last deploy did not succeed
 * (a failed, cancelled or interrupted one); every process type stopped (ps:stop); no release yet; running.
 */
export function appState(s: { lastDeploy: LastDeploy['result'] | undefined; stopped: boolean; released: boolean }): AppState {
  if (s.lastDeploy === 'running') return 'deploying';
  if (s.lastDeploy === 'failed') return 'failed';
  if (s.stopped) return 'stopped';
  if (!s.released) return 'new';
  return 'running';
}

/** A deploy job as a last deploy, or (no job: an app deployed before jobs were kept) its running release. */
function lastDeployOf(job: JobRow | undefined, current: Release | undefined): LastDeploy | null {
  if (job) {
    const result = job.status === 'queued' || job.status === 'running' ? 'running' : job.status === 'succeeded' ? 'succeeded' : 'failed';
    return { at: job.finishedAt ?? job.startedAt ?? job.createdAt, result, release: job.release === null ? null : `v${job.release}`, jobId: job.id };
  }
  if (!current) return null;
  return { at: current.finishedAt ?? current.createdAt, result: 'succeeded', release: `v${current.version}`, jobId: null };
}

/** Instances the store asks for when the cluster cannot say: the running release's formation, stopped types at 0. */
function desiredFromStore(services: Services, current: Release): number {
  const d = deployable(services, current);
  return d.processes.filter((p) => p.type !== RELEASE_TYPE).reduce((n, p) => n + replicasFor(d, p.type), 0);
}

/**
 * apps:list --json: the apps the actor may use (every app for admins), each with its state,
 * release, URL, processes and last deploy. The cluster is asked once for all of them (not once
 * per app); when it cannot answer, the list still comes, with no instance counted as running.
 */
export async function listApps(actor: Actor): Promise<AppSummary[]> {
  const { services } = actor;
  const { store, config, deployer } = services;
  const apps = store.apps.list(reachesAllApps(actor.identity) ? undefined : actor.identity.name);
  if (apps.length === 0) return [];
  const deploys = store.jobs.newestOfKinds(DEPLOY_KINDS);
  let runtime: Map<string, AppRuntime> | undefined;
  if (deployer) {
    try {
      runtime = await deployer.runtime.overview({ certificates: config.acmeEmail !== undefined });
    } catch (err) {
      log.warn('apps:list could not read the cluster; instances are shown as not running', { err });
    }
  }
  // One query per table for every app, not one per app: a listing of many apps stays cheap.
  const currents = store.releases.currentOfAll();
  const stoppedByApp = store.stopped.byApp();
  const uploaded = store.certs.uploadedHosts();
  return apps.map((a): AppSummary => {
    const current = currents.get(a.name);
    const types = current?.processes.map((p) => p.type).filter((t) => t !== RELEASE_TYPE) ?? [];
    const stopped = stoppedByApp.get(a.name) ?? [];
    const last = lastDeployOf(deploys.get(a.name), current);
    const host = defaultDomain(config, a.name);
    const https = current?.image !== undefined && current.image !== null && (
      (uploaded.get(a.name) ?? []).includes(host)
      || (config.acmeEmail !== undefined && store.certs.auto(a.name) && (runtime?.get(a.name)?.issuedHosts.includes(host) ?? false)));
    const counted = runtime?.get(a.name);
    return {
      name: a.name,
      createdAt: a.createdAt,
      state: appState({ lastDeploy: last?.result, stopped: types.length > 0 && types.every((t) => stopped.includes(t)), released: current !== undefined }),
      release: current ? `v${current.version}` : null,
      url: appUrl(config, a.name, https ? [{ host, state: 'issued' }] : undefined),
      https,
      processes: counted ? { running: counted.running, desired: counted.desired } : { running: 0, desired: runtime || !current ? 0 : desiredFromStore(services, current) },
      lastDeploy: last,
    };
  });
}

/** What the deployer reports for the hosts of the running release, for appUrl; undefined without TLS. */
async function currentCerts(services: Services, current: Release | undefined): Promise<HostCert[] | undefined> {
  const { deployer } = services;
  if (!current?.image || !deployer) return undefined;
  const d = deployable(services, current);
  if (!d.tls) return undefined;
  try {
    return await deployer.tls.certificates(d);
  } catch (err) {
    // apps:info still answers: the URL is then shown as http, and certs APP shows the error.
    log.warn('reading certificates failed', { app: current.app, err });
    return undefined;
  }
}

/** apps:info --json: remotes, URL (https once its certificate is issued), current release, lock, access. */
export async function appInfo(actor: Actor, app: string): Promise<AppInfo> {
  const { services } = actor;
  const { store, config } = services;
  const a = store.apps.get(app);
  if (!a) throw new UserError(`App ${shown(app)} does not exist.`);
  const current = store.releases.current(a.name);
  const r = remotes(config, a.name);
  return {
    name: a.name,
    createdAt: a.createdAt,
    deployBranch: a.deployBranch ?? 'main (or master)',
    builder: builderFor(services, a.name),
    gitSsh: r.ssh,
    gitHttp: r.http,
    url: appUrl(config, a.name, await currentCerts(services, current)),
    release: current ? `v${current.version}` : null,
    image: current?.image ?? null,
    lockedBy: a.lock?.owner ?? null,
    access: store.keys.grantsOf(a.name),
    configVars: Object.keys(store.config.all(a.name)).length,
  };
}

/**
 * apps:destroy (admins only): everything the app runs, its images and cache, repository, logs,
 * and last its row; `note` hears what could not be removed (garbage collection retries it).
 * An app with volumes is destroyed only with `includeStorage`: its namespace goes, and with it
 * every claim and (reclaim policy Delete) the data; without it nothing is touched.
 */
export async function destroyApp(actor: Actor, raw: string, opts: { includeStorage?: boolean } = {}): Promise<DestroyedApp> {
  requireAdmin(actor, 'Only admins may run apps:destroy.');
  const app = appName(raw);
  const { services } = actor;
  const { store } = services;
  if (!store.apps.get(app)) throw new UserError(`App ${shown(app)} does not exist.`);
  const volumes = store.volumes.list(app).map((v) => v.name);
  if (volumes.length && !opts.includeStorage) {
    throw new UserError(`${app} has ${volumes.length === 1 ? 'a volume' : 'volumes'} (${volumes.join(', ')}) whose data apps:destroy would delete; nothing was destroyed: add --include-storage to delete ${volumes.length === 1 ? 'it' : 'them'} too, or storage:destroy first.`);
  }
  const notes: string[] = [];
  const unlock = lockApp(services, app, `apps:destroy by ${actor.identity.name}`);
  try {
    // Its previews first: their rows name it, and each is an app of its own in the cluster.
    for (const preview of store.previews.list(app)) {
      notes.push(...await destroyPreview(services, preview, `apps:destroy ${app} by ${actor.identity.name}`));
    }
    await teardownApp(services, app, (line) => notes.push(line));
  } finally {
    unlock();
  }
  return { name: app, notes };
}

/** apps:unlock: stops a stuck deploy of the app and clears its lock; whether there was one. */
export function unlockApp(actor: Actor, app: string): Unlocked {
  return { unlocked: breakLock(actor.services, app, actor.identity.name) };
}

/** git:set APP deploy-branch BRANCH: the branch whose pushes deploy. */
export function setDeployBranch(actor: Actor, app: string, raw: string): { deployBranch: string } {
  const branch = branchName(raw);
  actor.services.store.apps.setDeployBranch(app, branch);
  return { deployBranch: branch };
}
