// An app's runtime logs: recent lines as text, or (follow=1) those and the new ones as
// Server-Sent Events for as long as the client reads and the key may use the app.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppParams } from './schemas.ts';
import { actor } from './change.ts';
import { appLogs, DEFAULT_LOG_LINES, MAX_LOG_LINES } from '../ops/processes/logs.ts';
import { UsageError, UserError } from '../errors.ts';

export const logRoutes = [
  route({
    method: 'GET', url: '/apps/:app/logs', tag: 'logs', need: 'read', produces: 'text-or-sse',
    summary: "An app's recent log lines as text; with follow=1, a stream of Server-Sent Events (`line` per log line)",
    params: AppParams,
    query: Type.Object({
      tail: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LOG_LINES, default: DEFAULT_LOG_LINES, description: 'How many recent lines.' })),
      follow: Type.Optional(Type.Enum(['1', '0', 'true', 'false'], { description: '1: keep streaming new lines (text/event-stream).' })),
      ps: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'Only this process type, `run` (one-off pods), `cron` (scheduled tasks) or one run:detached pod.' })),
      process: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'The same as ps (logs APP -p TYPE); give one of the two.' })),
    }, { additionalProperties: false }),
    response: { 200: Type.String({ description: 'text/plain, or with follow=1 text/event-stream (event: line, data: one log line).' }) },
    handle: async (call) => {
      const { app } = call.params;
      const follow = call.query.follow === '1' || call.query.follow === 'true';
      const { ps: given, process } = call.query;
      if (given !== undefined && process !== undefined && given !== process) throw new UsageError('Give the process type once: ps or process, not both.');
      const ps = given ?? process;
      const stream = appLogs(actor(call), app, { lines: call.query.tail ?? DEFAULT_LOG_LINES, follow, ...(ps ? { ps } : {}) });
      if (follow) {
        return {
          events: async (send, signal) => {
            // Tracked like `logs -t`: a key that loses the app stops its stream at once.
            const session = call.services.sessions.begin(app, call.identity, signal);
            try {
              await stream((l) => send('line', l), session.controller.signal);
            } finally {
              call.services.sessions.end(session);
            }
            const why: unknown = session.controller.signal.reason;
            if (session.controller.signal.aborted && !signal.aborted && why instanceof UserError) throw why;
          },
        };
      }
      const out: string[] = [];
      await stream(async (l) => { out.push(l); }, call.signal);
      return { status: 200, text: out.length ? out.join('\n') + '\n' : '' };
    },
  }),
];
