// Which commands still run while Slipway is being upgraded (server/ops/upgrade/maintenance.ts):
// those that only read. Listed by name, so a command added later is refused during an upgrade
// until someone decides it only reads (test/unit/maintenance.test.ts checks every name exists).
import { refuseWhileUpgrading } from '../ops/upgrade/maintenance.ts';
import type { Command, CommandContext } from './types.ts';

/** The commands that change nothing (no store write, no rollout, no pod): allowed during an upgrade. */
export const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set([
  'apps:list', 'apps:info', 'apps:report', 'config', 'config:get', 'config:export', 'releases', 'releases:info',
  'ps', 'ps:metrics', 'resource:report', 'checks', 'cron', 'logs', 'domains', 'certs', 'egress', 'storage:list',
  'addons', 'addons:info', 'pg:info', 'pg:backups', 'builds', 'builds:output', 'sync', 'sync:info', 'previews',
  'jobs', 'jobs:info', 'jobs:output', 'keys:list', 'tokens:list', 'doctor', 'nodes', 'rounds', 'backups',
  'help', 'version',
]);

/** Refuses `c` with the upgrade's sentence while an upgrade runs, unless it only reads. */
export function refuseChangeWhileUpgrading(ctx: Pick<CommandContext, 'services' | 'identity'>, c: Pick<Command, 'name'>): void {
  if (!READ_ONLY_COMMANDS.has(c.name)) refuseWhileUpgrading(ctx.services.config, ctx.identity);
}
