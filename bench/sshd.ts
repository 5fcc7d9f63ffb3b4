// The baseline: Debian's OpenSSH sshd with git-shell, as a self-hosted git server would run it.
// The bench starts its own sshd on a loopback port with its own config, host key and pid file;
// the system sshd and /etc/ssh are never touched.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { pipe, run, type Piped } from '../server/exec.ts';

export const SSHD = '/usr/sbin/sshd';
export const GIT_SHELL = '/usr/bin/git-shell';

/** The dedicated system user git-shell runs as. */
export interface BenchUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 600_000 });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** Installs Debian's openssh-server if sshd is missing (as root; its service is not started by us). */
export async function ensureSshd(log: (s: string) => void): Promise<void> {
  if (existsSync(SSHD)) return;
  if (process.getuid?.() !== 0) throw new Error(`${SSHD} is missing; install Debian's openssh-server as root (apt-get install openssh-server) or run the bench as root.`);
  log('installing openssh-server (apt-get)');
  await must('apt-get', ['update', '-qq']);
  const r = await run('apt-get', ['install', '-y', '-qq', 'openssh-server'], { env: { DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 600_000 });
  if (r.exitCode !== 0 || !existsSync(SSHD)) throw new Error(`apt-get install openssh-server failed: ${r.stderr.trim()}`);
}

/**
 * Creates (or checks) the system user the baseline serves git as. Its home must be outside /root:
 * /root is 0700 and sshd reads authorized_keys as the user, so a home under ~/.cache is unreachable.
 * The password field is `*` (no password, not locked): with UsePAM no, sshd refuses locked (`!`) accounts.
 */
export async function ensureUser(name: string, home: string, pubKey: string): Promise<BenchUser> {
  const existing = await run('getent', ['passwd', name]);
  if (existing.exitCode !== 0) {
    mkdirSync(join(home, '..'), { recursive: true, mode: 0o755 });
    await must('useradd', ['--system', '--home-dir', home, '--no-create-home', '--shell', GIT_SHELL, '--password', '*', '--user-group', name]);
  }
  const fields = (await must('getent', ['passwd', name])).trim().split(':');
  const [uid, gid, dir, shell] = [Number(fields[2]), Number(fields[3]), fields[5], fields[6]];
  if (dir !== home || shell !== GIT_SHELL) {
    throw new Error(`user ${name} exists with home ${dir} and shell ${shell}; the bench expects ${home} and ${GIT_SHELL}. Remove it (userdel ${name}) or fix it.`);
  }
  const shadow = (await must('getent', ['shadow', name])).split(':')[1] ?? '';
  if (shadow.startsWith('!')) await must('usermod', ['--password', '*', name]);
  // StrictModes: the home and .ssh must not be writable by others; the key file is the user's.
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, '.ssh', 'authorized_keys'), pubKey.trim() + '\n', { mode: 0o600 });
  // git-shell runs a command named on the ssh line only if it is in ~/git-shell-commands; `true`
  // there gives the round-trip baseline a command git-shell accepts and that exits at once.
  const commands = join(home, 'git-shell-commands');
  mkdirSync(commands, { recursive: true, mode: 0o755 });
  if (!existsSync(join(commands, 'true'))) symlinkSync('/bin/true', join(commands, 'true'));
  mkdirSync(join(home, 'repos'), { recursive: true, mode: 0o755 });
  chmodSync(home, 0o755);
  await must('chown', ['-R', `${uid}:${gid}`, home]);
  chmodSync(join(home, '.ssh'), 0o700);
  return { name, uid, gid, home };
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function freePort(preferred: number): Promise<number> {
  if (await portFree(preferred)) return preferred;
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Waits until something on the port answers with an SSH banner. */
async function waitForBanner(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.setTimeout(1000);
      sock.once('data', (d) => { sock.destroy(); resolve(d.toString('latin1').startsWith('SSH-')); });
      sock.once('error', () => resolve(false));
      sock.once('timeout', () => { sock.destroy(); resolve(false); });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not answer on 127.0.0.1:${port} within ${deadlineMs} ms`);
}

/** A running bench sshd. */
export interface BenchSshd {
  port: number;
  pid: number;
  config: string;
  stop(): Promise<void>;
  stderrTail(): string;
}

/** Starts sshd in the foreground on 127.0.0.1 with the bench's own config, host key and pid file. */
export async function startSshd(opts: { stateDir: string; runDir: string; user: BenchUser; preferredPort: number }): Promise<BenchSshd> {
  mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  const hostKey = join(opts.stateDir, 'ssh_host_ed25519_key');
  if (!existsSync(hostKey)) await must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'slipway-bench-sshd', '-f', hostKey]);
  // sshd refuses to start without its privilege-separation directory; Debian creates it only
  // when its own service starts, which the bench never does.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const port = await freePort(opts.preferredPort);
  const pidFile = join(opts.runDir, 'sshd.pid');
  const config = join(opts.runDir, 'sshd_config');
  writeFileSync(config, [
    '# Written by bench/run.ts for one bench run; not the system sshd.',
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${pidFile}`,
    'AuthorizedKeysFile .ssh/authorized_keys',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    // No PAM session stack: Slipway has none either, so the baseline is the lean, fast sshd.
    'UsePAM no',
    `AllowUsers ${opts.user.name}`,
    // Default 10:30:100 drops connections while 50 clones authenticate at once; Slipway's own cap is 100.
    'MaxStartups 100',
    // git sends GIT_PROTOCOL=version=2 with SendEnv; Slipway accepts it, so sshd must too.
    'AcceptEnv GIT_PROTOCOL',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    'AllowTcpForwarding no',
    'AllowAgentForwarding no',
    'PermitTTY no',
    'StrictModes yes',
    'LogLevel ERROR',
    '',
  ].join('\n'));
  const test = await run(SSHD, ['-t', '-f', config]);
  if (test.exitCode !== 0) throw new Error(`sshd -t rejected the bench config ${config}: ${test.stderr.trim()}`);
  const child: Piped = pipe(SSHD, ['-D', '-e', '-f', config]);
  const tail: string[] = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => { tail.push(d); if (tail.length > 50) tail.shift(); });
  child.stdout.resume();
  let exited = false;
  void child.exited.then(() => { exited = true; });
  try {
    await waitForBanner(port, 10_000);
  } catch (err) {
    child.kill();
    throw new Error(`sshd did not start: ${tail.join('').trim()}`, { cause: err });
  }
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
  return {
    port,
    pid,
    config,
    stderrTail: () => tail.join(''),
    stop: async () => {
      if (!exited) {
        child.kill();
        await Promise.race([child.exited, new Promise((r) => setTimeout(r, 5000))]);
      }
      rmSync(pidFile, { force: true });
    },
  };
}
