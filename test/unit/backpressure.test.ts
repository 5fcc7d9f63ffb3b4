// The bookkeeping under every stream of output towards a client (server/output/backpressure.ts):
// writers wait past the backlog and go on once the client took enough, a writer that goes on
// regardless or a client that stalls past the deadline ends the stream, and closing frees writers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backpressure } from '../../server/output/backpressure.ts';

const LIMITS = { highWater: 100, maxBuffered: 1000, stallMs: 60_000 };

/** Whether a promise has settled by the next turn of the event loop. */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => { done = true; });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

test('a writer waits once the backlog passes the high-water mark, and goes on when the client takes it', async () => {
  const overflows: string[] = [];
  const bp = new Backpressure(LIMITS, (why) => overflows.push(why));
  const first = bp.admit(80)!;
  assert.ok(await settled(bp.ready()), 'under the mark: no wait');
  const second = bp.admit(80)!;
  const waiting = bp.ready();
  assert.equal(await settled(waiting), false, 'over the mark: the writer waits');
  first();
  assert.ok(await settled(waiting), 'the client took enough');
  second();
  second();
  assert.equal(bp.buffered, 0, 'a completion counts once');
  assert.deepEqual(overflows, []);
  bp.close();
});

test('bytes queued elsewhere (the connection socket) count too', async () => {
  let socket = 500;
  const bp = new Backpressure(LIMITS, () => {}, () => socket);
  const waiting = bp.ready();
  assert.equal(await settled(waiting), false);
  socket = 0;
  // Re-read while writers wait, a tenth of a second at a time.
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.ok(await settled(waiting));
  bp.close();
});

test('a writer that adds past the bound while told to wait ends the stream, once', async () => {
  const overflows: string[] = [];
  const bp = new Backpressure(LIMITS, (why) => overflows.push(why));
  assert.ok(bp.admit(600));
  assert.ok(bp.admit(300), 'told to wait, but still within the bound');
  assert.equal(bp.admit(200), undefined, 'past the bound: not written');
  assert.equal(bp.admit(1), undefined, 'closed: nothing more is written');
  assert.equal(overflows.length, 1);
  assert.match(overflows[0]!, /^more than 1 KiB of output waited for a client that was not reading$/);
  assert.ok(await settled(bp.ready()), 'closed: nobody waits');
});

test('one large write from a client that keeps up is not refused', () => {
  const bp = new Backpressure(LIMITS, () => assert.fail('no overflow'));
  assert.ok(bp.admit(5000), 'not told to wait before it: written');
  bp.close();
});

test('a client that does not read for the stall deadline ends the stream and frees the writer', async () => {
  const overflows: string[] = [];
  const bp = new Backpressure({ ...LIMITS, stallMs: 150 }, (why) => overflows.push(why));
  bp.admit(500);
  await bp.ready();
  assert.deepEqual(overflows, ['the client did not read its output for 0 s']);
  assert.ok(bp.closed);
});

test('closing frees waiting writers', async () => {
  const bp = new Backpressure(LIMITS, () => assert.fail('no overflow'));
  bp.admit(500);
  const waiting = bp.ready();
  assert.equal(await settled(waiting), false);
  bp.close();
  assert.ok(await settled(waiting));
});
