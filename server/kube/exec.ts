// A command in a running container over the exec API: a websocket speaking v5.channel.k8s.io,
// each message one channel byte then data (0 stdin, 1 stdout, 2 stderr, 3 the final Status,
// 4 terminal size, 255 close: [255, 0] closes stdin, so the command sees end of file). Output is
// paced by its reader and input by the websocket's send queue; `ws` is loaded on the first exec.
import { addAbortListener } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { V1Status } from './types.ts';
import type WebSocket from 'ws';
import { KubeApiError } from './api-error.ts';
import { parseBody, readBody, type KubeHttp } from './http.ts';
import type { ProcessIo } from './process-io.ts';

/** Bytes one exec output stream may hold for a slow reader before the websocket stops reading. */
const EXEC_OUTPUT_HIGH_WATER = 64 * 1024;
/** Bytes the exec websocket may queue towards the pod before the caller's input is paused. */
const EXEC_INPUT_HIGH_WATER = 256 * 1024;
/** How often paused input looks at whether the websocket has sent enough to go on. */
const EXEC_INPUT_RECHECK_MS = 20;
/** Longest the websocket's opening handshake may take. */
const HANDSHAKE_MS = 30_000;

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const RESIZE = 4;
const CLOSE = 255;

/** The exit code an exec's final Status reports: 0 on Success, the ExitCode cause otherwise. */
export function execExitCode(status: V1Status): number | undefined {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause?.message !== undefined && /^\d+$/.test(cause.message) ? Number(cause.message) : undefined;
}

/**
 * Where one output stream of the exec goes: the reader's write, one chunk at a time. While it
 * holds more than a small backlog, `full(true)` stops the websocket reading; 'drain' lets it go on.
 */
class Sink extends Writable {
  readonly #full: (full: boolean) => void;
  constructor(write: (chunk: Buffer) => Promise<void>, full: (full: boolean) => void) {
    super({
      highWaterMark: EXEC_OUTPUT_HIGH_WATER,
      write(chunk: Buffer, _encoding, callback) { write(chunk).then(() => callback(), callback); },
    });
    this.#full = full;
    this.on('drain', () => full(false));
  }
  /** Takes one message's data; past the backlog the websocket is told to stop reading. */
  take(chunk: Buffer): void {
    if (this.writableEnded || this.destroyed) return;
    if (!this.write(chunk)) this.#full(true);
  }
}

/** One exec: where, what, and the query that says which streams there are. */
export interface ExecTarget {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
}

/**
 * Runs the command with `io` and resolves with its exit code. Rejects with `explain(err)` when
 * the websocket cannot be opened (refused: a KubeApiError with the API server's answer), with an
 * Error naming `what` when the stream ends without an exit code, or with the abort reason when
 * `signal` aborts.
 */
