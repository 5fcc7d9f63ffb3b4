// The dashboard's pure helpers (web/src/format.ts, web/src/routes.ts): what the pages show for
// times, counts and config changes, where login may send the browser, which page a URL is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { age, appendBounded, bytes, codeFromHash, configChangesText, databaseState, duration, errorMessage, jobDone, processCount, restoreSummary, safeNext, shortCommit, when } from '../../web/src/format.ts';
import { appPath, matchRoute } from '../../web/src/routes.ts';

test('age says how long ago, in the largest sensible unit', () => {
  const now = Date.parse('2026-12-03T12:00:00Z');
  assert.equal(age('2026-12-03T12:00:00Z', now), 'just now');
  assert.equal(age('2026-12-03T11:59:18Z', now), '42 s ago');
  assert.equal(age('2026-12-03T11:55:00Z', now), '5 min ago');
  assert.equal(age('2026-12-03T09:00:00Z', now), '3 h ago');
  assert.equal(age('2026-11-30T12:00:00Z', now), '3 d ago');
  assert.equal(age('2026-12-03T12:00:10Z', now), 'just now', 'a clock a little ahead is not "in the future"');
  assert.equal(age(null, now), '—');
  assert.equal(age('not a date', now), '—');
});

test('when, shortCommit, processCount, duration and bytes', () => {
  assert.equal(when('2026-12-03T07:11:38.123Z'), '2026-12-03 07:11 UTC');
  assert.equal(when(undefined), '—');
  assert.equal(shortCommit('0123456789abcdef'), '0123456');
  assert.equal(shortCommit(null), '—');
  assert.equal(processCount({ running: 2, desired: 2 }), '2/2');
  assert.equal(processCount({ running: 0, desired: 1 }), '0/1');
  assert.equal(processCount(undefined), '—');
  assert.equal(duration(850), '850 ms');
  assert.equal(duration(12_440), '12.4 s');
  assert.equal(duration(185_000), '3 min 5 s');
  assert.equal(bytes(512), '512 B');
  assert.equal(bytes(1536), '1.5 KiB');
  assert.equal(bytes(20 * 1024 * 1024), '20.0 MiB');
});

test('configChangesText lists added, changed and removed keys', () => {
  assert.equal(configChangesText({ added: ['NEW'], changed: ['PORT', 'MODE'], removed: ['OLD'] }), '+ NEW · ~ PORT · ~ MODE · − OLD');
  assert.equal(configChangesText({ added: [], changed: [], removed: [] }), '');
  assert.equal(configChangesText(null), '');
});

test('appendBounded keeps the newest lines only', () => {
  assert.deepEqual(appendBounded(['a', 'b'], ['c'], 5), ['a', 'b', 'c']);
  assert.deepEqual(appendBounded(['a', 'b', 'c'], ['d', 'e'], 3), ['c', 'd', 'e']);
  assert.deepEqual(appendBounded([], Array.from({ length: 5000 }, (_, i) => i), 2000).length, 2000);
  assert.equal(appendBounded([], Array.from({ length: 5000 }, (_, i) => i), 2000)[0], 3000);
});

test('safeNext allows only a path on this site, never another origin or the login page', () => {
  assert.equal(safeNext('/apps/shop/logs?process=web'), '/apps/shop/logs?process=web');
  assert.equal(safeNext('/jobs/abc'), '/jobs/abc');
  for (const bad of ['//evil.example/x', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)', '', null, undefined, '/\tx', '/login', '/login?next=/apps', 'apps']) {
    assert.equal(safeNext(bad), '/apps', String(bad));
  }
});

test('codeFromHash reads the one-time code from the fragment', () => {
  assert.equal(codeFromHash('#code=abc123'), 'abc123');
  assert.equal(codeFromHash('#x=1&code=a%2Bb'), 'a+b');
  assert.equal(codeFromHash(''), undefined);
  assert.equal(codeFromHash('#code='), undefined);
});

test("errorMessage shows the API's sentence, or says what happened without one", () => {
  assert.equal(errorMessage(422, { error: { code: 'invalid', message: 'Config keys must be letters.' } }), 'Config keys must be letters.');
  assert.equal(errorMessage(502, '<html>'), 'The Slipway server answered HTTP 502 without an explanation.');
  assert.match(errorMessage(0, null), /could not be reached/);
});

test('jobDone knows the final statuses', () => {
  for (const s of ['succeeded', 'failed', 'cancelled', 'interrupted']) assert.ok(jobDone(s), s);
  for (const s of ['queued', 'running']) assert.ok(!jobDone(s), s);
});

test('matchRoute knows every dashboard URL and nothing else', () => {
  assert.deepEqual(matchRoute('/'), { page: 'home' });
  assert.deepEqual(matchRoute('/login'), { page: 'login' });
  assert.deepEqual(matchRoute('/apps'), { page: 'apps' });
  assert.deepEqual(matchRoute('/admin'), { page: 'admin' });
  assert.deepEqual(matchRoute('/apps/shop'), { page: 'app', app: 'shop' });
  for (const tab of ['releases', 'logs', 'config', 'settings', 'metrics'] as const) assert.deepEqual(matchRoute(`/apps/shop/${tab}`), { page: tab, app: 'shop' });
  assert.deepEqual(matchRoute('/jobs/j-1'), { page: 'job', id: 'j-1' });
  for (const p of ['/apps/shop/nope', '/apps/', '/jobs', '/x', '/apps/a/b/c', '/apps/%E0%A4%A']) assert.deepEqual(matchRoute(p), { page: 'notfound' }, p);
  assert.equal(appPath('shop'), '/apps/shop');
  assert.equal(appPath('shop', 'logs'), '/apps/shop/logs');
});

test("databaseState and restoreSummary: a database's state and its last verified restore as the Databases section shows them", () => {
  const now = Date.parse('2026-12-03T12:00:00Z');
  assert.equal(databaseState({ ready: true, state: 'Running' }), 'ready');
  assert.equal(databaseState({ ready: false, state: 'Pending (Unschedulable)' }), 'Pending (Unschedulable)');
  assert.equal(databaseState({ ready: false, state: '' }), 'unknown');
  const ok = { at: '2026-12-03T09:00:00Z', ok: true, step: null, message: 'restored', rpoS: 41, rtoMs: 38_200 };
  assert.deepEqual(restoreSummary(null, null, now), { text: 'never', tone: 'none' });
  assert.deepEqual(restoreSummary(ok, ok, now), { text: 'ok, 3 h ago, RPO 41 s, RTO 38 s', tone: 'ok' });
  assert.deepEqual(restoreSummary(ok, { ...ok, rpoS: null, rtoMs: null }, now), { text: 'ok, 3 h ago, RPO unknown (no heartbeat yet), RTO unknown', tone: 'ok' });
  const old = { ...ok, at: '2026-12-02T09:00:00Z' };
  assert.deepEqual(restoreSummary(old, old, now), { text: 'ok, 27 h ago, RPO 41 s, RTO 38 s', tone: 'warn' }, 'overdue past 26 h, as doctor says');
  const failed = { at: '2026-12-03T11:55:00Z', ok: false, step: 'verify', message: "pgBackRest's verify found the backups damaged", rpoS: null, rtoMs: null };
  assert.deepEqual(restoreSummary(failed, ok, now), { text: "failed at verify, 5 min ago: pgBackRest's verify found the backups damaged; last ok 3 h ago", tone: 'bad' });
  assert.deepEqual(restoreSummary({ ...failed, step: null, message: null }, null, now), { text: 'failed at restore, 5 min ago', tone: 'bad' });
});
