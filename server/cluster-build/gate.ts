// The registry gate: what cluster build pods talk to instead of the registry itself. The registry
// has one credential, good for every repository; a build's export phase, which needs to push, would
// otherwise hold it, and a phase confused by what the app's build wrote could read any app's image.
// The gate holds the registry's credential; each build pod holds a credential of its own for the
// gate (in its Secret, for the gate's address), good only for its app's two repositories (its image
// and its cache image, pull and push) and for pulling the builder's run image. A spare pod's
// credential is good for no repository until a push takes the pod for an app, and none is good
// once its pod is gone.
//
// Requests the credential allows are passed to the registry as they are, bodies streamed both
// ways, with the registry's credential instead of the pod's; a blob mount from a repository the
// credential may not read becomes a plain upload; a Location the registry answers with is made
// relative, so the next request comes back here. Anything else is refused with the registry's own
// error shapes (401 without a valid credential, 403 DENIED past it), and nothing reaches the
// registry. Plain HTTP: build pods reach it on the node (its loopback, or the address
// SLIPWAY_BUILD_REGISTRY names), as they reach the registry the testbed and install.sh run.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RegistryAuth } from '../config.ts';
import { registryAuthHeaders, registryBase } from '../build/image.ts';
import { log } from '../output/log.ts';
import { bareHost } from './pod.ts';

/** One pod's credential and what it may reach. */
interface Grant {
  /** sha256 of the password (compared in constant time). */
  secret: Buffer;
  /** Repositories it may pull and push (its app's image and cache image). */
  push: Set<string>;
  /** Repositories it may only pull (the run image's). */
  pull: Set<string>;
}

/** A credential the gate made for one build pod. */
export interface GateCredential { username: string; password: string }

/** What a pushable repository may be asked (no deletes but of an upload, below; no catalog). */
const PUSH_METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'PATCH']);
const PULL_METHODS = new Set(['GET', 'HEAD']);
/** Request headers not passed on (hop-by-hop ones, and the pod's own credential). */
const DROPPED = new Set(['authorization', 'host', 'connection', 'keep-alive', 'proxy-authorization', 'te', 'trailer', 'upgrade']);

function digest(password: string): Buffer {
  return createHash('sha256').update(password).digest();
}

function refuse(res: ServerResponse, status: 401 | 403 | 404, code: string, message: string): void {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' };
  if (status === 401) headers['www-authenticate'] = 'Basic realm="slipway-builds"';
  res.writeHead(status, headers).end(JSON.stringify({ errors: [{ code, message }] }));
}

/** The pod's credential from a Basic Authorization header. */
function basic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString();
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The repository a registry API path is about (one of `names`), and the rest of the path. */
export function repositoryOf(path: string, names: Iterable<string>): string | undefined {
  for (const name of names) {
    if (path.startsWith(`/v2/${name}/`) && /^(manifests|blobs|tags)\//.test(path.slice(`/v2/${name}/`.length))) return name;
  }
  return undefined;
}

export class RegistryGate {
  readonly #grants = new Map<string, Grant>();
  readonly #upstream: URL;
  readonly #auth: Readonly<RegistryAuth> | undefined;
  #server: Server | undefined;

  /** `registry`: the registry as the server reaches it; `auth`: its credential. */
  constructor(registry: string, auth: Readonly<RegistryAuth> | undefined) {
    this.#upstream = new URL(registryBase(registry));
    this.#auth = auth;
  }

  /** Starts listening on `host` (a port of the system's choice); its address as `host:port`. */
  async listen(host: string): Promise<string> {
    const server = createServer((req, res) => this.#handle(req, res));
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, bareHost(host), () => resolve());
    });
    this.#server = server;
    const { port } = server.address() as AddressInfo;
    return `${host}:${port}`;
  }

  /** A new credential for a pod, good for no repository yet. */
  open(pod: string): GateCredential {
    const password = randomBytes(24).toString('hex');
    this.#grants.set(pod, { secret: digest(password), push: new Set(), pull: new Set() });
    return { username: pod, password };
  }

  /** Lets a pod's credential pull and push `push` and pull `pull` (repository paths, no host). */
  allow(pod: string, repos: { push: readonly string[]; pull: readonly string[] }): void {
    const g = this.#grants.get(pod);
    if (!g) throw new Error(`the registry gate has no credential for the build pod ${pod}`);
    for (const r of repos.push) g.push.add(r);
    // A repository to pull is never one to push, even if an app's name makes it its own (the
    // testbed's run image is slipway/run: an app named run must not replace every build's base).
    for (const r of repos.pull) {
      g.pull.add(r);
      g.push.delete(r);
    }
  }

  /** The pod is gone: its credential is good for nothing. */
  revoke(pod: string): void {
    this.#grants.delete(pod);
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #grantOf(req: IncomingMessage): Grant | undefined {
    const cred = basic(req.headers.authorization);
    const g = cred && this.#grants.get(cred.user);
    return g && timingSafeEqual(g.secret, digest(cred.password)) ? g : undefined;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://gate');
    const method = req.method ?? 'GET';
    const grant = this.#grantOf(req);
    if (!grant) return refuse(res, 401, 'UNAUTHORIZED', 'authentication required');
    if (url.pathname === '/v2/' || url.pathname === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' }).end('{}');
      return;
    }
    const repo = repositoryOf(url.pathname, [...grant.push, ...grant.pull]);
    const pushable = repo !== undefined && grant.push.has(repo);
    // DELETE only of an upload of its own (a client cancels the upload it started to check it may push).
    const cancel = pushable && method === 'DELETE' && url.pathname.startsWith(`/v2/${repo}/blobs/uploads/`);
    const allowed = repo !== undefined && (cancel || (pushable ? PUSH_METHODS : PULL_METHODS).has(method));
    if (!allowed) {
      req.resume();
      return refuse(res, 403, 'DENIED', 'requested access to the resource is denied');
    }
    // A mount names the repository it takes the blob from: only one this credential may read.
    const from = url.searchParams.get('from');
    if (from !== null && !grant.push.has(from) && !grant.pull.has(from)) {
      url.searchParams.delete('from');
      url.searchParams.delete('mount');
    }
    this.#forward(req, res, `${url.pathname}${url.search}`, method);
  }

  #forward(req: IncomingMessage, res: ServerResponse, path: string, method: string): void {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !DROPPED.has(k)) headers[k] = v;
    Object.assign(headers, registryAuthHeaders(this.#auth), { host: this.#upstream.host });
    const send = this.#upstream.protocol === 'https:' ? httpsRequest : httpRequest;
    const up = send({ protocol: this.#upstream.protocol, hostname: this.#upstream.hostname, port: this.#upstream.port, method, path, headers }, (answer) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(answer.headers)) if (v !== undefined && k !== 'connection' && k !== 'keep-alive') out[k] = v;
      // The registry's own address in a Location (an upload's next URL) becomes a path here.
      const location = answer.headers.location;
      if (location?.startsWith(this.#upstream.origin)) out.location = location.slice(this.#upstream.origin.length) || '/';
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    up.on('error', (err) => {
      log.warn('the registry gate could not reach the registry', { err });
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'the registry is not reachable' }] }));
      else res.destroy();
    });
    req.pipe(up);
    req.on('error', () => up.destroy());
    res.on('close', () => { if (!res.writableFinished) up.destroy(); });
  }
}
