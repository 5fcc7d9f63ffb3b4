// A repository elsewhere that an app follows: its URL (checked once, here), the app's deploy key
// for SSH URLs, and the two git commands that reach it (ls-remote for polling, fetch for a sync).
// Every git runs through the git wrapper with argument arrays; the URL is an argument value after
// --end-of-options, and only the http, https and ssh transports are allowed. Before each git the
// host is resolved once and checked (pinRemote), and git connects to those addresses only: no
// second lookup a name's owner could answer differently, and no HTTP redirect to elsewhere.
import { lookup } from 'node:dns/promises';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { embeddedIpv4 } from '../cidr.ts';
import { UserError } from '../errors.ts';
import { ExecError, runChecked } from '../exec.ts';
import { git } from '../git.ts';
import { appName, shown } from '../names.ts';

/** A checked repository URL: HTTP(S), or SSH (which needs the app's deploy key). */
export interface RemoteUrl {
  url: string;
  kind: 'http' | 'ssh';
}

const MAX_URL = 512;
// scp-like SSH, as git reads it: USER@HOST:PATH (the user is required here, so no local path or
// Windows drive is ever mistaken for one; host and path never start with a dash).
const SCP = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}@([A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]+\]):([A-Za-z0-9._~][A-Za-z0-9._~/+-]*)$/;

/** Checks a repository URL as sync:set takes it; one sentence saying what is accepted otherwise. */
export function parseRemoteUrl(raw: string): RemoteUrl {
  const bad = (why: string) => new UserError(`${shown(raw)} is not a repository URL Slipway can fetch: ${why}. Use https://HOST/PATH, ssh://git@HOST/PATH or git@HOST:PATH.`);
  if (raw.length > MAX_URL || !/^[\x21-\x7e]+$/.test(raw)) throw bad('it is too long or has spaces or control characters');
  if (SCP.test(raw)) return { url: raw, kind: 'ssh' };
  let u: URL;
  try {
    u = new URL(raw);
  } catch (err) {
    throw bad('it is not a URL');
  }
  if (!['http:', 'https:', 'ssh:'].includes(u.protocol)) throw bad(`the ${u.protocol.replace(/:$/, '')} transport is not allowed`);
  if (u.password || (u.protocol !== 'ssh:' && u.username)) throw bad('credentials do not belong in it (they would be shown with it); use an SSH URL and the deploy key Slipway makes');
  if (!u.hostname || u.hostname.startsWith('-') || u.search || u.hash) throw bad('it needs a host and no query or fragment');
  // The host is handed to ssh and curl as it is (HostKeyAlias, curl's resolve list): a name or an address only.
  if (!/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(u.hostname)) throw bad('its host is not a name or an address');
  if (u.pathname === '/' || u.pathname === '') throw bad('it needs a repository path');
  return { url: raw, kind: u.protocol === 'ssh:' ? 'ssh' : 'http' };
}

/** Where an app's deploy key and known hosts live: DATA_DIR/sync/APP (built from a validated name). */
export function syncDir(config: Pick<Config, 'dataDir'>, app: string): string {
  return join(config.dataDir, 'sync', appName(app));
}

const KEY = 'id_ed25519';

/**
 * The app's deploy key (ed25519), made with ssh-keygen the first time; its public half (one
 * authorized_keys line). An existing key is kept, so pointing the app elsewhere does not break
 * the forge's copy.
 */
export async function ensureDeployKey(config: Pick<Config, 'dataDir'>, app: string): Promise<string> {
  const dir = syncDir(config, app);
  const key = join(dir, KEY);
  if (!existsSync(key) || !existsSync(`${key}.pub`)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    rmSync(key, { force: true });
    rmSync(`${key}.pub`, { force: true });
    await runChecked('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `slipway-deploy-${app}`, '-f', key]);
  }
  return readFileSync(`${key}.pub`, 'utf8').trim();
}

/** Removes the app's deploy key and known hosts (nothing if there are none). */
export function removeDeployKey(config: Pick<Config, 'dataDir'>, app: string): void {
  rmSync(syncDir(config, app), { recursive: true, force: true });
}

/** Single-quotes a server-built path for GIT_SSH_COMMAND (which git hands to a shell). */
function sq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * git's environment for reaching the remote: no prompts, only http(s) and ssh (no ext::, file or
 * submodule transports), and for SSH the app's key alone with its own known_hosts, learnt on first
 * use. GIT_SSH_COMMAND goes through a shell, so it holds only paths the server built from a
 * validated app name, quoted; nothing a user typed.
 */
