// The CGI side of `git http-backend`, which serves the sync tests' forge (forge.ts): its response
// is a header block (Status:, Content-Type:, …), a blank line, then the body, all on its stdout.
// This turns that into an HTTP response.
import type { Readable } from 'node:stream';
import type { ServerResponse } from 'node:http';

/** Largest header block accepted from the CGI before it is treated as broken. */
const MAX_HEAD = 64 * 1024;

/** Splits a CGI response's header block into the HTTP status and headers. */
export function cgiHeaders(block: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers };
}

/** Where the header block ends (CRLF CRLF or LF LF, whichever comes first); -1 if not yet. */
export function headEnd(head: Buffer): number {
  const crlf = head.indexOf('\r\n\r\n');
  const lf = head.indexOf('\n\n');
  return crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
}

/**
 * Writes the CGI's output as the response: its headers once the block is complete, then the
 * body streamed through. `broken` is called if the block never ends within MAX_HEAD.
 */
export function relayCgi(stdout: Readable, res: ServerResponse, broken: () => void): void {
  let head: Buffer = Buffer.alloc(0);
  const onHead = (chunk: Buffer) => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const end = headEnd(head);
    if (end < 0) {
      if (head.length > MAX_HEAD) { stdout.off('data', onHead); broken(); }
      return;
    }
    stdout.off('data', onHead);
    if (res.headersSent) return;
    const { status, headers } = cgiHeaders(head.subarray(0, end).toString('latin1'));
    res.writeHead(status, headers);
    res.write(head.subarray(end));
    stdout.pipe(res);
  };
  stdout.on('data', onHead);
}
