import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheVolume, dockerConfigJson, envFileText, explainFailure, packArgs, packEnvironment, packSettings, PackBuilder, transcriptLine } from '../../server/build/pack.ts';
import { parseImageRef, processesFromLabel, registryAuthHeaders, registryBase } from '../../server/build/image.ts';
import { loadConfig } from '../../server/config.ts';
import { lineTranscript } from '../../server/output/transcript.ts';
import { UserError } from '../../server/errors.ts';

const req = { app: 'myapp', source: '/tmp/src.zip', builderImage: 'heroku/builder:24', tag: 'build-7', env: { SECRET: 'hunter2', GREETING: 'hi' } };
const files = { reportDir: '/tmp/b/report', envFile: '/tmp/b/env' };

test('pack arguments: publish to the registry, stable cache, release tag, config only as an env file', () => {
  const args = packArgs(req, { registry: '127.0.0.1:5000' }, files);
  assert.deepEqual(args.slice(0, 2), ['build', '127.0.0.1:5000/slipway/myapp:latest']);
  const flag = (name: string) => args[args.indexOf(name) + 1];
  assert.equal(flag('--path'), '/tmp/src.zip');
  assert.equal(flag('--builder'), 'heroku/builder:24');
  assert.equal(flag('--tag'), '127.0.0.1:5000/slipway/myapp:build-7');
  assert.equal(flag('--pull-policy'), 'if-not-present');
  assert.equal(flag('--default-process'), 'web');
  assert.equal(flag('--cache'), `type=build;format=volume;name=${cacheVolume('myapp')}`);
  assert.equal(flag('--insecure-registry'), '127.0.0.1:5000');
  for (const f of ['--publish', '--trust-builder']) assert.ok(args.includes(f), f);
  assert.equal(flag('--env-file'), '/tmp/b/env');
  assert.equal(flag('--report-output-dir'), '/tmp/b/report');
  assert.ok(!args.includes('--env'), 'no --env KEY: pack would read the value from its own environment');
  assert.ok(!args.join(' ').includes('hunter2'));
  assert.ok(!packArgs(req, { registry: 'registry.example.com' }, files).includes('--insecure-registry'));
});

// An app's config vars named like pack's own settings (DOCKER_HOST=tcp://… made pack use the
// tenant's engine) must not reach pack's process; they reach the build through the env file only.
const hostile = {
  DOCKER_HOST: 'tcp://127.0.0.1:2375', DOCKER_CONFIG: '/tmp/x', PACK_HOME: '/tmp/x', HTTPS_PROXY: 'http://127.0.0.1:1',
  SSL_CERT_FILE: '/tmp/x/ca.pem', PATH: '/tmp/x', GREETING: 'hi',
};

test("pack's environment is the server's allowed variables, its engine and this build's Docker config, never an app's config", () => {
  const config = loadConfig({
    SLIPWAY_DATA_DIR: '/nonexistent', DOCKER_HOST: 'unix:///run/engine.sock', PATH: '/usr/bin:/bin', HOME: '/var/lib/slipway',
    PACK_HOME: '/var/lib/slipway/pack', KUBECONFIG: '/etc/slipway/kubeconfig', SLIPWAY_ADMIN_KEYS: '/etc/slipway/admin_keys', AWS_SECRET_ACCESS_KEY: 'server-secret',
  });
  const env = packEnvironment(packSettings(config, '/usr/bin/pack'), '/tmp/slipway-pack-1/docker');
  assert.deepEqual(env, {
    PATH: '/usr/bin:/bin', HOME: '/var/lib/slipway', PACK_HOME: '/var/lib/slipway/pack',
    DOCKER_HOST: 'unix:///run/engine.sock', DOCKER_CONFIG: '/tmp/slipway-pack-1/docker',
  });
});

test("the env file carries each config var as KEY=VALUE; values pack's format would change stay out, named", () => {
  assert.deepEqual(envFileText({ A: 'x=y', EMPTY: '', URL: 'postgres://u:p@h/db?x=1#f', QUOTED: '"kept as is"' }), {
    text: 'A=x=y\nEMPTY=\nURL=postgres://u:p@h/db?x=1#f\nQUOTED="kept as is"\n', left: [],
  });
  // Go's TrimSpace (pack) also cuts U+0085, which JavaScript's trim keeps.
  assert.deepEqual(envFileText({ PEM: '-----BEGIN KEY-----\nabc\n-----END KEY-----', PAD: ' x', TAB: 'x\t', NBSP: '\u00a0x', NEL: 'x\u0085', CR: 'x\r', OK: 'a b', MID: 'a\rb' }), {
    text: 'OK=a b\nMID=a\rb\n', left: ['PEM', 'PAD', 'TAB', 'NBSP', 'NEL', 'CR'],
  });
});

