// e2e: alone (its gc runs the registry's storage garbage-collect, which must not meet other files' pushes)
// The registry is closed (issue 16, item 1). It used to answer anyone who reached it: any app's
// code could list every repository, read another app's layers (its source), delete its manifests
// (its rollback targets) and push to slipway/OTHER:latest, which OTHER's next build starts from.
// Now every request needs the credential only the server and the nodes' containerd hold
// (distribution's htpasswd basic auth; install.sh and the testbed set it up the same way).
//
// On the testbed the registry listens on 127.0.0.1:5000, which no pod can reach (a pod's loopback
// is its own); so the requests a pod's code would make are made from the host, without the
// credential, as that code would have to: the catalog, a tag list, a manifest, a blob read, a
// DELETE, an upload and a manifest PUT over slipway/APP:latest all get 401, with a wrong
// credential too, and nothing changed. With the credential everything the server does still
// works: pack publishes three builds, the node's containerd pulls them (the app answers through
// the ingress), garbage collection deletes the oldest image (the second one is the rollback
// target, always kept) and collects its storage, apps:report
// reads the sizes, and doctor's registry check pushes, pulls and sees anonymous access refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PackBuilder } from '../../server/build/pack.ts';
import { RegistryApi } from '../../server/build/registry.ts';
import { MANIFEST_TYPES, registryAuthHeaders } from '../../server/build/image.ts';
import { doctorChecks } from '../../server/ops/admin/doctor.ts';
import { loadConfig, type Config } from '../../server/config.ts';
import { kubeDeployer, registryApi } from '../../server/backends.ts';
import { startTestServer, type TestServer } from '../support/harness.ts';
import { clusterEnv, fixtureCopy, needTestbed, registryAuthEnv, testbedEnv, testbedPack } from '../support/testbed.ts';
import { waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_REGISTRY_AUTH_FILE', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG',
  'SLIPWAY_TEST_INGRESS', 'SLIPWAY_REGISTRY_GC_CONFIG', 'SLIPWAY_REGISTRY_BINARY'] as const;
const BASE_DOMAIN = 'slipway.test';
const APP = `registry-${randomBytes(3).toString('hex')}`;
const PUSH_MS = 5 * 60_000;
const ROUTE_MS = 30_000;
const body = (n: number) => `registry release ${n}\n`;

