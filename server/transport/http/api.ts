// The HTTP API, /api/v1, on the git server's port: Fastify (the one module that imports it) does
// the routing, validation against the routes' TypeBox schemas, serialization and the OpenAPI
// document. The routes themselves are data in server/api/. Every request passes here in order:
// token or dashboard session cookie (401/429; 403 for a cookie from another site or without its
// CSRF token), scope (403), an upgrade under way for a change (503), app (404, as over SSH), body (413, 400, 422), then the handler.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import cors from '@fastify/cors';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Services } from '../../context.ts';
import type { Identity } from '../../auth/identity.ts';
import { allows } from '../../auth/scopes.ts';
import { mayUseApp, reachesAllApps } from '../../auth/access.ts';
import { ForbiddenError, LockedError, NotFoundError, UnavailableError, UsageError, UserError } from '../../errors.ts';
import { appName, shown } from '../../names.ts';
import { log } from '../../output/log.ts';
import { reportFailure } from '../../output/report.ts';
import { ApiError, type ApiRoute, type ErrorCode } from '../../api/route.ts';
import { ErrorBody } from '../../api/schemas.ts';
import { TOKEN_EXPIRES_HEADER, bearerToken, cookieIdentity, crossSiteLogin, expiredTokenMessage, proxiesOf, requestIsHttps, tokenIdentity, type BrowserRequest } from './auth.ts';
import { clearedSessionCookies, sessionCookies } from '../../auth/session-cookie.ts';
import type { FailureThrottle } from './throttle.ts';
import { streamEvents } from './sse.ts';
import { streamBytes } from './bytes.ts';
import { Readable } from 'node:stream';
import { StreamSlots } from './limits.ts';
import { sourceOf } from '../source.ts';
import { HOOK_BODY_LIMIT, HOOKS_PREFIX, NOT_HERE_MESSAGE, receiveHook } from '../../api/webhook.ts';
import { clientAddress, forwardingProxies } from './forwarded.ts';
import { authenticationFailed, observeApiRequest } from '../../observe/metrics.ts';
import { UPGRADING, UPGRADING_RETRY_S, upgrading } from '../../ops/upgrade/maintenance.ts';
import { withAuditScope, type AuditScope } from '../../audit-scope.ts';
import { auditRequest } from './audit-hook.ts';

/** Where the API lives on the HTTP port. */
export const API_PREFIX = '/api/v1';

/** Largest request body the API reads: its bodies are a few settings, never files. */
export const API_BODY_LIMIT = 64 * 1024;

/** What the git server's request handler hands API requests to. */
export interface HttpApi {
  /** Whether a request target belongs to the API. */
  owns(pathname: string): boolean;
  /** Serves one API request. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** The OpenAPI document, generated from the registered routes. */
  document(): Record<string, unknown>;
  /** The registered routes as `METHOD /path` (for the test that checks the document has each). */
  registered(): string[];
}

/** Per request: who it is, set by the onRequest hook. */
declare module 'fastify' {
  interface FastifyRequest {
    identity?: Identity;
    /** The jobs the handler started (the audit entry names them). */
    auditScope?: AuditScope;
    /** The sentence a refused or failed request ended with, for its audit entry. */
    auditError?: string;
    /** The key a login (a public route) logged in as. */
    auditActor?: string;
  }
  interface FastifyContextConfig {
    route?: ApiRoute;
  }
}

/** Fastify's own error codes that are the client's mistake, with the status and code we answer. */
const CLIENT_ERRORS: Record<string, { status: number; code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'too_large', message: `The request body is larger than the API's limit of ${API_BODY_LIMIT / 1024} KiB.` },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'bad_request', message: 'The request body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'bad_request', message: 'The request says it sends JSON but its body is empty.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'bad_request', message: 'The request body must be JSON (Content-Type: application/json).' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'bad_request', message: "The request body's length does not match its Content-Length." },
  FST_ERR_CTP_INVALID_TYPE: { status: 400, code: 'bad_request', message: 'The Content-Type header is not valid.' },
  FST_ERR_BAD_URL: { status: 400, code: 'bad_request', message: 'The request target is not a valid URL.' },
};

/** JSON's own parse failure (as Fastify's parser passes it on) is the client's bad JSON. */
function isJsonSyntax(err: FastifyError): boolean {
  return err instanceof SyntaxError && err.statusCode === 400;
}

