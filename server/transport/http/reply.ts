// The HTTP server's one-line answers, for its own routes and for git's smart HTTP (smart.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Answers with one line of text (or drops the connection if an answer has begun already). */
export function reply(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) { res.destroy(); return; }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache', ...headers });
  res.end(text + '\n');
}

/** Whether the request declares a body (which we may not want to read). */
function hasBody(req: IncomingMessage): boolean {
  return Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Answers without reading the request's body: `Connection: close`, and the socket is destroyed
 * once the answer is out. Otherwise Node reads (and discards) the rest of the body to keep the
 * connection alive, for as long as a client trickles it (up to the request timeout).
 */
export function refuse(req: IncomingMessage, res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (!hasBody(req)) return reply(res, status, text, headers);
  req.pause();
  res.on('finish', () => { if (!req.complete) req.socket.destroy(); });
  reply(res, status, text, { ...headers, connection: 'close' });
}