function remoteEnv(config: Pick<Config, 'dataDir'>, app: string, remote: RemoteUrl, pin: RemotePin): Record<string, string> {
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0', GIT_ALLOW_PROTOCOL: 'http:https:ssh', GCM_INTERACTIVE: 'never' };
  if (remote.kind === 'ssh') {
    const dir = syncDir(config, app);
    env.GIT_SSH_COMMAND = ['ssh', '-i', sq(join(dir, KEY)), '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=accept-new',
      '-o', `UserKnownHostsFile=${sq(join(dir, 'known_hosts'))}`, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30', ...sshPin(pin)].join(' ');
  }
  return env;
}

/**
 * ssh options that connect to the checked address (HostName) while the host key is still learnt
 * and checked under the name, written as ssh writes it (`[HOST]:PORT` off port 22), so keys
 * already known stay known. Both values passed parseRemoteUrl's host check or isIP.
 */
function sshPin(pin: RemotePin): string[] {
  if (isIP(pin.host)) return [];
  const alias = pin.port === 22 ? pin.host : `[${pin.host}]:${pin.port}`;
  return ['-o', sq(`HostName=${pin.addresses[0]!}`), '-o', sq(`HostKeyAlias=${alias}`)];
}

/**
 * `-c` settings for every git that reaches a remote: no credential helper of the server's user
 * answers for it; no HTTP redirect is followed (a forge the check let through could send git to
 * any address, the server's own included); and curl connects to the addresses checked, not to
 * what a second lookup of the name says (http.curloptResolve, git 2.37 and later).
 */
function remoteSettings(remote: RemoteUrl, pin: RemotePin): string[] {
  const settings = ['-c', 'credential.helper=', '-c', 'core.askPass=', '-c', 'http.followRedirects=false'];
  if (remote.kind === 'http' && !isIP(pin.host)) {
    const addresses = pin.addresses.map((a) => (isIP(a) === 6 ? `[${a}]` : a)).join(',');
    settings.push('-c', `http.curloptResolve=${pin.host}:${pin.port}:${addresses}`);
  }
  return settings;
}

/** How long one git may take to reach the remote. */
export const LS_REMOTE_TIMEOUT_MS = 60_000;
export const FETCH_TIMEOUT_MS = 15 * 60_000;

/** Where a fetched branch is kept in the app's repo until it is deployed: not a branch, so refs/heads only ever name deployed code. */
export const SYNC_REF = 'refs/slipway/sync';

/** Where the forge's other branches are fetched, each to its own ref, for their previews (a branch name was checked). */
export const PREVIEW_SYNC_REFS = 'refs/slipway/preview-sync/';

/**
 * Where a forge branch is fetched before its preview deploys. The ref stays: it is the last commit
 * fetched for that branch (polling does not fetch it again), and says the branch came from the forge.
 */
export function previewSyncRef(branch: string): string {
  return PREVIEW_SYNC_REFS + branch;
}

/** The sentence for a git that could not reach the remote: what it was doing and git's last word. */
function reachFailure(what: string, remote: RemoteUrl, branch: string, err: unknown): Error {
  if (!(err instanceof ExecError)) return new Error(`${what} ${remote.url} failed`, { cause: err });
  if (err.cancelled) return err;
  const last = err.stderrTail.split('\n').map((l) => l.trim()).filter(Boolean).at(-1);
  const redirect = /returned error: (30\d)/.exec(last ?? '')?.[1];
  const why = err.stopped === 'timeout' ? 'it took too long'
    : redirect ? `it answered with a redirect (HTTP ${redirect}), which Slipway does not follow; give the URL it redirects to`
      : last ? last.replace(/^fatal: /, '') : `git exited ${err.exitCode}`;
  return new UserError(`${what} ${branch} from ${remote.url} failed: ${why}`, { cause: err });
}

/** What every git that reaches a remote needs: the app (its deploy key), the URL and the addresses pinRemote checked. */
interface Reach { config: Pick<Config, 'dataDir'>; app: string; remote: RemoteUrl; pin: RemotePin; signal?: AbortSignal }

/** What `git ls-remote --heads` says of the given heads (every head when none is given): branch → commit. */
async function lsHeads(opts: Reach, what: string, patterns: string[]): Promise<Map<string, string>> {
  const { config, app, remote, pin } = opts;
  let out: string;
  try {
    out = await git([...remoteSettings(remote, pin), 'ls-remote', '--heads', '--end-of-options', remote.url, ...patterns], {
      env: remoteEnv(config, app, remote, pin), signal: opts.signal, timeoutMs: LS_REMOTE_TIMEOUT_MS, killTree: true,
    });
  } catch (err) {
    throw reachFailure('Looking up', remote, what, err);
  }
  const heads = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [commit, ref] = line.split('\t');
    if (commit && ref?.startsWith('refs/heads/')) heads.set(ref.slice('refs/heads/'.length), commit);
  }
  return heads;
}

/** The commit the remote's branch points at (git ls-remote), or undefined when it has no such branch. */
export async function remoteCommit(opts: Reach & { branch: string }): Promise<string | undefined> {
  return (await lsHeads(opts, opts.branch, [`refs/heads/${opts.branch}`])).get(opts.branch);
}

/** Every branch of the remote and its commit (one git ls-remote), for previews of the forge's branches. */
export async function remoteBranches(opts: Reach): Promise<Map<string, string>> {
  return lsHeads(opts, 'the branches', []);
}

