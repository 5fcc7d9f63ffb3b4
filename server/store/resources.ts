import type { HealthCheck, CheckType, ResourceQuantities } from '../model.ts';
import { byApp, now, type Db } from './db.ts';

/** The process name resource settings for every type are stored under (Dokku's `_default_`). */
export const ALL_PROCESSES = '*';

/** Which side of a container's resources: limits (resource:limit) or requests (resource:reserve). */
export type ResourceKind = 'limit' | 'reserve';

/**
 * One stored resource setting. `memoryMax`/`cpuMax`: the ceiling an admin set (a limit set by an
 * admin is also its ceiling); a deployer may set the value at or below it, never above, and may
 * not clear the row while it has one. `maxSetBy` names the admin key.
 */
export interface ResourceRow {
  process: string; kind: ResourceKind; memory: string | null; cpu: string | null;
  memoryMax?: string | null; cpuMax?: string | null; maxSetBy?: string | null;
}

/** An app's own quota, as resource:quota set it; a null field is the SLIPWAY_APP_MAX_* default. */
export interface QuotaRow { pods: number | null; memory: string | null; cpu: string | null; setBy: string; setAt: string }

/** Per-app quotas set with resource:quota (admins only). */
export function quotasStore(db: Db) {
  return {
    get: (app: string): QuotaRow | undefined =>
      db.prepare<[string], QuotaRow>('SELECT pods, memory, cpu, set_by AS setBy, set_at AS setAt FROM quotas WHERE app = ?').get(app),
    /** Sets the given fields (the others keep their value), recording who set them. */
    set: (app: string, q: { pods?: number; memory?: string; cpu?: string }, by: string): void => {
      db.prepare(`INSERT INTO quotas (app, pods, memory, cpu, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (app) DO UPDATE SET pods = COALESCE(excluded.pods, pods), memory = COALESCE(excluded.memory, memory),
          cpu = COALESCE(excluded.cpu, cpu), set_by = excluded.set_by, set_at = excluded.set_at`)
        .run(app, q.pods ?? null, q.memory ?? null, q.cpu ?? null, by, now());
    },
    /** Puts back exactly `row` (none: the defaults), after a change that could not be applied. */
    replace: (app: string, row: QuotaRow | undefined): void => {
      db.transaction(() => {
        db.prepare('DELETE FROM quotas WHERE app = ?').run(app);
        if (row) db.prepare('INSERT INTO quotas (app, pods, memory, cpu, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)').run(app, row.pods, row.memory, row.cpu, row.setBy, row.setAt);
      }).immediate();
    },
  };
}

/** Limits and reservations per process type ('*': the app's default). */
export function resourcesStore(db: Db) {
  return {
    all: (app: string): ResourceRow[] =>
      db.prepare<[string], ResourceRow>(`SELECT process, kind, memory, cpu, memory_max AS memoryMax, cpu_max AS cpuMax, max_set_by AS maxSetBy
        FROM resources WHERE app = ? ORDER BY process, kind`).all(app),
    /** Sets the given quantities; the ones not given keep their value. */
    set: (app: string, process: string, kind: ResourceKind, q: ResourceQuantities): void => {
      db.prepare(`INSERT INTO resources (app, process, kind, memory, cpu) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (app, process, kind) DO UPDATE SET memory = COALESCE(excluded.memory, memory), cpu = COALESCE(excluded.cpu, cpu)`)
        .run(app, process, kind, q.memory ?? null, q.cpu ?? null);
    },
    /** Puts back exactly `rows` (after a change that did not roll out). */
    replace: (app: string, rows: readonly ResourceRow[]): void => {
      db.transaction(() => {
        db.prepare('DELETE FROM resources WHERE app = ?').run(app);
        const put = db.prepare('INSERT INTO resources (app, process, kind, memory, cpu, memory_max, cpu_max, max_set_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
        for (const r of rows) put.run(app, r.process, r.kind, r.memory, r.cpu, r.memoryMax ?? null, r.cpuMax ?? null, r.maxSetBy ?? null);
      }).immediate();
    },
  };
}

/** Health checks set with checks:set; they replace the release's own check of the same type. */
export function checksStore(db: Db) {
  return {
    all: (app: string): Record<string, HealthCheck[]> => {
      const out: Record<string, HealthCheck[]> = {};
      for (const r of db.prepare<[string], { process: string; spec: string }>('SELECT process, spec FROM checks WHERE app = ? ORDER BY process, type').all(app)) {
        (out[r.process] ??= []).push(JSON.parse(r.spec) as HealthCheck);
      }
      return out;
    },
    set: (app: string, process: string, check: HealthCheck): void => {
      db.prepare('INSERT INTO checks (app, process, type, spec) VALUES (?, ?, ?, ?) ON CONFLICT (app, process, type) DO UPDATE SET spec = excluded.spec')
        .run(app, process, check.type, JSON.stringify(check));
    },
    remove: (app: string, process: string, type: CheckType): void => {
      db.prepare('DELETE FROM checks WHERE app = ? AND process = ? AND type = ?').run(app, process, type);
    },
  };
}

/** Process types ps:stop scaled to 0; their formation is kept for ps:start. */
export function stoppedStore(db: Db) {
  return {
    all: (app: string): string[] => db.prepare<[string], { process: string }>('SELECT process FROM stopped WHERE app = ? ORDER BY process').all(app).map((r) => r.process),
    /** Every app's stopped types (as `all`), by app: one query for a list of apps. */
    byApp: (): Map<string, string[]> =>
      byApp(db.prepare<[], { app: string; value: string }>('SELECT app, process AS value FROM stopped ORDER BY app, process').all()),
    stop: (app: string, processes: readonly string[]): void => {
      db.transaction(() => {
        const put = db.prepare('INSERT OR IGNORE INTO stopped (app, process) VALUES (?, ?)');
        for (const p of processes) put.run(app, p);
      }).immediate();
    },
    /** Starts the given types again (all when none are given). */
    start: (app: string, processes?: readonly string[]): void => {
      if (!processes) { db.prepare('DELETE FROM stopped WHERE app = ?').run(app); return; }
      const del = db.prepare('DELETE FROM stopped WHERE app = ? AND process = ?');
      for (const p of processes) del.run(app, p);
    },
  };
}
