import type { SourcePenalties } from '../../config.ts';
import { log } from '../../output/log.ts';

/** Why a connection ended without authenticating, as sshd's PerSourcePenalties names it. */
export type PenaltyReason = 'authfail' | 'noauth' | 'grace-exceeded';

/** Most source addresses tracked at once (sshd's max-sources4 default). */
export const MAX_PENALISED_SOURCES = 65_536;

interface Penalty {
  /** When the penalty runs out (ms since the epoch). */
  until: number;
  /** Whether it is enforced: once `min` has accrued, until it runs out. */
  active: boolean;
}

/**
 * Per-source penalties, as OpenSSH 9.8's PerSourcePenalties: every connection that ends without
 * authenticating adds time to its source's penalty, up to `max`; a source whose penalty reached
 * `min` is refused until it runs out. Concurrent connections accrue into one penalty, so a flood
 * locks its own address out quickly while other addresses are untouched. The table is bounded;
 * when full, the penalty nearest its end is forgotten first (expired ones before that).
 */
export class SourcePenaltyBox {
  private readonly entries = new Map<string, Penalty>();
  private readonly cfg: Readonly<SourcePenalties>;
  private readonly clock: () => number;
  private readonly maxSources: number;

  constructor(cfg: Readonly<SourcePenalties>, clock: () => number = Date.now, maxSources = MAX_PENALISED_SOURCES) {
    this.cfg = cfg;
    this.clock = clock;
    this.maxSources = maxSources;
  }

  /** Adds the penalty for `reason` to `source`. */
  penalise(source: string, reason: PenaltyReason): void {
    const add = { authfail: this.cfg.authfailMs, noauth: this.cfg.noauthMs, 'grace-exceeded': this.cfg.graceExceededMs }[reason];
    if (add <= 0) return;
    const now = this.clock();
    const old = this.entries.get(source);
    const current = old && old.until > now ? old : undefined;
    const until = Math.min((current?.until ?? now) + add, now + this.cfg.maxMs);
    const active = current?.active === true || until - now >= this.cfg.minMs;
    if (active && !current?.active) log.info('ssh source address penalised: new connections refused', { source, reason, seconds: Math.round((until - now) / 1000) });
    this.entries.set(source, { until, active });
    if (this.entries.size > this.maxSources) this.evict(now);
  }

  /** Whether new connections from `source` are refused now. */
  refuses(source: string): boolean {
    const p = this.entries.get(source);
    if (!p) return false;
    if (p.until <= this.clock()) {
      this.entries.delete(source);
      return false;
    }
    return p.active;
  }

  /** How many sources are tracked. */
  get size(): number {
    return this.entries.size;
  }

  private evict(now: number): void {
    for (const [source, p] of this.entries) if (p.until <= now) this.entries.delete(source);
    while (this.entries.size > this.maxSources) {
      let first: string | undefined;
      let soonest = Infinity;
      for (const [source, p] of this.entries) if (p.until < soonest) { soonest = p.until; first = source; }
      this.entries.delete(first!);
    }
  }
}
