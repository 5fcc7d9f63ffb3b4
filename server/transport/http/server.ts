import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Services } from '../../context.ts';
import type { Identity } from '../../auth/identity.ts';
import { mayUseApp } from '../../auth/access.ts';
import { appName } from '../../names.ts';
import { log } from '../../output/log.ts';
import { reportFailure } from '../../output/report.ts';
import { isGitService, type GitService } from '../git-service.ts';
import { serveSmartHttp, type SmartRequest } from './smart.ts';
import { refuse, reply } from './reply.ts';
import { FailureThrottle } from './throttle.ts';
import { Tally } from './limits.ts';
import { sourceOf } from '../source.ts';
import { actorOf, recordAfter } from '../../ops/audit/recorder.ts';
import { basicToken, expiredTokenMessage, tokenIdentity } from './auth.ts';
import { startApi, startHooks, type HookEndpoint, type HttpApi } from './api.ts';
import { dashboard, type Dashboard } from './dashboard.ts';
import { oidcSignIn, type OidcSignIn } from './oidc.ts';
import { apiRoutes } from '../../api/index.ts';
import { allows } from '../../auth/scopes.ts';
import { readInstaller } from '../../installer.ts';
import { METRICS_PATH, platformMetrics } from './platform-metrics.ts';
import { authenticationFailed, connectionOpened, connectionRefused, startProcessMetrics } from '../../observe/metrics.ts';
import { UPGRADING, UPGRADING_RETRY_S, upgrading } from '../../ops/upgrade/maintenance.ts';

const ROUTE = /^\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/;

/** Resolves HTTP Basic credentials (any user name, an access token as password) to an identity. */
export function authenticate(services: Services, header: string | undefined): Identity | undefined {
  const token = basicToken(header);
  return token ? tokenIdentity(services, token) : undefined;
}

/** The smart-HTTP request, validated: which app, which service, which git endpoint. */
function route(req: IncomingMessage, url: URL): SmartRequest | undefined {
  const m = ROUTE.exec(url.pathname);
  if (!m) return undefined;
  let app: string;
  try {
    app = appName(m[1]!);
  } catch {
    // Not a valid app name, so not a repository we serve: a plain 404 below.
    return undefined;
  }
  if (m[2] === 'info/refs') {
    const service = url.searchParams.get('service') ?? '';
    if (req.method !== 'GET' || !isGitService(service)) return undefined;
    return { app, service, advertise: true };
  }
  if (req.method !== 'POST') return undefined;
  return { app, service: m[2] as GitService, advertise: false };
}

/** The request target as a URL, or undefined if it is not one (`GET http://[::1`). */
function target(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://slipway.invalid');
  } catch {
    // Not a URL: the client's mistake, answered with a 400 by the caller.
    return undefined;
  }
}

/** Where the installer is served (public, as any web server would serve it): nodes:join-command's line fetches it here. */
export const INSTALLER_PATH = '/install.sh';

/**
 * install.sh from the code this server runs, so a joining node runs the installer of the same
 * version; the bytes whose SHA-256 nodes:join-command prints for a plain-HTTP download to check.
 */
