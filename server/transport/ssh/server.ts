import type { Server } from 'node:net';
import type { Services } from '../../context.ts';
import type { Identity } from '../../auth/identity.ts';
import { execute } from '../../commands/execute.ts';
import { tokenize } from '../../commands/parse.ts';
import { UserError } from '../../errors.ts';
import { appName, shown } from '../../names.ts';
import { log } from '../../output/log.ts';
import { errorLine } from '../../output/output.ts';
import { reportFailure } from '../../output/report.ts';
import { isGitService, gitProtocol as gitProtocolOf, serveGit, type GitService } from '../git-service.ts';
import { fingerprintOf, keyPolicyRefusal } from '../../auth/keys.ts';
import { SSH_KEX, SshServer, boundInput, loadHostKey, signatureAlgorithmAllowed, socketOf, verifySignature, type Connection, type ServerChannel, type Session } from './lib.ts';
import { Gate } from './gate.ts';
import { readInto } from '../../exec.ts';
import { SessionOutput } from './output.ts';
import { LiveConnections } from './connections.ts';
import { stopRevoked } from '../../revocation.ts';
import { sourceOf } from '../source.ts';
import { recordAfter } from '../../ops/audit/recorder.ts';

/** Fixed limits modelled on OpenSSH's sshd defaults; the ones an operator may change are in config. */
export const SSH_LIMITS = {
  /** MaxAuthTries. */
  maxAuthAttempts: 6,
  /** MaxSessions: session channels open at once on one connection. */
  maxSessions: 10,
  /** ClientAliveInterval × ClientAliveCountMax. */
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 4,
  /** Largest stdin a command reads unless it names its own bound (config:import's is larger). */
  maxCommandInput: 64 * 1024,
  /** How often open connections are checked for keys removed by another process (the local CLI). */
  keySweepIntervalMs: 15_000,
};

/** What every connection handler shares. */
interface Door {
  services: Services;
  gate: Gate;
  live: LiveConnections;
}

/** How much of git's output one read takes (the pipe's capacity on Linux). */
const OUTPUT_READ_BYTES = 64 * 1024;

const KEY_GONE = 'Your key has been removed from Slipway; this connection can no longer run commands.';


/** `'/myapp.git'` (as git sends it) → `myapp`; anything but one plain repo name is refused. */
export function repoArgument(arg: string): string {
  const m = /^\/?([^/]+?)(?:\.git)?\/?$/.exec(arg);
  if (!m) throw new UserError(`${shown(arg)} is not a Slipway repository; use ssh://git@HOST/APP.git`);
  return appName(m[1]!);
}

/** Relays git-receive-pack / git-upload-pack over the channel for an authorised user, on the repo we chose. */
function relayGit(services: Services, identity: Identity, channel: ServerChannel, words: string[], protocol: string | undefined): void {
  const [verb, arg, ...extra] = words;
  if (extra.length > 0 || arg === undefined) throw new UserError(`${verb} takes exactly one repository argument.`);
  const served = serveGit(services, { identity, app: repoArgument(arg), service: verb as GitService, gitProtocol: protocol, program: { kind: 'pack' } });
  const { git } = served;
  channel.pipe(git.stdin);
  git.stderr.pipe(channel.stderr, { end: false });
  // ssh2 copies each chunk of git's output into its packets at once unless the client's window
  // is shut (it then keeps the rest): reading pauses until that chunk went out, so the one
  // reused buffer is never overwritten under ssh2.
  const out = readInto(git.stdout, Buffer.allocUnsafe(OUTPUT_READ_BYTES), (chunk) => {
    channel.write(chunk, () => {
      if (channel.writableLength === 0) out.resume();
    });
    return channel.writableLength === 0;
  });
  const outDone = out.done;
  const errDone = new Promise<void>((r) => git.stderr.once('end', r));
  void Promise.all([served.exited, outDone, errDone]).then(([code]) => {
    // The exit status goes out only after all of git's output, as sshd does.
    channel.exit(code);
    channel.end();
  });
  channel.once('close', () => served.cancel('the client disconnected'));
  git.stdin.on('error', (err) => log.debug('git stdin closed early', { err }));
}

