// login: the SSH key is the login. A token is minted over SSH with the user's own ssh client and
// agent (`tokens:create`), checked against the API, and stored 0600 per host; logout revokes it
// on the server (the API, or SSH when the API cannot be reached) and removes the file.
import { hostname } from 'node:os';
import { DEFAULT_HTTP_PORT, DEFAULT_SSH_PORT } from '../context.ts';
import { ClientError, UsageError } from '../errors.ts';
import { gitRemotes } from '../git.ts';
import { call, seg, type Server } from '../http.ts';
import { checkedHost, findLogin, listLogins, removeLogin, saveLogin, type Login } from '../logins.ts';
import { parseRemote, type SlipwayRemote } from '../remotes.ts';
import { sshCapture } from '../ssh.ts';
import { int, str } from './kit.ts';
import type { ClientCommand, Run } from './types.ts';

/** Where `login` goes: the host, its SSH port, the API's origin if known, an app to ask about. */
interface Where { host: string; sshPort?: number; api?: string; app?: string }

/** HOST as given (a host name, with what the repository's remotes of it say, or a server's address), or the repository's Slipway remotes' one host. */
async function where(r: Run): Promise<Where> {
  const given = r.args[0];
  const remotes = (await gitRemotes(r.ctx.cwd)).flatMap((g) => { const s = parseRemote(g.url); return s ? [s] : []; });
  if (given !== undefined) {
    if (!/:\/\//.test(given)) {
      // The repository's remotes of that host know its SSH port and HTTP address.
      const host = checkedHost(given);
      const mine = remotes.filter((x) => x.host === host);
      return mine.length ? fromRemotes(mine) : { host };
    }
    // A server's address: ssh://git@HOST:PORT (its SSH port) or http(s)://HOST[:PORT] (its API).
    let u: URL;
    try {
      u = new URL(given);
    } catch (err) {
      throw new UsageError(`${JSON.stringify(given)} is not a host or a server address.`, { cause: err });
    }
    const host = checkedHost(u.hostname);
    if (u.protocol === 'ssh:') return { host, ...(u.port ? { sshPort: Number(u.port) } : {}) };
    if (u.protocol === 'http:' || u.protocol === 'https:') return { host, api: u.origin };
    throw new UsageError(`${JSON.stringify(given)} is not a host or a server address.`);
  }
  if (remotes.length === 0) throw new UsageError('Name the server: slipway login HOST (or run it in a repository with a Slipway remote).');
  return fromRemotes(remotes);
}

/** What remotes of one host say about it; remotes of several hosts are a usage error listing them. */
function fromRemotes(remotes: readonly SlipwayRemote[]): Where {
  const hosts = [...new Set(remotes.map((x) => x.host))];
  if (hosts.length > 1) throw new UsageError(`This repository has remotes on several servers (${hosts.join(', ')}): name one, slipway login HOST.`);
  const ssh = remotes.find((x) => x.kind === 'ssh' && x.sshPort !== undefined);
  const http = remotes.find((x) => x.kind === 'http');
  const apps = [...new Set(remotes.map((x) => x.app))];
  return { host: hosts[0]!, ...(ssh ? { sshPort: ssh.sshPort } : {}), ...(http ? { api: http.origin } : {}), ...(apps.length === 1 ? { app: apps[0] } : {}) };
}

/** A token name for this machine: cli-HOSTNAME-RANDOM, within the server's token name rule. */
function tokenName(): string {
  const machine = hostname().toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 40) || 'machine';
  // node:crypto only here, and not as an ES import (its namespace loads WebCrypto): a faster start for every other command.
  return `cli-${machine}-${process.getBuiltinModule('node:crypto').randomBytes(3).toString('hex')}`;
}

/** The last line of what ssh printed on stderr (the server's sentence, or ssh's own). */
function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.replace(/^ !\s+/, '').trim() ?? '';
}

