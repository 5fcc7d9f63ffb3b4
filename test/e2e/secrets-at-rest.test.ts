// Secrets at rest on the testbed (issue 38, section 3): an app pushed and configured for real, then
//   - Slipway's own database file holds none of its config values in clear (they are sealed);
//   - the raw bytes of the app's config Secret in the cluster's datastore (etcd, read with the
//     apiserver's own etcd client certificate) hold none either: the testbed's apiserver encrypts
//     Secrets (testbed/kube/encryption.sh), as install.sh's k3s does (--secrets-encryption);
//   - secrets:rotate-key seals every value again, and the app still reads its values, old and new,
//     from the release a config change makes after the rotation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TestServer } from '../support/harness.ts';
import { startOnTestbed, deployApp } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';
import { httpThroughIngress } from '../support/ingress.ts';
import { eventually } from '../support/eventually.ts';

const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS'] as const;
/** etcd's address and the apiserver's etcd client certificate (testbed/parts/50-kube.sh prints both). */
const ETCD = ['SLIPWAY_TEST_ETCD', 'SLIPWAY_TEST_ETCD_PKI'] as const;
const BASE_DOMAIN = 'slipway.test';
const APP = `atrest-${randomBytes(3).toString('hex')}`;
const NS = `slipway-${APP}`;
const PUSH_MS = 10 * 60_000;
const ROUTE_MS = 60_000;
const SECRET = `canary-${randomBytes(8).toString('hex')}`;
const LATER = `later-${randomBytes(8).toString('hex')}`;

/** The raw value etcd keeps under `key` (the apiserver's storage bytes), through etcd's JSON gateway. */
function etcdValue(etcd: string, pki: string, key: string): Promise<Buffer | undefined> {
  const body = JSON.stringify({ key: Buffer.from(key).toString('base64') });
  const url = new URL('/v3/kv/range', etcd);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST', ca: readFileSync(join(pki, 'etcd-ca.crt')), cert: readFileSync(join(pki, 'apiserver-etcd-client.crt')), key: readFileSync(join(pki, 'apiserver-etcd-client.key')),
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          const kvs = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { kvs?: { value: string }[] }).kvs;
          resolve(kvs?.[0] ? Buffer.from(kvs[0].value, 'base64') : undefined);
        } catch (err) {
          reject(new Error(`etcd answered ${res.statusCode} with something not JSON`, { cause: err }));
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('secrets at rest: the store and the cluster datastore hold no config value in clear', { timeout: 20 * 60_000 }, () => {
  let s: TestServer | undefined;
  let ingress: string;
  const host = `${APP}.${BASE_DOMAIN}`;
  const ssh = (command: string) => s!.ssh(s!.admin, command);
  const envVar = async (name: string) => (await httpThroughIngress(ingress, host, 5000, `/env?var=${name}`)).body;
  const release = async () => (JSON.parse((await ssh(`releases ${APP} --json`)).stdout) as { version: number }[])[0]!.version;
  const dbBytes = () => {
    s!.slipway.services.store.db.pragma('wal_checkpoint(TRUNCATE)');
    return readFileSync(join(s!.dir, 'data', 'slipway.db'));
  };

  before(async () => {
    const tb = testbedEnv(NEEDS);
    if (!tb) return;
    ingress = tb.SLIPWAY_TEST_INGRESS!;
    ({ server: s } = await startOnTestbed(tb, { SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '180' }, { buildTimeoutMs: PUSH_MS }));
    assert.equal((await ssh(`apps:create ${APP}`)).exitCode, 0);
  });
  after(async () => {
    if (!s) return;
    await ssh(`apps:destroy ${APP} --confirm ${APP}`);
    await s.close();
  });

  test('a config value set on a deployed app is in neither Slipway\'s database file nor its Secret\'s bytes in etcd, and the app reads it', { timeout: PUSH_MS + 2 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const wd = fixtureCopy('day2-app');
    await s.commitAll(wd, 'secrets at rest');
    await deployApp(s, APP, wd);
    const set = await ssh(`config:set ${APP} CANARY=${SECRET}`);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.equal(await eventually('the app to read CANARY', async () => (await envVar('CANARY')) === SECRET && SECRET, ROUTE_MS, 500), SECRET);
    assert.equal(dbBytes().includes(SECRET), false, "Slipway's database file holds the config value in clear");
    const etcd = needTestbed(t, ETCD);
    if (!etcd) return;
    const key = `/registry/secrets/${NS}/env-v${await release()}`;
    const raw = await etcdValue(etcd.SLIPWAY_TEST_ETCD!, etcd.SLIPWAY_TEST_ETCD_PKI!, key);
    assert.ok(raw, `etcd has no ${key}`);
    assert.equal(raw.includes(SECRET), false, `etcd holds ${key} in clear (it starts ${JSON.stringify(raw.subarray(0, 24).toString('latin1'))}): the testbed's apiserver runs without --encryption-provider-config; testbed/up.sh restarts it with testbed/kube/encryption.sh's`);
    assert.match(raw.subarray(0, 40).toString('latin1'), /^k8s:enc:aescbc:v1:/);
  });

  test('secrets:rotate-key seals everything again; the next release reads the old value and a new one', { timeout: 2 * ROUTE_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const keys = join(s.dir, 'data', 'keys');
    const [before] = readdirSync(keys);
    const r = await ssh('secrets:rotate-key');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^Sealed \d+ secret values with key [0-9a-f]{16} in \d+ ms/);
    const [now] = readdirSync(keys);
    assert.notEqual(now, before);
    const set = await ssh(`config:set ${APP} LATER=${LATER}`);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.equal(await eventually('the app to read LATER', async () => (await envVar('LATER')) === LATER && LATER, ROUTE_MS, 500), LATER);
    assert.equal(await envVar('CANARY'), SECRET, 'a value sealed before the rotation reaches the new release unchanged');
    const bytes = dbBytes();
    for (const v of [SECRET, LATER]) assert.equal(bytes.includes(v), false, `${v} is in the database file in clear`);
    const listed = JSON.parse((await ssh('secrets --json')).stdout) as { current: string; keys: { id: string }[] };
    assert.deepEqual(listed.keys.map((k) => `store-${k.id}.key`), [now]);
  });
});
