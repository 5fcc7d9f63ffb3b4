// A watch-fed cache of one kind of object (what client-go calls an informer): one list, then one
// watch from the list's resourceVersion, each event applied as it arrives, so a read is a lookup
// in memory and the API server sees one watch per kind however many reads there are. A watch the
// API server ends (its timeout) is resumed from the last resourceVersion seen; one it reports as
// too old (410) or one that breaks is followed by a new list that replaces everything (what was
// deleted meanwhile goes), and so is every resync period, which heals anything a watch missed.
import type { V1ObjectMeta } from './types.ts';
import { log } from '../output/log.ts';

import { WatchExpiredError, type WatchEvent } from './watch.ts';

export { WatchExpiredError, type WatchEvent };

/** An object as the cache keys it. */
export interface Keyed { metadata?: V1ObjectMeta | undefined }

/** Where an informer gets its objects: a list, and a watch from a list's resourceVersion. */
export interface ListWatch<T> {
  list(): Promise<{ items: T[]; resourceVersion: string }>;
  /** Calls onEvent per event in order; resolves when the watch ends (or `signal` aborts), rejects when it breaks. */
  watch(resourceVersion: string, signal: AbortSignal, onEvent: (e: WatchEvent<T>) => void): Promise<void>;
}

/** How often an informer lists again, and how long it waits after a failure. */
export interface InformerTiming {
  /** A full list this often, even while the watch goes on (default 10 min). */
  resyncMs: number;
  /** First wait after a failed list or a broken watch; doubles up to 30 s (default 500 ms). */
  retryMs: number;
}

/** ns/name, the key of an object. */
export function keyOf(o: Keyed): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/**
 * Whether resourceVersion `a` is older than `b`. They are etcd revisions, numbers that only grow
 * (Kubernetes documents them as comparable since 1.34); anything else is never called older.
 */
