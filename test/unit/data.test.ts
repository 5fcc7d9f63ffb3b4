// A database's objects as pure functions (deploy/data.ts) and the rules of addons:create
// (ops/data/rules.ts): what the pod may do, which names and labels it has (never the app's own
// selector, which deploys prune by), and what users may type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataService } from '../../server/model.ts';
import type { V1StatefulSet } from '../../server/kube/types.ts';
import { dataClaimName, dataObjects, dataSelector, dataUrl, drillPodObject, SCRATCH_CPU_REQUEST } from '../../server/deploy/data.ts';
import { loginOf } from '../../server/ops/data/attachments.ts';
import { dokkuDataHint } from '../../server/commands/dokku-data.ts';
import { backupDue, backupTime } from '../../server/ops/data/rules.ts';
import { appSelector } from '../../server/kube/labels.ts';
import { attachmentVar, claimRefusal, dataKind, dataName, dataVersion, defaultAttachment, freeName } from '../../server/ops/data/rules.ts';
import { UserError } from '../../server/errors.ts';
import { loadConfig } from '../../server/config.ts';
import { backupCommand } from '../../server/ops/data/backups.ts';
import { bytesText, fullVolumes, isFull, parseStats } from '../../server/ops/data/stats.ts';

const pg: DataService = {
  app: 'shop', name: 'postgres', kind: 'postgres', image: 'reg/slipway/postgres:17', size: '1Gi',
  credentials: { username: 'u0123456789ab', password: 'p/a:s@s', database: 'app' },
  tls: { key: 'KEY', cert: 'CERT', ca: 'CA' }, resources: { memory: '256Mi', cpu: '500m' }, maxConnections: 20, archiveTimeoutS: 60,
};

/** Whether a label selector string (`k=v,k2`) selects these labels. */
function selects(selector: string, labels: Record<string, string>): boolean {
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return v === undefined ? Object.hasOwn(labels, k!) : labels[k!] === v;
  });
}

test("a database is a Secret, two claims, a StatefulSet of one restricted pod and a Service, none under the app's own selector; the authority's certificate is the app's", () => {
  const all = dataObjects(pg);
  assert.deepEqual(all.map((o) => `${o.kind}/${o.metadata.name}`), ['Secret/db-postgres', 'PersistentVolumeClaim/db-postgres.data', 'PersistentVolumeClaim/db-postgres.backup', 'StatefulSet/db-postgres', 'Service/db-postgres', 'ConfigMap/slipway-data-ca']);
  const ca = all.at(-1) as unknown as { data: Record<string, string>; metadata: { labels: Record<string, string> } };
  assert.equal(ca.data['ca.crt'], pg.tls.ca);
  assert.ok(selects(appSelector('shop'), ca.metadata.labels), "the app's, shared by its databases: addons:destroy leaves it");
  const objects = all.slice(0, -1);
  for (const o of objects) {
    assert.equal(o.metadata.namespace, 'slipway-shop');
    assert.ok(!selects(appSelector('shop'), o.metadata.labels!), `${o.kind} is not pruned by a deploy of shop`);
    assert.ok(selects(dataSelector('shop'), o.metadata.labels!), `${o.kind} is listed as shop's database`);
    assert.ok(!selects(dataSelector('sho'), o.metadata.labels!), 'not another app\'s');
  }
  const set = objects[3] as V1StatefulSet;
  const pod = set.spec!.template.spec!;
  assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } });
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(pod.enableServiceLinks, false);
  const c = pod.containers[0]!;
  assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true });
  assert.deepEqual(c.resources?.limits, { memory: '256Mi', cpu: '500m' });
  assert.ok(c.env!.every((e) => e.value === undefined && e.valueFrom?.secretKeyRef?.name === 'db-postgres'), 'credentials only from the Secret');
  assert.deepEqual(pod.volumes!.map((v) => v.persistentVolumeClaim?.claimName ?? v.secret?.secretName), [dataClaimName('postgres', 'data'), dataClaimName('postgres', 'backup'), 'db-postgres']);
  assert.deepEqual(set.spec!.replicas, 1);
  const secret = objects[0] as unknown as { data: Record<string, string> };
  assert.equal(Buffer.from(secret.data.POSTGRES_PASSWORD!, 'base64').toString(), 'p/a:s@s');
});

