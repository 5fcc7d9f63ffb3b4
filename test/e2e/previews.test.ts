// Issue 22, part 1 on the testbed's real pieces (pack, the registry, Kubernetes, Traefik): with
// previews on, a pushed branch gets an app of its own in its own namespace, answering at its own
// host through the ingress with only the shared config keys in its pods' Secret; a second push
// updates it; deleting the branch destroys it and its namespace; the limit refuses the next branch
// with one sentence and nothing made; an expired time to live is collected by the reconciler; a
// preview's ResourceQuota is its share of its parent's, and follows an admin's change of it at
// once (issue 35, item 7). The apps are static sites (the offline builder's fastest build).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PackBuilder } from '../../server/build/pack.ts';
import { KubeClient } from '../../server/kube/client.ts';
import type { KubeObject, V1Deployment, V1ResourceQuota } from '../../server/kube/types.ts';
import { quantityValue } from '../../server/kube/quantity.ts';
import { previewAppName } from '../../server/names.ts';
import { reconcilePreviews } from '../../server/ops/previews/preview-reconcile.ts';
import { remoteLines, type TestServer } from '../support/harness.ts';
import { eventually } from '../support/eventually.ts';
import { deployApp, destroyApps, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed } from '../support/testbed.ts';
import { httpThroughIngress, waitForBody } from '../support/ingress.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const ID = randomBytes(3).toString('hex');
const APPS = { parent: `prev-${ID}` } as const;
const BRANCH = 'feature/Login';
const PREVIEW = previewAppName(APPS.parent, BRANCH);
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 60_000;
const GONE_MS = 120_000;
const DAY_MS = 24 * 3600_000;

interface Listed { app: string; branch: string; commit: string | null; url: string }

