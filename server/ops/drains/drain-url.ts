// A drain's URL and headers, checked once here (drains:add), and what the collector makes of
// them. Heroku's kinds: syslog over TLS or plain TCP (RFC 5424 lines with octet counting), HTTPS
// (the same lines in a POST, Basic auth from the URL), and OTLP/HTTP logs (Heroku Fir's
// telemetry drains), with headers for the receiver's key.
import { isIP } from 'node:net';
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import type { DrainTarget } from '../../kube/collector.ts';

const MAX_URL = 512;
const MAX_HEADERS = 8;
/** An HTTP header name (RFC 9110 token), and a value without control characters. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
const HEADER_VALUE = /^[\x20-\x7e]{0,1024}$/;
/** Headers the collector sets itself, or that would change where or how the lines go. */
const RESERVED_HEADERS = new Set(['host', 'content-type', 'content-length', 'content-encoding', 'transfer-encoding', 'connection', 'te', 'upgrade']);

/** A checked drain URL: where its lines go, and the host to check against the server's networks. */
export interface DrainUrl {
  url: string;
  host: string;
  port: number;
  target: DrainTarget;
}

/** Checks a drain URL as drains:add takes it; one sentence saying what is accepted otherwise. */
export function parseDrainUrl(raw: string, headers: Readonly<Record<string, string>> = {}): DrainUrl {
  const bad = (why: string) => new UserError(`${shown(raw)} is not a drain URL Slipway can send to: ${why}. Use syslog+tls://HOST:PORT, syslog://HOST:PORT, https://[USER:PASSWORD@]HOST[:PORT]/PATH or otlp+https://HOST[:PORT]/PATH.`);
  if (raw.length > MAX_URL || !/^[\x21-\x7e]+$/.test(raw)) throw bad('it is too long or has spaces or control characters');
  let u: URL;
  try {
    u = new URL(raw);
  } catch (err) {
    throw bad('it is not a URL');
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (!['syslog+tls', 'syslog', 'https', 'otlp+https'].includes(scheme)) throw bad(`the scheme ${scheme} is not one of them`);
  // The host reaches the collector's configuration as it is: a name or an address only.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host || !/^[A-Za-z0-9.-]+$|^[0-9A-Fa-f:.]+$/.test(host) || host.startsWith('-') || (host.includes(':') && isIP(host) !== 6)) throw bad('its host is not a name or an address');
  if (u.search || u.hash) throw bad('it has a query or a fragment');
  if (scheme === 'otlp+https') {
    if (u.username || u.password) throw bad('credentials do not belong in it; give them as --header Authorization=...');
    const port = u.port ? Number(u.port) : 443;
    const path = u.pathname === '/' || u.pathname === '' ? '/v1/logs' : u.pathname;
    const endpoint = `https://${u.host}${path}`;
    return { url: raw, host, port, target: { kind: 'otlp', endpoint, headers: { ...headers } } };
  }
  if (scheme === 'https') {
    if (Object.keys(headers).length > 0) throw new UserError('Headers (--header) go with otlp+https:// drains only; an https:// drain takes its credentials in the URL (https://USER:PASSWORD@HOST/PATH).');
    return { url: raw, host, port: u.port ? Number(u.port) : 443, target: { kind: 'https', endpoint: u.href } };
  }
  if (u.username || u.password) throw bad('a syslog drain takes no credentials');
  if (!u.port) throw bad('a syslog drain needs its port');
  if (u.pathname !== '' && u.pathname !== '/') throw bad('a syslog drain has no path');
  if (Object.keys(headers).length > 0) throw new UserError('Headers (--header) go with otlp+https:// drains only; a syslog drain sends none.');
  const port = Number(u.port);
  return { url: raw, host, port, target: { kind: 'syslog', host, port, tls: scheme === 'syslog+tls' } };
}

/** Checks `--header K=V` options: names as HTTP has them, values without control characters, a few at most. */
export function parseHeaders(raw: readonly string[]): Record<string, string> {
  if (raw.length > MAX_HEADERS) throw new UserError(`A drain takes at most ${MAX_HEADERS} headers.`);
  const headers: Record<string, string> = {};
  for (const h of raw) {
    const eq = h.indexOf('=');
    const name = eq > 0 ? h.slice(0, eq) : '';
    const value = h.slice(eq + 1);
    if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) throw new UserError(`${shown(h)} is not a header: use --header NAME=VALUE (an HTTP header name, a value without control characters).`);
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new UserError(`The header ${name} is set by the collector itself; choose another.`);
    headers[name] = value;
  }
  return headers;
}

/** A drain's URL as it is shown: an https:// drain's password replaced by `***`. */
export function shownUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (!u.password) return raw;
    u.password = '***';
    return u.href;
  } catch {
    return raw; // stored URLs were checked when added
  }
}
