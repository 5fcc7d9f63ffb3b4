import { createServer, type Server, type Socket } from 'node:net';
import type { MaxStartups } from '../../config.ts';
import { log } from '../../output/log.ts';

/** The limits the front door applies from TCP accept on. */
export interface GateLimits {
  /** LoginGraceTime: an unauthenticated socket is destroyed this long after accept. */
  graceMs: number;
  maxStartups: Readonly<MaxStartups>;
  /** Open connections, authenticated or not, beyond which new ones are closed at accept. */
  maxConnections: number;
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
  pending: boolean;
  timer: NodeJS.Timeout;
}

/** How long a connection we ended may take to close its side before its socket is destroyed. */
const HANG_UP_LINGER_MS = 2000;

/**
 * Owns the listening socket: every TCP connection is counted and timed from accept, before the
 * SSH library sees a byte, because ssh2 reports a connection only once the peer sent its version
 * line — a peer that never does would otherwise be neither counted nor timed out.
 */
export class Gate {
  readonly server: Server;
  private readonly open = new Map<string, Entry>();
  private unauthenticated = 0;
  private readonly limits: Readonly<GateLimits>;

  /** Listens with these limits and hands each admitted socket to `admit` (ssh2's injectSocket). */
  constructor(limits: Readonly<GateLimits>, admit: (socket: Socket) => void) {
    this.limits = limits;
    this.server = createServer((socket) => this.accept(socket, admit));
  }

  /** The connection from `remote` (ip:port) authenticated: it no longer counts as a startup nor runs out of grace. */
  authenticated(remote: string): void {
    const e = this.open.get(remote);
    if (!e?.pending) return;
    e.pending = false;
    this.unauthenticated--;
    clearTimeout(e.timer);
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
    if (this.open.size >= this.limits.maxConnections) return refuse(socket, remote, 'Too many connections');
    if (dropsNewConnection(this.unauthenticated, this.limits.maxStartups)) return refuse(socket, remote, 'Exceeded MaxStartups');
    // destroy(), not end(): a half-close leaves the socket open for as long as the peer never closes its side.
    const timer = setTimeout(() => {
      log.info('ssh login grace time passed', { remote });
      socket.destroy();
    }, this.limits.graceMs);
    const entry: Entry = { socket, pending: true, timer };
    this.open.set(remote, entry);
    this.unauthenticated++;
    socket.once('close', () => {
      clearTimeout(timer);
      if (entry.pending) this.unauthenticated--;
      this.open.delete(remote);
    });
    admit(socket);
  }
}

/** Tells the peer why in one line (as sshd does) and closes the socket for good. */
function refuse(socket: Socket, remote: string, why: string): void {
  log.info(`ssh connection dropped: ${why}`, { remote });
  socket.end(`${why}\r\n`, () => socket.destroy());
}
