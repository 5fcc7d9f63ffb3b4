// Log drains (issue 39): drains, drains:add, drains:remove, drains:info, per app or, for admins,
// global (every app's lines). A drain is stored, then the collector on every node is applied with
// all drains (deploy/kube/collector.ts); when that fails the drain is taken back out (the rule
// of every stored setting: store, re-apply, undo on failure). drains:test is in drain-test.ts.
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ForbiddenError, UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { clusterRanges, isInternal } from '../../forge/remote.ts';
import { drainExporterId, type AllowedDrainAddress, type CollectorDrain } from '../../kube/collector.ts';
import type { LogCollector } from '../../deploy/deployer.ts';
import type { DrainRow } from '../../store/drains.ts';
import type { Services } from '../../context.ts';
import type { Actor } from '../actor.ts';
import type { DrainStatus, DrainView, DrainsInfo } from '../../shapes/drains.ts';
import { parseDrainUrl, parseHeaders, shownUrl, type DrainUrl } from './drain-url.ts';
import { addLog, addMetrics, type Delivery } from './delivery.ts';

/** Whose lines a drain receives: one app's, or (admins only) every app's. */
export type DrainScope = { app: string } | { global: true };

/** Drains per app (and global drains in all), so one app cannot make every node's collector large. */
export const MAX_DRAINS = 5;

export type { DrainView, DrainStatus, DrainsInfo };

const TOKEN_PREFIX = 'd.';

function view(row: DrainRow): DrainView {
  return { token: `${TOKEN_PREFIX}${row.id}`, app: row.app, url: shownUrl(row.url), headers: Object.keys(row.headers), createdBy: row.createdBy, createdAt: row.createdAt };
}

function scopeApp(scope: DrainScope): string | null {
  return 'app' in scope ? scope.app : null;
}

function requireGlobalRights(actor: Actor, scope: DrainScope): void {
  if (!('app' in scope) && !actor.identity.admin) throw new ForbiddenError('Only admins may manage global drains (--global).');
}

function requireCollector(services: Pick<Services, 'deployer' | 'config'>): LogCollector {
  const collector = services.deployer?.collector;
  if (!collector) throw new UserError('This server has no Kubernetes cluster configured, so it runs no log collector: set KUBECONFIG, then restart Slipway.');
  if (!services.config.collectorImage) throw new UserError('This server has no log collector image: set SLIPWAY_COLLECTOR_IMAGE (docs/drains.md), then restart Slipway.');
  return collector;
}

/** The drain a token (`d.…`) or URL names in the scope; one sentence when there is none. */
function find(actor: Actor, scope: DrainScope, ref: string): DrainRow {
  const rows = actor.services.store.drains.list(scopeApp(scope));
  const row = rows.find((r) => `${TOKEN_PREFIX}${r.id}` === ref || r.url === ref || shownUrl(r.url) === ref);
  const where = 'app' in scope ? scope.app : 'the global drains';
  if (!row) throw new UserError(`${shown(ref)} is not a drain of ${where}; drains ${'app' in scope ? scope.app : '--global'} lists them.`);
  return row;
}

/** drains: an app's drains, or the global ones. */
export function listDrains(actor: Actor, scope: DrainScope): DrainView[] {
  requireGlobalRights(actor, scope);
  return actor.services.store.drains.list(scopeApp(scope)).map(view);
}

/**
 * Refuses, for anyone but an admin, a drain whose host is or resolves to an address inside this
 * server's networks (loopback, private, link-local, the cluster's ranges): sync:set's rule, as
 * the collector runs inside the cluster and would otherwise send lines to its services. The
 * address checked (for a non-admin), so that drains:test connects to it and not to what a
 * second lookup answers.
 */
export async function requireOutside(actor: Actor, url: DrainUrl, resolve: (host: string) => Promise<string[]> = lookupAll): Promise<string | undefined> {
  if (actor.identity.admin) return undefined;
  let addresses: string[];
  try {
    addresses = isIP(url.host) ? [url.host] : await resolve(url.host);
  } catch (err) {
    throw new UserError(`${shown(url.host)} does not resolve, so no drain can send to it.`, { cause: err });
  }
  const inside = addresses.find((a) => isInternal(a, clusterRanges(actor.services.config)));
  if (inside !== undefined || addresses.length === 0) {
    throw new ForbiddenError(`Only an admin may add a drain to ${shown(url.host)}: it is ${inside ?? 'no address'}, an address inside this server's networks; nothing was changed.`);
  }
  return addresses[0];
}

/** drains:add: adds a drain and applies the collector; the drain, with its token. */
export async function addDrain(actor: Actor, scope: DrainScope, rawUrl: string, rawHeaders: readonly string[] = []): Promise<DrainView> {
  requireGlobalRights(actor, scope);
  const { store } = actor.services;
  const collector = requireCollector(actor.services);
  const url = parseDrainUrl(rawUrl, parseHeaders(rawHeaders));
  const app = scopeApp(scope);
  const existing = store.drains.list(app);
  if (existing.some((r) => r.url === url.url)) throw new UserError(`${app ?? 'The server'} already drains to ${shown(shownUrl(url.url))}; nothing was changed.`);
  if (existing.length >= MAX_DRAINS) throw new UserError(`${app ?? 'The server'} has ${existing.length} drains, the most it may have; remove one first (drains:remove).`);
  await requireOutside(actor, url);
  const row = store.drains.add({ id: randomUUID(), app, url: url.url, headers: url.target.kind === 'otlp' ? { ...url.target.headers } : {}, createdBy: actor.identity.name });
  try {
    await applyCollector(actor.services, collector);
  } catch (err) {
    store.drains.remove(row.id);
    throw err;
  }
  return view(row);
}

