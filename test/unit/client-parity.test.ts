// The client reaches every operation of the API: each route of the OpenAPI document (built from
// server/api/ as the server serves it) is called by a client command, and each route a command
// names is in the document. A new route without a client command fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.ts';
import type { Services } from '../../server/context.ts';
import { startApi } from '../../server/transport/http/api.ts';
import { FailureThrottle } from '../../server/transport/http/throttle.ts';
import { apiRoutes } from '../../server/api/index.ts';
import { clientCommands } from '../../client/commands/index.ts';

/** Routes that are not a client command, each with why. */
const NOT_COMMANDS: Record<string, string> = {
  'POST /session/code': "the dashboard's login page: a one-time code for a browser session cookie",
  'GET /session': "the dashboard's session cookie",
  'POST /session': "the dashboard's login: trades a code or a token for a session cookie",
  'DELETE /session': "the dashboard's logout of its cookie",
  'GET /session/options': "the dashboard's login page: whether to offer OpenID Connect sign-in",
};

/** Every operation of the document as `METHOD /path` (without /api/v1, `{param}` as the document spells it). */
async function documented(): Promise<string[]> {
  const config = loadConfig({ SLIPWAY_DATA_DIR: '/nonexistent', SLIPWAY_BASE_DOMAIN: 'apps.test' });
  const api = await startApi({ config } as Services, new FailureThrottle(), apiRoutes);
  const doc = api.document() as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/^\/api\/v1/, '')}`));
}

/** The routes of the document no command calls and that are not listed as no command. */
function uncovered(routes: readonly string[], commands: readonly { routes: readonly string[] }[]): string[] {
  const called = new Set(commands.flatMap((c) => c.routes));
  return routes.filter((r) => !called.has(r) && !(r in NOT_COMMANDS));
}

test('every route of the OpenAPI document has a client command', async () => {
  const routes = await documented();
  assert.ok(routes.length > 90, `only ${routes.length} routes in the document`);
  assert.deepEqual(uncovered(routes, clientCommands), [], 'routes without a client command (add one in client/commands/)');
});

test('every route a client command names is in the document, and the exceptions still exist', async () => {
  const routes = new Set(await documented());
  const unknown = clientCommands.flatMap((c) => c.routes.filter((r) => !routes.has(r)).map((r) => `${c.name}: ${r}`));
  assert.deepEqual(unknown, []);
  assert.deepEqual(Object.keys(NOT_COMMANDS).filter((r) => !routes.has(r)), []);
});

test('the parity rule sees a route without a command', () => {
  assert.deepEqual(uncovered(['GET /apps', 'GET /apps/{app}/drains'], [{ routes: ['GET /apps'] }]), ['GET /apps/{app}/drains']);
});

test('command names are unique', () => {
  const names = clientCommands.map((c) => c.name);
  assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), []);
});

test('docs/cli.md names every client command', () => {
  const md = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'cli.md'), 'utf8');
  assert.deepEqual(clientCommands.map((c) => c.name).filter((n) => !md.includes(`\`${n}\``)), []);
});
