/** The one logger: structured lines on stderr. Nothing else in the server writes to the console. */
type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: Level = 'info';
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

function describe(value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { message: value.message, stack: value.stack };
    if (value.cause !== undefined) out.cause = describe(value.cause);
    return out;
  }
  return value;
}

function emit(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (order[level] < order[threshold]) return;
  const entry: Record<string, unknown> = { t: new Date().toISOString(), level, msg };
  for (const [k, v] of Object.entries(fields ?? {})) entry[k] = describe(v);
  sink(JSON.stringify(entry));
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => emit('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => emit('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => emit('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => emit('error', msg, fields),
};

/** Changes the level and/or destination (tests capture, the CLI quiets). */
export function configureLog(opts: { level?: Level; sink?: (line: string) => void }): void {
  if (opts.level) threshold = opts.level;
  if (opts.sink) sink = opts.sink;
}
