// Every background round of a server, registered here and only here (ops/rounds.ts runs them).
import type { Services } from '../context.ts';
import { RIGHTS_SWEEP_MS, stopRevoked } from '../revocation.ts';
import type { Round } from './rounds.ts';
import { tlsSyncRound } from './domains/tls-sync.ts';
import { collectAll } from './gc/collect.ts';
import { WARM_SWEEP_MS, sweepWarm } from './releases/warm.ts';
import { POLL_TICK_MS, pollSyncs } from './sync/sync-poll.ts';
import { PREVIEW_ROUND_MS, reconcilePreviews } from './previews/preview-reconcile.ts';
import { HEARTBEAT_MS, writeHeartbeats } from './data/backups.ts';
import { BACKUP_ROUND_MS, backupRound } from './data/drills.ts';
import { RETIRE_ROUND_MS, retireLogins } from './data/credentials.ts';
import { backUp } from './self-backup/backups.ts';
import { AUDIT_ROUND_MS, auditRound } from './audit/round.ts';
import { sleepRound } from './processes/sleep-round.ts';
import { cronAuditRound } from './cron/cron-audit.ts';

/** The server's background rounds, in the order doctor shows them. */
export function serverRounds(services: Services): Round[] {
  const { config } = services;
  return [
    { name: 'tls-sync', what: 'HTTPS routing follows issued certificates', intervalMs: config.tlsSyncMs, task: tlsSyncRound(services) },
    // SLIPWAY_GC_INTERVAL_S=0 turns the timer off; gc and rounds:run gc still collect.
    { name: 'gc', what: 'garbage collection (old images, registry storage, build caches)', intervalMs: config.gcIntervalMs > 0 ? config.gcIntervalMs : 0, task: (signal) => collectAll(services, signal), audited: true },
    { name: 'rights', what: 'running work is stopped when its key loses the app', intervalMs: RIGHTS_SWEEP_MS, task: async () => stopRevoked(services) },
    { name: 'warm-sweep', what: 'warm web instances stop when their window ends', intervalMs: WARM_SWEEP_MS, task: () => sweepWarm(services) },
    { name: 'sync-poll', what: 'repositories with sync:poll are polled for new commits', intervalMs: POLL_TICK_MS, task: (signal) => pollSyncs(services, Date.now(), signal) },
    { name: 'db-heartbeat', what: 'the time is written into every database (a restore says how recent its data is)', intervalMs: HEARTBEAT_MS, task: (signal) => writeHeartbeats(services, signal) },
    { name: 'db-backups', what: 'each database gets a daily full backup (Valkey: a snapshot) and a daily restore drill', intervalMs: BACKUP_ROUND_MS, task: (signal) => backupRound(services, signal), audited: true },
    { name: 'db-logins', what: 'database logins rotated away from (Postgres roles, Valkey ACL users) can no longer log in once no session uses them', intervalMs: RETIRE_ROUND_MS, task: (signal) => retireLogins(services, signal) },
    // SLIPWAY_BACKUP_INTERVAL_S=0 (the default) turns the timer off; backup:create still writes one.
    { name: 'self-backup', what: "Slipway's own backup is written, encrypted and verified", intervalMs: config.backupIntervalMs, task: (signal) => backUp(services, signal), audited: true },
    { name: 'previews', what: 'previews past their time to live or of deleted branches are removed', intervalMs: PREVIEW_ROUND_MS, task: (signal) => reconcilePreviews(services, Date.now(), signal) },
    { name: 'audit', what: "the audit log's head is signed daily; entries past SLIPWAY_AUDIT_RETENTION_DAYS are pruned", intervalMs: AUDIT_ROUND_MS, task: () => auditRound(services) },
    { name: 'sleep', what: 'apps idle for their ps:sleep time (previews: SLIPWAY_PREVIEW_SLEEP_AFTER) sleep at zero web instances', intervalMs: config.sleepRoundMs, task: sleepRound(services) },
    { name: 'cron-audit', what: 'runs of scheduled tasks started by their schedules are recorded in the audit log', intervalMs: config.cronAuditMs, task: cronAuditRound(services) },
  ];
}
