// Builds in the cluster (SLIPWAY_BUILD_BACKEND=cluster) on the testbed's real pieces: a build pod
// per push in slipway-builds running the offline builder's lifecycle phases on the testbed node,
// exporting to the testbed registry with a cache image, then the real Kubernetes deployer and the
// app answering through the ingress. No Docker engine and no pack are used by the server here.
// What is asserted is what a user sees (exit codes, `remote:` lines, HTTP bodies) and what is left
// in the cluster (no build pods).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ClusterBuilder, clusterBuildSettings } from '../../server/cluster-build/builder.ts';
import { isLoopbackRegistry } from '../../server/cluster-build/refs.ts';
import { BUILD_CONTAINER, BUILD_NAMESPACE, REGISTRY_CONTAINER, ownedSelector, splitHostPort } from '../../server/cluster-build/pod.ts';
import { loadConfig } from '../../server/config.ts';
import { run } from '../../server/exec.ts';
import { KubeClient } from '../../server/kube/client.ts';
import { kubeDeployer } from '../../server/backends.ts';
import type { V1Pod } from '../../server/kube/types.ts';
import { gitEnv, makeKey, remoteLines, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { clusterEnv, fixtureCopy, needTestbed, registryAuthEnv, testbedEnv } from '../support/testbed.ts';
import { waitForBody } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const suffix = randomBytes(3).toString('hex');
const APPS = { web: `cb-web-${suffix}`, probe: `cb-probe-${suffix}`, hog: `cb-hog-${suffix}`, gone: `cb-gone-${suffix}`, q1: `cb-q1-${suffix}`, q2: `cb-q2-${suffix}`, q3: `cb-q3-${suffix}`, thief: `cb-thief-${suffix}` };
const HELLO = 'hello from slipway';
/** A file only the web app's image has (the thief's build tries to get it under its own image). */
const VICTIM_FILE = 'victim-only.txt';
const VICTIM_TEXT = `only ${APPS.web} has this`;
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 30_000;
/** Low enough that the hog fixture's build passes it quickly, high enough for the lifecycle and npm. */
const BUILD_MEMORY = '768Mi';

describe('cluster builds: a pod per push, phases streamed, cache image, limits, queue', { timeout: 60 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: ClusterBuilder | undefined;
  let kube: KubeClient;
  let owner: string;
  const ssh = (command: string, input?: string) => s!.ssh(s!.admin, command, input);
  const host = (app: string) => `${app}.${BASE_DOMAIN}`;
  /** This server's build pods that are building an app (a spare, waiting for the next push, names none). */
  const buildPods = async () => (await kube.list<V1Pod>('v1', 'Pod', BUILD_NAMESPACE, { labelSelector: `${ownedSelector(owner)},slipway/app` })).map((p) => p.metadata!.name!);
  const allBuildPods = async () => (await kube.list<V1Pod>('v1', 'Pod', BUILD_NAMESPACE, { labelSelector: ownedSelector(owner) })).map((p) => p.metadata!.name!);
  /** A committed copy of the Node fixture whose npm `build` script is `script`, with `files` added. */
  const withBuildScript = async (script: string, files: Record<string, string> = {}) => {
    const dir = fixtureCopy('node-app');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    pkg.scripts.build = script;
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
    await s!.commitAll(dir, 'build script');
    return dir;
  };
  const push = async (app: string, dir: string) => {
    const started = Date.now();
    const r = await s!.git(['push', s!.sshRemote(app), 'main'], { cwd: dir });
    return { code: r.exitCode, lines: remoteLines(r.stderr), ms: Date.now() - started };
  };

  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    const env = {
      SLIPWAY_BUILDER: tb.SLIPWAY_BUILDER!, SLIPWAY_REGISTRY: tb.SLIPWAY_REGISTRY!, KUBECONFIG: tb.KUBECONFIG!, ...registryAuthEnv(), ...clusterEnv(),
      SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240',
      SLIPWAY_BUILD_BACKEND: 'cluster', SLIPWAY_BUILD_CPU: '500m', SLIPWAY_BUILD_MEMORY: BUILD_MEMORY, SLIPWAY_BUILD_CONCURRENCY: '2', SLIPWAY_BUILD_TIMEOUT_S: String(PUSH_MS / 1000),
      // No Docker engine and no pack for this server: the build must not need them.
      DOCKER_HOST: 'unix:///nonexistent/docker.sock', SLIPWAY_PACK: '/nonexistent/pack',
    };
    // The builder as server/backends.ts makes it, owned by a data dir of this test's own.
    const config = loadConfig({ ...env, SLIPWAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'slipway-cb-owner-')) });
    kube = new KubeClient(tb.KUBECONFIG!);
    builder = new ClusterBuilder(kube, clusterBuildSettings(config));
    owner = builder.settings.owner;
    s = await startTestServer(env, { builder, deployer: kubeDeployer(config) });
    for (const app of Object.values(APPS)) assert.equal((await ssh(`apps:create ${app}`)).exitCode, 0);
  });
  after(async () => {
    if (!s) return;
    await Promise.all(Object.values(APPS).map(async (app) => {
      await ssh(`apps:destroy ${app} --confirm ${app}`);
      await builder?.purgeCache(app);
    }));
    await s.close();
    assert.deepEqual(await allBuildPods(), [], 'a stopped server leaves no spare build pod');
  });

  let wd: string;
  let coldMs = 0;
  test('a push builds in a pod, streams each lifecycle phase, deploys, and the app answers at its URL', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    wd = fixtureCopy('node-app');
    writeFileSync(join(wd, VICTIM_FILE), `${VICTIM_TEXT}\n`);
    const sha = await s.commitAll(wd, 'node app');
    const r = await push(APPS.web, wd);
    coldMs = r.ms;
    assert.equal(r.code, 0, r.lines.join('\n'));
    assert.ok(r.lines.includes(`-----> Building ${APPS.web} (${sha.slice(0, 7)}) with ${tb!.SLIPWAY_BUILDER}`), r.lines.join('\n'));
    const phases = ['ANALYZING', 'DETECTING', 'RESTORING', 'BUILDING', 'EXPORTING'].map((p) => r.lines.indexOf(`       ===> ${p}`));
    assert.ok(phases.every((at, i) => at >= 0 && (i === 0 || at > phases[i - 1]!)), `each phase once, in order:\n${r.lines.join('\n')}`);
    // The buildpack's own steps stream between the headers.
    assert.ok(r.lines.slice(phases[3], phases[4]).some((l) => /^-----> /.test(l)), r.lines.join('\n'));
    const at = r.lines.indexOf('=====> Application deployed:');
    assert.ok(at >= 0, r.lines.join('\n'));
    assert.equal(r.lines[at + 1], `       http://${host(APPS.web)}`);
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.web), (b) => b === `${HELLO}\n`, ROUTE_MS), `${HELLO}\n`);
    const output = await ssh(`builds:output ${APPS.web}`);
    assert.equal(output.exitCode, 0, output.stderr);
    assert.match(output.stdout, /===> DETECTING[\s\S]*===> EXPORTING/);
    assert.deepEqual(await buildPods(), [], 'the build pod is gone once the push is over');
    // The next push's pod is started meanwhile: one, naming no app.
    await eventually('a spare build pod for the next push', async () => (await allBuildPods()).length === 1, 60_000, 250);
  });

  test('a code-only second push restores the cache image and reuses layers', { timeout: PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    appendFileSync(join(wd, 'server.js'), '\n// a code change\n');
    await s.commitAll(wd, 'code change');
    const r = await push(APPS.web, wd);
    assert.equal(r.code, 0, r.lines.join('\n'));
    assert.ok(r.lines.some((l) => /Restoring (data|metadata) for/.test(l)), r.lines.join('\n'));
    assert.ok(r.lines.some((l) => /Reusing (layer|cached layer|production dependencies|all dependencies)/.test(l)), r.lines.join('\n'));
    process.stderr.write(`cluster build: cold push ${(coldMs / 1000).toFixed(1)} s, warm code-only push ${(r.ms / 1000).toFixed(1)} s\n`);
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.web), (b) => b === `${HELLO}\n`, ROUTE_MS), `${HELLO}\n`);
  });

  test('on the pod network (SLIPWAY_BUILD_REGISTRY off loopback) a build pod has no token, reaches the build registry and not another app\'s pod', { timeout: 240_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const buildRegistry = process.env.SLIPWAY_BUILD_REGISTRY;
    if (!buildRegistry) {
      const why = 'SLIPWAY_BUILD_REGISTRY is unset (one-node testbed): build pods share the node\'s network there, outside their NetworkPolicy';
      process.stderr.write(`cluster build: skipped: ${why}\n`);
      t.skip(why);
      return;
    }
    assert.ok(!isLoopbackRegistry(buildRegistry), `SLIPWAY_BUILD_REGISTRY=${buildRegistry} is a loopback address: build pods would use the node's network`);
    assert.equal(builder!.settings.buildRegistry, buildRegistry);
    // The spare the earlier pushes left: a build pod like any, both containers running, no app yet.
    let pod: V1Pod | undefined;
    const runningSpare = async () => {
      await eventually('a running spare build pod', async () => {
        const pods = await kube.list<V1Pod>('v1', 'Pod', BUILD_NAMESPACE, { labelSelector: ownedSelector(owner), fieldSelector: 'status.phase=Running' });
        pod = pods.find((p) => (p.status?.containerStatuses ?? []).length === 2 && p.status!.containerStatuses!.every((c) => c.state?.running) && !p.metadata?.deletionTimestamp);
        return pod !== undefined;
      }, 120_000, 250);
      return pod!;
    };
    /** Runs a command in the pod's build container (where the app's build code runs); exit code and stdout. */
    const inBuild = async (command: string[]) => {
      const out: Buffer[] = [];
      const code = await kube.exec(BUILD_NAMESPACE, pod!.metadata!.name!, BUILD_CONTAINER, command, { stdin: Readable.from([]), stdout: async (c) => { out.push(c); }, stderr: async (c) => { out.push(c); } }, AbortSignal.timeout(30_000));
      return { code, out: Buffer.concat(out).toString().trim() };
    };
    // An exec's stream can close with no exit code (it did once in a parallel run, 0.4 s after the
    // spare was listed as running, the cause not logged): then the spare is found again and the
    // check runs again; any other failure, or a third, fails the test.
    let token: { code: number; out: string } | undefined;
    for (let attempt = 1; !token; attempt++) {
      await runningSpare();
      try {
        token = await inBuild(['sh', '-c', 'if [ -e /var/run/secrets/kubernetes.io/serviceaccount ]; then echo present; else echo absent; fi']);
      } catch (e) {
        if (attempt === 3 || !String(e).includes('ended without an exit code')) throw e;
        t.diagnostic(`exec in ${pod!.metadata!.name} failed (${String(e)}); finding the spare again`);
      }
    }
    const name = pod!.metadata!.name!;
    const where = `build pod ${name} on ${pod!.spec?.nodeName ?? '?'} (${pod!.status?.podIP ?? '?'})`;
    assert.notEqual(pod!.spec?.hostNetwork, true, `${where} runs on the node's network`);
    assert.equal(pod!.spec?.automountServiceAccountToken, false);
    assert.notEqual(pod!.status?.podIP, pod!.status?.hostIP, `${where} has the node's address`);
    assert.deepEqual(token, { code: 0, out: 'absent' });
    // A TCP connection from the build container, as build code would make one (the build image is
    // Debian's, with bash; 5 s at most): `open` or `closed`, and how long it took.
    const tcp = async (host: string, port: number) => {
      const started = Date.now();
      const r = await inBuild(['bash', '-c', 'if timeout 5 bash -c \'exec 3<>"/dev/tcp/$0/$1"\' "$0" "$1" 2>/dev/null; then echo open; else echo closed; fi', host, String(port)]);
      assert.equal(r.code, 0, r.out);
      return { state: r.out.split('\n').pop(), ms: Date.now() - started };
    };
    const reg = splitHostPort(buildRegistry);
    const registry = await tcp(reg.host.replace(/^\[(.*)\]$/, '$1'), reg.port);
    assert.equal(registry.state, 'open', `${where} cannot reach the build registry ${buildRegistry}`);
    // Another app's running instance (the first test's), which answers from this machine: only
    // the builds' NetworkPolicy can keep the build pod from it.
    const [app] = await kube.list<V1Pod>('v1', 'Pod', `slipway-${APPS.web}`, { fieldSelector: 'status.phase=Running' });
    const appIp = app?.status?.podIP;
    const appPort = app?.spec?.containers[0]?.ports?.[0]?.containerPort ?? 5000;
    assert.ok(appIp, `${APPS.web} has a running pod`);
    const answers = await new Promise<boolean>((resolve) => {
      const c = connect({ host: appIp, port: appPort, timeout: 3000 });
      const done = (ok: boolean) => { c.destroy(); resolve(ok); };
      c.on('connect', () => done(true));
      c.on('timeout', () => done(false));
      c.on('error', () => done(false));
    });
    assert.ok(answers, `${APPS.web}'s pod ${appIp}:${appPort} answers from this machine`);
    const other = await tcp(appIp, appPort);
    assert.equal(other.state, 'closed', `${where} reached ${APPS.web}'s pod ${appIp}:${appPort}`);
    assert.ok(other.ms < 10_000, `the refused connection took ${other.ms} ms`);
  });

  test('the app\'s build code sees no service account token and no registry credential', { timeout: PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = await withBuildScript('node build-probe.js', {
      'build-probe.js': [
        "const fs = require('fs');",
        "console.log('token: ' + (fs.existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token') ? 'present' : 'absent'));",
        "console.log('registry auth: ' + (process.env.CNB_REGISTRY_AUTH || fs.readFileSync('/proc/1/environ', 'utf8').includes('CNB_REGISTRY_AUTH') ? 'visible' : 'absent'));",
      ].join('\n'),
    });
    const r = await push(APPS.probe, dir);
    assert.equal(r.code, 0, r.lines.join('\n'));
    assert.ok(r.lines.includes('       token: absent'), r.lines.join('\n'));
    assert.ok(r.lines.includes('       registry auth: absent'), r.lines.join('\n'));
  });

  test('a build that names another app\'s image as its run image in /layers/analyzed.toml gets none of that image', { timeout: PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !wd) return;
    // The app's build step rewrites the run image analyze recorded (in the file detect and build
    // read) to the web app's image: export, which holds the registry's credential, must not build on it.
    const dir = await withBuildScript('node steal.js', {
      'steal.js': [
        "const fs = require('fs');",
        "const file = '/layers/analyzed.toml';",
        'let text = fs.readFileSync(file, \'utf8\');',
        "const section = text.slice(text.indexOf('[run-image]'));",
        'const ref = /reference = "([^"]+)"/.exec(section)[1];',
        'const image = (/image = "([^"]+)"/.exec(section) || [])[1];',
        `const victim = ref.split('/')[0] + '/slipway/${APPS.web}:latest';`,
        'text = text.split(ref).join(victim);',
        'if (image) text = text.split(image).join(victim);',
        'fs.writeFileSync(file, text);',
        "console.log('run image now ' + victim);",
      ].join('\n'),
    });
    const r = await push(APPS.thief, dir);
    assert.ok(r.lines.some((l) => l.includes(`run image now `) && l.includes(`/slipway/${APPS.web}:latest`)), `the build step ran:\n${r.lines.join('\n')}`);
    assert.equal(r.code, 0, r.lines.join('\n'));
    const run = await ssh(`run ${APPS.thief} -- sh -c 'cat ${VICTIM_FILE} 2>/dev/null || echo none'`);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.ok(!run.stdout.includes(VICTIM_TEXT), `the thief's image holds the web app's file:\n${run.stdout}`);
    assert.match(run.stdout, /none/);
    // And the web app's own image still has it (the file was there to take).
    const own = await ssh(`run ${APPS.web} -- cat ${VICTIM_FILE}`);
    assert.equal(own.stdout.trim(), VICTIM_TEXT, own.stderr);
  });

  test('a build pod holds a credential of its own for the registry gate, which reaches no app\'s image before a push takes the pod', { timeout: 180_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    // The spare the earlier pushes left (a pod like every build's, its registry container holding
    // what export holds): its credential, as a confused phase there could use it.
    let auth: Record<string, string> | undefined;
    await eventually('a running spare build pod with its credential', async () => {
      const pods = await kube.list<V1Pod>('v1', 'Pod', BUILD_NAMESPACE, { labelSelector: ownedSelector(owner), fieldSelector: 'status.phase=Running' });
      const spare = pods.find((p) => !p.metadata?.labels?.['slipway/app'] && !p.metadata?.deletionTimestamp && (p.status?.containerStatuses ?? []).every((c) => c.state?.running));
      if (!spare) return false;
      const out: Buffer[] = [];
      const code = await kube.exec(BUILD_NAMESPACE, spare.metadata!.name!, REGISTRY_CONTAINER, ['sh', '-c', 'printf %s "$CNB_REGISTRY_AUTH"'], { stdin: Readable.from([]), stdout: async (c) => { out.push(c); }, stderr: async () => undefined }, AbortSignal.timeout(20_000)).catch(() => -1);
      if (code !== 0) return false;
      auth = JSON.parse(Buffer.concat(out).toString()) as Record<string, string>;
      return true;
    }, 120_000, 250);
    const [gate, header] = Object.entries(auth!)[0]!;
    assert.notEqual(gate, tb!.SLIPWAY_REGISTRY, 'the pod holds a credential for the gate, not the registry\'s');
    const curl = async (url: string) => (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Authorization: ${header}`, url])).stdout.trim();
    // With real curl, as any process in that container could: the gate answers, and refuses every app's image, the catalog and deletes.
    assert.equal(await curl(`http://${gate}/v2/`), '200');
    assert.equal(await curl(`http://${gate}/v2/slipway/${APPS.web}/manifests/latest`), '403');
    assert.equal(await curl(`http://${gate}/v2/slipway-cache/${APPS.web}/manifests/latest`), '403');
    assert.equal(await curl(`http://${gate}/v2/_catalog`), '403');
    // And the registry itself does not take it.
    assert.equal(await curl(`http://${tb!.SLIPWAY_REGISTRY}/v2/slipway/${APPS.web}/manifests/latest`), '401');
  });

  test('a build past its memory limit fails the push with OOMKilled and the limit', { timeout: PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    // Touches every page, so the memory is really used (not only reserved).
    const dir = await withBuildScript('node -e "const a = []; for (;;) a.push(Buffer.alloc(64 * 1024 * 1024, 1))"');
    const r = await push(APPS.hog, dir);
    assert.notEqual(r.code, 0);
    assert.ok(r.lines.some((l) => / ! .*OOMKilled.*768Mi/.test(l)), r.lines.join('\n'));
    assert.deepEqual(await buildPods(), []);
  });

  test('a push whose client goes away deletes its build pod', { timeout: PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('node-app');
    await s.commitAll(dir, 'to be abandoned');
    const client = new AbortController();
    const pushing = run('git', ['push', s.sshRemote(APPS.gone), 'main'], { cwd: dir, env: gitEnv(join(s.dir, 'home'), s.admin), signal: client.signal, killTree: true });
    await eventually('a build pod for the push', async () => (await buildPods()).length > 0, PUSH_MS, 250);
    client.abort();
    await pushing;
    await eventually('no build pod left', async () => (await buildPods()).length === 0, 60_000, 500);
  });

  test("one key cannot hold both build slots: its second push waits for its own build, another key's push builds at once", { timeout: 3 * PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    // Two deploy keys, as two tenants: `one` owns q1 and q2, `two` owns q3. With 2 slots a key's
    // share is 1 (SLIPWAY_BUILD_CONCURRENCY_PER_KEY's default); before, one key's two pushes took
    // both slots and every other key's push waited behind them, up to the build deadline.
    const keys = { one: await makeKey(s.dir, 'tenant-one'), two: await makeKey(s.dir, 'tenant-two') };
    for (const k of Object.values(keys)) assert.equal((await ssh(`keys:add ${k.name}`, k.pub)).exitCode, 0);
    for (const [app, k] of [[APPS.q1, keys.one], [APPS.q2, keys.one], [APPS.q3, keys.two]] as const) {
      assert.equal((await ssh(`access:grant ${app} ${k.name}`)).exitCode, 0);
    }
    // q1's build holds its slot a while (its npm build script waits 30 s), so the order is not a race.
    const slow = await withBuildScript('node -e "setTimeout(() => {}, 30000)"');
    const dirs = await Promise.all([APPS.q2, APPS.q3].map(async (app) => {
      const dir = fixtureCopy('node-app');
      await s!.commitAll(dir, app);
      return dir;
    }));
    /** A push by `key` whose `remote:` lines are kept as they come, with when each came. */
    const streamed = (key: TestKey, app: string, dir: string) => {
      const lines: { at: number; text: string }[] = [];
      const done = run('git', ['push', s!.sshRemote(app), 'main'], {
        cwd: dir, env: gitEnv(join(s!.dir, 'home'), key),
        onLine: (l) => { if (l.startsWith('remote: ')) lines.push({ at: Date.now(), text: l.slice(8).trimEnd() }); },
      }).then((r) => r.exitCode);
      const at = (re: RegExp) => lines.find((l) => re.test(l.text))?.at;
      return { lines, done, at, text: () => lines.map((l) => l.text).join('\n') };
    };
    const analyzing = /^ {7}===> ANALYZING$/;
    const ownWait = /^ {7}Waiting for the key tenant-one's own builds: it has 1 running, as many as one key may at once \(SLIPWAY_BUILD_CONCURRENCY_PER_KEY\); 0 ahead in line$/;
    const anyWait = /^ {7}Waiting for /;
    const q1 = streamed(keys.one, APPS.q1, slow);
    await eventually(() => `q1's build to begin:\n${q1.text()}`, async () => q1.at(analyzing) !== undefined, PUSH_MS, 250);
    const q2 = streamed(keys.one, APPS.q2, dirs[0]!);
    await eventually(() => `q2 to wait or build:\n${q2.text()}`, async () => q2.at(anyWait) ?? q2.at(analyzing), PUSH_MS, 250);
    assert.ok(q2.at(ownWait) !== undefined && q2.at(analyzing) === undefined, `q2 waits for its key's own build while a slot is free:\n${q2.text()}`);
    const q3 = streamed(keys.two, APPS.q3, dirs[1]!);
    const codes = await Promise.all([q1.done, q2.done, q3.done]);
    assert.deepEqual(codes, [0, 0, 0], [q1, q2, q3].map((q) => q.text()).join('\n-----\n'));
    assert.equal(q3.at(anyWait), undefined, `the other key's push never waits:\n${q3.text()}`);
    assert.ok(q3.at(analyzing)! < q2.at(analyzing)!, `the other key's build begins before the first key's waiting one:\n${q2.text()}\n-----\n${q3.text()}`);
  });

  test('build pods a previous process left are deleted when the server starts', { timeout: 120_000 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s || !builder) return;
    const { probePod } = await import('../../server/cluster-build/pod.ts');
    const left = probePod(`left-${suffix}`, owner, 'busybox:never-pulled');
    await kube.apply(left);
    assert.ok((await allBuildPods()).includes(left.metadata.name));
    const second = await startTestServer({ KUBECONFIG: tb!.KUBECONFIG! }, { builder: new ClusterBuilder(kube, builder.settings) });
    try {
      assert.ok(!(await allBuildPods()).includes(left.metadata.name));
    } finally {
      await second.close();
    }
  });
});
