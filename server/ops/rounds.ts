// The server's background rounds, registered in one place (serverRounds) with a name, what each
// does and its interval: the TLS sync, garbage collection, the rights sweep, the warm-window
// sweep, repository polling and the preview reconciler. Each runs every interval, never two of
// the same at once; a failed round is logged and tried again next time. What each did last (when,
// how often, its last error) is shown by doctor, and an admin may run one now (rounds:run).
import { UserError } from '../errors.ts';
import type { BackgroundRounds, RoundState } from '../context.ts';
import { log } from '../output/log.ts';

/** One background round: what runs, how often, and the sentence that says what it does. */
export interface Round {
  name: string;
  /** What it does, in a few words (doctor shows it). */
  what: string;
  intervalMs: number;
  task: (signal: AbortSignal) => Promise<unknown>;
  /** Whether each run is a change of the server's own that the audit log records (gc, backups); a failure is recorded for every round. */
  audited?: boolean;
}

/** Told how a round's run ended: `error` is null when it succeeded; `failedBefore` says whether its previous run failed too. */
export type RoundObserver = (round: Round, error: string | null, failedBefore: boolean) => void;

interface Entry {
  round: Round;
  state: RoundState;
  current: Promise<void> | undefined;
}

/** The registered rounds, their timers and what each did. */
export class Rounds implements BackgroundRounds {
  readonly #entries = new Map<string, Entry>();
  readonly #stop = new AbortController();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #paused: () => boolean;

  readonly #observe: RoundObserver | undefined;

  /**
   * `paused`: while it says so, the timers' ticks start nothing (an upgrade under way); rounds:run
   * still runs one. `observe`: told of each run's end (the audit log's record of rounds).
   */
  constructor(rounds: readonly Round[], opts: { paused?: () => boolean; observe?: RoundObserver } = {}) {
    this.#paused = opts.paused ?? (() => false);
    this.#observe = opts.observe;
    for (const round of rounds) {
      if (this.#entries.has(round.name)) throw new Error(`two background rounds are named ${round.name}`);
      this.#entries.set(round.name, { round, current: undefined, state: { name: round.name, what: round.what, intervalMs: round.intervalMs, runs: 0, running: false, lastStarted: null, lastFinished: null, lastError: null } });
    }
  }

  /** Starts every round's timer (the first round runs one interval from now); an interval of 0 has none (runNow only). */
  start(): void {
    for (const entry of this.#entries.values()) {
      if (entry.round.intervalMs <= 0) continue;
      const timer = setInterval(() => {
        // A round still running skips this tick, and so does every round while paused.
        if (!entry.current && !this.#paused()) void this.#run(entry);
      }, entry.round.intervalMs);
      timer.unref();
      this.#timers.push(timer);
    }
  }

  /** Stops every timer and aborts the rounds in progress. */
  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#stop.abort(new Error('the server is stopping'));
  }

  /** Every round as it stands, in registration order. */
  list(): RoundState[] {
    return [...this.#entries.values()].map((e) => ({ ...e.state }));
  }

  /**
   * Runs the round `name` now (rounds:run) and resolves once it ended, with how it went; one
   * already running is waited for instead of started twice. An unknown name is one sentence.
   */
  async runNow(name: string): Promise<RoundState> {
    const entry = this.#entries.get(name);
    if (!entry) throw new UserError(`There is no background round ${name}; the rounds are: ${[...this.#entries.keys()].join(', ')}.`);
    await (entry.current ?? this.#run(entry));
    return { ...entry.state };
  }

  #run(entry: Entry): Promise<void> {
    const { state, round } = entry;
    const failedBefore = state.lastError !== null;
    state.running = true;
    state.lastStarted = new Date().toISOString();
    const current = round.task(this.#stop.signal).then(
      () => { state.lastError = null; },
      (err: unknown) => {
        state.lastError = (err as Error).message ?? String(err);
        log.warn(`${round.what} failed; the next round tries again`, { round: round.name, err });
      },
    ).finally(() => {
      this.#observe?.(round, state.lastError, failedBefore);
      state.runs++;
      state.running = false;
      state.lastFinished = new Date().toISOString();
      entry.current = undefined;
    });
    entry.current = current;
    return current;
  }
}
