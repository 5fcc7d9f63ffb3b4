// Issue 16, item 7: a server killed with -9 mid-rollout (`web: 0/1 ready`) used to leave the
// cluster running the new release while the database called it failed and the previous one
// current; the next config:set then silently went back to the old code. Here a real server
// process (server/main.ts, real pack, real Kubernetes and node) is killed exactly there, started
// again, and must have put the current release back, removed the interactive one-off pod the dead
// process was attached to (but not one a live process owns, as the local CLI's would be), and
// show no stale lock.
import { servingWebSet, webSetNames } from '../support/web-set.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { run } from '../../server/exec.ts';
import { KubeClient } from '../../server/kube/client.ts';
import { kubeDeployer } from '../../server/backends.ts';
import { loadConfig } from '../../server/config.ts';
import type { V1Pod } from '../../server/kube/types.ts';
import { gitEnv, makeKey, remoteLines, sshOptions, type TestKey } from '../support/harness.ts';
import { clusterEnv, fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';
import { Readable } from 'node:stream';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const MAIN = join(import.meta.dirname, '../../server/main.ts');
const BASE_DOMAIN = 'slipway.test';
const APP = `crash-${randomBytes(3).toString('hex')}`;
const NS = `slipway-${APP}`;
const PUSH_MS = 10 * 60_000;

/**
 * A TCP port free right now on 127.0.0.1, below the kernel's ephemeral range (the server is given
 * fixed ports: it is restarted on them, and files running beside this one take ephemeral ports).
 */
async function freePort(): Promise<number> {
  const below = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (below - 10_000));
    const s = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) {
      await new Promise((resolve) => s.close(resolve));
      return port;
    }
  }
}

