// One key cannot take every build slot (issue 35, item 11): real pushes over SSH by two deploy
// keys through the whole push path (transport, hook, lock, job, build-and-deploy), with the fake
// builder at the Builder interface taking its slot from the real build queue exactly as the
// cluster builder does (slotFor), under the server's own SLIPWAY_BUILD_CONCURRENCY settings.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { run } from '../../server/exec.ts';
import { UserError } from '../../server/errors.ts';
import { BuildQueue } from '../../server/cluster-build/queue.ts';
import { gitEnv, makeKey, newApp, startTestServer, useControls, type TestKey, type TestServer } from '../support/harness.ts';
import { eventually } from '../support/eventually.ts';

interface Pushing { lines: string[]; done: Promise<number> }

describe('build slots are shared between keys: one key past its share waits, another key builds at once', () => {
  let s: TestServer;
  let alice: TestKey;
  let bob: TestKey;
  let queue: BuildQueue;

  /** Pushes a one-file repo to `app` as `key`, its `remote:` lines collected as they come. */
  const push = async (key: TestKey, app: string): Promise<Pushing> => {
    const wd = await s.workRepo({ 'index.js': `// ${app}\n` });
    const lines: string[] = [];
    const done = run('git', ['push', s.sshRemote(app), 'main'], {
      cwd: wd, env: gitEnv(join(s.dir, 'home'), key),
      onLine: (line) => { if (line.startsWith('remote: ')) lines.push(line.slice(8).trimEnd()); },
    }).then((r) => r.exitCode);
    return { lines, done };
  };

  before(async () => {
    s = await startTestServer({ SLIPWAY_BUILD_CONCURRENCY: '2' });
    const { buildConcurrency, buildConcurrencyPerKey } = s.slipway.services.config;
    assert.deepEqual([buildConcurrency, buildConcurrencyPerKey], [2, 1], 'the default share of a key is every slot but one');
    queue = new BuildQueue(buildConcurrency, buildConcurrencyPerKey);
    s.builder.queue = queue;
    alice = await makeKey(s.dir, 'alice');
    bob = await makeKey(s.dir, 'bob');
    for (const k of [alice, bob]) assert.equal((await s.ssh(s.admin, `keys:add ${k.name}`, k.pub)).exitCode, 0);
  });
  after(() => s.close());

  test("alice's pushes past her share wait, saying so; bob's push builds first; a failed build frees her slot", { timeout: 60_000 }, async (t) => {
    const apps = { a1: await newApp(s, 'fair-a1'), a2: await newApp(s, 'fair-a2'), a3: await newApp(s, 'fair-a3'), b1: await newApp(s, 'fair-b1') };
    for (const app of [apps.a1, apps.a2, apps.a3]) assert.equal((await s.ssh(s.admin, `access:grant ${app} alice`)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `access:grant ${apps.b1} bob`)).exitCode, 0);
    // Each build is held until the test lets it go (or fails it).
    const gates = new Map<string, { open: () => void; fail: (err: Error) => void }>();
    const started: string[] = [];
    useControls(t, s, {
      holdBuild: (req) => new Promise<void>((open, fail) => { gates.set(req.app, { open, fail }); }),
      onBuildStart: (req) => { started.push(`${req.app}:${req.tenant}`); },
    });
    const startedNow = (app: string) => eventually(`the build of ${app} to start (started: ${started.join(', ')})`, async () => gates.has(app));
    const gate = (app: string) => gates.get(app)!;

    const a1 = await push(alice, apps.a1);
    await startedNow(apps.a1);
    const a2 = await push(alice, apps.a2);
    await eventually('alice\'s second push to wait', async () => queue.waiting === 1);
    const a3 = await push(alice, apps.a3);
    await eventually('alice\'s third push to wait', async () => queue.waiting === 2);
    assert.equal(queue.running, 1, 'one of the two slots is free, and alice may not take it');

    // bob's push takes the free slot at once, before alice's waiting ones.
    const b1 = await push(bob, apps.b1);
    await startedNow(apps.b1);
    assert.deepEqual(started, [`${apps.a1}:alice`, `${apps.b1}:bob`]);
    assert.equal(queue.waiting, 2);

    // alice's running build fails: its slot is hers again, and her next build takes it.
    gate(apps.a1).fail(new UserError('The build failed on purpose.'));
    assert.equal(await a1.done, 1);
    await startedNow(apps.a2);
    // bob's build ends: the slot stays free, alice is at her share.
    gate(apps.b1).open();
    assert.equal(await b1.done, 0, b1.lines.join('\n'));
    assert.equal(queue.running, 1);
    assert.equal(queue.waiting, 1);
    gate(apps.a2).open();
    assert.equal(await a2.done, 0, a2.lines.join('\n'));
    await startedNow(apps.a3);
    gate(apps.a3).open();
    assert.equal(await a3.done, 0, a3.lines.join('\n'));

    assert.deepEqual(started, [`${apps.a1}:alice`, `${apps.b1}:bob`, `${apps.a2}:alice`, `${apps.a3}:alice`]);
    assert.ok(a1.lines.includes(' !     The build failed on purpose.'), a1.lines.join('\n'));
    const share = (ahead: number) => `       Waiting for the key alice's own builds: it has 1 running, as many as one key may at once (SLIPWAY_BUILD_CONCURRENCY_PER_KEY); ${ahead} ahead in line`;
    assert.deepEqual(a2.lines.filter((l) => l.includes('Waiting for')), [share(0)]);
    assert.deepEqual(a3.lines.filter((l) => l.includes('Waiting for')), [share(1), share(0)]);
    assert.deepEqual(b1.lines.filter((l) => l.includes('Waiting for')), [], 'bob never waited');
    assert.equal(queue.running + queue.waiting, 0);
  });

  test('a waiting push whose client goes away leaves the line, and the push behind it moves up', { timeout: 60_000 }, async (t) => {
    const apps = { a1: await newApp(s, 'gone-a1'), a2: await newApp(s, 'gone-a2'), a3: await newApp(s, 'gone-a3') };
    for (const app of Object.values(apps)) assert.equal((await s.ssh(s.admin, `access:grant ${app} alice`)).exitCode, 0);
    const gates = new Map<string, () => void>();
    useControls(t, s, { holdBuild: (req) => new Promise<void>((open) => { gates.set(req.app, open); }) });
    const a1 = await push(alice, apps.a1);
    await eventually('the first build to start', async () => gates.has(apps.a1));
    // The second push's git is killed while it waits.
    const wd = await s.workRepo({ 'index.js': 'gone\n' });
    const client = new AbortController();
    const gone = run('git', ['push', s.sshRemote(apps.a2), 'main'], { cwd: wd, env: gitEnv(join(s.dir, 'home'), alice), signal: client.signal, killTree: true });
    await eventually('the second push to wait', async () => queue.waiting === 1);
    const a3 = await push(alice, apps.a3);
    await eventually('the third push to wait', async () => queue.waiting === 2);
    client.abort();
    await gone;
    await eventually('the abandoned push to leave the line', async () => queue.waiting === 1);
    gates.get(apps.a1)!();
    assert.equal(await a1.done, 0);
    await eventually('the third build to start', async () => gates.has(apps.a3));
    assert.ok(!gates.has(apps.a2), 'the abandoned push never built');
    gates.get(apps.a3)!();
    assert.equal(await a3.done, 0, a3.lines.join('\n'));
    const waits = a3.lines.filter((l) => l.includes('Waiting for'));
    assert.match(waits.at(0)!, /1 ahead in line$/);
    assert.match(waits.at(-1)!, /0 ahead in line$/);
    assert.equal(queue.running + queue.waiting, 0);
  });
});
