// Small numeric helpers and the results table. Pure functions, no I/O.

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The p-th percentile (nearest rank) of a list; NaN when it is empty. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
}

/** One row of the results table. `ratio`/`met` are left empty for measures without a baseline. */
export interface Row {
  measure: string;
  slipway: string;
  baseline: string;
  ratio: string;
  goal: string;
  met: string;
}

/** Formats seconds (from milliseconds) with three significant decimals. */
export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}

/** Formats a ratio as `1.03×`. */
export function times(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a';
}

/** A row comparing two medians against a maximum ratio. */
export function ratioRow(measure: string, slipwayMs: number, baselineMs: number, baselineName: string, maxRatio: number, fmt: (ms: number) => string = secs): Row {
  const r = slipwayMs / baselineMs;
  return {
    measure,
    slipway: fmt(slipwayMs),
    baseline: `${fmt(baselineMs)} (${baselineName})`,
    ratio: times(r),
    goal: `≤ ${maxRatio.toFixed(2)}×`,
    met: r <= maxRatio ? 'yes' : '**no**',
  };
}

/** Renders rows as a GitHub-flavoured markdown table. */
export function markdownTable(rows: readonly Row[]): string {
  const head = ['Measure', 'Slipway', 'Baseline', 'Ratio', 'Goal', 'Met?'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${[r.measure, r.slipway, r.baseline, r.ratio, r.goal, r.met].join(' | ')} |`);
  return lines.join('\n');
}

/** `min / median / max` of samples in seconds, for the details section. */
export function spread(ms: readonly number[]): string {
  if (ms.length === 0) return 'no samples';
  return `${secs(Math.min(...ms))} / ${secs(median(ms))} / ${secs(Math.max(...ms))} (n=${ms.length})`;
}
