// Real Cloud Native Buildpacks builds: the real pack CLI and lifecycle, the project's offline
// builder, the testbed's Docker engine and registry. The deployer here is the test fake (this
// file is about builds; test/e2e/deploy.test.ts runs the whole path on Kubernetes).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PackBuilder } from '../../server/build/pack.ts';
import { run } from '../../server/exec.ts';
import { inspectImage, processesFromLabel } from '../../server/build/image.ts';
import { remoteLines, startTestServer, type TestServer } from '../support/harness.ts';
import { destroyApps } from '../support/on-testbed.ts';
import { loadConfig } from '../../server/config.ts';
import { fixtureCopy, needTestbed, registryAuthEnv, testbedEnv, testbedPack } from '../support/testbed.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK'] as const;
// Names of this run's own: other files build at the same time on the same engine and registry.
const ID = randomBytes(3).toString('hex');
const APPS = { node: `nodeapp-${ID}`, nothing: `nothing-${ID}`, npmfails: `npmfails-${ID}`, modes: `modes-${ID}`, flaskbare: `flaskbare-${ID}` };

describe('real pack builds with the offline builder', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;
  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    builder = new PackBuilder(testbedPack(tb.SLIPWAY_PACK!, 15 * 60_000));
    s = await startTestServer({ SLIPWAY_BUILDER: tb.SLIPWAY_BUILDER!, SLIPWAY_REGISTRY: tb.SLIPWAY_REGISTRY!, ...registryAuthEnv() }, { builder });
    for (const app of Object.values(APPS)) assert.equal((await s.ssh(s.admin, `apps:create ${app}`)).exitCode, 0);
  });
  after(() => destroyApps(s, builder, APPS));

  let wd: string;
  test('a Node app builds into an image in the registry with a web process', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    wd = fixtureCopy('node-app');
    const sha = await s.commitAll(wd, 'node app');
    const r = await s.git(['push', s.sshRemote(APPS.node), 'main'], { cwd: wd });
    const lines = remoteLines(r.stderr);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(lines.includes(`-----> Building ${APPS.node} (${sha.slice(0, 7)}) with ${tb!.SLIPWAY_BUILDER}`), lines.join('\n'));
    assert.ok(lines.some((l) => /^ {7}.*(DETECTING|Detecting|===> )/.test(l)), 'pack output is streamed, indented');
    assert.ok(lines.includes('=====> Application deployed:'));
    const release = s.deployer.rollout.deployed.at(-1)!;
    assert.match(release.image, new RegExp(`^${tb!.SLIPWAY_REGISTRY!.replace(/\./g, '\\.')}/slipway/${APPS.node}@sha256:[0-9a-f]{64}$`));
    assert.ok(release.processes.some((p) => p.type === 'web'), JSON.stringify(release.processes));
    const { labels } = await inspectImage(release.image, loadConfig(registryAuthEnv()).registryAuth);
    assert.ok(processesFromLabel(labels['io.buildpacks.build.metadata']).some((p) => p.type === 'web'));
    const output = await s.ssh(s.admin, `builds:output ${APPS.node}`);
    assert.match(output.stdout, /DETECTING|Detecting/);
  });

  test('a code-only change rebuilds reusing the dependency layers', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    appendFileSync(join(wd, 'server.js'), '\n// a code change\n');
    await s.commitAll(wd, 'code change');
    const r = await s.git(['push', s.sshRemote(APPS.node), 'main'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = remoteLines(r.stderr);
    assert.ok(lines.some((l) => /Reusing (cached )?(layer|node_modules|dependencies)|Restoring data for|Reusing/i.test(l)), lines.join('\n'));
  });

  test('files keep the modes git gives them in the image, from a zip or (with a project.toml) a directory', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('node-app');
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'tool.sh'), '#!/bin/sh\necho tool\n');
    chmodSync(join(dir, 'bin', 'tool.sh'), 0o755);
    mkdirSync(join(dir, 'lib', 'deep'), { recursive: true });
    writeFileSync(join(dir, 'lib', 'deep', 'data.txt'), 'data\n');
    symlinkSync('lib/deep/data.txt', join(dir, 'latest'));
    const paths = ['server.js', 'bin/tool.sh', 'lib', 'lib/deep', 'lib/deep/data.txt', 'latest'];
    const want = ['644 regular file', '755 regular file', '755 directory', '755 directory', '644 regular file', '777 symbolic link'];
    const modesInImage = async () => {
      const image = s!.deployer.rollout.deployed.at(-1)!.image;
      const r = await run('docker', ['run', '--rm', '--entrypoint', '/usr/bin/stat', image, '-c', '%a %F', ...paths.map((p) => `/workspace/${p}`)]);
      assert.equal(r.exitCode, 0, r.stderr);
      return r.stdout.trim().split('\n');
    };
    for (const [what, extra] of [['zip', undefined], ['directory', 'project.toml']] as const) {
      if (extra) writeFileSync(join(dir, extra), '[_]\nschema-version = "0.2"\nid = "modes"\n');
      await s.commitAll(dir, `modes from a ${what}`);
      const r = await s.git(['push', s.sshRemote(APPS.modes), 'main'], { cwd: dir });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.deepEqual(await modesInImage(), want, `from a ${what}`);
    }
  });

  test('an app no buildpack detects is rejected with the reason; the ref stays', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('no-buildpack');
    await s.commitAll(dir, 'nothing to build');
    const r = await s.git(['push', s.sshRemote(APPS.nothing), 'main'], { cwd: dir });
    assert.notEqual(r.exitCode, 0);
    const said = remoteLines(r.stderr).find((l) => l.startsWith(' !     No buildpack detected this app'));
    assert.ok(said, r.stderr);
    // The offline builder says which files it looked for, for every language it has.
    for (const f of ['package.json (Node.js)', 'requirements.txt', 'go.mod (Go)', 'pom.xml (Java, Maven)', 'index.html', 'Procfile']) assert.ok(said.includes(f), said);
    const ref = await s.git(['--git-dir', join(s.dir, `data/repos/${APPS.nothing}.git`), 'rev-parse', '--verify', '--quiet', 'main']);
    assert.equal(ref.stdout, '');
  });

  test('a Python app whose Procfile runs a program it does not install is rejected at build time, not crash-looping at start', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('python-missing');
    await s.commitAll(dir, 'flask without requirements');
    const r = await s.git(['push', s.sshRemote(APPS.flaskbare), 'main'], { cwd: dir });
    assert.notEqual(r.exitCode, 0);
    const lines = remoteLines(r.stderr);
    assert.ok(lines.some((l) => /^-----> Using Python 3\.\d+\.\d+ \(the default: the newest this builder has; pin another with \.python-version\)$/.test(l)), 'the Python buildpack, not the Procfile one alone, took it:\n' + lines.join('\n'));
    assert.ok(lines.includes(" !     The build failed: the Procfile's web process runs gunicorn, which is not installed: add it to a requirements.txt"), lines.join('\n'));
  });

  test('a failing npm ci rejects the push', async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('npm-fails');
    await s.commitAll(dir, 'broken lockfile');
    const r = await s.git(['push', s.sshRemote(APPS.npmfails), 'main'], { cwd: dir });
    assert.notEqual(r.exitCode, 0);
    assert.ok(remoteLines(r.stderr).some((l) => /^ ! {5}The build failed/.test(l)), r.stderr);
  });
});
