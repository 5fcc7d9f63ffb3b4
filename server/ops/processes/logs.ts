// An app's runtime log lines: which ones (a process type, one-off pods, one run:detached pod; how
// many recent ones; whether to keep following), checked here; the adapter renders the stream.
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { requireDeployer } from '../../context.ts';
import { CRON_PROCESS, RUN_PROCESS, isRunPodName } from '../../deploy/workload.ts';
import type { Actor } from '../actor.ts';

/** Lines shown when no count is given (Heroku's default). */
export const DEFAULT_LOG_LINES = 100;
/** Most lines one request may ask for. */
export const MAX_LOG_LINES = 10_000;

/** Which log lines: `ps` is a process type, `run` (every one-off pod), `cron` (scheduled tasks' runs) or a run:detached pod's name. */
export interface LogQuery {
  ps?: string;
  lines?: number;
  follow?: boolean;
}

/** Writes the lines as they come; the next waits on what `write` returns. Ends at the tail, or (following) when `signal` aborts. */
export type LogStream = (write: (line: string) => Promise<void>, signal: AbortSignal) => Promise<void>;

/** logs: checks the query and returns the stream of the app's log lines it asks for. */
export function appLogs(actor: Actor, app: string, query: LogQuery): LogStream {
  const lines = query.lines ?? DEFAULT_LOG_LINES;
  if (!Number.isInteger(lines) || lines < 1 || lines > MAX_LOG_LINES) throw new UserError(`${shown(String(lines))} is not a number of lines (1-${MAX_LOG_LINES}).`);
  // A run:detached pod's name (`run-x7k2p`) selects that pod; `run` selects every one-off pod.
  const pod = query.ps !== undefined && isRunPodName(query.ps) ? query.ps : undefined;
  const process = pod ? RUN_PROCESS : query.ps;
  const deployer = requireDeployer(actor.services);
  const types = actor.services.store.releases.current(app)?.processes.map((p) => p.type) ?? [];
  if (process !== undefined && process !== RUN_PROCESS && process !== CRON_PROCESS && !types.includes(process)) throw new UserError(`There is no ${shown(process)} process type; this app has ${types.join(', ') || 'none'}.`);
  return (write, signal) => deployer.logSource.logs(app, { ...(process !== undefined ? { process } : {}), ...(pod ? { pod } : {}), lines, follow: query.follow === true, signal }, write);
}