test("the Docker config pack reads holds the registry's credential and nothing else", () => {
  assert.deepEqual(JSON.parse(dockerConfigJson('127.0.0.1:5000', { username: 'slipway', password: 's3cret' })), {
    auths: { '127.0.0.1:5000': { auth: Buffer.from('slipway:s3cret').toString('base64') } },
  });
  assert.deepEqual(JSON.parse(dockerConfigJson('127.0.0.1:5000', undefined)), { auths: {} });
  assert.deepEqual(registryAuthHeaders({ username: 'slipway', password: 's3cret' }), { authorization: `Basic ${Buffer.from('slipway:s3cret').toString('base64')}` });
  assert.deepEqual(registryAuthHeaders(undefined), {});
});

test('a build runs pack with exactly that environment; the env file and Docker config are private and removed after', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-pack-test-'));
  try {
    // A stand-in for the pack binary that records what it was given, then fails the build.
    const fake = join(dir, 'pack');
    writeFileSync(fake, [
      '#!/bin/sh',
      `out=${dir}`,
      'env > "$out/environ"',
      'while [ $# -gt 0 ]; do',
      '  case $1 in',
      '    --env-file) cp "$2" "$out/env-file"; stat -c %a "$2" > "$out/env-file.mode"; echo "$2" > "$out/env-file.path" ;;',
      '  esac',
      '  shift',
      'done',
      'cp "$DOCKER_CONFIG/config.json" "$out/docker-config"; stat -c %a "$DOCKER_CONFIG/config.json" "$DOCKER_CONFIG" > "$out/docker-config.mode"',
      'echo "ERROR: failed to build: exit status 1"; exit 1',
    ].join('\n'), { mode: 0o755 });
    const builder = new PackBuilder({
      packBinary: fake, registry: '127.0.0.1:5000', buildTimeoutMs: 60_000, dockerHost: 'unix:///run/engine.sock',
      registryAuth: { username: 'slipway', password: 's3cret' }, env: { PATH: '/usr/bin:/bin', HOME: dir },
    });
    const lines: string[] = [];
    await assert.rejects(builder.build({
      ...req, tenant: 'dev', env: { ...hostile, PEM: 'a\nb' }, commit: 'c0ffee', logFile: join(dir, 'build.log'), transcript: lineTranscript((l) => lines.push(l)), signal: new AbortController().signal,
    }), UserError);
    const environ = readFileSync(join(dir, 'environ'), 'utf8').trim().split('\n').filter((l) => !/^(PWD|SHLVL|_)=/.test(l)).sort();
    const configDir = environ.find((l) => l.startsWith('DOCKER_CONFIG='))!.slice('DOCKER_CONFIG='.length);
    assert.deepEqual(environ, [`DOCKER_CONFIG=${configDir}`, 'DOCKER_HOST=unix:///run/engine.sock', `HOME=${dir}`, 'PATH=/usr/bin:/bin']);
    assert.notEqual(configDir, '/tmp/x');
    assert.equal(readFileSync(join(dir, 'env-file'), 'utf8'),
      'DOCKER_HOST=tcp://127.0.0.1:2375\nDOCKER_CONFIG=/tmp/x\nPACK_HOME=/tmp/x\nHTTPS_PROXY=http://127.0.0.1:1\nSSL_CERT_FILE=/tmp/x/ca.pem\nPATH=/tmp/x\nGREETING=hi\n');
    assert.equal(readFileSync(join(dir, 'env-file.mode'), 'utf8').trim(), '600');
    assert.deepEqual(readFileSync(join(dir, 'docker-config.mode'), 'utf8').trim().split('\n'), ['600', '700']);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'docker-config'), 'utf8')), { auths: { '127.0.0.1:5000': { auth: Buffer.from('slipway:s3cret').toString('base64') } } });
    assert.ok(lines.some((l) => l.startsWith(' !     PEM is left out of the build')), lines.join('\n'));
    assert.equal(existsSync(readFileSync(join(dir, 'env-file.path'), 'utf8').trim()), false, 'the env file is removed after the build');
    assert.equal(existsSync(configDir), false, 'the Docker config is removed after the build');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('failures become one sentence', () => {
  const ctx = { registry: '127.0.0.1:5000', minutes: 15 };
  assert.equal(
    explainFailure(['===> DETECTING', '======== Results ========', 'fail: slipway/nodejs@0.1.0', 'skip: slipway/procfile@0.1.0', 'fail: slipway/static@0.1.0', 'fail: slipway/procfile@0.1.0', '2026/11/21 07:42:18.063653 ERROR: No buildpack groups passed detection.'], 20, ctx),
    'No buildpack detected this app (tried slipway/nodejs, slipway/static, slipway/procfile): pack says "No buildpack groups passed detection".',
  );
  assert.equal(explainFailure(['2026/11/21 07:42:32.261185  !     npm ci failed (see the npm output above)', 'ERROR: failed to build: exit status 1'], 51, ctx), 'The build failed: npm ci failed (see the npm output above)');
  assert.match(explainFailure(['ERROR: failed to build: Cannot connect to the Docker daemon at unix:///x. Is the docker daemon running?'], 1, ctx), /Docker engine is not reachable/);
  assert.match(explainFailure(['ERROR: failed to export: Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused'], 1, ctx), /registry 127\.0\.0\.1:5000 is not reachable/);
  assert.equal(
    explainFailure(["ERROR: failed to build: failed to fetch builder image 'reg:5000/b:1': image 'reg:5000/b:1' does not exist on the daemon: not found"], 1, ctx),
    'The builder image reg:5000/b:1 could not be fetched (check builder:set and the registry); nothing was built.',
  );
  assert.equal(explainFailure([], 1, { ...ctx, stopped: 'timeout' }), 'The build took longer than 15 minutes and was stopped.');
  const refused = 'The registry 127.0.0.1:5000 refused the build\'s requests or lacks one of its images (an admin can check with doctor: the credential is SLIPWAY_REGISTRY_AUTH_FILE); nothing was published.';
  assert.equal(explainFailure(["ERROR: failed to build: invalid run-image '127.0.0.1:5000/slipway/run:dca0': image '127.0.0.1:5000/slipway/run:dca0' does not exist in registry: not found"], 1, ctx), refused);
  assert.equal(explainFailure(['ERROR: failed to export: saving image: UNAUTHORIZED: authentication required'], 1, ctx), refused);
  assert.match(explainFailure(['npm error code ETARGET'], 51, ctx), /^The build failed: npm error code ETARGET/);
  assert.match(explainFailure(['something else'], 3, ctx), /pack exited with 3/);
});

