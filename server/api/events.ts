// What changed, live: one Server-Sent Events stream per browser tab instead of polling. Events
// come from the in-process bus (jobs/events.ts); each one is checked against the key's rights as
// they are when it happens, so a key that loses an app stops hearing about it at once, and a
// removed key's stream ends. A reader that does not keep up is cut off by the transport's
// bounded backlog (transport/http/sse.ts), never buffered without end.
import { Type } from 'typebox';
import { route } from './route.ts';
import type { SlipwayEvent } from '../context.ts';
import { mayStillUseApp } from '../auth/access.ts';
import { jobJson } from '../jobs/job.ts';
import { UserError } from '../errors.ts';

/** An event as the stream sends it: its name and its data. */
function wire(e: SlipwayEvent): { event: string; data: unknown } {
  switch (e.type) {
    case 'job': return { event: 'job', data: jobJson(e.job) };
    case 'release': return { event: 'release', data: { app: e.app, release: `v${e.version}` } };
    case 'app': return { event: 'app', data: { app: e.app, change: e.change } };
  }
}

export const eventRoutes = [
  route({
    method: 'GET', url: '/events', tag: 'events', need: 'read', produces: 'sse',
    summary: 'What changes on the apps the token may use, as Server-Sent Events: `job` (a job started or ended), `release` (recorded or ended), `app` (created, destroyed, scaled, config, stopped, started, domains, data: a backup taken or a restore drill recorded); a key holds at most SLIPWAY_MAX_STREAMS_PER_KEY (default 20) streams of every kind together, one address SLIPWAY_MAX_STREAMS_PER_SOURCE; one more is 429',
    response: { 200: Type.String({ description: 'text/event-stream: event: job (data: the job, as GET /jobs/{id}), event: release (data: {"app", "release": "vN"}), event: app (data: {"app", "change"}).' }) },
    handle: (call) => {
      const { services, identity } = call;
      const { store } = services;
      return {
        events: async (send, signal) => {
          const gone = new AbortController();
          // Tracked like a followed log, so a dashboard session's logout or expiry ends it too.
          const session = services.sessions.begin(null, identity, signal);
          session.controller.signal.addEventListener('abort', () => gone.abort(session.controller.signal.reason), { once: true });
          // Subscribed in the same step as the headers go out, so the client misses nothing published once it sees them.
          const unsubscribe = services.events.subscribe(identity.name, (e) => {
            if (gone.signal.aborted) return;
            if (identity.via !== 'local' && !store.keys.byName(identity.name)) {
              gone.abort(new UserError(`The key ${identity.name} was removed.`));
              return;
            }
            if (!mayStillUseApp(store, identity, e.app)) return;
            const w = wire(e);
            // Not awaited: the transport bounds what waits for a slow reader and cuts it off.
            void send(w.event, JSON.stringify(w.data));
          });
          try {
            await new Promise<void>((resolve) => {
              const done = () => resolve();
              if (signal.aborted || gone.signal.aborted) return done();
              signal.addEventListener('abort', done, { once: true });
              gone.signal.addEventListener('abort', done, { once: true });
            });
          } finally {
            unsubscribe();
            services.sessions.end(session);
          }
          if (gone.signal.aborted && !signal.aborted) throw gone.signal.reason;
        },
      };
    },
  }),
];
