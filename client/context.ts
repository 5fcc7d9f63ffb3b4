// Which server and which app a command is for. The server: SLIPWAY_TOKEN with SLIPWAY_HOST (CI),
// --host, SLIPWAY_HOST, the host of the app's git remote, or the only stored login. The app, in
// Heroku's order: SLIPWAY_APP, --app, --remote NAME (or `git config slipway.remote`), then the
// repository's remotes that are Slipway remotes of a known host, of which exactly one app must win.
import type { ClientEnv } from './env.ts';
import { ClientError, UsageError } from './errors.ts';
import { remoteConfig } from './git.ts';
import type { Server } from './http.ts';
import { checkedHost, findLogin, listLogins } from './logins.ts';
import type { Out } from './out.ts';
import { parseRemote, slipwayRemotes, theOneApp } from './remotes.ts';

/** The options every command takes. */
export interface Globals { app?: string; remote?: string; host?: string; json: boolean }

/** The default HTTP port of a Slipway server (SLIPWAY_HTTP_PORT). */
export const DEFAULT_HTTP_PORT = 8080;
/** The default SSH port of a Slipway server (SLIPWAY_SSH_PORT). */
export const DEFAULT_SSH_PORT = 2222;

/** A server address as SLIPWAY_HOST or `login` take it: a host (`paas.example.com[:8080]`) or the API's origin (`https://…`). */
export function parseHost(raw: string): { host: string; api: string } {
  const withScheme = /^https?:\/\//i.test(raw) ? raw : `http://${raw}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch (err) {
    throw new ClientError(`${JSON.stringify(raw)} is not a server address (paas.example.com, or https://paas.example.com).`, { cause: err });
  }
  const host = checkedHost(u.hostname);
  if (!/^https?:\/\//i.test(raw) && !u.port) u.port = String(DEFAULT_HTTP_PORT);
  return { host, api: u.origin };
}

/** What a command runs with: where it prints, the options, and how to find its server and app. */
export class Context {
  readonly env: ClientEnv;
  readonly cwd: string;
  readonly globals: Globals;
  readonly out: Out;
  constructor(env: ClientEnv, cwd: string, globals: Globals, out: Out) {
    this.env = env;
    this.cwd = cwd;
    this.globals = globals;
    this.out = out;
  }

  /** The hosts whose remotes count as Slipway remotes: every stored login's, and SLIPWAY_HOST's. */
  knownHosts(): Set<string> {
    const hosts = new Set(listLogins(this.env.configDir).map((l) => l.host));
    if (this.env.host) hosts.add(parseHost(this.env.host).host);
    if (this.globals.host) hosts.add(parseHost(this.globals.host).host);
    return hosts;
  }

  /** The server to talk to, for the app's host when it came from a remote. */
  server(remoteHost?: string): Server {
    if (this.env.token) {
      if (!this.env.host) throw new ClientError('SLIPWAY_TOKEN is set but SLIPWAY_HOST is not: set it to the server (paas.example.com, or https://paas.example.com).');
      const { host, api } = parseHost(this.env.host);
      return { host, api, token: this.env.token };
    }
    const named = this.globals.host ?? remoteHost ?? this.env.host;
    if (named !== undefined) {
      const host = parseHost(named).host;
      const login = findLogin(this.env.configDir, host);
      if (!login) throw new ClientError(`You are not logged in to ${host}: run slipway login ${host}.`);
      return { host, api: login.api, token: login.token };
    }
    const logins = listLogins(this.env.configDir);
    if (logins.length === 1) return { host: logins[0]!.host, api: logins[0]!.api, token: logins[0]!.token };
    if (logins.length === 0) throw new ClientError('You are not logged in to a Slipway server: run slipway login HOST.');
    throw new UsageError(`You are logged in to several servers (${logins.map((l) => l.host).join(', ')}): choose one with --host HOST.`);
  }

  /** The app the command is for and its server. */
  async target(): Promise<{ app: string; server: Server }> {
    const given = this.env.app ?? this.globals.app;
    if (given !== undefined) return { app: given, server: this.server() };
    const { remotes, chosen } = await remoteConfig(this.cwd);
    const remoteName = this.globals.remote ?? chosen;
    if (remoteName !== undefined) {
      const r = remotes.find((x) => x.name === remoteName);
      if (!r) throw new ClientError(`This repository has no remote named ${remoteName}.`);
      const s = parseRemote(r.url);
      if (!s) throw new ClientError(`The remote ${remoteName} (${r.url}) is not a Slipway remote.`);
      return { app: s.app, server: this.server(s.host) };
    }
    const found = theOneApp(slipwayRemotes(remotes, this.knownHosts()));
    if (found === undefined) throw new UsageError('No app: give --app APP, or run this in a repository with a Slipway remote (slipway login HOST first, so its host is known).');
    if ('several' in found) throw new UsageError(found.several);
    return { app: found.app, server: this.server(found.host) };
  }
}
