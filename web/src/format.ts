// Pure formatting and parsing helpers of the dashboard: no DOM, so unit tests run them in Node.

/** How long ago `iso` was, relative to `now`: "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function age(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

/** A date for tables and tooltips, in UTC so every reader sees the same: "2026-12-03 07:11 UTC". */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The first 7 characters of a commit id, as git shows it; "—" without one. */
export function shortCommit(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 7) : '—';
}

/** Running over desired processes, "2/2"; "—" when unknown. */
export function processCount(p: { running: number; desired: number } | null | undefined): string {
  return p ? `${p.running}/${p.desired}` : '—';
}

/** A duration in ms as "850 ms", "12.4 s" or "3 min 5 s". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A byte count as "512 B", "1.5 KiB", "20.0 MiB", "1.2 GiB". */
export function bytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** What a release changed in the config, as one line: "+ NEW_KEY · ~ CHANGED · − GONE"; "" when nothing or unknown. */
export function configChangesText(c: { added: string[]; changed: string[]; removed: string[] } | null | undefined): string {
  if (!c) return '';
  return [...c.added.map((k) => `+ ${k}`), ...c.changed.map((k) => `~ ${k}`), ...c.removed.map((k) => `− ${k}`)].join(' · ');
}

/** Appends lines to a buffer and keeps only the last `max` (the live logs' bound); returns a new array. */
export function appendBounded<T>(buffer: readonly T[], more: readonly T[], max: number): T[] {
  const all = buffer.length + more.length <= max ? [...buffer, ...more] : [...buffer, ...more].slice(-max);
  return all;
}

/**
 * The page to go to after login, from `?next=`: only a path on this site ("/apps/x?y"), never
 * another origin ("//evil.example", "/\\evil", "https://…"), so the login link cannot redirect away.
 */
export function safeNext(raw: string | null | undefined, fallback = '/apps'): string {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return fallback;
  if (/[\u0000-\u001f\\]/.test(raw)) return fallback;
  if (raw === '/login' || raw.startsWith('/login?') || raw.startsWith('/login#')) return fallback;
  return raw;
}

/** The one-time code in a login link's fragment (`#code=…`), or undefined. */
export function codeFromHash(hash: string): string | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const code = params.get('code');
  return code ? code : undefined;
}

/** The API's one-sentence error from a response body, or a sentence naming the status when it has none. */
export function errorMessage(status: number, body: unknown): string {
  const m = (body as { error?: { message?: unknown } } | null)?.error?.message;
  if (typeof m === 'string' && m.trim() !== '') return m;
  if (status === 0) return 'The Slipway server could not be reached; check your connection and try again.';
  return `The Slipway server answered HTTP ${status} without an explanation.`;
}

/** Whether a job status is final (its event stream has ended or will end). */
export function jobDone(status: string): boolean {
  return ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(status);
}

/** A database's state in a word: "ready" when it accepts connections, else what the cluster says ("Pending", "absent"…). */
export function databaseState(a: { ready: boolean; state: string }): string {
  return a.ready ? 'ready' : a.state || 'unknown';
}

/** A restore drill as the API gives it (server/shapes/data.ts DrillSchema). */
interface DrillLike { at: string; ok: boolean; step: string | null; message: string | null; rpoS: number | null; rtoMs: number | null }

/** A database with no verified restore in this long is overdue (doctor's 26 h). */
const RESTORE_STALE_MS = 26 * 3_600_000;

/**
 * A database's last verified restore in a line and a tone: "ok, 3 h ago, RPO 41 s, RTO 38 s"
 * (tone ok; warn past 26 h), the newest drill's failed step when it failed ("failed at verify,
 * 5 min ago: …", tone bad), or "never" (tone none).
 */
export function restoreSummary(last: DrillLike | null, verified: DrillLike | null, now: number = Date.now()): { text: string; tone: 'ok' | 'warn' | 'bad' | 'none' } {
  if (last && !last.ok) {
    const since = verified ? `; last ok ${age(verified.at, now)}` : '';
    return { text: `failed at ${last.step ?? 'restore'}, ${age(last.at, now)}${last.message ? `: ${last.message}` : ''}${since}`, tone: 'bad' };
  }
  if (!verified) return { text: 'never', tone: 'none' };
  const rpo = verified.rpoS === null ? 'RPO unknown (no heartbeat yet)' : `RPO ${Math.round(verified.rpoS)} s`;
  const rto = verified.rtoMs === null ? 'RTO unknown' : `RTO ${Math.round(verified.rtoMs / 1000)} s`;
  const stale = now - Date.parse(verified.at) >= RESTORE_STALE_MS;
  return { text: `ok, ${age(verified.at, now)}, ${rpo}, ${rto}`, tone: stale ? 'warn' : 'ok' };
}
