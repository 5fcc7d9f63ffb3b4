// The Python versions of the offline builder, the way an app asks for one: `.python-version`,
// `runtime.txt` (Heroku's), or pyproject.toml's `requires-python`; a Django 6 app in the shape of
// Heroku's getting-started app (its `.python-version` 3.14, served by Debian sid's build, whose
// termios gap the build states; gunicorn.conf.py binding [::]:$PORT, whitenoise's hashed static
// files from collectstatic at build time); and a version the builder lacks (3.12) refused in one
// sentence before anything is installed. Real pushes over SSH, real pack builds with the offline builder,
// pods on the testbed node, answers through the ingress.
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PackBuilder } from '../../server/build/pack.ts';
import type { TestServer } from '../support/harness.ts';
import { deployApp, destroyApps, pushApp, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed } from '../support/testbed.ts';
import { httpThroughIngress, waitForBody } from '../support/ingress.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
const suffix = randomBytes(3).toString('hex');
/** A cold build downloads the app's packages on a busy machine. */
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 60_000;
/** What a refused pin says: the versions this builder has, and where to pin one. */
const HAS = 'which this builder does not have: it has 3.11, 3.13 and 3.14 (put one of those in .python-version)';

const APPS = {
  py311: `py311-${suffix}`,
  runtime: `pyrt-${suffix}`,
  requires: `pyreq-${suffix}`,
  django: `django-${suffix}`,
  refused: `pyno-${suffix}`,
} as const;

describe('python versions: the interpreter an app pins, from the offline builder', { timeout: 60 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;
  const host = (app: string) => `${app}.${BASE_DOMAIN}`;

  before(async () => {
    ({ tb, server: s, builder } = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240' }, { buildTimeoutMs: PUSH_MS }) ?? {});
  });
  after(() => destroyApps(s, builder, APPS));

  const push = (app: string, dir: string) => pushApp(s!, app, dir);
  const deployed = (app: string, dir: string) => deployApp(s!, app, dir);
  const has = (lines: string[], re: RegExp) => assert.ok(lines.some((l) => re.test(l)), `no line matching ${re} in:\n${lines.join('\n')}`);
  /** The Flask fixture with its version file replaced by `files`. */
  function flask(files: Record<string, string>): string {
    const dir = fixtureCopy('python-app');
    rmSync(join(dir, '.python-version'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  test('.python-version 3.11: the compiled 3.11 builds the venv and runs the app', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = flask({ '.python-version': '3.11\n' });
    await s.commitAll(dir, 'flask on 3.11');
    const lines = await deployed(APPS.py311, dir);
    has(lines, /^-----> Using Python 3\.11\.\d+ \(from \.python-version\)$/);
    const want = 'hello from flask 3 on python 3.11\n';
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.py311), (b) => b === want, ROUTE_MS), want);
  });

  test("runtime.txt with a patch release the builder lacks gets the builder's release of that minor version, and says so", { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = flask({ 'runtime.txt': 'python-3.13.1\n' });
    await s.commitAll(dir, 'flask with runtime.txt');
    const lines = await deployed(APPS.runtime, dir);
    has(lines, /^-----> Using Python 3\.13\.\d+ \(from runtime\.txt\)$/);
    has(lines, /^ {7}runtime\.txt asks for 3\.13\.1; this builder's 3\.13 release is 3\.13\.\d+ \(patch releases are compatible\)$/);
    const want = 'hello from flask 3 on python 3.13\n';
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.runtime), (b) => b === want, ROUTE_MS), want);
  });

  test("pyproject.toml's requires-python alone picks the newest interpreter that satisfies it", { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = flask({ 'pyproject.toml': '[project]\nname = "hello"\nversion = "1.0"\nrequires-python = ">=3.10,<3.13"\n' });
    await s.commitAll(dir, 'flask with requires-python');
    const lines = await deployed(APPS.requires, dir);
    has(lines, /^-----> Using Python 3\.11\.\d+ \(the newest that satisfies requires-python >=3\.10,<3\.13 in pyproject\.toml\)$/);
    const want = 'hello from flask 3 on python 3.11\n';
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.requires), (b) => b === want, ROUTE_MS), want);
  });

  test("Django 6 in the shape of Heroku's getting-started app, on its Python 3.14: collectstatic at build time, the page and its hashed static file through the ingress", { timeout: PUSH_MS + 2 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('django-app');
    await s.commitAll(dir, 'django app');
    const lines = await deployed(APPS.django, dir);
    has(lines, /^-----> Using Python 3\.14\.\d+ \(from \.python-version\)$/);
    has(lines, /^ {7}termios \(and so tty and pty\) is not available in this Python: it is Debian sid's build, whose termios needs glibc 2\.42, and this builder's Debian trixie has 2\.41$/);
    has(lines, /^-----> Running python manage\.py collectstatic --noinput$/);
    const page = await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.django), (b) => b.includes('hello from django 6 on python 3.14'), ROUTE_MS);
    const css = /href="(\/static\/pages\/site\.[0-9a-f]{12}\.css)"/.exec(page);
    assert.ok(css, page);
    const r = await httpThroughIngress(tb!.SLIPWAY_TEST_INGRESS!, host(APPS.django), 5000, css[1]);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'p { font-family: sans-serif; }\n');
  });

  test('a minor version the builder lacks (3.12, in no Debian suite) is refused in one sentence naming the versions it has; nothing is deployed', { timeout: PUSH_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('django-app');
    writeFileSync(join(dir, '.python-version'), '3.12\n');
    await s.commitAll(dir, 'django on 3.12');
    const r = await push(APPS.refused, dir);
    assert.notEqual(r.code, 0);
    assert.ok(r.lines.includes(` !     The build failed: .python-version asks for Python 3.12, ${HAS}`), r.lines.join('\n'));
    assert.ok(!r.lines.some((l) => l.includes('Installing requirements')), r.lines.join('\n'));
    const ref = await s.git(['--git-dir', join(s.dir, `data/repos/${APPS.refused}.git`), 'rev-parse', '--verify', '--quiet', 'main']);
    assert.equal(ref.stdout, '', 'a refused push leaves no branch behind');
  });
});
