// cutoverOf (test/support/ingress.ts) reads a probe's answers as a switch between two releases:
// what the cutover e2e test asserts and bench/cutover.ts measures depends on it reading right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cutoverOf, type ProbeAnswer } from '../support/ingress.ts';

/** Answers 10 ms apart from a string: o = old, N = new, x = failed, ? = another body. */
const seq = (s: string): ProbeAnswer[] => [...s].map((ch, i) => {
  const sentAt = i * 10;
  if (ch === 'x') return { sentAt, failure: 'HTTP 502' };
  return { sentAt, body: ch === 'o' ? 'old' : ch === 'N' ? 'new' : 'other' };
});

test('an atomic switch: one change, no old answer after the first new one, no mixed time', () => {
  const c = cutoverOf(seq('oooNNNN'), 'old', 'new');
  assert.deepEqual({ switches: c.switches, oldAfterNew: c.oldAfterNew, firstNew: c.firstNew, allNew: c.allNew, mixedMs: c.mixedMs, failed: c.failed },
    { switches: 1, oldAfterNew: 0, firstNew: 30, allNew: 30, mixedMs: 0, failed: 0 });
});

test('a rolling update: answers alternate, old ones after the first new one, mixed until the last old one', () => {
  const c = cutoverOf(seq('ooNoNoNNN'), 'old', 'new');
  assert.deepEqual({ switches: c.switches, oldAfterNew: c.oldAfterNew, firstNew: c.firstNew, allNew: c.allNew, mixedMs: c.mixedMs },
    { switches: 5, oldAfterNew: 2, firstNew: 20, allNew: 60, mixedMs: 40 });
});

test('failures and other bodies are counted apart and do not break the run of new answers', () => {
  const c = cutoverOf(seq('oxo?NN'), 'old', 'new');
  assert.deepEqual({ failed: c.failed, failures: c.failures, strangers: c.strangers, switches: c.switches, allNew: c.allNew },
    { failed: 1, failures: { 'HTTP 502': 1 }, strangers: { other: 1 }, switches: 1, allNew: 40 });
});

test('no new answer, or an old one last: no switch time', () => {
  assert.deepEqual(cutoverOf(seq('ooo'), 'old', 'new').allNew, undefined);
  const back = cutoverOf(seq('oNNo'), 'old', 'new');
  assert.deepEqual({ allNew: back.allNew, mixedMs: back.mixedMs, oldAfterNew: back.oldAfterNew }, { allNew: undefined, mixedMs: undefined, oldAfterNew: 1 });
});
