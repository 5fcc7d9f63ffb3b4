import { now, type Db } from './db.ts';

/** What started a wake: a request to the app's host (held by the waker), ps:wake, or a deploy or scale that brought instances back. */
export type WakeTrigger = 'request' | 'ps:wake' | 'deploy';

/** One wake of a sleeping app: since when it slept, when the wake began, what began it, and how long until an instance was ready (null while waking, or when it failed: `error`). */
export interface Wake {
  id: number;
  app: string;
  asleepSince: string;
  startedAt: string;
  trigger: WakeTrigger;
  readyMs: number | null;
  error: string | null;
}

interface WakeRow { id: number; app: string; asleep_since: string; started_at: string; trigger: WakeTrigger; ready_ms: number | null; error: string | null }

const toWake = (r: WakeRow): Wake => ({ id: r.id, app: r.app, asleepSince: r.asleep_since, startedAt: r.started_at, trigger: r.trigger, readyMs: r.ready_ms, error: r.error });

/** Wakes kept per app: the newest ones (older ones go as new ones come). */
export const WAKES_KEPT = 50;

/** Each app's sleep setting (ps:sleep), whether it sleeps now, and its wakes. */
export function sleepStore(db: Db) {
  return {
    /** ps:sleep --after: seconds without a request before the app sleeps; null: its default; 0: never. */
    after: (app: string): number | null =>
      db.prepare<[string], { sleep_seconds: number | null }>('SELECT sleep_seconds FROM apps WHERE name = ?').get(app)?.sleep_seconds ?? null,
    setAfter: (app: string, seconds: number | null): void => {
      db.prepare('UPDATE apps SET sleep_seconds = ? WHERE name = ?').run(seconds, app);
    },
    /** Since when the app sleeps (ISO time), or null while it is awake. */
    asleepSince: (app: string): string | null =>
      db.prepare<[string], { asleep_since: string | null }>('SELECT asleep_since FROM apps WHERE name = ?').get(app)?.asleep_since ?? null,
    /** Every sleeping app and since when. */
    asleep: (): { app: string; since: string }[] =>
      db.prepare<[], { name: string; asleep_since: string }>('SELECT name, asleep_since FROM apps WHERE asleep_since IS NOT NULL ORDER BY name').all().map((r) => ({ app: r.name, since: r.asleep_since })),
    /** Records that the app sleeps from now (or `at`). */
    fellAsleep: (app: string, at: string = now()): void => {
      db.prepare('UPDATE apps SET asleep_since = ? WHERE name = ?').run(at, app);
    },
    /** Takes back fellAsleep when putting the app to sleep did not happen (no wake is recorded). */
    notAsleep: (app: string): void => {
      db.prepare('UPDATE apps SET asleep_since = NULL WHERE name = ?').run(app);
    },
    /** Records a wake beginning (the app no longer counts as asleep) and returns its id; undefined when the app was not asleep. */
    wakeStarted: (app: string, trigger: WakeTrigger): number | undefined =>
      db.transaction(() => {
        const since = db.prepare<[string], { asleep_since: string | null }>('SELECT asleep_since FROM apps WHERE name = ?').get(app)?.asleep_since;
        if (!since) return undefined;
        db.prepare('UPDATE apps SET asleep_since = NULL WHERE name = ?').run(app);
        const id = Number(db.prepare('INSERT INTO wakes (app, asleep_since, started_at, trigger) VALUES (?, ?, ?, ?)').run(app, since, now(), trigger).lastInsertRowid);
        db.prepare('DELETE FROM wakes WHERE app = ? AND id NOT IN (SELECT id FROM wakes WHERE app = ? ORDER BY id DESC LIMIT ?)').run(app, app, WAKES_KEPT);
        return id;
      }).immediate(),
    /** Records how a wake ended: ready after `readyMs`, or the error that stopped it. */
    wakeEnded: (id: number, end: { readyMs: number } | { error: string }): void => {
      if ('readyMs' in end) db.prepare('UPDATE wakes SET ready_ms = ? WHERE id = ?').run(Math.round(end.readyMs), id);
      else db.prepare('UPDATE wakes SET error = ? WHERE id = ?').run(end.error.slice(0, 500), id);
    },
    /** The app's newest wakes, newest first. */
    wakes: (app: string, limit = 10): Wake[] =>
      db.prepare<[string, number], WakeRow>('SELECT * FROM wakes WHERE app = ? ORDER BY id DESC LIMIT ?').all(app, limit).map(toWake),
  };
}
