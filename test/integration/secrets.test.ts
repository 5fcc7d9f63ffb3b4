// Secrets at rest over the real SSH server and HTTP API (issue 38, section 3): `secrets` and
// `secrets:rotate-key` (GET /api/v1/secrets/keys, POST /api/v1/secrets/rotate-key) for admins; a
// deployed app's config is sealed in the database file, survives a rotation and a restart, and its
// next release runs with the same values. The deployer is faked at Slipway's Deployer interface.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployedApp, makeKey, startTestServer, type TestServer } from '../support/harness.ts';
import { api, makeToken } from '../support/api-client.ts';

describe('secrets at rest over SSH and the API', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer(); });
  after(() => s.close());
  const keyDir = () => join(s.dir, 'data', 'keys');
  const dbBytes = () => {
    s.slipway.services.store.db.pragma('wal_checkpoint(TRUNCATE)');
    return readFileSync(join(s.dir, 'data', 'slipway.db'));
  };

  test('config values are sealed in the database file; secrets lists the key and its values', async () => {
    const { app } = await deployedApp(s, 'sealed');
    const set = await s.ssh(s.admin, `config:set ${app} API_TOKEN=tok-5a1d9f PASSWORD=correct-horse`);
    assert.equal(set.exitCode, 0, set.stderr);
    const bytes = dbBytes();
    for (const clear of ['tok-5a1d9f', 'correct-horse']) assert.equal(bytes.includes(clear), false, `${clear} is in the database file in clear`);
    assert.deepEqual(s.deployer.rollout.deployed.findLast((d) => d.app === app)?.config, { API_TOKEN: 'tok-5a1d9f', PASSWORD: 'correct-horse' });
    const [file] = readdirSync(keyDir());
    const id = /^store-([0-9a-f]{16})\.key$/.exec(file!)![1]!;
    const listed = await s.ssh(s.admin, 'secrets');
    assert.equal(listed.exitCode, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^KEY +FROM +VALUES\\s*\\n${id} +${keyDir().replace(/[/.]/g, '\\$&')}/store-${id}\\.key +\\d+ +seals new values$`));
  });

  test('secrets:rotate-key seals everything with a new key, removes the old file, and config reads and deploys the same', async () => {
    const { app } = await deployedApp(s, 'rotated');
    assert.equal((await s.ssh(s.admin, `config:set ${app} KEEP=me-after-rotation`)).exitCode, 0);
    const [old] = readdirSync(keyDir());
    const r = await s.ssh(s.admin, 'secrets:rotate-key');
    assert.equal(r.exitCode, 0, r.stderr);
    const m = /^Sealed (\d+) secret values with key ([0-9a-f]{16}) in \d+ ms; key ([0-9a-f]{16}) sealed new values before\.\nRemoved the key file of \3: no value is sealed with it any more\.\nBackups written before this hold the old key with their store: they restore as they are\.$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(`store-${m[3]}.key`, old);
    assert.deepEqual(readdirSync(keyDir()), [`store-${m[2]}.key`]);
    const got = await s.ssh(s.admin, `config:get ${app} KEEP`);
    assert.equal(got.stdout.trim(), 'me-after-rotation');
    assert.equal((await s.ssh(s.admin, `config:set ${app} MORE=1`)).exitCode, 0);
    assert.deepEqual(s.deployer.rollout.deployed.findLast((d) => d.app === app)?.config, { KEEP: 'me-after-rotation', MORE: '1' });
    const listed = JSON.parse((await s.ssh(s.admin, 'secrets --json')).stdout) as { current: string; keys: { id: string; values: number }[]; clear: number };
    assert.equal(listed.current, m[2]);
    assert.deepEqual(listed.keys.map((k) => k.id), [m[2]]);
    assert.equal(listed.clear, 0);
  });

  test('over the API for an admin token; a read token and a deployer are refused', async () => {
    const admin = await makeToken(s, s.admin, 'secrets-admin', 'admin');
    const read = await makeToken(s, s.admin, 'secrets-read', 'read');
    const keys = await api(s, 'GET', '/secrets/keys', { token: admin });
    assert.equal(keys.status, 200, keys.text);
    const before = (keys.json as { current: string }).current;
    const rotated = await api(s, 'POST', '/secrets/rotate-key', { token: admin });
    assert.equal(rotated.status, 200, rotated.text);
    const body = rotated.json as { key: string; previous: string; values: number; removed: string[]; fromEnvironment: boolean };
    assert.deepEqual([body.previous, body.removed, body.fromEnvironment], [before, [before], false]);
    assert.ok(body.values > 0);
    assert.equal((await api(s, 'POST', '/secrets/rotate-key', { token: read })).status, 403);
    assert.equal((await api(s, 'GET', '/secrets/keys', { token: read })).status, 403);
    const dev = await makeKey(s.dir, 'dev-secrets');
    assert.equal((await s.ssh(s.admin, 'keys:add dev-secrets', dev.pub)).exitCode, 0);
    const refused = await s.ssh(dev, 'secrets:rotate-key');
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /Only admins may run secrets:rotate-key\./);
    assert.deepEqual(readdirSync(keyDir()), [`store-${body.key}.key`]);
  });
});