/** drains:remove: removes the drain a token or URL names and applies the collector; the drain removed. */
export async function removeDrain(actor: Actor, scope: DrainScope, ref: string): Promise<DrainView> {
  requireGlobalRights(actor, scope);
  const row = find(actor, scope, ref);
  const { store } = actor.services;
  store.drains.remove(row.id);
  const collector = actor.services.deployer?.collector;
  if (collector && actor.services.config.collectorImage) {
    try {
      await applyCollector(actor.services, collector);
    } catch (err) {
      // The collector still sends to it: the drain stays listed, to be removed again.
      store.drains.add({ id: row.id, app: row.app, url: row.url, headers: row.headers, createdBy: row.createdBy });
      throw err;
    }
  }
  return view(row);
}

/** drains:info: each drain of the scope with how its delivery goes, read from every collector pod now. */
export async function drainsInfo(actor: Actor, scope: DrainScope): Promise<DrainsInfo> {
  requireGlobalRights(actor, scope);
  const { store } = actor.services;
  const rows = store.drains.list(scopeApp(scope));
  const collector = actor.services.deployer?.collector;
  const pods = rows.length > 0 && collector ? await collector.pods() : [];
  const deliveries = new Map<string, Delivery>();
  for (const p of pods) {
    if (p.metrics !== undefined) addMetrics(deliveries, p.metrics);
    if (p.log !== undefined) addLog(deliveries, p.log);
  }
  const drains = rows.map((row): DrainStatus => {
    const d = deliveries.get(drainExporterId({ id: row.id, target: parseDrainUrl(row.url, row.headers).target }));
    const sent = d?.sent ?? 0;
    // The collector's counts start again with each pod: a count that grew, or any after a restart, is a success since the last look.
    const grew = sent > row.sentSeen || (sent > 0 && sent < row.sentSeen);
    if (sent !== row.sentSeen) store.drains.sawSent(row.id, sent, grew);
    const lastSuccessAt = grew ? new Date().toISOString() : row.lastOkAt;
    return { ...view(row), lastSuccessAt, lastError: d?.lastError ?? null, sent, failed: d?.failed ?? 0, queued: d?.queued ?? 0, dropped: d?.dropped ?? 0 };
  });
  return {
    drains,
    collector: { pods: pods.length, ready: pods.filter((p) => p.ready).length, unread: pods.filter((p) => p.error !== undefined).map((p) => `${p.pod}: ${p.error}`) },
  };
}

/** The collector's drains from the store: every drain, global ones included. */
export function collectorDrains(services: Pick<Services, 'store'>): CollectorDrain[] {
  return services.store.drains.all().map((r) => ({ id: r.id, token: `${TOKEN_PREFIX}${r.id}`, app: r.app, target: parseDrainUrl(r.url, r.headers).target }));
}

// One apply at a time in this process: each applies every drain as the store has it then, so the
// last one to finish has the newest set.
let applying: Promise<unknown> = Promise.resolve();

/** How long resolving one admin drain's name for the collector's egress policy may take. */
const RESOLVE_TIMEOUT_MS = 3_000;

/**
 * The addresses inside the server's networks that drains point at, for the collector's egress
 * policy: only drains an admin may point there (global ones, and those whose creator is an admin
 * now), each name resolved now. A tenant's drain gets none, so its name pointed at a node later
 * reaches nothing.
 */
export async function allowedDrainAddresses(services: Pick<Services, 'store' | 'config'>): Promise<AllowedDrainAddress[]> {
  const cluster = clusterRanges(services.config);
  const out: AllowedDrainAddress[] = [];
  for (const r of services.store.drains.all()) {
    if (r.app !== null && !services.store.keys.byName(r.createdBy)?.admin) continue;
    const { host, port } = drainEndpoint(parseDrainUrl(r.url, r.headers).target);
    const bare = host.replace(/^\[|\]$/g, '');
    const addresses = isIP(bare) ? [bare] : await withTimeout(lookupAll(bare), RESOLVE_TIMEOUT_MS).catch(() => [] as string[]);
    for (const address of addresses) if (isInternal(address, cluster)) out.push({ address, port });
  }
  return out;
}

/** The host and TCP port a drain's lines are sent to. */
function drainEndpoint(t: CollectorDrain['target']): { host: string; port: number } {
  if (t.kind === 'syslog') return { host: t.host, port: t.port };
  const u = new URL(t.endpoint);
  return { host: u.hostname, port: u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80 };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); })]).finally(() => clearTimeout(timer));
}

/** Applies the collector with every drain in the store (none: it is removed). */
export function applyCollector(services: Pick<Services, 'store' | 'config'>, collector: LogCollector): Promise<void> {
  const run = applying.catch(() => undefined).then(async () => collector.apply(collectorDrains(services), {
    image: services.config.collectorImage ?? '', podLogs: services.config.collectorPodLogs, stateDir: services.config.collectorStateDir, eventsDir: services.config.collectorEventsDir,
  }, await allowedDrainAddresses(services)));
  applying = run;
  return run;
}

async function lookupAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}
