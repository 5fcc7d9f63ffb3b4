// Apps that sleep at zero (issue 40): the idle time, and waking one now.
import { call, seg } from '../http.ts';
import { answered } from './kit.ts';
import type { ClientCommand } from './types.ts';

export const sleepCommands: ClientCommand[] = [
  {
    name: 'ps:sleep', usage: '[--after DURATION|0|default]', summary: 'How long the app goes without a request before its web instances stop (its next request wakes it); with --after (1800, 90s, 30m, 2h, 1d; 0 never), set it',
    routes: ['GET /apps/{app}/sleep', 'PATCH /apps/{app}/sleep'], app: true, args: { min: 0, max: 0 }, flags: { after: { type: 'string', help: 'the idle time' } },
    run: async (r) => {
      const after = typeof r.flags.after === 'string' ? r.flags.after : undefined;
      const a = after === undefined ? await call(r.server, 'GET', `/apps/${seg(r.app)}/sleep`) : await call(r.server, 'PATCH', `/apps/${seg(r.app)}/sleep`, { body: { after: /^\d+$/.test(after) ? Number(after) : after } });
      return answered(r, a.status, a.json);
    },
  },
  {
    name: 'ps:wake', usage: '', summary: 'Wake the app now if it sleeps', routes: ['POST /apps/{app}/wake'], app: true, args: { min: 0, max: 0 },
    run: async (r) => {
      const a = await call(r.server, 'POST', `/apps/${seg(r.app)}/wake`, { body: {} });
      return answered(r, a.status, a.json);
    },
  },
];
