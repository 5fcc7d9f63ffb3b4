// GET /metrics: who may scrape the platform's metrics, and the scrape itself. The counters and
// histograms are kept as things happen (server/observe/metrics.ts); what is a state rather than
// an event is read at the scrape, from memory and the store only: each app's process counts from
// the watch cache the dashboard already reads (no request to the Kubernetes API per scrape), and
// the times of the databases' last successful backups and drills.
import type { BlockList } from 'node:net';
import { cidrBlockList } from '../../cidr.ts';
import type { Services } from '../../context.ts';
import type { Identity } from '../../auth/identity.ts';
import { plainAddress } from '../../auth/session-cookie.ts';
import { log } from '../../output/log.ts';
import { UnavailableError } from '../../errors.ts';
import { exposition, setAppProcesses, setBackupTimes, type AppBackups } from '../../observe/metrics.ts';
import { allDatabases } from '../data/addons.ts';

/** The caller of GET /metrics: the identity of its token, if it sent one that is valid, and its TCP peer's address. */
export interface Scraper {
  identity: Identity | undefined;
  address: string;
}

/** Whether the caller may scrape, or the status and one sentence it is refused with. */
export type ScrapeAccess = { ok: true } | { ok: false; status: 401 | 403; message: string };

/** The addresses of SLIPWAY_METRICS_ALLOW, as a list `allowed` checks. */
export function allowList(cidrs: readonly string[]): BlockList {
  return cidrBlockList(cidrs);
}

/**
 * An admin's token (admin scope on an admin key) may scrape from anywhere; without a token, only
 * a TCP peer inside SLIPWAY_METRICS_ALLOW may (the peer itself: X-Forwarded-For is not read, or a
 * client could name an allowed address). A valid token below admin is refused even from an allowed
 * address, so what a token may do never depends on where it is used.
 */
export function scrapeAccess(allow: BlockList, who: Scraper): ScrapeAccess {
  if (who.identity) {
    if (who.identity.admin) return { ok: true };
    return { ok: false, status: 403, message: `The platform's metrics are for admins: the key ${who.identity.name}'s token has the ${who.identity.scope ?? 'read'} scope; use an admin-scope token of an admin key, or scrape from an address in SLIPWAY_METRICS_ALLOW.` };
  }
  const a = plainAddress(who.address);
  if (a && allow.check(a.address, a.family)) return { ok: true };
  return { ok: false, status: 401, message: 'The platform\'s metrics need an admin\'s token ("Authorization: Bearer TOKEN"), or a scrape from an address in SLIPWAY_METRICS_ALLOW.' };
}

/** The oldest last successful backup and drill of each app's databases (previews' are neither backed up nor drilled). */
function backupTimes(services: Pick<Services, 'store'>): Map<string, AppBackups> {
  const out = new Map<string, AppBackups>();
  for (const { app, row } of allDatabases(services, 'backedUp')) {
    const backup = Date.parse(services.store.data.lastBackupAt(app, row.name) ?? '') || 0;
    const drill = Date.parse(services.store.data.drills(app, row.name).lastOk?.at ?? '') || 0;
    const seen = out.get(app);
    out.set(app, seen ? { backup: Math.min(seen.backup, backup), drill: Math.min(seen.drill, drill) } : { backup, drill });
  }
  return out;
}

/** The metrics in Prometheus's text format, the states read now; the caller has passed scrapeAccess. */
export async function scrape(services: Pick<Services, 'store' | 'deployer'>): Promise<{ contentType: string; text: string }> {
  let apps;
  try {
    // cachedOnly: a cache that has not listed yet gives nothing rather than a list from the API.
    apps = services.deployer ? await services.deployer.runtime.overview({ certificates: false, cachedOnly: true }) : undefined;
  } catch (err) {
    // Not listed yet (the first scrape starts the watch): said by slipway_cluster_cache_synced.
    if (!(err instanceof UnavailableError)) log.warn('the process counts could not be read for a metrics scrape', { err });
  }
  setAppProcesses(apps && new Map([...apps].map(([app, r]) => [app, { desired: r.desired, ready: r.running }])));
  setBackupTimes(backupTimes(services));
  return exposition();
}
