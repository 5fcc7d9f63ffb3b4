// Kubernetes resource quantities (`512Mi`, `1`, `500m`), validated strictly before they reach a
// Deployment: a bad one would otherwise be refused by the API server in the middle of a rollout.
import { UserError } from '../errors.ts';
import { shown } from '../names.ts';

// The API server's quantity grammar without a sign: digits with an optional fraction, then a
// binary suffix (Ki…Ei), a decimal one (m, k, M…E) or an exponent.
const QUANTITY = /^(\d+(?:\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const FACTOR: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The value of a quantity (bytes, or cores), or NaN when it is not one. */
export function quantityValue(q: string): number {
  const m = QUANTITY.exec(q);
  if (!m) return NaN;
  const suffix = m[2] ?? '';
  const factor = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : FACTOR[suffix]!;
  return Number(m[1]) * factor;
}

/** A memory quantity (`512Mi`, `1Gi`), or a UserError in one sentence. */
export function memoryQuantity(raw: string): string {
  const v = quantityValue(raw);
  if (Number.isNaN(v)) throw new UserError(`${shown(raw)} is not a memory size; write it as Kubernetes does, for example 512Mi or 1Gi.`);
  if (raw.endsWith('m')) throw new UserError(`${shown(raw)} means ${raw.slice(0, -1)} thousandths of a byte; for megabytes write ${raw.slice(0, -1)}Mi.`);
  if (v < 4 * 2 ** 20) throw new UserError(`${shown(raw)} is too little memory to run a container; give at least 4Mi.`);
  return raw;
}

/** A CPU quantity (`1`, `0.5`, `250m`), or a UserError in one sentence. */
export function cpuQuantity(raw: string): string {
  const v = quantityValue(raw);
  if (Number.isNaN(v) || /i$/.test(raw)) throw new UserError(`${shown(raw)} is not a CPU amount; write cores (1, 0.5) or millicores (250m).`);
  if (v < 1e-3) throw new UserError(`${shown(raw)} is less than the smallest CPU amount, 1m (a thousandth of a core).`);
  if (v > 1024) throw new UserError(`${shown(raw)} is more CPU than any node has; write cores (1, 0.5) or millicores (250m).`);
  return raw;
}
