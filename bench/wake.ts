// Wake-from-zero bench (issue 40) on the testbed: a real Slipway (SSH, pack with the offline
// builder, the Kubernetes deployer, the waker on this machine's address), test/fixtures/node-app
// pushed once, `ps:sleep APP --after 2`. Each round waits until the app sleeps with no web pod
// left, then sends one request through the ingress (Traefik) by Host header and measures until its
// answer: the request is held by the waker while the web set starts, then passed on. Also the
// server's own record of each wake (start of the wake to a ready instance, ps:sleep --json) and
// what is left (the ingress to the waker, the pass-on, the answer). Goal: p50 ≤ 3 s (KEDA's HTTP
// add-on measured 3.35 s).
//   eval "$(npm run -s testbed)"; node bench/wake.ts     (BENCH_ROUNDS=7)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../server/kube/client.ts';
import type { V1Pod } from '../server/kube/types.ts';
import { LABEL } from '../server/kube/labels.ts';
import { startOnTestbed } from '../test/support/on-testbed.ts';
import { httpThroughIngress, waitForBody } from '../test/support/ingress.ts';
import { fixtureCopy } from '../test/support/testbed.ts';
import { median, percentile } from './stats.ts';
import { benchEnv, pushTestbed, requireTestbed } from './settings.ts';

// Every knob the bench reads from its environment, read once here.
const SETTINGS = Object.freeze({
  rounds: Number(benchEnv.BENCH_ROUNDS || 7),
  ...pushTestbed,
  ingressApi: benchEnv.SLIPWAY_INGRESS_API ?? '',
  out: resolve(benchEnv.BENCH_WAKE_OUT || resolve(import.meta.dirname, 'results', 'sleep.md')),
});
requireTestbed('wake', SETTINGS);
const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const s3 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** An address of this machine that the testbed's Traefik (on the host) reaches: the first non-loopback IPv4. */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('this machine has no non-loopback IPv4 address for the waker');
}

const app = `wake-${randomBytes(3).toString('hex')}`;
const host = `${app}.wake.bench`;
const tb = { ...benchEnv } as Record<string, string>;
const { server: s, builder } = await startOnTestbed(tb, {
  SLIPWAY_BASE_DOMAIN: 'wake.bench', SLIPWAY_WAKER_ADDRESS: hostAddress(), SLIPWAY_WAKER_PORT: '0', SLIPWAY_SLEEP_ROUND_S: '1', SLIPWAY_WAKER_HOLD_S: '60',
}, { buildTimeoutMs: 10 * 60_000 });
const kube = new KubeClient(SETTINGS.kubeconfig);
const ssh = async (command: string) => {
  const r = await s.ssh(s.admin, command);
  if (r.exitCode !== 0) throw new Error(`${command} failed: ${r.stderr}`);
  return r.stdout;
};
const webPods = async () => (await kube.list<V1Pod>('v1', 'Pod', `slipway-${app}`, { labelSelector: `${LABEL.process}=web` })).length;
const asleep = async () => (JSON.parse(await ssh(`ps:sleep ${app} --json`)) as { asleepSince: string | null }).asleepSince !== null;

const answers: number[] = [];
try {
  await ssh(`apps:create ${app}`);
  const dir = fixtureCopy('node-app');
  await s.commitAll(dir, 'node app');
  const push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: dir });
  if (push.exitCode !== 0) throw new Error(`push failed: ${push.stderr}`);
  await waitForBody(SETTINGS.ingress, host, (b) => b.startsWith('hello from slipway'), 60_000);
  await ssh(`ps:sleep ${app} --after 2`);
  for (let i = 0; i < SETTINGS.rounds; i++) {
    const deadline = Date.now() + 120_000;
    while (!(await asleep()) || (await webPods()) > 0) {
      if (Date.now() > deadline) throw new Error(`${app} did not sleep within 120 s`);
      await sleep(250);
    }
    const t0 = performance.now();
    const r = await httpThroughIngress(SETTINGS.ingress, host, 60_000);
    const ms = performance.now() - t0;
    if (r.status !== 200) throw new Error(`round ${i + 1}: ${r.status} ${r.body}`);
    answers.push(ms);
    say(`round ${i + 1}: ${Math.round(ms)} ms`);
  }
  const wakes = (JSON.parse(await ssh(`ps:sleep ${app} --json`)) as { wakes: { trigger: string; readyMs: number | null }[] }).wakes
    .filter((w) => w.trigger === 'request').slice(0, SETTINGS.rounds).reverse().map((w) => w.readyMs ?? Number.NaN);
  const rest = answers.map((a, i) => a - (wakes[i] ?? Number.NaN));
  const lines = [
    '# Wake-from-zero bench (apps that sleep at zero, issue 40)',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${SETTINGS.rounds} rounds, fixture test/fixtures/node-app, testbed (Traefik on ${SETTINGS.ingress}, its metrics at`,
    `${SETTINGS.ingressApi}/metrics), \`ps:sleep APP --after 2\`, the sleep round every 1 s. Machine: 2 shared cores, other work beside it.`,
    '',
    'Each round waits until the app sleeps with no web pod left, then sends one request through the ingress and measures',
    'until its answer (the request is held by the waker while the web set starts from zero, then passed on to the instance).',
    '"Ready" is the server\'s own record of the wake (ps:sleep --json: from the start of the wake to a ready instance);',
    '"the rest" is the ingress reaching the waker, the pass-on and the answer.',
    '',
    '| measure | p50 | p90 | each round | goal |',
    '|---|---|---|---|---|',
    `| wake from zero to the first answer | ${s3(percentile(answers, 50))} | ${s3(percentile(answers, 90))} | ${answers.map(s3).join(', ')} | p50 ≤ 3 s (KEDA HTTP add-on: 3.35 s) |`,
    `| the wake: start to a ready instance | ${s3(percentile(wakes, 50))} | ${s3(percentile(wakes, 90))} | ${wakes.map(s3).join(', ')} | |`,
    `| the rest (ingress → waker, pass-on, answer) | ${s3(median(rest))} | ${s3(percentile(rest, 90))} | ${rest.map(s3).join(', ')} | |`,
    '',
  ];
  mkdirSync(dirname(SETTINGS.out), { recursive: true });
  writeFileSync(SETTINGS.out, lines.join('\n'));
  say(`wrote ${SETTINGS.out}`);
} finally {
  await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app}`);
  await builder.purgeCache(app);
  await s.close();
}