/**
 * Fetches the remote's branch into the app's repo at `into` (SYNC_REF unless said; checking every
 * object, as a push is checked) and returns its commit. A branch the remote does not have is a UserError.
 */
export async function fetchBranch(opts: Reach & { repo: string; branch: string; into?: string }): Promise<string> {
  const { config, app, remote, branch, repo, pin } = opts;
  const into = opts.into ?? SYNC_REF;
  try {
    await git([...remoteSettings(remote, pin), '-c', 'fetch.fsckObjects=true', 'fetch', '--quiet', '--no-tags', '--no-recurse-submodules', '--no-write-fetch-head',
      '--end-of-options', remote.url, `+refs/heads/${branch}:${into}`], {
      cwd: repo, env: remoteEnv(config, app, remote, pin), signal: opts.signal, timeoutMs: FETCH_TIMEOUT_MS, killTree: true,
    });
  } catch (err) {
    throw reachFailure('Fetching', remote, branch, err);
  }
  return (await git(['rev-parse', '--verify', '--end-of-options', `${into}^{commit}`], { cwd: repo })).trim();
}

/** Where a non-admin's repository may not be: loopback, private, link-local and shared ranges. */
const INTERNAL_RANGES: readonly string[] = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16',
  '::1/128', '::/128', 'fc00::/7', 'fe80::/10',
  // Local-use NAT64 (RFC 8215): its IPv4 address sits where the operator's prefix length puts it, so none is read out of it.
  '64:ff9b:1::/48',
];

/** The host a repository URL names (scp-like SSH or a URL), without brackets. */
export function remoteHost(remote: RemoteUrl): string {
  const scp = SCP.exec(remote.url);
  const host = scp ? scp[1]! : new URL(remote.url).hostname;
  return host.replace(/^\[(.*)\]$/, '$1');
}

/** The port a repository URL connects to (its own, else the transport's). */
function remotePort(remote: RemoteUrl): number {
  if (SCP.test(remote.url)) return 22;
  const u = new URL(remote.url);
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : u.protocol === 'ssh:' ? 22 : 80;
}

/** The host a repository URL names, its port, and the addresses it was resolved to and checked at: all git may connect to. */
export interface RemotePin { host: string; port: number; addresses: readonly string[] }

/**
 * Resolves the repository's host once and, for anyone but an admin, refuses it when it is or
 * resolves to an address inside this server's networks: loopback, private and link-local ranges,
 * those ranges behind an IPv6 transition prefix (NAT64, 6to4, Teredo), and `cluster` (the pods',
 * the Services' and the nodes' ranges). The server fetches from wherever a sync points; a
 * deployer's URL must not make it reach the cluster's or the host's internal services. An admin
 * may connect an internal forge. Called before each git that reaches the remote, whose connection
 * is then held to the addresses returned (a name that answers differently the second time gains
 * nothing).
 */
export async function pinRemote(remote: RemoteUrl, admin: boolean, cluster: readonly string[], resolve: (host: string) => Promise<string[]> = lookupAll): Promise<RemotePin> {
  const host = remoteHost(remote);
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : await resolve(host);
  } catch (err) {
    throw new UserError(`${shown(host)} does not resolve, so ${shown(remote.url)} cannot be fetched.`, { cause: err });
  }
  if (addresses.length === 0) throw new UserError(`${shown(host)} does not resolve, so ${shown(remote.url)} cannot be fetched.`);
  if (!admin) {
    const inside = addresses.find((a) => isInternal(a, cluster));
    if (inside) throw new UserError(`Only an admin may connect an app to ${shown(host)}: it is ${inside}, an address inside this server's networks; nothing was changed.`);
  }
  return { host, port: remotePort(remote), addresses };
}

/** sync:set's check: pinRemote's refusal for anyone but an admin (an admin's URL is not looked up). */
export async function requireReachableByTenant(remote: RemoteUrl, admin: boolean, cluster: readonly string[], resolve: (host: string) => Promise<string[]> = lookupAll): Promise<void> {
  if (!admin) await pinRemote(remote, admin, cluster, resolve);
}

/** Whether an address, or an IPv4 address it carries (IPv4-mapped, NAT64, 6to4, Teredo), is internal or in `cluster`. */
export function isInternal(address: string, cluster: readonly string[]): boolean {
  const blocked = new BlockList();
  for (const cidr of [...INTERNAL_RANGES, ...cluster]) {
    const [net, bits] = cidr.split('/');
    const family = isIP(net!) === 6 ? 'ipv6' : 'ipv4';
    blocked.addSubnet(net!, Number(bits ?? (family === 'ipv6' ? 128 : 32)), family);
  }
  const bare = address.replace(/%.*$/, '');
  return [bare, ...embeddedIpv4(bare)].some((a) => blocked.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4'));
}

/** The cluster's own ranges from the server's config: pods, Services and nodes. */
export function clusterRanges(config: Pick<Config, 'network'>): string[] {
  return [...config.network.podCidrs, ...config.network.serviceCidrs, ...config.network.nodeAddresses];
}

async function lookupAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}