test('pack output in the push: timestamps and platform noise dropped, buildpack steps kept', () => {
  assert.deepEqual(transcriptLine('2026/11/21 07:41:52.222136 ===> DETECTING'), { text: '===> DETECTING', raw: false });
  assert.deepEqual(transcriptLine('2026/11/21 07:41:52.472486 -----> Resolving Node.js version'), { text: '-----> Resolving Node.js version', raw: true });
  assert.deepEqual(transcriptLine('       engines.node: 24.x'), { text: '       engines.node: 24.x', raw: true });
  assert.equal(transcriptLine('2026/11/21 07:41:51.332260 Warning: Detected pack is running in a container; …'), undefined);
  assert.equal(transcriptLine('Warning: Did not find SBOM lifecycle.sbom.cdx.json in /cnb/lifecycle'), undefined);
});

test('image references and registries', () => {
  assert.deepEqual(parseImageRef('127.0.0.1:5000/slipway/a@sha256:' + 'a'.repeat(64)), { registry: '127.0.0.1:5000', repository: 'slipway/a', reference: 'sha256:' + 'a'.repeat(64) });
  assert.deepEqual(parseImageRef('127.0.0.1:5000/slipway/a:v1'), { registry: '127.0.0.1:5000', repository: 'slipway/a', reference: 'v1' });
  assert.deepEqual(parseImageRef('reg.example/x'), { registry: 'reg.example', repository: 'x', reference: 'latest' });
  assert.equal(registryBase('127.0.0.1:5000'), 'http://127.0.0.1:5000');
  assert.equal(registryBase('registry.example.com'), 'https://registry.example.com');
});

test('processes come from the io.buildpacks.build.metadata label', () => {
  const label = JSON.stringify({
    processes: [
      { type: 'web', command: ['npm', 'start'], args: null, direct: false, buildpackID: 'x' },
      { type: 'worker', command: ['node'], args: ['worker.js'], direct: true, buildpackID: 'y' },
    ],
  });
  assert.deepEqual(processesFromLabel(label), [
    { type: 'web', command: ['npm', 'start'], args: [], default: true },
    { type: 'worker', command: ['node'], args: ['worker.js'], default: false },
  ]);
  assert.deepEqual(processesFromLabel(undefined), []);
});

test('a detection failure names the files the offline builder looked for, each once', () => {
  const ctx = { registry: '127.0.0.1:5000', minutes: 15 };
  const lines = [
    '===> DETECTING', '======== Output: slipway/nodejs@0.1.0 ========', 'looked for package.json (Node.js)',
    '======== Output: slipway/procfile@0.1.0 ========', 'looked for Procfile (processes only)', '======== Results ========',
    'fail: slipway/nodejs@0.1.0', 'skip: slipway/procfile@0.1.0',
    '======== Output: slipway/go@0.1.0 ========', 'looked for go.mod (Go)',
    '======== Output: slipway/procfile@0.1.0 ========', 'looked for Procfile (processes only)',
    'fail: slipway/go@0.1.0', 'fail: slipway/procfile@0.1.0', 'ERROR: No buildpack groups passed detection.',
  ];
  assert.equal(
    explainFailure(lines, 20, ctx),
    'No buildpack detected this app (tried slipway/nodejs, slipway/go, slipway/procfile): looked for package.json (Node.js); Procfile (processes only); go.mod (Go).',
  );
});
