// Apps themselves: create (with its git repository), list, show, destroy, unlock a stuck deploy,
// and choose the branch whose pushes deploy.
import { UserError } from '../errors.ts';
import { appName, branchName, shown } from '../names.ts';
import { createRepo, removeLogs, removeRepo } from '../repos.ts';
import { appUrl, remotes } from '../urls.ts';
import { builderFor } from './build-and-deploy.ts';
import { breakLock, lockApp } from './lock.ts';
import { removeImages } from './collect.ts';
import { deployable } from './release.ts';
import { requireAdmin } from './access.ts';
import { reachesAllApps } from '../auth/access.ts';
import { log } from '../output/log.ts';
import type { Services } from '../context.ts';
import type { Release } from '../store/releases.ts';
import type { HostCert } from '../deploy/deployer.ts';
import type { Actor } from './actor.ts';

/** A new app's name and git remotes. */
export interface CreatedApp {
  name: string;
  gitSsh: string;
  gitHttp: string;
}

/** apps:create (admins only): the app's row and its git repository. */
export async function createApp(actor: Actor, raw: string): Promise<CreatedApp> {
  requireAdmin(actor, 'Only admins may run apps:create.');
  const app = appName(raw);
  const { store, config } = actor.services;
  if (!store.apps.create(app)) throw new UserError(`App ${shown(app)} already exists.`);
  try {
    // With no row for the name, a repo or logs of that name are what an interrupted
    // apps:destroy left behind: not an app's, so they are cleared for the new one.
    removeRepo(config, app);
    removeLogs(config, app);
    await createRepo(config, app);
  } catch (err) {
    store.apps.remove(app);
    throw new Error(`creating the repository of ${app} failed`, { cause: err });
  }
  const r = remotes(config, app);
  return { name: app, gitSsh: r.ssh, gitHttp: r.http };
}

/** An app as apps:list shows it. */
export interface AppSummary {
  name: string;
  createdAt: string;
}

/** apps:list --json: the apps the actor may use (every app for admins). */
export function listApps(actor: Actor): AppSummary[] {
  return actor.services.store.apps.list(reachesAllApps(actor.identity) ? undefined : actor.identity.name).map((a) => ({ name: a.name, createdAt: a.createdAt }));
}

/** What the deployer reports for the hosts of the running release, for appUrl; undefined without TLS. */
async function currentCerts(services: Services, current: Release | undefined): Promise<HostCert[] | undefined> {
  const { deployer } = services;
  if (!current?.image || !deployer?.certificates) return undefined;
  const d = deployable(services, current);
  if (!d.tls) return undefined;
  try {
    return await deployer.certificates(d);
  } catch (err) {
    // apps:info still answers: the URL is then shown as http, and certs APP shows the error.
    log.warn('reading certificates failed', { app: current.app, err });
    return undefined;
  }
}

/** apps:info --json. */
export interface AppInfo {
  name: string;
  createdAt: string;
  deployBranch: string;
  builder: string;
  gitSsh: string;
  gitHttp: string;
  url: string;
  release: string | null;
  image: string | null;
  lockedBy: string | null;
  access: string[];
  configVars: number;
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
export async function destroyApp(actor: Actor, raw: string, opts: { includeStorage?: boolean } = {}): Promise<{ name: string; notes: string[] }> {
  requireAdmin(actor, 'Only admins may run apps:destroy.');
  const app = appName(raw);
  const { services } = actor;
  const { store, config, deployer } = services;
  if (!store.apps.get(app)) throw new UserError(`App ${shown(app)} does not exist.`);
  const volumes = store.volumes.list(app).map((v) => v.name);
  if (volumes.length && !opts.includeStorage) {
    throw new UserError(`${app} has ${volumes.length === 1 ? 'a volume' : 'volumes'} (${volumes.join(', ')}) whose data apps:destroy would delete; nothing was destroyed: add --include-storage to delete ${volumes.length === 1 ? 'it' : 'them'} too, or storage:destroy first.`);
  }
  const notes: string[] = [];
  const unlock = lockApp(services, app, `apps:destroy by ${actor.identity.name}`);
  // The row goes last: until then a crash leaves an app that a second apps:destroy finishes
  // (each step is idempotent), never files without a row.
  try {
    if (deployer) await deployer.destroy(app);
    await removeImages(services, app, (line) => notes.push(line));
    removeRepo(config, app);
    removeLogs(config, app);
    store.apps.remove(app);
  } finally {
    unlock();
  }
  return { name: app, notes };
}

/** apps:unlock: stops a stuck deploy of the app and clears its lock; whether there was one. */
export function unlockApp(actor: Actor, app: string): { unlocked: boolean } {
  return { unlocked: breakLock(actor.services, app, actor.identity.name) };
}

/** git:set APP deploy-branch BRANCH: the branch whose pushes deploy. */
export function setDeployBranch(actor: Actor, app: string, raw: string): { deployBranch: string } {
  const branch = branchName(raw);
  actor.services.store.apps.setDeployBranch(app, branch);
  return { deployBranch: branch };
}
