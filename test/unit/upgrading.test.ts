// The maintenance flag's rules without a server (the integration test drives the real one): the
// commands allowed during an upgrade are real commands that only read, the local CLI (the admin
// running the upgrade) is never refused, and no background round starts while the flag is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commands } from '../../server/commands/registry.ts';
import { READ_ONLY_COMMANDS, refuseChangeWhileUpgrading } from '../../server/commands/upgrading.ts';
import { refuseWhileUpgrading, UPGRADING, upgrading } from '../../server/ops/upgrade/maintenance.ts';
import { Rounds } from '../../server/ops/rounds.ts';
import { UnavailableError } from '../../server/errors.ts';
import type { CommandContext } from '../../server/commands/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'slipway-upgrading-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const config = { maintenanceFile: join(dir, 'upgrading') };

test('every command allowed during an upgrade exists, and none of them is one that changes things', () => {
  const names = new Set(commands.map((c) => c.name));
  for (const name of READ_ONLY_COMMANDS) assert.ok(names.has(name), `${name} is not a command`);
  // The verbs of change never slip in.
  for (const name of READ_ONLY_COMMANDS) assert.doesNotMatch(name, /:(create|set|unset|add|remove|destroy|scale|restart|run|import|enable|disable|revoke|grant|cancel)$/);
  for (const name of ['apps:create', 'config:set', 'rollback', 'run', 'backup:create', 'keys:add', 'tokens:create', 'dashboard:login', 'gc']) assert.ok(!READ_ONLY_COMMANDS.has(name), name);
});

test('the flag is the file: no file, no refusal; the local CLI is never refused', () => {
  assert.equal(upgrading(config), false);
  const ctx = (via: 'ssh' | 'http' | 'local') => ({ services: { config }, identity: { name: 'admin', admin: true, via } }) as unknown as Pick<CommandContext, 'services' | 'identity'>;
  refuseChangeWhileUpgrading(ctx('ssh'), { name: 'config:set' });
  writeFileSync(config.maintenanceFile, '');
  try {
    assert.equal(upgrading(config), true);
    assert.throws(() => refuseChangeWhileUpgrading(ctx('ssh'), { name: 'config:set' }), (err: Error) => err instanceof UnavailableError && err.message === UPGRADING);
    assert.throws(() => refuseWhileUpgrading(config, { via: 'http' }), { message: 'Slipway is being upgraded; try again in a minute.' });
    refuseChangeWhileUpgrading(ctx('ssh'), { name: 'apps:list' });
    refuseChangeWhileUpgrading(ctx('local'), { name: 'backup:create' });
  } finally {
    rmSync(config.maintenanceFile);
  }
});

test('no round starts on its timer while paused; rounds:run still runs one', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  let paused = true;
  let runs = 0;
  const rounds = new Rounds([{ name: 'gc', what: 'x', intervalMs: 1000, task: async () => { runs++; } }], { paused: () => paused });
  rounds.start();
  t.mock.timers.tick(1000);
  t.mock.timers.tick(1000);
  assert.equal(runs, 0);
  await rounds.runNow('gc');
  assert.equal(runs, 1);
  paused = false;
  t.mock.timers.tick(1000);
  await new Promise((r) => setImmediate(r));
  assert.equal(runs, 2);
  rounds.stop();
});
