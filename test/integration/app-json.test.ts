// app.json's env and formation over the real SSH server and git push, with the fake builder and
// deployer at their interfaces: what a first push sets up (before the build, which sees it),
// what later pushes leave alone, the refusals (line and column, a required key), and a failed
// first push taking its setup back. test/e2e/app-json.test.ts runs the same on a real cluster.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newApp, remoteLines, startTestServer, useControls, type TestServer } from '../support/harness.ts';

const WEB_AND_WORKER = [
  { type: 'web', command: ['web'], args: [], default: true },
  { type: 'worker', command: ['worker'], args: [], default: false },
];

const APP_JSON = `{
  // Heroku's metadata, ignored
  "name": "shop", "keywords": ["x",], "addons": ["heroku-postgresql"],
  "env": {
    "SECRET_KEY": {"generator": "secret"},
    "WEB_CONCURRENCY": {"value": "2"},
    "PLAIN": "value",
  },
  "formation": {"web": {"quantity": 0}, "worker": {"quantity": 1, "size": "standard-2x"}},
}`;

describe('app.json env and formation over git push', () => {
  let s: TestServer;
  const lastDeploy = (app: string) => s.deployer.rollout.deployed.findLast((d) => d.app === app);
  const push = async (app: string, files: Record<string, string>) => {
    const wd = await s.workRepo(files);
    const r = await s.git(['push', '-f', s.sshRemote(app), 'main'], { cwd: wd });
    return { r, lines: remoteLines(r.stderr) };
  };
  const config = async (app: string) => JSON.parse((await s.ssh(s.admin, `config ${app} --json`)).stdout) as Record<string, string>;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('a first push sets env before the build and the formation before the release; later pushes change neither', async (t) => {
    useControls(t, s, { processes: WEB_AND_WORKER });
    const app = await newApp(s, 'appjson');
    const { r, lines } = await push(app, { 'index.js': '1\n', 'app.json': APP_JSON });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(lines.includes('       SECRET_KEY (generated secret)'), lines.join('\n'));
    assert.ok(lines.includes(`       app.json formation sizes are not used (worker: standard-2x); set memory and CPU with resource:limit ${app}`), lines.join('\n'));
    const build = s.builder.builds.findLast((b) => b.app === app)!;
    assert.match(build.env.SECRET_KEY ?? '', /^[0-9a-f]{64}$/, 'the build sees the generated secret');
    const first = lastDeploy(app)!;
    assert.deepEqual(first.formation, { web: 0, worker: 1 });
    assert.equal(lines.at(-1), `       (web is scaled to 0: nothing answers at this URL until ps:scale ${app} web=1)`);
    assert.deepEqual(first.config, { SECRET_KEY: build.env.SECRET_KEY, WEB_CONCURRENCY: '2', PLAIN: 'value' });

    const changed = APP_JSON.replace('"value": "2"', '"value": "9"').replace('"quantity": 0', '"quantity": 3');
    const again = await push(app, { 'index.js': '2\n', 'app.json': changed });
    assert.equal(again.r.exitCode, 0, again.r.stderr);
    assert.ok(!again.lines.some((l) => l.includes('app.json')), again.lines.join('\n'));
    assert.deepEqual(lastDeploy(app)!.formation, { web: 0, worker: 1 });
    assert.deepEqual(await config(app), first.config);
  });

  test('a required key refuses the push naming it, before anything is built or written', async () => {
    const app = await newApp(s, 'appjsonreq');
    const builds = s.builder.builds.length;
    const { r, lines } = await push(app, { 'index.js': '1\n', 'app.json': '{"env": {"API_KEY": {"required": true}, "X": "y"}}' });
    assert.notEqual(r.exitCode, 0);
    assert.equal(lines.at(-1), ` !     Push rejected: app.json requires API_KEY, which is not set; set it with config:set ${app} API_KEY=… and push again (nothing was deployed).`);
    assert.equal(s.builder.builds.length, builds);
    assert.deepEqual(await config(app), {});
    assert.deepEqual(JSON.parse((await s.ssh(s.admin, `releases ${app} --json`)).stdout), []);
  });

  test('a syntax error names its line and column; a formation naming a type the app lacks refuses the push', async () => {
    const app = await newApp(s, 'appjsonbad');
    const bad = await push(app, { 'index.js': '1\n', 'app.json': '{\n  "formation": {\n    "web": {"quantity": 1}\n    "worker": {}\n  }\n}\n' });
    assert.notEqual(bad.r.exitCode, 0);
    assert.equal(bad.lines.at(-1), ' !     Push rejected: app.json line 4, column 5: expected a comma.');
    const noWorker = await push(app, { 'index.js': '1\n', 'app.json': '{"env": {"A": "b"}, "formation": {"worker": {"quantity": 1}}}' });
    assert.notEqual(noWorker.r.exitCode, 0);
    assert.equal(noWorker.lines.at(-1), ' !     Push rejected: app.json formation.worker: There is no "worker" process type; this app has web; nothing was deployed.');
    assert.deepEqual(await config(app), {}, 'the env it set is taken back');
  });

  test('a first push whose rollout fails takes its env and formation back; the next first push sets them again', async (t) => {
    useControls(t, s, { processes: WEB_AND_WORKER, deployFailure: 'web did not become ready' });
    const app = await newApp(s, 'appjsonfail');
    const { r } = await push(app, { 'index.js': '1\n', 'app.json': APP_JSON });
    assert.notEqual(r.exitCode, 0);
    assert.deepEqual(await config(app), {});
    delete s.controls.deployFailure;
    const again = await push(app, { 'index.js': '2\n', 'app.json': APP_JSON });
    assert.equal(again.r.exitCode, 0, again.r.stderr);
    assert.ok(again.lines.includes('       Process counts from app.json formation: web=0, worker=1'), again.lines.join('\n'));
    assert.deepEqual(lastDeploy(app)!.formation, { web: 0, worker: 1 });
    assert.deepEqual(Object.keys(await config(app)).sort(), ['PLAIN', 'SECRET_KEY', 'WEB_CONCURRENCY']);
  });
});
