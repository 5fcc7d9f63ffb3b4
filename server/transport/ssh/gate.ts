import { createServer, type Server, type Socket } from 'node:net';
import type { MaxStartups, SourcePenalties } from '../../config.ts';
import { log } from '../../output/log.ts';
import { SourcePenaltyBox, type PenaltyReason } from './penalties.ts';
import { sourceOf } from '../source.ts';
import { authenticationFailed, connectionOpened, connectionRefused } from '../../observe/metrics.ts';

/** The limits the front door applies from TCP accept on. */
export interface GateLimits {
  /** LoginGraceTime: an unauthenticated socket is destroyed this long after accept. */
  graceMs: number;
  maxStartups: Readonly<MaxStartups>;
  /** Open connections, authenticated or not, beyond which new ones are closed at accept. */
  maxConnections: number;
  /** PerSourceMaxStartups: unauthenticated connections one source address may hold; undefined is no limit. */
  perSourceMaxStartups: number | undefined;
  /** PerSourcePenalties; undefined is off. */
  penalties: Readonly<SourcePenalties> | undefined;
}

/**
 * sshd's MaxStartups decision for a new connection while `startups` others are unauthenticated:
 * never below `start`, always from `full` on, and in between with a probability rising linearly
 * from `rate`% (the same arithmetic as sshd's drop_connection()).
 */
export function dropsNewConnection(startups: number, m: Readonly<MaxStartups>, random: () => number = Math.random): boolean {
  if (startups < m.start) return false;
  if (startups >= m.full) return true;
  const percent = m.rate + ((100 - m.rate) * (startups - m.start)) / (m.full - m.start);
  return random() * 100 < percent;
}

interface Entry {
  socket: Socket;
  source: string;
  pending: boolean;
  /** An authentication attempt failed on it (a key the server does not know, a bad signature). */
  failedAuth: boolean;
  /** The login grace time ran out on it. */
  graceExceeded: boolean;
  timer: NodeJS.Timeout;
}

/** How long a connection we ended may take to close its side before its socket is destroyed. */
const HANG_UP_LINGER_MS = 2000;

/**
 * Owns the listening socket: every TCP connection is counted and timed from accept, before the
 * SSH library sees a byte, because ssh2 reports a connection only once the peer sent its version
 * line — a peer that never does would otherwise be neither counted nor timed out. Unauthenticated
 * connections are counted per source address too, and a source whose connections keep ending
 * unauthenticated is refused for a while, so one address cannot crowd out everyone else.
 */
export class Gate {
  readonly server: Server;
  private readonly open = new Map<string, Entry>();
  private unauthenticated = 0;
  /** Unauthenticated connections by source address. */
  private readonly startupsBySource = new Map<string, number>();
  private readonly penalties: SourcePenaltyBox | undefined;
  private readonly limits: Readonly<GateLimits>;

  /** Listens with these limits and hands each admitted socket to `admit` (ssh2's injectSocket). */
  constructor(limits: Readonly<GateLimits>, admit: (socket: Socket) => void) {
    this.limits = limits;
    this.penalties = limits.penalties && new SourcePenaltyBox(limits.penalties);
    this.server = createServer((socket) => this.accept(socket, admit));
  }

  /** The connection from `remote` (ip:port) authenticated: it no longer counts as a startup nor runs out of grace. */
  authenticated(remote: string): void {
    const e = this.open.get(remote);
    if (!e?.pending) return;
    e.pending = false;
    this.unauthenticated--;
    this.countStartup(e.source, -1);
    clearTimeout(e.timer);
  }

  /** An authentication attempt of `remote` failed: if the connection ends unauthenticated, its source is penalised for it. */
  authenticationFailed(remote: string): void {
    authenticationFailed('ssh');
    const e = this.open.get(remote);
    if (e?.pending) e.failedAuth = true;
  }

  /** Destroys the socket of `remote` soon, whether or not the peer answers the SSH-level goodbye. */
  hangUp(remote: string): void {
    const e = this.open.get(remote);
    if (e) setTimeout(() => e.socket.destroy(), HANG_UP_LINGER_MS).unref();
  }

  private accept(socket: Socket, admit: (socket: Socket) => void): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    // First of all: a reset on a socket we are about to close must never become an uncaught error.
    socket.on('error', (err) => log.debug('ssh socket error', { remote, err }));
    if (socket.remoteAddress === undefined) return void socket.destroy();
    const source = sourceOf(socket.remoteAddress);
    // The cheapest refusals first, and a penalised source before it can take a startup slot.
    if (this.penalties?.refuses(source)) return refuse(socket, remote, 'Not allowed at this time', 'penalty');
    if (this.open.size >= this.limits.maxConnections) return refuse(socket, remote, 'Too many connections', 'max_connections');
    const perSource = this.limits.perSourceMaxStartups;
    if (perSource !== undefined && (this.startupsBySource.get(source) ?? 0) >= perSource) return refuse(socket, remote, 'Exceeded PerSourceMaxStartups', 'per_source');
    if (dropsNewConnection(this.unauthenticated, this.limits.maxStartups)) return refuse(socket, remote, 'Exceeded MaxStartups', 'max_startups');
    const entry: Entry = {
      socket, source, pending: true, failedAuth: false, graceExceeded: false,
      // destroy(), not end(): a half-close leaves the socket open for as long as the peer never closes its side.
      timer: setTimeout(() => {
        log.info('ssh login grace time passed', { remote });
        entry.graceExceeded = true;
        socket.destroy();
      }, this.limits.graceMs),
    };
    this.open.set(remote, entry);
    this.unauthenticated++;
    this.countStartup(source, 1);
    const closed = connectionOpened('ssh');
    socket.once('close', () => {
      closed();
      clearTimeout(entry.timer);
      this.open.delete(remote);
      if (!entry.pending) return;
      this.unauthenticated--;
      this.countStartup(source, -1);
      // As sshd: a connection that ends without authenticating costs its source some time.
      const reason: PenaltyReason = entry.graceExceeded ? 'grace-exceeded' : entry.failedAuth ? 'authfail' : 'noauth';
      this.penalties?.penalise(source, reason);
    });
    admit(socket);
  }

  private countStartup(source: string, delta: 1 | -1): void {
    const n = (this.startupsBySource.get(source) ?? 0) + delta;
    if (n > 0) this.startupsBySource.set(source, n);
    else this.startupsBySource.delete(source);
  }
}

/** Tells the peer why in one line (as sshd does) and closes the socket for good; counted by `reason`, a fixed word. */
function refuse(socket: Socket, remote: string, why: string, reason: string): void {
  connectionRefused('ssh', reason);
  log.info(`ssh connection dropped: ${why}`, { remote });
  socket.end(`${why}\r\n`, () => socket.destroy());
}
