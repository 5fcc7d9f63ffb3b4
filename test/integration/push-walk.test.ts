// The walk of one push, counted: how many times it reads the store for the release's plan and
// asks for its backends, and which programs it starts. A push computes its release plan once and
// checks its builder and deployer once (issue 34), and starts git only where it must (issue 36);
// the counts are measured on the real SSH push path with the fakes at the Builder and Deployer
// interfaces.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { newApp, startTestServer, type TestServer } from '../support/harness.ts';
import { gitSpawns } from '../support/spawns.ts';
import type { Services } from '../../server/context.ts';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

/** Counts every call of the store's methods (`releases.current`, `formation.all`, …) and every read of the backends. */
function countWalk(services: Services): { calls: Map<string, number>; stop: () => void } {
  const calls = new Map<string, number>();
  const bump = (key: string) => calls.set(key, (calls.get(key) ?? 0) + 1);
  const store = services.store;
  const counted = new Proxy(store, {
    get(target, area: string | symbol) {
      const part = Reflect.get(target, area) as unknown;
      if (typeof area !== 'string' || typeof part !== 'object' || part === null) return part;
      return new Proxy(part, {
        get(inner, method: string | symbol) {
          const fn = Reflect.get(inner, method) as unknown;
          if (typeof method !== 'string' || typeof fn !== 'function') return fn;
          return (...args: unknown[]) => {
            bump(`${area}.${method}`);
            return (fn as (...a: unknown[]) => unknown).apply(inner, args);
          };
        },
      });
    },
  });
  const { builder, deployer } = services;
  services.store = counted;
  Object.defineProperty(services, 'builder', { configurable: true, enumerable: true, get: () => { bump('builder'); return builder; } });
  Object.defineProperty(services, 'deployer', { configurable: true, enumerable: true, get: () => { bump('deployer'); return deployer; } });
  return {
    calls,
    stop: () => {
      services.store = store;
      Object.defineProperty(services, 'builder', { configurable: true, enumerable: true, writable: true, value: builder });
      Object.defineProperty(services, 'deployer', { configurable: true, enumerable: true, writable: true, value: deployer });
    },
  };
}

test('a push computes its release plan once and checks its builder and deployer once', async () => {
  const app = await newApp(s, 'walk');
  const wd = await s.workRepo({ 'index.js': 'console.log("hi")\n' });
  const walk = countWalk(s.slipway.services);
  let push;
  try {
    push = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
  } finally {
    walk.stop();
  }
  assert.equal(push.exitCode, 0, push.stderr);
  const counts = Object.fromEntries([...walk.calls].sort(([a], [b]) => a.localeCompare(b)));
  console.log(`push walk: ${JSON.stringify(counts)}`);
  // The plan's reads (formation, stopped types, volumes, domains, resources, checks, egress,
  // suspended tasks): once each, for the new release, the previous one and the announcement.
  for (const read of ['formation.all', 'stopped.all', 'volumes.list', 'resources.all', 'checks.all', 'egress.list', 'cron.suspended']) {
    assert.equal(walk.calls.get(read) ?? 0, 1, `${read} read ${walk.calls.get(read) ?? 0} times`);
  }
  assert.equal(walk.calls.get('builder'), 1, 'the builder is asked for once');
  assert.equal(walk.calls.get('deployer'), 1, 'the deployer is asked for once');
});

test('a config change computes its release plan once and checks its deployer once', async () => {
  const app = await newApp(s, 'walkcfg');
  const wd = await s.workRepo({ 'index.js': 'console.log("hi")\n' });
  assert.equal((await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd })).exitCode, 0);
  const walk = countWalk(s.slipway.services);
  let r;
  try {
    r = await s.ssh(s.admin, `config:set ${app} GREETING=hello`);
  } finally {
    walk.stop();
  }
  assert.equal(r.exitCode, 0, r.stderr);
  const counts = Object.fromEntries([...walk.calls].sort(([a], [b]) => a.localeCompare(b)));
  console.log(`config:set walk: ${JSON.stringify(counts)}`);
  for (const read of ['formation.all', 'stopped.all', 'volumes.list', 'resources.all', 'checks.all', 'egress.list', 'cron.suspended']) {
    assert.equal(walk.calls.get(read) ?? 0, 1, `${read} read ${walk.calls.get(read) ?? 0} times`);
  }
  assert.equal(walk.calls.get('deployer'), 1, 'the deployer is asked for once');
});

test('a push starts git three times: receive-pack, one listing of the tree, one archive of it', async () => {
  const app = await newApp(s, 'spawns');
  const wd = await s.workRepo({ 'index.js': 'console.log("hi")\n' });
  const { result: push, commands } = await gitSpawns(() => s.git(['push', s.sshRemote(app), 'main'], { cwd: wd }));
  assert.equal(push.exitCode, 0, push.stderr);
  // `push` is this test's own client; the rest are the server's. No ls-tree for app.json (the
  // listing finds it) and no symbolic-ref (HEAD already names main).
  assert.deepEqual(commands.sort(), ['archive', 'ls-tree', 'push', 'receive-pack']);
});
