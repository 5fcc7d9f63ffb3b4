// One change at a time on a settings page: the button that started it is disabled meanwhile, the
// API's sentence shows on failure, a short notice on success, and a change that rolls out (202)
// shows its job's transcript live until it ends.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { isAccepted, messageOf } from '../api.ts';
import { JobView } from '../job.tsx';
import { ErrorLine } from '../ui.tsx';

/** A page section's change runner and what it shows: error, notice, the job of the last change. */
export interface Action {
  busy: boolean;
  /** Runs `call`; on success shows `done` and calls `after` (again when a rolled-out job ends). */
  run(call: () => Promise<unknown>, done: string, after?: () => void): Promise<boolean>;
  /** The error line, the notice and the job (place it under the section's form). */
  view: JSX.Element;
}

/** A change runner for one section of a page. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [job, setJob] = useState<{ id: string; after?: () => void }>();
  const run = async (call: () => Promise<unknown>, done: string, after?: () => void) => {
    setBusy(true);
    setError(undefined);
    setNotice(undefined);
    try {
      const r = await call();
      setJob(isAccepted(r) ? { id: r.job.id, after } : undefined);
      setNotice(isAccepted(r) ? `${done} Rolling out:` : done);
      after?.();
      return true;
    } catch (err) {
      setError(messageOf(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const view = (
    <>
      <ErrorLine message={error} />
      {notice && <p role="status" class="notice">{notice}</p>}
      {job && <JobView key={job.id} id={job.id} compact onEnd={() => job.after?.()} />}
    </>
  );
  return { busy, run, view };
}

/** The value of the input or select an event came from. */
export function valueOf(e: Event): string {
  return (e.currentTarget as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;
}
