// Config vars as text: `KEY='value'` lines (config --shell, config:export, config:import) and
// base64 values (config:set --encoded, config:get --encoded). Pure functions; nothing here runs
// a shell, and a line is read exactly as a POSIX shell sourcing it would assign it, or refused.
import { UserError } from '../../errors.ts';
import { configKey, configValue } from '../../names.ts';

/**
 * Largest config:import input, in characters: a release's whole config lives in one Kubernetes
 * Secret, and a Secret holds at most 1 MiB, so a larger file could never be rolled out.
 */
export const MAX_CONFIG_INPUT = 1024 * 1024;

/**
 * Quotes a value for a POSIX shell that sources `config --shell`: inside single quotes nothing is
 * special (`$()`, backticks, `\\`, newlines stay text), and a single quote is closed, escaped and
 * reopened.
 */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The export formats: `shell` (`KEY='value'`, what config:import reads) and Dokku's `exports` (`export KEY='value'`). */
export const EXPORT_FORMATS = ['shell', 'exports'] as const;
/** One of EXPORT_FORMATS. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** An app's config as lines in `format`, one per var (a value's newlines stay inside its quotes). */
export function configLines(vars: Readonly<Record<string, string>>, format: ExportFormat = 'shell'): string[] {
  const prefix = format === 'exports' ? 'export ' : '';
  return Object.entries(vars).map(([k, v]) => `${prefix}${k}=${shellQuote(v)}`);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// ignoreBOM: a leading byte-order mark is part of the value, kept as given.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes a `config:set --encoded` value: standard base64 with its padding (line breaks, as
 * `base64` wraps its output, are allowed), canonical, and UTF-8 text once decoded; anything else
 * is refused with a sentence naming the key (Node's own decoder would skip bad characters).
 */
export function decodeBase64Value(key: string, encoded: string): string {
  const text = encoded.replace(/\r?\n/g, '');
  const bytes = Buffer.from(text, 'base64');
  if (!BASE64.test(text) || bytes.toString('base64') !== text) throw new UserError(`The value of ${key} is not valid base64 (--encoded takes every value base64-encoded).`);
  try {
    return utf8.decode(bytes);
  } catch (err) {
    throw new UserError(`The value of ${key} does not decode to UTF-8 text.`, { cause: err });
  }
}

/** A value base64-encoded (config:get --encoded). */
export function encodeBase64Value(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

/** Characters a shell would act on outside quotes; refused there, so a line means what sourcing it does. */
const SHELL_ACTIVE = new Set(['$', '`', ';', '&', '|', '<', '>', '(', ')']);
const KEY_START = /[A-Za-z_]/;
const KEY_PART = /[A-Za-z0-9_]/;

/**
 * Reads `KEY=VALUE` lines (config:export's, or Dokku's `export KEY='value'`) into config vars.
 * A value is one shell word: single-quoted parts (which may span lines), double-quoted parts
 * without `$` or backticks, backslash escapes and plain characters. Blank lines and `#` comments
 * are skipped; a later line wins over an earlier one for the same key, as when sourced. Any other
 * line is refused with one sentence naming its line number, before anything is written.
 */
export function parseConfigLines(text: string): Record<string, string> {
  if (text.includes('\0')) throw new UserError(`Line ${text.slice(0, text.indexOf('\0')).split('\n').length} contains a NUL character.`);
  const out = new Map<string, string>();
  let i = 0;
  let line = 1;
  const fail = (at: number, why: string): never => {
    throw new UserError(`Line ${at} ${why}.`);
  };
  const atLineEnd = () => i >= text.length || text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n');
  const skipBlanks = () => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  const endLine = () => {
    if (text[i] === '\r') i++;
    if (text[i] === '\n') {
      i++;
      line++;
    }
  };
  while (i < text.length) {
    const start = line;
    skipBlanks();
    if (atLineEnd()) {
      endLine();
      continue;
    }
    if (text[i] === '#') {
      while (!atLineEnd()) i++;
      endLine();
      continue;
    }
    if (text.startsWith('export', i) && (text[i + 6] === ' ' || text[i + 6] === '\t')) {
      i += 6;
      skipBlanks();
    }
    const keyAt = i;
    const keyStarts = KEY_START.test(text[i] ?? '');
    while (KEY_PART.test(text[i] ?? '')) i++;
    if (!keyStarts || text[i] !== '=') fail(start, 'is not KEY=VALUE');
    const key = text.slice(keyAt, i);
    i++;
    let value = '';
    while (!atLineEnd() && text[i] !== ' ' && text[i] !== '\t') {
      const ch = text[i]!;
      if (ch === "'") {
        const end = text.indexOf("'", i + 1);
        if (end < 0) fail(line, `has a single quote that is never closed (the value of ${key})`);
        value += text.slice(i + 1, end);
        line += countNewlines(text, i + 1, end);
        i = end + 1;
      } else if (ch === '"') {
        let j = i + 1;
        for (; j < text.length && text[j] !== '"'; j++) {
          if (text[j] === '$' || text[j] === '`') fail(line + countNewlines(text, i, j), `has ${text[j]} inside double quotes, which a shell would expand (the value of ${key}); use single quotes`);
          if (text[j] === '\\' && j + 1 < text.length && '"\\$`\n'.includes(text[j + 1]!)) {
            j++;
            // A backslash before a newline joins the lines, as in a shell.
            if (text[j] === '\n') continue;
          }
          value += text[j];
        }
        if (j >= text.length) fail(line, `has a double quote that is never closed (the value of ${key})`);
        line += countNewlines(text, i + 1, j);
        i = j + 1;
      } else if (ch === '\\') {
        if (i + 1 >= text.length || text[i + 1] === '\n' || text[i + 1] === '\r') fail(line, `ends with a backslash (the value of ${key})`);
        value += text[i + 1];
        i += 2;
      } else if (SHELL_ACTIVE.has(ch)) {
        fail(line, `has an unquoted ${ch} in the value of ${key}, which a shell would act on; quote the value`);
      } else if (ch === '~' && i === keyAt + key.length + 1) {
        fail(line, `starts the value of ${key} with an unquoted ~, which a shell would expand; quote the value`);
      } else {
        value += ch;
        i++;
      }
    }
    skipBlanks();
    if (!atLineEnd()) fail(line, `has more after the value of ${key}; quote a value with spaces`);
    try {
      out.set(configKey(key), configValue(key, value));
    } catch (err) {
      throw new UserError(`Line ${start}: ${(err as Error).message}`, { cause: err });
    }
    endLine();
  }
  return Object.fromEntries(out);
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) if (text[k] === '\n') n++;
  return n;
}
