// The cluster builds' slots (server/cluster-build/queue.ts): a share per key, waiting builds taken
// round-robin across keys, a place in line told to each, and the setting that bounds one key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildQueue, defaultPerKey, slotFor, waitLine, type BuildWait } from '../../server/cluster-build/queue.ts';
import { loadConfig } from '../../server/config.ts';
import { lineTranscript } from '../../server/output/transcript.ts';

const open = () => new AbortController().signal;
/** What each build was told while it waited, as `reason:ahead`. */
const heard = (log: BuildWait[]) => log.map((w) => `${w.reason}:${w.ahead}`);

/** Starts builds of `keys` in this order, each holding its slot until released; `started` lists them as they get one. */
function builds(q: BuildQueue, keys: string[]) {
  const started: string[] = [];
  const told: BuildWait[][] = [];
  const slots = keys.map((key, i) => {
    const log: BuildWait[] = [];
    told.push(log);
    return q.acquire(key, open(), (w) => log.push(w)).then((release) => {
      started.push(`${key}${i}`);
      return release;
    });
  });
  return { started, told, slots };
}

/** Lets every promise that can settle now settle. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test('one key with every slot: at most the limit at once, the rest in arrival order, each told its place', async () => {
  const q = new BuildQueue(2, 2);
  const b = builds(q, ['k', 'k', 'k', 'k']);
  await settle();
  assert.deepEqual(b.started, ['k0', 'k1']);
  assert.equal(q.running, 2);
  assert.equal(q.waiting, 2);
  const r0 = await b.slots[0]!;
  r0();
  r0(); // a second call of the same release frees nothing more
  await settle();
  assert.deepEqual(b.started, ['k0', 'k1', 'k2']);
  assert.equal(q.running, 2);
  // A newcomer of the same key while k3 waits does not overtake it, even when a slot frees.
  const late = builds(q, ['k']);
  (await b.slots[1]!)();
  await settle();
  assert.deepEqual(b.started, ['k0', 'k1', 'k2', 'k3']);
  assert.deepEqual(late.started, []);
  assert.deepEqual(b.told.map(heard), [[], [], ['slots:0'], ['slots:1', 'slots:0']]);
  assert.deepEqual(late.told.map(heard), [['slots:1', 'slots:0']]);
  (await b.slots[2]!)();
  await settle();
  assert.deepEqual(late.started, ['k0']);
  (await b.slots[3]!)();
  (await late.slots[0]!)();
  assert.equal(q.running, 0);
  assert.equal(q.waiting, 0);
});

test('a key past its share waits even with a slot free and is told so; another key takes the slot at once', async () => {
  const q = new BuildQueue(3); // a key's share: 2
  assert.equal(q.perKey, 2);
  const alice = builds(q, ['alice', 'alice', 'alice', 'alice']);
  await settle();
  assert.deepEqual(alice.started, ['alice0', 'alice1']);
  assert.equal(q.running, 2, 'one slot stays free');
  assert.deepEqual(alice.told.map(heard), [[], [], ['share:0'], ['share:1']]);
  assert.equal(waitLine(alice.told[2]![0]!), "Waiting for the key alice's own builds: it has 2 running, as many as one key may at once (SLIPWAY_BUILD_CONCURRENCY_PER_KEY); 0 ahead in line");
  const bob = builds(q, ['bob', 'bob']);
  await settle();
  assert.deepEqual(bob.started, ['bob0'], "bob's first build starts at once, before alice's waiting ones");
  // Every slot is busy now: bob's second build waits for a slot, first in line (bob runs fewer
  // builds than alice), and alice's move back one place.
  assert.deepEqual(q.order(), ['bob', 'alice', 'alice']);
  assert.deepEqual(heard(bob.told[1]!), ['slots:0']);
  assert.equal(waitLine(bob.told[1]![0]!), 'Waiting for a build slot: 0 ahead in line (all 3 slots busy, SLIPWAY_BUILD_CONCURRENCY)');
  assert.deepEqual(alice.told.map(heard), [[], [], ['share:0', 'share:1'], ['share:1', 'share:2']]);
  // bob's slot frees: alice is at her share, so bob's next build takes it.
  (await bob.slots[0]!)();
  await settle();
  assert.deepEqual(bob.started, ['bob0', 'bob1']);
  assert.deepEqual(alice.started, ['alice0', 'alice1']);
  // One of alice's frees: her next starts in it.
  (await alice.slots[0]!)();
  await settle();
  assert.deepEqual(alice.started, ['alice0', 'alice1', 'alice2']);
  assert.equal(q.runningOf('alice'), 2);
  for (const r of [alice.slots[1], alice.slots[2], bob.slots[1]]) (await r!)();
  await settle();
  (await alice.slots[3]!)();
  assert.equal(q.running, 0);
  assert.equal(q.waiting, 0);
});

test('waiting builds are taken round-robin across keys, not in the order they came', async () => {
  const q = new BuildQueue(1);
  const first = await q.acquire('alice', open(), () => assert.fail('the first build waits'));
  // Arrival order: alice ×3, bob ×2, carol ×1; one FIFO line would run alice's three first.
  const b = builds(q, ['alice', 'alice', 'alice', 'bob', 'bob', 'carol']);
  await settle();
  assert.deepEqual(q.order(), ['bob', 'carol', 'alice', 'bob', 'alice', 'alice']);
  // Each was told its place in that order.
  assert.deepEqual(b.told.map((log) => heard(log).at(-1)), ['slots:2', 'slots:4', 'slots:5', 'slots:0', 'slots:3', 'slots:1']);
  let release = first;
  for (let i = 0; i < 6; i++) {
    release();
    await settle();
    assert.equal(q.running, 1);
    release = await b.slots[Number(b.started.at(-1)!.replace(/\D+/, ''))]!;
  }
  release();
  assert.deepEqual(b.started, ['bob3', 'carol5', 'alice0', 'bob4', 'alice1', 'alice2']);
  assert.equal(q.running, 0);
});

test('a build that goes away while it waits leaves the line: those behind it move up, and the slot goes to the next', async () => {
  const q = new BuildQueue(1);
  const held = await q.acquire('alice', open(), () => undefined);
  const gone = new AbortController();
  const places: string[] = [];
  const first = q.acquire('bob', gone.signal, () => undefined);
  const second = q.acquire('carol', open(), (w) => places.push(`${w.reason}:${w.ahead}`));
  assert.equal(q.waiting, 2);
  gone.abort();
  await assert.rejects(first, /cancelled while it waited for a build slot/);
  assert.deepEqual(places, ['slots:1', 'slots:0']);
  assert.equal(q.waiting, 1);
  held();
  const r = await second;
  r();
  assert.equal(q.running, 0);
  assert.equal(q.waiting, 0);
  // A signal aborted before asking takes nothing.
  const off = new AbortController();
  off.abort();
  await assert.rejects(q.acquire('dave', off.signal, () => undefined), /The build was cancelled\./);
  assert.equal(q.running + q.waiting, 0);
});

test("a failed build's slot is its key's again: the key's next build starts, and a repeated release frees nothing more", async () => {
  const q = new BuildQueue(2); // a key's share: 1
  const failing = async () => {
    // As the cluster builder does: the slot is released in `finally`, whatever the build did.
    const release = await q.acquire('alice', open(), () => undefined);
    try {
      throw new Error('the build failed');
    } finally {
      release();
      release();
    }
  };
  const next = builds(q, ['alice']);
  // alice's first build holds her share until it fails.
  const other = builds(q, ['alice']);
  await settle();
  assert.deepEqual(next.started, ['alice0']);
  assert.deepEqual(other.started, []);
  (await next.slots[0]!)();
  await settle();
  assert.deepEqual(other.started, ['alice0']);
  // Now a build that fails while another key and alice's next wait.
  (await other.slots[0]!)();
  const fails = failing();
  const after = builds(q, ['alice', 'bob']);
  await assert.rejects(fails, /the build failed/);
  await settle();
  assert.deepEqual(after.started, ['bob1', 'alice0'], "bob's build took the free slot at once; alice's waited for her failed one");
  assert.equal(q.runningOf('alice'), 1);
  for (const r of after.slots) (await r)();
  assert.equal(q.running, 0);
  assert.equal(q.runningOf('alice'), 0);
});

test("slotFor tells the build's transcript why it waits, and once per change", async () => {
  const q = new BuildQueue(2, 1);
  const lines: string[] = [];
  const transcript = lineTranscript((l) => lines.push(l));
  const a = await slotFor(q, { tenant: 'alice', signal: open(), transcript });
  const waiting = slotFor(q, { tenant: 'alice', signal: open(), transcript });
  const b = await slotFor(q, { tenant: 'bob', signal: open(), transcript });
  assert.deepEqual(lines, ["       Waiting for the key alice's own builds: it has 1 running, as many as one key may at once (SLIPWAY_BUILD_CONCURRENCY_PER_KEY); 0 ahead in line"]);
  b();
  a();
  (await waiting)();
  assert.equal(lines.length, 1);
});

test('a key may have every slot but one by default (at least one), at most every slot, set by SLIPWAY_BUILD_CONCURRENCY_PER_KEY', () => {
  assert.deepEqual([1, 2, 3, 8].map(defaultPerKey), [1, 1, 2, 7]);
  assert.equal(loadConfig({}).buildConcurrencyPerKey, 1);
  assert.equal(loadConfig({ SLIPWAY_BUILD_CONCURRENCY: '4' }).buildConcurrencyPerKey, 3);
  assert.equal(loadConfig({ SLIPWAY_BUILD_CONCURRENCY: '4', SLIPWAY_BUILD_CONCURRENCY_PER_KEY: '4' }).buildConcurrencyPerKey, 4);
  assert.throws(() => loadConfig({ SLIPWAY_BUILD_CONCURRENCY_PER_KEY: '3' }), /^UserError: SLIPWAY_BUILD_CONCURRENCY_PER_KEY \(3\) must not be above SLIPWAY_BUILD_CONCURRENCY \(2\)\.$/);
  assert.throws(() => loadConfig({ SLIPWAY_BUILD_CONCURRENCY_PER_KEY: '0' }), /SLIPWAY_BUILD_CONCURRENCY_PER_KEY must be a whole number of at least 1, got "0"\./);
  assert.throws(() => new BuildQueue(2, 3), /share of the build slots must be 1 to 2/);
});
