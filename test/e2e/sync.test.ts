// Issue 22, part 2 on the testbed's real pieces (pack, the registry, Kubernetes, Traefik): an app
// follows a repository on a forge (a local bare repository served over smart HTTP plays it). A
// signed GitHub push event deploys the commit and the app answers its body through the ingress; a
// wrong signature and a replayed delivery deploy nothing; polling picks up the next commit; with
// previews on, a push of another branch at the forge deploys its preview, and the branch's
// deletion there destroys it and its namespace. The apps are static sites.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PackBuilder } from '../../server/build/pack.ts';
import { KubeClient } from '../../server/kube/client.ts';
import { previewAppName } from '../../server/names.ts';
import { pollSyncs } from '../../server/ops/sync/sync-poll.ts';
import type { TestServer } from '../support/harness.ts';
import { eventually } from '../support/eventually.ts';
import { githubDeletion, githubPush, githubSignature, startForge, type TestForge } from '../support/forge.ts';
import { destroyApps, startWithApps } from '../support/on-testbed.ts';
import { needTestbed } from '../support/testbed.ts';
import { httpThroughIngress, waitForBody } from '../support/ingress.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const ID = randomBytes(3).toString('hex');
const APPS = { app: `sync-${ID}` } as const;
const REPO = `site-${ID}`;
const BRANCH = 'feature-x';
const PREVIEW = previewAppName(APPS.app, BRANCH);
const JOB_MS = 10 * 60_000;
const ROUTE_MS = 60_000;
const GONE_MS = 120_000;

interface Answer { status: number; json: { message: string; job?: { id: string } } }

