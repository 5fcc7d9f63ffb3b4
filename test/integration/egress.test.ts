// egress, egress:allow and egress:deny over the real SSH server, with the fake deployer at
// Slipway's Deployer interface: who may open an app's network isolation, what bad input gets, and
// that a change rolls out (the policies themselves: test/unit/k8s-objects.test.ts, and against a
// real enforcer test/e2e/netpol.test.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKey, deployedApp, newApp, startTestServer, useControls, type TestServer } from '../support/harness.ts';

describe('egress commands over SSH', () => {
  let s: TestServer;
  const rules = async (app: string) => JSON.parse((await s.ssh(s.admin, `egress ${app} --json`)).stdout) as unknown;
  const lastDeploy = (app: string) => s.deployer.rollout.deployed.findLast((d) => d.app === app);
  const deployed = async (prefix: string) => (await deployedApp(s, prefix)).app;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test("a deployer key with rights on the app may list its exceptions but not open its isolation", async () => {
    const app = await deployed('egdev');
    const dev = await makeKey(s.dir, 'egress-dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    const before = s.deployer.rollout.deployed.length;
    for (const cmd of [`egress:allow ${app} 10.43.0.0/16`, `egress:allow ${app} 192.0.2.10:5000`, `egress:deny ${app} 192.0.2.10`]) {
      const r = await s.ssh(dev, cmd);
      assert.equal(r.exitCode, 1, cmd);
      assert.equal(r.stderr, ` !     Only admins may run ${cmd.split(' ')[0]}.`);
    }
    assert.equal(s.deployer.rollout.deployed.length, before, 'nothing rolled out');
    assert.deepEqual(await rules(app), []);
    const list = await s.ssh(dev, `egress ${app}`);
    assert.equal(list.exitCode, 0, list.stderr);
    assert.match(list.stdout, /pods reach their own app, DNS and the internet; not other apps, the cluster or its nodes\.\nNo exceptions/);
  });

  test('egress:allow rolls the exception out at once (same release), egress lists it, egress:deny takes it back', async () => {
    const app = await deployed('egallow');
    const allow = await s.ssh(s.admin, `egress:allow ${app} 10.0.5.0/24:5432`);
    assert.equal(allow.exitCode, 0, allow.stderr);
    assert.match(allow.stdout, new RegExp(`web: 1/1 ready\\nAllowing ${app} to reach 10\\.0\\.5\\.0/24 port 5432\\.\\.\\. done$`));
    assert.deepEqual([lastDeploy(app)!.version, lastDeploy(app)!.egress], [1, [{ cidr: '10.0.5.0/24', port: 5432 }]]);
    assert.equal((await s.ssh(s.admin, `egress:allow ${app} [2001:DB8::/64]:443`)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `egress:allow ${app} 192.0.2.7`)).exitCode, 0);
    assert.deepEqual(await rules(app), [{ cidr: '10.0.5.0/24', port: 5432 }, { cidr: '2001:db8::/64', port: 443 }, { cidr: '192.0.2.7/32' }]);
    const text = await s.ssh(s.admin, `egress ${app}`);
    assert.match(text.stdout, /Also allowed:\n10\.0\.5\.0\/24 port 5432\n2001:db8::\/64 port 443\n192\.0\.2\.7\/32 every port$/);
    const deny = await s.ssh(s.admin, `egress:deny ${app} 10.0.5.0/24:5432`);
    assert.equal(deny.exitCode, 0, deny.stderr);
    assert.match(deny.stdout, new RegExp(`Removing the exception of ${app} for 10\\.0\\.5\\.0/24 port 5432\\.\\.\\. done$`));
    assert.deepEqual(lastDeploy(app)!.egress, [{ cidr: '2001:db8::/64', port: 443 }, { cidr: '192.0.2.7/32' }]);
  });

  test('bad input gets one sentence and nothing is stored or rolled out', async () => {
    const app = await deployed('egbad');
    const before = s.deployer.rollout.deployed.length;
    const cases: [string, string][] = [
      [`egress:allow ${app} 10.0.5.1/24`, `"10.0.5.1/24" is not CIDR[:PORT] (like 10.0.5.0/24:5432, 192.0.2.7, or [2001:db8::/64]:443): 10.0.5.1/24 has bits set past its /24 prefix; give the range's first address (like 10.42.0.0/16).`],
      [`egress:allow ${app} db.internal:5432`, `"db.internal:5432" is not CIDR[:PORT] (like 10.0.5.0/24:5432, 192.0.2.7, or [2001:db8::/64]:443): "db.internal" is not an address or a CIDR (like 10.42.0.0/16).`],
      [`egress:allow ${app} 10.0.5.0/24:70000`, '"10.0.5.0/24:70000": the port must be a number from 1 to 65535.'],
      [`egress:allow ${app} 10.0.5.0/24:`, '"10.0.5.0/24:": the port must be a number from 1 to 65535.'],
      [`egress:allow nosuchapp 10.0.5.0/24`, 'App "nosuchapp" does not exist.'],
      [`egress:deny ${app} 10.0.5.0/24`, `${app} has no egress exception for 10.0.5.0/24 every port; egress ${app} lists them.`],
    ];
    for (const [cmd, message] of cases) {
      const r = await s.ssh(s.admin, cmd);
      assert.equal(r.exitCode, 1, cmd);
      assert.equal(r.stderr, ` !     ${message}`, cmd);
    }
    assert.equal(s.deployer.rollout.deployed.length, before);
    assert.deepEqual(await rules(app), []);
    assert.equal((await s.ssh(s.admin, `egress:allow ${app} 10.0.5.0/24`)).exitCode, 0);
    const again = await s.ssh(s.admin, `egress:allow ${app} 10.0.5.0/24`);
    assert.equal(again.stderr, ` !     ${app} may already reach 10.0.5.0/24 every port.`);
  });

  test('a rollout that fails takes the exception back out of the store', async (t) => {
    const app = await deployed('egfail');
    useControls(t, s, { deployFailure: 'web: 0/1 ready after 300 s' });
    const r = await s.ssh(s.admin, `egress:allow ${app} 10.0.5.0/24`);
    assert.equal(r.exitCode, 1);
    assert.deepEqual(await rules(app), []);
  });

  test('on an app not deployed yet the exception is only stored, for its first deploy', async () => {
    const app = await newApp(s, 'egnew');
    const before = s.deployer.rollout.deployed.length;
    assert.equal((await s.ssh(s.admin, `egress:allow ${app} 10.0.5.0/24:5432`)).exitCode, 0);
    assert.equal(s.deployer.rollout.deployed.length, before);
    const wd = await s.workRepo({ 'index.js': 'console.log("hi")\n' });
    assert.equal((await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd })).exitCode, 0);
    assert.deepEqual(lastDeploy(app)!.egress, [{ cidr: '10.0.5.0/24', port: 5432 }]);
  });
});
