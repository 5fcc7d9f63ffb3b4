// The maintenance flag of an upgrade in place (install.sh --upgrade, docs/install.md): while the
// file DATA_DIR/upgrading exists, pushes and every change are refused with one sentence and reads
// go on, so nothing starts that the server's restart would cut in half, and nothing is written
// after the self-backup that a rollback would lose. A file, not a setting: install.sh sets it
// while the old server runs and clears it once the new one answers, without restarting either.
import { existsSync } from 'node:fs';
import { UnavailableError } from '../../errors.ts';
import type { Config } from '../../config.ts';
import type { Identity } from '../../auth/identity.ts';

/** What a push or a change is told while an upgrade runs. */
export const UPGRADING = 'Slipway is being upgraded; try again in a minute.';

/** Seconds a client is asked to wait (HTTP Retry-After). */
export const UPGRADING_RETRY_S = 60;

/** Whether an upgrade is under way (the flag file exists); read on each request, a stat. */
export function upgrading(config: Pick<Config, 'maintenanceFile'>): boolean {
  return existsSync(config.maintenanceFile);
}

/**
 * Refuses a change while an upgrade runs. The local CLI is not refused: it is the admin on the
 * machine, the one running the upgrade (install.sh's backup:create goes through it).
 */
export function refuseWhileUpgrading(config: Pick<Config, 'maintenanceFile'>, identity?: Pick<Identity, 'via'>): void {
  if (identity?.via === 'local') return;
  if (upgrading(config)) throw new UnavailableError(UPGRADING);
}
