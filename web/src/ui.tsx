// Small shared pieces: the error line, a live status badge, a loading hook.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from './api.ts';

/** The API's sentence for a failure, announced to screen readers. */
export function ErrorLine({ message }: { message: string | undefined }) {
  if (!message) return null;
  return <p class="error" role="alert">{message}</p>;
}

/** A short status word with its colour class (running, failed, succeeded…). */
export function Badge({ value, children }: { value: string; children?: ComponentChildren }) {
  return <span class={`badge badge-${value.replace(/[^a-z]/g, '')}`}>{children ?? value}</span>;
}

/** Loads data with `load`, exposes it with its error and a `reload` that keeps the old data showing. */
export function useData<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  // Each load is numbered; an answer is shown when it is newer than the one showing. Not only the
  // newest: with events arriving faster than a load takes (a busy server), each load would be
  // overtaken by the next and the page would never change.
  const seq = useRef(0);
  const shown = useRef(0);
  const reload = useCallback(() => {
    const mine = ++seq.current;
    const newer = () => {
      if (mine <= shown.current) return false;
      shown.current = mine;
      return true;
    };
    load().then(
      (d) => { if (newer()) { setData(d); setError(undefined); } },
      (err) => { if (newer()) setError(messageOf(err)); },
    );
  }, deps);
  useEffect(() => {
    // Other deps (another app): nothing asked before shows.
    shown.current = seq.current;
    setData(undefined);
    reload();
  }, [reload]);
  return { data, error, reload };
}

/** Calls `fn` at most once per `ms` (trailing): a burst of events becomes one refetch. */
export function useDebounced(fn: () => void, ms: number): () => void {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => { timer.current = undefined; latest.current(); }, ms);
  }, [ms]);
}

/** The time now, updated every `ms` (for "5 min ago" texts; it re-renders, it fetches nothing). */
export function useNow(ms = 30_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
