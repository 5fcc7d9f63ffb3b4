import { now, type Db } from './db.ts';
import { processStartTime, sameProcessAlive } from '../process.ts';

export interface App {
  name: string;
  deployBranch: string | null;
  builder: string | null;
  /** ps:warm: how long its previous release stays warm after a deploy, in seconds; null: SLIPWAY_WARM_ROLLBACK. */
  warmSeconds: number | null;
  createdAt: string;
  lock: { owner: string; pid: number; at: string } | null;
}

interface Row { name: string; deploy_branch: string | null; builder: string | null; warm_seconds: number | null; created_at: string; lock_owner: string | null; lock_pid: number | null; lock_at: string | null; lock_started: string | null }

function toApp(r: Row): App {
  return {
    name: r.name,
    deployBranch: r.deploy_branch,
    builder: r.builder,
    warmSeconds: r.warm_seconds,
    createdAt: r.created_at,
    lock: r.lock_owner ? { owner: r.lock_owner, pid: r.lock_pid ?? 0, at: r.lock_at ?? '' } : null,
  };
}

/** Apps and their per-app settings and deploy lock. */
export function appsStore(db: Db) {
  const get = db.prepare<[string], Row>('SELECT * FROM apps WHERE name = ?');
  return {
    /** The app, or undefined. */
    get: (name: string): App | undefined => {
      const r = get.get(name);
      return r ? toApp(r) : undefined;
    },
    /** Creates the app; false if the name is taken. */
    create: (name: string): boolean =>
      db.prepare('INSERT OR IGNORE INTO apps (name, created_at) VALUES (?, ?)').run(name, now()).changes === 1,
    /** Every app, or those `keyName` was granted (with their previews). */
    list: (keyName?: string): App[] =>
      (keyName === undefined
        ? db.prepare<[], Row>('SELECT * FROM apps ORDER BY name').all()
        // A key granted an app reaches its previews too (auth/access.ts says the same for one app).
        : db.prepare<[string], Row>(`SELECT apps.* FROM apps LEFT JOIN previews ON previews.app = apps.name
            WHERE EXISTS (SELECT 1 FROM grants WHERE grants.key_name = ? AND grants.app = coalesce(previews.parent, apps.name)) ORDER BY name`).all(keyName)
      ).map(toApp),
    remove: (name: string): boolean => db.prepare('DELETE FROM apps WHERE name = ?').run(name).changes === 1,
    setDeployBranch: (name: string, branch: string | null): void => {
      db.prepare('UPDATE apps SET deploy_branch = ? WHERE name = ?').run(branch, name);
    },
    setBuilder: (name: string, builder: string | null): void => {
      db.prepare('UPDATE apps SET builder = ? WHERE name = ?').run(builder, name);
    },
    setWarmSeconds: (name: string, seconds: number | null): void => {
      db.prepare('UPDATE apps SET warm_seconds = ? WHERE name = ?').run(seconds, name);
    },
    /**
     * Takes the deploy lock for `owner` in process `pid`. A lock whose process is gone (a server
     * that crashed, a CLI that was killed) is stale and taken over, so no crash blocks pushes
     * forever. The holder is the pid and its start time: after a reboot the pid alone may name
     * an unrelated live process. Returns the current holder on failure.
     */
    lock: (name: string, owner: string, pid: number = process.pid): { ok: true } | { ok: false; holder: string; since: string } =>
      db.transaction(() => {
        const r = get.get(name);
        if (!r) return { ok: false as const, holder: '', since: '' };
        if (r.lock_owner && sameProcessAlive(r.lock_pid, r.lock_started)) return { ok: false as const, holder: r.lock_owner, since: r.lock_at ?? '' };
        db.prepare('UPDATE apps SET lock_owner = ?, lock_pid = ?, lock_at = ?, lock_started = ? WHERE name = ?').run(owner, pid, now(), processStartTime(pid) ?? null, name);
        return { ok: true as const };
      }).immediate(),
    /** Apps whose deploy lock a live process other than `pid` holds (the local CLI building, say). */
    lockedElsewhere: (pid: number = process.pid): string[] =>
      db.prepare<[number], Row>('SELECT * FROM apps WHERE lock_owner IS NOT NULL AND lock_pid IS NOT ?').all(pid)
        .filter((r) => sameProcessAlive(r.lock_pid, r.lock_started)).map((r) => r.name),
    /** Clears locks recorded under `pid`: at start-up the server holds none, whatever the rows say. */
    clearLocksOf: (pid: number): number =>
      db.prepare('UPDATE apps SET lock_owner = NULL, lock_pid = NULL, lock_at = NULL, lock_started = NULL WHERE lock_pid = ?').run(pid).changes,
    /** Clears locks whose process is gone (a crashed server, a killed CLI), so apps:info stops showing them; returns how many. */
    clearStaleLocks: (): number => {
      const stale = db.prepare<[], Row>('SELECT * FROM apps WHERE lock_owner IS NOT NULL').all().filter((r) => !sameProcessAlive(r.lock_pid, r.lock_started));
      const clear = db.prepare('UPDATE apps SET lock_owner = NULL, lock_pid = NULL, lock_at = NULL, lock_started = NULL WHERE name = ? AND lock_pid IS ?');
      return db.transaction(() => stale.reduce((n, r) => n + clear.run(r.name, r.lock_pid).changes, 0)).immediate();
    },
    /** Releases the lock if `owner` holds it (or unconditionally without an owner). */
    unlock: (name: string, owner?: string): boolean =>
      (owner === undefined
        ? db.prepare('UPDATE apps SET lock_owner = NULL, lock_pid = NULL, lock_at = NULL, lock_started = NULL WHERE name = ? AND lock_owner IS NOT NULL').run(name)
        : db.prepare('UPDATE apps SET lock_owner = NULL, lock_pid = NULL, lock_at = NULL, lock_started = NULL WHERE name = ? AND lock_owner = ?').run(name, owner)
      ).changes === 1,
  };
}
