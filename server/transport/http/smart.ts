// Git's smart HTTP protocol on top of git's stateless RPC, as `git http-backend` serves it but
// without that CGI in between: info/refs runs `git SERVICE --stateless-rpc --advertise-refs`,
// a POST runs `git SERVICE --stateless-rpc` on the request body. One git process per request
// instead of three (git, http-backend, the service); the headers and the preamble are
// http-backend's (gitprotocol-http(5)).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip } from 'node:zlib';
import type { Services } from '../../context.ts';
import type { Identity } from '../../auth/identity.ts';
import { log } from '../../output/log.ts';
import { refuse, reply } from './reply.ts';
import { gitProtocol, serveGit, type GitService } from '../git-service.ts';

/** One authorised smart-HTTP request: which app, which service, advertisement or RPC. */
export interface SmartRequest { app: string; service: GitService; advertise: boolean }

// As http-backend's hdr_nocache(): neither the advertisement nor a result may be cached.
const NO_CACHE = { expires: 'Fri, 01 Jan 1980 00:00:00 GMT', pragma: 'no-cache', 'cache-control': 'no-cache, max-age=0, must-revalidate' };

/** Largest inflated body of a fetch negotiation (http-backend's GIT_HTTP_MAX_REQUEST_BUFFER). */
const MAX_FETCH_REQUEST = 10 * 1024 * 1024;

/** A push's probe (remote-curl's probe_rpc, before a body over http.postBuffer): one flush packet. */
const PROBE = '0000';

/** Whether GIT_PROTOCOL asks for protocol v2 (its highest `version=`, as git reads it). */
function wantsV2(protocol: string | undefined): boolean {
  return (protocol ?? '').split(':').some((item) => item === 'version=2');
}

/** Answers one authorised smart-HTTP request with git's stateless RPC on the app's repository. */
export function serveSmartHttp(services: Services, identity: Identity, g: SmartRequest, req: IncomingMessage, res: ServerResponse): void {
  const name = g.service.slice('git-'.length);
  const pushing = g.service === 'git-receive-pack';
  // receive-pack enforces the pack size itself and says so in git's own words; this hard stop,
  // a little above it, catches declared or streamed bodies that are not packs (or never end).
  const limit = services.config.maxPushBytes + 1024 * 1024;
  const tooLarge = `Push rejected: the request is larger than the ${Math.round(services.config.maxPushBytes / 1048576)} MB limit.`;
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    reply(res, 413, tooLarge, { connection: 'close' });
    req.destroy();
    return;
  }
  const protocol = gitProtocol(req.headers['git-protocol']);
  if (g.advertise) return run(services, identity, g, req, res, { protocol, contentType: `application/x-git-${name}-advertisement`, preamble: !wantsV2(protocol) });
  if (req.headers['content-type'] !== `application/x-git-${name}-request`) {
    return refuse(req, res, 415, `Unsupported media type: a POST to ${g.service} carries application/x-git-${name}-request.`);
  }
  const encoding = req.headers['content-encoding'];
  const gzip = encoding === 'gzip' || encoding === 'x-gzip';
  const result = { protocol, contentType: `application/x-git-${name}-result`, preamble: false, gzip, limit, tooLarge, inflatedLimit: pushing ? limit : MAX_FETCH_REQUEST };
  if (!pushing || gzip || req.headers['content-length'] !== String(PROBE.length)) return run(services, identity, g, req, res, result);
  // A push's probe: receive-pack would read its flush packet, find no commands and answer nothing,
  // so the answer is given here, without starting git (and without registering a push).
  const body: Buffer[] = [];
  req.on('data', (chunk: Buffer) => body.push(chunk));
  req.once('end', () => {
    const bytes = Buffer.concat(body);
    if (bytes.toString('latin1') !== PROBE) return run(services, identity, g, req, res, { ...result, body: bytes });
    res.writeHead(200, { 'content-type': result.contentType, ...NO_CACHE });
    res.end();
  });
}

interface RunOptions {
  protocol: string | undefined;
  contentType: string;
  /** The `# service=` packet and a flush before git's output (an advertisement before protocol v2). */
  preamble: boolean;
  /** The body is gzip-compressed (git sends large fetch negotiations so). */
  gzip?: boolean;
  /** Most bytes the body may have, and what a body over it is told. */
  limit?: number;
  tooLarge?: string;
  /** Most the body may inflate to. */
  inflatedLimit?: number;
  /** The body, already read (a would-be probe); otherwise the request is streamed. */
  body?: Buffer;
}

/** Runs git's stateless RPC for the request and streams its answer back. */
function run(services: Services, identity: Identity, g: SmartRequest, req: IncomingMessage, res: ServerResponse, o: RunOptions): void {
  const served = serveGit(services, { identity, app: g.app, service: g.service, advertiseOnly: g.advertise, gitProtocol: o.protocol, program: { kind: 'stateless-rpc' } });
  const { git } = served;
  const stop = (status: number, message: string, why: string) => {
    served.cancel(why);
    refuse(req, res, status, message);
  };
  git.stdin.on('error', (err) => log.debug(`git ${g.service} stdin closed early`, { err }));
  git.stderr.on('data', (d: Buffer) => log.debug(`git ${g.service}`, { stderr: d.toString('utf8').trim() }));
  if (g.advertise) git.stdin.end();
  else if (o.body) git.stdin.end(o.body);
  else {
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > (o.limit ?? Infinity)) stop(413, o.tooLarge ?? 'The request is too large.', 'request body over the size limit');
    });
    if (o.gzip) {
      const gunzip = createGunzip();
      let inflated = 0;
      gunzip.on('data', (chunk: Buffer) => {
        inflated += chunk.length;
        if (inflated > (o.inflatedLimit ?? Infinity)) {
          gunzip.destroy();
          stop(413, 'The request inflates past the limit.', 'request body inflates past the limit');
        }
      });
      gunzip.on('error', (err) => {
        log.debug('an http request body did not inflate', { err });
        stop(400, 'Bad request: the body is not valid gzip.', 'request body not valid gzip');
      });
      req.pipe(gunzip).pipe(git.stdin);
    } else {
      req.pipe(git.stdin);
    }
  }
  // Headers once git has something to say (or ended well with nothing, as a push's probe does):
  // a git that fails at once is a 500, not an empty 200.
  const head = () => {
    res.writeHead(200, { 'content-type': o.contentType, ...NO_CACHE });
    if (o.preamble) {
      const line = `# service=${g.service}\n`;
      res.write(`${(line.length + 4).toString(16).padStart(4, '0')}${line}0000`);
    }
  };
  git.stdout.once('data', (first: Buffer) => {
    if (res.headersSent) return;
    head();
    res.write(first);
    git.stdout.pipe(res);
  });
  const outEnded = new Promise<void>((resolve) => {
    git.stdout.once('end', resolve);
    git.stdout.once('close', resolve);
  });
  void Promise.all([served.exited, outEnded]).then(([code]) => {
    if (code !== 0) log.debug(`git ${g.service} exited`, { code, app: g.app });
    if (res.headersSent) return;
    if (code !== 0) return reply(res, 500, `git ${g.service.slice('git-'.length)} failed.`);
    head();
    res.end();
  });
  res.on('close', () => served.cancel('the client disconnected'));
}
