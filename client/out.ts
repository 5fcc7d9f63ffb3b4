// Everything the client prints goes through here: lines and tables on stdout, the API's objects
// as JSON with --json, errors on stderr in the push transcript's ` !     ` voice.

/** The client's printer. */
export interface Out {
  line(s: string): void;
  /** Text as it is (a log, a transcript), no newline added. */
  raw(s: string): void;
  json(v: unknown): void;
  /** A line on stderr (a note, an error). */
  note(s: string): void;
  /** Whether stdout is a terminal (progress, colours, a browser for `open`). */
  tty: boolean;
  /** Whether stderr is a terminal (the live progress line of a job). */
  errTty: boolean;
}

/** The printer over this process's stdout and stderr. */
export function processOut(): Out {
  return {
    line: (s) => { process.stdout.write(s + '\n'); },
    raw: (s) => { process.stdout.write(s); },
    json: (v) => { process.stdout.write(JSON.stringify(v, null, 2) + '\n'); },
    note: (s) => { process.stderr.write(s + '\n'); },
    tty: process.stdout.isTTY === true,
    errTty: process.stderr.isTTY === true,
  };
}

/** An error line as the push transcript shows one. */
export function errorLine(message: string): string {
  return ` !     ${message}`;
}

/** A value as one table cell or line: scalars as they are, lists joined, flat objects as k=v, others as JSON. */
export function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) return v.join(', ');
  if (typeof v === 'object' && Object.values(v as object).every((x) => typeof x !== 'object' || x === null)) {
    return Object.entries(v as object).map(([k, x]) => `${k}=${String(x)}`).join(' ');
  }
  return JSON.stringify(v);
}

/** Columns padded to their widest cell, a heading row first. */
export function table(out: Out, headings: readonly string[], rows: readonly (readonly unknown[])[]): void {
  const cells = rows.map((r) => r.map(cell));
  const widths = headings.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const fmt = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  out.line(fmt(headings.map((h) => h.toUpperCase())));
  for (const r of cells) out.line(fmt(r));
}

/**
 * Any API object in plain words: a list of objects as a table (their scalar fields), an object
 * as `key: value` lines, text as it is. Commands with a better rendering give their own.
 */
export function show(out: Out, v: unknown): void {
  if (typeof v === 'string') return out.raw(v.endsWith('\n') || v === '' ? v : v + '\n');
  if (Array.isArray(v)) {
    if (v.length === 0) return out.line('(none)');
    if (v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x))) {
      const keys = [...new Set(v.flatMap((x) => Object.keys(x as object)))].filter((k) => v.some((x) => { const c = (x as Record<string, unknown>)[k]; return c === null || typeof c !== 'object' || Array.isArray(c); }));
      return table(out, keys, v.map((x) => keys.map((k) => (x as Record<string, unknown>)[k])));
    }
    for (const x of v) out.line(cell(x));
    return;
  }
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v);
    const width = Math.max(0, ...entries.map(([k]) => k.length));
    for (const [k, x] of entries) out.line(`${`${k}:`.padEnd(width + 1)} ${cell(x)}`);
    return;
  }
  if (v !== undefined) out.line(String(v));
}
