// The OpenAPI document is generated from the registered routes: it must be valid OpenAPI 3.1 and
// list every route Fastify registered, with the scheme of auth it uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { loadConfig } from '../../server/config.ts';
import type { Services } from '../../server/context.ts';
import { startApi } from '../../server/transport/http/api.ts';
import { FailureThrottle } from '../../server/transport/http/throttle.ts';
import { apiRoutes } from '../../server/api/index.ts';

type Doc = { openapi: string; paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>> };

/** `METHOD /path/:param` as the document spells it: `METHOD /path/{param}`. */
function documented(doc: Doc, route: string): boolean {
  const [method, path] = route.split(' ') as [string, string];
  const openapiPath = path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  return doc.paths[openapiPath]?.[method.toLowerCase()] !== undefined;
}

/** The registered routes the document leaves out. */
function missing(doc: Doc, registered: readonly string[]): string[] {
  return registered.filter((r) => !documented(doc, r));
}

async function build() {
  const config = loadConfig({ SLIPWAY_DATA_DIR: '/nonexistent', SLIPWAY_BASE_DOMAIN: 'apps.test' });
  const api = await startApi({ config } as Services, new FailureThrottle(), apiRoutes);
  return { api, doc: api.document() as Doc };
}

test('the OpenAPI document is valid OpenAPI 3.1', async () => {
  const { doc } = await build();
  assert.equal(doc.openapi, '3.1.0');
  const result = await new Validator().validate(structuredClone(doc));
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
});

test('every registered route is in the document, and every route declared in server/api/ is registered', async () => {
  const { api, doc } = await build();
  const registered = api.registered();
  assert.ok(registered.length >= apiRoutes.length + 1, `only ${registered.length} routes registered`);
  for (const r of apiRoutes) assert.ok(registered.includes(`${r.method} /api/v1${r.url}`), `${r.method} ${r.url} is not registered`);
  assert.deepEqual(missing(doc, registered), []);
  // Each route answers errors in the one shape, and only the document itself and the dashboard's
  // login and its look at a login code (each takes its own credential in the body) are open without a token.
  const open = ['GET /api/v1/openapi.json', 'POST /api/v1/session', 'POST /api/v1/session/code', 'GET /api/v1/session/options'];
  for (const r of registered) {
    const [method, path] = r.split(' ') as [string, string];
    const op = doc.paths[path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]![method.toLowerCase()]!;
    assert.ok(op.responses['4XX'], `${r} documents no 4XX error body`);
    assert.equal(op.security?.length === 0, open.includes(r), `${r}: only the document and the login are public`);
  }
});

test('every operation has its own operationId', async () => {
  const { doc } = await build();
  const ids = Object.values(doc.paths).flatMap((p) => Object.values(p).map((op) => (op as { operationId?: string }).operationId));
  assert.ok(ids.every((id) => typeof id === 'string' && /^[a-z]+[A-Za-z0-9]*$/.test(id)), JSON.stringify(ids));
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  assert.ok(ids.includes('patchAppsAppConfig') && ids.includes('getJobsIdEvents'));
});

test('the check sees a route the document leaves out', async () => {
  const { api, doc } = await build();
  const cut = structuredClone(doc);
  delete cut.paths['/api/v1/whoami'];
  assert.deepEqual(missing(cut, api.registered()), ['GET /api/v1/whoami']);
});

test('every operation says the scope a token needs for it (x-slipway-scope), as its route declares', async () => {
  const { doc } = await build();
  const scopeOf = (method: string, url: string) => (doc.paths[`/api/v1${url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`]?.[method.toLowerCase()] as { 'x-slipway-scope'?: string } | undefined)?.['x-slipway-scope'];
  for (const r of apiRoutes) assert.equal(scopeOf(r.method, r.url), r.need, `${r.method} ${r.url}`);
  assert.equal(scopeOf('GET', '/apps'), 'read');
  assert.equal(scopeOf('PATCH', '/apps/:app/formation'), 'deploy');
  assert.equal(scopeOf('PATCH', '/apps/:app/quota'), 'admin');
});
