import { now, type Db } from './db.ts';

/** An app's canary (canary:set): every later deploy starts its web set on a share of the requests. */
export interface CanarySetting {
  /** The canary's share of requests at each step, in percent, rising, the last one 100. */
  steps: number[];
  /** How long each step's window lasts before its verdict, in seconds. */
  stepSeconds: number;
  /** How much worse than the stable set the canary may be: its 5xx rate in percentage points, its p95 latency in ms. */
  margin: { errorPoints: number; p95Ms: number };
}

interface Row { app: string; steps: string; step_seconds: number; error_points: number; p95_ms: number; set_by: string; set_at: string }

/** Each app's canary setting (canary:set, canary:unset). */
export function canaryStore(db: Db) {
  return {
    /** The app's canary setting, undefined when it has none. */
    get: (app: string): (CanarySetting & { setBy: string; setAt: string }) | undefined => {
      const r = db.prepare<[string], Row>('SELECT * FROM canary_settings WHERE app = ?').get(app);
      return r && { steps: JSON.parse(r.steps) as number[], stepSeconds: r.step_seconds, margin: { errorPoints: r.error_points, p95Ms: r.p95_ms }, setBy: r.set_by, setAt: r.set_at };
    },
    /** Stores the app's canary setting, or removes it (null). */
    set: (app: string, setting: CanarySetting | null, by: string): void => {
      if (setting === null) {
        db.prepare('DELETE FROM canary_settings WHERE app = ?').run(app);
        return;
      }
      db.prepare(`INSERT INTO canary_settings (app, steps, step_seconds, error_points, p95_ms, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (app) DO UPDATE SET steps = excluded.steps, step_seconds = excluded.step_seconds, error_points = excluded.error_points, p95_ms = excluded.p95_ms, set_by = excluded.set_by, set_at = excluded.set_at`)
        .run(app, JSON.stringify(setting.steps), setting.stepSeconds, setting.margin.errorPoints, setting.margin.p95Ms, by, now());
    },
  };
}
