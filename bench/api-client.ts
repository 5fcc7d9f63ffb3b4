// The API bench's client: a bearer token, JSON in and out over one node:http keep-alive agent with
// a bounded number of connections (the bench decides how many are kept alive), and a reader of a
// job's Server-Sent Events. (Tests use test/support/api-client.ts, which goes through fetch.)
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** One API answer: status, body text, and how long it took from sending to the last byte. */
export interface Answer {
  status: number;
  body: string;
  ms: number;
}

/** What a job's event stream carried: its transcript lines, and the job the `end` event gave. */
export interface JobEvents {
  lines: string[];
  job: Record<string, unknown> & { id: string; status: string };
}

/** The API on 127.0.0.1:PORT as one token sees it. */
export class ApiClient {
  readonly agent: Agent;
  readonly port: number;
  readonly token: string;

  constructor(port: number, token: string, maxSockets = 4) {
    this.port = port;
    this.token = token;
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  /** Sends one request to `/api/v1` + `path`; a network error rejects, any status resolves. */
  call(method: string, path: string, body?: unknown): Promise<Answer> {
    const started = performance.now();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request({
        host: '127.0.0.1', port: this.port, method, path: `/api/v1${path}`, agent: this.agent,
        headers: { authorization: `Bearer ${this.token}`, ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
        res.on('error', reject);
      });
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: no answer within 60 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Sends a request and parses its JSON answer, which must have `status`; otherwise throws with the body. */
  async json<T>(method: string, path: string, status: number, body?: unknown): Promise<T> {
    const a = await this.call(method, path, body);
    if (a.status !== status) throw new Error(`${method} ${path} answered ${a.status}, not ${status}: ${a.body.slice(0, 500)}`);
    return JSON.parse(a.body) as T;
  }

  /** Follows `GET /jobs/ID/events` until its `end` event; rejects if the stream ends without one or passes `timeoutMs`. */
  jobEvents(id: string, timeoutMs = 15 * 60_000): Promise<JobEvents> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: this.port, path: `/api/v1/jobs/${id}/events`, agent: this.agent, headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`GET /jobs/${id}/events answered ${res.statusCode}`));
        }
        res.setEncoding('utf8');
        const lines: string[] = [];
        let buffered = '';
        res.on('data', (chunk: string) => {
          buffered += chunk;
          // An event ends with a blank line; its data lines join with newlines (the SSE format).
          for (let at = buffered.indexOf('\n\n'); at >= 0; at = buffered.indexOf('\n\n')) {
            const fields = buffered.slice(0, at).split('\n');
            buffered = buffered.slice(at + 2);
            const event = fields.find((f) => f.startsWith('event:'))?.slice(6).trim() ?? 'message';
            const data = fields.filter((f) => f.startsWith('data:')).map((f) => f.slice(f.startsWith('data: ') ? 6 : 5)).join('\n');
            if (event === 'line') lines.push(data);
            if (event === 'end') {
              res.destroy();
              return resolve({ lines, job: JSON.parse(data) as JobEvents['job'] });
            }
          }
        });
        res.on('end', () => reject(new Error(`the events of job ${id} ended without an end event`)));
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`job ${id}: no end event within ${timeoutMs / 1000} s`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}
