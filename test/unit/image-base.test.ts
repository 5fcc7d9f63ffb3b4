// builtOn: whether an image's lowest layers are its run image's (the cluster build's check that
// export built on the run image analyze was given), against a registry's manifests served here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { builtOn, imageLayers } from '../../server/build/image.ts';

const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const manifest = (layers: number[]) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: d(9) }, layers: layers.map((n) => ({ digest: d(n) })) });
const MANIFESTS: Record<string, unknown> = {
  '/v2/slipway/run/manifests/latest': manifest([1, 2]),
  '/v2/slipway/web/manifests/latest': manifest([1, 2, 3, 4]),
  '/v2/slipway/thief/manifests/latest': manifest([5, 6, 3, 4]),
  '/v2/slipway/short/manifests/latest': manifest([1]),
  '/v2/slipway/index/manifests/latest': { manifests: [{ digest: d(7), platform: { os: 'linux', architecture: 'arm64' } }, { digest: d(8), platform: { os: 'linux', architecture: 'amd64' } }] },
  [`/v2/slipway/index/manifests/${d(8)}`]: manifest([1, 2, 5]),
};

test('an image is on its run image only when its lowest layers are all of the run image\'s, in order', async () => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    const body = MANIFESTS[req.url ?? ''];
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { errors: [] }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    const reg = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const auth = { username: 'slipway', password: 'pw' };
    assert.deepEqual(await imageLayers(`${reg}/slipway/web`, auth), [d(1), d(2), d(3), d(4)]);
    assert.equal(await builtOn(`${reg}/slipway/web`, `${reg}/slipway/run`, auth), true);
    // Another app's image under this one's layers, or a run image of more layers than the image has: no.
    assert.equal(await builtOn(`${reg}/slipway/thief`, `${reg}/slipway/run`, auth), false);
    assert.equal(await builtOn(`${reg}/slipway/short`, `${reg}/slipway/run`, auth), false);
    // An index: its linux/amd64 image.
    assert.equal(await builtOn(`${reg}/slipway/index`, `${reg}/slipway/run`, auth), true);
    // An image that cannot be read is an error, not a yes or no.
    await assert.rejects(builtOn(`${reg}/slipway/missing`, `${reg}/slipway/run`, auth), /answered 404/);
    assert.ok(seen.every((h) => h === `Basic ${Buffer.from('slipway:pw').toString('base64')}`));
  } finally {
    server.close();
  }
});
