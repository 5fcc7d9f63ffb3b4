// Log drains on the testbed (issue 39), with real receivers on this machine that the pods reach at
// the node's address: Debian's rsyslog over TLS (its ossl driver, a certificate from the testbed's
// drain CA, which the collector image trusts: 67-collector.sh), an HTTPS endpoint as Heroku's
// HTTPS drains post to (node:https, the same certificate) and a plain TCP syslog endpoint (B's). Apps print numbered lines when asked; the
// collector (a DaemonSet Slipway applies) reads them from the nodes' pod logs.
// - every line reaches both of A's drains once, in order; 10,000 numbered lines do across a
//   restart of the collector's pods in the middle; B's lines reach B's drain and none of A's (and
//   the other way round);
// - a drain whose endpoint is down shows its error in drains:info within 10 s while the other
//   drain keeps receiving, and the app answers all the while (its latency measured before and during);
// - a non-admin's drain to 127.0.0.1 or into 10.0.0.0/8 is refused and nothing is stored;
// - a push, a rollback, a crash and ps:scale of B reach B's drains as `app[slipway]` lines (and OTLP records), not A's;
//   so do B's sleeping when idle (ps:sleep) and its waking (ps:wake), and its Valkey's backup and
//   restore drills, one passed and one failed on a damaged snapshot; doctor finds the server's
//   machine among the nodes (the events are read there);
// - measured: first line at a new drain after drains:add, line latency p50, the collector's RSS.
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { gunzipSync } from 'node:zlib';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KubeClient } from '../../server/kube/client.ts';
import type { V1DaemonSet, V1Pod, V1Node } from '../../server/kube/types.ts';
import { COLLECTOR_METRICS_PORT, COLLECTOR_NAMESPACE } from '../../server/kube/collector.ts';
import type { PackBuilder } from '../../server/build/pack.ts';
import { makeKey, freePort, type TestServer } from '../support/harness.ts';
import { damageBackup, deployApp, destroyApps, NEWEST_VALKEY_SNAPSHOT, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, hostAddress, needTestbed } from '../support/testbed.ts';
import { httpThroughIngress, waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS', 'SLIPWAY_NODE_NAME',
  'SLIPWAY_COLLECTOR_IMAGE', 'SLIPWAY_COLLECTOR_POD_LOGS', 'SLIPWAY_COLLECTOR_STATE_DIR', 'SLIPWAY_TEST_DRAIN_CA'] as const;
const BASE_DOMAIN = 'slipway.test';
const suffix = randomBytes(3).toString('hex');
const APPS = { a: `drain-a-${suffix}`, b: `drain-b-${suffix}` } as const;
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 90_000;
const RSYSLOGD = '/usr/sbin/rsyslogd';

/** A line a receiver got: the syslog fields the test reads, and when it arrived (ms). */
interface Got { host: string; app: string; proc: string; msg: string; at: number }

const FRAME_LINE = /^<\d+>1 \S+ (\S+) (\S+) (\S+) \S+ (?:-|\[.*?\]) ?(.*)$/s;

/** Takes the octet-counted frames (RFC 6587) at the start of `buf` into `got`; what is left of `buf`. */
function takeFrames(buf: Buffer<ArrayBufferLike>, got: Got[]): Buffer<ArrayBufferLike> {
  for (;;) {
    const sp = buf.indexOf(0x20);
    if (sp < 0) return buf;
    const len = Number(buf.subarray(0, sp).toString());
    if (!Number.isInteger(len) || buf.length < sp + 1 + len) return buf;
    const frame = buf.subarray(sp + 1, sp + 1 + len).toString().replace(/\n$/, '');
    buf = buf.subarray(sp + 1 + len);
    const m = FRAME_LINE.exec(frame);
    if (m) got.push({ host: m[1]!, app: m[2]!, proc: m[3]!, msg: m[4]!, at: Date.now() });
  }
}

/**
 * A plain TCP syslog receiver of octet-counted frames, or (with `tls`) an HTTPS endpoint as
 * Heroku's HTTPS drains post to: frames in the body, the logplex headers, Basic auth.
 */
class FrameReceiver {
  readonly got: Got[] = [];
  /** The HTTPS endpoint's requests: Authorization, Content-Type, Logplex-Msg-Count and the frames counted in the body. */
  readonly posts: { auth: string | undefined; type: string | undefined; count: string | undefined; token: string | undefined; frames: number }[] = [];
  server: ReturnType<typeof createHttpsServer> | ReturnType<typeof createTcpServer> | undefined;
  port = 0;

