// The MCP server's tools as made from the server's own OpenAPI document (built from server/api/
// as the server serves it): every tool of the table finds its operation and scope, a read token's
// tools change nothing, and a call becomes the right request or one sentence refusing it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../server/config.ts';
import type { Services } from '../../server/context.ts';
import { startApi } from '../../server/transport/http/api.ts';
import { FailureThrottle } from '../../server/transport/http/throttle.ts';
import { apiRoutes } from '../../server/api/index.ts';
import { offered, requestOf, TOOL_SPECS, toolsFrom, withheld, type McpTool, type OpenApiDocument } from '../../client/mcp/tools.ts';

const doc = await (async () => {
  const config = loadConfig({ SLIPWAY_DATA_DIR: '/nonexistent', SLIPWAY_BASE_DOMAIN: 'apps.test' });
  const api = await startApi({ config } as Services, new FailureThrottle(), apiRoutes);
  return structuredClone(api.document()) as unknown as OpenApiDocument;
})();
const tools = toolsFrom(doc);
const tool = (name: string): McpTool => tools.find((t) => t.name === name)!;

test('every tool of the table is made from an operation of the document, with its scope', () => {
  assert.equal(tools.length, TOOL_SPECS.length);
  assert.equal(new Set(tools.map((t) => t.name)).size, tools.length, 'tool names are unique');
  assert.ok(tools.every((t) => /^[a-z][a-z_]*$/.test(t.name)), 'names MCP clients accept everywhere');
  assert.deepEqual([tool('apps').method, tool('apps').path, tool('apps').need], ['GET', '/apps', 'read']);
  assert.deepEqual([tool('ps_scale').method, tool('ps_scale').path, tool('ps_scale').need], ['PATCH', '/apps/{app}/formation', 'deploy']);
  assert.equal(tool('apps_destroy').need, 'admin');
  for (const t of tools) {
    assert.equal(t.annotations.readOnlyHint, t.method === 'GET', `${t.name}: read-only exactly when it only reads`);
    if (t.annotations.destructiveHint) assert.ok(t.inputSchema.required.includes('confirm'), `${t.name} needs confirm`);
    assert.ok(t.description.length > 10, t.name);
  }
  // Inputs come from the document: the log's tail with its range, the rollback's body field.
  assert.equal(tool('logs').inputSchema.properties.tail!.maximum, 10000);
  assert.ok(!('follow' in tool('logs').inputSchema.properties), 'a tool answers once: no follow');
  assert.equal(tool('rollback').places.version, 'body');
});

test('an operation the document lacks (an older server) or one without its scope is an error', () => {
  assert.throws(() => toolsFrom(doc, [{ name: 'x', op: 'getNoSuchThing', title: 'X' }]), /has no operation getNoSuchThing/);
  const bare = structuredClone(doc);
  delete bare.paths['/api/v1/apps']!.get!['x-slipway-scope'];
  assert.throws(() => toolsFrom(bare, [{ name: 'apps', op: 'getApps', title: 'Apps' }]), /does not say the scope getApps needs/);
});

test('a read token is offered only tools that read; deploy adds changes; admin everything', () => {
  const read = offered(tools, 'read');
  assert.ok(read.length >= 10);
  assert.deepEqual(read.filter((t) => t.method !== 'GET').map((t) => t.name), []);
  const deploy = offered(tools, 'deploy').map((t) => t.name);
  assert.ok(deploy.includes('ps_scale') && deploy.includes('apps_rebuild') && !deploy.includes('apps_destroy'));
  assert.equal(offered(tools, 'admin').length, tools.length);
});

test('a call becomes its request: path segments encoded, flags as query booleans, the body from its fields', () => {
  assert.deepEqual(requestOf(tool('logs'), { app: 'web', tail: 5, ps: 'worker' }), { method: 'GET', path: '/apps/web/logs', query: { tail: 5, ps: 'worker' } });
  assert.deepEqual(requestOf(tool('releases_info'), { app: 'web', version: '../x' }), { method: 'GET', path: '/apps/web/releases/..%2Fx', query: {} });
  assert.deepEqual(requestOf(tool('ps_scale'), { app: 'web', formation: { web: 2 } }), { method: 'PATCH', path: '/apps/web/formation', query: {}, body: { web: 2 } });
  assert.deepEqual(requestOf(tool('config_set'), { app: 'web', set: { A: '1' } }), { method: 'PATCH', path: '/apps/web/config', query: {}, body: { set: { A: '1' } } });
  assert.deepEqual(requestOf(tool('apps_rebuild'), { app: 'web' }), { method: 'POST', path: '/apps/web/rebuild', query: {} });
  assert.deepEqual(requestOf(tool('ps_restart'), { app: 'web' }), { method: 'POST', path: '/apps/web/restart', query: {}, body: {} });
  assert.deepEqual(requestOf(tool('apps_destroy'), { app: 'web', confirm: 'web', includeStorage: true }), { method: 'DELETE', path: '/apps/web', query: { includeStorage: true } });
});

test('a call is refused in one sentence: an unknown or missing input, a destructive one without the app\'s name', () => {
  assert.deepEqual(requestOf(tool('apps_info'), { app: 'web', verbose: true }), { refused: 'apps_info takes no input verbose; it takes app.' });
  assert.deepEqual(requestOf(tool('ps_scale'), { app: 'web' }), { refused: 'ps_scale needs formation.' });
  assert.deepEqual(requestOf(tool('config_set'), { app: 'web', unset: ['A'] }), { refused: 'config_set takes no input unset; it takes app, set, restart.' });
  const refusal = /^ps_stop is destructive: give confirm with the app's name \(web\) once the user asked for exactly this; nothing was changed\.$/;
  assert.match((requestOf(tool('ps_stop'), { app: 'web' }) as { refused: string }).refused, refusal);
  assert.match((requestOf(tool('ps_stop'), { app: 'web', confirm: 'other' }) as { refused: string }).refused, refusal);
  assert.deepEqual(requestOf(tool('apps_info'), { app: { name: 'web' } }), { refused: 'apps_info: app must be a string or a number.' });
});

test('config values are withheld from a read token: the names only', () => {
  assert.deepEqual(withheld({ B: '2', A: '1' }, 'read'), { names: ['A', 'B'], values: 'withheld: this token has the read scope; the values are given to a deploy or admin token' });
  assert.deepEqual(withheld({ A: '1' }, 'deploy'), { A: '1' });
  assert.deepEqual(withheld({ A: '1' }, 'admin'), { A: '1' });
});
