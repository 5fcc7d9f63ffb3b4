// pg:upgrade's pure parts: which --to is an upgrade, the row counts compared before and after
// pg_upgrade, the server's major, the StatefulSet of an instance that upgrades its copy, and the
// one line a failed database container leaves in its status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataService } from '../../server/model.ts';
import type { V1StatefulSet } from '../../server/kube/types.ts';
import { dataObjects, exitReason } from '../../server/deploy/data.ts';
import { upgradeTarget } from '../../server/ops/data/rules.ts';
import { countDifferences, parseRowCounts, serverMajor } from '../../server/ops/data/upgrade.ts';
import { UserError } from '../../server/errors.ts';

const pg: DataService = {
  app: 'shop', name: 'postgres-2', kind: 'postgres', image: 'reg/slipway/postgres18:18', size: '1Gi',
  credentials: { username: 'u0123456789ab', password: 'secret', database: 'app' },
  tls: { key: 'KEY', cert: 'CERT', ca: 'CA' }, resources: { memory: '256Mi', cpu: '500m' }, maxConnections: 20, archiveTimeoutS: 60,
};

test('upgradeTarget: only a newer major this server offers; one sentence otherwise', () => {
  assert.equal(upgradeTarget('17', '18'), '18');
  assert.equal(upgradeTarget('17', ' 18 '), '18');
  const refused = (from: string, to: string) => {
    try {
      upgradeTarget(from, to);
    } catch (err) {
      assert.ok(err instanceof UserError);
      return err.message;
    }
    assert.fail(`--to ${to} from ${from} was accepted`);
  };
  assert.equal(refused('17', '17'), "--to 17 is not newer than the database's Postgres 17; pg:upgrade only goes to a newer major.");
  assert.equal(refused('18', '18'), "--to 18 is not newer than the database's Postgres 18; pg:upgrade only goes to a newer major.");
  assert.equal(refused('17', '16'), "--to 16 is not newer than the database's Postgres 17; pg:upgrade only goes to a newer major.");
  assert.equal(refused('17', '19'), 'Postgres 19 is not an upgrade this server offers; pg:upgrade goes to Postgres 18.');
  assert.equal(refused('17', '18.1'), '--to takes a Postgres major version like 18, not "18.1".');
  assert.equal(refused('17', '-1'), '--to takes a Postgres major version like 18, not "-1".');
});

test('row counts: parsed from row-counts, compared table by table (a table missing on one side differs)', () => {
  const before = parseRowCounts('app public.items 3\napp my schema.odd name 12\npostgres public.slipway_heartbeat 1\n');
  assert.deepEqual([...before], [['app public.items', 3], ['app my schema.odd name', 12], ['postgres public.slipway_heartbeat', 1]]);
  assert.deepEqual(countDifferences(before, new Map(before)), []);
  const after = new Map(before);
  after.set('app public.items', 2);
  after.delete('app my schema.odd name');
  after.set('app public.new', 0);
  assert.deepEqual(countDifferences(before, after), ['app my schema.odd name: 12 → absent', 'app public.items: 3 → 2', 'app public.new: absent → 0']);
  assert.deepEqual([...parseRowCounts('')], []);
  assert.throws(() => parseRowCounts('app public.items three'), /row-counts printed a line that is not "DATABASE TABLE COUNT"/);
});

test('serverMajor: the major of SHOW server_version', () => {
  assert.equal(serverMajor('18.6 (Debian 18.6-3)'), '18');
  assert.equal(serverMajor('17.12 (Debian 17.12-0+deb13u1)\n'), '17');
  assert.equal(serverMajor(''), '');
});

test('an instance that upgrades its copy runs with PG_UPGRADE_FROM, and without the source\'s backup volume', () => {
  const set = (d: DataService) => dataObjects(d)[3] as V1StatefulSet;
  const container = (d: DataService) => set(d).spec!.template.spec!.containers[0]!;
  const env = container({ ...pg, upgradeFrom: '17' }).env!;
  assert.deepEqual(env.find((e) => e.name === 'PG_UPGRADE_FROM'), { name: 'PG_UPGRADE_FROM', value: '17' });
  assert.equal(env.find((e) => e.name === 'PG_RESTORE_FROM'), undefined);
  assert.equal(container(pg).env!.find((e) => e.name === 'PG_UPGRADE_FROM'), undefined, 'only while it upgrades');
  assert.equal(container(pg).terminationMessagePolicy, 'FallbackToLogsOnError', "the log's end is kept when it fails");
});

test("exitReason: the entry script's last line from a failed container's termination message", () => {
  const log = [
    'Performing Consistency Checks',
    'Checking for data type usage                                  fatal',
    'slipway-postgres: upgrading /var/lib/slipway/postgres/data from Postgres 17 to Postgres 18 (pg_upgrade --link)',
    'slipway-postgres: pg_upgrade --check found that /var/lib/slipway/postgres/data cannot be upgraded to Postgres 18 (its report above); the Postgres 17 cluster is back in place',
    '',
  ].join('\n');
  assert.equal(exitReason(log), 'pg_upgrade --check found that /var/lib/slipway/postgres/data cannot be upgraded to Postgres 18 (its report above); the Postgres 17 cluster is back in place');
  assert.equal(exitReason('panic: something\n'), 'panic: something');
  assert.equal(exitReason(undefined), undefined);
  assert.equal(exitReason(''), undefined);
  assert.equal(exitReason(`slipway-valkey: ${'x'.repeat(400)}`)!.length, 300);
});
