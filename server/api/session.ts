// Dashboard sessions over the API: see whom a one-time code from dashboard:login logs in as, trade
// it (or an access token) for a session cookie, read the session back (with its CSRF token), and
// log out. The transport turns `cookie` into the Set-Cookie header; the cookie's secret never
// appears in a body.
import { Type } from 'typebox';
import { ApiError, route, type ApiRoute } from './route.ts';
import { LoginCodeInfoSchema, SessionSchema, SignInOptionsSchema } from '../shapes/session.ts';
import { LoginRefusedError, currentSession, describeLoginCode, endSession, startSession } from '../ops/apps/dashboard.ts';

const NO_SESSION = 'This request has no dashboard session: log in with POST /api/v1/session (a code from dashboard:login, or a token).';

/** Logout needs no more than the weakest scope: ending one's own session changes nothing a scope guards. */
function anyScope(r: ApiRoute): ApiRoute {
  return { ...r, need: 'read' };
}

/** The code of a login link, as both login routes take it. */
const CODE = Type.String({ minLength: 1, maxLength: 128, description: 'The code of the link dashboard:login printed (after #code=); valid once, for SLIPWAY_LOGIN_LINK_TTL_S (60 s by default).' });

export const sessionRoutes = [
  route({
    method: 'GET', url: '/session/options', tag: 'session', need: 'read', public: true,
    summary: "The login page's ways in besides a login link and a token: the OpenID Connect provider's name, if one is set",
    response: { 200: SignInOptionsSchema },
    handle: (call) => {
      const oidc = call.services.config.oidc;
      return { status: 200, json: { oidc: oidc ? { name: oidc.name, start: '/login/oidc' } : null } };
    },
  }),
  route({
    method: 'POST', url: '/session/code', tag: 'session', need: 'deploy', public: true,
    summary: "Whom a login link's code logs in as (key, rights, SSH key fingerprint), without using it up: the login page asks the user to confirm first",
    body: Type.Object({ code: CODE }, { additionalProperties: false }),
    response: { 200: LoginCodeInfoSchema },
    handle: (call) => {
      try {
        return { status: 200, json: describeLoginCode(call.services, call.body.code) };
      } catch (err) {
        if (err instanceof LoginRefusedError) throw new ApiError(401, 'unauthorized', err.message);
        throw err;
      }
    },
  }),
  route({
    method: 'POST', url: '/session', tag: 'session', need: 'deploy', public: true,
    summary: 'Log in to the dashboard: a one-time code from dashboard:login, or an access token, for a session cookie (__Host-slipway_session over HTTPS, slipway_session over plain HTTP)',
    body: Type.Object({
      code: Type.Optional(CODE),
      token: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: "An access token; the session gets the token's scope and ends if it is revoked." })),
    }, { additionalProperties: false }),
    response: { 200: SessionSchema },
    handle: (call) => {
      try {
        const { secret, endsAt, ...info } = startSession(call.services, call.body);
        return { status: 200, json: info, cookie: { secret, endsAt } };
      } catch (err) {
        if (err instanceof LoginRefusedError) throw new ApiError(401, 'unauthorized', err.message);
        throw err;
      }
    },
  }),
  route({
    method: 'GET', url: '/session', tag: 'session', need: 'read',
    summary: 'The dashboard session the request came with: its key, rights, CSRF token and expiry',
    response: { 200: SessionSchema },
    handle: (call) => {
      const info = currentSession(call.services, call.identity);
      if (!info) throw new ApiError(401, 'unauthorized', NO_SESSION);
      return { status: 200, json: info };
    },
  }),
  anyScope(route({
    method: 'DELETE', url: '/session', tag: 'session', need: 'deploy',
    summary: 'Log out: end the session (its open event streams stop) and clear the cookie',
    response: { 204: Type.Null({ description: 'Logged out.' }) },
    handle: (call) => {
      if (!endSession(call.services, call.identity)) throw new ApiError(401, 'unauthorized', NO_SESSION);
      return { status: 204, json: null, cookie: { clear: true } };
    },
  })),
];
