// An app's settings that roll out: domains, certificates, health checks, resources and quota,
// egress rules, and a look at its previews.
import { readFileSync } from 'node:fs';
import { call, seg } from '../http.ts';
import { answered, change, int, read, str } from './kit.ts';
import type { ClientCommand, Run } from './types.ts';

const QUANTITIES = { process: { type: 'string', short: 'p', help: 'one process type (default: all)' }, memory: { type: 'string', help: 'memory, e.g. 512Mi' }, cpu: { type: 'string', help: 'CPU, e.g. 0.5 or 500m' } } as const;

/** resource:limit / resource:reserve and their -clear. */
function resources(kind: 'limit' | 'reserve'): ClientCommand[] {
  return [
    change({
      name: `resource:${kind}`, usage: '[-p TYPE] [--memory Q] [--cpu Q]', summary: kind === 'limit' ? 'Set the most memory and CPU an instance may use' : 'Set the memory and CPU an instance is guaranteed',
      route: 'POST /apps/{app}/resources/{kind}', args: { min: 0, max: 0 }, flags: QUANTITIES, path: (r) => `/apps/${seg(r.app)}/resources/${kind}`,
      body: (r) => ({ ...(str(r, 'process') ? { process: str(r, 'process') } : {}), ...(str(r, 'memory') ? { memory: str(r, 'memory') } : {}), ...(str(r, 'cpu') ? { cpu: str(r, 'cpu') } : {}) }),
    }),
    change({
      name: `resource:${kind}-clear`, usage: '[-p TYPE]', summary: `Clear the ${kind === 'limit' ? 'limits' : 'reservations'} (back to the defaults)`,
      route: 'DELETE /apps/{app}/resources/{kind}', args: { min: 0, max: 0 }, flags: { process: QUANTITIES.process }, path: (r) => `/apps/${seg(r.app)}/resources/${kind}`,
      query: (r) => ({ process: str(r, 'process') }),
    }),
  ];
}

/** The PEM of certs:add: the files given (certificate chain, then key), or stdin. */
function pemOf(r: Run): string {
  // stdin as file descriptor 0, which Windows has too (it has no /dev/stdin).
  const files: (string | number)[] = r.args.length ? r.args : [0];
  return files.map((f) => readFileSync(f, 'utf8')).join('\n');
}

export const settingCommands: ClientCommand[] = [
  read({ name: 'domains', summary: "The app's hosts", route: 'GET /apps/{app}/domains' }),
  change({ name: 'domains:add', usage: 'HOST', summary: 'Add a host the app answers on', route: 'POST /apps/{app}/domains', args: { min: 1, max: 1 }, body: (r) => ({ host: r.args[0] }) }),
  change({ name: 'domains:remove', usage: 'HOST', summary: 'Remove a host', route: 'DELETE /apps/{app}/domains/{host}' }),
  read({ name: 'certs', summary: "The app's certificates and their state", route: 'GET /apps/{app}/certs' }),
  change({ name: 'certs:add', usage: '[CERT.pem KEY.pem]  (or the PEM on stdin)', summary: 'Upload a certificate and its key for hosts of the app', route: 'POST /apps/{app}/certs', args: { min: 0, max: 2 }, body: (r) => ({ pem: pemOf(r) }) }),
  change({ name: 'certs:auto:enable', summary: "Issue the app's certificates automatically (ACME)", route: 'PATCH /apps/{app}/certs', args: { min: 0, max: 0 }, body: () => ({ auto: true }) }),
  change({ name: 'certs:auto:disable', summary: 'Stop issuing certificates automatically', route: 'PATCH /apps/{app}/certs', args: { min: 0, max: 0 }, body: () => ({ auto: false }) }),
  change({ name: 'certs:remove', usage: 'HOST', summary: "Remove a host's uploaded certificate", route: 'DELETE /apps/{app}/certs/{host}' }),
  read({ name: 'checks', summary: "The app's health checks", route: 'GET /apps/{app}/checks' }),
  change({
    name: 'checks:set', usage: 'TYPE startup|liveness|readiness PATH [--port N] [--initial-delay S] [--timeout S] [--attempts N] [--wait S]', summary: 'Set an HTTP health check of a process type',
    route: 'POST /apps/{app}/checks', args: { min: 3, max: 3 },
    flags: { port: { type: 'string', help: 'port (default: PORT)' }, 'initial-delay': { type: 'string', help: 'seconds before the first' }, timeout: { type: 'string', help: 'seconds per try' }, attempts: { type: 'string', help: 'tries before it fails' }, wait: { type: 'string', help: 'seconds between tries' } },
    body: (r) => {
      const [process, type, path] = r.args as [string, string, string];
      const opt = (k: string, flag: string) => (int(r, flag) !== undefined ? { [k]: int(r, flag) } : {});
      return { process, type, path, ...opt('port', 'port'), ...opt('initialDelay', 'initial-delay'), ...opt('timeout', 'timeout'), ...opt('attempts', 'attempts'), ...opt('wait', 'wait') };
    },
  }),
  change({ name: 'checks:unset', usage: 'TYPE startup|liveness|readiness', summary: 'Remove a health check', route: 'DELETE /apps/{app}/checks/{process}/{type}' }),
  read({ name: 'resource:report', summary: "The app's limits and reservations per process type", route: 'GET /apps/{app}/resources' }),
  ...resources('limit'),
  ...resources('reserve'),
  {
    name: 'resource:quota', usage: '[--pods N] [--memory Q] [--cpu Q]', summary: "The app's quota; with options, set it (admins)", routes: ['GET /apps/{app}/quota', 'PATCH /apps/{app}/quota'], app: true, args: { min: 0, max: 0 },
    flags: { pods: { type: 'string', help: 'most pods' }, memory: QUANTITIES.memory, cpu: QUANTITIES.cpu, 'no-wait': { type: 'boolean', help: 'print the job and return' } },
    run: async (r) => {
      const set = { ...(int(r, 'pods') !== undefined ? { pods: int(r, 'pods') } : {}), ...(str(r, 'memory') ? { memory: str(r, 'memory') } : {}), ...(str(r, 'cpu') ? { cpu: str(r, 'cpu') } : {}) };
      const a = Object.keys(set).length ? await call(r.server, 'PATCH', `/apps/${seg(r.app)}/quota`, { body: set }) : await call(r.server, 'GET', `/apps/${seg(r.app)}/quota`);
      return answered(r, a.status, a.json);
    },
  },
  read({ name: 'egress', summary: "The address ranges the app's pods may reach beyond the internet's", route: 'GET /apps/{app}/egress' }),
  change({ name: 'egress:allow', usage: 'CIDR[:PORT]', summary: 'Let the app reach a private range (admins)', route: 'POST /apps/{app}/egress', args: { min: 1, max: 1 }, body: (r) => ({ rule: r.args[0] }) }),
  change({ name: 'egress:deny', usage: 'CIDR[:PORT]', summary: 'Take an egress rule away (admins)', route: 'DELETE /apps/{app}/egress', args: { min: 1, max: 1 }, query: (r) => ({ rule: r.args[0] }) }),
  read({ name: 'previews', summary: "The app's preview apps", route: 'GET /apps/{app}/previews' }),
  read({ name: 'previews:settings', summary: "The app's preview settings", route: 'GET /apps/{app}/previews/settings' }),
];

