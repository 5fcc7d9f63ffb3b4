// The `audit` round: signs the head once a day and deletes entries past the retention.
import type { Services } from '../../context.ts';
import { checkpointDue, writeCheckpoint } from './checkpoint.ts';
import { pruneAudit } from './prune.ts';

/** How often the round looks whether a checkpoint or a pruning is due. */
export const AUDIT_ROUND_MS = 10 * 60_000;

/** One run of the round. */
export async function auditRound(services: Services, now = new Date()): Promise<void> {
  pruneAudit(services.store, services.audit, services.config.auditRetentionMs, now);
  if (checkpointDue(services.config, services.store, now)) writeCheckpoint(services.config, services.store, services.audit, now);
}