describe('preview apps of branches on the cluster', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let builder: PackBuilder | undefined;
  let tb: Record<string, string> | undefined;
  let kube: KubeClient;
  let wd: string;
  const host = (app: string) => `${app}.${BASE_DOMAIN}`;
  const ok = async (command: string) => {
    const r = await s!.ssh(s!.admin, command);
    assert.equal(r.exitCode, 0, `${command}: ${r.stderr}`);
    return r.stdout;
  };
  const previews = async () => JSON.parse(await ok(`previews ${APPS.parent} --json`)) as Listed[];
  const setBody = async (body: string) => {
    writeFileSync(join(wd, 'index.html'), body);
    return s!.commitAll(wd, body.trim());
  };
  const pushRef = async (ref: string) => {
    const started = Date.now();
    const r = await s!.git(['push', s!.sshRemote(APPS.parent), ref], { cwd: wd });
    return { code: r.exitCode, lines: remoteLines(r.stderr), ms: Date.now() - started };
  };
  const namespaceGone = (app: string) => eventually(`namespace slipway-${app} to be gone`,
    async () => (await kube.read('v1', 'Namespace', `slipway-${app}`)) === undefined, GONE_MS, 1000);
  /** The config the preview's web pods get: the Secret their envFrom names. */
  const podConfig = async (app: string) => {
    const ns = `slipway-${app}`;
    const web = (await kube.list<V1Deployment>('apps/v1', 'Deployment', ns)).find((d) => d.metadata?.name?.startsWith('web-'));
    assert.ok(web, `no web Deployment in ${ns}`);
    const secretName = web.spec!.template.spec!.containers[0]!.envFrom?.[0]?.secretRef?.name;
    assert.ok(secretName, 'the web container takes its config from a Secret');
    const secret = await kube.read<{ data?: Record<string, string> }>('v1', 'Secret', secretName, ns);
    return Object.fromEntries(Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  };

  before(async () => {
    const started = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '180' }, { buildTimeoutMs: PUSH_MS, registry: true });
    if (!started) return;
    ({ tb, server: s, builder } = started);
    kube = new KubeClient(tb.KUBECONFIG!);
    wd = fixtureCopy('static-app');
  });
  after(async () => {
    // The parent's destroy destroys its previews first; their build caches go here.
    await destroyApps(s, builder, APPS);
    for (const branch of [BRANCH, 'one', 'two', 'small']) await builder?.purgeCache(previewAppName(APPS.parent, branch));
  });

  test('a branch push deploys a preview answering at its own host with the shared key only; a second push updates it; deleting the branch destroys it and its namespace', { timeout: 4 * PUSH_MS + 6 * ROUTE_MS + GONE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !tb) return;
    const ingress = tb.SLIPWAY_TEST_INGRESS!;
    await ok(`config:set ${APPS.parent} LOG_LEVEL=debug DATABASE_URL=postgres://prod`);
    await ok(`previews:enable ${APPS.parent}`);
    await ok(`previews:config ${APPS.parent} --share LOG_LEVEL`);
    const mainBody = `main ${ID}\n`;
    await setBody(mainBody);
    await deployApp(s, APPS.parent, wd);
    assert.equal(await waitForBody(ingress, host(APPS.parent), (b) => b === mainBody, ROUTE_MS), mainBody);

    const body1 = `preview one ${ID}\n`;
    const sha1 = await setBody(body1);
    const p1 = await pushRef(`HEAD:refs/heads/${BRANCH}`);
    assert.equal(p1.code, 0, p1.lines.join('\n'));
    t.diagnostic(`first preview push (new app and namespace) took ${p1.ms} ms`);
    assert.ok(p1.lines.includes(`-----> Deploying preview ${PREVIEW} of ${APPS.parent} (${sha1.slice(0, 7)}) from ${BRANCH}`), p1.lines.join('\n'));
    // Traefik's API knew the preview's service (its name normalizes the `--`): the switch was confirmed there.
    assert.ok(!p1.lines.some((l) => l.includes('the switch is confirmed by the EndpointSlices only')), p1.lines.join('\n'));
    const at = p1.lines.indexOf('=====> Application deployed:');
    assert.equal(p1.lines[at + 1], `       http://${host(PREVIEW)}`, p1.lines.join('\n'));
    assert.equal(await waitForBody(ingress, host(PREVIEW), (b) => b === body1, ROUTE_MS), body1);
    // The parent still answers its own body, and its deploy branch is untouched.
    assert.equal((await httpThroughIngress(ingress, host(APPS.parent))).body, mainBody);
    const config = await podConfig(PREVIEW);
    assert.equal(config.LOG_LEVEL, 'debug');
    assert.equal(Object.hasOwn(config, 'DATABASE_URL'), false, 'an unshared key stays out of the preview\'s pods');
    assert.equal((await podConfig(APPS.parent)).DATABASE_URL, 'postgres://prod');
    assert.deepEqual((await previews()).map((p) => [p.app, p.branch, p.commit]), [[PREVIEW, BRANCH, sha1]]);

    const body2 = `preview two ${ID}\n`;
    const sha2 = await setBody(body2);
    const p2 = await pushRef(`HEAD:refs/heads/${BRANCH}`);
    assert.equal(p2.code, 0, p2.lines.join('\n'));
    t.diagnostic(`second preview push took ${p2.ms} ms`);
    assert.equal(await waitForBody(ingress, host(PREVIEW), (b) => b === body2, ROUTE_MS), body2);
    assert.equal((await previews())[0]?.commit, sha2);

    const p3 = await pushRef(`:refs/heads/${BRANCH}`);
    assert.equal(p3.code, 0, p3.lines.join('\n'));
    assert.ok(p3.lines.includes(`-----> Destroying preview ${PREVIEW} of ${BRANCH}`), p3.lines.join('\n'));
    assert.deepEqual(await previews(), []);
    await namespaceGone(PREVIEW);
    assert.equal((await httpThroughIngress(ingress, host(PREVIEW))).status, 404, 'the ingress no longer routes the preview\'s host');
    assert.equal((await httpThroughIngress(ingress, host(APPS.parent))).body, mainBody);
  });

  test('the limit refuses the next branch with one sentence and makes nothing; an expired time to live is collected by the reconciler', { timeout: 2 * PUSH_MS + ROUTE_MS + 2 * GONE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !tb) return;
    const one = previewAppName(APPS.parent, 'one');
    const two = previewAppName(APPS.parent, 'two');
    await ok(`previews:enable ${APPS.parent}`);
    await ok(`previews:limit ${APPS.parent} 1`);
    const body = `branch one ${ID}\n`;
    await setBody(body);
    const p1 = await pushRef('HEAD:refs/heads/one');
    assert.equal(p1.code, 0, p1.lines.join('\n'));
    assert.equal(await waitForBody(tb.SLIPWAY_TEST_INGRESS!, host(one), (b) => b === body, ROUTE_MS), body);

    const p2 = await pushRef('HEAD:refs/heads/two');
    assert.notEqual(p2.code, 0);
    assert.deepEqual(p2.lines.filter((l) => l.startsWith(' !     ')),
      [` !     ${APPS.parent} already has its 1 preview (previews:limit ${APPS.parent}); delete a branch (git push paas :BRANCH) or raise the limit; nothing was deployed.`], p2.lines.join('\n'));
    assert.ok(!p2.lines.some((l) => l.startsWith('-----> Building')), 'nothing was built: ' + p2.lines.join('\n'));
    assert.equal(await kube.read('v1', 'Namespace', `slipway-${two}`), undefined);
    assert.deepEqual((await previews()).map((p) => p.branch), ['one']);

    // The default time to live is 7 days: a reconciliation a day later keeps the preview, one 8 days later destroys it (its branch stays).
    assert.deepEqual((await reconcilePreviews(s.slipway.services, Date.now() + DAY_MS)).filter((x) => x.parent === APPS.parent), []);
    const removed = (await reconcilePreviews(s.slipway.services, Date.now() + 8 * DAY_MS)).filter((x) => x.parent === APPS.parent);
    assert.deepEqual(removed.map((x) => x.app), [one], JSON.stringify(removed));
    assert.deepEqual(await previews(), []);
    await namespaceGone(one);
    const branches = (await s.git(['ls-remote', '--heads', s.sshRemote(APPS.parent)], { cwd: wd })).stdout;
    assert.match(branches, /refs\/heads\/one$/m, 'the expired preview\'s branch is kept');
  });

  test("a preview's ResourceQuota is its share of its parent's, never larger, and follows an admin's change of the parent's quota at once", { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !tb) return;
    const small = previewAppName(APPS.parent, 'small');
    const hard = async (app: string) => (await kube.read<KubeObject<V1ResourceQuota>>('v1', 'ResourceQuota', 'slipway-quota', `slipway-${app}`))?.spec?.hard ?? {};
    // The attack: the parent limited by an admin; before, each preview got the platform's 10 pods / 2Gi / 4 CPU.
    await ok(`resource:quota ${APPS.parent} --pods 4 --memory 1Gi`);
    await ok(`previews:enable ${APPS.parent}`);
    await ok(`previews:limit ${APPS.parent} 2`);
    const body = `small ${ID}\n`;
    await setBody(body);
    const p = await pushRef('HEAD:refs/heads/small');
    assert.equal(p.code, 0, p.lines.join('\n'));
    assert.equal(await waitForBody(tb.SLIPWAY_TEST_INGRESS!, host(small), (b) => b === body, ROUTE_MS), body, 'the preview runs within its share');
    const parent = await hard(APPS.parent);
    const preview = await hard(small);
    assert.deepEqual([parent.pods, parent['limits.memory']], ['4', '1Gi']);
    assert.deepEqual(preview, {
      pods: '2', 'limits.memory': '512Mi', 'limits.cpu': '2', 'requests.ephemeral-storage': '2Gi', 'limits.ephemeral-storage': '2Gi', persistentvolumeclaims: '5', 'requests.storage': '10Gi',
    });
    // Never above the parent's, and its previews:limit of them together not either.
    assert.deepEqual(Object.keys(preview).sort(), Object.keys(parent).sort());
    for (const [field, value] of Object.entries(preview)) assert.ok(2 * quantityValue(value) <= quantityValue(parent[field]!), `${field}: ${value} of ${parent[field]}`);
    // An admin lowers the parent's quota: the preview's follows as the command returns.
    await ok(`resource:quota ${APPS.parent} --memory 768Mi`);
    assert.equal((await hard(small))['limits.memory'], '384Mi');
  });
});
