// Issue 22's speed goals on the testbed: a real Slipway hosted in this process (SSH, pack with the
// offline builder, the registry, the Kubernetes deployer), test/fixtures/static-app (the offline
// builder's fastest build), apps reached through the ingress (Traefik) by Host header. Per round:
//   1. previews: a branch push (`git push REMOTE HEAD:refs/heads/feature-N`, a changed body) until
//      the preview's host answers the new body, against, in the same round, a warm push of the same
//      commit to an existing app until it answers, plus creating an empty namespace (goal: the
//      preview within 10 % of the two together); also deleting that namespace, and deleting the
//      branch (which destroys the preview, so its limit is never reached);
//   2. webhooks: a signed GitHub push event for an app synced to a bare repository this bench
//      serves over smart HTTP on loopback (test/support/forge.ts): the hook's HTTP answer, and the
//      job's recorded start (its startedAt from the jobs API) after the send (goal ≤ 200 ms); also
//      until the pushed body answers through the ingress;
//   3. promotion: `apps:promote STAGING --to PRODUCTION` until production answers the body staging
//      runs (goal ≤ 2 s); staging is pushed with a new body before each round, so every promotion
//      changes what production answers.
// The ingress is probed one request at a time, 20 ms apart (probeDuring); a time "until it answers"
// is the send time of the first request the new body answered. Every wait is bounded; apps,
// previews, caches and namespaces made here are removed at the end.
//   eval "$(npm run -s testbed)"; bin/slipway-server bench/flow.ts     (BENCH_ROUNDS=5)
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../server/kube/client.ts';
import { previewAppName } from '../server/names.ts';
import { remoteLines } from '../test/support/harness.ts';
import { makeToken } from '../test/support/api-client.ts';
import { githubPush, githubSignature, startForge, type TestForge } from '../test/support/forge.ts';
import { probeDuring, waitForBody } from '../test/support/ingress.ts';
import { destroyApps, startOnTestbed } from '../test/support/on-testbed.ts';
import { fixtureCopy } from '../test/support/testbed.ts';
import { ApiClient } from './api-client.ts';
import { median, secs, spread, times } from './stats.ts';
import { benchEnv, pushTestbed, requireTestbed } from './settings.ts';

// Every knob the bench reads from its environment, read once here.
const SETTINGS = Object.freeze({
  rounds: Number(benchEnv.BENCH_ROUNDS || 5),
  ...pushTestbed,
  out: resolve(import.meta.dirname, 'results', 'flow.md'),
});
requireTestbed('flow', SETTINGS);
if (!Number.isInteger(SETTINGS.rounds) || SETTINGS.rounds < 1 || SETTINGS.rounds > 20) {
  process.stderr.write(`bench/flow: BENCH_ROUNDS must be a whole number from 1 to 20, got "${benchEnv.BENCH_ROUNDS}"\n`);
  process.exit(2);
}
const BASE = 'flow.bench';
const GAP_MS = 20;
/** How long a host may take to answer the expected body after the command returned. */
const SERVE_MS = 120_000;
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** The goals. */
const GOAL = { previewRatio: 1.1, hookStartMs: 200, promoteMs: 2000 } as const;

const tb = { SLIPWAY_BUILDER: SETTINGS.builder, SLIPWAY_REGISTRY: SETTINGS.registry, KUBECONFIG: SETTINGS.kubeconfig, SLIPWAY_PACK: SETTINGS.pack, DOCKER_HOST: SETTINGS.dockerHost };
// With the registry client, as the product has one: a promotion copies the image within the registry.
const { server: s, builder } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: BASE }, { buildTimeoutMs: 15 * 60_000, registry: true });
const ssh = async (cmd: string) => {
  const r = await s.ssh(s.admin, cmd);
  if (r.exitCode !== 0) throw new Error(`${cmd}: exit ${r.exitCode}: ${r.stderr}`);
  return r;
};
/** `git push REMOTE REFSPEC` from `wd` over SSH as the admin; the `remote:` lines. */
const push = async (app: string, wd: string, refspec: string): Promise<string[]> => {
  const r = await s.git(['push', s.sshRemote(app), refspec], { cwd: wd });
  if (r.exitCode !== 0) throw new Error(`git push ${app} ${refspec} failed (exit ${r.exitCode}): ${r.stderr}`);
  return remoteLines(r.stderr);
};
const host = (app: string) => `${app}.${BASE}`;
const kube = new KubeClient(SETTINGS.kubeconfig);

