// The client's one reader of the environment: every variable it uses, read once and frozen.
// (The server's settings are server/config.ts; the client is a separate program and shares none.)
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What the environment tells the client. */
export interface ClientEnv {
  /** SLIPWAY_APP: the app, before --app and the git remotes (Heroku's HEROKU_APP). */
  app: string | undefined;
  /** SLIPWAY_TOKEN: an access token, for CI (with SLIPWAY_HOST), instead of a stored login. */
  token: string | undefined;
  /** SLIPWAY_HOST: the server (a host name, or the API's address `https://paas.example.com`). */
  host: string | undefined;
  /** Where logins are stored: $XDG_CONFIG_HOME/slipway, else ~/.config/slipway. */
  configDir: string;
  /** SLIPWAY_SSH_COMMAND: the ssh program and its options, split on spaces (never run by a shell); default `ssh`. */
  ssh: readonly string[];
  /** BROWSER: what `open` starts, if set. */
  browser: string | undefined;
  /** SLIPWAY_DEBUG: show an internal error's stack. */
  debug: boolean;
}

/** Reads the environment once. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): ClientEnv {
  const blank = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v.trim());
  const ssh = blank(env.SLIPWAY_SSH_COMMAND)?.split(/\s+/) ?? ['ssh'];
  const base = blank(env.XDG_CONFIG_HOME) ?? join(blank(env.HOME) ?? homedir(), '.config');
  return Object.freeze({
    app: blank(env.SLIPWAY_APP),
    token: blank(env.SLIPWAY_TOKEN),
    host: blank(env.SLIPWAY_HOST),
    configDir: join(base, 'slipway'),
    ssh: Object.freeze(ssh),
    browser: blank(env.BROWSER),
    debug: blank(env.SLIPWAY_DEBUG) !== undefined,
  });
}
