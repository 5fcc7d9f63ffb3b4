// THE ENUMERATION TEST (issue 39): every mutating route of the OpenAPI document and every command
// of the registry that is not listed as read-only records an audit entry, denied or run, whatever
// it answered. Against the real SSH and HTTP servers with the fake builder and deployer: a command
// or route added later without its entry fails here, by name.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKey, newApp, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { api, makeToken } from '../support/api-client.ts';
import { commands } from '../../server/commands/registry.ts';
import { READ_ONLY_COMMANDS, recordsEntry } from '../../server/commands/audited.ts';
import { auditedRoute } from '../../server/transport/http/audit-hook.ts';
import type { Method } from '../../server/api/route.ts';

/** How long one command or request may take before the test names it as hanging. */
const EACH_MS = 20_000;

function within<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not end within ${EACH_MS / 1000} s`)), EACH_MS); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('every mutating command and API route records an audit entry', { timeout: 600_000 }, () => {
  let s: TestServer;
  let nobody: TestKey;
  let adminToken: string;

  before(async () => {
    s = await startTestServer();
    nobody = await makeKey(s.dir, 'nobody');
    assert.equal((await s.ssh(s.admin, `keys:add ${nobody.name}`, nobody.pub)).exitCode, 0);
    adminToken = await makeToken(s, s.admin, 'enumeration');
  });
  after(() => s.close());

  const count = (action: string): number =>
    (s.slipway.services.store.db.prepare('SELECT COUNT(*) AS n FROM audit WHERE action = ?').get(action) as { n: number }).n;

  /** A command line with as many words as the command takes at least: the app first for an app command, then `x`. */
  function line(name: string, app: string): string {
    const c = commands.find((k) => k.name === name)!;
    const words = Array.from({ length: Math.max(c.args.min, c.access === 'app' ? 1 : 0) }, (_, i) => (i === 0 && c.access === 'app' ? app : `x${i}`));
    return [name, ...words].join(' ');
  }

  test('the read-only list names only commands the registry has, each one that says it shows, lists, prints or checks', () => {
    const names = new Set(commands.map((c) => c.name));
    assert.deepEqual([...READ_ONLY_COMMANDS].filter((n) => !names.has(n)), []);
    // A command that changes something says so first (Set, Create, Remove, Let…): listing it here would keep it out of the log.
    const claims = commands.filter((c) => READ_ONLY_COMMANDS.has(c.name) && !/^(Show|List|Print|Check)\b/.test(c.summary)).map((c) => `${c.name}: ${c.summary}`);
    assert.deepEqual(claims, []);
  });

  test('a read-only command, run by an admin on an app, changes nothing in the store', async () => {
    const app = await newApp(s, 'enum-read');
    const { db } = s.slipway.services.store;
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'audit%' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    // Table names come from SQLite's own catalogue, not from input.
    const snapshot = () => JSON.stringify(tables.map((t) => db.prepare(`SELECT * FROM "${t}"`).all()));
    const changed: string[] = [];
    for (const name of READ_ONLY_COMMANDS) {
      const before = snapshot();
      const audited = count(name);
      const cmd = line(name, app);
      await within(cmd, s.ssh(s.admin, cmd));
      if (snapshot() !== before) changed.push(cmd);
      if (count(name) !== audited) changed.push(`${cmd} (recorded)`);
    }
    assert.deepEqual(changed, []);
  });

  test('every mutating command, run by a key without the rights and then by an admin, records an entry each time', async () => {
    const mutating = commands.filter((c) => recordsEntry(c.name));
    assert.ok(mutating.length > 60, `${mutating.length} mutating commands`);
    const app = await newApp(s, 'enum-cmd');
    const missing: string[] = [];
    for (const c of mutating) {
      for (const [who, key] of [['a key without rights', nobody], ['an admin', s.admin]] as const) {
        const before = count(c.name);
        const cmd = line(c.name, app);
        const r = await within(`${cmd} (${who})`, s.ssh(key, cmd));
        if (count(c.name) !== before + 1) missing.push(`${cmd} by ${who} (exit ${r.exitCode}: ${r.stderr.trim().slice(0, 120)})`);
      }
    }
    assert.deepEqual(missing, [], `commands that recorded no entry:\n  ${missing.join('\n  ')}`);
    // The first pass was refused before anything ran: those entries say denied.
    const denied = s.slipway.services.store.db.prepare("SELECT COUNT(DISTINCT action) AS n FROM audit WHERE actor = 'nobody' AND outcome = 'denied'").get() as { n: number };
    assert.ok(denied.n >= mutating.filter((c) => c.access !== 'any').length, `${denied.n} actions denied to nobody`);
  });

  test('every mutating route of the OpenAPI document, called without a token and then by an admin, records an entry each time', async () => {
    const doc = (await api(s, 'GET', '/openapi.json')).json as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    const app = await newApp(s, 'enum-api');
    const routes: { method: Method; url: string; open: boolean }[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      const url = path.replace(/^\/api\/v1/, '').replace(/\{([^}]+)\}/g, ':$1');
      for (const [m, op] of Object.entries(ops)) {
        const method = m.toUpperCase() as Method;
        // A route open without a token (the dashboard's login) says so with an empty `security`.
        if (auditedRoute({ method, url })) routes.push({ method, url, open: Array.isArray(op.security) && op.security.length === 0 });
      }
    }
    assert.ok(routes.filter((r) => r.method !== 'GET').length >= 50, `${routes.length} routes`);
    assert.ok(routes.some((r) => r.method === 'GET' && r.url === '/audit'), 'GET /audit is recorded');
    // The app's own deletion last, so the routes before it find the app.
    routes.sort((a, b) => Number(a.method === 'DELETE' && a.url === '/apps/:app') - Number(b.method === 'DELETE' && b.url === '/apps/:app'));
    const missing: string[] = [];
    for (const r of routes) {
      const action = `${r.method} ${r.url}`;
      const path = r.url.replace(':app', app).replace(/:[a-z]+/gi, 'x');
      for (const token of [undefined, adminToken]) {
        const before = count(action);
        const res = await within(action, api(s, r.method, path, { ...(token ? { token } : {}), ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { body: {} }) }));
        if (count(action) !== before + 1) missing.push(`${action} ${token ? 'as an admin' : 'without a token'} (${res.status})`);
      }
    }
    assert.deepEqual(missing, [], `routes that recorded no entry:\n  ${missing.join('\n  ')}`);
    const unauthenticated = s.slipway.services.store.db.prepare("SELECT COUNT(*) AS n FROM audit WHERE actor = 'unknown' AND interface = 'api' AND outcome = 'denied'").get() as { n: number };
    // Without a token, every route but the open ones was refused: denied entries by `unknown`.
    assert.ok(unauthenticated.n >= routes.filter((r) => !r.open).length, `${unauthenticated.n} denied of ${routes.length}`);
  });
});