describe('the registry refuses every request without its credential; the server and the node use it', { timeout: 20 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let config: Readonly<Config>;
  let base: string;
  let headers: Record<string, string>;
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const host = `${APP}.${BASE_DOMAIN}`;
  /** The manifest (text, digest, config blob) of a tag, read with the credential. */
  const manifest = async (tag: string) => {
    const res = await fetch(`${base}/v2/slipway/${APP}/manifests/${tag}`, { headers: { accept: MANIFEST_TYPES, ...headers } });
    assert.equal(res.status, 200, `${APP}:${tag} with the credential`);
    const text = await res.text();
    return { text, type: res.headers.get('content-type')!, digest: res.headers.get('docker-content-digest')!, config: (JSON.parse(text) as { config: { digest: string } }).config.digest };
  };

  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    base = `http://${tb.SLIPWAY_REGISTRY}`;
    const env = {
      SLIPWAY_BUILDER: tb.SLIPWAY_BUILDER!, SLIPWAY_REGISTRY: tb.SLIPWAY_REGISTRY!, SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, KUBECONFIG: tb.KUBECONFIG!, ...clusterEnv(),
      SLIPWAY_ROLLOUT_TIMEOUT_S: '120', SLIPWAY_KEEP_RELEASES: '1', ...registryAuthEnv(),
      SLIPWAY_REGISTRY_GC_CONFIG: tb.SLIPWAY_REGISTRY_GC_CONFIG!, SLIPWAY_REGISTRY_BINARY: tb.SLIPWAY_REGISTRY_BINARY!,
    };
    config = loadConfig({ ...env, SLIPWAY_DATA_DIR: '/nonexistent' });
    assert.ok(config.registryAuth, 'the testbed gives the registry credential');
    headers = registryAuthHeaders(config.registryAuth);
    const registry = registryApi(config);
    s = await startTestServer(env, { builder: new PackBuilder(testbedPack(tb.SLIPWAY_PACK!, PUSH_MS)), deployer: kubeDeployer(config), registry });
    assert.equal((await ssh(`apps:create ${APP}`)).exitCode, 0);
  });
  after(async () => {
    if (!s) return;
    await ssh(`apps:destroy ${APP} --confirm ${APP}`);
    await s.close();
  });

  let first: Awaited<ReturnType<typeof manifest>>;
  test('with the credential: pack publishes, the node pulls, GC deletes the oldest image and collects its storage', { timeout: 3 * PUSH_MS + 3 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const wd = fixtureCopy('static-app');
    for (const n of [1, 2, 3]) {
      writeFileSync(join(wd, 'index.html'), body(n));
      await s.commitAll(wd, `release ${n}`);
      const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
      assert.equal(r.exitCode, 0, r.stderr);
      // Pulled by the node's containerd with the credential, or the pod would never start.
      assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b === body(n), ROUTE_MS), body(n));
      if (n === 1) first = await manifest('build-1');
    }
    // GC after the deploy (SLIPWAY_KEEP_RELEASES=1, and v2 as the rollback target) deleted
    // build-1's manifest through the API.
    const api = new RegistryApi({ registry: config.registry, gcConfig: undefined, binary: '', auth: config.registryAuth });
    await eventually('GC to keep only the newest image', async () => (await api.tags(APP)).every((x) => x.tag !== 'build-1'), 30_000);
    const report = JSON.parse((await ssh(`apps:report ${APP} --json`)).stdout) as { images: { count: number; bytes: number } };
    assert.equal(report.images.count, 2);
    assert.ok(report.images.bytes > 0);
    const gc = await ssh('gc');
    assert.equal(gc.exitCode, 0, gc.stderr);
    assert.match(gc.stdout, /Registry storage collected in [\d.]+ s: \d+ blobs and \d+ manifests deleted\./, gc.stdout);
    assert.equal((await fetch(`${base}/v2/slipway/${APP}/blobs/${first.config}`, { method: 'HEAD', headers })).status, 404, 'storage GC removed the blob only build-1 had');
  });

  test("without it (as a pod's code would be) the catalog, reads, a DELETE, an upload and a manifest PUT all get 401; nothing changes", async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const current = await manifest('build-3');
    const repo = `${base}/v2/slipway/${APP}`;
    const wrong = { authorization: `Basic ${Buffer.from(`${config.registryAuth!.username}:not-the-password`).toString('base64')}` };
    for (const [what, auth] of [['no credential', {}], ['a wrong password', wrong]] as const) {
      const attempts: [string, string, RequestInit][] = [
        ['list every repository', `${base}/v2/_catalog`, {}],
        ["list the app's tags", `${repo}/tags/list`, {}],
        ['read its manifest', `${repo}/manifests/build-3`, { headers: { accept: MANIFEST_TYPES } }],
        ['read a layer (its config blob)', `${repo}/blobs/${current.config}`, {}],
        ['delete its manifest (its rollback target)', `${repo}/manifests/${current.digest}`, { method: 'DELETE' }],
        ['start an upload', `${repo}/blobs/uploads/`, { method: 'POST' }],
        ['put a manifest over slipway/APP:latest', `${repo}/manifests/latest`, { method: 'PUT', body: current.text, headers: { 'content-type': current.type } }],
      ];
      for (const [action, url, init] of attempts) {
        const res = await fetch(url, { ...init, headers: { ...init.headers as Record<string, string>, ...auth } });
        await res.arrayBuffer();
        assert.equal(res.status, 401, `${action} with ${what}: ${res.status}`);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm=/, action);
      }
    }
    // Nothing was deleted or replaced: the app's image is as the server pushed it.
    assert.equal((await manifest('build-3')).digest, current.digest);
    assert.equal((await manifest('latest')).digest, current.digest);
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b === body(3), ROUTE_MS), body(3));
  });

  test("doctor's registry check pushes and pulls with the credential and sees requests without it refused", async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const check = doctorChecks(config, {}).find((c) => c.name === 'registry')!;
    const outcome = await check.run(new AbortController().signal);
    assert.deepEqual(outcome, { ok: true, detail: `push to ${config.registry}, pull from ${config.registryPull}, refused without credentials` });
    // Without the credential the same check fails, saying what it lacks.
    const open = loadConfig({ SLIPWAY_REGISTRY: config.registry, SLIPWAY_DATA_DIR: '/nonexistent' });
    await assert.rejects(doctorChecks(open, {}).find((c) => c.name === 'registry')!.run(new AbortController().signal), /push to .*: the registry asks for a credential Slipway does not have or that it refuses \(401\)/);
  });
});