test('URLs require TLS and carry the credentials encoded', () => {
  assert.equal(dataUrl('shop', pg), 'postgres://u0123456789ab:p%2Fa%3As%40s@db-postgres.slipway-shop.svc:5432/app?sslmode=require&sslrootcert=/etc/slipway/data-ca/ca.crt');
  assert.equal(dataUrl('shop', { ...pg, name: 'valkey', kind: 'valkey', credentials: { ...pg.credentials, username: 'default' } }), 'rediss://default:p%2Fa%3As%40s@db-valkey.slipway-shop.svc:6379');
  assert.equal(dataUrl('shop', { ...pg, name: 'valkey', kind: 'valkey' }), 'rediss://u0123456789ab:p%2Fa%3As%40s@db-valkey.slipway-shop.svc:6379', 'a rotated login: its ACL user');
  const u = new URL(dataUrl('shop', pg));
  assert.equal(decodeURIComponent(u.password), 'p/a:s@s');
});

test("kinds, versions, names and attachments in Heroku's and Dokku's words; one sentence for anything else", () => {
  assert.deepEqual(['postgres', 'postgresql', 'heroku-postgresql:essential-0', 'redis', 'heroku-redis:mini', 'valkey'].map(dataKind), ['postgres', 'postgres', 'postgres', 'valkey', 'valkey', 'valkey']);
  assert.throws(() => dataKind('mysql'), UserError);
  assert.equal(dataVersion('postgres', undefined), '17');
  assert.throws(() => dataVersion('postgres', '16'), /Postgres "16" is not available; this server runs Postgres 17\./);
  assert.throws(() => dataName('-x'), UserError);
  assert.throws(() => dataName('a'.repeat(31)), UserError);
  assert.equal(dataName('orders-2'), 'orders-2');
  assert.equal(freeName('postgres', []), 'postgres');
  assert.equal(freeName('postgres', ['postgres', 'postgres-2']), 'postgres-3');
  assert.equal(attachmentVar('database'), 'DATABASE_URL');
  assert.equal(attachmentVar('heroku-postgresql-red'), 'HEROKU_POSTGRESQL_RED_URL');
  assert.equal(attachmentVar('CACHE_URL'), 'CACHE_URL');
  assert.throws(() => attachmentVar('1x'), UserError);
  assert.equal(defaultAttachment('postgres', 'postgres-2', new Set(['DATABASE_URL'])), 'POSTGRES_2_URL');
  assert.equal(defaultAttachment('valkey', 'valkey', new Set(['DATABASE_URL'])), 'REDIS_URL');
});

test('a database needs two claims of its size within the app\'s volume count and storage', () => {
  assert.equal(claimRefusal('shop', { claims: 0, bytes: 0 }, '1Gi', { claims: 5, storage: '20Gi' }), undefined);
  assert.match(claimRefusal('shop', { claims: 4, bytes: 0 }, '1Gi', { claims: 5, storage: '20Gi' })!, /needs 2 volumes \(data and backups\) and shop has 4 of its 5/);
  assert.match(claimRefusal('shop', { claims: 0, bytes: 19 * 2 ** 30 }, '1Gi', { claims: 5, storage: '20Gi' })!, /would then hold more than 20Gi/);
});