/** A session's PTY as the client asked for it (`ssh -t`), kept up to date by window-change. */
class SessionTerminal {
  cols: number;
  rows: number;
  readonly #listeners: ((size: { cols: number; rows: number }) => void)[] = [];
  constructor(cols: number, rows: number) {
    this.cols = cols;
    this.rows = rows;
  }
  onResize(listener: (size: { cols: number; rows: number }) => void): void {
    this.#listeners.push(listener);
  }
  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    for (const l of this.#listeners) l({ cols, rows });
  }
}

function handleExec(door: Door, identity: Identity, channel: ServerChannel, command: string, gitProtocol: string | undefined, terminal: SessionTerminal | undefined, session: Session, client: Connection): void {
  const { services } = door;
  channel.on('error', (err: Error) => log.debug('ssh channel error', { err }));
  const fail = (err: unknown) => {
    const r = reportFailure(err, 'ssh command refused');
    channel.stderr.write(errorLine(r.message) + '\n');
    channel.exit(r.exitCode);
    channel.end();
  };
  let words: string[];
  try {
    words = tokenize(command);
  } catch (err) {
    return fail(err);
  }
  if (words[0] && isGitService(words[0])) {
    try {
      relayGit(services, identity, channel, words, gitProtocol);
    } catch (err) {
      fail(err);
    }
    return;
  }
  let input: Promise<string> | undefined;
  const stdin = (maxChars = SSH_LIMITS.maxCommandInput) => (input ??= new Promise<string>((resolve, reject) => {
    let buf = '';
    channel.setEncoding('utf8');
    const onData = (d: string) => {
      buf += d;
      if (buf.length <= maxChars) return;
      // No more is read (nor kept): the channel's window stays shut until the session ends.
      channel.off('data', onData);
      channel.pause();
      buf = '';
      reject(new UserError('Standard input is too large.'));
    };
    channel.on('data', onData);
    channel.once('end', () => resolve(buf));
  }));
  const gone = new AbortController();
  // Output waits for the client: a command printing without end to a client that does not read
  // is held back, and the session is closed past the stall deadline (or the bound).
  const output = new SessionOutput(channel, socketOf(client), services.config.stallTimeoutMs, (why) => {
    log.warn(`closing an ssh session: ${why}`, { command: words[0], by: identity.name });
    hangUp();
    channel.close();
  });
  // The session and connection too: a channel whose input nobody reads (`run APP -- sleep 60`)
  // never emits 'close', not even when the TCP connection drops.
  const hangUp = () => {
    output.close();
    if (!gone.signal.aborted) gone.abort(new Error('the client disconnected'));
  };
  channel.once('close', hangUp);
  session.once('close', hangUp);
  client.once('close', hangUp);
  void execute(services, identity, words, {
    stdout: (s) => void output.write('stdout', s),
    stderr: (s) => void output.write('stderr', s),
    drained: () => output.drained(),
    stdin,
    color: false,
    signal: gone.signal,
    // The channel as bytes, for `run`: its input is read only by a command that asks for it.
    raw: {
      stdin: channel,
      stdout: (b) => output.write('stdout', b),
      stderr: (b) => output.write('stderr', b),
      ...(terminal ? { terminal } : {}),
    },
  }).then((code) => {
    client.off('close', hangUp);
    session.off('close', hangUp);
    // This command may have removed a key or revoked its access: its other connections, and
    // pushes and commands it has running, end now, not at the next sweep.
    door.live.sweep((fp) => services.store.keys.byFingerprint(fp) !== undefined);
    stopRevoked(services);
    if (gone.signal.aborted) return;
    channel.exit(code);
    channel.end();
  });
}