  async start(tls: { key: string; cert: string } | undefined): Promise<void> {
    if (tls) {
      this.server = createHttpsServer(tls, (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const before = this.got.length;
          takeFrames(Buffer.concat(chunks), this.got);
          this.posts.push({ auth: req.headers.authorization, type: req.headers['content-type'], count: req.headers['logplex-msg-count'] as string | undefined, token: req.headers['logplex-drain-token'] as string | undefined, frames: this.got.length - before });
          res.writeHead(204).end();
        });
      });
    } else {
      this.server = createTcpServer((socket) => {
        let buf: Buffer<ArrayBufferLike> = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => { buf = takeFrames(Buffer.concat([buf, chunk]), this.got); });
        socket.on('error', () => undefined);
      });
    }
    await new Promise<void>((resolve) => this.server!.listen(0, '0.0.0.0', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  close(): void {
    this.server?.close();
  }
}

/** An OTLP/HTTP logs endpoint (HTTPS): each request's headers and its body (protobuf, gunzipped), read as Latin-1 to find the lines in. */
class OtlpReceiver {
  readonly requests: { type: string | undefined; key: string | undefined; body: string }[] = [];
  server: ReturnType<typeof createHttpsServer> | undefined;
  port = 0;

  async start(tls: { key: string; cert: string }): Promise<void> {
    this.server = createHttpsServer(tls, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        this.requests.push({ type: req.headers['content-type'], key: req.headers['x-key'] as string | undefined, body: body.toString('latin1') });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '0.0.0.0', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** The numbers of `tag`'s lines in the requests' bodies. */
  seqs(tag: string): number[] {
    return this.requests.flatMap((r) => [...r.body.matchAll(new RegExp(`${tag} seq=(\\d+) at=`, 'g'))].map((m) => Number(m[1])));
  }
}

/** Debian's rsyslogd on a port of its own, TLS with the given certificate, writing what it receives to a file. */
class Rsyslog {
  proc: ChildProcess | undefined;
  port = 0;
  out = '';

  async start(dir: string, files: { ca: string; cert: string; key: string }): Promise<void> {
    this.port = await freePort();
    this.out = join(dir, 'rsyslog-out.log');
    const conf = join(dir, 'rsyslog.conf');
    writeFileSync(conf, [
      `global(workDirectory="${dir}" defaultNetstreamDriver="ossl" defaultNetstreamDriverCAFile="${files.ca}" defaultNetstreamDriverCertFile="${files.cert}" defaultNetstreamDriverKeyFile="${files.key}")`,
      'module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")',
      `input(type="imtcp" port="${this.port}" address="0.0.0.0")`,
      'template(name="drain" type="string" string="%timegenerated:::date-unixtimestamp% %hostname% %app-name% %procid% %msg%\\n")',
      `action(type="omfile" file="${this.out}" template="drain" flushOnTXEnd="on" asyncWriting="off")`,
      '',
    ].join('\n'));
    this.proc = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    await eventually(() => `rsyslogd to listen on ${this.port} (${stderr.trim()})`, async () => (listening(this.port) ? true : undefined), 15_000);
  }

  /** What rsyslog wrote: one Got per line (its time has whole seconds only). */
  got(): Got[] {
    if (!existsSync(this.out)) return [];
    return readFileSync(this.out, 'utf8').split('\n').filter(Boolean).map((l) => {
      const [at, host, app, proc, ...msg] = l.split(' ');
      return { at: Number(at) * 1000, host: host!, app: app!, proc: proc!, msg: msg.join(' ').trim() };
    });
  }

  stop(): void {
    this.proc?.kill('SIGTERM');
  }
}

function listening(port: number): boolean {
  return execFileSync('ss', ['-Hltn', `( sport = :${port} )`]).toString().trim() !== '';
}

/** The numbers of `tag`'s lines among `got`, in arrival order. */
function seqs(got: readonly Got[], tag: string): number[] {
  return got.map((g) => new RegExp(`^${tag} seq=(\\d+) `).exec(g.msg)).filter((m) => m !== null).map((m) => Number(m[1]));
}

function assertAllOnce(nums: readonly number[], n: number, what: string): void {
  const counts = new Map<number, number>();
  for (const x of nums) counts.set(x, (counts.get(x) ?? 0) + 1);
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((x) => !counts.has(x));
  const repeated = [...counts].filter(([, c]) => c > 1).map(([x]) => x);
  assert.deepEqual({ missing: missing.slice(0, 20), missingCount: missing.length, repeated: repeated.slice(0, 20), repeatedCount: repeated.length }, { missing: [], missingCount: 0, repeated: [], repeatedCount: 0 }, `${what}: every line once`);
}

/** Which of 1..n are missing from `nums`, as ranges (for a failure's message). */
function gaps(nums: readonly number[], n: number): string {
  const have = new Set(nums);
  const out: string[] = [];
  for (let i = 1; i <= n; i++) {
    if (have.has(i)) continue;
    let j = i;
    while (j < n && !have.has(j + 1)) j++;
    out.push(i === j ? `${i}` : `${i}-${j}`);
    i = j;
  }
  return `${have.size} of ${n}${out.length > 0 ? `, missing ${out.slice(0, 10).join(',')}` : ''}`;
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

describe('log drains: every line once, tenants apart, a down drain shows', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;
  let kube: KubeClient;
  let nodeIp = '';
  const dir = mkdtempSync(join(tmpdir(), 'slipway-drains-'));
  const rsyslog = new Rsyslog();
  const tlsReceiver = new FrameReceiver(); // the HTTPS endpoint
  const bReceiver = new FrameReceiver();
  const otlp = new OtlpReceiver();
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  /** The collector's pods: node, restarts, and the lines of their logs that are not about delivery (for a failure's message). */
  const collectorPods = async () => (await Promise.all((await kube.list<V1Pod>('v1', 'Pod', COLLECTOR_NAMESPACE)).map(async (p) => {
    const log = await kube.podLog(COLLECTOR_NAMESPACE, p.metadata!.name!, 'collector', { tailLines: 200 }).catch((err: Error) => err.message);
    const notable = log.split('\n').filter((l) => /"level":"(warn|error)"|Resuming|Started watching|Stopping|Shutdown/.test(l) && !l.includes('Exporting failed')).map((l) => l.slice(0, 400));
    return `${p.metadata!.name} on ${p.spec?.nodeName} (restarts ${p.status?.containerStatuses?.[0]?.restartCount}, started ${p.status?.startTime}): ${notable.join(' | ')}`;
  }))).join('\n');
  /** Waits until the collector's DaemonSet has rolled out its newest template on every node (a drain added or removed rolls it). */
  const rolledOut = () => eventually(() => 'the collector to roll out', async () => {
    const ds = await kube.read<V1DaemonSet>('apps/v1', 'DaemonSet', 'collector', COLLECTOR_NAMESPACE);
    const st = ds?.status;
    return ds && st && st.observedGeneration === ds.metadata?.generation && st.desiredNumberScheduled > 0 && st.updatedNumberScheduled === st.desiredNumberScheduled
      && st.numberReady === st.desiredNumberScheduled && (st.numberUnavailable ?? 0) === 0 ? true : undefined;
  }, 90_000);
  const emit = async (app: string, q: string) => {
    const r = await httpThroughIngress(tb!.SLIPWAY_TEST_INGRESS!, `${app}.${BASE_DOMAIN}`, 10_000, `/emit?${q}`);
    assert.equal(r.status, 200, r.body);
  };

  let ready = false;
  /** The apps' working copy (both were pushed from it). */
  let wd = '';
  let tokens: { rsyslog: string; tls: string; b: string } = { rsyslog: '', tls: '', b: '' };

  /**
   * A's N lines (tag `a`, N/10 a second) and B's 1000 (tag `b`, 100/s): both for 10 s; `during` runs
   * meanwhile. Every line reaches both of A's drains once and B's once; no line of B reaches A's
   * drains nor of A B's.
   */
  const runAndCheck = async (t: { diagnostic: (m: string) => void }, a: string, b: string, N: number, during: (() => Promise<void>) | undefined) => {
    const NB = 1000;
    await Promise.all([emit(APPS.a, `tag=${a}&from=1&to=${N}&per_s=${N / 10}`), emit(APPS.b, `tag=${b}&from=1&to=${NB}&per_s=100`)]);
    await during?.();
    try {
      await eventually(() => `all ${N} lines at both of A's drains (rsyslog ${gaps(seqs(rsyslog.got(), a), N)}; https ${gaps(seqs(tlsReceiver.got, a), N)}; B ${gaps(seqs(bReceiver.got, b), NB)})`, async () =>
        (new Set(seqs(rsyslog.got(), a)).size >= N && new Set(seqs(tlsReceiver.got, a)).size >= N && new Set(seqs(bReceiver.got, b)).size >= NB ? true : undefined), 60_000);
    } catch (err) {
      t.diagnostic(`collector pods now: ${await collectorPods()}`);
      throw err;
    }
    await new Promise((f) => setTimeout(f, 2000)); // any repeat would have come by now
    assertAllOnce(seqs(rsyslog.got(), a), N, 'rsyslog (TLS)');
    assertAllOnce(seqs(tlsReceiver.got, a), N, 'the HTTPS endpoint');
    assertAllOnce(seqs(bReceiver.got, b), NB, "B's drain");
    // Tenants apart: no line of B at A's drains, none of A at B's.
    for (const [what, got] of [['rsyslog', rsyslog.got()], ['the HTTPS endpoint', tlsReceiver.got]] as const) {
      assert.equal(got.filter((g) => g.msg.startsWith(`${b} `) || g.msg.startsWith('bwarm ')).length, 0, `${what} got none of B's lines`);
    }
    assert.equal(bReceiver.got.filter((g) => g.msg.startsWith(`${a} `) || g.msg.startsWith('warm ')).length, 0, "B's drain got none of A's lines");
    // Heroku's HTTPS drain: Basic auth from the URL, the logplex headers, the count of the frames.
    const post = tlsReceiver.posts.at(-1)!;
    assert.deepEqual({ ...post, frames: post.frames > 0 }, { auth: `Basic ${Buffer.from('drain:s3cret').toString('base64')}`, type: 'application/logplex-1', count: String(post.frames), token: tokens.tls, frames: true });
    // Heroku's fields: the drain's own token as the host, `app`, the process type and instance.
    const sample = tlsReceiver.got.find((g) => g.msg.startsWith(`${a} seq=1 `))!;
    assert.equal(sample.host, tokens.tls);
    assert.equal(sample.app, 'app');
    assert.match(sample.proc, /^web\.[a-z0-9]{5}$/);
    assert.equal(rsyslog.got().find((g) => g.msg.startsWith(`${a} seq=1 `))!.host, tokens.rsyslog);
    assert.equal(bReceiver.got.find((g) => g.msg.startsWith(`${b} seq=1 `))!.host, tokens.b);
    // Latency from the app's stdout to the HTTPS endpoint (the pods' clocks are this machine's).
    const lat = tlsReceiver.got.map((g) => {
      const m = new RegExp(`^${a} seq=\\d+ at=(\\d+)$`).exec(g.msg);
      return m ? g.at - Number(m[1]) : undefined;
    }).filter((x): x is number => x !== undefined);
    t.diagnostic(`${a}: line latency to the HTTPS endpoint: p50 ${percentile(lat, 50)} ms, p90 ${percentile(lat, 90)} ms, p99 ${percentile(lat, 99)} ms, max ${Math.max(...lat)} ms`);
  };

  before(async () => {
    ({ tb, server: s, builder } = await startWithApps(NEEDS, APPS, {
      SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240',
      SLIPWAY_COLLECTOR_IMAGE: process.env.SLIPWAY_COLLECTOR_IMAGE ?? '', SLIPWAY_COLLECTOR_POD_LOGS: process.env.SLIPWAY_COLLECTOR_POD_LOGS ?? '',
      SLIPWAY_COLLECTOR_STATE_DIR: process.env.SLIPWAY_COLLECTOR_STATE_DIR ?? '',
      // The server's events, in a folder of this machine (the testbed's node) that the collector mounts.
      SLIPWAY_COLLECTOR_EVENTS_DIR: join(dir, 'drain-events'),
      // B sleeps once (its sleep and wake as app[slipway] lines): a waker, and a sleep round every second.
      SLIPWAY_WAKER_ADDRESS: hostAddress(), SLIPWAY_WAKER_PORT: '0', SLIPWAY_SLEEP_ROUND_S: '1',
    }, { buildTimeoutMs: PUSH_MS }) ?? {});
    if (!tb) return;
    kube = new KubeClient(tb.KUBECONFIG!);
    const node = await kube.read<V1Node>('v1', 'Node', tb.SLIPWAY_NODE_NAME!);
    nodeIp = node?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';
    // The receivers' certificate, for the node's address, from the testbed's drain CA.
    const ca = join(tb.SLIPWAY_TEST_DRAIN_CA!, 'ca.pem');
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${nodeIp}`,
      '-keyout', key, '-out', join(dir, 'req.pem')], { stdio: 'pipe' });
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=IP:${nodeIp}\nextendedKeyUsage=serverAuth\n`);
    execFileSync('openssl', ['x509', '-req', '-in', join(dir, 'req.pem'), '-CA', ca, '-CAkey', join(tb.SLIPWAY_TEST_DRAIN_CA!, 'ca.key'), '-CAcreateserial',
      '-days', '2', '-extfile', join(dir, 'ext.cnf'), '-out', cert], { stdio: 'pipe' });
    await rsyslog.start(dir, { ca, cert, key });
    await tlsReceiver.start({ key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') });
    await bReceiver.start(undefined);
    await otlp.start({ key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') });
  });
  after(async () => {
    // The drains go with their apps; the collector goes with the last drain.
    await destroyApps(s, builder, APPS);
    rsyslog.stop();
    tlsReceiver.close();
    bReceiver.close();
    otlp.server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a non-admin's drain to 127.0.0.1 or into 10.0.0.0/8 is refused, and nothing is stored", async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dev = await makeKey(s.dir, `dev-${suffix}`);
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    assert.equal((await ssh(`access:grant ${APPS.a} ${dev.name}`)).exitCode, 0);
    for (const url of ['syslog+tls://127.0.0.1:6514', 'syslog://10.1.2.3:514']) {
      const r = await s.ssh(dev, `drains:add ${APPS.a} ${url}`);
      assert.equal(r.exitCode, 1, r.stdout);
      assert.match(r.stderr, /Only an admin may add a drain to .*an address inside this server's networks; nothing was changed\./);
    }
    const listed = await s.ssh(dev, `drains ${APPS.a} --json`);
    assert.deepEqual(JSON.parse(listed.stdout), []);
    const global = await s.ssh(dev, 'drains:add --global syslog+tls://logs.example.com:6514');
    assert.equal(global.exitCode, 1);
    assert.match(global.stderr, /Only admins may manage global drains/);
  });

  test("every line reaches both of A's drains once, in Heroku's format; B's drain gets B's lines only", { timeout: 2 * PUSH_MS + 10 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    wd = fixtureCopy('drain-app');
    await s.commitAll(wd, 'drain app');
    await Promise.all([deployApp(s, APPS.a, wd), deployApp(s, APPS.b, wd)]);
    for (const app of Object.values(APPS)) await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, `${app}.${BASE_DOMAIN}`, (b) => b === 'ok\n', ROUTE_MS);

    // The first drain: the collector starts on every node. A prints a line every 100 ms meanwhile.
    await emit(APPS.a, 'tag=warm&from=1&to=600&per_s=10');
    const addedAt = Date.now();
    const add = await ssh(`drains:add ${APPS.a} syslog+tls://${nodeIp}:${rsyslog.port} --json`);
    assert.equal(add.exitCode, 0, add.stderr);
    const rsyslogDrain = JSON.parse(add.stdout) as { token: string };
    assert.match(rsyslogDrain.token, /^d\.[0-9a-f-]{36}$/);
    const firstAt = await eventually(() => 'the first line at rsyslog', async () => rsyslog.got().find((g) => g.msg.startsWith('warm seq='))?.at ?? (rsyslog.got().length > 0 ? Date.now() : undefined), 120_000);
    t.diagnostic(`first line at a new drain (the collector's first start): ${((firstAt - addedAt) / 1000).toFixed(1)} s after drains:add (rsyslog's clock: whole seconds)`);

    // The second drain of A (the collector's pods roll) and B's.
    const add2At = Date.now();
    const tls2 = await ssh(`drains:add ${APPS.a} https://drain:s3cret@${nodeIp}:${tlsReceiver.port}/logs --json`);
    assert.equal(tls2.exitCode, 0, tls2.stderr);
    const tlsDrain = JSON.parse(tls2.stdout) as { token: string; url: string };
    assert.equal(tlsDrain.url, `https://drain:***@${nodeIp}:${tlsReceiver.port}/logs`, 'the password is never shown');
    const firstAt2 = await eventually(() => 'the first line at the second drain', async () => tlsReceiver.got[0]?.at, 60_000);
    t.diagnostic(`first line at a new drain (the collector's pods rolled): ${((firstAt2 - add2At) / 1000).toFixed(1)} s after drains:add`);
    const bAdd = await ssh(`drains:add ${APPS.b} syslog://${nodeIp}:${bReceiver.port} --json`);
    assert.equal(bAdd.exitCode, 0, bAdd.stderr);
    const bDrain = JSON.parse(bAdd.stdout) as { token: string };
    // drains:test connects from the server, which does not trust the testbed's drain CA (the
    // collector's image does): the TLS error is its answer. B's plain syslog endpoint takes the line.
    const tested = await ssh(`drains:test ${APPS.a} ${rsyslogDrain.token}`);
    assert.equal(tested.exitCode, 0, tested.stderr);
    assert.match(tested.stdout, new RegExp(`^${nodeIp.replace(/\./g, '\\.')}:${rsyslog.port} failed: SELF_SIGNED_CERT_IN_CHAIN self-signed certificate in certificate chain\\.$`));
    const testedB = await ssh(`drains:test ${APPS.b} ${bDrain.token}`);
    assert.equal(testedB.stdout.trim(), `${nodeIp}:${bReceiver.port} took a test line over plain TCP (not encrypted).`, testedB.stderr);
    await eventually(() => 'the test line at B\'s drain', async () => (bReceiver.got.some((g) => g.app === 'app' && g.proc === 'slipway' && g.msg === 'drains:test from Slipway' && g.host === bDrain.token) ? true : undefined), 5000);
    // The collector has rolled out on every node (a line printed while a node's collector is being
    // replaced may be lost: see docs/drains.md), and B's drain receives.
    // B prints a line every 500 ms for a minute; one of them reaching its drain proves the route.
    // (In one clean-clone CI a single line printed as the roll ended never came, the cause not
    // found; should none of these come, the collector's pods and their warnings are printed.)
    await rolledOut();
    await emit(APPS.b, 'tag=bwarm&from=1&to=120&per_s=2');
    try {
      await eventually(() => "B's first line", async () => (seqs(bReceiver.got, 'bwarm').length > 0 ? true : undefined), 90_000);
    } catch (err) {
      t.diagnostic(`collector pods now: ${await collectorPods()}`);
      throw err;
    }
    tokens = { rsyslog: rsyslogDrain.token, tls: tlsDrain.token, b: bDrain.token };
    ready = true;

    // The run: 3000 lines from A (300/s) and 1000 from B (100/s), the collector left alone.
    await runAndCheck(t, 'run', 'bee', 3000, undefined);
  });

  test("10,000 numbered lines reach both of A's drains once across a restart of the collector's pods in the middle", {
    timeout: 5 * ROUTE_MS,
  }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !ready) return;
    // The issue's run: 10,000 lines from A (1,000/s) and 1000 from B (100/s), the collector's pods deleted halfway.
    await runAndCheck(t, 'rerun', 'beer', 10_000, async () => {
      await new Promise((f) => setTimeout(f, 5000));
      const pods = await kube.list<V1Pod>('v1', 'Pod', COLLECTOR_NAMESPACE);
      await Promise.all(pods.map((p) => kube.remove('v1', 'Pod', p.metadata!.name!, COLLECTOR_NAMESPACE)));
      t.diagnostic(`deleted ${pods.length} collector pods 5 s into the run`);
    });
  });

  test('a drain whose endpoint is down shows its error in drains:info within 10 s; the other drain keeps receiving; the app answers as before', { timeout: 5 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !ready) return;
    // A drain whose endpoint is down: drains:info shows its error within 10 s; rsyslog keeps receiving.
    // The app's own latency through the ingress, before and while its drain is down (40 requests,
    // one at a time): the collector reads its log from the node, so nothing waits on a drain.
    const latency = async () => {
      const ms: number[] = [];
      for (let i = 0; i < 40; i++) {
        const started = performance.now();
        const r = await httpThroughIngress(tb!.SLIPWAY_TEST_INGRESS!, `${APPS.a}.${BASE_DOMAIN}`, 10_000, '/');
        ms.push(performance.now() - started);
        assert.equal(r.status, 200, r.body);
      }
      return `p50 ${percentile(ms, 50).toFixed(1)} ms, p90 ${percentile(ms, 90).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`;
    };
    const latencyBefore = await latency();
    const closed = await freePort();
    const down = await ssh(`drains:add ${APPS.a} syslog://${nodeIp}:${closed} --json`);
    assert.equal(down.exitCode, 0, down.stderr);
    const downToken = (JSON.parse(down.stdout) as { token: string }).token;
    // The collector rolls for the new drain; lines printed from now on reach it.
    await rolledOut();
    const downStart = Date.now();
    await emit(APPS.a, 'tag=down&from=1&to=200&per_s=20');
    const shownAfter = await eventually(() => 'the down drain in drains:info', async () => {
      const info = JSON.parse((await ssh(`drains:info ${APPS.a} --json`)).stdout) as { drains: { token: string; lastError: { message: string } | null }[] };
      const d = info.drains.find((x) => x.token === downToken);
      return d?.lastError ? Date.now() - downStart : undefined;
    }, 30_000);
    t.diagnostic(`the down drain's error showed in drains:info ${(shownAfter / 1000).toFixed(1)} s after its app printed`);
    assert.ok(shownAfter <= 10_000, `shown after ${shownAfter} ms`);
    const infoText = await ssh(`drains:info ${APPS.a}`);
    assert.match(infoText.stdout, new RegExp(`Last error: +dial tcp ${nodeIp.replace(/\./g, '\\.')}:${closed}: connect: connection refused`));
    await eventually(() => 'the down lines at rsyslog while the other drain is down', async () => (new Set(seqs(rsyslog.got(), 'down')).size >= 200 ? true : undefined), 60_000);
    t.diagnostic(`A's requests through the ingress: ${latencyBefore} before the down drain; ${await latency()} while it is down (its error shown, the collector retrying)`);

    // The collector's memory on each node.
    for (const p of await kube.list<V1Pod>('v1', 'Pod', COLLECTOR_NAMESPACE)) {
      const m = await kube.proxyGet(COLLECTOR_NAMESPACE, p.metadata!.name!, COLLECTOR_METRICS_PORT, '/metrics', { timeoutMs: 5000, maxBytes: 4 << 20 });
      const rss = 'body' in m ? /^otelcol_process_memory_rss(?:_bytes)?(?:\{[^}]*\})? (\S+)/m.exec(m.body)?.[1] : undefined;
      t.diagnostic(`collector ${p.metadata!.name} on ${p.spec?.nodeName}: RSS ${rss ? (Number(rss) / 2 ** 20).toFixed(1) : '?'} MiB`);
    }
  });

  test("an otlp+https:// drain receives B's lines as OTLP log records, with its header", { timeout: 5 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !ready) return;
    const add = await ssh(`drains:add ${APPS.b} otlp+https://${nodeIp}:${otlp.port}/v1/logs --header X-Key=k3y --json`);
    assert.equal(add.exitCode, 0, add.stderr);
    const d = JSON.parse(add.stdout) as { token: string; headers: string[] };
    assert.deepEqual(d.headers, ['X-Key'], 'the header name, never its value');
    await rolledOut();
    await emit(APPS.b, 'tag=otel&from=1&to=300&per_s=100');
    await eventually(() => `B's 300 lines as OTLP records (${new Set(otlp.seqs('otel')).size})`, async () => (new Set(otlp.seqs('otel')).size >= 300 ? true : undefined), 60_000);
    const r = otlp.requests.find((x) => x.body.includes('otel seq=1 '))!;
    assert.deepEqual({ type: r.type, key: r.key }, { type: 'application/x-protobuf', key: 'k3y' });
    assert.ok(r.body.includes(d.token), "the drain's token is in the records");
    assert.ok(r.body.includes(`slipway-${APPS.b}`), "the app's namespace is a resource attribute");
    assert.equal(otlp.requests.filter((x) => /(^|[^a-z])(run|rerun|warm|down) seq=/.test(x.body)).length, 0, "none of A's lines");
  });

  test("a push, a rollback, a crash and ps:scale reach B's drains as app[slipway] lines, and as OTLP records with the release and the actor; A's drains get none", { timeout: PUSH_MS + 5 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !ready) return;
    // The same repository as B's first push, one commit on.
    writeFileSync(join(wd, 'VERSION'), `${suffix}-2\n`);
    await s.commitAll(wd, 'drain app, second push');
    await deployApp(s, APPS.b, wd);
    const back = await ssh(`rollback ${APPS.b}`);
    assert.equal(back.exitCode, 0, back.stderr);
    await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, `${APPS.b}.${BASE_DOMAIN}`, (b) => b === 'ok\n', ROUTE_MS);
    const exited = await httpThroughIngress(tb!.SLIPWAY_TEST_INGRESS!, `${APPS.b}.${BASE_DOMAIN}`, 10_000, '/exit?code=3');
    assert.equal(exited.status, 200, exited.body);
    // A change of the formation, and back.
    for (const n of [2, 1]) {
      const scaled = await ssh(`ps:scale ${APPS.b} web=${n}`);
      assert.equal(scaled.exitCode, 0, scaled.stderr);
    }
    const events = () => bReceiver.got.filter((g) => g.app === 'app' && g.proc === 'slipway' && g.msg !== 'drains:test from Slipway').map((g) => g.msg);
    const wanted = [
      /^Build started by admin$/,
      /^Release v\d+ created by admin: Deploy [0-9a-f]{7}.* \(image sha256:[0-9a-f]{64}\)$/,
      /^Build by admin succeeded: v\d+$/,
      /^Release v\d+ created by admin: Rollback to v\d+/,
      /^Release v\d+ is live$/,
      /^Process web\.[a-z0-9]{5} exited with status 3 \(Error\)$/,
      /^Scaled to web=2$/,
      /^Scaled to web=1$/,
      /^ps:scale by admin succeeded: v\d+$/,
    ];
    await eventually(() => `every event of B at its syslog drain (got: ${JSON.stringify(events())})`, async () => (wanted.every((re) => events().some((m) => re.test(m))) ? true : undefined), 60_000);
    t.diagnostic(`B's app[slipway] lines: ${events().join(' | ')}`);
    assert.ok(bReceiver.got.filter((g) => g.proc === 'slipway').every((g) => g.host === tokens.b), "the drain's token on its events too");
    // The OTLP drain: the same lines as records, with the release and the actor as attributes.
    const rollback = () => otlp.requests.find((x) => x.body.includes('Rollback to v'));
    await eventually(() => 'the rollback as an OTLP record', async () => rollback() ?? undefined, 30_000);
    const body = rollback()!.body;
    for (const word of ['release', 'actor', 'admin', 'event']) assert.ok(body.includes(word), `the record carries ${word}`);
    assert.match(body, /v\d+/);
    // A's drains: none of B's events.
    for (const [what, got] of [['rsyslog', rsyslog.got()], ['the HTTPS endpoint', tlsReceiver.got]] as const) {
      assert.equal(got.filter((g) => /Rollback to v|exited with status 3/.test(g.msg)).length, 0, `${what} got none of B's events`);
    }
  });

  test("B sleeping when idle and woken by ps:wake reach B's syslog drain as app[slipway] lines", { timeout: 5 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !ready) return;
    const set = await ssh(`ps:sleep ${APPS.b} --after 3`);
    assert.equal(set.exitCode, 0, set.stderr);
    const events = () => bReceiver.got.filter((g) => g.app === 'app' && g.proc === 'slipway').map((g) => g.msg);
    try {
      await eventually(() => `${APPS.b} to sleep after 3 s without a request`, async () => (JSON.parse((await ssh(`ps:sleep ${APPS.b} --json`)).stdout) as { asleepSince: string | null }).asleepSince !== null, 3 * ROUTE_MS, 250);
      const woke = await ssh(`ps:wake ${APPS.b}`);
      assert.equal(woke.exitCode, 0, woke.stderr);
      await eventually(() => `B's sleep and wake at its syslog drain (its last events: ${JSON.stringify(events().slice(-6))})`,
        async () => events().some((m) => m.startsWith('Asleep: no request within its ps:sleep time')) && events().includes('Woke: web instances ready again'), ROUTE_MS);
    } finally {
      await ssh(`ps:sleep ${APPS.b} --after 0`);
    }
  });

  let flooded = false;
  test("2,000 lines/s for 10 s reach the HTTPS drain, none lost or repeated; the collector's CPU and memory meanwhile", { timeout: 5 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !ready) return;
    const N = 20_000;
    const metric = async (name: RegExp) => {
      let sum = 0;
      for (const p of await kube.list<V1Pod>('v1', 'Pod', COLLECTOR_NAMESPACE)) {
        const m = await kube.proxyGet(COLLECTOR_NAMESPACE, p.metadata!.name!, COLLECTOR_METRICS_PORT, '/metrics', { timeoutMs: 5000, maxBytes: 4 << 20 });
        const v = 'body' in m ? name.exec(m.body)?.[1] : undefined;
        sum += Number(v ?? NaN);
      }
      return sum;
    };
    const cpu = /^otelcol_process_cpu_seconds(?:_total)?(?:\{[^}]*\})? (\S+)/m;
    const rss = /^otelcol_process_memory_rss(?:_bytes)?(?:\{[^}]*\})? (\S+)/m;
    const cpuBefore = await metric(cpu);
    const started = Date.now();
    await emit(APPS.a, `tag=flood&from=1&to=${N}&per_s=2000`);
    let peakRss = 0;
    await eventually(() => `all ${N} lines at the HTTPS drain (${gaps(seqs(tlsReceiver.got, 'flood'), N)})`, async () => {
      peakRss = Math.max(peakRss, await metric(rss));
      return new Set(seqs(tlsReceiver.got, 'flood')).size >= N ? true : undefined;
    }, 120_000, 1000);
    const wall = (Date.now() - started) / 1000;
    const cores = (await metric(cpu)) - cpuBefore;
    t.diagnostic(`${N} lines at 2,000/s: all at the HTTPS drain ${wall.toFixed(1)} s after the first was printed; the collectors used ${cores.toFixed(1)} CPU-seconds in all (${(cores / wall).toFixed(2)} core on average over the nodes), peak RSS ${(peakRss / 2 ** 20).toFixed(1)} MiB summed over the nodes`);
    await new Promise((f) => setTimeout(f, 5000)); // rsyslog's share, for the next test
    assertAllOnce(seqs(tlsReceiver.got, 'flood'), N, 'the HTTPS endpoint, 2,000 lines/s');
    flooded = true;
  });

  test('at 2,000 lines/s the syslog+tls drain (rsyslog) loses none either', (t) => {
    if (!needTestbed(t, NEEDS) || !s || !flooded) return;
    const got = seqs(rsyslog.got(), 'flood');
    t.diagnostic(`rsyslog: ${gaps(got, 20_000)}`);
    assertAllOnce(got, 20_000, 'rsyslog (TLS), 2,000 lines/s');
  });

  test("doctor finds the node of the server's machine, whose collector reads the server's events", async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !ready) return;
    const doctor = JSON.parse((await ssh('doctor --json')).stdout) as { name: string; ok: boolean; detail: string }[];
    assert.deepEqual(doctor.find((c) => c.name === 'drain events'), { name: 'drain events', ok: true, detail: `the collector on ${tb!.SLIPWAY_NODE_NAME} (this machine) reads Slipway's events from ${join(dir, 'drain-events')}` });
  });

  test("B's database: its backup and its restore drills, one passed and one failed, reach B's syslog drain as app[slipway] lines", { timeout: 6 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, [...NEEDS, 'SLIPWAY_VALKEY_IMAGE']) || !s || !ready) return;
    const created = await ssh(`addons:create ${APPS.b} valkey --size 256Mi`);
    assert.equal(created.exitCode, 0, created.stderr + created.stdout);
    // The daily round: a snapshot, then its drill (the heartbeat key first, which the drill looks for).
    assert.equal((await ssh('rounds:run db-heartbeat')).exitCode, 0);
    const round = await ssh('rounds:run db-backups');
    assert.equal(round.exitCode, 0, round.stderr + round.stdout);
    assert.doesNotMatch(round.stdout, /ran and failed/, round.stdout);
    // A damaged snapshot: the next drill fails at verify.
    await damageBackup(kube, `slipway-${APPS.b}`, 'valkey', NEWEST_VALKEY_SNAPSHOT);
    const bad = await ssh(`addons:verify ${APPS.b} valkey`);
    assert.equal(bad.exitCode, 1, bad.stdout);
    const events = () => bReceiver.got.filter((g) => g.app === 'app' && g.proc === 'slipway').map((g) => g.msg);
    const wanted = [
      /^Backup of valkey taken$/,
      /^Restore drill of valkey passed \(RPO \d+ s, RTO \d+ ms\)$/,
      /^Restore drill of valkey failed at verify: dump-\d{8}T\d{6}Z\.rdb is damaged/,
    ];
    await eventually(() => `B's backup and drills at its syslog drain (its last events: ${JSON.stringify(events().slice(-8))})`,
      async () => (wanted.every((re) => events().some((m) => re.test(m))) ? true : undefined), ROUTE_MS);
    t.diagnostic(`B's database lines: ${events().filter((m) => /^(Backup|Restore drill) /.test(m)).join(' | ')}`);
    for (const [what, got] of [['rsyslog', rsyslog.got()], ['the HTTPS endpoint', tlsReceiver.got]] as const) {
      assert.equal(got.filter((g) => /^(Backup of|Restore drill of) valkey/.test(g.msg)).length, 0, `${what} got none of B's database lines`);
    }
  });
});