function serveInstaller(req: IncomingMessage, res: ServerResponse): void {
  readInstaller().then(({ body }) => {
    if (res.headersSent) return;
    res.writeHead(200, { 'content-type': 'text/x-shellscript; charset=utf-8', 'cache-control': 'no-cache', 'content-length': String(body.length) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }, (err: unknown) => {
    log.error('reading install.sh failed', { err });
    refuse(req, res, 404, 'Not found: this server has no install.sh to serve.');
  });
}

/** Deliveries from one sender to one app that may fail verification in a minute before its further failures that minute are answered 429 (a delivery that verifies never is). */
export const HOOK_FAILURES_PER_MINUTE = 10;

/** A plain request handler of the HTTP port's own. */
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const UNAUTHORIZED = 'Authentication required: use any user name and an access token (ssh git@HOST tokens:create NAME) as the password.';

function handle(services: Services, throttle: FailureThrottle, api: HttpApi, hooks: HookEndpoint, web: Dashboard, metrics: Handler, req: IncomingMessage, res: ServerResponse, oidc: OidcSignIn): void {
  const url = target(req);
  if (!url) return refuse(req, res, 400, 'Bad request: the request target is not a valid URL.');
  if (api.owns(url.pathname)) return api.handle(req, res);
  // Its own credential: an admin's Bearer token, or an address of SLIPWAY_METRICS_ALLOW.
  if (url.pathname === METRICS_PATH) return metrics(req, res);
  // A forge's delivery carries its own credential (its signature), checked by the endpoint.
  if (hooks.owns(url.pathname)) return hooks.handle(req, res);
  if (url.pathname === INSTALLER_PATH && (req.method === 'GET' || req.method === 'HEAD')) return serveInstaller(req, res);
  // The OpenID Connect sign-in's two pages: the provider's answer is its credential, checked there.
  if (oidc.owns(req.method, url.pathname)) return oidc.handle(req, res, url);
  // The dashboard's pages are public (they hold no data; the API behind them checks the session).
  // A git path is never one of them: git is decided first.
  if (!ROUTE.test(url.pathname) && web.owns(req.method, url.pathname)) return web.handle(req, res, url.pathname);
  // Every route is behind authentication, even ones that would be 404s.
  const authenticated = authenticate(services, req.headers.authorization);
  const source = sourceOf(req.socket.remoteAddress ?? 'unknown');
  const identity = authenticated && { ...authenticated, source };
  if (!identity) {
    const challenge = { 'www-authenticate': 'Basic realm="Slipway", charset="UTF-8"' };
    // No credentials is git's normal first request; only presented credentials are failures.
    if (req.headers.authorization === undefined) return refuse(req, res, 401, UNAUTHORIZED, challenge);
    const expired = expiredTokenMessage(services, basicToken(req.headers.authorization));
    if (expired) return refuse(req, res, 401, expired, challenge);
    const address = req.socket.remoteAddress ?? 'unknown';
    authenticationFailed('http');
    const wait = throttle.fail(address);
    log.warn('http authentication failed', { address, failures: throttle.failures(address), delayMs: wait });
    recordAfter(services, { actor: 'unknown', interface: 'git', source, action: 'login', outcome: 'denied', meta: { path: url.pathname.slice(0, 200) } });
    if (wait === 0) return refuse(req, res, 401, UNAUTHORIZED, challenge);
    req.pause();
    const timer = setTimeout(() => refuse(req, res, 401, UNAUTHORIZED, challenge), wait);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  const g = route(req, url);
  if (!g) return refuse(req, res, 404, 'Not found: Slipway serves git at /APP.git (smart HTTP only).');
  if (!mayUseApp(services.store, identity, g.app)) {
    recordAfter(services, { ...actorOf(services.store, identity, 'git'), action: g.service === 'git-receive-pack' ? 'push' : 'fetch', app: g.app, outcome: services.store.apps.get(g.app) ? 'denied' : 'failed', meta: { transport: 'http' } });
    return refuse(req, res, 404, `Repository not found, or your token has no access to ${g.app}.`);
  }
  if (g.service === 'git-receive-pack' && !allows(identity.scope ?? 'admin', 'deploy')) {
    recordAfter(services, { ...actorOf(services.store, identity, 'git'), action: 'push', app: g.app, outcome: 'denied', meta: { transport: 'http', scope: identity.scope } });
    return refuse(req, res, 403, `Push refused: this token has the ${identity.scope} scope; pushing needs a token with the deploy scope (tokens:create NAME --scope deploy).`);
  }
  // git shows a refusal's text/plain body as `remote:` lines, with its status.
  if (g.service === 'git-receive-pack' && upgrading(services.config)) return refuse(req, res, 503, UPGRADING, { 'retry-after': String(UPGRADING_RETRY_S) });
  serveSmartHttp(services, identity, g, req, res);
}

/** Starts the HTTP server: git's smart HTTP behind our own token auth, the API at /api/v1, and the dashboard. */
export async function startHttpServer(services: Services): Promise<Server> {
  // One throttle: failed tokens count the same whether they were tried on git or on the API.
  const throttle = new FailureThrottle();
  const api = await startApi(services, throttle, apiRoutes);
  // Failed webhook verifications are counted apart: a forge's retries must not lock out git users.
  const hooks = await startHooks(services, new FailureThrottle({ windowMs: 60_000 }), HOOK_FAILURES_PER_MINUTE);
  const web = dashboard(services.config.webDir);
  const oidc = oidcSignIn(services);
  const metrics = platformMetrics(services, throttle);
  startProcessMetrics();
  const server = createServer((req, res) => {
    try {
      handle(services, throttle, api, hooks, web, metrics, req, res, oidc);
    } catch (err) {
      const r = reportFailure(err, 'http request failed');
      reply(res, r.id ? 500 : 400, r.message);
    }
  });
  server.requestTimeout = services.config.httpRequestTimeoutMs;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  // Counted from accept: connections over the cap are closed at once, before any parsing.
  server.maxConnections = services.config.httpMaxConnections;
  let lastDropLog = 0;
  // At most one line per 10 s: a flood must not become a flood of log lines.
  const logDrop = (why: string, fields: Record<string, unknown>) => {
    if (Date.now() - lastDropLog < 10_000) return;
    lastDropLog = Date.now();
    log.warn(why, fields);
  };
  server.on('drop', (d) => {
    connectionRefused('http', 'max_connections');
    logDrop('http connection refused: too many open connections', { limit: server.maxConnections, address: d?.remoteAddress });
  });
  // And per source address, so one address (a flood, a client holding streams) leaves the rest of
  // the slots to everyone else: git, the dashboard, other keys.
  const perSource = services.config.httpMaxConnectionsPerSource;
  const bySource = new Tally();
  server.on('connection', (socket: Socket) => {
    const source = sourceOf(socket.remoteAddress ?? 'unknown');
    if (bySource.get(source) >= perSource) {
      connectionRefused('http', 'per_source');
      logDrop('http connection refused: too many open connections from one address', { limit: perSource, address: source });
      socket.destroy();
      return;
    }
    bySource.add(source);
    const closed = connectionOpened('http');
    socket.once('close', () => { bySource.remove(source); closed(); });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(services.config.httpPort, services.config.bind, () => resolve(server));
  });
}
