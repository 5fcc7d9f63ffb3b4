// Issue 22, part 3 on the testbed's real pieces (pack, the registry, Kubernetes, Traefik):
// `apps:promote STAGING --to PRODUCTION` makes production answer with staging's body, running the
// very image staging runs (the same digest) without a build, and no new manifest appears in the
// registry: production's repository gains one tag on the digest staging's build pushed. The apps
// are static sites (the offline builder's fastest build); the two pushes differ only in the body.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PackBuilder } from '../../server/build/pack.ts';
import { RegistryApi } from '../../server/build/registry.ts';
import { loadConfig } from '../../server/config.ts';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1Deployment } from '../../server/kube/types.ts';
import type { TestServer } from '../support/harness.ts';
import { deployApp, destroyApps, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, registryAuthEnv } from '../support/testbed.ts';
import { waitForBody } from '../support/ingress.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const ID = randomBytes(3).toString('hex');
const APPS = { staging: `promote-s-${ID}`, production: `promote-p-${ID}` } as const;
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 60_000;
const STAGING_BODY = `staging body ${ID}\n`;
const PRODUCTION_BODY = `production body ${ID}\n`;

describe('apps:promote: production runs staging\'s image by digest, no build, no new manifest', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let builder: PackBuilder | undefined;
  let tb: Record<string, string> | undefined;
  let registry: RegistryApi;
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const host = (app: string) => `${app}.${BASE_DOMAIN}`;
  const digestOf = (image: string) => image.slice(image.indexOf('@') + 1);
  const currentImage = async (app: string) => (JSON.parse((await ssh(`releases ${app} --json`)).stdout) as { image: string; description: string }[])[0]!;
  /** Each app's tags (tag → digest) as the registry lists them. */
  const registryState = async () => Object.fromEntries(await Promise.all(Object.values(APPS).map(async (app) =>
    [app, Object.fromEntries((await registry.tags(app)).map((t) => [t.tag, t.digest]))] as const)));

  before(async () => {
    const env = { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '180' };
    // With the registry client, as the product always has one: the promotion copies within it.
    const started = await startWithApps(NEEDS, APPS, env, { buildTimeoutMs: PUSH_MS, registry: true });
    if (!started) return;
    ({ tb, server: s, builder } = started);
    const config = loadConfig({ SLIPWAY_REGISTRY: tb.SLIPWAY_REGISTRY!, ...registryAuthEnv(), SLIPWAY_DATA_DIR: '/nonexistent' });
    registry = new RegistryApi({ registry: config.registry, gcConfig: undefined, binary: '', auth: config.registryAuth });
  });
  after(() => destroyApps(s, builder, APPS));

  test('staging and production each answer their own push; the promotion makes production answer staging\'s', { timeout: 2 * PUSH_MS + 3 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !tb) return;
    const ingress = tb.SLIPWAY_TEST_INGRESS!;
    const wd = fixtureCopy('static-app');
    writeFileSync(join(wd, 'index.html'), PRODUCTION_BODY);
    await s.commitAll(wd, 'production body');
    await deployApp(s, APPS.production, wd);
    assert.equal(await waitForBody(ingress, host(APPS.production), (b) => b === PRODUCTION_BODY, ROUTE_MS), PRODUCTION_BODY);
    writeFileSync(join(wd, 'index.html'), STAGING_BODY);
    await s.commitAll(wd, 'staging body');
    const stagingPush = await deployApp(s, APPS.staging, wd);
    assert.ok(stagingPush.some((l) => l.startsWith('-----> Building ')), 'a push builds (what the promotion must not do): ' + stagingPush.join('\n'));
    assert.equal(await waitForBody(ingress, host(APPS.staging), (b) => b === STAGING_BODY, ROUTE_MS), STAGING_BODY);

    const stagingDigest = digestOf((await currentImage(APPS.staging)).image);
    const before = await registryState();
    assert.ok(Object.values(before[APPS.staging]!).includes(stagingDigest), JSON.stringify(before));
    const manifestsBefore = new Set(Object.values(before).flatMap((tags) => Object.values(tags)));

    const started = Date.now();
    const r = await ssh(`apps:promote ${APPS.staging} --to ${APPS.production}`);
    t.diagnostic(`promotion took ${Date.now() - started} ms`);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.ok(!lines.some((l) => l.startsWith('-----> Building')), 'no build: ' + r.stdout);
    assert.ok(lines.includes(`-----> Promoting ${APPS.staging} v1 to ${APPS.production}`), r.stdout);
    assert.ok(lines.some((l) => /^ {7}Commits: [0-9a-f]{7} -> [0-9a-f]{7}, 1 new:$/.test(l)), r.stdout);
    assert.ok(lines.includes(`         ${(await s.git(['log', '--format=%h %s', '-1'], { cwd: wd })).stdout.trim()}`), r.stdout);
    assert.ok(lines.includes(`-----> Releasing v2 (promoted from ${APPS.staging} v1)`), r.stdout);
    assert.equal(lines.at(-1), `Promoting ${APPS.staging} v1 to ${APPS.production}... done, v2`);
    assert.equal(await waitForBody(ingress, host(APPS.production), (b) => b === STAGING_BODY, ROUTE_MS), STAGING_BODY);

    // The same digest, from production's own repository, in the release and in what Kubernetes runs.
    const promoted = await currentImage(APPS.production);
    assert.equal(promoted.description, `promoted from ${APPS.staging} v1`);
    assert.equal(promoted.image, `${tb.SLIPWAY_REGISTRY}/slipway/${APPS.production}@${stagingDigest}`);
    const deployments = await new KubeClient(tb.KUBECONFIG!).list<V1Deployment>('apps/v1', 'Deployment', `slipway-${APPS.production}`);
    const web = deployments.find((d) => d.metadata?.name === 'web-v2');
    assert.ok(web, deployments.map((d) => d.metadata?.name).join(', '));
    assert.ok(web.spec!.template.spec!.containers[0]!.image!.endsWith(`/slipway/${APPS.production}@${stagingDigest}`), web.spec!.template.spec!.containers[0]!.image);

    // No new manifest: production gained one tag, on the digest staging's build pushed; staging is as it was.
    const after = await registryState();
    assert.deepEqual(after[APPS.staging], before[APPS.staging]);
    assert.deepEqual(after[APPS.production], { ...before[APPS.production], [`promoted-${APPS.staging}-v1`]: stagingDigest });
    assert.deepEqual(new Set(Object.values(after).flatMap((tags) => Object.values(tags))), manifestsBefore);
    // Staging still answers its own body.
    assert.equal(await waitForBody(ingress, host(APPS.staging), (b) => b === STAGING_BODY, ROUTE_MS), STAGING_BODY);
  });
});
