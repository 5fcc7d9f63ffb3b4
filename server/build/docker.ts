// The Docker engine's HTTP API at DOCKER_HOST (unix:// or tcp://), for what Slipway itself asks
// of the build engine: cache volumes, disk use, pruning, and doctor's checks. pack talks to the
// engine on its own; no docker CLI is needed on the server (install.sh's --docker-host installs none).
import { request } from 'node:http';

export interface DockerAnswer { status: number; body: string }

/** One API call; rejects only when the engine cannot be reached or does not answer in time. */
export function dockerApi(host: string, method: string, path: string, opts: { signal?: AbortSignal; body?: unknown; timeoutMs?: number } = {}): Promise<DockerAnswer> {
  const target = host.startsWith('unix://') ? { socketPath: host.slice('unix://'.length) } : (() => {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    return { hostname: u.hostname, port: Number(u.port || 2375) };
  })();
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { host: 'docker', ...(payload ? { 'content-type': 'application/json' } : {}) };
  return new Promise((resolve, reject) => {
    const req = request({ ...target, method, path, signal: opts.signal, timeout: timeoutMs, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (err) => reject(new Error(`the Docker engine at ${host} is not reachable (${(err as NodeJS.ErrnoException).code ?? err.message})`, { cause: err })));
    req.end(payload);
  });
}

/** An API call that must answer one of `ok` (default 2xx); its JSON body, or an error naming `what` and the engine's message. */
export async function dockerJson<T>(host: string, method: string, path: string, what: string, opts: { body?: unknown; ok?: readonly number[]; timeoutMs?: number } = {}): Promise<T | undefined> {
  const r = await dockerApi(host, method, path, opts);
  const fine = opts.ok ? opts.ok.includes(r.status) : r.status >= 200 && r.status < 300;
  if (!fine) {
    let message = r.body.trim();
    try { message = (JSON.parse(r.body) as { message?: string }).message ?? message; } catch { /* not JSON: the raw text */ }
    throw new Error(`${what}: the Docker engine answered ${r.status}${message ? ` (${message.slice(0, 200)})` : ''}`);
  }
  return r.body ? JSON.parse(r.body) as T : undefined;
}
