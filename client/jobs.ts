// Following a job live: its transcript lines as they come (GET /jobs/ID/events), then its outcome.
// On a terminal a status line on stderr says it is still running; elsewhere only plain lines.
// The exit code is the job's: 0 when it succeeded, 1 otherwise.
import { ClientError } from './errors.ts';
import { events, send, seg, type Server } from './http.ts';
import { errorLine, type Out } from './out.ts';

/** A job as the API answers it (server/shapes/jobs.ts). */
export interface Job { id: string; kind: string; app: string; status: string; error: string | null; release: number | null }

/** The job being followed now, for what Ctrl-C says (main.ts): the job goes on without its follower. */
export const following: { job?: Job } = {};

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Follows a job to its end; prints its lines (or, with `json`, the ended job) and resolves with the exit code. */
export async function followJob(server: Server, out: Out, job: Job, opts: { json: boolean; signal?: AbortSignal }): Promise<number> {
  const res = await send(server, 'GET', `/jobs/${seg(job.id)}/events`, { signal: opts.signal });
  const started = Date.now();
  const live = out.errTty && !opts.json;
  let frame = 0;
  const status = () => process.stderr.write(`\r\x1b[K${FRAMES[frame++ % FRAMES.length]} ${job.kind} ${job.id} on ${job.app}: running, ${Math.round((Date.now() - started) / 1000)}s`);
  const clear = () => { if (live) process.stderr.write('\r\x1b[K'); };
  const timer = live ? setInterval(status, 100) : undefined;
  let ended: Job | undefined;
  following.job = job;
  try {
    for await (const e of events(res)) {
      if (e.event === 'line') {
        clear();
        if (!opts.json) out.line(e.data);
      } else if (e.event === 'end') {
        ended = JSON.parse(e.data) as Job;
      } else if (e.event === 'error') {
        clear();
        throw new ClientError(streamError(e.data));
      }
    }
  } finally {
    following.job = undefined;
    if (timer) clearInterval(timer);
    clear();
  }
  if (!ended) throw new ClientError(`The job's stream ended before the job did; see slipway jobs:info ${job.id}.`);
  if (opts.json) out.json(ended);
  if (ended.status === 'succeeded') return 0;
  out.note(errorLine(`Job ${ended.id} ${ended.status}${ended.error ? `: ${ended.error}` : '.'}`));
  return 1;
}

/** The sentence of an `error` event (the API's error body, or text). */
export function streamError(data: string): string {
  try {
    return (JSON.parse(data) as { error?: { message?: string } }).error?.message ?? data;
  } catch {
    return data;
  }
}
