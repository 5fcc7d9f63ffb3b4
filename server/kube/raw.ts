// GET of a raw path of the API server (`kubectl get --raw`), for the answers that are not
// Kubernetes objects: a pod's port through the API server's proxy, a node's stats summary. The
// answer is whatever it is (any status); only a proxy that could not reach its backend, or no
// answer in time, is an `error`.
import type { IncomingMessage } from 'node:http';
import type { KubeHttp } from './http.ts';

/** What a raw GET gives: the status and (the beginning of) the body, or why there is none. */
export type RawAnswer = { status: number; body: string } | { error: string };

/** GETs `path` of the API server: the status and up to `maxBytes` of the body, or `error`. */
export function rawGet(http: KubeHttp, path: string, opts: { timeoutMs: number; maxBytes: number }): Promise<RawAnswer> {
  const url = http.url(path);
  const signal = AbortSignal.timeout(opts.timeoutMs);
  const late = `no answer within ${opts.timeoutMs / 1000} s`;
  http.count('GET');
  return new Promise((resolve) => {
    const req = http.send(url, { ...http.requestOptions(), method: 'GET', signal }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= opts.maxBytes) res.destroy();
      });
      const done = () => {
        if (signal.aborted && !res.complete) return resolve({ error: late });
        const body = Buffer.concat(chunks).subarray(0, opts.maxBytes).toString('utf8');
        const status = res.statusCode ?? 0;
        const reached = (status === 502 || status === 503) && proxyFailure(res, body);
        resolve(reached ? { error: reached } : { status, body });
      };
      res.on('end', done);
      res.on('close', done);
      // A cut answer: what arrived is the answer ('close' follows and resolves it).
      res.on('error', () => done());
    });
    req.on('error', (err: Error) => {
      resolve({ error: signal.aborted ? late : `the Kubernetes API could not be asked (${err.message})` });
    });
    req.end();
  });
}

/** The API server's own reason when its proxy could not reach a pod (a Status object), else null (the pod's own 502/503). */
function proxyFailure(res: IncomingMessage, body: string): string | null {
  if (!/json/.test(String(res.headers['content-type'] ?? ''))) return null;
  try {
    const s = JSON.parse(body) as { kind?: unknown; message?: unknown };
    if (s.kind !== 'Status' || typeof s.message !== 'string') return null;
    // "error trying to reach service: dial tcp 10.42.0.7:5000: connect: connection refused"
    return s.message.replace(/^error trying to reach service: /, '');
  } catch {
    return null;
  }
}
