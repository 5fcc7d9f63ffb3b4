// The registry gate (server/cluster-build/gate.ts) in front of a stand-in registry: what a build
// pod's credential reaches, and what reaches the registry.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryGate, repositoryOf } from '../../server/cluster-build/gate.ts';

const PLATFORM = { username: 'slipway', password: 'platform-secret' };
/** What the stand-in registry was asked: method, path with query, and the credential it got. */
const asked: { method: string; path: string; auth: string }[] = [];
let registry: Server;
let gate: RegistryGate;
let at: string;

before(async () => {
  registry = createServer((req, res) => {
    asked.push({ method: req.method!, path: req.url!, auth: req.headers.authorization ?? '' });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url!.includes('/blobs/uploads/')) {
        const { port } = registry.address() as AddressInfo;
        res.writeHead(202, { location: `http://127.0.0.1:${port}/v2/slipway/web/blobs/uploads/u1?_state=x`, 'docker-upload-uuid': 'u1' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'docker-content-digest': 'sha256:abc' }).end(JSON.stringify({ got: Buffer.concat(chunks).toString() }));
    });
  });
  await new Promise<void>((ok) => registry.listen(0, '127.0.0.1', ok));
  gate = new RegistryGate(`127.0.0.1:${(registry.address() as AddressInfo).port}`, PLATFORM);
  at = await gate.listen('127.0.0.1');
});
after(async () => {
  await gate.close();
  registry.close();
});

const basic = (c: { username: string; password: string }) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
async function call(path: string, init: { method?: string; auth?: string; body?: string } = {}) {
  const res = await fetch(`http://${at}${path}`, { method: init.method ?? 'GET', headers: init.auth ? { authorization: init.auth } : {}, body: init.body, redirect: 'manual' });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

test('a pod\'s credential reaches its app\'s image and cache repositories, pulls the run image, and nothing else', async () => {
  const cred = gate.open('build-a');
  const auth = basic(cred);
  gate.allow('build-a', { push: ['slipway/web', 'slipway-cache/web'], pull: ['stack/run'] });
  asked.length = 0;
  // The API's base answers here; the registry is not asked.
  assert.equal((await call('/v2/', { auth })).status, 200);
  assert.equal(asked.length, 0);
  // Its own repositories, every method a push uses, with the registry's credential instead of the pod's.
  for (const [method, path] of [['GET', '/v2/slipway/web/manifests/latest'], ['HEAD', '/v2/slipway-cache/web/manifests/latest'], ['PUT', '/v2/slipway/web/manifests/build-7'], ['PATCH', '/v2/slipway/web/blobs/uploads/u1?_state=x'], ['GET', '/v2/stack/run/manifests/1']] as const) {
    const r = await call(path, { method, auth, ...(method === 'PUT' ? { body: 'manifest' } : {}) });
    assert.equal(r.status, 200, `${method} ${path}`);
  }
  assert.deepEqual(asked.map((a) => a.auth), asked.map(() => basic(PLATFORM)));
  assert.equal(JSON.parse((await call('/v2/slipway/web/manifests/x', { method: 'PUT', auth, body: 'the body' })).body).got, 'the body');
  // A client cancels the upload it started to see whether it may push.
  assert.equal((await call('/v2/slipway/web/blobs/uploads/u1?_state=x', { method: 'DELETE', auth })).status, 200);
  // An upload's next URL comes back to the gate, as a path.
  const upload = await call('/v2/slipway/web/blobs/uploads/', { method: 'POST', auth });
  assert.equal(upload.status, 202);
  assert.equal(upload.headers.get('location'), '/v2/slipway/web/blobs/uploads/u1?_state=x');
  // Another app's image or cache, the catalog, deletes, and pushes to the run image: refused, the registry never asked.
  asked.length = 0;
  for (const [method, path] of [['GET', '/v2/slipway/other/manifests/latest'], ['GET', '/v2/slipway-cache/other/blobs/sha256:1'], ['GET', '/v2/_catalog'], ['DELETE', '/v2/slipway/web/manifests/sha256:1'], ['PUT', '/v2/stack/run/manifests/1'], ['GET', '/v2/slipway/web/../other/manifests/latest'], ['GET', '/v2/slipway/web%2F..%2Fother/manifests/latest'], ['GET', '/v2/slipway/webx/manifests/latest']] as const) {
    const r = await call(path, { method, auth });
    assert.equal(r.status, 403, `${method} ${path}`);
    assert.equal(JSON.parse(r.body).errors[0].code, 'DENIED');
  }
  assert.equal(asked.length, 0);
  // A mount from another app's repository becomes a plain upload; from the run image it stays.
  await call('/v2/slipway/web/blobs/uploads/?mount=sha256:1&from=slipway/other', { method: 'POST', auth });
  await call('/v2/slipway/web/blobs/uploads/?mount=sha256:2&from=stack/run', { method: 'POST', auth });
  assert.deepEqual(asked.map((a) => a.path), ['/v2/slipway/web/blobs/uploads/', '/v2/slipway/web/blobs/uploads/?mount=sha256:2&from=stack/run']);
});

test('no credential, a wrong one, a spare\'s before a push takes it, or one whose pod is gone reaches nothing', async () => {
  const spare = gate.open('build-spare');
  asked.length = 0;
  const none = await call('/v2/slipway/web/manifests/latest');
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /^Basic /);
  assert.equal((await call('/v2/', { auth: basic({ ...spare, password: 'wrong' }) })).status, 401);
  assert.equal((await call('/v2/', { auth: basic(PLATFORM) })).status, 401, 'the registry\'s own credential is not the gate\'s');
  assert.equal((await call('/v2/slipway/web/manifests/latest', { auth: basic(spare) })).status, 403);
  gate.allow('build-spare', { push: ['slipway/web'], pull: [] });
  assert.equal((await call('/v2/slipway/web/manifests/latest', { auth: basic(spare) })).status, 200);
  gate.revoke('build-spare');
  assert.equal((await call('/v2/slipway/web/manifests/latest', { auth: basic(spare) })).status, 401);
  assert.equal(asked.length, 1);
  assert.throws(() => gate.allow('build-spare', { push: [], pull: [] }), /no credential/);
  // An app whose repository is the run image's may only pull it.
  const run = gate.open('build-run');
  gate.allow('build-run', { push: ['slipway/run'], pull: ['slipway/run'] });
  assert.equal((await call('/v2/slipway/run/manifests/1', { method: 'PUT', auth: basic(run), body: 'x' })).status, 403);
  assert.equal((await call('/v2/slipway/run/manifests/1', { auth: basic(run) })).status, 200);
});

test('a path names a repository only when the API\'s next part follows its name', () => {
  assert.equal(repositoryOf('/v2/slipway/web/manifests/latest', ['slipway/web']), 'slipway/web');
  assert.equal(repositoryOf('/v2/slipway/web/tags/list', ['slipway/web']), 'slipway/web');
  assert.equal(repositoryOf('/v2/slipway/web/referrers/sha256:1', ['slipway/web']), undefined);
  assert.equal(repositoryOf('/v2/slipway/web/x/manifests/latest', ['slipway/web']), undefined);
});
