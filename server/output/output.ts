import { Chalk } from 'chalk';

/** Where a command writes what the user reads; the transport decides the destination. */
export interface Output {
  /** One line of human output. */
  line(text?: string): void;
  /** Machine output: one JSON document. */
  json(value: unknown): void;
  /** `=== title`, the Heroku section heading. */
  heading(text: string): void;
  /** Aligned columns; the first row is the header when `header` is given. */
  table(rows: readonly (readonly string[])[], header?: readonly string[]): void;
  /** `key:  value` pairs, aligned. */
  pairs(pairs: readonly (readonly [string, string])[]): void;
}

/** Builds an Output over a line writer; colour only when the destination is a terminal. */
export function makeOutput(write: (text: string) => void, opts: { color: boolean }): Output {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const line = (text = '') => write(text + '\n');
  return {
    line,
    json: (value) => line(JSON.stringify(value, null, 2)),
    heading: (text) => line(c.bold(`=== ${text}`)),
    table: (rows, header) => {
      const all = header ? [header, ...rows] : rows;
      const widths: number[] = [];
      for (const r of all) r.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
      all.forEach((r, n) => {
        const text = r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
        line(header && n === 0 ? c.bold(text) : text);
      });
    },
    pairs: (pairs) => {
      const w = Math.max(0, ...pairs.map(([k]) => k.length + 1));
      for (const [k, v] of pairs) line(`${(k + ':').padEnd(w)}  ${v}`);
    },
  };
}

/** The one-line rendering of an error for the user: ` !     message`. */
export function errorLine(message: string): string {
  return ` !     ${message}`;
}
