// storage:* over the real SSH server and the HTTP API, with the fake deployer at Slipway's Deployer
// interface: what bad input gets, who may do what, that mounts roll out as app settings (kept by a
// rollback), the one-instance rule, what storage:list says of each volume's use, and apps:destroy
// with and without --include-storage. The
// objects themselves: test/unit/storage.test.ts; on a real cluster: test/e2e/storage.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKey, deployedApp, startTestServer, type TestKey, type TestServer } from '../support/harness.ts';
import { api, makeToken, sshJson } from '../support/api-client.ts';

describe('storage commands and API', { timeout: 120_000 }, () => {
  let s: TestServer;
  let dev: TestKey;
  const list = async (app: string) => JSON.parse((await s.ssh(s.admin, `storage:list ${app} --json`)).stdout) as unknown;
  const lastDeploy = (app: string) => s.deployer.rollout.deployed.findLast((d) => d.app === app);
  const deployed = async (prefix: string) => (await deployedApp(s, prefix)).app;
  before(async () => {
    s = await startTestServer({ SLIPWAY_STORAGE_MAX_SIZE: '2Gi', SLIPWAY_APP_MAX_VOLUMES: '2', SLIPWAY_APP_MAX_STORAGE: '2Gi' });
    s.controls.processes = [{ type: 'web', command: ['web'], args: [], default: true }, { type: 'worker', command: ['worker'], args: [], default: false }];
    dev = await makeKey(s.dir, 'storage-dev');
    assert.equal((await s.ssh(s.admin, `keys:add ${dev.name}`, dev.pub)).exitCode, 0);
  });
  after(() => s.close());

  test('a deployer of the app creates, mounts, lists, unmounts and destroys a volume; mounts roll out and a rollback keeps them', async () => {
    const app = await deployed('stor');
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    const created = await s.ssh(dev, `storage:create ${app} data --size 1Gi`);
    assert.equal(created.exitCode, 0, created.stderr);
    assert.equal(created.stdout, `Creating volume data (1Gi) for ${app}... done\nMount it with: storage:mount ${app} data /data`);
    assert.deepEqual(s.deployer.volumes.claims.get(`${app}/data`), { name: 'data', size: '1Gi' }, 'the claim is made at once, from the default class');
    assert.deepEqual(await list(app), [{ name: 'data', size: '1Gi', status: 'Pending', mounts: [] }]);

    const before = s.deployer.rollout.deployed.length;
    const mount = await s.ssh(dev, `storage:mount ${app} data /data`);
    assert.equal(mount.exitCode, 0, mount.stderr);
    assert.match(mount.stdout, new RegExp(`^-----> Job \\S+ \\(storage:mount\\)\\n {7}web: 1/1 ready\\nMounting volume data into web of ${app} at /data\\.\\.\\. done$`));
    assert.equal(s.deployer.rollout.deployed.length, before + 1, 'rolled out once');
    assert.deepEqual([lastDeploy(app)!.version, lastDeploy(app)!.mounts], [1, { web: [{ volume: 'data', path: '/data' }], run: [{ volume: 'data', path: '/data' }], release: [{ volume: 'data', path: '/data' }] }]);
    assert.deepEqual(lastDeploy(app)!.volumes, [{ name: 'data', size: '1Gi' }]);
    assert.deepEqual(await list(app), [{ name: 'data', size: '1Gi', status: 'Bound', mounts: [{ process: 'web', path: '/data' }] }]);
    const text = await s.ssh(dev, `storage:list ${app}`);
    assert.match(text.stdout, /Name +Size +Used +Status +Mounted\n.*data +1Gi +- +Bound +web:\/data/);

    // A config change makes v2; rolling back to v1 runs v1's image with today's mounts.
    assert.equal((await s.ssh(s.admin, `config:set ${app} A=1`)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `rollback ${app} v1`)).exitCode, 0);
    assert.deepEqual([lastDeploy(app)!.version, lastDeploy(app)!.mounts?.web], [3, [{ volume: 'data', path: '/data' }]]);

    const scale = await s.ssh(dev, `ps:scale ${app} web=2`);
    assert.equal(scale.exitCode, 1);
    assert.equal(scale.stderr, ` !     web has volume data mounted at /data, which one instance writes at a time (ReadWriteOnce); it runs 1 instance at most (storage:unmount ${app} data to scale it out).`);
    assert.equal((await s.ssh(dev, `ps:scale ${app} worker=3`)).exitCode, 0, 'a type without a volume scales');

    const busy = await s.ssh(dev, `storage:destroy ${app} data --confirm data`);
    assert.equal(busy.stderr, ` !     Volume data is mounted into web at /data; run storage:unmount ${app} data first.`);
    const un = await s.ssh(dev, `storage:unmount ${app} data --container-dir /data`);
    assert.equal(un.exitCode, 0, un.stderr);
    assert.deepEqual(lastDeploy(app)!.mounts, {});
    const noConfirm = await s.ssh(dev, `storage:destroy ${app} data`);
    assert.equal(noConfirm.exitCode, 2);
    assert.match(noConfirm.stderr, /This deletes volume data of .* and its data for good; to go ahead, run: storage:destroy .* data --confirm data/);
    assert.equal((await s.ssh(dev, `storage:destroy ${app} data --confirm data`)).exitCode, 0);
    assert.deepEqual(await list(app), []);
    assert.equal(s.deployer.volumes.claims.has(`${app}/data`), false);
  });

  test('bad input gets one sentence, and nothing is stored, made or rolled out', async () => {
    const app = await deployed('storbad');
    assert.equal((await s.ssh(s.admin, `storage:create ${app} data --size 1Gi`)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `ps:scale ${app} worker=2`)).exitCode, 0);
    const before = s.deployer.rollout.deployed.length;
    const cases: [string, string][] = [
      [`storage:create ${app} Data`, '"Data" is not a valid volume name: use 1-45 lowercase letters, digits and dashes, starting with a letter and not ending with a dash.'],
      [`storage:create ${app} big --size 3Gi`, 'A volume may hold at most 2Gi (SLIPWAY_STORAGE_MAX_SIZE); 3Gi is more.'],
      [`storage:create ${app} half --size 0.5Gi`, '"0.5Gi" is not a volume size; write a whole number of Mi, Gi or Ti, for example 512Mi or 1Gi.'],
      [`storage:create ${app} data`, `${app} already has a volume data.`],
      [`storage:create ${app} more --size 1500Mi`, `${app}'s volumes would hold more than 2Gi together (SLIPWAY_APP_MAX_STORAGE) with 1500Mi more; make it smaller or storage:destroy one first.`],
      [`storage:mount ${app} data data`, '"data" is not an absolute path; mount a volume at a path like /data.'],
      [`storage:mount ${app} data /`, 'A volume cannot be mounted at /; mount it at a directory like /data.'],
      [`storage:mount ${app} data /data/../etc`, '"/data/../etc" is not a plain path: use up to 200 characters of letters, digits, . _ @ + - between single slashes, without . or .. parts and without a trailing slash.'],
      [`storage:mount ${app} data /workspace/db`, "/workspace/db is at or under /workspace, which the app's image needs; mount the volume elsewhere, like /data."],
      [`storage:mount ${app} data /cnb`, "/cnb is at or under /cnb, which the app's image needs; mount the volume elsewhere, like /data."],
      [`storage:mount ${app} data /data --process clock`, 'There is no "clock" process type; this app has web, worker.'],
      [`storage:mount ${app} data /data --process release`, "The release pods mount the volumes of the app's main process type (web); mount the volume into that."],
      [`storage:mount ${app} data /data --process worker`, `worker runs 2 instances, and a volume is written by one at a time (ReadWriteOnce); ps:scale ${app} worker=1 first.`],
      [`storage:mount ${app} nope /data`, `${app} has no volume nope; storage:list ${app} shows its volumes.`],
      [`storage:unmount ${app} data`, 'Volume data is not mounted.'],
      [`storage:destroy ${app} nope --confirm nope`, `${app} has no volume nope; storage:list ${app} shows its volumes.`],
    ];
    for (const [cmd, message] of cases) {
      const r = await s.ssh(s.admin, cmd);
      assert.equal(r.exitCode, 1, cmd);
      assert.equal(r.stderr, ` !     ${message}`, cmd);
    }
    assert.equal(s.deployer.rollout.deployed.length, before, 'nothing rolled out');
    assert.deepEqual(await list(app), [{ name: 'data', size: '1Gi', status: 'Pending', mounts: [] }]);
    assert.equal((await s.ssh(s.admin, `storage:create ${app} second --size 1Gi`)).exitCode, 0);
    const third = await s.ssh(s.admin, `storage:create ${app} third --size 1Mi`);
    assert.equal(third.stderr, ` !     ${app} has 2 volumes, the most an app may have (SLIPWAY_APP_MAX_VOLUMES); storage:destroy one first.`);
    assert.equal((await s.ssh(s.admin, `storage:mount ${app} data /data`)).exitCode, 0);
    const twice = await s.ssh(s.admin, `storage:mount ${app} data /other --process worker`);
    assert.equal(twice.stderr, ` !     Volume data is mounted into web at /data already; one process type writes a volume (ReadWriteOnce), so storage:unmount ${app} data first.`);
    const same = await s.ssh(s.admin, `storage:mount ${app} second /data`);
    assert.equal(same.stderr, ' !     web has volume data mounted at /data already.');
  });

  test("storage:list shows what each mounted volume's file system uses, says when one is full, not held to its size or not measured, and the API gives the bytes", async () => {
    const app = await deployed('storuse');
    for (const [name, size] of [['data', '1Gi'], ['tiny', '1Mi']]) assert.equal((await s.ssh(s.admin, `storage:create ${app} ${name} --size ${size}`)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `storage:mount ${app} data /data`)).exitCode, 0);
    assert.equal((await s.ssh(s.admin, `storage:mount ${app} tiny /tiny`)).exitCode, 0);
    // As the kubelet measures a loop-mounted file system of the claim's size: a little less than it.
    s.deployer.volumes.usage.set(`${app}/data`, { usedBytes: 12 * 2 ** 20, capacityBytes: 1006 * 2 ** 20 });
    s.deployer.volumes.usage.set(`${app}/tiny`, { usedBytes: 1001 * 1024, capacityBytes: 1003 * 1024 });
    const full = await s.ssh(s.admin, `storage:list ${app}`);
    assert.equal(full.exitCode, 0, full.stderr);
    assert.match(full.stdout, /Name +Size +Used +Status +Mounted\n.*data +1Gi +12Mi \(1%\) +Bound +web:\/data\n.*tiny +1Mi +1001Ki \(99%\) +Bound +web:\/tiny/);
    assert.match(full.stdout, /^Volume tiny is full \(99%\): writes to it fail with "No space left on device"; delete files on it, or move the data to a larger volume\.$/m);
    assert.doesNotMatch(full.stdout, /Volume data/);
    assert.deepEqual(await list(app), [
      { name: 'data', size: '1Gi', status: 'Bound', mounts: [{ process: 'web', path: '/data' }], usedBytes: 12 * 2 ** 20, capacityBytes: 1006 * 2 ** 20 },
      { name: 'tiny', size: '1Mi', status: 'Bound', mounts: [{ process: 'web', path: '/tiny' }], usedBytes: 1001 * 1024, capacityBytes: 1003 * 1024 },
    ]);

    // A class that makes directories on the node's disk: the file system is the node's.
    s.deployer.volumes.usage.set(`${app}/tiny`, { usedBytes: 64 * 2 ** 20, capacityBytes: 48 * 2 ** 30 });
    s.deployer.volumes.usage.set(`${app}/data`, { unknown: "node n1's kubelet did not answer (no answer within 5 s)" });
    const loose = await s.ssh(s.admin, `storage:list ${app}`);
    assert.match(loose.stdout, /data +1Gi +- +Bound/);
    assert.match(loose.stdout, /^The use of volume data is not known: node n1's kubelet did not answer \(no answer within 5 s\)\.$/m);
    assert.match(loose.stdout, /^Volume tiny is not held to its 1Mi: its file system holds 48Gi, as its storage class does not enforce sizes \(SLIPWAY_STORAGE_CLASS names one that does\)\.$/m);
    const token = await makeToken(s, s.admin, 'storage-use-read', 'read');
    const listed = await api(s, 'GET', `/apps/${app}/storage`, { token });
    assert.deepEqual(listed.json, [
      { name: 'data', size: '1Gi', status: 'Bound', mounts: [{ process: 'web', path: '/data' }], usageUnknown: "node n1's kubelet did not answer (no answer within 5 s)" },
      { name: 'tiny', size: '1Mi', status: 'Bound', mounts: [{ process: 'web', path: '/tiny' }], usedBytes: 64 * 2 ** 20, capacityBytes: 48 * 2 ** 30 },
    ]);
  });

  test("a key without the app cannot see or touch its volumes; read tokens list, deploy tokens change", async () => {
    const app = await deployed('storacl');
    assert.equal((await s.ssh(s.admin, `storage:create ${app} data`)).exitCode, 0);
    for (const cmd of [`storage:list ${app}`, `storage:create ${app} x`, `storage:mount ${app} data /data`, `storage:destroy ${app} data --confirm data`]) {
      const r = await s.ssh(dev, cmd);
      assert.equal(r.exitCode, 1, cmd);
      assert.equal(r.stderr, ` !     App "${app}" does not exist, or your key has no access to it.`, cmd);
    }
    assert.equal((await s.ssh(s.admin, `access:grant ${app} ${dev.name}`)).exitCode, 0);
    const read = await makeToken(s, dev, 'storage-read', 'read');
    const deploy = await makeToken(s, dev, 'storage-deploy');
    const listed = await api(s, 'GET', `/apps/${app}/storage`, { token: read });
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(listed.json, await sshJson(s, dev, `storage:list ${app}`), '--json is the API body');
    assert.equal((await api(s, 'POST', `/apps/${app}/storage`, { token: read, body: { name: 'x' } })).status, 403);
    const made = await api(s, 'POST', `/apps/${app}/storage`, { token: deploy, body: { name: 'uploads', size: '512Mi' } });
    assert.deepEqual([made.status, made.json], [201, { name: 'uploads', size: '512Mi' }]);
    const bad = await api(s, 'POST', `/apps/${app}/storage/uploads/mount`, { token: deploy, body: { path: '/proc/x' } });
    assert.deepEqual([bad.status, (bad.json as { error: { message: string } }).error.message], [422, "/proc/x is at or under /proc, which the app's image needs; mount the volume elsewhere, like /data."]);
    const mounted = await api(s, 'POST', `/apps/${app}/storage/uploads/mount`, { token: deploy, body: { path: '/uploads' } });
    assert.equal(mounted.status, 202, mounted.text);
    assert.equal((mounted.json as { job: { kind: string } }).job.kind, 'storage:mount');
  });

  test('apps:destroy refuses an app with volumes unless --include-storage, which deletes them with it', async () => {
    const app = await deployed('stordel');
    assert.equal((await s.ssh(s.admin, `storage:create ${app} keep`)).exitCode, 0);
    const refused = await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app}`);
    assert.equal(refused.exitCode, 1);
    assert.equal(refused.stderr, ` !     ${app} has a volume (keep) whose data apps:destroy would delete; nothing was destroyed: add --include-storage to delete it too, or storage:destroy first.`);
    assert.equal(s.deployer.rollout.destroyed.includes(app), false);
    assert.equal(s.deployer.volumes.claims.has(`${app}/keep`), true);
    const viaApi = await api(s, 'DELETE', `/apps/${app}`, { token: await makeToken(s, s.admin, 'storage-admin') });
    assert.equal(viaApi.status, 422, viaApi.text);
    const gone = await s.ssh(s.admin, `apps:destroy ${app} --confirm ${app} --include-storage`);
    assert.equal(gone.exitCode, 0, gone.stderr);
    assert.equal(s.deployer.rollout.destroyed.includes(app), true);
    assert.equal(s.deployer.volumes.claims.has(`${app}/keep`), false);
  });
});
