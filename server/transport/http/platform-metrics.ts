// GET /metrics on the HTTP port: the platform's metrics in Prometheus's text format, for an
// admin's Bearer token or a scraper at an address of SLIPWAY_METRICS_ALLOW (ops/observe/scrape.ts
// decides). A wrong token counts against its address in the same throttle as git's and the API's.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Services } from '../../context.ts';
import { log } from '../../output/log.ts';
import { reportFailure } from '../../output/report.ts';
import { authenticationFailed } from '../../observe/metrics.ts';
import { allowList, scrape, scrapeAccess } from '../../ops/observe/scrape.ts';
import { bearerToken, tokenIdentity } from './auth.ts';
import type { FailureThrottle } from './throttle.ts';
import { refuse, reply } from './reply.ts';

/** Where the platform's metrics are served (the path Prometheus scrapes by default). */
export const METRICS_PATH = '/metrics';

const CHALLENGE = { 'www-authenticate': 'Bearer realm="Slipway"' };

/** The handler of METRICS_PATH, with the allow-list read once. */
export function platformMetrics(services: Services, throttle: FailureThrottle): (req: IncomingMessage, res: ServerResponse) => void {
  const allow = allowList(services.config.metricsAllow);
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(req, res, 405, 'The metrics are read with GET.', { allow: 'GET, HEAD' });
    const address = req.socket.remoteAddress ?? 'unknown';
    // Only a Bearer token is a credential here; without one, the address decides.
    const token = bearerToken(req.headers.authorization);
    const identity = token ? tokenIdentity(services, token) : undefined;
    if (token && !identity) {
      authenticationFailed('http');
      const wait = throttle.fail(address);
      log.warn('metrics authentication failed', { address, failures: throttle.failures(address), delayMs: wait });
      if (wait > 0) return refuse(req, res, 429, 'Too many failed authentications from your address; wait a little and try again.', { 'retry-after': String(Math.ceil(wait / 1000)) });
      return refuse(req, res, 401, 'That token is not valid (revoked, or its key was removed); the metrics need an admin-scope token as "Authorization: Bearer TOKEN".', CHALLENGE);
    }
    const access = scrapeAccess(allow, { identity, address });
    if (!access.ok) return refuse(req, res, access.status, access.message, access.status === 401 ? CHALLENGE : {});
    scrape(services).then(({ contentType, text }) => {
      if (res.headersSent) return;
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(text)) });
      res.end(req.method === 'HEAD' ? undefined : text);
    }, (err: unknown) => {
      const r = reportFailure(err, 'metrics scrape failed');
      reply(res, 500, r.message);
    });
  };
}
