// The dashboard on the HTTP port: every dashboard URL answers the built index.html (the page
// routes itself), /assets/NAME the hashed files build-web wrote, as they are or pre-compressed
// (br, gzip). Plain handlers on purpose: static files need no framework, and git smart HTTP and
// /api/v1 are decided before this is asked. The dashboard only talks to the public API.
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { APP_TABS } from '../../../web/src/routes.ts';

/**
 * The dashboard's page URLs (web/src/routes.ts matches the same, and its APP_TABS is the one list
 * of an app's sub-pages). An app page's last segment is one of that fixed list, so
 * `/APP/info/refs` and `/APP.git/…` (git) never look like one.
 */
const PAGES = new RegExp(`^/(?:|login|apps|admin|apps/[^/]+|apps/[^/]+/(?:${APP_TABS.join('|')})|jobs/[^/]+)$`);

/** An asset's name as build-web writes them: letters, digits, dashes and one extension. */
const ASSET = /^\/assets\/([A-Za-z0-9_-]+\.(?:js|css|map|svg|png|woff2))$/;

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
  html: 'text/html; charset=utf-8',
};

/**
 * Headers of every dashboard answer. The CSP allows only this origin's own scripts, styles and
 * connections (the API, its event streams): no inline script or style, no frames of us anywhere.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
});

/** What one file is served as: its bytes and pre-compressed copies when build-web wrote them. */
interface Served { raw: Buffer; gzip?: Buffer; br?: Buffer; type: string; etag: string }

const NOT_BUILT = 'The dashboard is not built: run `npm run build:web` in the Slipway directory, then reload.';

/** The dashboard's request handler. */
export interface Dashboard {
  /** Whether a request is the dashboard's (a GET or HEAD of a page or an asset). */
  owns(method: string | undefined, pathname: string): boolean;
  /** Serves one request `owns` accepted. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): void;
}

/** Reads a file and its .br/.gz siblings; undefined when it is not there. */
function load(path: string, type: string): Served | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
    throw err;
  }
  const sibling = (ext: string) => { try { return readFileSync(path + ext); } catch { return undefined; } };
  const st = statSync(path);
  return { raw, gzip: sibling('.gz'), br: sibling('.br'), type, etag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"` };
}

/** The codings an Accept-Encoding header allows (those not given q=0), lower case. */
export function acceptedEncodings(header: string): Set<string> {
  const out = new Set<string>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    if (!name) continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    out.add(name);
  }
  return out;
}

/** The encoding to send: brotli, then gzip, when the client accepts it and the copy exists. */
function pick(req: IncomingMessage, f: Served): { body: Buffer; encoding?: string } {
  const accepted = acceptedEncodings(String(req.headers['accept-encoding'] ?? ''));
  const accepts = (name: string) => accepted.has(name);
  if (f.br && accepts('br')) return { body: f.br, encoding: 'br' };
  if (f.gzip && accepts('gzip')) return { body: f.gzip, encoding: 'gzip' };
  return { body: f.raw };
}

function send(req: IncomingMessage, res: ServerResponse, f: Served, cache: string): void {
  const { body, encoding } = pick(req, f);
  const headers: Record<string, string> = { ...SECURITY_HEADERS, 'content-type': f.type, 'cache-control': cache, vary: 'accept-encoding', etag: f.etag };
  if (encoding) headers['content-encoding'] = encoding;
  if (req.headers['if-none-match'] === f.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['content-length'] = String(body.length);
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function plain(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : text + '\n');
}

/** The dashboard served from `dir` (web/dist). Assets are cached in memory (their names change with their content); index.html is re-read when it changes. */
export function dashboard(dir: string): Dashboard {
  const assets = new Map<string, Served>();
  let index: { mtimeMs: number; file: Served } | undefined;
  const page = (): Served | undefined => {
    const path = join(dir, 'index.html');
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
    } catch {
      // Not built (or removed): the 503 that says how to build it.
      index = undefined;
      return undefined;
    }
    if (!index || index.mtimeMs !== mtimeMs) {
      const file = load(path, TYPES.html!);
      index = file ? { mtimeMs, file } : undefined;
    }
    return index?.file;
  };
  return {
    owns: (method, pathname) => (method === 'GET' || method === 'HEAD') && (PAGES.test(pathname) || pathname.startsWith('/assets/')),
    handle(req, res, pathname) {
      const m = ASSET.exec(pathname);
      if (pathname.startsWith('/assets/')) {
        if (!m) return plain(req, res, 404, 'Not found: there is no such dashboard asset.');
        const name = m[1]!;
        let f = assets.get(name);
        if (!f) {
          f = load(join(dir, 'assets', name), TYPES[name.slice(name.lastIndexOf('.') + 1)]!);
          if (!f) return plain(req, res, page() ? 404 : 503, page() ? 'Not found: there is no such dashboard asset (reload the page: the dashboard was rebuilt).' : NOT_BUILT);
          assets.set(name, f);
        }
        return send(req, res, f, 'public, max-age=31536000, immutable');
      }
      const f = page();
      if (!f) return plain(req, res, 503, NOT_BUILT);
      send(req, res, f, 'no-cache');
    },
  };
}
