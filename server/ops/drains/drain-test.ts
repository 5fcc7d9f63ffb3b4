// drains:test: sends one line to a drain's endpoint from the server, now, and says in one line
// what the endpoint answered (or the TLS or connection error), so a wrong port, an untrusted
// certificate or a refused key shows before any app line is sent (or while none arrives).
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { SYSLOG_TLS_MAX_VERSION } from '../../kube/collector.ts';
import { request } from 'node:https';
import { randomUUID } from 'node:crypto';
import { UserError } from '../../errors.ts';
import type { Actor } from '../actor.ts';
import { parseDrainUrl, shownUrl } from './drain-url.ts';
import { requireOutside, type DrainScope } from './drains.ts';

/** How long the test may take: connecting, the TLS handshake, the endpoint's answer. */
const TEST_TIMEOUT_MS = 10_000;

/** A drain's test line, RFC 5424 framed with octet counting as the collector sends them. */
export function testFrame(token: string, at: Date = new Date()): string {
  const line = `<190>1 ${at.toISOString()} ${token} app slipway - - drains:test from Slipway\n`;
  return `${Buffer.byteLength(line)} ${line}`;
}

/** drains:test: sends one test line to the drain that `ref` (its token or URL) names, or to a URL not added yet; the one-line outcome. */
export async function testDrain(actor: Actor, scope: DrainScope, ref: string): Promise<string> {
  if (!('app' in scope) && !actor.identity.admin) throw new UserError('Only admins may test global drains (--global).');
  const rows = actor.services.store.drains.list('app' in scope ? scope.app : null);
  const row = rows.find((r) => `d.${r.id}` === ref || r.url === ref);
  const url = parseDrainUrl(row?.url ?? ref, row?.headers ?? {});
  const pinned = await requireOutside(actor, url);
  const token = row ? `d.${row.id}` : 'd.test';
  const t = url.target;
  if (t.kind === 'syslog') return syslogTest(t.host, pinned, t.port, t.tls, testFrame(token));
  if (t.kind === 'https') {
    const frame = testFrame(token);
    return post(t.endpoint, pinned, { 'content-type': 'application/logplex-1', 'logplex-msg-count': '1', 'logplex-frame-id': randomUUID(), 'logplex-drain-token': token }, frame);
  }
  return otlpTest(t.endpoint, pinned, t.headers, token);
}

/** Connects to `pinned` (the address checked) when given, else to the host; TLS checks the certificate against the host's name. */
function syslogTest(name: string, pinned: string | undefined, port: number, tls: boolean, frame: string): Promise<string> {
  const host = pinned ?? name;
  return new Promise((resolve) => {
    const where = `${name}:${port}`;
    let socket: Socket | TLSSocket;
    const done = (outcome: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done(`${where} did not take the test line within ${TEST_TIMEOUT_MS / 1000} s.`), TEST_TIMEOUT_MS);
    const send = (how: string) => socket.write(frame, () => socket.end(() => done(`${where} took a test line ${how}.`)));
    socket = tls
      // No newer TLS than the collector sends with (server/kube/collector.ts says why).
      ? tlsConnect({ host, port, servername: isIP(name) ? undefined : name, maxVersion: `TLSv${SYSLOG_TLS_MAX_VERSION}` }, () => {
        const s = socket as TLSSocket;
        const cert = s.getPeerCertificate();
        send(`over ${s.getProtocol() ?? 'TLS'} (certificate for ${cert.subject?.CN ?? 'no common name'}, issued by ${cert.issuer?.CN ?? 'an unnamed authority'})`);
      })
      : tcpConnect({ host, port }, () => send('over plain TCP (not encrypted)'));
    socket.on('error', (err: NodeJS.ErrnoException) => done(`${where} failed: ${err.code && !err.message.includes(err.code) ? `${err.code} ` : ''}${err.message}.`));
  });
}

function otlpTest(endpoint: string, pinned: string | undefined, headers: Readonly<Record<string, string>>, token: string): Promise<string> {
  const nanos = `${BigInt(Date.now()) * 1_000_000n}`;
  const body = JSON.stringify({
    resourceLogs: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'slipway' } }] },
      scopeLogs: [{ logRecords: [{ timeUnixNano: nanos, body: { stringValue: 'drains:test from Slipway' }, attributes: [{ key: 'heroku.drain_token', value: { stringValue: token } }] }] }],
    }],
  });
  return post(endpoint, pinned, { ...headers, 'content-type': 'application/json' }, body);
}

/** POSTs `body` to `endpoint` (at `pinned` when given); the one-line outcome, the URL's password never in it. */
function post(endpoint: string, pinned: string | undefined, headers: Readonly<Record<string, string>>, body: string): Promise<string> {
  const where = shownUrl(endpoint);
  const u = new URL(endpoint);
  const auth = u.username || u.password ? { authorization: `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` } : {};
  u.username = '';
  u.password = '';
  return new Promise((resolve) => {
    const lookup = pinned === undefined ? undefined : (_h: string, _o: unknown, cb: (err: null, address: string, family: number) => void) => cb(null, pinned, isIP(pinned));
    const req = request(u, { method: 'POST', headers: { ...headers, ...auth, 'content-length': Buffer.byteLength(body) }, timeout: TEST_TIMEOUT_MS, ...(lookup ? { lookup: lookup as never } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve(`${where} answered ${res.statusCode} ${res.statusMessage ?? ''}`.trimEnd() + '.'));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(`${where} failed: ${err.code && !err.message.includes(err.code) ? `${err.code} ` : ''}${err.message}.`));
    req.end(body);
  });
}
