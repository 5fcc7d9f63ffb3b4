// A counting proxy in front of the testbed's Kubernetes API: plain HTTP on loopback towards the
// Slipway under test (its kubeconfig points here), TLS with the real kubeconfig's credentials
// towards the API server. It counts every request by verb and resource, watches apart, so a test
// or a bench proves how many requests Slipway sends, independently of Slipway's own counting.
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { loadKubeconfig } from '../../server/kube/kubeconfig.ts';

/** What a request was, as counted: `LIST deployments`, `WATCH pods`, `GET secrets`, `PATCH deployments`… */
export function requestKind(method: string, url: string): string {
  const u = new URL(url, 'http://x');
  const parts = u.pathname.split('/').filter(Boolean);
  // /api/v1/... or /apis/GROUP/VERSION/...; then namespaces/NS/RESOURCE[/NAME[/SUB]] or RESOURCE[/NAME]
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  const inNs = rest[0] === 'namespaces' && rest.length > 2 ? rest.slice(2) : rest;
  const resource = inNs[0] ?? '(discovery)';
  const named = inNs.length > 1;
  const verb = method === 'GET'
    ? (u.searchParams.get('watch') === 'true' || u.searchParams.get('watch') === '1' ? 'WATCH' : named ? 'GET' : 'LIST')
    : method;
  return `${verb} ${resource}${inNs[2] ? `/${inNs[2]}` : ''}`;
}

/** A running counting proxy. */
export interface KubeProxy {
  /** A kubeconfig file that points at the proxy. */
  kubeconfig: string;
  /** Requests so far, by requestKind. */
  counts(): Map<string, number>;
  /** Requests so far that are not watches. */
  nonWatch(): number;
  close(): Promise<void>;
}

/** Starts a counting proxy to the cluster of `kubeconfigPath`, writing its own kubeconfig to `writeTo`. */
export async function startKubeProxy(kubeconfigPath: string, writeTo: string): Promise<KubeProxy> {
  const real = loadKubeconfig(kubeconfigPath);
  const auth = () => { const a = real.authorization(); return a ? { authorization: a } : {}; };
  const target = new URL(real.server);
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const tls = { ca: real.tls.ca, cert: real.tls.cert, key: real.tls.key, rejectUnauthorized: real.tls.rejectUnauthorized, servername: real.tls.servername };
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const kind = requestKind(req.method ?? 'GET', req.url ?? '/');
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    const up = httpsRequest({
      host: target.hostname, port: target.port || 443, method: req.method, path: req.url,
      headers: { ...req.headers, host: target.host, ...auth() }, ...tls,
    }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', (err) => { if (!res.headersSent) res.writeHead(502); res.end(String(err)); });
    res.on('close', () => up.destroy());
    req.pipe(up);
  };
  const server: Server = createServer(forward);
  // exec and attach: the websocket upgrade goes through as bytes once the TLS side is open.
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const kind = requestKind(req.method ?? 'GET', req.url ?? '/');
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    const up = tlsConnect({ host: target.hostname, port: Number(target.port || 443), ...tls }, () => {
      const headers = { ...req.headers, host: target.host, ...auth() };
      up.write(`${req.method} ${req.url} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${String(v)}`).join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  writeFileSync(writeTo, [
    'apiVersion: v1', 'kind: Config', 'current-context: proxy',
    'clusters:', '- name: proxy', '  cluster:', `    server: http://127.0.0.1:${port}`,
    'users:', '- name: proxy', '  user: {}',
    'contexts:', '- name: proxy', '  context:', '    cluster: proxy', '    user: proxy', '',
  ].join('\n'), { mode: 0o600 });
  return {
    kubeconfig: writeTo,
    counts: () => new Map(counts),
    nonWatch: () => [...counts].filter(([k]) => !k.startsWith('WATCH ')).reduce((n, [, c]) => n + c, 0),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
