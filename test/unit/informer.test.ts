// The watch-fed cache (server/kube/informer.ts) on a scripted list-and-watch source: events
// applied in order, a watch that ends resumed from the last version, a dropped or expired watch
// followed by a relist that replaces everything, a periodic resync, and a write of our own seen
// at once but never over a newer version.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Informer, WatchExpiredError, olderVersion, type ListWatch, type WatchEvent } from '../../server/kube/informer.ts';

interface Obj { metadata: { namespace: string; name: string; resourceVersion: string; managedFields?: { manager?: string }[] }; value?: string }
const obj = (name: string, rv: number, value = name): Obj => ({ metadata: { namespace: 'ns', name, resourceVersion: String(rv) }, value });

/** A source whose lists answer from `world` and whose watches the test drives. */
class Script implements ListWatch<Obj> {
  world = new Map<string, Obj>();
  version = 1;
  lists = 0;
  listFails = 0;
  watches: { from: string; emit: (e: WatchEvent<Obj>) => void; end: () => void; fail: (err: Error) => void; signal: AbortSignal }[] = [];

  set(o: Obj): void { this.world.set(o.metadata.name, o); this.version = Number(o.metadata.resourceVersion); }
  async list(): Promise<{ items: Obj[]; resourceVersion: string }> {
    this.lists++;
    if (this.listFails > 0) { this.listFails--; throw new Error('the API is down'); }
    return { items: [...this.world.values()].map((o) => structuredClone(o)), resourceVersion: String(this.version) };
  }
  watch(from: string, signal: AbortSignal, onEvent: (e: WatchEvent<Obj>) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      this.watches.push({ from, emit: onEvent, end: resolve, fail: reject, signal });
    });
  }
  get current() { return this.watches.at(-1)!; }
}

/** Waits (bounded) until `cond` holds: the informer's loop runs on promises and timers. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
}

function names(i: Informer<Obj>): string[] {
  return i.all().map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
}

test('a list fills the cache, then watch events apply in order from its version', async () => {
  const s = new Script();
  s.set(obj('a', 5));
  s.set({ ...obj('b', 6), metadata: { ...obj('b', 6).metadata, managedFields: [{ manager: 'x' }] } });
  const i = new Informer(s, 'things', { retryMs: 5 });
  assert.equal(await i.ready(1000), true);
  assert.deepEqual(names(i), ['a@5', 'b@6']);
  assert.equal(i.get('ns', 'b')?.metadata.managedFields, undefined, 'managedFields are not kept');
  await until(() => s.watches.length === 1, 'a watch started');
  assert.equal(s.current.from, '6', 'the watch starts at the list version');
  s.current.emit({ type: 'ADDED', object: obj('c', 7) });
  s.current.emit({ type: 'MODIFIED', object: obj('a', 8, 'changed') });
  s.current.emit({ type: 'DELETED', object: obj('b', 9) });
  assert.deepEqual(names(i), ['a@8', 'c@7']);
  assert.equal(i.get('ns', 'a')?.value, 'changed');
  i.stop();
});

test('a watch the server ends resumes from the last version seen (bookmarks too), without a list', async () => {
  const s = new Script();
  s.set(obj('a', 3));
  const i = new Informer(s, 'things', { retryMs: 5 });
  await i.ready(1000);
  await until(() => s.watches.length === 1, 'a watch started');
  s.current.emit({ type: 'MODIFIED', object: obj('a', 4) });
  s.current.emit({ type: 'BOOKMARK', object: obj('', 10) });
  assert.deepEqual(names(i), ['a@4'], 'a bookmark changes no object');
  s.current.end();
  await until(() => s.watches.length === 2, 'watching again');
  assert.equal(s.current.from, '10');
  assert.equal(s.lists, 1, 'no second list');
  i.stop();
});

test('a dropped watch is followed by a relist that replaces everything, then a watch from its version', async () => {
  const s = new Script();
  s.set(obj('a', 3));
  s.set(obj('b', 4));
  const i = new Informer(s, 'things', { retryMs: 5 });
  await i.ready(1000);
  await until(() => s.watches.length === 1, 'a watch started');
  // Meanwhile, unseen: b deleted, c created, a changed.
  s.world.delete('b');
  s.set(obj('c', 11));
  s.set(obj('a', 12));
  s.listFails = 1;
  s.current.fail(new Error('connection reset'));
  await until(() => s.watches.length === 2, 'watching again after the relist');
  assert.equal(s.lists, 3, 'one list failed, the next one filled the cache');
  assert.deepEqual(names(i), ['a@12', 'c@11']);
  assert.equal(s.current.from, '12');
  assert.equal(i.lists, 2);
  i.stop();
});

test('an expired watch (410) relists at once', async () => {
  const s = new Script();
  s.set(obj('a', 3));
  const i = new Informer(s, 'things', { retryMs: 60_000 });
  await i.ready(1000);
  await until(() => s.watches.length === 1, 'a watch started');
  s.set(obj('a', 20));
  s.current.fail(new WatchExpiredError('too old resource version'));
  await until(() => s.watches.length === 2, 'watching again without waiting the retry time');
  assert.deepEqual(names(i), ['a@20']);
  i.stop();
});

test('a resync lists again while the watch is quiet', async () => {
  const s = new Script();
  s.set(obj('a', 3));
  const i = new Informer(s, 'things', { retryMs: 5, resyncMs: 1000 });
  await i.ready(1000);
  // Missed by the watch (it never said so), healed by the resync.
  s.set(obj('a', 30));
  await until(() => i.get('ns', 'a')?.metadata.resourceVersion === '30', 'the resync brought the change');
  assert.ok(s.lists >= 2);
  assert.ok(s.watches[0]!.signal.aborted, 'the old watch was ended for the resync');
  i.stop();
});

test('a write of our own is seen at once, but never replaces a newer version', async () => {
  const s = new Script();
  s.set(obj('a', 3));
  const i = new Informer(s, 'things', { retryMs: 5 });
  await i.ready(1000);
  await until(() => s.watches.length === 1, 'a watch started');
  i.observe(obj('a', 7, 'written'));
  assert.equal(i.get('ns', 'a')?.value, 'written', 'the write is read back before its event');
  s.current.emit({ type: 'MODIFIED', object: obj('a', 9, 'controller') });
  i.observe(obj('a', 8, 'late answer'));
  assert.equal(i.get('ns', 'a')?.value, 'controller', 'an older answer does not go over a newer event');
  i.observe(obj('b', 10, 'created'));
  assert.equal(i.get('ns', 'b')?.value, 'created');
  // A list read before the write does not take it away.
  i.replace([obj('a', 9, 'controller')], '9');
  assert.equal(i.get('ns', 'a')?.value, 'controller');
  i.forget('ns', 'a');
  assert.equal(i.get('ns', 'a'), undefined);
  i.stop();
});

test('ready() gives up after its timeout while lists fail', async () => {
  const s = new Script();
  s.listFails = 1000;
  const i = new Informer(s, 'things', { retryMs: 5 });
  assert.equal(await i.ready(50), false);
  assert.equal(i.synced, false);
  i.stop();
});

test('resource versions compare as numbers; anything else is never older', () => {
  assert.equal(olderVersion('9', '10'), true);
  assert.equal(olderVersion('10', '9'), false);
  assert.equal(olderVersion('10', '10'), false);
  assert.equal(olderVersion('abc', '10'), false);
  assert.equal(olderVersion(undefined, '10'), false);
});