export async function runExec(http: KubeHttp, t: ExecTarget, io: ProcessIo, signal: AbortSignal, what: string, explain: (err: unknown) => Error): Promise<number> {
  const { default: WebSocketClass } = await import('ws');
  const term = io.terminal;
  const url = http.url(`/api/v1/namespaces/${encodeURIComponent(t.namespace)}/pods/${encodeURIComponent(t.pod)}/exec`, {
    command: t.command, container: t.container, stdin: true, stdout: true, stderr: term === undefined, tty: term !== undefined,
  });
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  http.count('EXEC');
  const ws: WebSocket = new WebSocketClass(url, ['v5.channel.k8s.io'], {
    ...http.tls(), headers: http.headers(), perMessageDeflate: false, handshakeTimeout: HANDSHAKE_MS,
  });
  // Without the closing handshake: a paused socket (a reader that does not keep up) or one with a
  // long input queue would not finish it. addAbortListener also calls it for a signal aborted
  // already (the caller left while the exec was being opened), which a plain listener never hears.
  const listening = addAbortListener(signal, () => ws.terminate());
  // Output: while a sink holds more than its backlog for a slow reader, the websocket stops
  // reading, TCP holds the API server back, and the kubelet stops reading the command's pipe.
  const full = new Set<Sink>();
  const hold = (sink: Sink, isFull: boolean) => {
    if (isFull) full.add(sink);
    else full.delete(sink);
    if (full.size > 0) ws.pause();
    else ws.resume();
  };
  const stdout: Sink = new Sink(io.stdout, (f) => hold(stdout, f));
  const stderr: Sink = new Sink(io.stderr, (f) => hold(stderr, f));
  // A reader that failed ends the exec; the error is the rejection (through `finished` below).
  for (const sink of [stdout, stderr]) sink.on('error', () => ws.close());
  let status: V1Status | undefined;
  // A broken stream (a reset, a bad frame) is followed by 'close', which rejects with it as cause.
  let broken: Error | undefined;
  ws.on('error', (err) => { broken ??= err; });
  ws.on('message', (data: Buffer) => {
    const payload = data.subarray(1);
    // Each stream opens with an empty message; a close of one of the server's streams needs nothing.
    if (payload.length === 0 || data[0] === CLOSE) return;
    if (data[0] === STDOUT) stdout.take(payload);
    else if (data[0] === STDERR) stderr.take(payload);
    else if (data[0] === STATUS) {
      try {
        status = JSON.parse(payload.toString('utf8')) as V1Status;
      } catch (err) {
        broken ??= new Error('the exec\'s final Status is not JSON', { cause: err });
      }
      ws.close();
    }
  });
  try {
    await opened(ws);
  } catch (err) {
    listening[Symbol.dispose]();
    for (const sink of [stdout, stderr]) sink.destroy();
    if (signal.aborted) throw signal.reason;
    throw explain(err);
  }
  const send = (channel: number, data: Buffer) => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.of(channel), data]));
  };
  if (term) {
    const resize = (size: { cols: number; rows: number }) => send(RESIZE, Buffer.from(JSON.stringify({ Width: size.cols, Height: size.rows })));
    resize(term);
    term.onResize(resize);
  }
  // Input: past a backlog queued towards the pod the caller's stream is paused (an SSH channel
  // then stops opening its window, so the client stops sending) until the websocket has sent it.
  let waiting: NodeJS.Timeout | undefined;
  const onInput = (chunk: Buffer | string) => {
    send(STDIN, typeof chunk === 'string' ? Buffer.from(chunk, io.stdin.readableEncoding ?? 'utf8') : chunk);
    if (waiting || ws.bufferedAmount <= EXEC_INPUT_HIGH_WATER) return;
    io.stdin.pause();
    waiting = setInterval(() => {
      if (ws.bufferedAmount > EXEC_INPUT_HIGH_WATER / 2) return;
      clearInterval(waiting);
      waiting = undefined;
      io.stdin.resume();
    }, EXEC_INPUT_RECHECK_MS);
  };
  const onEnd = () => send(CLOSE, Buffer.of(STDIN));
  io.stdin.on('data', onInput);
  io.stdin.once('end', onEnd);
  return new Promise<number>((resolve, reject) => {
    ws.once('close', () => {
      listening[Symbol.dispose]();
      io.stdin.off('data', onInput);
      io.stdin.off('end', onEnd);
      clearInterval(waiting);
      if (signal.aborted) return reject(signal.reason);
      // The exit code goes out after the output the sinks still hold for a slow reader.
      const flushed = [stdout, stderr].map((sink) => {
        if (!sink.writableEnded) sink.end();
        return finished(sink);
      });
      Promise.all(flushed).then(() => {
        if (signal.aborted) return reject(signal.reason);
        const code = status && execExitCode(status);
        if (code !== undefined) return resolve(code);
        reject(new Error(`Kubernetes: ${what} ended without an exit code${status?.message ? `: ${status.message}` : ''}`, { cause: broken }));
      }, reject);
    });
  });
}

/** Resolves once the websocket is open; rejects with the API server's answer when it refused the upgrade. */
function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => { ws.off('open', open); reject(err); };
    ws.on('error', fail);
    const open = () => { ws.off('error', fail); resolve(); };
    ws.once('open', open);
    // The upgrade refused (403, 404, a container not running): the answer's Status says why. The
    // error listener stays for the socket's end, which ws reports as an error too.
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      ws.off('open', open);
      const code = res.statusCode ?? 0;
      readBody(res, 64 * 1024).then((text) => reject(new KubeApiError(code, parseBody(res, text), 'exec')), reject).finally(() => res.destroy());
    });
  });
}
