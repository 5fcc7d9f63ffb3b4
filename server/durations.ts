// Lifetimes people type: `30d`, `12h`, `90m`, `3600s`, `2w`, or bare seconds. One parser for the
// token lifetime (`tokens:create --ttl`) and its ceiling (SLIPWAY_TOKEN_MAX_TTL), so both read alike.

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The longest lifetime accepted: ten years (a longer one is a typo, or no expiry at all). */
export const MAX_DURATION_MS = 3650 * 86_400_000;

/** Milliseconds of a lifetime like `30d`, or undefined when `raw` is not one (zero and negatives are not). */
export function parseDuration(raw: string): number | undefined {
  const m = /^([1-9][0-9]{0,9})([smhdw]?)$/.exec(raw.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] || 's']!;
  return ms <= MAX_DURATION_MS ? ms : undefined;
}

/** A lifetime as people say it back: the largest whole unit (`30d`, `36h`, `90m`). */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm'] as const) {
    if (ms % UNIT_MS[unit]! === 0) return unit === 'w' ? `${(ms / UNIT_MS.d!)}d` : `${ms / UNIT_MS[unit]!}${unit}`;
  }
  return `${Math.ceil(ms / 1000)}s`;
}
