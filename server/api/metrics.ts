// An app's CPU and memory per process type and pod: once as JSON, or (follow=1) as Server-Sent
// Events every SLIPWAY_METRICS_INTERVAL_S for as long as the client reads and the key may use the app.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppParams } from './schemas.ts';
import { actor } from './change.ts';
import { AppMetricsSchema } from '../shapes/processes.ts';
import { appMetrics, followMetrics } from '../ops/processes/metrics.ts';
import { UserError } from '../errors.ts';

export const metricsRoutes = [
  route({
    method: 'GET', url: '/apps/:app/metrics', tag: 'processes', need: 'read',
    summary: "CPU and memory of an app's pods by process type (= ps:metrics APP --json); with follow=1, a stream of Server-Sent Events (`metrics`, the same object, every SLIPWAY_METRICS_INTERVAL_S); 503 when the cluster has no metrics API",
    produces: 'json-or-sse',
    params: AppParams,
    query: Type.Object({
      follow: Type.Optional(Type.Enum(['1', '0', 'true', 'false'], { description: '1: keep sending readings (text/event-stream, event `metrics`).' })),
    }, { additionalProperties: false }),
    response: { 200: AppMetricsSchema },
    handle: async (call) => {
      const { app } = call.params;
      const first = await appMetrics(actor(call), app);
      if (call.query.follow !== '1' && call.query.follow !== 'true') return { status: 200, json: first };
      return {
        events: async (send, signal) => {
          // Tracked like `logs -t`: a key that loses the app stops its stream at once.
          const session = call.services.sessions.begin(app, call.identity, signal);
          try {
            await followMetrics(actor(call), app, first, (m) => send('metrics', JSON.stringify(m)), session.controller.signal);
          } finally {
            call.services.sessions.end(session);
          }
          const why: unknown = session.controller.signal.reason;
          if (session.controller.signal.aborted && !signal.aborted && why instanceof UserError) throw why;
        },
      };
    },
  }),
];