test("Dokku's postgres:* and redis:* verbs get the sentence naming what does it here", () => {
  assert.equal(dokkuDataHint('postgres:create'), 'postgres:create is Dokku\'s; here it is: addons:create APP postgres [--name NAME] (a database belongs to one app here: create and link in one).');
  assert.equal(dokkuDataHint('redis:connect'), 'redis:connect is Dokku\'s; here it is: redis:cli APP.');
  assert.equal(dokkuDataHint('postgres:connect'), 'postgres:connect is Dokku\'s; here it is: pg:psql APP.');
  assert.match(dokkuDataHint('redis:backup')!, /^redis:backup is Dokku's; databases here are addons of an app/);
  assert.equal(dokkuDataHint('apps:frobnicate'), undefined);
});

test('a backup schedule is a time of day in UTC; a daily backup is due once that time passed since the last one', () => {
  assert.equal(backupTime('02:00'), '02:00');
  assert.equal(backupTime('2:05 UTC'), '02:05');
  assert.equal(backupTime('23:59Z'), '23:59');
  for (const bad of ['24:00', '02:60', '2', '02:00 America/Los_Angeles', '']) assert.throws(() => backupTime(bad), /is not a time of day; write it as 02:00 UTC/);
  const at = (iso: string) => Date.parse(iso);
  const day = 24 * 3_600_000;
  assert.equal(backupDue('02:00', null, at('2026-12-05T01:00:00Z'), day), true, 'never backed up: at once');
  assert.equal(backupDue('02:00', '2026-12-04T02:01:00Z', at('2026-12-05T01:59:00Z'), day), false, 'before today\'s time');
  assert.equal(backupDue('02:00', '2026-12-04T02:01:00Z', at('2026-12-05T02:00:00Z'), day), true, 'at today\'s time');
  assert.equal(backupDue('02:00', '2026-12-05T02:03:00Z', at('2026-12-05T23:00:00Z'), day), false, 'taken today already');
  assert.equal(backupDue('02:00', '2026-12-05T01:00:00Z', at('2026-12-05T03:00:00Z'), day), true, 'a capture before the time does not replace it');
  assert.equal(backupDue(null, '2026-12-04T05:00:00Z', at('2026-12-05T04:59:00Z'), day), false, 'unscheduled: a day after the last');
  assert.equal(backupDue(null, '2026-12-04T05:00:00Z', at('2026-12-05T05:00:00Z'), day), true);
});

test("a Valkey database is used as default until its first rotation, then as its ACL user; its pod reads the login from the Secret's files", () => {
  assert.equal(loginOf({ kind: 'valkey', username: 'u0123456789ab', owner: null }), 'default');
  assert.equal(loginOf({ kind: 'valkey', username: 'u0123456789ab', owner: 'default' }), 'u0123456789ab');
  assert.equal(loginOf({ kind: 'postgres', username: 'u0123456789ab', owner: null }), 'u0123456789ab');
  const vk: DataService = { ...pg, name: 'valkey', kind: 'valkey', credentials: { ...pg.credentials, username: 'default' } };
  const [secret, , , set] = dataObjects(vk) as unknown as [{ data: Record<string, string> }, unknown, unknown, V1StatefulSet];
  assert.deepEqual(Object.keys(secret.data).filter((k) => k.startsWith('VALKEY_')), ['VALKEY_USER', 'VALKEY_PASSWORD', 'VALKEY_MAXCLIENTS']);
  assert.equal(Buffer.from(secret.data.VALKEY_MAXCLIENTS!, 'base64').toString(), String(pg.maxConnections), 'its connections bounded as a Postgres database\'s are');
  assert.equal(Buffer.from(secret.data.VALKEY_USER!, 'base64').toString(), 'default');
  const pod = set.spec!.template.spec!;
  assert.deepEqual(pod.containers[0]!.env!.map((e) => `${e.name}<-${e.valueFrom?.secretKeyRef?.key}`), ['VALKEY_USER<-VALKEY_USER', 'VALKEY_PASSWORD<-VALKEY_PASSWORD', 'VALKEY_MAXCLIENTS<-VALKEY_MAXCLIENTS']);
  const tls = pod.volumes!.find((v) => v.name === 'tls')!;
  assert.deepEqual(tls.secret!.items!.map((i) => `${i.key}:${i.path}`), ['tls.crt:tls.crt', 'tls.key:tls.key', 'ca.crt:ca.crt', 'VALKEY_USER:login/user', 'VALKEY_PASSWORD:login/password']);
});

test("Dokku's redis:promote names redis:promote here, postgres:promote pg:promote", () => {
  assert.equal(dokkuDataHint('redis:promote'), "redis:promote is Dokku's; here it is: redis:promote APP NAME.");
  assert.equal(dokkuDataHint('postgres:promote'), "postgres:promote is Dokku's; here it is: pg:promote APP NAME.");
});

test("the image's stats: numbers by name, a missing field null, a full volume one sentence each", () => {
  // The claim is 100 bytes; the data volume's file system has room to spare, the backup volume's 1 byte.
  const s = parseStats('data_used 10\ndata_avail 5000\nbackup_used 96\nbackup_avail 1\nconnections 3\nmax_connections 20\n', 100);
  assert.deepEqual(s, { connections: 3, maxConnections: 20, data: { usedBytes: 10, sizeBytes: 100 }, backup: { usedBytes: 96, sizeBytes: 97 } });
  assert.deepEqual(parseStats('data_used 10\ndata_avail 500\nslipway-postgres: psql: error\n', 100), { connections: null, maxConnections: null, data: { usedBytes: 10, sizeBytes: 100 }, backup: null });
  assert.equal(isFull(s.data), false);
  assert.equal(isFull(s.backup), true);
  assert.equal(isFull(null), false);
  const sentences = fullVolumes('shop', 'postgres', s);
  assert.equal(sentences.length, 1);
  assert.match(sentences[0]!, /^The backup volume of postgres is full \(96 B of 97 B used\): new backups are refused/);
  // Valkey's say what stops for it and point at its own way out, not Postgres's.
  const valkey = fullVolumes('shop', 'valkey', { ...s, data: { usedBytes: 99, sizeBytes: 100 } }, 'valkey');
  assert.equal(valkey.length, 2);
  assert.match(valkey[0]!, /^The data volume of valkey is full \(99 B of 100 B used\): its append-only file cannot grow .*addons:create shop valkey --size SIZE/);
  assert.match(valkey[1]!, /^The backup volume of valkey is full \(96 B of 97 B used\): new snapshots fail/);
  assert.ok(!valkey.join(' ').includes('pg:'), valkey.join(' '));
  assert.equal(bytesText(1536), '1.5 KiB');
});

test('SLIPWAY_DATABASE_BACKUP_RETENTION: a count of full backups or an age in days; the default is the image\'s and is not passed to it', () => {
  assert.deepEqual(loadConfig({}).databaseBackupRetention, { fullBackups: 2 });
  assert.deepEqual(loadConfig({ SLIPWAY_DATABASE_BACKUP_RETENTION: '14d' }).databaseBackupRetention, { days: 14 });
  assert.deepEqual(loadConfig({ SLIPWAY_DATABASE_BACKUP_RETENTION: '7' }).databaseBackupRetention, { fullBackups: 7 });
  for (const bad of ['0', '100', '0d', '14 days', '-1', 'd']) {
    assert.throws(() => loadConfig({ SLIPWAY_DATABASE_BACKUP_RETENTION: bad }), /SLIPWAY_DATABASE_BACKUP_RETENTION must be a number of full backups from 1 to 99 \(`2`\) or an age in days \(`14d`\)/, bad);
  }
  assert.deepEqual(backupCommand({ config: loadConfig({}) }, 'full'), ['backup', 'full']);
  assert.deepEqual(backupCommand({ config: loadConfig({ SLIPWAY_DATABASE_BACKUP_RETENTION: '30d' }) }, 'incr'), ['backup', 'incr', '30d']);
  assert.deepEqual(backupCommand({ config: loadConfig({ SLIPWAY_DATABASE_BACKUP_RETENTION: '5' }) }, 'full'), ['backup', 'full', '5']);
});

test("a drill's scratch pod is the database's pod on scratch space, with the least CPU weight and the same limits", () => {
  const set = dataObjects(pg).find((o) => o.kind === 'StatefulSet') as V1StatefulSet;
  const own = set.spec!.template.spec!.containers[0]!;
  const pod = drillPodObject({ ...pg, restore: { fromClaim: dataClaimName(pg.name, 'backup'), target: undefined } });
  const c = pod.spec!.containers[0]!;
  assert.equal(pod.spec!.restartPolicy, 'Never');
  assert.deepEqual(c.resources, { limits: own.resources!.limits, requests: { ...own.resources!.requests, cpu: SCRATCH_CPU_REQUEST } });
  assert.ok(pod.spec!.volumes!.filter((v) => v.name === 'data' || v.name === 'backup').every((v) => v.emptyDir?.sizeLimit === pg.size));
});
