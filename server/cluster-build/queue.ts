// The build slots, shared fairly between keys. At most `limit` builds run at once, and at most
// `perKey` of them for one key (the key a build runs as: its pusher, or the key that connected a
// sync), so one key never holds every slot until the builds' deadline while another key's push
// waits. A build past its key's share waits even while a slot is free; it is never refused.
//
// Who goes next when a slot frees: among the keys whose next build may start (below their share),
// the one with the fewest builds running; among those, a key none of whose builds has started yet
// (since it last had none running or waiting), else the one whose last build started longest ago.
// That is round-robin across keys: a key with ten pushes waiting no longer keeps another key's one
// push behind all ten, as one FIFO line did, and a newcomer goes first. One key's own builds keep
// their order. A slot passes on as it frees, inside the same call: nobody can take it between.
import { UserError } from '../errors.ts';
import type { BuildRequest } from '../build/builder.ts';
import { buildQueued } from '../observe/metrics.ts';

/** Why a build waits, and its place: what the push is told. */
export interface BuildWait {
  /** `slots`: every slot is busy; `share`: its key runs as many builds as one key may. */
  reason: 'slots' | 'share';
  /** Builds that start before this one if nobody else comes (round-robin order). */
  ahead: number;
  key: string;
  limit: number;
  perKey: number;
}

interface Waiter {
  key: string;
  grant: () => void;
  tell: (wait: BuildWait) => void;
  /** What it was told last (`reason:ahead`), so it hears only changes. */
  told?: string;
}

interface Share {
  key: string;
  running: number;
  line: Waiter[];
  /** When it was first seen (this time), and when it last had a build start (0: not yet). */
  since: number;
  served: number;
}

/** Whether share `a` goes before `b`: fewer builds running; then one not served yet (the earlier seen first); then the one served longest ago. */
function before(a: Share, b: Share): boolean {
  if (a.running !== b.running) return a.running < b.running;
  if ((a.served === 0) !== (b.served === 0)) return a.served === 0;
  return a.served === 0 ? a.since < b.since : a.served < b.served;
}

/** The default share of one key: every slot but one, so another key always finds one (at least 1). */
export function defaultPerKey(limit: number): number {
  return Math.max(1, limit - 1);
}

/** Build slots shared round-robin between keys, at most `perKey` per key. */
export class BuildQueue {
  readonly limit: number;
  readonly perKey: number;
  #running = 0;
  #clock = 0;
  readonly #keys = new Map<string, Share>();

