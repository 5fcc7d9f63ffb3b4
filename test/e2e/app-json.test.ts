// app.json as Dokku and Heroku read it, on the testbed's real pieces (pack, registry, Kubernetes
// node, Traefik): an app.json with comments and Heroku's keys deploys; env and formation apply on
// the first deploy only (a generated secret is kept, ps:scale's counts win); a `content` check
// that fails rejects the push with the probe's error while the old release keeps serving; a
// worker-only app (`web: 0`) runs its worker; a required env var with no value refuses the push
// and writes nothing. Two apps; the tests of each run in order and share it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { remoteLines, type TestServer } from '../support/harness.ts';
import { startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { httpThroughIngress, waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const suffix = randomBytes(3).toString('hex');
const APP = `appjson-${suffix}`;
const WORKER_APP = `appjson-w-${suffix}`;
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 30_000;

interface PsEntry { type: string; desired: number; ready: number; instances: { name: string; release: number | null; state: string; ready: boolean }[]; warm?: { release: number; until: string } }

describe('app.json: JSON with comments, env and formation on the first deploy, content checks, worker-only apps', { timeout: 40 * 60_000 }, () => {
  let s: TestServer | undefined;
  let ingress: string;
  let wd: string;
  let secret: string;
  const host = `${APP}.${BASE_DOMAIN}`;
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const get = () => httpThroughIngress(ingress, host, 5000, '/');
  const ps = async (app: string): Promise<PsEntry[]> => JSON.parse((await ssh(`ps ${app} --json`)).stdout) as PsEntry[];
  const config = async (app: string): Promise<Record<string, string>> => JSON.parse((await ssh(`config ${app} --json`)).stdout) as Record<string, string>;
  const lastError = (lines: readonly string[]) => lines.filter((l) => l.startsWith(' !     ')).at(-1) ?? '';
  const edit = (file: string, from: string, to: string) => {
    const path = join(wd, file);
    const text = readFileSync(path, 'utf8');
    assert.ok(text.includes(from), `${file} holds ${from}`);
    writeFileSync(path, text.replace(from, to));
  };

  before(async () => {
    const tb = testbedEnv(NEEDS);
    if (!tb) return;
    ingress = tb.SLIPWAY_TEST_INGRESS!;
    ({ server: s } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '180' }, { buildTimeoutMs: PUSH_MS }));
    assert.equal((await ssh(`apps:create ${APP}`)).exitCode, 0);
    assert.equal((await ssh(`apps:create ${WORKER_APP}`)).exitCode, 0);
  });
  after(async () => {
    if (!s) return;
    await ssh(`apps:destroy ${APP} --confirm ${APP}`);
    await ssh(`apps:destroy ${WORKER_APP} --confirm ${WORKER_APP}`);
    await s.close();
  });

  test('an app.json with comments, trailing commas and Heroku keys deploys; its env and formation set the first release up', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    wd = fixtureCopy('appjson-app');
    await s.commitAll(wd, 'appjson app');
    const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    const lines = remoteLines(r.stderr);
    assert.equal(r.exitCode, 0, r.stderr);
    const at = lines.indexOf('-----> Setting config vars from app.json');
    assert.ok(at >= 0 && at < lines.findIndex((l) => l.startsWith('-----> Building')), 'set before the build: ' + lines.join('\n'));
    assert.deepEqual(lines.slice(at + 1, at + 4), ['       SECRET_KEY (generated secret)', '       WEB_CONCURRENCY', '       GREETING']);
    assert.ok(lines.includes(`       app.json formation sizes are not used (web: standard-1x); set memory and CPU with resource:limit ${APP}`), lines.join('\n'));
    assert.ok(lines.includes('       Process counts from app.json formation: web=1, worker=1'), lines.join('\n'));
    assert.ok(lines.includes('       Applied v1: web=1, worker=1'), lines.join('\n'));
    assert.ok(lines.some((l) => /^ {7}web instance web-\S+: GET \/ contains "appjson ok"$/.test(l)), 'the content check passed: ' + lines.join('\n'));
    const vars = await config(APP);
    assert.match(vars.SECRET_KEY ?? '', /^[0-9a-f]{64}$/);
    secret = vars.SECRET_KEY!;
    assert.equal(vars.WEB_CONCURRENCY, '2');
    assert.equal(vars.GREETING, 'appjson ok');
    assert.equal(Object.hasOwn(vars, 'OPTIONAL_URL'), false, 'an optional key with no value is not set');
    assert.equal(await waitForBody(ingress, host, (b) => b === 'appjson ok: answer one\n', ROUTE_MS), 'appjson ok: answer one\n');
    assert.match((await ssh(`checks ${APP}`)).stdout, /web +startup, GET \/, body contains "appjson ok", initialDelay 0s, timeout 5s, attempts 3, wait 2s/);
  });

  test('later pushes change neither config nor counts: the generated secret is kept and ps:scale wins', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !secret) return;
    assert.equal((await ssh(`ps:scale ${APP} worker=0`)).exitCode, 0);
    edit('server.js', "'answer one'", "'answer two'");
    edit('app.json', '"value": "2"', '"value": "3"');
    edit('app.json', '"web": { "quantity": 1,', '"web": { "quantity": 2,');
    edit('app.json', '"GREETING": "appjson ok",', '"GREETING": "appjson ok", "ADDED_LATER": "x",');
    await s.commitAll(wd, 'answer two, and an app.json that asks for more');
    const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    const lines = remoteLines(r.stderr);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(!lines.some((l) => /app\.json/.test(l)), 'nothing from app.json env or formation: ' + lines.join('\n'));
    assert.ok(lines.includes('       Applied v2: web=1, worker=0'), lines.join('\n'));
    const vars = await config(APP);
    assert.equal(vars.SECRET_KEY, secret);
    assert.equal(vars.WEB_CONCURRENCY, '2');
    assert.equal(Object.hasOwn(vars, 'ADDED_LATER'), false);
    const types = await ps(APP);
    // The release before keeps its web instances warm beside these (instant rollback): not counted.
    assert.deepEqual(types.filter((p) => !p.warm).map((p) => [p.type, p.desired]), [['web', 1], ['worker', 0]]);
    assert.equal(await waitForBody(ingress, host, (b) => b === 'appjson ok: answer two\n', ROUTE_MS), 'appjson ok: answer two\n');
  });

  test('a content check the new release fails rejects the push with the probe error; the old release keeps serving', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !secret) return;
    edit('server.js', "process.env.GREETING ?? 'no greeting'", "'bonjour'");
    await s.commitAll(wd, 'a greeting the check does not expect');
    const started = Date.now();
    const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    t.diagnostic(`the failing push took ${Date.now() - started} ms`);
    const lines = remoteLines(r.stderr);
    assert.notEqual(r.exitCode, 0, r.stderr);
    assert.match(lastError(lines), /^ ! {5}v3 did not become ready: web instance web-\S+ failed its startup check \(GET \/ for "appjson ok"\): the body did not contain "appjson ok"; v2 is running again\.$/, lines.join('\n'));
    assert.ok(lines.includes('       Restoring v2'), lines.join('\n'));
    assert.equal((await get()).body, 'appjson ok: answer two\n');
    const web = (await ps(APP)).find((p) => p.type === 'web')!;
    await eventually('only v2 serves', async () => {
      const live = (await ps(APP)).find((p) => p.type === 'web')!.instances.filter((i) => i.state !== 'Terminating');
      return live.length === 1 && live[0]!.release === 2 && live[0]!.ready;
    }, 60_000, 1000);
    assert.equal(web.desired, 1);
  });

  test('a required env var with no value refuses the first push in one sentence and writes nothing', { timeout: PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    wd = fixtureCopy('appjson-app');
    // Dokku's own test apps: nodejs-worker's formation and app-env-required's env.
    writeFileSync(join(wd, 'app.json'), JSON.stringify({
      formation: { web: { quantity: 0 }, worker: { quantity: 1 } },
      env: { API_KEY: { description: 'The key of the API the worker calls', required: true } },
    }, null, 2));
    await s.commitAll(wd, 'worker-only app');
    const r = await s.git(['push', s.sshRemote(WORKER_APP), 'main'], { cwd: wd });
    const lines = remoteLines(r.stderr);
    assert.notEqual(r.exitCode, 0, r.stderr);
    assert.equal(lastError(lines), ` !     Push rejected: app.json requires API_KEY, which is not set; set it with config:set ${WORKER_APP} API_KEY=… and push again (nothing was deployed).`);
    assert.ok(!lines.some((l) => l.startsWith('-----> Building')), 'nothing was built');
    assert.deepEqual(JSON.parse((await ssh(`releases ${WORKER_APP} --json`)).stdout), []);
    assert.deepEqual(await config(WORKER_APP), {});
  });

  test('a worker-only app (formation web 0, worker 1) deploys and runs its worker; a value set before the first push wins', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    assert.equal((await ssh(`config:set ${WORKER_APP} API_KEY=mine --no-restart`)).exitCode, 0);
    const started = Date.now();
    const r = await s.git(['push', s.sshRemote(WORKER_APP), 'main'], { cwd: wd });
    t.diagnostic(`the worker-only push took ${Date.now() - started} ms`);
    const lines = remoteLines(r.stderr);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(lines.includes('       Applied v1: web=0, worker=1'), lines.join('\n'));
    assert.ok(lines.includes(`       (web is scaled to 0: nothing answers at this URL until ps:scale ${WORKER_APP} web=1)`), lines.join('\n'));
    assert.deepEqual(await config(WORKER_APP), { API_KEY: 'mine' });
    const types = await ps(WORKER_APP);
    assert.deepEqual(types.map((p) => [p.type, p.desired, p.ready]), [['web', 0, 0], ['worker', 1, 1]]);
    await eventually('the worker logs its ticks', async () => /worker tick \d+/.test((await ssh(`logs ${WORKER_APP} -n 20 -p worker`)).stdout), 30_000, 1000);
  });
});
