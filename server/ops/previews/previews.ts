// Preview apps of an app's branches, as operations: turn them on and off, choose the config keys
// they share, their limit and time to live, and list them. Deploying and removing them is the
// push's (preview-deploy.ts), expiring them the reconciler's (preview-reconcile.ts).
import { UserError } from '../../errors.ts';
import { configKey } from '../../names.ts';
import { appUrl } from '../../urls.ts';
import type { Actor } from '../actor.ts';
import { formatPreviewTtl, lastPush, parsePreviewLimit, parsePreviewTtl, previewLimit, previewTtl } from './preview-policy.ts';
import { reconcileParent, type PreviewRemoval } from './preview-reconcile.ts';
import { forkRefusal } from '../data/preview-fork.ts';

/** previews:config --json: whether previews are on, their limit, time to live and shared keys. */
export interface PreviewSettingsView {
  app: string;
  enabled: boolean;
  limit: number;
  ttl: string;
  sharedKeys: string[];
  /** Whether a new preview's Postgres databases are copies of the app's latest backups (--fork-db) instead of empty. */
  forkDb: boolean;
}

/** A preview as `previews APP` lists it. */
export interface PreviewView {
  app: string;
  branch: string;
  commit: string | null;
  url: string;
  pushedAt: string | null;
  /** Seconds since its last push (since it was made, before its first deploy). */
  ageSeconds: number;
}

/** Refuses a preview app as the app whose previews are meant: previews have no branches of their own. */
function parentApp(actor: Actor, app: string): string {
  const row = actor.services.store.previews.get(app);
  if (row) throw new UserError(`${app} is a preview of ${row.parent}; manage previews on ${row.parent}.`);
  return app;
}

/** previews:config with no change. */
export function previewSettings(actor: Actor, raw: string): PreviewSettingsView {
  const app = parentApp(actor, raw);
  const s = actor.services.store.previews.settings(app);
  return { app, enabled: s.enabled, limit: previewLimit(s), ttl: formatPreviewTtl(previewTtl(s)), sharedKeys: s.sharedKeys, forkDb: s.forkDb };
}

/**
 * previews:config --fork-db / --no-fork-db: whether a new preview's Postgres databases are
 * restored from the app's latest backups instead of starting empty. Turning it on is refused in one
 * sentence while a Postgres database of the app has no backup yet (or it has none). Previews made
 * already keep their databases.
 */
export function setPreviewForkDb(actor: Actor, raw: string, on: boolean): PreviewSettingsView {
  const app = parentApp(actor, raw);
  if (on) {
    const refusal = forkRefusal(actor.services, app);
    if (refusal) throw new UserError(refusal);
  }
  actor.services.store.previews.configure(app, { forkDb: on });
  return previewSettings(actor, app);
}

/** previews:enable: pushes of other branches deploy previews from now on. */
export function enablePreviews(actor: Actor, raw: string): PreviewSettingsView {
  const app = parentApp(actor, raw);
  actor.services.store.previews.configure(app, { enabled: true });
  return previewSettings(actor, app);
}

/** previews:disable: other branches are refused again, and every preview of the app is destroyed now (their branches stay). */
export async function disablePreviews(actor: Actor, raw: string): Promise<PreviewRemoval[]> {
  const app = parentApp(actor, raw);
  actor.services.store.previews.configure(app, { enabled: false });
  return reconcileParent(actor.services, app);
}

/**
 * previews:config --share/--unshare: the config keys a new preview copies from the app; every
 * other key stays out. Keys already shared, or not shared, are no error.
 */
export function sharePreviewKeys(actor: Actor, raw: string, change: { share?: readonly string[]; unshare?: readonly string[] }): PreviewSettingsView {
  const app = parentApp(actor, raw);
  const share = (change.share ?? []).map(configKey);
  const unshare = new Set((change.unshare ?? []).map(configKey));
  const both = share.find((k) => unshare.has(k));
  if (both !== undefined) throw new UserError(`${both} is both shared and unshared; do one or the other.`);
  const { store } = actor.services;
  const keys = new Set(store.previews.settings(app).sharedKeys);
  for (const k of share) keys.add(k);
  for (const k of unshare) keys.delete(k);
  store.previews.configure(app, { sharedKeys: [...keys].sort() });
  return previewSettings(actor, app);
}

/** previews:limit: how many previews the app may have; beyond a lowered one the least recently pushed are destroyed now. */
export async function setPreviewLimit(actor: Actor, raw: string, value: string): Promise<{ settings: PreviewSettingsView; removed: PreviewRemoval[] }> {
  const app = parentApp(actor, raw);
  const limit = parsePreviewLimit(value, actor.identity.admin);
  actor.services.store.previews.configure(app, { maxPreviews: limit });
  return { settings: previewSettings(actor, app), removed: await reconcileParent(actor.services, app) };
}

/** previews:ttl: how long a preview lives without a push; those older than a shortened one are destroyed now (branches kept). */
export async function setPreviewTtl(actor: Actor, raw: string, value: string): Promise<{ settings: PreviewSettingsView; removed: PreviewRemoval[] }> {
  const app = parentApp(actor, raw);
  const seconds = parsePreviewTtl(value);
  actor.services.store.previews.configure(app, { ttlSeconds: seconds });
  return { settings: previewSettings(actor, app), removed: await reconcileParent(actor.services, app) };
}

/** previews APP --json: each preview's branch, commit, URL and age. */
export function listPreviews(actor: Actor, raw: string, now: number = Date.now()): PreviewView[] {
  const app = parentApp(actor, raw);
  const { store, config } = actor.services;
  return store.previews.list(app).map((p) => ({
    app: p.app,
    branch: p.branch,
    commit: p.commit,
    url: appUrl(config, p.app),
    pushedAt: p.pushedAt,
    ageSeconds: Math.max(0, Math.floor((now - lastPush(p)) / 1000)),
  }));
}
