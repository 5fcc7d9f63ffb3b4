// RegistryApi.copy (a promotion's image copy) against a real distribution registry of its own on
// loopback (Debian's docker-registry, as the testbed and install.sh run it: htpasswd auth,
// deletes enabled), in a temporary directory: the manifest lands in the target's repository under
// the same digest with its blobs mounted, not uploaded; deleting it from staging and collecting
// the registry's storage (what Slipway's GC does) leaves the target's copy whole. Skipped where
// the registry binary or htpasswd is not installed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';
import { RegistryApi } from '../../server/build/registry.ts';
import { registryAuthHeaders } from '../../server/build/image.ts';
import { eventually } from '../support/eventually.ts';

const BINARY = '/usr/bin/docker-registry';
const HTPASSWD = '/usr/bin/htpasswd';
const missing = [BINARY, HTPASSWD].filter((p) => !existsSync(p));
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A free loopback port (the registry takes an address, not port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('RegistryApi.copy against a real registry', { skip: missing.length ? `not installed: ${missing.join(', ')}` : false, timeout: 60_000 }, () => {
  let dir: string;
  let proc: ChildProcess | undefined;
  let addr: string;
  let config: string;
  const auth = { username: 'slipway', password: randomBytes(16).toString('hex') };
  const headers = () => registryAuthHeaders(auth);
  let registry: RegistryApi;
  const url = (path: string) => `http://${addr}/v2/${path}`;

  /** Uploads one blob to `repo` in one request. */
  async function upload(repo: string, bytes: Uint8Array<ArrayBuffer>): Promise<string> {
    const digest = sha(bytes);
    const start = await fetch(url(`${repo}/blobs/uploads/`), { method: 'POST', headers: headers() });
    assert.equal(start.status, 202);
    const location = new URL(start.headers.get('location')!, `http://${addr}`);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', headers: { ...headers(), 'content-type': 'application/octet-stream' }, body: bytes });
    assert.equal(put.status, 201, await put.text());
    return digest;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-registry-'));
    addr = `127.0.0.1:${await freePort()}`;
    const pw = await run(HTPASSWD, ['-nbB', '-C', '5', auth.username, auth.password]);
    assert.equal(pw.exitCode, 0, pw.stderr);
    writeFileSync(join(dir, 'htpasswd'), pw.stdout.trim() + '\n');
    config = join(dir, 'config.yml');
    writeFileSync(config, [
      'version: 0.1', 'log:', '  level: warn', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'storage')}`, '  delete:', '    enabled: true',
      'auth:', '  htpasswd:', '    realm: test', `    path: ${join(dir, 'htpasswd')}`, 'http:', `  addr: ${addr}`, '',
    ].join('\n'));
    proc = spawn(BINARY, ['serve', config], { stdio: 'ignore' });
    await eventually('the registry to answer', async () => (await fetch(url(''), { headers: headers() }).then((r) => r.status, () => 0)) === 200);
    registry = new RegistryApi({ registry: addr, gcConfig: config, binary: BINARY, auth });
  });
  after(() => {
    proc?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the same manifest under the target's tag, blobs mounted; staging's deletion and storage GC leave it whole", async () => {
    const layer = new Uint8Array(randomBytes(4096));
    const configBlob = new Uint8Array(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] }, config: {} })));
    const layerDigest = await upload('slipway/staging', layer);
    const configDigest = await upload('slipway/staging', configBlob);
    const manifest = new Uint8Array(Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBlob.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
    })));
    const digest = sha(manifest);
    const put = await fetch(url('slipway/staging/manifests/build-1'), { method: 'PUT', headers: { ...headers(), 'content-type': OCI_MANIFEST }, body: manifest });
    assert.equal(put.status, 201, await put.text());

    const ref = await registry.copy('staging', 'production', digest, 'promoted-staging-v1');
    assert.equal(ref, `${addr}/slipway/production@${digest}`);
    assert.deepEqual(await registry.tags('production'), [{ tag: 'promoted-staging-v1', digest }]);
    const copied = await fetch(url(`slipway/production/manifests/${digest}`), { headers: { ...headers(), accept: OCI_MANIFEST } });
    assert.equal(Buffer.from(await copied.arrayBuffer()).equals(Buffer.from(manifest)), true, 'byte for byte');
    // Again: idempotent (a retried promotion).
    assert.equal(await registry.copy('staging', 'production', digest, 'promoted-staging-v1'), ref);

    // Staging's GC deletes its manifest; the registry's storage GC runs: the target's copy stays whole.
    await registry.remove('staging', digest);
    assert.deepEqual(await registry.tags('staging'), []);
    const collected = await registry.collectStorage();
    assert.equal(collected.ran, true);
    for (const [blob, bytes] of [[layerDigest, layer], [configDigest, configBlob]] as const) {
      const res = await fetch(url(`slipway/production/blobs/${blob}`), { headers: headers() });
      assert.equal(res.status, 200, `${blob} in production`);
      assert.equal(sha(new Uint8Array(await res.arrayBuffer())), sha(bytes));
    }
    assert.deepEqual(await registry.tags('production'), [{ tag: 'promoted-staging-v1', digest }]);
  });

  test('a digest staging does not have is an error, and nothing is tagged in the target', async () => {
    const absent = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(registry.copy('staging', 'elsewhere', absent, 'promoted-staging-v9'), /answered 404/);
    assert.deepEqual(await registry.tags('elsewhere'), []);
  });
});