/**
 * Runs `command` while probing `app`'s host through the ingress. Returns, in ms from the command's
 * start, when the first request that `body` answered was sent (live) and when the command returned
 * (done). The probe is answering (anything, even a 404) before the command starts.
 */
async function untilServes(app: string, body: string, command: () => Promise<unknown>): Promise<{ live: number; done: number }> {
  const probe = probeDuring(SETTINGS.ingress, host(app), { gapMs: GAP_MS, maxDurationMs: 20 * 60_000 });
  try {
    for (const end = performance.now() + 60_000; probe.answers.length === 0;) {
      if (performance.now() > end) throw new Error(`the probe of ${host(app)} got no answer within 60 s`);
      await sleep(5);
    }
    const t0 = performance.now();
    await command();
    const done = performance.now() - t0;
    let seen = 0;
    for (const end = performance.now() + SERVE_MS; performance.now() < end; await sleep(GAP_MS)) {
      for (; seen < probe.answers.length; seen++) {
        const a = probe.answers[seen]!;
        if (a.body === body) return { live: Math.max(0, probe.startedAt + a.sentAt - t0), done };
      }
    }
    const last = probe.answers.at(-1);
    throw new Error(`${host(app)} did not answer ${JSON.stringify(body)} within ${SERVE_MS / 1000} s after the command returned; last answer: ${last?.failure ?? JSON.stringify(last?.body)}`);
  } finally {
    await probe.stop();
  }
}

const STATIC_APP = resolve(import.meta.dirname, '..', 'test', 'fixtures', 'static-app');
/** The static app's files (all at its top level) with `body` as its page: what the bench commits to the forge. */
function staticFiles(body: string): Record<string, string> {
  const files = Object.fromEntries(readdirSync(STATIC_APP).map((f) => [f, readFileSync(join(STATIC_APP, f), 'utf8')]));
  return { ...files, 'index.html': body };
}
const setBody = (wd: string, body: string) => writeFileSync(join(wd, 'index.html'), body);

/** One webhook delivery as a forge sends it: a new connection, the body as signed. `ms`: send → answer. */
function deliver(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string; ms: number }> {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`the webhook URL is not on loopback: ${url}`);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('the webhook got no answer within 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Creates an empty namespace (the API's answer); then deletes it and waits until it is gone. Both in ms. */
async function namespaceRoundTrip(name: string): Promise<{ create: number; remove: number }> {
  const t0 = performance.now();
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const create = performance.now() - t0;
  const t1 = performance.now();
  if (!(await kube.remove('v1', 'Namespace', name))) throw new Error(`namespace ${name} was gone before it was deleted`);
  for (const end = performance.now() + 180_000; await kube.read('v1', 'Namespace', name); await sleep(100)) {
    if (performance.now() > end) throw new Error(`namespace ${name} still there 180 s after it was deleted`);
  }
  return { create, remove: performance.now() - t1 };
}

const stamp = Date.now().toString(36);
// Short names: a preview's name (PARENT--BRANCH-HASH) must fit in 40 characters.
const APPS = {
  parent: `flow-p-${stamp}`,
  existing: `flow-e-${stamp}`,
  synced: `flow-s-${stamp}`,
  staging: `flow-st-${stamp}`,
  production: `flow-pr-${stamp}`,
} as const;
const made: Record<string, string> = {};
const previewsMade: string[] = [];
const namespacesMade: string[] = [];
const loadAtStart = loadavg();

const results = {
  previewLive: [] as number[], previewDone: [] as number[], existingLive: [] as number[], existingDone: [] as number[],
  nsCreate: [] as number[], nsDelete: [] as number[], branchDelete: [] as number[],
  hookAnswer: [] as number[], hookStart: [] as number[], hookLive: [] as number[],
  promoteLive: [] as number[], promoteDone: [] as number[],
};