/** Tells a connection whose key is gone why it may do nothing more, and ends it. */
function refuseRemovedKey(session: Session, channel: ServerChannel, hangUp: () => void): void {
  // Hang up once the client closed the session, so it has the exit status: a disconnect sent
  // right after it could overtake it. (The session, not the channel: a channel whose input
  // nobody reads never emits 'close'.)
  session.once('close', hangUp);
  channel.stderr.write(errorLine(KEY_GONE) + '\n');
  channel.exit(1);
  channel.end();
}

function onConnection(door: Door, client: Connection, remote: string, source: string): void {
  const hangUp = () => {
    client.end();
    door.gate.hangUp(remote);
  };
  // Before anything else, even an early return: ssh2 re-emits socket errors (a peer's RST) on the
  // connection, and an 'error' without a listener would take the whole process down.
  client.on('error', (err) => {
    log.debug('ssh connection error', { remote, err });
    // ssh2 answers a protocol error or a keepalive timeout with a half-close only; a peer that
    // never closes its side would keep the socket open, so it is destroyed soon after.
    door.gate.hangUp(remote);
  });
  const { services } = door;
  let fingerprint: string | undefined;
  let attempts = 0;
  // A connection that offered keys and ended without logging in is one failed login in the audit
  // log (a client offers each of its keys in turn, so not one entry per key), with the key named
  // when one was known here but its signature did not verify.
  let claimed: string | undefined;
  client.once('close', () => {
    if (fingerprint || attempts === 0) return;
    recordAfter(services, { actor: claimed ?? 'unknown', credential: 'key', interface: 'ssh', source, action: 'login', outcome: 'denied', meta: { attempts } });
  });
  client.on('authentication', (ctx) => {
    // Every refusal but the client's opening `none` probe is a failed attempt: a connection that
    // then ends unauthenticated costs its source address the authfail penalty.
    const reject = (methods?: Parameters<typeof ctx.reject>[0]) => {
      if (ctx.method !== 'none') door.gate.authenticationFailed(remote);
      ctx.reject(methods);
    };
    if (ctx.method !== 'publickey') return reject(['publickey']);
    if (++attempts > SSH_LIMITS.maxAuthAttempts) {
      reject();
      return hangUp();
    }
    if (!signatureAlgorithmAllowed(ctx.key.algo, ctx.hashAlgo)) return reject();
    const fp = fingerprintOf(ctx.key.data);
    const key = services.store.keys.byFingerprint(fp);
    if (!key || key.type !== ctx.key.algo) return reject();
    // Keys stored before the key policy (an RSA key under 2048 bits) are refused at login too.
    const policy = keyPolicyRefusal(key.type, key.publicKey);
    if (policy) {
      log.warn('ssh key refused at login by the key policy', { remote, key: key.name, fingerprint: fp, reason: policy });
      return reject();
    }
    // A query without a signature only asks whether the key would do; it proves nothing, so
    // no identity is bound until a signature over the session id verifies.
    if (!ctx.signature || !ctx.blob) return ctx.accept();
    if (!verifySignature({ type: key.type, blob: key.publicKey, fingerprint: fp, comment: '' }, ctx.blob, ctx.signature, ctx.hashAlgo)) {
      claimed = key.name;
      log.warn('ssh signature did not verify', { remote, fingerprint: fp });
      return reject();
    }
    fingerprint = fp;
    ctx.accept();
  });
  client.on('ready', () => {
    if (!fingerprint) return hangUp();
    door.gate.authenticated(remote);
    const fp = fingerprint;
    door.live.add(client, fp, hangUp);
    // Rights are looked up again for every command, by fingerprint: a key removed, demoted or
    // revoked since login must not keep its old rights on a connection that stays open.
    const current = (): Identity | undefined => {
      const key = services.store.keys.byFingerprint(fp);
      return key && { name: key.name, admin: key.admin, via: 'ssh', source };
    };
    let open = 0;
    client.on('session', (accept, reject) => {
      if (open >= SSH_LIMITS.maxSessions) {
        log.warn('too many ssh sessions on one connection; refusing one', { remote, max: SSH_LIMITS.maxSessions });
        return reject();
      }
      open++;
      const session = accept();
      session.once('close', () => open--);
      let gitProtocol: string | undefined;
      session.on('env', (accept, reject, info) => {
        if (info.key === 'GIT_PROTOCOL' && gitProtocolOf(info.val)) {
          gitProtocol = info.val;
          accept?.();
        } else reject?.();
      });
      // A PTY request (`ssh -t`) comes before exec; its size, and later window changes, reach
      // a `run` command's terminal.
      let terminal: SessionTerminal | undefined;
      session.on('pty', (accept, _reject, info) => {
        terminal = new SessionTerminal(info.cols || 80, info.rows || 24);
        accept?.();
      });
      session.on('window-change', (accept, _reject, info) => {
        terminal?.resize(info.cols || terminal.cols, info.rows || terminal.rows);
        accept?.();
      });
      session.on('exec', (accept, _reject, info) => {
        const channel = accept();
        let exceeded = false;
        boundInput(channel, () => {
          if (exceeded) return;
          exceeded = true;
          log.warn('closing an ssh connection: its client sent more input than its window allows', { remote });
          hangUp();
        });
        const who = current();
        if (!who) return refuseRemovedKey(session, channel, hangUp);
        handleExec(door, who, channel, info.command, gitProtocol, terminal, session, client);
      });
      session.on('shell', (accept) => {
        const ch = accept();
        const who = current();
        if (!who) return refuseRemovedKey(session, ch, hangUp);
        ch.stderr.write(`Hi ${who.name}! Slipway does not provide shell access. Try: ssh git@HOST help\n`);
        ch.exit(1);
        ch.end();
      });
      session.on('subsystem', (_accept, reject) => reject());
      session.on('sftp', (_accept, reject) => reject());
    });
  });
}

