// A native addon, the way a user meets it: an app depending on better-sqlite3, pushed with `git
// push` over SSH to an in-process Slipway, built by pack with the offline builder. No prebuilt
// binary can be downloaded, so node-gyp compiles SQLite against the Node headers the buildpack
// installed; the pod loads the addon and answers through the ingress. Its own file (not in
// languages.test.ts): the compile takes minutes on a busy machine and runs beside the other files.
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { PackBuilder } from '../../server/build/pack.ts';
import type { TestServer } from '../support/harness.ts';
import { deployApp, destroyApps, startWithApps } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed } from '../support/testbed.ts';
import { waitForBody } from '../support/ingress.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
const BASE_DOMAIN = 'slipway.test';
/** Compiling SQLite's amalgamation with node-gyp on a busy machine: about 90 s of one core alone,
 * over ten minutes once (the landing CI at 094ecd9, beside four other building files). */
const PUSH_MS = 20 * 60_000;
const ROUTE_MS = 60_000;
const APPS = { sqlite: `sqlite-${randomBytes(3).toString('hex')}` } as const;

describe('a native addon built from source on the offline builder', { timeout: 40 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  let builder: PackBuilder | undefined;

  before(async () => {
    ({ tb, server: s, builder } = await startWithApps(NEEDS, APPS, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240' }, { buildTimeoutMs: PUSH_MS }) ?? {});
  });
  after(() => destroyApps(s, builder, APPS));

  test('better-sqlite3, no prebuilt binary reachable, compiles with node-gyp against the installed Node headers', { timeout: PUSH_MS + ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const dir = fixtureCopy('sqlite-app');
    await s.commitAll(dir, 'sqlite app');
    await deployApp(s, APPS.sqlite, dir);
    const want = 'hello from sqlite 3\n';
    assert.equal(await waitForBody(tb!.SLIPWAY_TEST_INGRESS!, `${APPS.sqlite}.${BASE_DOMAIN}`, (b) => b === want, ROUTE_MS), want);
  });
});
