// e2e: alone (its gc runs the registry's storage garbage-collect, which must not meet other files' pushes)
// Issue 13, item 6 on the testbed's real pieces (pack, the registry, Kubernetes, Traefik): with
// SLIPWAY_KEEP_RELEASES=2, after 4 pushes only the images of the last 2 releases stay in the
// registry (the same rule as the default 10 after 12, at a smaller scale), the registry's storage is
// garbage-collected, `rollback` to the oldest kept release runs it again with no build, and a
// rollback to a collected one says so in one sentence. The app is a static site (the offline
// builder's fastest build); each push changes only its body.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PackBuilder } from '../../server/build/pack.ts';
import { RegistryApi } from '../../server/build/registry.ts';
import { loadConfig } from '../../server/config.ts';
import { kubeDeployer, registryApi } from '../../server/backends.ts';
import { startTestServer, type TestServer } from '../support/harness.ts';
import { clusterEnv, fixtureCopy, needTestbed, registryAuthEnv, testbedEnv, testbedPack } from '../support/testbed.ts';
import { registryAuthHeaders } from '../../server/build/image.ts';
import { waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS', 'SLIPWAY_REGISTRY_GC_CONFIG', 'SLIPWAY_REGISTRY_BINARY'] as const;
const BASE_DOMAIN = 'slipway.test';
const APP = `gc-${randomBytes(3).toString('hex')}`;
const PUSHES = 4;
const KEEP = 2;
const PUSH_MS = 5 * 60_000;
const ROUTE_MS = 30_000;
const body = (n: number) => `gc release ${n}\n`;

describe('garbage collection keeps the last SLIPWAY_KEEP_RELEASES releases and rollback targets', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let registryUrl: string;
  /** The testbed registry refuses requests without its credential. */
  const auth = () => registryAuthHeaders(loadConfig(registryAuthEnv()).registryAuth);
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const host = `${APP}.${BASE_DOMAIN}`;
  /** The app's `build-N` tags and the distinct digests of all its tags, from the registry's API. */
  const registryState = async () => {
    const res = await fetch(`${registryUrl}/v2/slipway/${APP}/tags/list`, { headers: auth() });
    const tags = res.status === 404 ? [] : ((await res.json()) as { tags: string[] | null }).tags ?? [];
    const api = new RegistryApi({ registry: tb!.SLIPWAY_REGISTRY!, gcConfig: undefined, binary: '', auth: loadConfig(registryAuthEnv()).registryAuth });
    const digests = new Set((await api.tags(APP)).map((t) => t.digest));
    return { buildTags: tags.filter((t) => t.startsWith('build-')).sort((a, b) => Number(a.slice(6)) - Number(b.slice(6))), digests };
  };
  const storageBytes = () => Number(execFileSync('du', ['-sb', join(dirname(tb!.SLIPWAY_REGISTRY_GC_CONFIG!), 'storage')], { encoding: 'utf8' }).split('\t')[0]);

  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    registryUrl = `http://${tb.SLIPWAY_REGISTRY}`;
    const env = {
      SLIPWAY_BUILDER: tb.SLIPWAY_BUILDER!, SLIPWAY_REGISTRY: tb.SLIPWAY_REGISTRY!, SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, ...clusterEnv(),
      KUBECONFIG: tb.KUBECONFIG!, SLIPWAY_ROLLOUT_TIMEOUT_S: '120', SLIPWAY_KEEP_RELEASES: String(KEEP),
      SLIPWAY_REGISTRY_GC_CONFIG: tb.SLIPWAY_REGISTRY_GC_CONFIG!, SLIPWAY_REGISTRY_BINARY: tb.SLIPWAY_REGISTRY_BINARY!, ...registryAuthEnv(),
    };
    const config = loadConfig({ ...env, SLIPWAY_DATA_DIR: '/nonexistent' });
    const deployer = kubeDeployer(config);
    const builder = new PackBuilder(testbedPack(tb.SLIPWAY_PACK!, PUSH_MS, `e2e-${APP}`));
    const registry = registryApi(config);
    s = await startTestServer(env, { builder, deployer, registry });
    assert.equal((await ssh(`apps:create ${APP}`)).exitCode, 0);
  });
  after(async () => {
    if (!s) return;
    await ssh(`apps:destroy ${APP} --confirm ${APP}`);
    await s.close();
  });

  test(`after ${PUSHES} pushes only ${KEEP} images remain, storage is collected, rollback to the oldest kept one works with no build`, { timeout: PUSHES * PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const server: TestServer = s;
    const wd = fixtureCopy('static-app');
    const times: number[] = [];
    let firstConfigBlob = '';
    for (let n = 1; n <= PUSHES; n++) {
      writeFileSync(join(wd, 'index.html'), body(n));
      await server.commitAll(wd, `release ${n}`);
      const started = Date.now();
      const r = await server.git(['push', server.sshRemote(APP), 'main'], { cwd: wd });
      times.push(Date.now() - started);
      assert.equal(r.exitCode, 0, r.stderr);
      if (n === 1) {
        // v1's image config: a blob only v1 has, for telling whether storage GC really ran.
        const res = await fetch(`${registryUrl}/v2/slipway/${APP}/manifests/build-1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json', ...auth() } });
        firstConfigBlob = ((await res.json()) as { config: { digest: string } }).config.digest;
      }
    }
    t.diagnostic(`pushes: ${times.map((ms) => (ms / 1000).toFixed(1)).join(' ')} s (total ${(times.reduce((a, b) => a + b, 0) / 1000).toFixed(0)} s)`);
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b === body(PUSHES), ROUTE_MS), body(PUSHES));

    // The collection after each deploy runs in the background: wait for the last one.
    const kept = await eventually(`the registry holds only the last ${KEEP} images`, async () => {
      const st = await registryState();
      return st.buildTags.length === KEEP && st.digests.size === KEEP ? st : undefined;
    }, 30_000);
    assert.deepEqual(kept.buildTags, Array.from({ length: KEEP }, (_, i) => `build-${PUSHES - KEEP + 1 + i}`));
    const report = JSON.parse((await ssh(`apps:report ${APP} --json`)).stdout) as { images: { count: number; bytes: number }; cacheBytes: number };
    assert.equal(report.images.count, KEEP);
    t.diagnostic(`apps:report: ${KEEP} images ${report.images.bytes} bytes, build cache ${report.cacheBytes} bytes`);

    // Storage: v1's deleted image still has its blobs until the registry's garbage-collect runs.
    const blobUrl = `${registryUrl}/v2/slipway/${APP}/blobs/${firstConfigBlob}`;
    assert.equal((await fetch(blobUrl, { method: 'HEAD', headers: auth() })).status, 200, 'before storage GC the blob is still stored');
    const before = storageBytes();
    const started = Date.now();
    const gc = await ssh('gc');
    const gcMs = Date.now() - started;
    assert.equal(gc.exitCode, 0, gc.stderr);
    assert.match(gc.stdout, /Registry storage collected in [\d.]+ s: \d+ blobs and \d+ manifests deleted\./, gc.stdout);
    const after = storageBytes();
    t.diagnostic(`gc: ${gcMs} ms; registry storage ${before} -> ${after} bytes; ${gc.stdout.trim().split('\n').join(' | ')}`);
    assert.equal((await fetch(blobUrl, { method: 'HEAD', headers: auth() })).status, 404, 'storage GC deleted the blob only v1 had');

    // rollback to the oldest kept release: no build, and the ingress answers with its body.
    const oldest = PUSHES - KEEP + 1;
    const buildsBefore = (JSON.parse((await ssh(`builds ${APP} --json`)).stdout) as unknown[]).length;
    const rb = await ssh(`rollback ${APP} v${oldest}`);
    assert.equal(rb.exitCode, 0, rb.stderr + rb.stdout);
    assert.match(rb.stdout, new RegExp(`Rolling back ${APP} to v${oldest}\\.\\.\\. done, v${PUSHES + 1}`));
    assert.equal((JSON.parse((await ssh(`builds ${APP} --json`)).stdout) as unknown[]).length, buildsBefore, 'no build');
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b === body(oldest), ROUTE_MS), body(oldest));

    // rollback to a collected release: one sentence, exit 1, nothing changed.
    const refused = await ssh(`rollback ${APP} v1`);
    assert.equal(refused.exitCode, 1);
    assert.equal(refused.stderr.trim(), `!     v1's image was removed by garbage collection (SLIPWAY_KEEP_RELEASES=${KEEP} keeps the last ${KEEP}); push again or roll back to v${oldest} or later.`);
    assert.equal((JSON.parse((await ssh(`releases ${APP} --json`)).stdout) as unknown[]).length, PUSHES + 1);
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host, (b) => b === body(oldest), ROUTE_MS), body(oldest));
  });
});