/** Starts the SSH server (public keys only) for git and admin commands, limits counted from TCP accept. */
export function startSshServer(services: Services): Promise<Server> {
  const { config } = services;
  const ssh = new SshServer(
    {
      hostKeys: [loadHostKey(config.hostKeyFile)],
      ident: `Slipway_${config.version}`,
      keepaliveInterval: SSH_LIMITS.keepaliveIntervalMs,
      keepaliveCountMax: SSH_LIMITS.keepaliveCountMax,
      algorithms: { kex: SSH_KEX },
    },
    (client, info) => onConnection(door, client, `${info.ip}:${info.port}`, sourceOf(info.ip)),
  );
  // ssh2 never listens itself: our own listener counts and times each socket, then hands it over.
  const gate = new Gate(
    {
      graceMs: config.sshLoginGraceMs, maxStartups: config.sshMaxStartups, maxConnections: config.sshMaxConnections,
      perSourceMaxStartups: config.sshPerSourceMaxStartups, penalties: config.sshPenalties,
    },
    (socket) => ssh.injectSocket(socket),
  );
  const live = new LiveConnections();
  const door: Door = { services, gate, live };
  const sweeper = setInterval(() => live.sweep((fp) => services.store.keys.byFingerprint(fp) !== undefined), SSH_LIMITS.keySweepIntervalMs).unref();
  gate.server.once('close', () => clearInterval(sweeper));
  return new Promise((resolve, reject) => {
    gate.server.once('error', reject);
    gate.server.listen(config.sshPort, config.bind, () => {
      gate.server.off('error', reject);
      // From now on an accept error (EMFILE when out of descriptors) is logged; it must not end the process.
      gate.server.on('error', (err) => log.error('ssh listener error', { err }));
      resolve(gate.server);
    });
  });
}