/** The status, code and sentence for any error a request ended with; internal ones are logged with an id. */
function classify(err: unknown, request: FastifyRequest): { status: number; code: ErrorCode; message: string; id?: string; headers?: Record<string, string> } {
  if (err instanceof ApiError) return { status: err.status, code: err.code, message: err.message, headers: { ...err.headers } };
  const fe = err as FastifyError;
  if (fe?.validation) {
    const first = fe.validation[0];
    const where = `${fe.validationContext ?? 'request'}${first?.instancePath ? first.instancePath.replaceAll('/', '.') : ''}`;
    return { status: 422, code: 'invalid', message: `Invalid ${where}: ${first?.message ?? 'it does not match the schema'}.` };
  }
  if (typeof fe?.code === 'string' && Object.hasOwn(CLIENT_ERRORS, fe.code)) return CLIENT_ERRORS[fe.code]!;
  if (isJsonSyntax(fe)) return CLIENT_ERRORS.FST_ERR_CTP_INVALID_JSON_BODY!;
  // Any other refusal of Fastify's own (a malformed request it could not take) is the client's too.
  if (typeof fe?.code === 'string' && fe.code.startsWith('FST_') && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, code: 'bad_request', message: `The request could not be read (${fe.message.replace(/\.$/, '')}).` };
  }
  if (err instanceof NotFoundError) return { status: 404, code: 'not_found', message: err.message };
  if (err instanceof LockedError) return { status: 409, code: 'conflict', message: err.message };
  if (err instanceof ForbiddenError) return { status: 403, code: 'forbidden', message: err.message };
  if (err instanceof UnavailableError) return { status: 503, code: 'unavailable', message: err.message };
  if (err instanceof UsageError) return { status: 400, code: 'bad_request', message: err.message };
  if (err instanceof UserError) {
    const r = reportFailure(err, 'api request refused', { method: request.method, url: request.url, by: request.identity?.name });
    return { status: 422, code: 'invalid', message: r.message };
  }
  const r = reportFailure(err, 'api request failed', { method: request.method, url: request.url, by: request.identity?.name });
  return { status: 500, code: 'internal', message: r.message, id: r.id! };
}

/** The media type of an upload route's body (a database archive), streamed to the handler, never parsed. */
const UPLOAD_TYPE = 'application/octet-stream';

/** Whether the request declares a body. */
function hasBody(req: IncomingMessage): boolean {
  return Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
}

/** Sends the error body; a request whose body was not read (or not all) has its connection closed after. */
function sendError(reply: FastifyReply, e: ReturnType<typeof classify>): FastifyReply {
  if (hasBody(reply.request.raw) && !reply.request.raw.complete) reply.header('connection', 'close');
  for (const [k, v] of Object.entries(e.headers ?? {})) reply.header(k, v);
  return reply.code(e.status).type('application/json; charset=utf-8').send({ error: { message: e.message, code: e.code, ...(e.id ? { id: e.id } : {}) } });
}

const CHALLENGE = 'Bearer realm="Slipway"';
const UNAUTHORIZED = 'Authentication required: send an access token (ssh git@HOST tokens:create NAME) as "Authorization: Bearer TOKEN".';

/** The parts of a request the dashboard session checks read. */
function browserRequest(request: FastifyRequest): BrowserRequest {
  return { method: request.method, headers: request.headers, encrypted: (request.raw.socket as { encrypted?: boolean }).encrypted === true, remoteAddress: request.raw.socket.remoteAddress };
}

/**
 * The token (or, without an Authorization header, the dashboard session cookie), scope and app
 * checks, before anything of the body is read. A wrong token counts against its source address;
 * past the free attempts the answer is 429 with Retry-After.
 */
