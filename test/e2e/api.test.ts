// The HTTP API end to end on the testbed's real pieces (pack, registry, Kubernetes node, Traefik):
// an app created through the API, pushed with real git over HTTP with an API token, its config
// changed through the API while the job's Server-Sent Events are followed to `succeeded`, and a
// rollback through the API that brings the old answer back at the app's URL. Tests run in order
// and share the app (test/fixtures/node-app: it answers "hello from slipway" and $GREETING).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { api, makeToken, readEvents, type ApiResponse } from '../support/api-client.ts';
import type { TestServer } from '../support/harness.ts';
import { waitForBody } from '../support/ingress.ts';
import { startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const APP = `docs-api-${randomBytes(3).toString('hex')}`;
const PUSH_MS = 10 * 60_000;
const ROLLOUT_MS = 5 * 60_000;
const ROUTE_MS = 30_000;

interface Job { id: string; kind: string; app: string; status: string; release: number | null; error: string | null }

describe('the HTTP API on the testbed: create, push, change config, roll back', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let token: string;
  let ingress: string;
  const host = `${APP}.${BASE_DOMAIN}`;
  /** A JSON answer that must have `status`; the body otherwise shows in the failure. */
  const call = async <T>(method: string, path: string, status: number, body?: unknown): Promise<T> => {
    const r: ApiResponse = await api(s!, method, path, { token, body });
    assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
    return r.json as T;
  };
  /** Follows a job's events to `end`; asserts it succeeded and streamed its transcript first. */
  const succeeded = async (job: Job): Promise<Job> => {
    const r = await readEvents(s!, `/jobs/${job.id}/events`, token, (e) => e.event === 'end');
    assert.equal(r.status, 200);
    const end = r.events.at(-1)!;
    assert.equal(end.event, 'end', `the stream ended without an end event: ${JSON.stringify(r.events)}`);
    const lines = r.events.filter((e) => e.event === 'line').map((e) => e.data);
    const done = JSON.parse(end.data) as Job;
    assert.equal(done.status, 'succeeded', `job ${job.id} (${job.kind}) ended ${done.status}: ${String(done.error)}\n${lines.join('\n')}`);
    assert.ok(lines.length > 0, 'the job streamed its transcript before it ended');
    return done;
  };

  before(async () => {
    const tb = testbedEnv(NEEDS);
    if (!tb) return;
    ingress = tb.SLIPWAY_TEST_INGRESS!;
    ({ server: s } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '180' }, { buildTimeoutMs: PUSH_MS }));
    token = await makeToken(s, s.admin, 'e2e-api', 'admin');
  });
  after(async () => {
    if (!s) return;
    // Over SSH, whatever state the tests left the app in.
    await s.ssh(s.admin, `apps:destroy ${APP} --confirm ${APP}`);
    await s.close();
  });

  test('POST /api/v1/apps creates the app; it is listed and shown as apps:info --json shows it', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const created = await call<{ name: string }>('POST', '/apps', 201, { name: APP });
    assert.equal(created.name, APP);
    const listed = await call<{ name: string }[]>('GET', '/apps', 200);
    assert.ok(listed.some((a) => a.name === APP), JSON.stringify(listed));
    const info = await call<Record<string, unknown>>('GET', `/apps/${APP}`, 200);
    assert.equal(info.release, null, 'nothing deployed yet');
    const overSsh = JSON.parse((await s.ssh(s.admin, `apps:info ${APP} --json`)).stdout) as Record<string, unknown>;
    assert.deepEqual(info, overSsh);
    // Not deployed yet: the change is only stored (200 with the config, no job).
    const stored = await call<{ config: Record<string, string> }>('PATCH', `/apps/${APP}/config`, 200, { set: { GREETING: 'one' } });
    assert.equal(stored.config.GREETING, 'one');
  });

  test('a push with real git over HTTP, with the API token, deploys the app', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const wd = fixtureCopy('node-app');
    await s.commitAll(wd, 'node app');
    const r = await s.git(['push', s.httpRemote(APP, token), 'main'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /=====> Application deployed:/);
    assert.equal(await waitForBody(ingress, host, (b) => b === 'hello from slipway one\n', ROUTE_MS), 'hello from slipway one\n');
    const info = await call<{ release: string | null }>('GET', `/apps/${APP}`, 200);
    assert.equal(info.release, 'v1');
    // The listing reads its instances from the cluster (one Deployment list across namespaces).
    const item = (await call<{ name: string; state: string; release: string | null; processes: { running: number; desired: number }; lastDeploy: { result: string } | null }[]>('GET', '/apps', 200)).find((a) => a.name === APP);
    assert.deepEqual(item && { state: item.state, release: item.release, processes: item.processes, result: item.lastDeploy?.result }, { state: 'running', release: 'v1', processes: { running: 1, desired: 1 }, result: 'succeeded' });
  });

  test('PATCH …/config answers 202 with a job; its events end in succeeded and the app answers with the new value', { timeout: ROLLOUT_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const { job } = await call<{ job: Job }>('PATCH', `/apps/${APP}/config`, 202, { set: { GREETING: 'two' } });
    assert.equal(job.app, APP);
    assert.ok(['queued', 'running'].includes(job.status), job.status);
    const end = await succeeded(job);
    assert.equal(end.release, 2);
    const config = await call<Record<string, string>>('GET', `/apps/${APP}/config`, 200);
    assert.equal(config.GREETING, 'two');
    const v2 = await call<{ createdBy: string | null; configChanges: unknown }>('GET', `/apps/${APP}/releases/2`, 200);
    assert.deepEqual(v2, { ...v2, createdBy: 'admin', configChanges: { added: [], changed: ['GREETING'], removed: [] } });
    assert.equal(await waitForBody(ingress, host, (b) => b === 'hello from slipway two\n', ROUTE_MS), 'hello from slipway two\n');
    // The finished job reads back the same through GET /jobs/ID.
    assert.equal((await call<Job>('GET', `/jobs/${job.id}`, 200)).status, 'succeeded');
  });

  test('POST …/rollback answers 202 with a job; once it succeeds the old answer is back at the URL', { timeout: ROLLOUT_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const { job } = await call<{ job: Job }>('POST', `/apps/${APP}/rollback`, 202, {});
    const end = await succeeded(job);
    assert.equal(end.release, 3, 'a rollback is a new release');
    assert.equal(await waitForBody(ingress, host, (b) => b === 'hello from slipway one\n', ROUTE_MS), 'hello from slipway one\n');
    const releases = await call<{ version: number }[]>('GET', `/apps/${APP}/releases`, 200);
    assert.deepEqual(releases.map((r) => r.version).slice(0, 3), [3, 2, 1]);
  });
});
