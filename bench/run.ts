// Transport benchmark: Slipway's SSH and HTTP git transports against the programs a self-hosted
// git server would otherwise use (OpenSSH sshd + git-shell; a file:// push), side by side in one
// run, interleaved round by round because the machine is shared and timings are noisy.
//   npm run bench            (BENCH_ROUNDS=5 BENCH_CONCURRENT_ROUNDS=3 BENCH_BREAKDOWN_ROUNDS=3 by default)
//   BENCH_ONLY=ssh-clone,http-push:small node bench/run.ts
//                            only these measures (ssh-push, ssh-clone, http-push, round-trip,
//                            concurrent, breakdown; `:big` or `:small` for one repo): the table
//                            goes to stdout and bench/results/latest.md stays as it is
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { run } from '../server/exec.ts';
import { cpuGroup, type CpuGroup } from './cpu.ts';
import { ensureFixture, isolatedGitEnv, type Fixture } from './fixtures.ts';
import { must, rssMiB, startSlipway, type BenchSlipway } from './slipway.ts';
import { ensureSshd, ensureUser, startSshd, GIT_SHELL, SSHD, type BenchSshd, type BenchUser } from './sshd.ts';
import { markdownTable, median, ratioRow, secs, spread, times, type Row } from './stats.ts';
import { benchEnv } from './settings.ts';

const ROOT = resolve(import.meta.dirname, '..');

// Every knob the bench reads from its environment, read once here.
const env = benchEnv;
const SETTINGS = Object.freeze({
  rounds: Number(env.BENCH_ROUNDS || 5),
  concurrentRounds: Number(env.BENCH_CONCURRENT_ROUNDS || 3),
  concurrency: Number(env.BENCH_CONCURRENCY || 50),
  breakdownRounds: Number(env.BENCH_BREAKDOWN_ROUNDS ?? 3),
  only: new Set((env.BENCH_ONLY ?? '').split(',').map((w) => w.trim()).filter(Boolean)),
  cacheDir: resolve(env.BENCH_CACHE_DIR || join(homedir(), '.cache', 'slipway', 'bench')),
  // The git-shell user's home: outside /root, which is 0700 (see ensureUser).
  userHome: resolve(env.BENCH_USER_HOME || '/var/cache/slipway-bench'),
  userName: env.BENCH_USER || 'slipway-bench',
  sshdPort: Number(env.BENCH_SSHD_PORT || 2223),
  path: env.PATH ?? '',
});

const say = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** Whether BENCH_ONLY (empty: everything) asks for measure `group`: for repo `fx`, or for any if none is given. */
function wanted(group: string, fx?: 'big' | 'small'): boolean {
  const only = SETTINGS.only;
  if (only.size === 0 || only.has(group)) return true;
  return fx !== undefined ? only.has(`${group}:${fx}`) : only.has(`${group}:big`) || only.has(`${group}:small`);
}

// ---------------------------------------------------------------------------------------------
// Cleanup: every process the bench starts is registered here and stopped on exit, even on error
// or Ctrl-C.
const cleanups: (() => Promise<void> | void)[] = [];
// Log tails of the servers, printed if the bench fails.
const logTails: (() => string)[] = [];
let cleaning: Promise<void> | undefined;
function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        say(`cleanup step failed: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    say(`${sig}: stopping servers and cleaning up`);
    void cleanupAll().then(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Preconditions.
function onPath(name: string): boolean {
  return SETTINGS.path.split(delimiter).some((dir) => dir && existsSync(join(dir, name)));
}

async function checkPrerequisites(): Promise<void> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) throw new Error(`Node ${process.versions.node} is too old: run the bench with Node 24 (scripts/provision npm run bench).`);
  if (process.getuid?.() !== 0) throw new Error('the bench must run as root: it creates a system user and starts its own sshd on loopback.');
  const missing = ['git', 'ssh', 'ssh-keygen', 'getent', 'useradd', 'usermod', 'chown', 'runuser'].filter((p) => !onPath(p));
  if (!existsSync(GIT_SHELL)) missing.push(GIT_SHELL);
  if (missing.length) throw new Error(`required programs are missing: ${missing.join(', ')} (Debian: apt-get install git openssh-client passwd util-linux).`);
  await ensureSshd(say);
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing after installing openssh-server.`);
  if (!existsSync(join(ROOT, 'node_modules', 'ssh2'))) throw new Error('node_modules is missing: run scripts/provision first (it installs the dependencies).');
}

async function version(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  return (r.stdout.trim() || r.stderr.trim()).split('\n')[0] ?? '?';
}

