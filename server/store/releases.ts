import type { ProcessType } from '../model.ts';
import type { CronTask, HealthChecks } from '../model.ts';
import { now, type Db } from './db.ts';
import type { Sealer } from './sealing.ts';

export type ReleaseStatus = 'pending' | 'succeeded' | 'failed';

/** Which config keys a release changed from the one it replaced: names only, never values. */
export interface ConfigChanges {
  added: string[];
  changed: string[];
  removed: string[];
}

/** The keys `after` adds, changes and removes from `before`, each sorted. */
export function configChanges(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): ConfigChanges {
  const keys = (o: object) => Object.keys(o).sort();
  return {
    added: keys(after).filter((k) => !Object.hasOwn(before, k)),
    changed: keys(after).filter((k) => Object.hasOwn(before, k) && before[k] !== after[k]),
    removed: keys(before).filter((k) => !Object.hasOwn(after, k)),
  };
}

export interface Release {
  app: string;
  version: number;
  description: string;
  commit: string | null;
  image: string | null;
  processes: ProcessType[];
  /** Config snapshot: the values this release runs with. */
  config: Record<string, string>;
  /** Health checks the release was built with (app.json `healthchecks`), by process type. */
  checks: HealthChecks;
  /** Scheduled tasks the release was built with (app.json `cron`). */
  cron: CronTask[];
  status: ReleaseStatus;
  createdAt: string;
  finishedAt: string | null;
  /** When garbage collection deleted this release's image from the registry (then it cannot run again). */
  imageCollectedAt: string | null;
  /** When garbage collection dropped this release's config copy (beyond SLIPWAY_KEEP_RELEASES); `config` is then empty. */
  configPrunedAt: string | null;
  /** The key whose push or command made it (`local` for the local CLI); null for releases made before this was recorded. */
  createdBy: string | null;
  /** Config keys changed from the release it replaced; null for an app's first release (and those made before this was recorded). */
  configChanges: ConfigChanges | null;
  /**
   * The release whose instances this one runs: a rollback runs its target's (the same image and
   * config), so a target still warm only takes the traffic back. Null: its own.
   */
  runsAs: number | null;
}

interface Row { app: string; version: number; description: string; commit_sha: string | null; image: string | null; processes: string; config: string; checks: string; cron: string; status: ReleaseStatus; created_at: string; finished_at: string | null; image_collected_at: string | null; config_pruned_at: string | null; created_by: string | null; config_changes: string | null; runs_as: number | null }
const toReleaseWith = (sealer: Sealer) => (r: Row): Release => ({
  app: r.app, version: r.version, description: r.description, commit: r.commit_sha, image: r.image,
  processes: JSON.parse(r.processes) as ProcessType[], config: JSON.parse(sealer.open(r.config, 'releases.config', [r.app, r.version])) as Record<string, string>,
  checks: JSON.parse(r.checks) as HealthChecks, cron: JSON.parse(r.cron) as CronTask[], status: r.status, createdAt: r.created_at, finishedAt: r.finished_at,
  imageCollectedAt: r.image_collected_at, configPrunedAt: r.config_pruned_at,
  createdBy: r.created_by, configChanges: r.config_changes === null ? null : JSON.parse(r.config_changes) as ConfigChanges,
  runsAs: r.runs_as,
});

/** Numbered releases (v1, v2, …): what ran, with which config (sealed, as config is), and how it went. */
export function releasesStore(db: Db, sealer: Sealer) {
  const toRelease = toReleaseWith(sealer);
  return {
    /**
     * Records a new pending release with the next version number; `configChanges` says what it
     * changes from `replaces` (the release running when it was made), given by its caller.
     */
    create: (r: { app: string; description: string; commit: string | null; image: string | null; processes: ProcessType[]; config: Record<string, string>; checks?: HealthChecks; cron?: readonly CronTask[]; createdBy?: string | null; configChanges?: ConfigChanges | null; runsAs?: number | null }): Release =>
      db.transaction(() => {
        const { v } = db.prepare<[string], { v: number }>('SELECT COALESCE(MAX(version), 0) + 1 AS v FROM releases WHERE app = ?').get(r.app)!;
        db.prepare('INSERT INTO releases (app, version, description, commit_sha, image, processes, config, checks, cron, status, created_at, created_by, config_changes, runs_as) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(r.app, v, r.description, r.commit, r.image, JSON.stringify(r.processes), sealer.seal(JSON.stringify(r.config), 'releases.config', [r.app, v]), JSON.stringify(r.checks ?? {}), JSON.stringify(r.cron ?? []), 'pending', now(), r.createdBy ?? null, r.configChanges ? JSON.stringify(r.configChanges) : null, r.runsAs ?? null);
        return toRelease(db.prepare<[string, number], Row>('SELECT * FROM releases WHERE app = ? AND version = ?').get(r.app, v)!);
      }).immediate(),
    finish: (app: string, version: number, status: Exclude<ReleaseStatus, 'pending'>): void => {
      db.prepare('UPDATE releases SET status = ?, finished_at = ? WHERE app = ? AND version = ?').run(status, now(), app, version);
    },
    get: (app: string, version: number): Release | undefined => {
      const r = db.prepare<[string, number], Row>('SELECT * FROM releases WHERE app = ? AND version = ?').get(app, version);
      return r ? toRelease(r) : undefined;
    },
    /** The newest release that deployed successfully: what is running now. */
    current: (app: string): Release | undefined => {
      const r = db.prepare<[string], Row>("SELECT * FROM releases WHERE app = ? AND status = 'succeeded' ORDER BY version DESC LIMIT 1").get(app);
      return r ? toRelease(r) : undefined;
    },
    /** Each app's current release (as `current`), for every app at once: one query for a list of apps. */
    currentOfAll: (): Map<string, Release> => {
      const rows = db.prepare<[], Row>("SELECT releases.* FROM releases JOIN (SELECT app, MAX(version) AS v FROM releases WHERE status = 'succeeded' GROUP BY app) c ON releases.app = c.app AND releases.version = c.v").all();
      return new Map(rows.map((r) => [r.app, toRelease(r)]));
    },
    list: (app: string, limit = 50): Release[] =>
      db.prepare<[string, number], Row>('SELECT * FROM releases WHERE app = ? ORDER BY version DESC LIMIT ?').all(app, limit).map(toRelease),
    /** Every release of an app, newest first (garbage collection weighs them all). */
    all: (app: string): Release[] =>
      db.prepare<[string], Row>('SELECT * FROM releases WHERE app = ? ORDER BY version DESC').all(app).map(toRelease),
    /** Records that these releases' image was deleted from the registry. */
    markCollected: (app: string, versions: readonly number[]): void => {
      const at = now();
      const mark = db.prepare('UPDATE releases SET image_collected_at = ? WHERE app = ? AND version = ? AND image_collected_at IS NULL');
      db.transaction(() => { for (const v of versions) mark.run(at, app, v); }).immediate();
    },
    /** Drops these releases' config copies (their rows stay, marked); the running one's is never passed here. */
    pruneConfig: (app: string, versions: readonly number[]): void => {
      const at = now();
      const prune = db.prepare('UPDATE releases SET config = ?, config_pruned_at = ? WHERE app = ? AND version = ? AND config_pruned_at IS NULL');
      db.transaction(() => { for (const v of versions) prune.run(sealer.seal('{}', 'releases.config', [app, v]), at, app, v); }).immediate();
    },
    /** Marks releases left pending by a server that died as failed. */
    failAbandoned: (): number =>
      db.prepare("UPDATE releases SET status = 'failed', finished_at = ? WHERE status = 'pending'").run(now()).changes,
  };
}
