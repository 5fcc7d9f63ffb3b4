// Config vars: list, get, set and unset; a change to an app that runs rolls out as a job, which
// the command follows (`--no-restart` stores it for the next deploy).
import { UsageError } from '../errors.ts';
import { call, seg } from '../http.ts';
import { table } from '../out.ts';
import { answered, pairs, read } from './kit.ts';
import type { ClientCommand, FlagSpec } from './types.ts';

const NO_RESTART: Record<string, FlagSpec> = {
  'no-restart': { type: 'boolean', help: 'store it for the next deploy, without rolling out now' },
  'no-wait': { type: 'boolean', help: 'print the job and return, without following it' },
};

/** The config vars as [name, value] rows, sorted by name. */
function configTable(vars: Record<string, string>): [string, string][] {
  return Object.entries(vars).sort(([a], [b]) => a.localeCompare(b));
}

export const configCommands: ClientCommand[] = [
  read({
    name: 'config', summary: "The app's config vars with their values", route: 'GET /apps/{app}/config',
    render: (out, json) => {
      const rows = configTable(json as Record<string, string>);
      if (rows.length === 0) return out.line('No config vars.');
      table(out, ['key', 'value'], rows);
    },
  }),
  {
    name: 'config:get', usage: 'KEY', summary: "One config var's value", routes: ['GET /apps/{app}/config'], app: true, args: { min: 1, max: 1 },
    run: async (r) => {
      const vars = (await call(r.server, 'GET', `/apps/${seg(r.app)}/config`)).json as Record<string, string>;
      const key = r.args[0]!;
      if (!Object.hasOwn(vars, key)) { r.ctx.out.note(`${r.app} has no config var ${key}.`); return 1; }
      if (r.json) r.ctx.out.json({ [key]: vars[key] });
      else r.ctx.out.line(vars[key]!);
    },
  },
  {
    name: 'config:set', usage: 'KEY=VALUE… [--no-restart]', summary: 'Set config vars; an app that runs rolls out a release with them (followed live)', routes: ['PATCH /apps/{app}/config'], app: true, args: { min: 1, max: Infinity }, flags: NO_RESTART,
    run: async (r) => {
      const set = pairs(r.args, 'slipway config:set KEY=VALUE…');
      const a = await call(r.server, 'PATCH', `/apps/${seg(r.app)}/config`, { body: { set, restart: r.flags['no-restart'] !== true } });
      return answered(r, a.status, a.json, { done: () => `Set ${Object.keys(set).join(', ')} on ${r.app}${a.status === 200 ? ' (stored; it applies at the next deploy)' : ''}.` });
    },
  },
  {
    name: 'config:unset', usage: 'KEY… [--no-restart]', summary: 'Remove config vars; an app that runs rolls out a release without them', routes: ['PATCH /apps/{app}/config'], app: true, args: { min: 1, max: Infinity }, flags: NO_RESTART,
    run: async (r) => {
      if (r.args.some((k) => k.includes('='))) throw new UsageError('config:unset takes names only: slipway config:unset KEY…');
      const a = await call(r.server, 'PATCH', `/apps/${seg(r.app)}/config`, { body: { unset: r.args, restart: r.flags['no-restart'] !== true } });
      return answered(r, a.status, a.json, { done: () => `Unset ${r.args.join(', ')} on ${r.app}${a.status === 200 ? ' (stored; it applies at the next deploy)' : ''}.` });
    },
  },
];