// ---------------------------------------------------------------------------------------------
// Clients.
async function ensureKey(dir: string): Promise<{ path: string; pub: string }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'bench_ed25519');
  if (!existsSync(path)) {
    const r = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench@slipway', '-f', path]);
    if (r.exitCode !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  }
  return { path, pub: readFileSync(path + '.pub', 'utf8') };
}

/** OpenSSH client options, identical for both servers: no user or system ssh config, one key. */
function sshBase(key: string, pin: readonly string[]): string[] {
  return ['-F', '/dev/null', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', ...pin];
}

// git runs GIT_SSH_COMMAND through sh; every word is single-quoted so no path is re-interpreted.
function shellWords(words: readonly string[]): string {
  return words.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(' ');
}

interface Negotiated { kex: string; hostKey: string; c2s: string; s2c: string; mac: string }

/** Runs `ssh -v` once and reads which kex, host key, cipher and MAC were negotiated. */
async function probe(key: string, pin: readonly string[], port: number, user: string, command: string): Promise<Negotiated> {
  const r = await run('ssh', [...sshBase(key, pin), '-v', '-p', String(port), `${user}@127.0.0.1`, command], { timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new Error(`ssh -v to ${user}@127.0.0.1:${port} failed (exit ${r.exitCode}): ${r.stderr.split('\n').filter((l) => !l.startsWith('debug')).join(' ').trim()}`);
  const grab = (re: RegExp) => re.exec(r.stderr)?.[1] ?? '?';
  return {
    kex: grab(/kex: algorithm: (\S+)/),
    hostKey: grab(/kex: host key algorithm: (\S+)/),
    c2s: grab(/kex: client->server cipher: (\S+)/),
    s2c: grab(/kex: server->client cipher: (\S+)/),
    mac: grab(/kex: client->server cipher: \S+ MAC: (\S+)/),
  };
}

function describeNegotiated(n: Negotiated): string {
  return `kex ${n.kex}, host key ${n.hostKey}, cipher ${n.c2s === n.s2c ? n.c2s : `${n.c2s} / ${n.s2c}`}, MAC ${n.mac}`;
}

function sameNegotiation(a: Negotiated, b: Negotiated): boolean {
  return a.kex === b.kex && a.c2s === b.c2s && a.s2c === b.s2c && a.mac === b.mac && a.hostKey === b.hostKey;
}

/** Milliseconds to create (then remove) 1,500 files of 4.6 KB in 30 directories under `dir`. */
function fileCreationMs(dir: string): number {
  const root = join(dir, `fs-probe-${process.pid}`);
  const data = Buffer.alloc(4600, 'x');
  const t0 = performance.now();
  for (let i = 0; i < 1500; i++) {
    const sub = join(root, `d${i % 30}`);
    if (i < 30) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}`), data);
  }
  const ms = performance.now() - t0;
  rmSync(root, { recursive: true, force: true });
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Timed operations.

/** One side of a comparison: untimed preparation, the timed operation, untimed clean-up. */
interface Side<T> {
  name: string;
  prepare: (round: number) => Promise<T>;
  op: (ctx: T, round: number) => Promise<void>;
  after?: (ctx: T, round: number) => Promise<void> | void;
  /** Cumulative CPU ms of this side's server process tree (0 when there is no server). */
  serverCpu: () => number;
}

/** Wall time and CPU time samples of one side. */
interface Samples { wall: number[]; serverCpu: number[]; totalCpu: number[] }

// The bench's own cgroup (it and every client it runs: git, ssh, local receive-pack). Set in main.
let clientCpu: () => number = () => Number.NaN;

/**
 * Runs A and B alternately for `rounds` measured rounds after one warm-up round (discarded),
 * swapping which goes first each round so neither always runs on a warmer or quieter machine.
 */
async function compare<A, B>(label: string, rounds: number, a: Side<A>, b: Side<B>): Promise<{ a: Samples; b: Samples }> {
  const out = { a: { wall: [], serverCpu: [], totalCpu: [] } as Samples, b: { wall: [], serverCpu: [], totalCpu: [] } as Samples };
  const once = async <T>(side: Side<T>, round: number, into: Samples | undefined) => {
    const ctx = await side.prepare(round);
    const s0 = side.serverCpu();
    const c0 = clientCpu();
    const t0 = performance.now();
    await side.op(ctx, round);
    const dt = performance.now() - t0;
    // Let the server side finish exiting (sshd's session processes, hook clean-up) before reading CPU.
    await new Promise((r) => setTimeout(r, 250));
    const server = side.serverCpu() - s0;
    const total = server + clientCpu() - c0;
    await side.after?.(ctx, round);
    if (into) {
      into.wall.push(dt);
      into.serverCpu.push(server);
      into.totalCpu.push(total);
    }
  };
  for (let round = 0; round <= rounds; round++) {
    const keep = round > 0;
    if (round % 2 === 0) {
      await once(a, round, keep ? out.a : undefined);
      await once(b, round, keep ? out.b : undefined);
    } else {
      await once(b, round, keep ? out.b : undefined);
      await once(a, round, keep ? out.a : undefined);
    }
  }
  if (rounds > 0) {
    say(`${label}: ${a.name} ${secs(median(out.a.wall))}, ${b.name} ${secs(median(out.b.wall))} (${times(median(out.a.wall) / median(out.b.wall))}); ` +
      `CPU server+client ${median(out.a.totalCpu).toFixed(0)} ms vs ${median(out.b.totalCpu).toFixed(0)} ms`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const started = new Date();
  const wall0 = performance.now();
  await checkPrerequisites();
  mkdirSync(SETTINGS.cacheDir, { recursive: true });
  const key = await ensureKey(join(SETTINGS.cacheDir, 'keys'));
  const fixtures: Record<'big' | 'small', Fixture> = {
    big: await ensureFixture(SETTINGS.cacheDir, 'big', say),
    small: await ensureFixture(SETTINGS.cacheDir, 'small', say),
  };

  const user: BenchUser = await ensureUser(SETTINGS.userName, SETTINGS.userHome, key.pub);
  // Everything both sides write lives under one directory: file creation speed differs a lot
  // between directories of one file system on some machines (here /tmp is ~25x slower).
  const tmp = mkdtempSync(join(user.home, 'run-'));
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
  const clientHome = join(tmp, 'client-home');
  mkdirSync(clientHome, { recursive: true });

  const runId = `run-${process.pid}-${Date.now()}`;
  const baseRepos = join(user.home, 'repos', runId);
  cleanups.push(() => rmSync(baseRepos, { recursive: true, force: true }));
  mkdirSync(baseRepos, { recursive: true });

  const sshd: BenchSshd = await startSshd({ stateDir: join(SETTINGS.cacheDir, 'sshd'), runDir: tmp, user, preferredPort: SETTINGS.sshdPort });
  cleanups.push(() => sshd.stop());
  logTails.push(() => `sshd stderr (tail):\n${sshd.stderrTail().trim()}`);
  say(`sshd (baseline) on 127.0.0.1:${sshd.port}, config ${sshd.config}`);

  writeFileSync(join(tmp, 'admin_keys'), key.pub);
  const slipway: BenchSlipway = await startSlipway({ root: ROOT, dataDir: join(tmp, 'slipway-data'), adminKeys: join(tmp, 'admin_keys') });
  cleanups.push(() => slipway.stop());
  logTails.push(() => `Slipway log (tail):\n${slipway.logTail().trim()}`);
  say(`Slipway (pid ${slipway.pid}) on ssh ${slipway.ssh}, http ${slipway.http}`);

  // CPU accounting: one cgroup per server process tree, one for the bench and its clients.
  const groups = { slipway: cpuGroup(`slipway-bench-${process.pid}-server`), sshd: cpuGroup(`slipway-bench-${process.pid}-sshd`), client: cpuGroup(`slipway-bench-${process.pid}-client`) };
  const haveCpu = groups.slipway !== undefined && groups.sshd !== undefined && groups.client !== undefined;
  if (haveCpu) {
    groups.slipway!.add(slipway.pid);
    groups.sshd!.add(sshd.pid);
    groups.client!.add(process.pid);
    clientCpu = () => groups.client!.usageMs();
    // Runs after the servers stopped (cleanups run in reverse order).
    cleanups.splice(0, 0, async () => {
      for (const [g, pids] of [[groups.client, [process.pid]], [groups.slipway, []], [groups.sshd, []]] as [CpuGroup, number[]][]) {
        for (let attempt = 0; ; attempt++) {
          try {
            g.remove(pids);
            break;
          } catch (err) {
            if (attempt >= 20) throw err;
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      }
    });
  } else {
    say('no usable cgroup (cpuacct or v2) for CPU accounting; reporting wall times only');
    for (const g of Object.values(groups)) g?.remove([]);
  }
  const cpuOf = (g: CpuGroup | undefined) => () => (g ? g.usageMs() : Number.NaN);
  const none = () => 0;
  await new Promise((r) => setTimeout(r, 2000));
  const rssStart = rssMiB(slipway.pid);

  // --- Which algorithms each side negotiates with the same client, and pinning if they differ.
  const unpinned = {
    slipway: await probe(key.path, [], slipway.ssh, 'git', 'apps:list'),
    sshd: await probe(key.path, [], sshd.port, user.name, 'true'),
  };
  let pin: string[] = [];
  if (!sameNegotiation(unpinned.slipway, unpinned.sshd)) {
    // Pin the client to what Slipway's ssh2 server picked; OpenSSH supports all of ssh2's defaults.
    const s = unpinned.slipway;
    pin = ['-c', s.c2s, '-o', `KexAlgorithms=${s.kex}`, '-o', `HostKeyAlgorithms=${s.hostKey}`];
    if (s.mac !== '<implicit>' && s.mac !== '?') pin.push('-o', `MACs=${s.mac}`);
  }
  const pinned = {
    slipway: await probe(key.path, pin, slipway.ssh, 'git', 'apps:list'),
    sshd: await probe(key.path, pin, sshd.port, user.name, 'true'),
  };
  if (!sameNegotiation(pinned.slipway, pinned.sshd)) {
    throw new Error(`could not make both servers negotiate the same algorithms: Slipway ${describeNegotiated(pinned.slipway)}; sshd ${describeNegotiated(pinned.sshd)}`);
  }
  const cipherNotes = [
    `- Unpinned OpenSSH client → Slipway (ssh2): ${describeNegotiated(unpinned.slipway)}`,
    `- Unpinned OpenSSH client → sshd: ${describeNegotiated(unpinned.sshd)}`,
    pin.length
      ? `- They differ, so every ssh client in the bench (git and round trips, both sides) is pinned with \`${pin.join(' ')}\`; both then negotiate: ${describeNegotiated(pinned.slipway)}`
      : `- Identical; the client is not pinned.`,
  ];
  for (const n of cipherNotes) say(n.slice(2));

  const sshOpts = [...sshBase(key.path, pin), '-o', 'LogLevel=ERROR'];
  const gitEnv = { ...isolatedGitEnv(clientHome), GIT_SSH_COMMAND: shellWords(['ssh', ...sshOpts]), GIT_SSH_VARIANT: 'ssh' };
  const gitIn = (cwd: string, args: string[], timeoutMs = 300_000) => run('git', args, { cwd, env: gitEnv, timeoutMs });
  const admin = (command: string) => must(`ssh git@127.0.0.1 ${command}`, run('ssh', [...sshOpts, '-p', String(slipway.ssh), 'git@127.0.0.1', command], { timeoutMs: 60_000 }));

  const tokenOut = await admin('tokens:create bench');
  const token = tokenOut.stdout.split('\n')[1]?.trim();
  if (!token) throw new Error(`tokens:create printed no token: ${tokenOut.stdout}`);

  const slipwaySsh = (app: string) => `ssh://git@127.0.0.1:${slipway.ssh}/${app}.git`;
  const slipwayHttp = (app: string) => `http://x:${token}@127.0.0.1:${slipway.http}/${app}.git`;
  const sshdUrl = (path: string) => `ssh://${user.name}@127.0.0.1:${sshd.port}${path}`;

  /** A bare repo configured like Slipway's app repos (same fsck and limits), minus the hook. */
  const bareRepo = async (path: string, owner?: BenchUser) => {
    await must('git init --bare', run('git', ['init', '--quiet', '--bare', '--template=', '--initial-branch=main', path], { env: isolatedGitEnv(clientHome) }));
    for (const [k, v] of [['transfer.fsckObjects', 'true'], ['receive.maxInputSize', String(1024 * 1024 * 1024)], ['receive.advertisePushOptions', 'false']] as const) {
      await must('git config', run('git', ['config', k, v], { cwd: path, env: isolatedGitEnv(clientHome) }));
    }
    if (owner) await must('chown', run('chown', ['-R', `${owner.uid}:${owner.gid}`, path]));
  };
  const push = async (fx: Fixture, url: string, expectDeploy: boolean) => {
    const r = await must(`git push (${fx.name}) to ${url.replace(/x:[^@]+@/, 'x:***@')}`, gitIn(fx.dir, ['push', url, 'main']));
    if (expectDeploy && !r.stderr.includes('Application deployed')) throw new Error(`push to Slipway did not deploy: ${r.stderr}`);
  };

  const rows: Row[] = [];
  const details: string[] = [];
  const cpuRows: string[] = [];
  const cpuRow = (label: string, bName: string, s: { a: Samples; b: Samples }) => {
    const ms = (xs: number[]) => `${median(xs).toFixed(0)} ms`;
    cpuRows.push(`| ${label} | ${ms(s.a.serverCpu)} | ${ms(s.b.serverCpu)} (${bName}) | ${ms(s.a.totalCpu)} | ${ms(s.b.totalCpu)} | ${times(median(s.a.totalCpu) / median(s.b.totalCpu))} |`);
  };
  const record = (label: string, aName: string, bName: string, s: { a: Samples; b: Samples }, goal: number) => {
    rows.push(ratioRow(label, median(s.a.wall), median(s.b.wall), bName, goal));
    details.push(`- ${label}: ${aName} ${spread(s.a.wall)}; ${bName} ${spread(s.b.wall)} (min / median / max)`);
    cpuRow(label, bName, s);
  };
  const R = SETTINGS.rounds;
  const rssTrail: string[] = [`start-up ${rssStart.rss.toFixed(1)}`];
  const phase = (name: string) => { rssTrail.push(`${name} ${rssMiB(slipway.pid).rss.toFixed(1)}`); };

  // --- Side builders for pushes; every round gets fresh targets on both sides.
  const fileRepos = join(tmp, 'file-repos');
  mkdirSync(fileRepos, { recursive: true });
  let targets = 0;
  const slipwayPush = (fx: Fixture, via: 'ssh' | 'http', tag: string, expectDeploy: boolean): Side<string> => ({
    name: `slipway-${via}`,
    prepare: async (i) => { const app = `${tag}-${via}-${fx.name}-${i}`; await admin(`apps:create ${app}`); return app; },
    op: (app) => push(fx, via === 'ssh' ? slipwaySsh(app) : slipwayHttp(app), expectDeploy),
    serverCpu: cpuOf(groups.slipway),
  });
  const sshdPush = (fx: Fixture): Side<string> => ({
    name: 'sshd',
    prepare: async () => { const p = join(baseRepos, `${fx.name}-${targets++}.git`); await bareRepo(p, user); return p; },
    op: (p) => push(fx, sshdUrl(p), false),
    serverCpu: cpuOf(groups.sshd),
  });
  const filePush = (fx: Fixture): Side<string> => ({
    name: 'file',
    prepare: async () => { const p = join(fileRepos, `${fx.name}-${targets++}.git`); await bareRepo(p); return p; },
    op: (p) => push(fx, `file://${p}`, false),
    after: (p) => rmSync(p, { recursive: true, force: true }),
    serverCpu: none,
  });
  const sizeOf = (fx: Fixture) => (fx.name === 'big' ? '100 MB' : '7 MB');

  // --- Pushes over SSH. The clones and the concurrency burst use what the warm-up round pushed,
  // so a repo they need is still pushed (the warm-up round only) when its pushes are not measured.
  const lastPushed: Record<string, { app: string; bare: string }> = {};
  for (const fx of [fixtures.big, fixtures.small]) {
    const measured = wanted('ssh-push', fx.name);
    if (!measured && !wanted('ssh-clone', fx.name) && !(fx.name === 'small' && wanted('concurrent'))) continue;
    const baseline = sshdPush(fx);
    let firstBare = '';
    const s = await compare(`push ${sizeOf(fx)} ssh`, measured ? R : 0, slipwayPush(fx, 'ssh', 'p', true), {
      ...baseline,
      prepare: async (i) => { const p = await baseline.prepare(i); if (i === 0) firstBare = p; return p; },
    });
    if (measured) record(`push ${sizeOf(fx)} repo over SSH`, 'Slipway SSH', 'sshd + git-shell', s, 1.05);
    lastPushed[fx.name] = { app: `p-ssh-${fx.name}-0`, bare: firstBare };
  }

  phase('pushes over SSH');

  // --- Clones over SSH of what the warm-up round pushed. Both repos are repacked first, as a
  // git host's maintenance would: the big push left loose objects (fewer than
  // receive.unpackLimit), and re-deflating 100 MB on every clone would swamp the transport.
  const clones = join(tmp, 'clones');
  mkdirSync(clones, { recursive: true });
  for (const { app, bare } of Object.values(lastPushed)) {
    await must('git repack (Slipway repo)', run('git', ['repack', '-a', '-d', '-q'], { cwd: join(slipway.dataDir, 'repos', `${app}.git`), env: isolatedGitEnv(clientHome), timeoutMs: 300_000 }));
    // As the repo's owner: git refuses to work in another user's repo (safe.directory).
    await must('git repack (sshd repo)', run('runuser', ['-u', user.name, '--', 'git', '-C', bare, 'repack', '-a', '-d', '-q'], { env: isolatedGitEnv(user.home), timeoutMs: 300_000 }));
  }
  for (const fx of [fixtures.big, fixtures.small]) {
    if (!wanted('ssh-clone', fx.name)) continue;
    const size = sizeOf(fx);
    const { app, bare } = lastPushed[fx.name]!;
    const cloneInto = async (url: string, dest: string) => {
      await must(`git clone ${url}`, gitIn(clones, ['clone', '--no-checkout', '--quiet', url, dest]));
      const head = (await must('rev-parse', gitIn(dest, ['rev-parse', 'HEAD']))).stdout.trim();
      if (head !== fx.head) throw new Error(`clone of ${url} has HEAD ${head}, expected ${fx.head}`);
    };
    const s = await compare(`clone ${size} ssh`, R,
      {
        name: 'slipway-ssh',
        prepare: async (i) => join(clones, `s-${fx.name}-${i}`),
        op: (dest) => cloneInto(slipwaySsh(app), dest),
        after: (dest) => rmSync(dest, { recursive: true, force: true }),
        serverCpu: cpuOf(groups.slipway),
      },
      {
        name: 'sshd',
        prepare: async (i) => join(clones, `b-${fx.name}-${i}`),
        op: (dest) => cloneInto(sshdUrl(bare), dest),
        after: (dest) => rmSync(dest, { recursive: true, force: true }),
        serverCpu: cpuOf(groups.sshd),
      });
    record(`clone ${size} repo over SSH (--no-checkout)`, 'Slipway SSH', 'sshd + git-shell', s, 1.05);
  }

  phase('clones over SSH');

  // --- Pushes over HTTP vs a local file:// push (no transport at all).
  for (const fx of [fixtures.big, fixtures.small]) {
    if (!wanted('http-push', fx.name)) continue;
    const s = await compare(`push ${sizeOf(fx)} http`, R, slipwayPush(fx, 'http', 'p', true), filePush(fx));
    record(`push ${sizeOf(fx)} repo over HTTP (token)`, 'Slipway HTTP', 'git push file://', s, 1.10);
  }

  phase('pushes over HTTP');

  // --- Command round trip: a whole ssh invocation (connect, kex, auth, command, exit).
  if (wanted('round-trip')) {
    const rt = Math.max(3 * R, 10);
    const s = await compare('ssh round trip', rt,
      {
        name: 'apps:list',
        prepare: async () => undefined,
        op: async () => { await must('ssh apps:list', run('ssh', [...sshOpts, '-p', String(slipway.ssh), 'git@127.0.0.1', 'apps:list'], { timeoutMs: 30_000 })); },
        serverCpu: cpuOf(groups.slipway),
      },
      {
        name: 'sshd true',
        prepare: async () => undefined,
        op: async () => { await must('ssh true', run('ssh', [...sshOpts, '-p', String(sshd.port), `${user.name}@127.0.0.1`, 'true'], { timeoutMs: 30_000 })); },
        serverCpu: cpuOf(groups.sshd),
      });
    rows.push(ratioRow('`ssh … apps:list` round trip', median(s.a.wall), median(s.b.wall), 'sshd: git-shell runs `true`', 1.0, (ms) => `${ms.toFixed(1)} ms`));
    details.push(`- ssh round trip: apps:list ${spread(s.a.wall)}; sshd + git-shell \`true\` ${spread(s.b.wall)}`);
    cpuRow('`ssh … apps:list` round trip', 'sshd + git-shell `true`', s);
  }

  phase('round trips');

  // --- Concurrency: N clones of the small repo at once.
  const concurrent: Record<'slipway' | 'sshd', { wall: number[]; errors: number; firstError?: string }> = {
    slipway: { wall: [], errors: 0 },
    sshd: { wall: [], errors: 0 },
  };
  if (wanted('concurrent')) {
    const N = SETTINGS.concurrency;
    const burst = async (who: 'slipway' | 'sshd', url: string, round: number) => {
      const dir = join(clones, `cc-${who}-${round}`);
      mkdirSync(dir, { recursive: true });
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: N }, (_, i) => gitIn(dir, ['clone', '--no-checkout', '--quiet', url, `c${i}`], 300_000)));
      const wall = performance.now() - t0;
      const failed = results.filter((r) => r.exitCode !== 0);
      rmSync(dir, { recursive: true, force: true });
      return { wall, failed };
    };
    for (let round = 0; round < SETTINGS.concurrentRounds; round++) {
      const order: ('slipway' | 'sshd')[] = round % 2 ? ['sshd', 'slipway'] : ['slipway', 'sshd'];
      for (const who of order) {
        const url = who === 'slipway' ? slipwaySsh(lastPushed.small!.app) : sshdUrl(lastPushed.small!.bare);
        const r = await burst(who, url, round);
        concurrent[who].wall.push(r.wall);
        concurrent[who].errors += r.failed.length;
        if (r.failed[0] && !concurrent[who].firstError) concurrent[who].firstError = r.failed[0].stderr.trim().split('\n').slice(-2).join(' | ');
      }
    }
    const c = concurrent;
    say(`${N} concurrent clones: Slipway ${secs(median(c.slipway.wall))} (${c.slipway.errors} errors), sshd ${secs(median(c.sshd.wall))} (${c.sshd.errors} errors)`);
    rows.push({
      measure: `${N} concurrent clones of the 7 MB repo over SSH: errors (${SETTINGS.concurrentRounds} rounds)`,
      slipway: String(c.slipway.errors), baseline: `${c.sshd.errors} (sshd, MaxStartups 100)`, ratio: '—', goal: '0', met: c.slipway.errors === 0 ? 'yes' : '**no**',
    });
    rows.push({ ...ratioRow(`${N} concurrent clones: wall time`, median(c.slipway.wall), median(c.sshd.wall), 'sshd', Number.POSITIVE_INFINITY), goal: 'reference', met: '—' });
    details.push(`- ${N} concurrent clones wall: Slipway ${spread(c.slipway.wall)}; sshd ${spread(c.sshd.wall)}`);
    if (c.slipway.firstError) details.push(`- first Slipway clone error: ${c.slipway.firstError}`);
    if (c.sshd.firstError) details.push(`- first sshd clone error: ${c.sshd.firstError}`);
  }

  phase('concurrent clones');

  // --- Memory: idle RSS of the server process after start-up and after everything above.
  await new Promise((r) => setTimeout(r, 3000));
  phase('3 s idle');
  const rssEnd = rssMiB(slipway.pid);
  const rssRow = (label: string, mib: number): Row => ({
    measure: label, slipway: `${mib.toFixed(1)} MiB`, baseline: '—', ratio: '—', goal: '≤ 120 MB', met: mib * 1.048576 <= 120 ? 'yes' : '**no**',
  });
  rows.push(rssRow('Slipway idle RSS after start-up', rssStart.rss));
  rows.push(rssRow('Slipway idle RSS after the runs', rssEnd.rss));
  details.push(`- Slipway peak RSS (VmHWM) over the whole bench: ${rssEnd.hwm.toFixed(1)} MiB; RSS (MiB) after each phase: ${rssTrail.join(' → ')}`);

  // --- Breakdown (diagnostic, not a goal): the same pushes with the pre-receive shim of this
  // throwaway server replaced by one that only drains its input, so no hook client, no pipeline,
  // no tree extraction: what is left is the transport. The shim is restored afterwards.
  const breakdown: string[] = [];
  if (SETTINGS.breakdownRounds > 0 && wanted('breakdown')) {
    const shim = join(slipway.dataDir, 'hooks', 'pre-receive');
    const original = readFileSync(shim, 'utf8');
    writeFileSync(shim, '#!/bin/sh\n# bench breakdown: transport only\ncat >/dev/null\n', { mode: 0o755 });
    try {
      for (const via of ['ssh', 'http'] as const) {
        for (const fx of [fixtures.big, fixtures.small]) {
          if (!wanted('breakdown', fx.name)) continue;
          const baselineName = via === 'ssh' ? 'sshd + git-shell' : 'git push file://';
          const s = await compare(`push ${sizeOf(fx)} ${via}, transport only`, SETTINGS.breakdownRounds,
            slipwayPush(fx, via, 'b', false), via === 'ssh' ? sshdPush(fx) : filePush(fx));
          const ratio = median(s.a.wall) / median(s.b.wall);
          breakdown.push(`| push ${sizeOf(fx)} over ${via.toUpperCase()}, no hook | ${secs(median(s.a.wall))} | ${secs(median(s.b.wall))} (${baselineName}) | ${times(ratio)} | ${median(s.a.totalCpu).toFixed(0)} ms | ${median(s.b.totalCpu).toFixed(0)} ms |`);
        }
      }
    } finally {
      writeFileSync(shim, original, { mode: 0o755 });
    }
  }
  // How fast this disk creates small files where Slipway would unpack pushed trees (it writes one
  // zip instead, unless the tree has a project.toml) and where the baseline repos live.
  const createMs = { slipway: fileCreationMs(join(slipway.dataDir, 'tmp')), baseline: fileCreationMs(baseRepos) };

  // --- Report.
  const facts = [
    `- Date: ${started.toISOString()}; bench wall time ${((performance.now() - wall0) / 1000).toFixed(0)} s`,
    `- Machine: ${cpus().length} CPUs (nproc ${(await version('nproc', []))}), ${cpus()[0]?.model ?? '?'}; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')} (shared machine: other builds were running)`,
    `- Node ${process.version}; ${await version('git', ['--version'])}; ${await version('ssh', ['-V'])}; sshd: Debian ${await version('dpkg-query', ['-W', '-f', '${Version}', 'openssh-server'])}`,
    `- Fixtures: big = ${fixtures.big.files} files, ${(fixtures.big.bytes / 1e6).toFixed(1)} MB random, 1 commit; small = ${fixtures.small.files} files, ${(fixtures.small.bytes / 1e6).toFixed(1)} MB text, 3 commits; both fully packed (cached in ${SETTINGS.cacheDir}/repos)`,
    `- Rounds: ${R} measured (+1 warm-up discarded) per measure, ${Math.max(3 * R, 10)} for the round trip, ${SETTINGS.concurrentRounds} for the concurrency burst; A and B alternate and swap order each round; medians reported`,
    `- Command: \`npm run bench\` (= \`node bench/run.ts\`; here: \`${[process.execPath, ...process.argv.slice(1)].join(' ')}\` in ${ROOT})`,
  ];
  const method = [
    '- Slipway: `node test/support/server-process.ts` (real ssh2 and HTTP transports, real pre-receive hook → hook socket → pipeline with extract; instant fake builder and deployer). Every push goes to a freshly created app.',
    `- SSH baseline: Debian's OpenSSH sshd started by the bench on 127.0.0.1:${sshd.port} with its own sshd_config (UsePAM no, MaxStartups 100, AcceptEnv GIT_PROTOCOL), user \`${user.name}\` with shell git-shell, home ${user.home} (outside /root, which is 0700). Every push goes to a fresh bare repo configured like Slipway's (transfer.fsckObjects, receive.maxInputSize) but with no hook.`,
    '- HTTP baseline: `git push file:///…` into a fresh bare repo configured the same way (no transport at all).',
    `- Locations (one file system, one directory tree, outside /tmp): Slipway's data dir (and the pushed trees it unpacks, in its tmp/) and the file:// repos in ${tmp}, the sshd repos in ${baseRepos}; clones are written to ${join(tmp, 'clones')}.`,
    '- Round-trip baseline: `ssh slipway-bench@127.0.0.1 true`, which git-shell runs from `~/git-shell-commands/true` (a symlink to /bin/true).',
    '- Clones are `git clone --no-checkout` of the repos pushed in the warm-up round, each repacked (`git repack -a -d`) first on both sides, so both servers serve identical single-pack object stores and upload-pack reuses the packed data.',
  ];
  const md = [
    '# Slipway transport bench',
    '',
    markdownTable(rows),
    '',
    '## CPU time per operation (medians; cross-check that is steadier than wall time on a busy machine)',
    '',
    haveCpu
      ? 'Server = the server process and all its descendants (Slipway: node, git, the hook; sshd: the listener, per-connection sshd, git-shell, git), from a cgroup per server. Total = server + the client side (git, ssh, and for file:// the local receive-pack).'
      : 'No usable cgroup on this machine: CPU time was not measured.',
    '',
    ...(haveCpu ? ['| Measure | Slipway server | Baseline server | Slipway total | Baseline total | Total ratio |', '|---|---|---|---|---|---|', ...cpuRows] : []),
    '',
    '## Breakdown: transport only (diagnostic)',
    '',
    SETTINGS.breakdownRounds > 0 && wanted('breakdown')
      ? `The same pushes, ${SETTINGS.breakdownRounds} interleaved rounds, with this throwaway server's pre-receive shim replaced by \`cat >/dev/null\` (no hook client, no pipeline, no tree extraction). The difference to the main table is what the hook round trip and the pipeline cost.`
      : `Skipped (${SETTINGS.breakdownRounds > 0 ? 'not in BENCH_ONLY' : 'BENCH_BREAKDOWN_ROUNDS=0'}).`,
    '',
    ...(breakdown.length ? ['| Measure | Slipway | Baseline | Ratio | Slipway CPU total | Baseline CPU total |', '|---|---|---|---|---|---|', ...breakdown] : []),
    '',
    `The pipeline hands the pushed tree to the build as one zip file. Unpacking it instead (done only for a tree with a project.toml) means creating 1,500 files of 4.6 KB for the small repo, which takes ${createMs.slipway.toFixed(0)} ms in Slipway's data dir and ${createMs.baseline.toFixed(0)} ms in the baseline's repo dir on this machine.`,
    '',
    '## Cipher and key exchange',
    '',
    ...cipherNotes,
    '',
    '## Samples',
    '',
    ...details,
    '',
    '## Method',
    '',
    ...method,
    '',
    '## Machine',
    '',
    ...facts,
    '',
  ].join('\n');
  process.stdout.write(md);
  if (SETTINGS.only.size > 0) {
    say(`BENCH_ONLY=${[...SETTINGS.only].join(',')}: a partial run, so bench/results/latest.md is left as it is`);
    return;
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'latest.md'), md);
  say('wrote bench/results/latest.md');
}

try {
  await main();
  await cleanupAll();
} catch (err) {
  process.stderr.write(`bench: FAILED: ${(err as Error).message}\n`);
  if ((err as Error).cause) process.stderr.write(`bench: cause: ${String(((err as Error).cause as Error).message ?? (err as Error).cause)}\n`);
  for (const tail of logTails) process.stderr.write(`bench: ${tail()}\n`);
  await cleanupAll();
  process.exitCode = 1;
}
