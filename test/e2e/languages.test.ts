// Each language the offline builder supports, the way a user meets it: `git push` over SSH to an
// in-process Slipway, a real pack build with the offline builder (dependencies from the npm
// registry, PyPI, the Go module proxy), the real Kubernetes deployer, pods on the testbed node,
// and the app's answer through the ingress at `Host: APP.BASE_DOMAIN`. One app per language;
// the TypeScript app is pushed twice to check that a code-only change reuses its dependencies. A
// native addon compiled from source is languages-native.test.ts.
// Cold builds download toolchains and packages, so each push gets minutes.
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { PackBuilder } from '../../server/build/pack.ts';
import type { TestServer } from '../support/harness.ts';
import { deployApp, destroyApps, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed } from '../support/testbed.ts';
import { waitForBody } from '../support/ingress.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const suffix = randomBytes(3).toString('hex');
/** A cold build downloads a toolchain and the app's packages, or compiles an addon, on a busy machine. */
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 60_000;

const APPS = {
  express: `express-${suffix}`,
  ts: `ts-${suffix}`,
  python: `python-${suffix}`,
  go: `go-${suffix}`,
} as const;

describe('languages: each app builds with the offline builder and answers through the ingress', { timeout: 60 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;
  const host = (app: string) => `${app}.${BASE_DOMAIN}`;
  const ssh = (command: string) => s!.ssh(s!.admin, command);

  before(async () => {
    ({ tb, server: s, builder } = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240' }, { buildTimeoutMs: PUSH_MS }) ?? {});
  });
  after(() => destroyApps(s, builder, APPS));

  const push = (app: string, dir: string) => deployApp(s!, app, dir);
  const has = (lines: string[], line: string) => assert.ok(lines.includes(line), `no line "${line}" in:\n${lines.join('\n')}`);

  test('Express + EJS with a lockfile: transitive dependencies (body-parser) load at run time', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('express-app');
    await s.commitAll(dir, 'express app');
    const lines = await push(APPS.express, dir);
    assert.ok(lines.some((l) => l.startsWith('-----> Installing dependencies with npm ci (package-lock.json')), lines.join('\n'));
    const want = 'hello from express (body-parser: function)\n';
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.express), (b) => b === want, ROUTE_MS), want);
  });

  test('TypeScript: tsc with @types/* at build time, production dependencies only at run time, Node from .nvmrc; a code-only change reuses the dependency layers', { timeout: 2 * PUSH_MS + 2 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('ts-app');
    await s.commitAll(dir, 'typescript app');
    const first = await push(APPS.ts, dir);
    has(first, '       .nvmrc: 22');
    has(first, '-----> Running npm run build');
    has(first, '-----> Pruning devDependencies for the launch image');
    const want = 'hello from typescript on node 22; typescript absent; 1m\n';
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.ts), (b) => b === want, ROUTE_MS), want);

    appendFileSync(join(dir, 'src', 'server.ts'), '\nconsole.log("a code change");\n');
    await s.commitAll(dir, 'code change');
    const second = await push(APPS.ts, dir);
    has(second, '-----> Reusing all dependencies for the build (package-lock.json unchanged)');
    has(second, '-----> Reusing production dependencies (package-lock.json unchanged)');
    assert.ok(!second.some((l) => l.includes('npm ci')), second.join('\n'));
    assert.ok(second.some((l) => /Reusing layer 'slipway\/nodejs:modules'/.test(l)), second.join('\n'));
    const logs = await ssh(`logs ${APPS.ts} -n 50`);
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.ts), (b) => b === want, ROUTE_MS), want, logs.stdout);
  });

  test('Python: Flask + gunicorn from requirements.txt with a Procfile is built by the Python buildpack, not the Procfile one alone', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('python-app');
    await s.commitAll(dir, 'flask app');
    const lines = await push(APPS.python, dir);
    assert.ok(lines.some((l) => /^-----> Using Python 3\.13\.\d+ \(from \.python-version\)$/.test(l)), lines.join('\n'));
    has(lines, '-----> Installing requirements with pip (requirements.txt)');
    const want = 'hello from flask 3 on python 3.13\n';
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.python), (b) => b === want, ROUTE_MS), want);
  });

  test('Go: the toolchain go.mod asks for, from the Go module proxy; web = the static binary', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('go-app');
    await s.commitAll(dir, 'go app');
    const lines = await push(APPS.go, dir);
    assert.ok(lines.some((l) => /^ {7}go\.mod go line: 1\.24 \(newest release of it: 1\.24\.\d+\)$/.test(l)), lines.join('\n'));
    has(lines, '-----> Default process: web = hello');
    const want = 'Hello from go 1.24\n';
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.go), (b) => b === want, ROUTE_MS), want);
  });
});
