// The few fields whose name in the model types differs from the API's: the generator behind
// @kubernetes/client-node renames JSON names that are reserved words in its languages
// (NetworkPolicyIngressRule `from` → `_from`, LimitRangeItem `default` → `_default`). Slipway's
// object builders and readers use the model's names (the types say so), so every object is
// renamed on its way out (toWire) and back (fromWire). Without it the API server refuses to apply
// a NetworkPolicy (`.spec.ingress[0]._from: field not declared in schema`).
//
// Everything else passes as the API sends it; date-time fields stay RFC 3339 strings (the model
// types say Date, and the readers here take either: `new Date(x)`).

/** Per kind: where the renamed fields sit (a path of object keys, `[]` for each item of a list) and their two names. */
const RENAMES: Record<string, { path: string[]; model: string; wire: string }[]> = {
  NetworkPolicy: [{ path: ['spec', 'ingress', '[]'], model: '_from', wire: 'from' }],
  LimitRange: [{ path: ['spec', 'limits', '[]'], model: '_default', wire: 'default' }],
};

/** The objects at `path` under `value` (lists walked by `[]`). */
function at(value: unknown, path: readonly string[]): Record<string, unknown>[] {
  if (value === null || typeof value !== 'object') return [];
  if (path.length === 0) return Array.isArray(value) ? [] : [value as Record<string, unknown>];
  const [head, ...rest] = path;
  if (head === '[]') return Array.isArray(value) ? value.flatMap((v) => at(v, rest)) : [];
  return at((value as Record<string, unknown>)[head!], rest);
}

/** A copy of `obj` with its kind's renamed fields under their other name (the object itself when its kind has none). */
function renamed<T>(obj: T, direction: 'toWire' | 'fromWire', kind: unknown): T {
  const rules = typeof kind === 'string' ? RENAMES[kind] : undefined;
  if (!rules || obj === null || typeof obj !== 'object') return obj;
  const copy = structuredClone(obj);
  for (const r of rules) {
    const [from, to] = direction === 'toWire' ? [r.model, r.wire] : [r.wire, r.model];
    for (const o of at(copy, r.path)) {
      if (!(from in o)) continue;
      o[to] = o[from];
      delete o[from];
    }
  }
  return copy;
}

/** An object as the API server takes it (model names → JSON names). */
export function toWire<T>(obj: T): T {
  return renamed(obj, 'toWire', (obj as { kind?: unknown } | null)?.kind);
}

/** An object the API server sent, in the model's names; `kind` is needed for list items, which carry none. */
export function fromWire<T>(obj: T, kind?: string): T {
  return renamed(obj, 'fromWire', kind ?? (obj as { kind?: unknown } | null)?.kind);
}