let forge: TestForge | undefined;
let api: ApiClient | undefined;
try {
  for (const [k, app] of Object.entries(APPS)) {
    await ssh(`apps:create ${app}`);
    made[k] = app;
  }

  // 1. Previews. The parent and the existing app are deployed once (the builder, its images and the
  // node's image cache are warm from here on); then each round pushes one new commit to both.
  const wd = fixtureCopy('static-app');
  setBody(wd, `flow start ${stamp}\n`);
  await s.commitAll(wd, 'start');
  say(`first pushes of ${APPS.parent} and ${APPS.existing}`);
  await push(APPS.parent, wd, 'main');
  await push(APPS.existing, wd, 'main');
  await waitForBody(SETTINGS.ingress, host(APPS.existing), (b) => b === `flow start ${stamp}\n`, 60_000);
  await ssh(`previews:enable ${APPS.parent}`);
  for (let i = 0; i < SETTINGS.rounds; i++) {
    const body = `flow round ${i} ${stamp}\n`;
    setBody(wd, body);
    await s.commitAll(wd, `round ${i}`);
    const branch = `feature-${i}`;
    const preview = previewAppName(APPS.parent, branch);
    const existing = async () => {
      say(`round ${i + 1}: warm push to ${APPS.existing}`);
      const m = await untilServes(APPS.existing, body, () => push(APPS.existing, wd, 'main'));
      results.existingLive.push(m.live);
      results.existingDone.push(m.done);
    };
    const branchPush = async () => {
      say(`round ${i + 1}: push of ${branch} (preview ${preview})`);
      previewsMade.push(preview);
      let lines: string[] = [];
      const m = await untilServes(preview, body, async () => { lines = await push(APPS.parent, wd, `HEAD:refs/heads/${branch}`); });
      // The URL the push announced is the host the probe asked for.
      const at = lines.indexOf('=====> Application deployed:');
      if (lines[at + 1]?.trim() !== `http://${host(preview)}`) throw new Error(`the push of ${branch} announced ${JSON.stringify(lines[at + 1])}, not http://${host(preview)}:\n${lines.join('\n')}`);
      results.previewLive.push(m.live);
      results.previewDone.push(m.done);
    };
    // Interleaved: which of the two goes first alternates, so drift during a round favours neither.
    if (i % 2 === 0) {
      await existing();
      await branchPush();
    } else {
      await branchPush();
      await existing();
    }
    say(`round ${i + 1}: an empty namespace, created and deleted`);
    const ns = `flow-ns-${stamp}-${i}`;
    namespacesMade.push(ns);
    const n = await namespaceRoundTrip(ns);
    results.nsCreate.push(n.create);
    results.nsDelete.push(n.remove);
    say(`round ${i + 1}: deleting ${branch} (destroys its preview)`);
    const t0 = performance.now();
    await push(APPS.parent, wd, `:refs/heads/${branch}`);
    results.branchDelete.push(performance.now() - t0);
  }

  // 2. Webhooks. The forge is this process's smart HTTP server on loopback; only an admin may
  // connect an app to a loopback address, so the admin connects it.
  forge = await startForge(join(s.dir, 'forge'));
  const repo = 'flow-src';
  await forge.create(repo);
  await forge.commit(repo, staticFiles(`flow sync start ${stamp}\n`));
  await ssh(`sync:set ${APPS.synced} ${forge.url(repo)} main`);
  const hook = JSON.parse((await ssh(`sync:webhook ${APPS.synced} --json`)).stdout) as { url: string; secret: string };
  say(`first sync of ${APPS.synced}`);
  await ssh(`sync:run ${APPS.synced}`);
  await waitForBody(SETTINGS.ingress, host(APPS.synced), (b) => b === `flow sync start ${stamp}\n`, 60_000);
  api = new ApiClient(s.slipway.httpPort, await makeToken(s, s.admin, `flow-${stamp}`, 'read'), 2);
  for (let i = 0; i < SETTINGS.rounds; i++) {
    const body = `flow sync ${i} ${stamp}\n`;
    const commit = await forge.commit(repo, staticFiles(body));
    const payload = githubPush('main', commit);
    const headers = { 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': githubSignature(hook.secret, payload) };
    say(`round ${i + 1}: webhook for ${commit.slice(0, 7)}`);
    let sentAt = 0;
    let jobId = '';
    const m = await untilServes(APPS.synced, body, async () => {
      sentAt = Date.now();
      const a = await deliver(hook.url, payload, headers);
      if (a.status !== 202) throw new Error(`the webhook answered ${a.status}: ${a.text}`);
      const job = (JSON.parse(a.text) as { job?: { id: string } }).job;
      if (!job) throw new Error(`the webhook started no job: ${a.text}`);
      jobId = job.id;
      results.hookAnswer.push(a.ms);
    });
    // The start the server recorded (same clock: it runs in this process), as the jobs API gives it.
    const stored = await api.json<{ id: string; startedAt: string | null }>('GET', `/jobs/${jobId}`, 200);
    if (!stored.startedAt) throw new Error(`job ${jobId} has no start time: ${JSON.stringify(stored)}`);
    results.hookStart.push(Date.parse(stored.startedAt) - sentAt);
    results.hookLive.push(m.live);
    const { job } = await api.jobEvents(jobId, 10 * 60_000);
    if (job.status !== 'succeeded') throw new Error(`sync job ${jobId} ended ${job.status}: ${JSON.stringify(job)}`);
  }

  // 3. Promotion. Production first runs a build of its own; before each round staging gets a new
  // body, so each promotion changes what production answers.
  const wdp = fixtureCopy('static-app');
  let productionBody = `flow production ${stamp}\n`;
  setBody(wdp, productionBody);
  await s.commitAll(wdp, 'production');
  say(`first push of ${APPS.production}`);
  await push(APPS.production, wdp, 'main');
  for (let i = 0; i < SETTINGS.rounds; i++) {
    const body = `flow staging ${i} ${stamp}\n`;
    setBody(wdp, body);
    await s.commitAll(wdp, `staging ${i}`);
    say(`round ${i + 1}: push to ${APPS.staging}, then apps:promote`);
    await push(APPS.staging, wdp, 'main');
    await waitForBody(SETTINGS.ingress, host(APPS.staging), (b) => b === body, 60_000);
    await waitForBody(SETTINGS.ingress, host(APPS.production), (b) => b === productionBody, 60_000);
    const m = await untilServes(APPS.production, body, () => ssh(`apps:promote ${APPS.staging} --to ${APPS.production}`));
    results.promoteLive.push(m.live);
    results.promoteDone.push(m.done);
    productionBody = body;
  }
} finally {
  api?.close();
  await forge?.close();
  for (const ns of namespacesMade) await kube.remove('v1', 'Namespace', ns).catch(() => false);
  await destroyApps(s, builder, made);
  // apps:destroy of the parent destroyed its previews, caches included; purged again in case one was left behind.
  for (const p of previewsMade) await builder.purgeCache(p).catch(() => undefined);
}

const ms = (x: number) => `${Math.round(x)} ms`;
const each = (xs: readonly number[], fmt: (x: number) => string = secs) => xs.map(fmt).join(', ');
const met = (ok: boolean) => (ok ? 'yes' : '**no**');
const baseline = median(results.existingLive) + median(results.nsCreate);
const previewRatio = median(results.previewLive) / baseline;
const cpu = cpus();
const report = [
  '# Flow bench (issue 22: previews, webhooks, promotion)',
  '',
  `${new Date().toISOString().slice(0, 10)}, ${SETTINGS.rounds} rounds (medians), fixture test/fixtures/static-app, builder ${SETTINGS.builder},`,
  `testbed (Traefik on ${SETTINGS.ingress}), server and clients in one process. Machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown'}),`,
  `${(totalmem() / 2 ** 30).toFixed(1)} GiB; load average ${loadAtStart[0]!.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end.`,
  '',
  'Command: `eval "$(npm run -s testbed)"; bin/slipway-server bench/flow.ts` (`BENCH_ROUNDS`, default 5).',
  '',
  '| measure | Slipway (median) | baseline (median) | ratio | goal | met? |',
  '|---|---|---|---|---|---|',
  `| branch push → the preview answers the new body through the ingress (a new app: its namespace, a cold build cache) | ${secs(median(results.previewLive))} | ${secs(baseline)} (warm push of the same commit to an existing app until it answers, ${secs(median(results.existingLive))}, + creating an empty namespace, ${secs(median(results.nsCreate))}) | ${times(previewRatio)} | ≤ ${GOAL.previewRatio.toFixed(2)}× | ${met(previewRatio <= GOAL.previewRatio)} |`,
  `| signed GitHub push event sent → its job started (the job's recorded \`startedAt\` − the send time) | ${ms(median(results.hookStart))} | | | ≤ ${GOAL.hookStartMs} ms | ${met(median(results.hookStart) <= GOAL.hookStartMs)} |`,
  `| \`apps:promote STAGING --to PRODUCTION\` → production answers staging's body through the ingress | ${secs(median(results.promoteLive))} | | | ≤ ${secs(GOAL.promoteMs)} | ${met(median(results.promoteLive) <= GOAL.promoteMs)} |`,
  '',
  '## Each measure',
  '',
  'min / median / max (n), then each round in order; times from the command\'s start (a push: `git push` starting; the webhook: the request being sent).',
  '',
  '| measure | min / median / max | each round |',
  '|---|---|---|',
  `| preview: branch push → new body answers | ${spread(results.previewLive)} | ${each(results.previewLive)} |`,
  `| preview: branch push returned (\`git push\` exited) | ${spread(results.previewDone)} | ${each(results.previewDone)} |`,
  `| existing app: warm push of the same commit → new body answers | ${spread(results.existingLive)} | ${each(results.existingLive)} |`,
  `| existing app: warm push returned | ${spread(results.existingDone)} | ${each(results.existingDone)} |`,
  `| empty namespace: created (the API's answer) | ${spread(results.nsCreate)} | ${each(results.nsCreate)} |`,
  `| empty namespace: deleted until gone | ${spread(results.nsDelete)} | ${each(results.nsDelete)} |`,
  `| preview ÷ (existing push + namespace created), per round | | ${results.previewLive.map((p, i) => times(p / (results.existingLive[i]! + results.nsCreate[i]!))).join(', ')} |`,
  `| branch deleted (\`git push REMOTE :feature-N\`) → returned, the preview destroyed | ${spread(results.branchDelete)} | ${each(results.branchDelete)} |`,
  `| webhook: send → job started (\`startedAt\`) | ${spread(results.hookStart)} | ${each(results.hookStart, ms)} |`,
  `| webhook: send → the hook's 202 answer (with the job) | ${spread(results.hookAnswer)} | ${each(results.hookAnswer, ms)} |`,
  `| webhook: send → the pushed body answers (fetch, build, deploy) | ${spread(results.hookLive)} | ${each(results.hookLive)} |`,
  `| promotion: \`apps:promote\` → production answers staging's body | ${spread(results.promoteLive)} | ${each(results.promoteLive)} |`,
  `| promotion: \`apps:promote\` returned | ${spread(results.promoteDone)} | ${each(results.promoteDone)} |`,
  '',
  '## How',
  '',
  '- "Answers" is the send time of the first request the new body answered; the ingress is probed one request at a time,',
  `  ${GAP_MS} ms apart, from before the command starts (test/support/ingress.ts, probeDuring).`,
  '- Previews: `previews:enable` on a deployed parent; each round one new commit (a new `index.html`) is pushed to the',
  '  existing app\'s `main` and as `feature-N` of the parent, in alternating order; the preview\'s host is',
  '  `previewAppName(PARENT, feature-N).BASE`, checked against the URL the push announces. The namespace is a plain one',
  '  (no labels, quota or policies), created with one server-side apply and deleted with the deployer\'s client, polled',
  '  every 100 ms until gone. Each preview is destroyed by deleting its branch before the next round.',
  '- Webhooks: the app follows `main` of a bare repository this bench serves over smart HTTP (`git http-backend`),',
  '  connected by the admin (only an admin may connect an app to a loopback address). Each round commits a new body there',
  '  and sends GitHub\'s push event, signed with the app\'s secret (X-Hub-Signature-256), on a new connection. The server',
  '  records the job as started before it answers 202; `startedAt` is read back with `GET /api/v1/jobs/ID` (wall clock,',
  '  ms, the same clock as the send time since the server runs in this process). Each job is followed to its end',
  '  (`GET /api/v1/jobs/ID/events`) before the next delivery.',
  '- Promotion: staging and production are two apps; production first runs its own build, then before each round',
  '  staging is pushed a new body and answers it, and production still answers the previous one.',
  '',
].join('\n');
mkdirSync(resolve(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(SETTINGS.out, report);
process.stdout.write(report);
