import type { Server } from 'node:net';
import type { Services } from '../../context.ts';
import type { Identity } from '../../auth/identity.ts';
import { execute } from '../../commands/execute.ts';
import { tokenize } from '../../commands/parse.ts';
import { UserError, renderError } from '../../errors.ts';
import { appName, shown } from '../../names.ts';
import { log } from '../../output/log.ts';
import { errorLine } from '../../output/output.ts';
import { repoPath, serveSettings } from '../../repos.ts';
import { pipe } from '../../exec.ts';
import { mayUseApp } from '../../auth/access.ts';
import type { RunningDeploys } from '../../context.ts';
import { SSH_KEX, SshServer, fingerprintOf, loadHostKey, verifySignature, type Connection, type ServerChannel } from './lib.ts';

/** Limits modelled on OpenSSH's sshd defaults. */
export const SSH_LIMITS = {
  /** LoginGraceTime: a connection must authenticate within this. */
  authDeadlineMs: 60_000,
  /** MaxAuthTries. */
  maxAuthAttempts: 6,
  /** MaxStartups (hard cap): connections still authenticating. */
  maxUnauthenticated: 100,
  /** ClientAliveInterval × ClientAliveCountMax. */
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 4,
  /** Largest stdin a command (keys:add) reads. */
  maxCommandInput: 64 * 1024,
};

const GIT_VERBS = new Set(['git-receive-pack', 'git-upload-pack']);
const GIT_PROTOCOL = /^[a-z0-9=:.,-]{1,64}$/i;

/** `'/myapp.git'` (as git sends it) → `myapp`; anything but one plain repo name is refused. */
export function repoArgument(arg: string): string {
  const m = /^\/?([^/]+?)(?:\.git)?\/?$/.exec(arg);
  if (!m) throw new UserError(`${shown(arg)} is not a Slipway repository; use ssh://git@HOST/APP.git`);
  return appName(m[1]!);
}

/** Runs git-receive-pack / git-upload-pack for an authorised user on the repo we chose. */
function serveGit(services: Services, sessions: RunningDeploys, identity: Identity, channel: ServerChannel, words: string[], gitProtocol: string | undefined): void {
  const [verb, arg, ...extra] = words;
  if (extra.length > 0 || arg === undefined) throw new UserError(`${verb} takes exactly one repository argument.`);
  const app = repoArgument(arg);
  if (!mayUseApp(services.store, identity, app)) throw new UserError(`App ${shown(app)} does not exist, or your key has no access to it.`);
  const push = verb === 'git-receive-pack' ? sessions.begin(app, identity) : undefined;
  const env: Record<string, string> = {};
  if (gitProtocol) env.GIT_PROTOCOL = gitProtocol;
  if (push) env.SLIPWAY_PUSH_ID = push.id;
  const git = pipe('git', [...serveSettings(services.config), verb === 'git-receive-pack' ? 'receive-pack' : 'upload-pack', repoPath(services.config, app)], { env });
  channel.pipe(git.stdin);
  git.stderr.pipe(channel.stderr, { end: false });
  git.stdout.pipe(channel, { end: false });
  let exited = false;
  const outDone = new Promise<void>((r) => git.stdout.once('end', r));
  const errDone = new Promise<void>((r) => git.stderr.once('end', r));
  void Promise.all([git.exited, outDone, errDone]).then(([code]) => {
    exited = true;
    if (push) sessions.end(push);
    // The exit status goes out only after all of git's output, as sshd does.
    channel.exit(code);
    channel.end();
  });
  channel.once('close', () => {
    if (exited) return;
    push?.controller.abort(new Error('the client disconnected'));
    git.kill();
  });
  git.stdin.on('error', (err) => log.debug('git stdin closed early', { err }));
}

