// Keys, access and tokens; and the server's own: rounds, doctor, gc, nodes, Slipway's backups.
import { readFileSync } from 'node:fs';
import { change, read, str } from './kit.ts';
import type { ClientCommand } from './types.ts';

const KEY_FLAG = { key: { type: 'string', help: "another key's (admins)" } } as const;

export const adminCommands: ClientCommand[] = [
  read({ name: 'keys', summary: 'The SSH keys (admins)', route: 'GET /keys' }),
  change({
    name: 'keys:add', usage: 'NAME [--admin] [FILE.pub]  (or the key on stdin)', summary: 'Add an SSH public key under a name (admins)', route: 'POST /keys', args: { min: 1, max: 2 },
    flags: { admin: { type: 'boolean', help: 'make it an admin' } },
    body: (r) => ({ name: r.args[0], publicKey: readFileSync(r.args[1] ?? 0, 'utf8').trim(), ...(r.flags.admin ? { admin: true } : {}) }),
  }),
  change({ name: 'keys:remove', usage: 'NAME', summary: 'Remove a key (its tokens stop at once; admins)', route: 'DELETE /keys/{name}' }),
  read({ name: 'access', summary: 'The keys granted the app', route: 'GET /apps/{app}/access' }),
  change({ name: 'access:grant', usage: 'KEYNAME', summary: 'Let a key use the app (admins)', route: 'POST /apps/{app}/access', args: { min: 1, max: 1 }, body: (r) => ({ key: r.args[0] }) }),
  change({ name: 'access:revoke', usage: 'KEYNAME', summary: "Take a key's access to the app away (admins)", route: 'DELETE /apps/{app}/access/{key}' }),
  read({ name: 'tokens', usage: '[--key KEYNAME]', summary: 'Your access tokens', route: 'GET /tokens', flags: KEY_FLAG, query: (r) => ({ key: str(r, 'key') }) }),
  change({
    name: 'tokens:create', usage: 'NAME [--scope read|deploy|admin] [--ttl 30d] [--key KEYNAME]', summary: 'Create an access token (shown once)', route: 'POST /tokens', args: { min: 1, max: 1 },
    flags: { ...KEY_FLAG, scope: { type: 'string', help: 'read, deploy or admin' }, ttl: { type: 'string', help: 'how long it lasts: 30d, 12h, 90m, 3600s' } },
    body: (r) => ({ name: r.args[0], ...(str(r, 'scope') ? { scope: str(r, 'scope') } : {}), ...(str(r, 'key') ? { key: str(r, 'key') } : {}), ...(str(r, 'ttl') ? { ttl: str(r, 'ttl') } : {}) }),
  }),
  change({ name: 'tokens:revoke', usage: 'NAME [--key KEYNAME]', summary: 'Revoke an access token', route: 'DELETE /tokens/{name}', flags: KEY_FLAG, query: (r) => ({ key: str(r, 'key') }) }),
  read({ name: 'rounds', summary: "The server's background rounds (admins)", route: 'GET /rounds' }),
  change({ name: 'rounds:run', usage: 'NAME', summary: 'Run a background round now (admins)', route: 'POST /rounds/{name}/run' }),
  read({ name: 'doctor', summary: "The server's checks (admins)", route: 'GET /doctor' }),
  read({ name: 'gc', summary: 'What garbage collection would remove (admins)', route: 'GET /gc' }),
  read({ name: 'nodes', summary: "The cluster's nodes (admins)", route: 'GET /nodes' }),
  read({ name: 'nodes:join-command', summary: 'The command that joins a new node (admins)', route: 'GET /nodes/join-command' }),
  change({ name: 'nodes:drain', usage: 'NODE [--force]', summary: 'Move the apps off a node (admins)', route: 'POST /nodes/{node}/drain', flags: { force: { type: 'boolean', help: 'also pods without a controller' } }, body: (r) => (r.flags.force ? { force: true } : {}) }),
  change({ name: 'nodes:uncordon', usage: 'NODE', summary: 'Let a node take pods again (admins)', route: 'POST /nodes/{node}/uncordon' }),
  read({ name: 'backups', summary: "Slipway's own backups (admins)", route: 'GET /backups' }),
  change({ name: 'backup:create', summary: "Take a backup of Slipway's own data now (admins)", route: 'POST /backups' }),
  change({ name: 'backup:verify', usage: 'NAME', summary: 'Prove a backup by restoring it aside (admins)', route: 'POST /backups/{name}/verify' }),
];