describe('a server killed mid-rollout puts back what the database says runs when it starts again', { timeout: 30 * 60_000 }, () => {
  let tb: Record<string, string> | undefined;
  let dir: string;
  let admin: TestKey;
  let sshPort: number;
  let env: Record<string, string>;
  let server: ResultPromise | undefined;
  let kube: KubeClient;

  const ssh = (cmd: string) => run('ssh', [...sshOptions(admin), '-p', String(sshPort), 'git@127.0.0.1', cmd]);

  /** Starts server/main.ts in its own process group; resolves once it answers over SSH. */
  async function start(): Promise<void> {
    server = execa(process.execPath, [MAIN], { env, reject: false, detached: true, stdout: 'ignore', stderr: { file: join(dir, 'server.log'), append: true } });
    await eventually('the server to answer over SSH', async () => (await ssh('apps:list')).exitCode === 0, 120_000, 250);
  }

  /** kill -9 of the server and everything it started, as a power cut would. */
  async function kill9(): Promise<void> {
    process.kill(-server!.pid!, 'SIGKILL');
    await server;
    server = undefined;
  }

  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    dir = mkdtempSync(join(tmpdir(), 'slipway-reconcile-'));
    admin = await makeKey(dir, 'admin');
    sshPort = await freePort();
    env = {
      PATH: process.env.PATH!, HOME: dir,
      SLIPWAY_DATA_DIR: join(dir, 'data'), SLIPWAY_SSH_PORT: String(sshPort), SLIPWAY_HTTP_PORT: String(await freePort()), SLIPWAY_BIND: '127.0.0.1',
      SLIPWAY_ADMIN_KEYS: `${admin.path}.pub`, SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '900', SLIPWAY_GC_INTERVAL_S: '0',
      SLIPWAY_BUILDER: tb.SLIPWAY_BUILDER!, SLIPWAY_REGISTRY: tb.SLIPWAY_REGISTRY!, SLIPWAY_PACK: tb.SLIPWAY_PACK!, KUBECONFIG: tb.KUBECONFIG!, DOCKER_HOST: tb.DOCKER_HOST!, ...clusterEnv(),
      ...Object.fromEntries(['SLIPWAY_REGISTRY_PULL', 'SLIPWAY_INGRESS_CLASS'].filter((k) => process.env[k]).map((k) => [k, process.env[k]!])),
    };
    kube = new KubeClient(tb.KUBECONFIG!);
    await start();
    assert.equal((await ssh(`apps:create ${APP}`)).exitCode, 0);
  });
  after(async () => {
    if (!tb) return;
    if (!server) await start().catch(() => undefined);
    await ssh(`apps:destroy ${APP} --confirm ${APP}`);
    if (server) process.kill(-server.pid!, 'SIGTERM');
    await server;
    rmSync(dir, { recursive: true, force: true });
  });

  test('kill -9 at `web: 0/1 ready`, start: v1 runs again, the dead server\'s run pod is gone, a live owner\'s stays, no stale lock', { timeout: 3 * PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS)) return;
    const wd = fixtureCopy('node-app');
    const genv = gitEnv(join(dir, 'home'), admin);
    mkdirSync(join(dir, 'home'), { recursive: true });
    const git = (args: string[]) => run('git', args, { cwd: wd, env: genv });
    await git(['init', '-q', '-b', 'main']);
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', 'v1']);
    const remote = `ssh://git@127.0.0.1:${sshPort}/${APP}.git`;
    const v1 = await git(['push', remote, 'main']);
    assert.equal(v1.exitCode, 0, v1.stderr);
    const ingress = tb!.SLIPWAY_TEST_INGRESS!;
    await waitForBody(ingress, `${APP}.${BASE_DOMAIN}`, (b) => b.startsWith('hello from slipway'), 60_000);

    // A live owner's interactive pod (this test process stands in for the local CLI).
    const image = (JSON.parse((await ssh(`releases:info ${APP} v1 --json`)).stdout) as { image: string }).image;
    const deployer = kubeDeployer(loadConfig({ ...env }));
    const keep = new AbortController();
    const live = deployer.oneOff.run({ app: APP, version: 1, image, processes: [], config: {}, formation: {}, domains: [] },
      { command: ['sleep', '600'], timeoutSeconds: 900, signal: keep.signal, io: { stdin: Readable.from([]), stdout: async () => {}, stderr: async () => {} } }).catch(() => undefined);
    // The dead server's: an interactive `run` attached over SSH when it is killed.
    const attached = run('ssh', [...sshOptions(admin), '-p', String(sshPort), 'git@127.0.0.1', `run ${APP} -- sleep 600`]);
    const runPods = () => kube.list<V1Pod>('v1', 'Pod', NS, { labelSelector: 'slipway/run=interactive' });
    await eventually('two interactive run pods running', async () => (await runPods()).filter((p) => p.status?.phase === 'Running').length === 2, 120_000, 500);
    const livePod = (await runPods()).find((p) => p.metadata?.annotations?.['slipway/owner']?.includes(`/${process.pid}/`))?.metadata?.name;
    assert.ok(livePod, 'the live owner\'s pod is annotated with its process');

    // v2's web process never listens: its rollout waits at `web: 0/1 ready` until the server is killed.
    writeFileSync(join(wd, 'Procfile'), 'web: sleep 3600\n');
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', 'v2 never ready']);
    const push = execa('git', ['push', remote, 'main'], { cwd: wd, env: genv, reject: false, buffer: false });
    let transcript = '';
    await new Promise<void>((resolve, reject) => {
      push.stderr!.on('data', (d: Buffer) => { transcript += d.toString('utf8'); if (transcript.includes('web: 0/1 ready')) resolve(); });
      void push.then(() => reject(new Error(`the push ended before its rollout waited: ${transcript}`)));
    });
    await kill9();
    await push;
    await attached;
    // The killed push's instances run beside v1's, but the traffic never left v1 (the switch comes
    // only after they are ready).
    assert.deepEqual(await webSetNames(kube, NS), ['web-v1', 'web-v2'], 'before the restart the cluster runs the release the push was killed in');
    assert.equal((await servingWebSet(kube, NS))?.metadata?.name, 'web-v1');

    await start();
    // Reconciled before the server accepted anything: at once, not eventually.
    assert.deepEqual(await webSetNames(kube, NS), ['web-v1'], remoteLines(transcript).join('\n'));
    assert.equal((await servingWebSet(kube, NS))?.metadata?.name, 'web-v1');
    const releases = JSON.parse((await ssh(`releases ${APP} --json`)).stdout) as { version: number; status: string }[];
    assert.deepEqual(releases.map((r) => [r.version, r.status]), [[2, 'failed'], [1, 'succeeded']]);
    const info = await ssh(`apps:info ${APP}`);
    assert.match(info.stdout, /Locked:\s+no$/m, info.stdout);
    await eventually('the dead server\'s run pod to be gone', async () => {
      const names = (await runPods()).filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name);
      return names.length === 1 && names[0] === livePod;
    }, 60_000, 500);
    await waitForBody(ingress, `${APP}.${BASE_DOMAIN}`, (b) => b.startsWith('hello from slipway'), 60_000);
    keep.abort();
    await live;
  });
});
