import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Services } from '../context.ts';
import { log } from '../output/log.ts';
import { reportFailure } from '../output/report.ts';
import { lineTranscript } from '../output/transcript.ts';
import { Backpressure, OUTPUT_BOUNDS } from '../output/backpressure.ts';
import { repoPath } from '../repos.ts';
import { parseRefUpdates } from './receive.ts';
import { runPipeline } from './pipeline.ts';
import { withAuditScope, type AuditScope } from '../audit-scope.ts';
import { actorOf, failureText, outcomeOfError, recordAfter } from '../ops/audit/recorder.ts';
import { decodeRequest, encodeMessage, type HookRequest } from '../../hooks/wire.ts';

const MAX_REQUEST = 4 * 1024 * 1024;

function sameDir(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

async function handle(services: Services, sock: Socket, req: HookRequest): Promise<number> {
  const session = services.pushes.get(req.pushId);
  // The pusher's output waits for the hook, which waits for git, which waits for the client:
  // the release command's output is held back by a pusher that does not read, and the push is
  // ended past the stall deadline (or the bound).
  const pace = new Backpressure({ ...OUTPUT_BOUNDS, stallMs: services.config.stallTimeoutMs }, (why) => {
    log.warn(`ending a push: ${why}`, { app: session?.app });
    session?.controller.abort(new Error(why));
    sock.destroy();
  });
  sock.once('close', () => pace.close());
  const send = (line: string) => {
    const message = encodeMessage({ kind: 'output', text: line + '\n' });
    const done = sock.destroyed ? undefined : pace.admit(Buffer.byteLength(message));
    if (done) sock.write(message, done);
  };
  const t = lineTranscript(send, () => pace.ready());
  if (!session || !sameDir(req.gitDir, repoPath(services.config, session.app))) {
    t.warn('This push did not come through Slipway; it is refused.');
    log.warn('hook call with an unknown push id or repository', { gitDir: req.gitDir });
    return 1;
  }
  // The hook's connection is the push's lifeline: git or the client going away aborts the pipeline.
  const onClose = () => session.controller.abort(new Error('the pre-receive hook went away'));
  sock.once('close', onClose);
  const scope: AuditScope = { jobs: [] };
  const entry = { ...actorOf(services.store, session.identity, 'git'), action: 'push', app: session.app, meta: { transport: session.identity.via } as Record<string, unknown> };
  try {
    const updates = parseRefUpdates(req.stdin);
    entry.meta.refs = updates.map((u) => `${u.ref} ${u.new.slice(0, 12)}`);
    await withAuditScope(scope, () => runPipeline(services, {
      app: session.app,
      identity: session.identity,
      updates,
      quarantine: req.quarantine,
      pushOptions: req.pushOptions ?? [],
      transcript: t,
      signal: session.controller.signal,
      startedAt: session.startedAt,
    }));
    recordAfter(services, { ...entry, outcome: 'ok', job: scope.jobs[0] ?? null });
    return 0;
  } catch (err) {
    recordAfter(services, { ...entry, outcome: outcomeOfError(err, services.store, session.app), job: scope.jobs[0] ?? null, meta: { ...entry.meta, error: failureText(err) } });
    t.warn(reportFailure(err, 'push rejected', { app: session.app }).message);
    return 1;
  } finally {
    sock.off('close', onClose);
  }
}

/** Listens on the local socket the pre-receive shim calls (0600: only this user's git reaches it). */
export function startHookServer(services: Services): Promise<Server> {
  const path = services.config.hookSocket;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  rmSync(path, { force: true });
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    const onData = (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST) { sock.destroy(); return; }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      sock.off('data', onData);
      let req: HookRequest;
      try {
        req = decodeRequest(buf.slice(0, nl));
      } catch (err) {
        log.warn('malformed hook request', { err });
        sock.destroy();
        return;
      }
      handle(services, sock, req).then(
        (code) => { if (!sock.destroyed) sock.end(encodeMessage({ kind: 'verdict', exitCode: code })); },
        (err) => { log.error('hook handler crashed', { err }); sock.destroy(); },
      );
    };
    sock.on('data', onData);
    sock.on('error', (err) => log.debug('hook socket error', { err }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      chmodSync(path, 0o600);
      resolve(server);
    });
  });
}
