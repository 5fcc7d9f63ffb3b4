// The background rounds (server/ops/rounds.ts): registered once, never two of one at once, how
// each went kept for doctor and rounds, one run now on demand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rounds } from '../../server/ops/rounds.ts';
import { configureLog } from '../../server/output/log.ts';

configureLog({ level: 'error' });

test('a round run now is recorded: runs, times, no error; a failing one keeps its error until one succeeds', async () => {
  let fail = true;
  const rounds = new Rounds([{ name: 'flaky', what: 'a test round', intervalMs: 0, task: async () => { if (fail) throw new Error('the cluster said no'); } }]);
  assert.deepEqual(rounds.list().map((r) => [r.name, r.runs, r.lastStarted, r.lastError]), [['flaky', 0, null, null]]);
  const failed = await rounds.runNow('flaky');
  assert.equal(failed.runs, 1);
  assert.equal(failed.lastError, 'the cluster said no');
  assert.ok(failed.lastStarted && failed.lastFinished && failed.lastFinished >= failed.lastStarted);
  fail = false;
  const ok = await rounds.runNow('flaky');
  assert.equal(ok.runs, 2);
  assert.equal(ok.lastError, null);
  assert.equal(ok.running, false);
});

test('a round is never run twice at once: asked again while it runs, the running one is waited for', async () => {
  let started = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const rounds = new Rounds([{ name: 'slow', what: 'a slow round', intervalMs: 0, task: async () => { started++; await gate; } }]);
  const first = rounds.runNow('slow');
  const second = rounds.runNow('slow');
  assert.equal(rounds.list()[0]!.running, true);
  release();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(started, 1);
  assert.equal(a.runs, 1);
  assert.equal(b.runs, 1);
});

test('an unknown round is one sentence naming the rounds; two rounds of one name are refused', async () => {
  const rounds = new Rounds([{ name: 'gc', what: 'x', intervalMs: 0, task: async () => {} }, { name: 'tls-sync', what: 'y', intervalMs: 0, task: async () => {} }]);
  await assert.rejects(rounds.runNow('nope'), { name: 'UserError', message: 'There is no background round nope; the rounds are: gc, tls-sync.' });
  assert.throws(() => new Rounds([{ name: 'a', what: 'x', intervalMs: 0, task: async () => {} }, { name: 'a', what: 'y', intervalMs: 0, task: async () => {} }]), /two background rounds are named a/);
});

test('started rounds run on their interval (one of 0 only on demand), and stop aborts the one in progress', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  let timed = 0;
  let manual = 0;
  let aborted: unknown;
  const rounds = new Rounds([
    { name: 'timed', what: 'x', intervalMs: 1000, task: (signal) => { timed++; return new Promise((resolve) => signal.addEventListener('abort', () => { aborted = signal.reason; resolve(undefined); }, { once: true })); } },
    { name: 'manual', what: 'y', intervalMs: 0, task: async () => { manual++; } },
  ]);
  rounds.start();
  t.mock.timers.tick(1000);
  t.mock.timers.tick(1000);
  assert.equal(timed, 1, 'the second tick skips: the first round still runs');
  assert.equal(manual, 0);
  rounds.stop();
  await new Promise((r) => setImmediate(r));
  assert.match(String(aborted), /the server is stopping/);
});

test('the observer hears how each run ended, and whether the one before failed too (the audit log records a round that starts failing once)', async () => {
  let fail = false;
  const heard: [string, string | null, boolean][] = [];
  const rounds = new Rounds([{ name: 'gc', what: 'x', intervalMs: 0, audited: true, task: async () => { if (fail) throw new Error('registry down'); } }], { observe: (r, error, failedBefore) => { heard.push([r.name, error, failedBefore]); } });
  await rounds.runNow('gc');
  fail = true;
  await rounds.runNow('gc');
  await rounds.runNow('gc');
  fail = false;
  await rounds.runNow('gc');
  assert.deepEqual(heard, [['gc', null, false], ['gc', 'registry down', false], ['gc', 'registry down', true], ['gc', null, true]]);
});