export function olderVersion(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

/** The object without metadata.managedFields, which can be half its size and which no read uses. */
function lean<T extends Keyed>(o: T): T {
  if (o.metadata?.managedFields) delete o.metadata.managedFields;
  return o;
}

/** A watch-fed cache of one kind (see the file's comment). */
export class Informer<T extends Keyed> {
  readonly #source: ListWatch<T>;
  readonly #timing: InformerTiming;
  readonly #what: string;
  #items = new Map<string, T>();
  #version = '';
  #running: AbortController | undefined;
  #synced = false;
  #waiting: (() => void)[] = [];
  #relisted = 0;
  readonly #listeners = new Set<(before: T | undefined, after: T) => void>();

  constructor(source: ListWatch<T>, what: string, timing: Partial<InformerTiming> = {}) {
    this.#source = source;
    this.#what = what;
    this.#timing = { resyncMs: timing.resyncMs ?? 600_000, retryMs: timing.retryMs ?? 500 };
  }

  /** Starts listing and watching (once; a started informer is left as it is). */
  start(): void {
    if (this.#running) return;
    const running = new AbortController();
    this.#running = running;
    void this.#loop(running.signal);
  }

  /** Stops the watch; the objects stay as they were. */
  stop(): void {
    this.#running?.abort();
    this.#running = undefined;
  }

  /** Whether a list has filled the cache. */
  get synced(): boolean {
    return this.#synced;
  }

  /** How many lists there were (the first one, relists after a broken watch, resyncs). */
  get lists(): number {
    return this.#relisted;
  }

  /** Resolves true once a list has filled the cache, false when that takes longer than `timeoutMs`. */
  async ready(timeoutMs: number): Promise<boolean> {
    if (this.#synced) return true;
    this.start();
    return new Promise<boolean>((resolve) => {
      const done = () => { clearTimeout(timer); resolve(true); };
      const timer = setTimeout(() => {
        this.#waiting = this.#waiting.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      timer.unref();
      this.#waiting.push(done);
    });
  }

  /** Every object cached. */
  all(): T[] {
    return [...this.#items.values()];
  }

  /** The objects of one namespace. */
  inNamespace(namespace: string): T[] {
    return this.all().filter((o) => o.metadata?.namespace === namespace);
  }

  /** One object by namespace and name. */
  get(namespace: string, name: string): T | undefined {
    return this.#items.get(`${namespace}/${name}`);
  }

  /**
   * An object this server just wrote, as the API server answered the write: a read by the same
   * client sees it at once, before the watch brings the event. Kept unless the cache holds a newer one.
   */
  observe(o: T): void {
    const key = keyOf(o);
    if (olderVersion(o.metadata?.resourceVersion, this.#items.get(key)?.metadata?.resourceVersion)) return;
    this.#items.set(key, lean(o));
  }

  /** An object this server just deleted: gone from reads at once. */
  forget(namespace: string, name: string): void {
    this.#items.delete(`${namespace}/${name}`);
  }

  /**
   * Calls `listener` with each object a watch event added or changed, and the copy the cache held
   * before (undefined when new); returns the function that stops it. Writes of this server
   * (observe) and relists call no listener: what a listener hears is what the cluster reported.
   */
  onChange(listener: (before: T | undefined, after: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Applies one watch event. */
  apply(e: WatchEvent<T>): void {
    const rv = e.object.metadata?.resourceVersion;
    if (rv) this.#version = rv;
    if (e.type === 'BOOKMARK') return;
    const key = keyOf(e.object);
    if (e.type === 'DELETED') {
      this.#items.delete(key);
      return;
    }
    const before = this.#items.get(key);
    this.#items.set(key, lean(e.object));
    for (const listener of this.#listeners) {
      try {
        listener(before, e.object);
      } catch (err) {
        // A listener's failure is its own; the cache goes on.
        log.warn('a cache listener failed', { err, kind: this.#what });
      }
    }
  }

  /** Replaces everything with a list's objects (what is not in it was deleted meanwhile). */
  replace(items: readonly T[], resourceVersion: string): void {
    const next = new Map<string, T>();
    for (const o of items) {
      const key = keyOf(o);
      const mine = this.#items.get(key);
      // A write this server made after the list was read stays.
      next.set(key, mine && olderVersion(o.metadata?.resourceVersion, mine.metadata?.resourceVersion) ? mine : lean(o));
    }
    this.#items = next;
    this.#version = resourceVersion;
    this.#relisted++;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#waiting.splice(0)) w();
    }
  }

  async #loop(signal: AbortSignal): Promise<void> {
    let retry = this.#timing.retryMs;
    let listedAt = 0;
    let needList = true;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (needList || Date.now() - listedAt >= this.#timing.resyncMs) {
          const { items, resourceVersion } = await this.#source.list();
          if (signal.aborted) return;
          this.replace(items, resourceVersion);
          listedAt = Date.now();
          needList = false;
        }
        // The watch ends by itself before the next resync is due, so the resync is never late.
        const resync = AbortSignal.timeout(Math.max(1000, this.#timing.resyncMs - (Date.now() - listedAt)));
        const started = Date.now();
        await this.#source.watch(this.#version, AbortSignal.any([signal, resync]), (e) => this.apply(e));
        // A watch that ends as soon as it starts is not hammered again at once.
        if (Date.now() - started < 1000 && !resync.aborted) await new Promise((r) => setTimeout(r, retry).unref());
        else retry = this.#timing.retryMs;
        failures = 0;
      } catch (err) {
        if (signal.aborted) return;
        needList = true;
        if (err instanceof WatchExpiredError) continue;
        // Said once per streak of failures (and every tenth after), not every few seconds.
        if (failures++ % 10 === 0) log.warn(`the ${this.#what} cache lost its watch; listing again`, { err, failures, retryMs: retry });
        await new Promise((r) => setTimeout(r, retry).unref());
        retry = Math.min(retry * 2, 30_000);
        continue;
      }
    }
  }
}
