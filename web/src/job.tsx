// A job's transcript, live: the API replays what was written and streams the rest, then sends
// `end` with the finished job. The stream is closed on `end` (EventSource would otherwise
// reconnect and replay it all); a stream that drops before then is reopened from the start.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useLiveLines } from './live-lines.ts';
import { api, messageOf, openStream, type Job } from './api.ts';
import { jobDone, when } from './format.ts';
import { Link } from './router.tsx';
import { appPath } from './routes.ts';
import { Badge, ErrorLine } from './ui.tsx';

/** Most transcript lines kept on the page (a build can print tens of thousands). */
const MAX_LINES = 5000;

/** The job's header, status and transcript; `onEnd` runs once with the finished job. */
export function JobView({ id, onEnd, compact }: { id: string; onEnd?: (job: Job) => void; compact?: boolean }) {
  const [job, setJob] = useState<Job>();
  const live = useLiveLines(MAX_LINES);
  const { lines, box } = live;
  const [error, setError] = useState<string>();
  const endRef = useRef(onEnd);
  endRef.current = onEnd;

  useEffect(() => {
    api<Job>('GET', `/jobs/${encodeURIComponent(id)}`).then((j) => setJob((cur) => cur && jobDone(cur.status) ? cur : j), (err) => setError(messageOf(err)));
    let first = true;
    const stream = openStream(`/jobs/${encodeURIComponent(id)}/events`, {
      line: (l) => live.add(l),
      end: (data) => {
        stream.close();
        live.flush();
        try {
          const ended = JSON.parse(data) as Job;
          setJob(ended);
          endRef.current?.(ended);
        } catch {
          setError('The job ended but its final status could not be read; reload the page.');
        }
      },
    }, {
      onFail: setError,
      // A reopened stream replays the transcript from its first line.
      onOpen: () => { if (!first) live.clear(); first = false; },
      reconnect: () => `/jobs/${encodeURIComponent(id)}/events`,
    });
    return () => { stream.close(); live.stop(); };
  }, [id]);

  const status = job?.status ?? 'queued';
  return (
    <section class="job" aria-label={`Job ${id}`}>
      <p class="job-head">
        {compact && <><Link href={`/jobs/${encodeURIComponent(id)}`}>Job {id}</Link>{' '}</>}
        <span role="status" aria-live="polite" data-job-status={status}>Status: <Badge value={status === 'running' ? 'deploying' : status}>{status}</Badge></span>
        {job && <>{' · '}{job.kind} of <Link href={appPath(job.app)}>{job.app}</Link> by {job.by}{' · '}started {when(job.startedAt ?? job.createdAt)}{job.release !== null ? ` · release v${job.release}` : ''}</>}
      </p>
      {job?.error && <p class="error">{job.error}</p>}
      <ErrorLine message={error} />
      <pre class={`transcript${compact ? ' compact' : ''}`} ref={box} tabIndex={0} aria-label="Transcript">{lines.join('\n')}{!job || !jobDone(job.status) ? '\n…' : ''}</pre>
    </section>
  );
}