function handleExec(services: Services, sessions: RunningDeploys, identity: Identity, channel: ServerChannel, command: string, gitProtocol: string | undefined): void {
  const fail = (err: unknown) => {
    const r = renderError(err);
    if (r.id) log.error('ssh exec failed', { id: r.id, err });
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
  if (words[0] && GIT_VERBS.has(words[0])) {
    try {
      serveGit(services, sessions, identity, channel, words, gitProtocol);
    } catch (err) {
      fail(err);
    }
    return;
  }
  let input: Promise<string> | undefined;
  const stdin = () => (input ??= new Promise<string>((resolve, reject) => {
    let buf = '';
    channel.setEncoding('utf8');
    channel.on('data', (d: string) => {
      buf += d;
      if (buf.length > SSH_LIMITS.maxCommandInput) reject(new UserError('Standard input is too large.'));
    });
    channel.once('end', () => resolve(buf));
  }));
  const gone = new AbortController();
  channel.once('close', () => gone.abort(new Error('the client disconnected')));
  void execute(services, identity, words, {
    stdout: (s) => { if (!gone.signal.aborted) channel.write(s); },
    stderr: (s) => { if (!gone.signal.aborted) channel.stderr.write(s); },
    stdin,
    color: false,
    signal: gone.signal,
  }).then((code) => {
    if (gone.signal.aborted) return;
    channel.exit(code);
    channel.end();
  });
}

function onConnection(services: Services, sessions: RunningDeploys, client: Connection, counters: { unauthenticated: number }, remote: string): void {
  let identity: Identity | undefined;
  let attempts = 0;
  let pending = true;
  counters.unauthenticated++;
  const settle = () => { if (pending) { pending = false; counters.unauthenticated--; } };
  const deadline = setTimeout(() => { log.info('ssh auth deadline passed', { remote }); client.end(); }, SSH_LIMITS.authDeadlineMs);
  if (counters.unauthenticated > SSH_LIMITS.maxUnauthenticated) {
    log.warn('too many unauthenticated ssh connections; dropping one', { remote });
    clearTimeout(deadline);
    settle();
    client.end();
    return;
  }
  client.on('authentication', (ctx) => {
    if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
    if (++attempts > SSH_LIMITS.maxAuthAttempts) {
      ctx.reject();
      client.end();
      return;
    }
    const fp = fingerprintOf(ctx.key.data);
    const key = services.store.keys.byFingerprint(fp);
    if (!key || key.type !== ctx.key.algo.replace(/^rsa-sha2-(256|512)$/, 'ssh-rsa')) return ctx.reject();
    // A query without a signature only asks whether the key would do; it proves nothing, so
    // no identity is bound until a signature over the session id verifies.
    if (!ctx.signature || !ctx.blob) return ctx.accept();
    if (!verifySignature({ type: key.type, blob: key.publicKey, fingerprint: fp, comment: '' }, ctx.blob, ctx.signature, ctx.hashAlgo)) {
      log.warn('ssh signature did not verify', { remote, fingerprint: fp });
      return ctx.reject();
    }
    identity = { name: key.name, admin: key.admin, via: 'ssh' };
    ctx.accept();
  });
  client.on('ready', () => {
    clearTimeout(deadline);
    settle();
    if (!identity) return client.end();
    const who = identity;
    client.on('session', (accept) => {
      const session = accept();
      let gitProtocol: string | undefined;
      session.on('env', (accept, reject, info) => {
        if (info.key === 'GIT_PROTOCOL' && GIT_PROTOCOL.test(info.val)) {
          gitProtocol = info.val;
          accept?.();
        } else reject?.();
      });
      session.on('pty', (accept) => accept?.());
      session.on('window-change', (accept) => accept?.());
      session.on('exec', (accept, _reject, info) => handleExec(services, sessions, who, accept(), info.command, gitProtocol));
      session.on('shell', (accept) => {
        const ch = accept();
        ch.stderr.write(`Hi ${who.name}! Slipway does not provide shell access. Try: ssh git@HOST help\n`);
        ch.exit(1);
        ch.end();
      });
      session.on('subsystem', (_accept, reject) => reject());
      session.on('sftp', (_accept, reject) => reject());
    });
  });
  client.on('close', () => { clearTimeout(deadline); settle(); });
  client.on('error', (err) => log.debug('ssh connection error', { remote, err }));
}

/** Starts the SSH server (public keys only) for git and admin commands. */
export function startSshServer(services: Services, sessions: RunningDeploys): Promise<Server> {
  const counters = { unauthenticated: 0 };
  const server = new SshServer(
    {
      hostKeys: [loadHostKey(services.config.hostKeyFile)],
      ident: `Slipway_${services.config.version}`,
      keepaliveInterval: SSH_LIMITS.keepaliveIntervalMs,
      keepaliveCountMax: SSH_LIMITS.keepaliveCountMax,
      algorithms: { kex: SSH_KEX },
    },
    (client, info) => onConnection(services, sessions, client, counters, `${info.ip}:${info.port}`),
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(services.config.sshPort, services.config.bind, () => resolve(server as unknown as Server));
  });
}
