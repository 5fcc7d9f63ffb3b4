import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheVolume, explainFailure, packArgs, transcriptLine } from '../../server/build/pack.ts';
import { parseImageRef, processesFromLabel, registryBase } from '../../server/build/image.ts';

const req = { app: 'myapp', source: '/tmp/src.zip', builderImage: 'heroku/builder:24', tag: 'build-7', env: { SECRET: 'hunter2', GREETING: 'hi' } };

test('pack arguments: publish to the registry, stable cache, release tag, no secret values', () => {
  const args = packArgs(req, { registry: '127.0.0.1:5000' }, '/tmp/report');
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
  assert.deepEqual(args.filter((_, i) => args[i - 1] === '--env'), ['SECRET', 'GREETING']);
  assert.ok(!args.join(' ').includes('hunter2'));
  assert.ok(!packArgs(req, { registry: 'registry.example.com' }, '/r').includes('--insecure-registry'));
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
