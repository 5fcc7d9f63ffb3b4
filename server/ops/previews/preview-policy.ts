// The rules of preview apps as pure decisions, tested without a store: how many an app may have,
// how long one lives unpushed, and which of an app's previews the reconciler removes.
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import type { PreviewRow, PreviewSettings } from '../../store/previews.ts';

/** Previews an app may have unless previews:limit says otherwise. */
export const DEFAULT_PREVIEW_LIMIT = 5;
/** The most previews:limit allows an admin to set (a deployer may set up to the default). */
export const MAX_PREVIEW_LIMIT = 50;
/** How long a preview lives without a push unless previews:ttl says otherwise: 7 days. */
export const DEFAULT_PREVIEW_TTL_SECONDS = 7 * 24 * 3600;
/** The longest previews:ttl: 90 days. */
export const MAX_PREVIEW_TTL_SECONDS = 90 * 24 * 3600;
/**
 * How long a preview is safe from removal for lack of its branch after it was made or pushed:
 * git writes the ref only once the pre-receive hook (the deploy) has finished.
 */
export const BRANCH_GRACE_MS = 10 * 60_000;

/** The app's preview limit. */
export function previewLimit(s: Pick<PreviewSettings, 'maxPreviews'>): number {
  return s.maxPreviews ?? DEFAULT_PREVIEW_LIMIT;
}

/** The app's preview time to live, in seconds. */
export function previewTtl(s: Pick<PreviewSettings, 'ttlSeconds'>): number {
  return s.ttlSeconds ?? DEFAULT_PREVIEW_TTL_SECONDS;
}

/** previews:limit's value: a whole number from 0 to MAX_PREVIEW_LIMIT, above the default for admins only. */
export function parsePreviewLimit(raw: string, admin: boolean): number {
  const n = /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 0 && n <= MAX_PREVIEW_LIMIT)) throw new UserError(`${shown(raw)} is not a preview limit: use a whole number from 0 to ${MAX_PREVIEW_LIMIT}.`);
  if (n > DEFAULT_PREVIEW_LIMIT && !admin) throw new UserError(`Only admins may allow more than ${DEFAULT_PREVIEW_LIMIT} previews of an app (each is an app of its own in the cluster).`);
  return n;
}

const UNITS: Readonly<Record<string, number>> = { m: 60, h: 3600, d: 24 * 3600 };

/** previews:ttl's value (`7d`, `36h`, `90m`), in seconds: at least an hour, at most 90 days. */
export function parsePreviewTtl(raw: string): number {
  const m = /^(\d{1,5})([mhd])$/.exec(raw);
  const seconds = m ? Number(m[1]) * UNITS[m[2]!]! : NaN;
  if (!(seconds >= 3600 && seconds <= MAX_PREVIEW_TTL_SECONDS)) {
    throw new UserError(`${shown(raw)} is not a preview time to live: use minutes, hours or days (90m, 36h, 7d), from 1h to 90d.`);
  }
  return seconds;
}

/** A time to live in the largest unit that says it exactly (`7d`, `36h`, `90m`). */
export function formatPreviewTtl(seconds: number): string {
  if (seconds % UNITS.d! === 0) return `${seconds / UNITS.d!}d`;
  if (seconds % UNITS.h! === 0) return `${seconds / UNITS.h!}h`;
  return `${Math.round(seconds / 60)}m`;
}

/** The branches that deploy the app itself (git:set's, else main and master); every other branch may have a preview. */
export function deployBranches(deployBranch: string | null): string[] {
  return deployBranch ? [deployBranch] : ['main', 'master'];
}

/** The one sentence that refuses a new preview past the app's limit. */
export function limitRefusal(parent: string, limit: number): string {
  return limit === 0
    ? `${parent} allows no previews (previews:limit ${parent} is 0); nothing was deployed.`
    : `${parent} already has ${limit === 1 ? 'its 1 preview' : `its ${limit} previews`} (previews:limit ${parent}); delete a branch (git push paas :BRANCH) or raise the limit; nothing was deployed.`;
}

/** The config a new preview starts with: the parent's values of the shared keys only. */
export function sharedConfig(parentConfig: Readonly<Record<string, string>>, shared: readonly string[]): Record<string, string> {
  return Object.fromEntries(shared.filter((k) => Object.hasOwn(parentConfig, k)).map((k) => [k, parentConfig[k]!]));
}

/** When a preview was last pushed (its creation before its first deploy), in ms. */
export function lastPush(p: Pick<PreviewRow, 'pushedAt' | 'createdAt'>): number {
  return Date.parse(p.pushedAt ?? p.createdAt);
}

/** Why the reconciler removes a preview. */
export type RemovalReason = 'previews disabled' | 'branch deleted' | 'expired' | 'over the limit';

/** What the reconciler knows about one parent app when it decides. */
export interface PreviewPolicy {
  enabled: boolean;
  limit: number;
  ttlSeconds: number;
  /** The branches in the parent's repository now. */
  branches: ReadonlySet<string>;
}

/**
 * Which of a parent's previews go, and why, at time `now` (ms): all of them when previews are
 * off; those whose branch is gone (after BRANCH_GRACE_MS); those not pushed for the time to live
 * (their branch stays); and, of the rest, the least recently pushed beyond the limit.
 */
export function previewsToRemove(previews: readonly PreviewRow[], policy: PreviewPolicy, now: number): { preview: PreviewRow; reason: RemovalReason }[] {
  if (!policy.enabled) return previews.map((preview) => ({ preview, reason: 'previews disabled' as const }));
  const out: { preview: PreviewRow; reason: RemovalReason }[] = [];
  const kept: PreviewRow[] = [];
  for (const p of previews) {
    const last = lastPush(p);
    if (!policy.branches.has(p.branch) && now - last >= BRANCH_GRACE_MS) out.push({ preview: p, reason: 'branch deleted' });
    else if (now - last >= policy.ttlSeconds * 1000) out.push({ preview: p, reason: 'expired' });
    else kept.push(p);
  }
  kept.sort((a, b) => lastPush(b) - lastPush(a) || a.app.localeCompare(b.app));
  for (const p of kept.slice(policy.limit)) out.push({ preview: p, reason: 'over the limit' });
  return out;
}