describe('deploys from a forge on the cluster: webhook, polling, previews of its branches', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let builder: PackBuilder | undefined;
  let tb: Record<string, string> | undefined;
  let forge: TestForge | undefined;
  let secret = '';
  const host = (app: string) => `${app}.${BASE_DOMAIN}`;
  const ok = async (command: string) => {
    const r = await s!.ssh(s!.admin, command);
    assert.equal(r.exitCode, 0, `${command}: ${r.stderr}`);
    return r.stdout;
  };
  const site = (body: string) => ({ 'index.html': body });
  async function deliver(body: string, headers: Record<string, string>): Promise<Answer> {
    const res = await fetch(`http://127.0.0.1:${s!.slipway.httpPort}/hooks/${APPS.app}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, json: JSON.parse(await res.text()) as Answer['json'] };
  }
  const signed = (body: string, key = secret, id = randomUUID()) =>
    ({ 'x-github-event': 'push', 'x-github-delivery': id, 'x-hub-signature-256': githubSignature(key, body) });
  /** Waits for a job to end and asserts it succeeded. */
  const succeeded = (id: string) => eventually(`job ${id} to end`, async () => {
    const j = s!.slipway.services.store.jobs.get(id);
    return j && j.status !== 'running' && j.status !== 'queued' ? j : undefined;
  }, JOB_MS, 200).then((j) => assert.equal(j.status, 'succeeded', `job ${id}: ${j.error ?? ''}`));
  const releases = async () => (JSON.parse(await ok(`releases ${APPS.app} --json`)) as unknown[]).length;

  before(async () => {
    const started = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '180' }, { buildTimeoutMs: JOB_MS, registry: true });
    if (!started) return;
    ({ tb, server: s, builder } = started);
    forge = await startForge(join(mkdtempSync(join(tmpdir(), 'slipway-e2e-forge-')), 'repos'));
    await forge.create(REPO);
    // The admin may connect an app to a loopback address (a deployer may not).
    await ok(`sync:set ${APPS.app} ${forge.url(REPO)} main`);
    secret = (JSON.parse(await ok(`sync:webhook ${APPS.app} --json`)) as { secret: string }).secret;
  });
  after(async () => {
    await destroyApps(s, builder, APPS);
    await builder?.purgeCache(PREVIEW);
    await forge?.close();
  });

  test('a signed push event deploys the commit, which answers through the ingress; a wrong signature and a replay deploy nothing; polling picks up the next commit', { timeout: 2 * JOB_MS + 2 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !tb || !forge) return;
    const ingress = tb.SLIPWAY_TEST_INGRESS!;
    const body1 = `from the forge ${ID}\n`;
    const commit1 = await forge.commit(REPO, site(body1));
    const event = githubPush('main', commit1);
    const headers = signed(event);
    const r = await deliver(event, headers);
    assert.equal(r.status, 202, r.json.message);
    await succeeded(r.json.job!.id);
    assert.equal(await waitForBody(ingress, host(APPS.app), (b) => b === body1, ROUTE_MS), body1);
    assert.equal(await releases(), 1);

    const body2 = `polled ${ID}\n`;
    await forge.commit(REPO, site(body2));
    const again = await deliver(event, headers);
    assert.equal(again.status, 409, again.json.message);
    const forged = githubPush('main', commit1);
    // A bad or missing signature gets the same 404 as an app without a webhook (issue 35: a 403 told which apps have one).
    assert.equal((await deliver(forged, signed(forged, 'not-the-secret'))).status, 404);
    const { 'x-hub-signature-256': _sig, ...unsigned } = signed(forged);
    assert.equal((await deliver(forged, unsigned)).status, 404);
    assert.equal(await releases(), 1, 'a refused delivery deployed nothing');
    assert.equal((await httpThroughIngress(ingress, host(APPS.app))).body, body1);

    await ok(`sync:poll ${APPS.app} 1m`);
    // A round now (the server's own timer, every 30 s, may have begun it first: then its job is the one).
    const polled = (await pollSyncs(s.slipway.services, Date.now())).find((j) => j.job.app === APPS.app)?.job.id
      ?? s.slipway.services.store.jobs.list(APPS.app, 1).find((j) => j.origin === 'poll')?.id;
    assert.ok(polled, 'the poll started a job for the new commit');
    await succeeded(polled);
    assert.equal(await waitForBody(ingress, host(APPS.app), (b) => b === body2, ROUTE_MS), body2);
    assert.equal(await releases(), 2);
    await ok(`sync:poll ${APPS.app} off`);
  });

  test('with previews on, a branch pushed at the forge deploys its preview; its deletion there destroys it and its namespace', { timeout: JOB_MS + ROUTE_MS + 2 * GONE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !tb || !forge) return;
    const ingress = tb.SLIPWAY_TEST_INGRESS!;
    await ok(`previews:enable ${APPS.app}`);
    const body = `branch at the forge ${ID}\n`;
    const commit = await forge.commit(REPO, site(body), BRANCH);
    const push = githubPush(BRANCH, commit);
    const r = await deliver(push, signed(push));
    assert.equal(r.status, 202, r.json.message);
    await succeeded(r.json.job!.id);
    assert.equal(await waitForBody(ingress, host(PREVIEW), (b) => b === body, ROUTE_MS), body);
    assert.notEqual((await httpThroughIngress(ingress, host(APPS.app))).body, body, 'the app itself still runs main');

    await forge.deleteBranch(REPO, BRANCH);
    const deletion = githubDeletion(BRANCH, commit);
    const d = await deliver(deletion, signed(deletion));
    assert.equal(d.status, 202, d.json.message);
    const kube = new KubeClient(tb.KUBECONFIG!);
    await eventually(`namespace slipway-${PREVIEW} to be gone`, async () => (await kube.read('v1', 'Namespace', `slipway-${PREVIEW}`)) === undefined, GONE_MS, 1000);
    // The removal goes on after the namespace: the preview's images, then its row, last, so that an
    // interrupted removal can be finished (server/ops/apps/teardown.ts); so the list is waited on too.
    let listed = '';
    await eventually(() => `previews ${APPS.app} to list none (last: ${listed})`, async () => {
      listed = await ok(`previews ${APPS.app} --json`);
      return JSON.parse(listed).length === 0;
    }, GONE_MS, 1000);
  });
});
