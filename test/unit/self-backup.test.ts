// Slipway's own backups, the pure parts: which archives retention deletes, the settings' sentences,
// and the two commands that work on this machine's files being refused over SSH.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRetention } from '../../server/ops/self-backup/backups.ts';
import { adoptable } from '../../server/ops/self-backup/adopt.ts';
import { loadConfig } from '../../server/config.ts';
import { dispatch } from '../../server/commands/registry.ts';
import { makeOutput } from '../../server/output/output.ts';
import type { CommandContext } from '../../server/commands/types.ts';

const DAY = 86_400_000;
const now = Date.parse('2026-12-31T12:00:00Z');
/** An archive `days` old. */
const at = (days: number, verified = true) => {
  const created = new Date(now - days * DAY).toISOString();
  return { name: `slipway-${created.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.tar.age`, createdAt: created, verified };
};

test('retention keeps the newest KEEP verified archives and deletes older verified ones', () => {
  const all = [at(0), at(1), at(2), at(3), at(4)];
  assert.deepEqual(planRetention(all, 3, 30 * DAY, now), [all[3]!.name, all[4]!.name]);
  assert.deepEqual(planRetention(all, 10, 30 * DAY, now), []);
});

test('retention deletes archives past the age limit, but never the newest verified one', () => {
  const all = [at(40), at(50)];
  assert.deepEqual(planRetention(all, 7, 30 * DAY, now), [all[1]!.name]);
  const mixed = [at(1), at(31), at(45)];
  assert.deepEqual(planRetention(mixed, 7, 30 * DAY, now), [mixed[1]!.name, mixed[2]!.name]);
});

test('retention deletes unverified archives older than the newest verified one, keeps newer ones, and deletes nothing with none verified', () => {
  const all = [at(0, false), at(1), at(2, false)];
  assert.deepEqual(planRetention(all, 7, 30 * DAY, now), [all[2]!.name]);
  assert.deepEqual(planRetention([at(0, false), at(1, false)], 1, 30 * DAY, now), []);
});

test('the backup settings: defaults, and one sentence for a bad value', () => {
  const c = loadConfig({ SLIPWAY_DATA_DIR: '/srv/slipway' });
  assert.equal(c.backupRecipient, undefined);
  assert.equal(c.backupDir, '/srv/slipway/backups');
  assert.deepEqual([c.backupKeep, c.backupMaxAgeMs, c.backupIntervalMs, c.backupStaleMs], [7, 30 * DAY, 0, 26 * 3_600_000]);
  const recipient = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
  assert.equal(loadConfig({ SLIPWAY_DATA_DIR: '/srv/slipway', SLIPWAY_BACKUP_KEY: recipient, SLIPWAY_BACKUP_DIR: '/backups' }).backupDir, '/backups');
  assert.throws(() => loadConfig({ SLIPWAY_BACKUP_KEY: '/nonexistent/key' }), /SLIPWAY_BACKUP_KEY must be an age recipient \(age1…\) or a file holding one; \/nonexistent\/key cannot be read \(ENOENT\)\./);
  assert.throws(() => loadConfig({ SLIPWAY_BACKUP_KEEP: '0' }), /SLIPWAY_BACKUP_KEEP must be a whole number of at least 1/);
  assert.throws(() => loadConfig({ SLIPWAY_BACKUP_INTERVAL_S: '-5' }), /SLIPWAY_BACKUP_INTERVAL_S must be a whole number of seconds/);
});

test('backup:keygen, restore and backup:verify --key are refused over SSH with one sentence', async () => {
  for (const [words, sentence] of [
    [['backup:keygen', '/tmp/k'], /backup:keygen works on this machine's files: run it with the local CLI on the server \(slipway backup:keygen FILE\)\./],
    [['restore', '/tmp/a.tar.age', '--key', '/tmp/k'], /restore works on this machine's files/],
    [['backup:verify', 'slipway-20261205T101500Z.tar.age', '--key', '/etc/shadow'], /backup:verify works on this machine's files/],
  ] as const) {
    const ctx = {
      identity: { name: 'alice', admin: true, via: 'ssh' },
      out: makeOutput(() => undefined, { color: false }),
      services: { config: loadConfig({ SLIPWAY_DATA_DIR: '/nonexistent' }) },
      stdin: async () => '',
      drained: async () => undefined,
      signal: new AbortController().signal,
    } as unknown as CommandContext;
    await assert.rejects(dispatch(ctx, words), sentence);
  }
});

test('two archives of the same second keep their order: slipway-…Z-2 is newer than slipway-…Z', () => {
  const first = { name: 'slipway-20261231T120000Z.tar.age', createdAt: '2026-12-31T12:00:00.100Z', verified: true };
  const second = { name: 'slipway-20261231T120000Z-2.tar.age', createdAt: '2026-12-31T12:00:00.900Z', verified: true };
  const older = { name: 'slipway-20261231T115959Z.tar.age', createdAt: '2026-12-31T11:59:59.000Z', verified: true };
  assert.deepEqual(planRetention([first, older, second], 1, 30 * DAY, now), [first.name, older.name]);
});

test("a restored server's settings a new install takes over: set ones only, each checked as the server reads it, shell-safe", () => {
  const recipient = `age1${'q'.repeat(58)}`;
  const archive = {
    publicHost: '10.0.0.5', baseDomain: '10.0.0.5.sslip.io', registryAuth: { username: 'u', password: 'p' },
    acmeEmail: 'ops@example.com', builderImage: 'registry.example/builders/heroku:24', buildBackend: 'cluster',
    storageClass: null, backupRecipient: recipient, keepReleases: 7,
  };
  assert.deepEqual(adoptable(archive), {
    adopted: [
      { name: 'SLIPWAY_ACME_EMAIL', value: 'ops@example.com' },
      { name: 'SLIPWAY_BUILDER', value: 'registry.example/builders/heroku:24' },
      { name: 'SLIPWAY_BUILD_BACKEND', value: 'cluster' },
      { name: 'SLIPWAY_BACKUP_KEY', value: recipient },
      { name: 'SLIPWAY_KEEP_RELEASES', value: '7' },
    ],
    skipped: [],
  });
  // What the settings file (sourced by a shell) cannot hold, what the server would refuse, and a
  // key file of the old machine are said and left out; the rest still comes.
  const odd = adoptable({ acmeEmail: 'ops@example.com; rm -rf /', builderImage: 'b:1', buildBackend: 'docker', storageClass: 'fast', backupRecipient: '/etc/slipway/backup.pub', keepReleases: -1 });
  assert.deepEqual(odd.adopted, [{ name: 'SLIPWAY_BUILDER', value: 'b:1' }, { name: 'SLIPWAY_STORAGE_CLASS', value: 'fast' }]);
  assert.deepEqual(odd.skipped.map((s) => s.name), ['SLIPWAY_ACME_EMAIL', 'SLIPWAY_BUILD_BACKEND', 'SLIPWAY_BACKUP_KEY', 'SLIPWAY_KEEP_RELEASES']);
  for (const s of odd.skipped) assert.match(s.why, new RegExp(`^${s.name}\\b.*\\.$`), s.why);
  assert.deepEqual(adoptable({}), { adopted: [], skipped: [] });
});
