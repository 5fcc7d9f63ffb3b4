// The API's error shape for what the routes throw: the status and code each kind of error gets,
// one sentence, and for an internal error an id that the log has with the stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Type } from 'typebox';
import { loadConfig } from '../../server/config.ts';
import type { Services } from '../../server/context.ts';
import { ForbiddenError, LockedError, NotFoundError, UsageError, UserError } from '../../server/errors.ts';
import { configureLog } from '../../server/output/log.ts';
import { route, type ApiRoute } from '../../server/api/route.ts';
import { startApi } from '../../server/transport/http/api.ts';
import { FailureThrottle } from '../../server/transport/http/throttle.ts';

const THROWN: Record<string, () => never> = {
  internal: () => { throw new Error('the disk is on fire'); },
  user: () => { throw new UserError('That value is not allowed.'); },
  usage: () => { throw new UsageError('Give a name.'); },
  missing: () => { throw new NotFoundError('"x"'); },
  locked: () => { throw new LockedError('Another deploy of x is in progress.'); },
  forbidden: () => { throw new ForbiddenError('Only admins may do that.'); },
};

const routes: ApiRoute[] = Object.entries(THROWN).map(([name, fail]) => route({
  method: 'GET', url: `/throw/${name}`, tag: 'test', need: 'read', summary: name,
  response: { 200: Type.Object({}) },
  handle: () => fail(),
}));

/** Just enough of a store for the token check: one token, of an admin key. */
const services = {
  config: loadConfig({ SLIPWAY_DATA_DIR: '/nonexistent', SLIPWAY_BASE_DOMAIN: 'apps.test' }),
  store: {
    tokens: { use: (t: string) => (t === 'slw_good' ? { keyName: 'boss', scope: 'admin' } : undefined) },
    keys: { byName: (n: string) => (n === 'boss' ? { name: 'boss', admin: true } : undefined) },
  },
} as unknown as Services;

test('each kind of error gets its status and code; an internal one an id that is in the log', async (t) => {
  const lines: string[] = [];
  configureLog({ level: 'info', sink: (l) => lines.push(l) });
  t.after(() => configureLog({ level: 'error', sink: (l) => process.stderr.write(l + '\n') }));
  const api = await startApi(services, new FailureThrottle(), routes);
  const server = createServer((req, res) => api.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const get = async (name: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/throw/${name}`, { headers: { authorization: 'Bearer slw_good' } });
    return { status: res.status, body: await res.json() as { error: { message: string; code: string; id?: string } } };
  };
  assert.deepEqual(await get('user'), { status: 422, body: { error: { message: 'That value is not allowed.', code: 'invalid' } } });
  assert.deepEqual(await get('usage'), { status: 400, body: { error: { message: 'Give a name.', code: 'bad_request' } } });
  assert.deepEqual(await get('missing'), { status: 404, body: { error: { message: 'App "x" does not exist.', code: 'not_found' } } });
  assert.deepEqual(await get('locked'), { status: 409, body: { error: { message: 'Another deploy of x is in progress.', code: 'conflict' } } });
  assert.deepEqual(await get('forbidden'), { status: 403, body: { error: { message: 'Only admins may do that.', code: 'forbidden' } } });
  const internal = await get('internal');
  assert.equal(internal.status, 500);
  assert.equal(internal.body.error.code, 'internal');
  assert.match(internal.body.error.id ?? '', /^[0-9a-f]{8}$/);
  assert.equal(internal.body.error.message, `internal error (id ${internal.body.error.id}); the server log has the details`);
  assert.doesNotMatch(JSON.stringify(internal.body), /fire/, 'the cause is not shown');
  const logged = lines.map((l) => JSON.parse(l) as { msg?: string; id?: string; err?: unknown }).find((l) => l.id === internal.body.error.id);
  assert.ok(logged, 'the id is in the log');
  assert.match(JSON.stringify(logged), /the disk is on fire/);
});
