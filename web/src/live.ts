// Live updates without polling: the API's event stream (GET /api/v1/events) tells which apps and
// jobs changed; pages refetch what they show. A dropped stream is reopened and the page refetches
// then too, so nothing missed in the gap stays stale.
import { useEffect, useRef } from 'preact/hooks';
import { openStream } from './api.ts';

/** One event of /api/v1/events: its name and the app it is about (when it names one). */
export interface Change { event: 'job' | 'release' | 'app'; app: string | undefined; data: Record<string, unknown> }

/** Calls `onChange` for each event (and with undefined when the stream (re)opens). */
export function useChanges(onChange: (c: Change | undefined) => void): void {
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    const handler = (event: Change['event']) => (raw: string) => {
      let data: Record<string, unknown> = {};
      try { data = JSON.parse(raw) as Record<string, unknown>; } catch { /* an event without JSON still means "something changed" */ }
      latest.current({ event, app: typeof data.app === 'string' ? data.app : undefined, data });
    };
    let opened = false;
    const stream = openStream('/events', { job: handler('job'), release: handler('release'), app: handler('app') }, {
      // The first open is the page's own load; later ones follow a gap.
      onOpen: () => { if (opened) latest.current(undefined); opened = true; },
      reconnect: () => '/events',
    });
    return () => stream.close();
  }, []);
}
