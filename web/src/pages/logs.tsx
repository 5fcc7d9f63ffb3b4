// /apps/APP/logs: the app's runtime logs live (the same source as `logs -t`), filtered by
// process type, keeping the last MAX_LINES lines.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useLiveLines } from '../live-lines.ts';
import { api, openStream, type ProcessEntry } from '../api.ts';
import { Layout } from '../layout.tsx';
import { navigate, useLocation } from '../router.tsx';
import { appPath } from '../routes.ts';
import { ErrorLine, useData } from '../ui.tsx';

/** Lines kept on the page; older ones drop off the top. */
export const MAX_LINES = 2000;

/** Lines asked for again after the stream dropped, to cover the gap (those already shown are skipped). */
const RECONNECT_TAIL = 100;

/** The live logs page. */
export function LogsPage({ app }: { app: string }) {
  const { search } = useLocation();
  const process = new URLSearchParams(search).get('process') ?? '';
  const procs = useData(() => api<ProcessEntry[]>('GET', `/apps/${encodeURIComponent(app)}/processes`), [app]);
  const buffer = useLiveLines(MAX_LINES);
  const { lines, box } = buffer;
  const [error, setError] = useState<string>();
  const [live, setLive] = useState(false);
  const linesRef = useRef(lines);
  linesRef.current = lines;

  useEffect(() => {
    buffer.clear();
    setError(undefined);
    const url = (tail: number) => {
      const q = new URLSearchParams({ follow: '1', tail: String(tail) });
      if (process) q.set('process', process);
      return `/apps/${encodeURIComponent(app)}/logs?${q}`;
    };
    // After a reconnect the tail is sent again: lines we already show are skipped until a new one comes.
    let replayed: Set<string> | undefined;
    const stream = openStream(url(200), {
      line: (l) => {
        if (replayed?.has(l)) return;
        replayed = undefined;
        buffer.add(l);
      },
    }, {
      onOpen: () => { setLive(true); setError(undefined); },
      onFail: (m) => { setLive(false); setError(m); },
      reconnect: () => {
        setLive(false);
        replayed = new Set(linesRef.current.slice(-RECONNECT_TAIL));
        return url(RECONNECT_TAIL);
      },
    });
    return () => { stream.close(); buffer.stop(); };
  }, [app, process]);

  const types = procs.data?.map((p) => p.type) ?? [];
  const choose = (e: Event) => {
    const v = (e.currentTarget as HTMLSelectElement).value;
    navigate(v ? `${appPath(app, 'logs')}?process=${encodeURIComponent(v)}` : appPath(app, 'logs'), { replace: true });
  };
  return (
    <Layout title={`${app}: logs`} app={app} tab="logs">
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label for="process">Process type</label>{' '}
        <select id="process" value={process} onChange={choose}>
          <option value="">All processes</option>
          {[...new Set([...types, ...(process ? [process] : [])])].map((t) => <option key={t} value={t}>{t}</option>)}
        </select>{' '}
        <span role="status" class={live ? 'live on' : 'live'}>{live ? 'Live' : 'Connecting…'}</span>{' '}
        <button type="button" class="secondary" onClick={() => buffer.clear()}>Clear</button>
      </form>
      <ErrorLine message={error ?? procs.error} />
      <pre class="logs" ref={box} tabIndex={0} aria-label={`Logs of ${app}`}>{lines.join('\n')}</pre>
      <p class="hint">Showing up to the last {MAX_LINES} lines.</p>
    </Layout>
  );
}