  constructor(limit: number, perKey: number = defaultPerKey(limit)) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`a build queue needs at least one slot, got ${limit}`);
    if (!Number.isInteger(perKey) || perKey < 1 || perKey > limit) throw new Error(`a key's share of the build slots must be 1 to ${limit}, got ${perKey}`);
    this.limit = limit;
    this.perKey = perKey;
  }

  /** Builds running now. */
  get running(): number {
    return this.#running;
  }

  /** Builds waiting for a slot. */
  get waiting(): number {
    let n = 0;
    for (const s of this.#keys.values()) n += s.line.length;
    return n;
  }

  /** Builds of `key` running now. */
  runningOf(key: string): number {
    return this.#keys.get(key)?.running ?? 0;
  }

  /**
   * Resolves with a release function once this build of `key` has a slot. While it waits, `onWait`
   * hears why and its place in line (at once, and again each time either changes). An aborted
   * signal takes it out of the line and rejects. The release function frees the slot (once, however
   * often it is called), whether the build succeeded or not.
   */
  acquire(key: string, signal: AbortSignal, onWait: (wait: BuildWait) => void): Promise<() => void> {
    if (signal.aborted) return Promise.reject(new UserError('The build was cancelled.', { cause: signal.reason }));
    return new Promise((resolve, reject) => {
      const share = this.#share(key);
      const waiter: Waiter = {
        key,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.#releaser(share));
        },
        tell: onWait,
      };
      const onAbort = () => {
        const at = share.line.indexOf(waiter);
        if (at < 0) return;
        share.line.splice(at, 1);
        this.#forget(share);
        this.#tellPlaces();
        reject(new UserError('The build was cancelled while it waited for a build slot.', { cause: signal.reason }));
      };
      share.line.push(waiter);
      this.#dispatch();
      if (share.line.includes(waiter)) {
        signal.addEventListener('abort', onAbort, { once: true });
        this.#tellPlaces();
      }
    });
  }

  #share(key: string): Share {
    let s = this.#keys.get(key);
    if (!s) {
      s = { key, running: 0, line: [], since: ++this.#clock, served: 0 };
      this.#keys.set(key, s);
    }
    return s;
  }

  /** A key with nothing running or waiting is forgotten: when it comes back it is new again. */
  #forget(share: Share): void {
    if (share.running === 0 && share.line.length === 0) this.#keys.delete(share.key);
  }

  #releaser(share: Share): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#running--;
      share.running--;
      this.#forget(share);
      this.#dispatch();
      this.#tellPlaces();
    };
  }

  /** The share whose build goes next (see `before`); only among keys below their share when `eligible`. */
  static #next(shares: Iterable<Share>, perKey: number, eligible: boolean): Share | undefined {
    let best: Share | undefined;
    for (const s of shares) {
      if (s.line.length === 0 || (eligible && s.running >= perKey)) continue;
      if (!best || before(s, best)) best = s;
    }
    return best;
  }

  /** Starts waiting builds while slots are free and their keys are below their share. */
  #dispatch(): void {
    while (this.#running < this.limit) {
      const share = BuildQueue.#next(this.#keys.values(), this.perKey, true);
      if (!share) return;
      const waiter = share.line.shift()!;
      share.running++;
      share.served = ++this.#clock;
      this.#running++;
      waiter.grant();
    }
  }

  /**
   * The waiting builds in the order they would start if nobody else came and slots freed one by
   * one, each with why it waits now: the line played forward on a copy, each pick counting as one
   * more build of its key running.
   */
  #plan(): { waiter: Waiter; reason: BuildWait['reason'] }[] {
    const shares = [...this.#keys.values()].map((s) => ({ ...s, line: [...s.line] }));
    let clock = this.#clock;
    const out: { waiter: Waiter; reason: BuildWait['reason'] }[] = [];
    for (let s = BuildQueue.#next(shares, this.perKey, false); s; s = BuildQueue.#next(shares, this.perKey, false)) {
      const waiter = s.line.shift()!;
      // At its share, a free slot would not start it; a share of every slot is no bound of its own.
      out.push({ waiter, reason: this.perKey < this.limit && this.runningOf(s.key) >= this.perKey ? 'share' : 'slots' });
      s.running++;
      s.served = ++clock;
    }
    return out;
  }

  /** The keys of the waiting builds, in the order they would start if nobody else came. */
  order(): string[] {
    return this.#plan().map(({ waiter }) => waiter.key);
  }

  /** Tells every waiter whose reason or place changed. */
  #tellPlaces(): void {
    this.#plan().forEach(({ waiter, reason }, ahead) => {
      const told = `${reason}:${ahead}`;
      if (waiter.told === told) return;
      waiter.told = told;
      waiter.tell({ reason, ahead, key: waiter.key, limit: this.limit, perKey: this.perKey });
    });
  }
}

/** The line a waiting build's push shows. */
export function waitLine(w: BuildWait): string {
  if (w.reason === 'share') return `Waiting for the key ${w.key}'s own builds: it has ${w.perKey} running, as many as one key may at once (SLIPWAY_BUILD_CONCURRENCY_PER_KEY); ${w.ahead} ahead in line`;
  return `Waiting for a build slot: ${w.ahead} ahead in line (all ${w.limit} slots busy, SLIPWAY_BUILD_CONCURRENCY)`;
}

/** Waits for a slot for the build (as its key), telling its transcript why it waits and its place; resolves with the slot's release. */
export function slotFor(queue: BuildQueue, req: Pick<BuildRequest, 'tenant' | 'signal' | 'transcript'>): Promise<() => void> {
  // Counted in the queue's length (slipway_build_queue_length) until it has its slot or gives up.
  const waited = buildQueued();
  const slot = queue.acquire(req.tenant, req.signal, (w) => req.transcript.detail(waitLine(w)));
  slot.then(waited, waited);
  return slot;
}
