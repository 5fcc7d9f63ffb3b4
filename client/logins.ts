// Stored logins: one file per server host under $XDG_CONFIG_HOME/slipway/hosts/, 0600 in a 0700
// directory, written whole to a temporary file and renamed so a reader never sees half of one.
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClientError } from './errors.ts';

/** One login: the server, how to reach it, and the token minted for this machine. */
export interface Login {
  /** The server's host name, as the git remotes name it. */
  host: string;
  /** The API's origin (`http://HOST:8080`, `https://paas.example.com`). */
  api: string;
  /** The SSH port, for `run` and `logout` when the API is down. */
  sshPort: number;
  token: string;
  tokenName: string;
  key: string;
  scope: string;
  createdAt: string;
}

const HOST = /^[a-z0-9](?:[a-z0-9.:-]{0,252}[a-z0-9])?$/;

/** A host name fit to be a file name (no path, no dot-dot), lower-cased; else one sentence. */
export function checkedHost(raw: string): string {
  const host = raw.toLowerCase().replace(/^\[|\]$/g, '');
  if (!HOST.test(host) || host.includes('..')) throw new ClientError(`${JSON.stringify(raw)} is not a host name.`);
  return host;
}

function hostsDir(configDir: string): string {
  return join(configDir, 'hosts');
}

function fileOf(configDir: string, host: string): string {
  return join(hostsDir(configDir), `${checkedHost(host)}.json`);
}

/** Every stored login. A file that cannot be read is an error that names it. */
export function listLogins(configDir: string): Login[] {
  let names: string[];
  try {
    names = readdirSync(hostsDir(configDir)).filter((n) => n.endsWith('.json'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ClientError(`Could not read the logins in ${hostsDir(configDir)}.`, { cause: err });
  }
  return names.map((n) => readLoginFile(join(hostsDir(configDir), n)));
}

function readLoginFile(path: string): Login {
  try {
    const l = JSON.parse(readFileSync(path, 'utf8')) as Login;
    if (typeof l.host !== 'string' || typeof l.api !== 'string' || typeof l.token !== 'string') throw new Error('missing fields');
    return l;
  } catch (err) {
    throw new ClientError(`The login file ${path} is damaged; remove it and run slipway login again.`, { cause: err });
  }
}

/** The login for `host`, if there is one. */
export function findLogin(configDir: string, host: string): Login | undefined {
  try {
    return readLoginFile(fileOf(configDir, host));
  } catch (err) {
    if ((err as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Stores a login, readable by its owner only. */
export function saveLogin(configDir: string, login: Login): string {
  const dir = hostsDir(configDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const path = fileOf(configDir, login.host);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(login, null, 2) + '\n', { mode: 0o600, flag: 'w' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return path;
}

/** Removes the login for `host`; whether there was one. */
export function removeLogin(configDir: string, host: string): boolean {
  const path = fileOf(configDir, host);
  try {
    readFileSync(path);
  } catch {
    return false;
  }
  rmSync(path, { force: true });
  return true;
}
