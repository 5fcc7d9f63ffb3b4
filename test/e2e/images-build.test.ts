// images/build.sh for real (the script install.sh runs for the database images), against the
// testbed's Docker engine and a registry of this test's own: Debian's docker-registry on a loopback
// port, closed with htpasswd as install.sh closes its own. What is proved:
//   - the Valkey image is built from Debian's packages through the engine's API and pushed with the
//     registry's credential; the registry then holds slipway/valkey at the tag `--tags` names, as a
//     non-root image whose entry point is slipway-valkey;
//   - a second run finds the tag in the registry and builds nothing;
//   - a wrong credential fails the push with one sentence naming it, exit 1, and names no image.
// (The testbed's own 45-data-images.sh runs the same script; the install e2e sees install.sh find
// the testbed's images by their tags.) Outside CI a missing testbed piece skips the tests, saying
// why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';
import { freePort } from '../support/harness.ts';
import { needTestbed, testbedEnv } from '../support/testbed.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY_BINARY'] as const;
const script = join(import.meta.dirname, '..', '..', 'images', 'build.sh');
const USER = 'images-e2e';
const PASSWORD = `p${Date.now()}"\\x`;

describe('images/build.sh against a real engine and a closed registry', { timeout: 10 * 60_000 }, () => {
  const tb = testbedEnv(NEEDS);
  let dir = '';
  let registry: ChildProcess | undefined;
  let addr = '';
  /** slipway/valkey:TAG, once the first test built it. */
  let built = '';
  const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const build = (auth: string, ...names: string[]) => run('bash', [script, '--engine', tb!.DOCKER_HOST!.replace(/^unix:\/\//, ''), '--registry', addr,
    '--auth', auth, '--cache', join(dir, 'cache'), ...names], { timeoutMs: 8 * 60_000 });

  before(async () => {
    if (!tb) return;
    dir = mkdtempSync(join(tmpdir(), 'slipway-images-e2e-'));
    const hash = await run('htpasswd', ['-niB', '-C', '5', USER], { input: PASSWORD });
    assert.equal(hash.exitCode, 0, hash.stderr);
    writeFileSync(join(dir, 'htpasswd'), hash.stdout);
    writeFileSync(join(dir, 'auth'), `${USER}:${PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'wrong'), `${USER}:not-the-password\n`, { mode: 0o600 });
    addr = `127.0.0.1:${await freePort()}`;
    writeFileSync(join(dir, 'config.yml'), [
      'version: 0.1', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`,
      'auth:', '  htpasswd:', '    realm: images-e2e', `    path: ${join(dir, 'htpasswd')}`, 'http:', `  addr: ${addr}`, '',
    ].join('\n'));
    registry = spawn(tb.SLIPWAY_REGISTRY_BINARY!, ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
    await eventually(() => `the registry at ${addr}`, async () => (await fetch(`http://${addr}/v2/`).then((r) => r.status === 401, () => false)) || undefined, 30_000);
  });

  after(async () => {
    registry?.kill();
    // The engine's copy of what the test built (the layers stay: the testbed's own image shares them).
    if (tb && built) await run('docker', ['--host', tb.DOCKER_HOST!, 'rmi', `${addr}/${built}`]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const manifest = async (ref: string) => {
    const [repo, tag] = ref.split(':');
    const r = await fetch(`http://${addr}/v2/${repo}/manifests/${tag}`, { headers: { authorization: basic, accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
    if (r.status !== 200) return undefined;
    const m = await r.json() as { config: { digest: string } };
    const config = await fetch(`http://${addr}/v2/${repo}/blobs/${m.config.digest}`, { headers: { authorization: basic } }).then((c) => c.json()) as { config: { User?: string; Entrypoint?: string[] } };
    return config.config;
  };

  test('builds Valkey from Debian\'s packages and pushes it with the credential; a second run builds nothing', async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    const want = (await run('bash', [script, '--tags', 'valkey'])).stdout.trim();
    const first = await build(join(dir, 'auth'), 'valkey');
    assert.equal(first.exitCode, 0, first.stderr);
    built = want.split(' ')[1]!;
    assert.equal(first.stdout.trim(), want);
    assert.match(first.stderr, new RegExp(`^images: ${addr}/slipway/valkey:[0-9a-f]{12} built and pushed in \\d+ s$`, 'm'));
    t.diagnostic(first.stderr.trim().split('\n').at(-1)!);
    const config = await manifest(want.split(' ')[1]!);
    assert.deepEqual({ user: config?.User, entrypoint: config?.Entrypoint }, { user: '999:999', entrypoint: ['/usr/local/bin/slipway-valkey'] });
    const again = await build(join(dir, 'auth'), 'valkey');
    assert.equal(again.exitCode, 0, again.stderr);
    assert.equal(again.stdout.trim(), want);
    assert.equal(again.stderr.trim(), `images: ${addr}/${want.split(' ')[1]} is in the registry already`);
  });

  test('a wrong credential fails the push in one sentence, naming no image', async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    const r = await build(join(dir, 'wrong'), 'valkey');
    assert.equal(r.exitCode, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr.trim().split('\n').at(-1)!, new RegExp(`^images: error: pushing ${addr}/slipway/valkey:[0-9a-f]{12} failed: .*(unauthorized|authentication required|no basic auth credentials)`, 'i'));
  });
});
