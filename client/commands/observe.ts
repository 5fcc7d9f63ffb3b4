// Watching and proving: the audit log, log drains (an app's and the server-wide ones), and the
// keys the store's secrets are sealed with.
import { change, read, str } from './kit.ts';
import type { ClientCommand, Run } from './types.ts';

const HEADER = { header: { type: 'string', help: 'K=V: a header an otlp+https:// drain sends' } } as const;

/** A drain's body: its URL, and the one header --header gives. */
function drainBody(r: Run): unknown {
  const h = str(r, 'header');
  const eq = h ? h.indexOf('=') : -1;
  return { url: r.args[0], ...(h && eq > 0 ? { headers: { [h.slice(0, eq)]: h.slice(eq + 1) } } : {}) };
}

export const observeCommands: ClientCommand[] = [
  read({
    name: 'audit', usage: '[--since 7d] [--actor KEY] [--action ACTION] [--limit N]', summary: "The audit log: who changed what, when and from where (an app's collaborators see its entries; admins all)", route: 'GET /audit', args: { min: 0, max: 0 },
    flags: { since: { type: 'string', help: 'a date, a time or an age (30m, 12h, 7d)' }, actor: { type: 'string', help: "a key's entries (slipway: the server's)" }, action: { type: 'string', help: 'an action, or all under it (config)' }, limit: { type: 'string', help: 'how many at most' }, 'for-app': { type: 'string', help: "only this app's entries" } },
    query: (r) => ({ app: str(r, 'for-app'), since: str(r, 'since'), actor: str(r, 'actor'), action: str(r, 'action'), limit: str(r, 'limit') }),
  }),
  read({ name: 'drains', summary: "The app's log drains and their tokens", route: 'GET /apps/{app}/drains' }),
  change({ name: 'drains:add', usage: 'URL [--header K=V]', summary: "Send the app's log lines to a drain (syslog+tls://, syslog://, https://, otlp+https://)", route: 'POST /apps/{app}/drains', args: { min: 1, max: 1 }, flags: HEADER, body: drainBody }),
  change({ name: 'drains:remove', usage: 'TOKEN|URL', summary: 'Stop sending to a drain', route: 'DELETE /apps/{app}/drains', args: { min: 1, max: 1 }, query: (r) => ({ drain: r.args[0] }) }),
  change({ name: 'drains:test', usage: 'TOKEN|URL', summary: "Send one line to a drain and print its endpoint's answer", route: 'POST /apps/{app}/drains/test', args: { min: 1, max: 1 }, body: (r) => ({ drain: r.args[0] }) }),
  read({ name: 'drains:info', summary: "Each drain's delivery: last success, last error, queued, dropped", route: 'GET /apps/{app}/drains/info' }),
  read({ name: 'drains:global', summary: "The server-wide drains, which get every app's lines (admins)", route: 'GET /drains' }),
  change({ name: 'drains:global:add', usage: 'URL [--header K=V]', summary: "Send every app's log lines to a drain (admins)", route: 'POST /drains', args: { min: 1, max: 1 }, flags: HEADER, body: drainBody }),
  change({ name: 'drains:global:remove', usage: 'TOKEN|URL', summary: 'Stop sending to a server-wide drain (admins)', route: 'DELETE /drains', args: { min: 1, max: 1 }, query: (r) => ({ drain: r.args[0] }) }),
  read({ name: 'drains:global:info', summary: "The server-wide drains' delivery (admins)", route: 'GET /drains/info' }),
  read({ name: 'secrets', summary: "The keys the store's secrets are sealed with (admins)", route: 'GET /secrets/keys' }),
  change({ name: 'secrets:rotate-key', summary: 'Seal every secret of the store with a new key (admins)', route: 'POST /secrets/rotate-key' }),
];
