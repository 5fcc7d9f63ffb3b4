// A canary's rules, pure: the setting as typed (steps, window, margin), the figures of one window
// from two samples of the ingress's counters, and the verdict that compares the canary's with the
// stable set's. Figures in, verdict out; canary.ts runs them.
import { UserError } from '../../errors.ts';
import { durationSeconds } from '../../config.ts';
import type { CanarySetting } from '../../store/canary.ts';
import type { SetCounters } from '../../deploy/ingress-metrics.ts';

/** A window's shortest and longest length, in seconds. */
export const MIN_STEP_SECONDS = 1;
export const MAX_STEP_SECONDS = 24 * 3600;
/** The margin when none is given: 1 percentage point of 5xx, 100 ms of p95. */
export const DEFAULT_MARGIN = Object.freeze({ errorPoints: 1, p95Ms: 100 });
/** The window when none is given. */
export const DEFAULT_STEP_SECONDS = 300;

/** The steps as typed (`10,50,100`): rising whole percentages from 1 to 100, 100 last (added when left out). */
export function parseSteps(raw: string): number[] {
  const words = raw.split(',').map((w) => w.trim());
  const steps = words.map(Number);
  const bad = () => new UserError(`"${raw.slice(0, 40)}" is not a list of canary steps; give rising percentages of the requests, like 10,50,100.`);
  if (words.some((w) => !/^\d{1,3}$/.test(w)) || steps.some((s) => s < 1 || s > 100)) throw bad();
  if (steps.some((s, i) => i > 0 && s <= steps[i - 1]!)) throw bad();
  if (steps.length > 10) throw new UserError('A canary has at most 10 steps.');
  return steps.at(-1) === 100 ? steps : [...steps, 100];
}

/** A window's length as typed (`30s`, `5m`, `300`), in seconds; one sentence when it is none. */
export function parseStep(raw: string): number {
  const s = durationSeconds(raw);
  if (s === undefined || s < MIN_STEP_SECONDS || s > MAX_STEP_SECONDS) throw new UserError(`"${raw.slice(0, 40)}" is not a canary window; give a duration like 30s, 5m or 1h (from 1s to 24h).`);
  return s;
}

/**
 * The margin as typed: `5xx=1` (percentage points of 5xx the canary may have over the stable set)
 * and/or `p95=100ms` (milliseconds its p95 latency may have over the stable set's), comma-separated;
 * a part not given keeps the default.
 */
export function parseMargin(raw: string): CanarySetting['margin'] {
  const out: CanarySetting['margin'] = { ...DEFAULT_MARGIN };
  const bad = () => new UserError(`"${raw.slice(0, 40)}" is not a canary margin; give 5xx=POINTS and/or p95=MILLISECONDS, like 5xx=1,p95=100ms.`);
  for (const part of raw.split(',')) {
    const m = /^(5xx|p95)=(\d{1,5}(?:\.\d{1,2})?)(%|ms)?$/.exec(part.trim());
    if (!m) throw bad();
    const value = Number(m[2]);
    if (m[1] === '5xx') {
      if (m[3] === 'ms' || value > 100) throw bad();
      out.errorPoints = value;
    } else {
      if (m[3] === '%' || !Number.isInteger(value)) throw bad();
      out.p95Ms = value;
    }
  }
  return out;
}

/** What one set of web instances did over a window. */
export interface Figures {
  requests: number;
  /** Share of its requests answered with a 5xx, in percent (0 with no request). */
  errorRate: number;
  /** Its 95th percentile latency in ms, from the histogram's buckets (null with no request). */
  p95Ms: number | null;
}

/** The counters' growth from `a` to `b` (a counter that went back, Traefik restarted: from zero). */
export function figuresBetween(a: SetCounters, b: SetCounters): Figures {
  const reset = b.requests < a.requests;
  const base = reset ? { requests: 0, errors: 0, buckets: [] as [number, number][] } : a;
  const requests = b.requests - base.requests;
  const errors = b.errors - base.errors;
  const before = new Map(base.buckets);
  const buckets = b.buckets.map(([le, n]): [number, number] => [le, n - (before.get(le) ?? 0)]);
  return { requests, errorRate: requests > 0 ? (100 * errors) / requests : 0, p95Ms: quantileMs(buckets, 0.95) };
}

/**
 * The q-quantile of a cumulative histogram (upper bound in seconds → count), in ms, interpolated
 * linearly inside its bucket as Prometheus' histogram_quantile does; in the +Inf bucket, the
 * highest finite bound. Null when the histogram counted nothing.
 */
export function quantileMs(buckets: readonly [number, number][], q: number): number | null {
  const sorted = [...buckets].sort((x, y) => x[0] - y[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Infinity) return Math.round(prevLe * 1000);
      const inBucket = count - prevCount;
      const at = inBucket > 0 ? prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket : le;
      return Math.round(at * 1000);
    }
    prevLe = le;
    prevCount = count;
  }
  return Math.round(prevLe * 1000);
}

/** A window's verdict: the canary goes on (ok) or is aborted, and why, with the figures compared. */
export interface Verdict {
  ok: boolean;
  /** One clause per comparison that failed (empty when ok). */
  reasons: string[];
}

/** Percent with one decimal. */
const pct = (n: number) => `${n.toFixed(1)} %`;

/**
 * Compares a window's figures: the canary is aborted when its 5xx rate is above the stable set's
 * by more than `margin.errorPoints`, or its p95 above the stable set's by more than
 * `margin.p95Ms` (judged only when both sets answered requests). A canary no request reached has
 * nothing against it.
 */
export function judge(stable: Figures, canary: Figures, margin: CanarySetting['margin']): Verdict {
  const reasons: string[] = [];
  if (canary.requests === 0) return { ok: true, reasons };
  if (canary.errorRate > stable.errorRate + margin.errorPoints) {
    reasons.push(`5xx ${pct(canary.errorRate)} against ${pct(stable.errorRate)} on the stable set (margin ${margin.errorPoints} point${margin.errorPoints === 1 ? '' : 's'})`);
  }
  if (canary.p95Ms !== null && stable.p95Ms !== null && stable.requests > 0 && canary.p95Ms > stable.p95Ms + margin.p95Ms) {
    reasons.push(`p95 ${canary.p95Ms} ms against ${stable.p95Ms} ms on the stable set (margin ${margin.p95Ms} ms)`);
  }
  return { ok: reasons.length === 0, reasons };
}

/** A set's figures as one line shows them: `212 requests, 5xx 0.0 %, p95 12 ms`. */
export function figuresText(f: Figures): string {
  return `${f.requests} request${f.requests === 1 ? '' : 's'}, 5xx ${pct(f.errorRate)}, p95 ${f.p95Ms === null ? '-' : `${f.p95Ms} ms`}`;
}

/** The setting as one line shows it: `10 % → 50 % → 100 %, 5m windows, margin 5xx 1 point, p95 100 ms`. */
export function settingText(s: CanarySetting): string {
  return `${s.steps.map((w) => `${w} %`).join(' → ')}, ${s.stepSeconds} s windows, margin 5xx ${s.margin.errorPoints} point${s.margin.errorPoints === 1 ? '' : 's'}, p95 ${s.margin.p95Ms} ms`;
}