function authorize(services: Services, throttle: FailureThrottle, proxies: Proxies, request: FastifyRequest): void {
  const route = request.routeOptions.config.route;
  if (route?.public) {
    // A login from another site's page would log the browser in as the attacker's key.
    const why = request.method === 'GET' ? undefined : crossSiteLogin(services, browserRequest(request), proxies);
    if (why) throw new ApiError(403, 'forbidden', why);
    return;
  }
  const header = request.headers.authorization;
  const token = bearerToken(header);
  let identity = token ? tokenIdentity(services, token) : undefined;
  if (header === undefined) {
    const byCookie = cookieIdentity(services, browserRequest(request), proxies);
    if (byCookie && 'status' in byCookie) throw new ApiError(byCookie.status, ({ 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden' } as const)[byCookie.status], byCookie.message, byCookie.headers);
    identity = byCookie?.identity;
  }
  if (!identity) {
    if (header === undefined) throw new ApiError(401, 'unauthorized', UNAUTHORIZED, { 'www-authenticate': CHALLENGE });
    // A token past its expiry is a known token, not a guess: said so, and not counted as a failure.
    const expired = expiredTokenMessage(services, token);
    if (expired) throw new ApiError(401, 'unauthorized', expired, { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` });
    const address = request.raw.socket.remoteAddress ?? 'unknown';
    authenticationFailed('http');
    const wait = throttle.fail(address);
    log.warn('api authentication failed', { address, failures: throttle.failures(address), delayMs: wait });
    if (wait > 0) throw new ApiError(429, 'too_many', 'Too many failed authentications from your address; wait a little and try again.', { 'retry-after': String(Math.ceil(wait / 1000)) });
    throw new ApiError(401, 'unauthorized', 'That token is not valid (revoked, or its key was removed).', { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` });
  }
  request.identity = identity;
  if (!route) return;
  const scope = identity.scope ?? 'admin';
  if (!allows(scope, route.need)) {
    throw new ApiError(403, 'forbidden', `This token has the ${scope} scope; ${route.method} ${API_PREFIX}${route.url} needs ${route.need}.`);
  }
  // A route that needs more than read changes something: refused while Slipway is being upgraded.
  if (route.need !== 'read' && upgrading(services.config)) throw new ApiError(503, 'unavailable', UPGRADING, { 'retry-after': String(UPGRADING_RETRY_S) });
  if (route.app) {
    const raw = (request.params as { app?: string }).app ?? '';
    let app: string;
    try {
      app = appName(raw);
    } catch {
      // Not a valid app name, so no app: the same 404 as for an app that does not exist.
      throw new NotFoundError(shown(raw), { orNoAccess: !reachesAllApps(identity) });
    }
    if (!mayUseApp(services.store, identity, app)) throw new NotFoundError(shown(app), { orNoAccess: !reachesAllApps(identity) });
  }
}

/** Every route's error answers: JSON in the one shape, whatever the route answers when it succeeds. */
const ERROR_RESPONSES = {
  '4xx': { description: 'The request was refused (see the code).', content: { 'application/json': { schema: ErrorBody } } },
  '5xx': { description: 'An internal error; its id is in the server log.', content: { 'application/json': { schema: ErrorBody } } },
};

/** A stable name for a route, for clients generated from the document: `patchAppsAppConfig`. */
function operationId(r: Pick<ApiRoute, 'method' | 'url'>): string {
  const words = r.url.split('/').filter(Boolean).map((w) => w.replace(/^:/, '')).flatMap((w) => w.split(/[^A-Za-z0-9]+/)).filter(Boolean);
  return r.method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

/** The part of the document `withScopes` writes into. */
type OpenApiPaths = { paths?: Record<string, Record<string, Record<string, unknown>>> };

/**
 * The document with each operation's scope (`x-slipway-scope`: read, deploy or admin), so a client
 * generated from it (the client's MCP server) offers a token only what its scope may call.
 */
function withScopes<D extends OpenApiPaths>(doc: D, routes: readonly ApiRoute[]): D {
  for (const r of routes) {
    const op = doc.paths?.[API_PREFIX + r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[r.method.toLowerCase()];
    if (op) op['x-slipway-scope'] = r.need;
  }
  return doc;
}

/** The addresses whose X-Forwarded-Proto is believed. */
type Proxies = ReturnType<typeof proxiesOf>;

/** Registers one route: its schemas (plus the error body) for validation and the document, its handler. */
function register(app: FastifyInstance, services: Services, proxies: Proxies, slots: StreamSlots, r: ApiRoute): void {
  const contentTypes = { json: ['application/json'], text: ['text/plain'], sse: ['text/event-stream'], 'text-or-sse': ['text/plain', 'text/event-stream'], 'json-or-sse': ['application/json', 'text/event-stream'], bytes: ['application/octet-stream'] }[r.produces];
  app.route({
    method: r.method,
    url: r.url,
    config: { route: r },
    schema: {
      summary: r.summary,
      operationId: operationId(r),
      tags: [r.tag],
      ...(r.public ? { security: [] } : {}),
      ...r.schema,
      produces: contentTypes,
      ...(r.upload ? { consumes: [UPLOAD_TYPE] } : {}),
      response: { ...r.schema.response, ...ERROR_RESPONSES },
    },
    // No body at all counts as `{}`: POST /apps/APP/restart needs none, and where {} is not enough the schema or the operation says so.
    ...(r.schema.body ? { preValidation: async (request: FastifyRequest) => { request.body ??= {}; } } : {}),
    handler: async (request, reply) => {
      const controller = new AbortController();
      reply.raw.on('close', () => { if (!reply.raw.writableFinished) controller.abort(new Error('the client went away')); });
      const scope: AuditScope = { jobs: [] };
      request.auditScope = scope;
      const out = await withAuditScope(scope, () => r.handle({
        identity: request.identity!, services,
        params: request.params, query: request.query, body: r.upload ? undefined : request.body,
        signal: controller.signal,
        ...(r.upload && request.body instanceof Readable ? { upload: request.body } : {}),
      }));
      // A login answers with the key it logged in as: its audit entry's actor.
      if (r.public && 'json' in out && typeof (out.json as { key?: unknown } | null)?.key === 'string') request.auditActor = (out.json as { key: string }).key;
      if ('bytes' in out) {
        reply.hijack();
        try {
          return await streamBytes(reply.raw, reply.getHeaders() as Record<string, string>, services.config.stallTimeoutMs, out);
        } catch (err) {
          // Nothing was sent yet: the usual error answer, written by hand (the reply is hijacked).
          const e = classify(err, request);
          reply.raw.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8' });
          reply.raw.end(JSON.stringify({ error: { message: e.message, code: e.code, ...(e.id ? { id: e.id } : {}) } }));
          return;
        }
      }
      if ('events' in out) {
        // Counted before the stream answers 200: one more than the key or the address may hold is a 429.
        const slot = slots.take(request.identity!.name, sourceOf(request.raw.socket.remoteAddress ?? 'unknown'));
        if ('refused' in slot) throw new ApiError(429, 'too_many', slot.refused);
        reply.hijack();
        const failed = (err: unknown) => {
          const e = classify(err, request);
          return JSON.stringify({ error: { message: e.message, code: e.code, ...(e.id ? { id: e.id } : {}) } });
        };
        return streamEvents(reply.raw, reply.getHeaders() as Record<string, string>, services.config.stallTimeoutMs, out.events, failed).finally(slot.release);
      }
      if ('text' in out) return reply.code(out.status).type('text/plain; charset=utf-8').send(out.text);
      if (out.cookie) {
        const secure = requestIsHttps(browserRequest(request), proxies);
        const c = out.cookie;
        reply.header('set-cookie', 'secret' in c ? sessionCookies(c.secret, { secure, maxAgeS: (c.endsAt - services.store.sessions.clock.now()) / 1000 }) : clearedSessionCookies(secure));
        reply.header('cache-control', 'no-store');
      }
      return reply.code(out.status).send(out.json);
    },
  });
}

/**
 * The request timeout is for pushes (an hour); an API body or a webhook delivery is small and
 * must arrive soon: past SLIPWAY_API_BODY_TIMEOUT_S the answer is 408 and the connection closes.
 */
function bodyDeadline(services: Services, req: IncomingMessage, res: ServerResponse): void {
  // An upload (a database archive, gigabytes) takes as long as it takes; only an upload route
  // reads one, any other refuses it at once (415), and the request timeout bounds it.
  if (!hasBody(req) || req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() === UPLOAD_TYPE) return;
  const timer = setTimeout(() => {
    if (req.complete) return;
    log.info('request body too slow', { address: req.socket.remoteAddress, url: req.url });
    if (!res.headersSent) {
      res.writeHead(408, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
      res.end(JSON.stringify({ error: { message: `The request body did not arrive within ${services.config.apiBodyTimeoutMs / 1000} s.`, code: 'bad_request' } }));
    }
    res.on('finish', () => req.socket.destroy());
    if (res.writableFinished) req.socket.destroy();
  }, services.config.apiBodyTimeoutMs);
  const clear = () => clearTimeout(timer);
  req.once('end', clear);
  res.once('close', clear);
}

/** Builds the API's Fastify instance, ready to serve; it never listens itself (the git server does). */
export async function startApi(services: Services, throttle: FailureThrottle, routes: readonly ApiRoute[]): Promise<HttpApi> {
  const app = Fastify({
    logger: false,
    bodyLimit: API_BODY_LIMIT,
    exposeHeadRoutes: false,
    return503OnClosing: false,
    // The longest parameter a route takes is a node name (253 characters); the router's limit sits
    // above it so a name a little too long gets the schema's sentence, not the router's own 414.
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 512 },
  });
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Slipway API', version: services.config.version, description: 'Drive Slipway without SSH: apps, config, releases, processes, jobs. Authenticate with an access token (tokens:create NAME --scope read|deploy|admin) as `Authorization: Bearer TOKEN`, or (the dashboard) with the session cookie from POST /api/v1/session (`__Host-slipway_session` over HTTPS, `slipway_session` over plain HTTP); a request with the cookie that changes something sends the session\'s `X-CSRF-Token` header.' },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An access token from tokens:create.' },
          session: { type: 'apiKey', in: 'cookie', name: '__Host-slipway_session', description: 'A dashboard session (POST /api/v1/session): `__Host-slipway_session` over HTTPS, `slipway_session` over plain HTTP; a request with two session cookies is refused. Changes also need the X-CSRF-Token header.' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    transformObject: (d) => ('openapiObject' in d ? withScopes(d.openapiObject as OpenApiPaths, routes) : d.swaggerObject),
  });
  if (services.config.apiCorsOrigins.length > 0) {
    // Off unless configured: a browser page elsewhere must not use a token it got hold of.
    await app.register(cors, { origin: [...services.config.apiCorsOrigins], methods: ['GET', 'POST', 'PATCH', 'DELETE'], allowedHeaders: ['authorization', 'content-type'], maxAge: 600 });
  }
  // An upload route's body goes to its handler as the stream it is (bounded by the operation);
  // every other route refuses it before reading any of it.
  app.addContentTypeParser(UPLOAD_TYPE, (request, payload, done) => {
    if (!request.routeOptions.config.route?.upload) return done(new ApiError(415, 'bad_request', 'The request body must be JSON (Content-Type: application/json).'), undefined);
    done(null, payload);
  });
  const proxies = proxiesOf(services);
  const slots = new StreamSlots({ perKey: services.config.maxStreamsPerKey, perSource: services.config.maxStreamsPerSource });
  // The client's address as the audit log keeps it: X-Forwarded-For only from SLIPWAY_TRUSTED_PROXIES.
  const forwarded = forwardingProxies(services.config.trustedProxies);
  const addressOf = (request: FastifyRequest) => sourceOf(clientAddress(request.raw.socket.remoteAddress, request.headers['x-forwarded-for'], forwarded));
  app.addHook('onRequest', async (request, reply) => {
    authorize(services, throttle, proxies, request);
    if (request.identity) request.identity = { ...request.identity, source: addressOf(request) };
    if (request.identity?.tokenExpiresAt) reply.header(TOKEN_EXPIRES_HEADER, request.identity.tokenExpiresAt);
  });
  app.addHook('onResponse', async (request, reply) => {
    // A body the client was still sending when we answered (a 401, a 413) is not read to its end.
    if (hasBody(request.raw) && !request.raw.complete) request.raw.socket.destroy();
    // The route's pattern, never the URL asked for: one series per route, whatever the paths tried.
    observeApiRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    auditRequest(services, request, reply, addressOf(request));
  });
  app.setErrorHandler((err, request, reply) => {
    const e = classify(err, request);
    request.auditError = e.message;
    // A refused login (a wrong code or token) is a failed authentication like a wrong Bearer token.
    if (e.status === 401 && request.routeOptions.config.route?.public) {
      const address = request.raw.socket.remoteAddress ?? 'unknown';
      authenticationFailed('http');
      const wait = throttle.fail(address);
      log.warn('api login failed', { address, failures: throttle.failures(address), delayMs: wait });
      if (wait > 0) return sendError(reply, { status: 429, code: 'too_many', message: 'Too many failed authentications from your address; wait a little and try again.', headers: { 'retry-after': String(Math.ceil(wait / 1000)) } });
    }
    return sendError(reply, e);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, { status: 404, code: 'not_found', message: `There is no API route ${request.method} ${request.url.split('?')[0]}.` }));

  // What Fastify itself registered (not what we meant to), for the test that the document has each.
  const seen: string[] = [];
  app.addHook('onRoute', (r) => {
    // Routes a plugin keeps out of the document on purpose (CORS preflight) are not the API's.
    if ((r.schema as { hide?: boolean } | undefined)?.hide) return;
    for (const m of [r.method].flat()) seen.push(`${m} ${r.url}`);
  });
  await app.register(async (scope) => {
    for (const r of routes) register(scope, services, proxies, slots, r);
    scope.get('/openapi.json', {
      config: { route: { public: true } as ApiRoute },
      schema: { summary: 'This API as an OpenAPI 3.1 document', operationId: 'getOpenapi', tags: ['meta'], security: [], response: { 200: { type: 'object', additionalProperties: true, description: 'The OpenAPI 3.1 document.' }, ...ERROR_RESPONSES } },
    }, async () => app.swagger());
  }, { prefix: API_PREFIX });
  await app.ready();

  return {
    owns: (pathname) => pathname === API_PREFIX || pathname.startsWith(API_PREFIX + '/'),
    handle: (req, res) => {
      bodyDeadline(services, req, res);
      app.routing(req, res);
    },
    document: () => app.swagger() as unknown as Record<string, unknown>,
    registered: () => [...seen],
  };
}

/** What the git server's request handler hands webhook deliveries to. */
export interface HookEndpoint {
  /** Whether a request target is a webhook's (/hooks/…). */
  owns(pathname: string): boolean;
  /** Serves one delivery. */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * The webhook endpoint, POST /hooks/APP: its own Fastify instance, apart from the API's (no
 * token, no session, no JSON parsing). The body is kept as the exact bytes received (every content
 * type, at most HOOK_BODY_LIMIT, else 413), because the forge's signature covers those bytes.
 * Failed verifications are counted per sender and app (the sender: the TCP peer, or the client a
 * trusted proxy names); one over `throttle`'s limit in its window is answered 429 instead of the
 * refusal. The count is only looked at once the signature failed: a delivery that verifies is
 * never refused, so nobody can lock a forge out, even when every sender reaches us through the
 * same ingress address.
 */
export async function startHooks(services: Services, throttle: FailureThrottle, maxFailures: number): Promise<HookEndpoint> {
  const app = Fastify({ logger: false, bodyLimit: HOOK_BODY_LIMIT, exposeHeadRoutes: false, return503OnClosing: false, routerOptions: { ignoreTrailingSlash: false, maxParamLength: 128 } });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: HOOK_BODY_LIMIT }, (_request, body, done) => { done(null, body); });
  const answer = (reply: FastifyReply, status: number, message: string, headers: Record<string, string> = {}) => {
    if (hasBody(reply.request.raw) && !reply.request.raw.complete) reply.header('connection', 'close');
    for (const [k, v] of Object.entries(headers)) reply.header(k, v);
    return reply.code(status).type('application/json; charset=utf-8').send({ message });
  };
  const proxies = forwardingProxies(services.config.trustedProxies);
  app.addHook('onResponse', async (request) => {
    if (hasBody(request.raw) && !request.raw.complete) request.raw.socket.destroy();
  });
  app.setErrorHandler((err, request, reply) => {
    const fe = err as FastifyError;
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return answer(reply, 413, `The delivery is larger than ${HOOK_BODY_LIMIT / 1048576} MiB.`);
    if (typeof fe.code === 'string' && fe.code.startsWith('FST_') && typeof fe.statusCode === 'number' && fe.statusCode < 500) return answer(reply, fe.statusCode, 'The delivery could not be read.');
    const r = reportFailure(err, 'webhook delivery failed', { url: request.url });
    return answer(reply, 500, r.message);
  });
  app.setNotFoundHandler((request, reply) => answer(reply, request.method === 'POST' ? 404 : 405, request.method === 'POST' ? NOT_HERE_MESSAGE : 'Webhooks are delivered with POST.'));
  app.post(`${HOOKS_PREFIX}:app`, async (request, reply) => {
    const address = clientAddress(request.raw.socket.remoteAddress, request.headers['x-forwarded-for'], proxies);
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const app = (request.params as { app: string }).app;
    // A delivery starts a deploy: refused while Slipway is being upgraded (the poll round or the forge's redelivery picks it up after).
    if (upgrading(services.config)) return answer(reply, 503, UPGRADING, { 'retry-after': String(UPGRADING_RETRY_S) });
    const r = receiveHook(services, { app, headers: request.headers, body, address });
    if (r.refused) {
      // Keyed by sender and app: one app's failures never hold back another app's deliveries.
      const key = `${address} ${app}`;
      if (throttle.failures(key) >= maxFailures) {
        log.warn('webhook throttled', { address, app });
        return answer(reply, 429, 'Too many deliveries from your address to this webhook failed verification; wait a minute and try again.', { 'retry-after': '60' });
      }
      throttle.fail(key);
    }
    return reply.code(r.status).type('application/json; charset=utf-8').send(r.json);
  });
  await app.ready();
  return {
    owns: (pathname) => pathname.startsWith(HOOKS_PREFIX),
    handle: (req, res) => {
      bodyDeadline(services, req, res);
      app.routing(req, res);
    },
  };
}