async function login(r: Run): Promise<number> {
  const w = await where(r);
  const sshPort = int(r, 'ssh-port') ?? w.sshPort ?? DEFAULT_SSH_PORT;
  const env = r.ctx.env;
  const name = tokenName();
  const minted = await sshCapture(env, w.host, sshPort, ['tokens:create', name]);
  if (minted.code !== 0) throw new ClientError(`Could not log in over SSH to git@${w.host} (port ${sshPort}): ${lastLine(minted.stderr) || `ssh exited with ${minted.code}`}.`);
  const token = /^(slw_[A-Za-z0-9_-]+)$/m.exec(minted.stdout)?.[1];
  if (!token) throw new ClientError(`The server at ${w.host} did not answer tokens:create with a token.`);
  const revokeOverSsh = () => sshCapture(env, w.host, sshPort, ['tokens:revoke', name]).catch(() => undefined);
  let api = str(r, 'api') ?? w.api;
  if (api === undefined && w.app !== undefined) {
    // The app's HTTP remote is on the server's public HTTP address, where the API is.
    const info = await sshCapture(env, w.host, sshPort, ['apps:info', w.app, '--json']);
    if (info.code === 0) api = new URL((JSON.parse(info.stdout) as { gitHttp: string }).gitHttp).origin;
  }
  api ??= `http://${w.host}:${DEFAULT_HTTP_PORT}`;
  api = api.replace(/\/+$/, '');
  const server: Server = { host: w.host, api, token };
  let who: { name: string; scope: string };
  try {
    who = (await call(server, 'GET', '/whoami')).json as { name: string; scope: string };
  } catch (err) {
    await revokeOverSsh();
    throw new ClientError(`The SSH login worked, but the API at ${api} did not answer (${(err as Error).message}); give its address with --api URL.`, { cause: err });
  }
  const old = findLogin(env.configDir, w.host);
  if (old) await revoke(r, old).catch(() => undefined);
  const login: Login = { host: w.host, api, sshPort, token, tokenName: name, key: who.name, scope: who.scope, createdAt: new Date().toISOString() };
  const path = saveLogin(env.configDir, login);
  if (r.json) r.ctx.out.json({ host: login.host, api, sshPort, key: who.name, scope: who.scope, token: name, file: path });
  else r.ctx.out.line(`Logged in to ${w.host} as ${who.name} (scope ${who.scope}); token ${name} is stored in ${path}.`);
  return 0;
}

/** Revokes a login's token: through the API, else (the API cannot be reached) over SSH. A token the server already refuses is gone. */
async function revoke(r: Run, l: Login): Promise<'revoked' | 'gone'> {
  try {
    await call({ host: l.host, api: l.api, token: l.token }, 'DELETE', `/tokens/${seg(l.tokenName)}`);
    return 'revoked';
  } catch (err) {
    if (/refused the token/.test((err as Error).message)) return 'gone';
    const ssh = await sshCapture(r.ctx.env, l.host, l.sshPort, ['tokens:revoke', l.tokenName]).catch(() => undefined);
    if (ssh?.code === 0) return 'revoked';
    throw new ClientError(`Could not revoke the token ${l.tokenName} on ${l.host} (${(err as Error).message}); the login is kept: try again, or revoke it with ssh git@${l.host} -p ${l.sshPort} tokens:revoke ${l.tokenName}.`, { cause: err });
  }
}

async function logout(r: Run): Promise<number> {
  const env = r.ctx.env;
  let host = r.args[0] !== undefined ? checkedHost(r.args[0]) : undefined;
  if (host === undefined) {
    const logins = listLogins(env.configDir);
    if (logins.length === 0) throw new ClientError('You are not logged in to any Slipway server.');
    if (logins.length > 1) throw new UsageError(`You are logged in to several servers (${logins.map((l) => l.host).join(', ')}): slipway logout HOST.`);
    host = logins[0]!.host;
  }
  const l = findLogin(env.configDir, host);
  if (!l) throw new ClientError(`You are not logged in to ${host}.`);
  const how = await revoke(r, l);
  removeLogin(env.configDir, host);
  r.ctx.out.line(how === 'revoked' ? `Logged out of ${host}: token ${l.tokenName} revoked.` : `Logged out of ${host} (the server no longer accepted token ${l.tokenName}).`);
  return 0;
}

export const loginCommands: ClientCommand[] = [
  {
    name: 'login', usage: '[HOST] [--ssh-port N] [--api URL]', summary: 'Log in with your SSH key: a token is made over SSH and stored for this host (0600)', routes: ['GET /whoami'], app: false, local: true, args: { min: 0, max: 1 },
    flags: { 'ssh-port': { type: 'string', help: `the server's SSH port (default: the remote's, else ${DEFAULT_SSH_PORT})` }, api: { type: 'string', help: `the API's address (default: the app's HTTP remote's, else http://HOST:${DEFAULT_HTTP_PORT})` } },
    run: login,
  },
  { name: 'logout', usage: '[HOST]', summary: "Revoke this machine's token on the server and forget the login", routes: ['DELETE /tokens/{name}'], app: false, local: true, args: { min: 0, max: 1 }, run: logout },
  {
    name: 'hosts', usage: '', summary: 'The servers you are logged in to', routes: [], app: false, local: true, args: { min: 0, max: 0 },
    run: async (r) => {
      const logins = listLogins(r.ctx.env.configDir);
      if (r.json) return r.ctx.out.json(logins.map(({ token: _t, ...rest }) => rest));
      if (logins.length === 0) return r.ctx.out.line('Not logged in: slipway login HOST');
      for (const l of logins) r.ctx.out.line(`${l.host}  ${l.api}  ssh port ${l.sshPort}  key ${l.key} (${l.scope})  token ${l.tokenName}`);
    },
  },
];
