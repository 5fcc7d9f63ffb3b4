// Atomic cutover and instant rollback (issue 20), on the testbed's real pieces: a push, a rollback
// to the warm previous release, a rollback past the warm window and a crash-looping push, each
// watched by requests sent one at a time through the ingress (Traefik) with the app's Host header,
// so the order of the answers is the order in which the ingress routed them. What is asserted is
// what a user sees: no failed request, the answers switch from the old body to the new one exactly
// once, and once the command has said `Released` / `done` every request gets the new one. One app
// is reused by the tests in order. How fast it goes is measured by bench/cutover.ts, never here.
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PackBuilder } from '../../server/build/pack.ts';
import type { TestServer } from '../support/harness.ts';
import { destroyApps, pushApp, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed } from '../support/testbed.ts';
import { consecutiveBodies, cutoverOf, probeDuring, waitForBody, type ProbeAnswer } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const APPS = { app: `wc-${randomBytes(3).toString('hex')}` } as const;
const APP = APPS.app;
const HOST = `${APP}.${BASE_DOMAIN}`;
/** Long enough for a cold build (Node from the npm registry) and a first image pull on a busy machine. */
const PUSH_MS = 10 * 60_000;
/** How long the ingress may take to route to a new app's first release. */
const ROUTE_MS = 30_000;
/** Requests that must all answer the target body right after a command returned. */
const AFTER = 20;

const hello = (tag: string) => `hello from slipway ${tag}\n`;
const ONE = hello('one');
const TWO = hello('two');

interface PsEntry { type: string; desired: number; ready: number; instances: { name: string; release: number | null; state: string; ready: boolean }[]; warm?: { release: number; until: string } }

/** Makes the fixture answer `hello from slipway TAG` (GREETING unset): a code change. */
function setTag(wd: string, tag: string): void {
  const file = join(wd, 'server.js');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/`hello from slipway[^$`]*\$\{greeting\}/, `\`hello from slipway ${tag}\${greeting}`));
}

/**
 * Asserts a probe's answers switched from `from` to `to` atomically: no failure, old answers and
 * then new ones, and every request sent after `doneAt` (probe time; at least AFTER of them) new.
 */
function assertAtomic(answers: readonly ProbeAnswer[], from: string, to: string, doneAt: number): void {
  const c = cutoverOf(answers, from, to);
  // o = old, N = new, | = the command returned.
  const seq = () => answers.map((a, i) => (i > 0 && answers[i - 1]!.sentAt < doneAt && a.sentAt >= doneAt ? '|' : '') +
    (a.failure ? `x(${a.failure})` : a.body === from ? 'o' : a.body === to ? 'N' : `?(${JSON.stringify(a.body)})`)).join('');
  assert.deepEqual({ failed: c.failed, failures: c.failures, strangers: c.strangers }, { failed: 0, failures: {}, strangers: {} }, `every request answered one of the two releases: ${seq()}`);
  assert.equal(answers[0]!.body, from, `the old release answered first: ${seq()}`);
  const late = answers.filter((a) => a.sentAt >= doneAt);
  assert.ok(late.length >= AFTER, `${AFTER} requests were sent after the command returned: ${seq()}`);
  assert.deepEqual(late.filter((a) => a.body !== to), [], `every request sent after the command returned answered the new release (o = old, N = new, | = returned): ${seq()}`);
  assert.equal(c.oldAfterNew, 0, `no old answer after the first new one: ${seq()}`);
  assert.equal(c.switches, 1, `the answers switched exactly once: ${seq()}`);
}

