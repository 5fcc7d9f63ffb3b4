// Connecting an app to a repository elsewhere (issue 22): sync:set, sync:unset, sync:info,
// sync:webhook and sync:poll. Only settings: what a sync runs is in sync-run.ts, the webhook's
// delivery in webhook.ts, polling in sync-poll.ts.
import { randomBytes } from 'node:crypto';
import { UserError } from '../../errors.ts';
import { branchName, shown } from '../../names.ts';
import { durationSeconds } from '../../config.ts';
import { webhookUrl } from '../../urls.ts';
import { clusterRanges, ensureDeployKey, parseRemoteUrl, removeDeployKey, requireReachableByTenant } from '../../forge/remote.ts';
import type { SyncRow } from '../../store/syncs.ts';
import type { Actor } from '../actor.ts';

/** An app's sync as sync:info shows it: no secret, no key material but the public key. */
export interface SyncInfo {
  app: string;
  url: string;
  branch: string;
  /** The deploy key to add to the forge (read-only) for an SSH URL; null for HTTP(S). */
  deployKey: string | null;
  /** The webhook's address, and whether it has a secret (deliveries are refused until it has). */
  webhook: { url: string; secret: boolean };
  /** Polling interval in seconds; null: off. */
  pollSeconds: number | null;
  lastCommit: string | null;
  fetchedAt: string | null;
  lastResult: string | null;
  resultAt: string | null;
  connectedBy: string;
}

/** The sentence for an app that is not connected. */
export function notConnected(app: string): string {
  return `${app} is not connected to a repository; connect it with sync:set ${app} URL [BRANCH].`;
}

function info(actor: Pick<Actor, 'services'>, row: SyncRow): SyncInfo {
  return {
    app: row.app, url: row.url, branch: row.branch, deployKey: row.publicKey,
    webhook: { url: webhookUrl(actor.services.config, row.app), secret: row.webhookSecret !== null },
    pollSeconds: row.pollSeconds, lastCommit: row.lastCommit, fetchedAt: row.fetchedAt, lastResult: row.lastResult, resultAt: row.resultAt, connectedBy: row.setBy,
  };
}

function connected(actor: Pick<Actor, 'services'>, app: string): SyncRow {
  const row = actor.services.store.syncs.get(app);
  if (!row) throw new UserError(notConnected(app));
  return row;
}

/**
 * sync:set: connects the app to a repository and branch (default: the app's deploy branch, else
 * main). An SSH URL gets the app's deploy key (made once, ed25519). The key that runs this is the
 * one whose rights its syncs run with.
 */
export async function setSync(actor: Actor, app: string, rawUrl: string, rawBranch?: string): Promise<SyncInfo> {
  const { store, config } = actor.services;
  const preview = store.previews.get(app);
  if (preview) throw new UserError(`${app} is a preview of ${preview.parent}; it follows its branch ${preview.branch} there and cannot follow a repository.`);
  const remote = parseRemoteUrl(rawUrl);
  const branch = branchName(rawBranch ?? store.apps.get(app)?.deployBranch ?? 'main');
  await requireReachableByTenant(remote, actor.identity.admin, clusterRanges(config));
  const publicKey = remote.kind === 'ssh' ? await ensureDeployKey(config, app) : null;
  const row = store.syncs.set({ app, url: remote.url, branch, publicKey, setBy: actor.identity.name, setVia: actor.identity.via });
  return info(actor, row);
}

/** sync:unset: disconnects the app (its deploy key and webhook secret are deleted); false if it was not connected. */
export function unsetSync(actor: Actor, app: string): boolean {
  const removed = actor.services.store.syncs.remove(app);
  removeDeployKey(actor.services.config, app);
  return removed;
}

/** sync / sync:info: the app's sync, or null when it is not connected. */
export function syncInfo(actor: Actor, app: string): SyncInfo | null {
  const row = actor.services.store.syncs.get(app);
  return row ? info(actor, row) : null;
}

/**
 * sync:webhook: the webhook's address and secret, the secret made the first time (or anew with
 * `rotate`: deliveries signed with the old one are refused from then on).
 */
export function webhookSecret(actor: Actor, app: string, rotate: boolean): { url: string; secret: string; made: boolean } {
  const row = connected(actor, app);
  let secret = row.webhookSecret;
  const made = secret === null || rotate;
  if (made) {
    secret = randomBytes(32).toString('hex');
    actor.services.store.syncs.setSecret(app, secret);
  }
  return { url: webhookUrl(actor.services.config, app), secret: secret!, made };
}

/** The shortest and longest polling intervals, in seconds. */
export const MIN_POLL_SECONDS = 60;
export const MAX_POLL_SECONDS = 7 * 24 * 3600;

/** sync:poll: polls the repository every INTERVAL (`5m`, `1h`, `90s`, whole seconds; at least 1m), or not at all (`off`); the interval in seconds, or null. */
export function setPoll(actor: Actor, app: string, raw: string): number | null {
  connected(actor, app);
  const seconds = raw === 'off' ? null : durationSeconds(raw);
  if (seconds === undefined || (seconds !== null && (seconds < MIN_POLL_SECONDS || seconds > MAX_POLL_SECONDS))) {
    throw new UserError(`${shown(raw)} is not a polling interval: use a duration of at least 1m and at most 168h (90s, 5m, 1h), or off.`);
  }
  actor.services.store.syncs.setPoll(app, seconds);
  return seconds;
}