describe('atomic cutover and instant rollback, through the ingress', { timeout: 45 * 60_000 }, () => {
  let s: TestServer | undefined;
  let builder: PackBuilder | undefined;
  let ingress: string;
  let wd: string;
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const ps = async (): Promise<PsEntry[]> => {
    const r = await ssh(`ps ${APP} --json`);
    assert.equal(r.exitCode, 0, r.stderr);
    return JSON.parse(r.stdout) as PsEntry[];
  };
  const podNames = (entries: PsEntry[]) => entries.flatMap((e) => e.instances.map((i) => i.name)).sort();
  const serving = (entries: PsEntry[]) => entries.filter((e) => e.type === 'web' && !e.warm);
  const warm = (entries: PsEntry[]) => entries.filter((e) => e.type === 'web' && e.warm);

  /**
   * Runs `command` while probing the app, and goes on probing until AFTER requests were sent after
   * it returned (at most 30 s more); returns its result, the answers, when it returned (probe
   * time), and how long from its start until it returned and until those AFTER answers came.
   */
  async function probed<T>(command: () => Promise<T>, maxMs: number): Promise<{ result: T; answers: ProbeAnswer[]; doneAt: number; tookMs: number; servedMs: number }> {
    const probe = probeDuring(ingress, HOST, { maxDurationMs: maxMs });
    try {
      const t0 = performance.now();
      const result = await command();
      const done = performance.now();
      const doneAt = done - probe.startedAt;
      // The AFTER-th answer to a request sent after the command returned has arrived once one more request has been sent.
      for (const end = done + 30_000; probe.answers.filter((a) => a.sentAt >= doneAt).length < AFTER && performance.now() < end;) await sleep(5);
      const servedMs = performance.now() - t0;
      return { result, answers: await probe.stop(), doneAt, tookMs: done - t0, servedMs };
    } finally {
      await probe.stop();
    }
  }

  before(async () => {
    const started = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240' }, { buildTimeoutMs: PUSH_MS });
    if (!started) return;
    ({ server: s, builder } = started);
    ingress = started.tb.SLIPWAY_TEST_INGRESS!;
  });
  after(() => destroyApps(s, builder, APPS));

  test('the first push answers through the ingress', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    wd = fixtureCopy('node-app');
    setTag(wd, 'one');
    await s.commitAll(wd, 'one');
    const r = await pushApp(s, APP, wd);
    assert.equal(r.code, 0, r.lines.join('\n'));
    assert.equal(await waitForBody(ingress, HOST, (b) => b === ONE, ROUTE_MS), ONE);
  });

  test('a push under load switches every request from the old release to the new one at once, with no failed request', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    setTag(wd, 'two');
    await s.commitAll(wd, 'two');
    const { result: r, answers, doneAt } = await probed(() => pushApp(s!, APP, wd), PUSH_MS);
    assert.equal(r.code, 0, r.lines.join('\n'));
    assert.ok(r.lines.includes('-----> Released v2'), r.lines.join('\n'));
    t.diagnostic(`${answers.length} requests; the first new answer ${cutoverOf(answers, ONE, TWO).firstNew?.toFixed(0)} ms after the probe started, the push returned at ${doneAt.toFixed(0)} ms`);
    assertAtomic(answers, ONE, TWO, doneAt);
  });

  test('rollback within the warm window moves the traffic back to the warm instances: no pod started, no failed request', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const before = await ps();
    const warmBefore = warm(before);
    assert.equal(warmBefore.length, 1, `ps shows v1's web instances as warm: ${JSON.stringify(before)}`);
    assert.equal(warmBefore[0]!.warm!.release, 1, JSON.stringify(warmBefore));
    const warmPods = warmBefore[0]!.instances.map((i) => i.name).sort();
    assert.ok(warmPods.length > 0, JSON.stringify(warmBefore));

    const { result: r, answers, doneAt, tookMs, servedMs } = await probed(() => ssh(`rollback ${APP}`), 5 * 60_000);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Rolling back ${APP} to v1\\.\\.\\. done, v3$`, 'm'));
    t.diagnostic(`warm rollback: command start → done ${tookMs.toFixed(0)} ms; → ${AFTER} more requests answered ${servedMs.toFixed(0)} ms (${answers.length} requests in all)`);
    assertAtomic(answers, TWO, ONE, doneAt);

    const now = await ps();
    const servingNow = serving(now);
    assert.equal(servingNow.length, 1, JSON.stringify(now));
    assert.deepEqual(servingNow[0]!.instances.map((i) => i.name).sort(), warmPods, 'the instances that serve are the warm ones from before');
    const fresh = podNames(now).filter((n) => !podNames(before).includes(n));
    assert.deepEqual(fresh, [], 'the rollback started no pod');
  });

  test('a crash-looping release is rejected and every request keeps answering the release before', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const file = join(wd, 'server.js');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, "console.error('boom at start');\nprocess.exit(1);\n" + good);
    await s.commitAll(wd, 'crash at start');
    try {
      // v1 (as v3) after the rollback above; whatever answers now must go on answering.
      const [current] = await consecutiveBodies(ingress, HOST, 1);
      assert.ok(current === ONE || current === TWO, JSON.stringify(current));
      const { result: r, answers, doneAt } = await probed(() => pushApp(s!, APP, wd), PUSH_MS);
      assert.notEqual(r.code, 0, r.lines.join('\n'));
      assert.ok(r.lines.some((l) => l.trim() === 'boom at start'), r.lines.join('\n'));
      assert.ok(!r.lines.some((l) => l.startsWith('-----> Released')), r.lines.join('\n'));
      const c = cutoverOf(answers, current!, 'no other answer');
      assert.ok(answers.filter((a) => a.sentAt >= doneAt).length >= AFTER, `${AFTER} requests were sent after the push returned`);
      assert.deepEqual({ failures: c.failures, strangers: c.strangers }, { failures: {}, strangers: {} },
        `the release before answered every one of the ${c.requests} requests during the failed push and after it`);
    } finally {
      writeFileSync(file, good);
      await s.commitAll(wd, 'fixed');
    }
  });

  test('past the warm window (ps:warm APP 0) a rollback starts new instances as before, with no failed request', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const off = await ssh(`ps:warm ${APP} 0`);
    assert.equal(off.exitCode, 0, off.stderr);
    await eventually('ps to show no warm instances after ps:warm 0', async () => warm(await ps()).length === 0, 60_000, 500);
    const before = await ps();
    // v1's body answers after the rollback above: back to v2's (v1's, should that rollback have failed).
    const [from] = await consecutiveBodies(ingress, HOST, 1);
    const [target, to] = from === ONE ? [2, TWO] : [1, ONE];

    const { result: r, answers, doneAt, tookMs, servedMs } = await probed(() => ssh(`rollback ${APP} v${target}`), 5 * 60_000);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Rolling back ${APP} to v${target}\\.\\.\\. done, v\\d+$`, 'm'));
    t.diagnostic(`cold rollback: command start → done ${tookMs.toFixed(0)} ms; → ${AFTER} more requests answered ${servedMs.toFixed(0)} ms (${answers.length} requests in all)`);
    assertAtomic(answers, from!, to, doneAt);

    const now = await ps();
    const servingNow = serving(now);
    assert.equal(servingNow.length, 1, JSON.stringify(now));
    const servingPods = servingNow[0]!.instances.map((i) => i.name);
    assert.ok(servingPods.length > 0, JSON.stringify(now));
    assert.deepEqual(servingPods.filter((n) => podNames(before).includes(n)), [], 'the release past the window runs on new instances');
    assert.deepEqual(warm(now), [], 'with ps:warm 0 nothing is kept warm');
  });
});
