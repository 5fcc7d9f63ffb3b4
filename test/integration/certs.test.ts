// Issue 12's commands over the real SSH server and git push, with the fake deployer at the
// Deployer interface: what a push hands the deployer for TLS, `certs` lines, certs:add's refusals
// (one sentence, nothing stored), certs:remove, certs:auto:disable, and the periodic TLS sync.
// test/e2e/certs.test.ts runs the same against cert-manager, Pebble and Traefik.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { newApp, remoteLines, startTestServer, type TestServer } from '../support/harness.ts';
import { eventually } from '../support/eventually.ts';

const run = promisify(execFile);

/** A self-signed certificate and key for `names` (PEM), valid for 30 days. */
async function selfSigned(names: string[]): Promise<{ cert: string; key: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-cert-'));
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=integration',
    '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`, '-keyout', key, '-out', cert]);
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

describe('certificates over SSH and git push', () => {
  let s: TestServer;
  let app: string;
  const ssh = (command: string, input?: string) => s.ssh(s.admin, command, input);
  const lastDeploy = () => s.deployer.rollout.deployed.findLast((d) => d.app === app)!;
  before(async () => {
    s = await startTestServer({ SLIPWAY_ACME_EMAIL: 'ops@example.com', SLIPWAY_CERT_WAIT_S: '1', SLIPWAY_TLS_SYNC_S: '1' });
    app = await newApp(s, 'tls');
    const wd = await s.workRepo({ 'index.js': 'console.log("hi")\n' });
    const r = await s.git(['push', s.sshRemote(app), 'main'], { cwd: wd });
    assert.equal(r.exitCode, 0, r.stderr);
    // Not issued within SLIPWAY_CERT_WAIT_S: the http URL and why.
    const lines = remoteLines(r.stderr);
    const at = lines.indexOf('=====> Application deployed:');
    assert.equal(lines[at + 1], `       http://${app}.apps.test`, lines.join('\n'));
    assert.ok(lines.some((l) => /HTTPS is not ready yet: the certificate for \S+ is pending \(the fake CA is thinking\)/.test(l)), lines.join('\n'));
  });
  after(() => s.close());

  test('a push hands the deployer automatic certificates from the issuer; certs lists each host', async () => {
    assert.deepEqual(lastDeploy().tls, { issuer: 'slipway-acme', uploaded: [] });
    const r = await ssh(`certs ${app}`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Certificates \(automatic: on\)/);
    assert.match(r.stdout, new RegExp(`${app}\\.apps\\.test  pending: the fake CA is thinking`));
  });

  test('the TLS sync brings HTTPS routing in line on its own, every period', async () => {
    const before = s.deployer.tls.tlsRefreshed.length;
    await eventually('two TLS syncs of the app', async () => s.deployer.tls.tlsRefreshed.length >= before + 2, 10_000, 200);
    assert.equal(s.deployer.tls.tlsRefreshed.at(-1)!.app, app);
  });

  test('certs:add refuses what cannot be served, in one sentence, and stores nothing', async () => {
    const host = `${app}.apps.test`;
    const good = await selfSigned([host]);
    const other = await selfSigned(['elsewhere.example.com']);
    // Valid in January 2020 only (made once with `openssl ca -startdate/-enddate`).
    const expired = readFileSync(join(import.meta.dirname, '../fixtures/certs/expired.pem'), 'utf8');
    const cases: [string, string, RegExp][] = [
      ['nothing', '', /^ ! {5}certs:add reads a PEM certificate chain \(the server certificate first\) and its private key on standard input\.$/m],
      ['a certificate without its key', good.cert, /^ ! {5}certs:add reads a PEM certificate chain/m],
      ['another certificate\'s key', good.cert + other.key, /^ ! {5}The private key does not belong to the first certificate\.$/m],
      ['a certificate for other hosts', other.cert + other.key, /^ ! {5}The certificate names none of tls-\S+'s hosts \(DNS:elsewhere\.example\.com\); add the host with domains:add first\.$/m],
      ['an expired certificate', expired, /^ ! {5}The certificate expired on 2020-02-01T00:00:00\.000Z\.$/m],
      ['garbage in PEM armour', '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n' + good.key, /^ ! {5}The certificate or key cannot be read: /m],
    ];
    const deploys = s.deployer.rollout.deployed.length;
    for (const [what, input, message] of cases) {
      const r = await ssh(`certs:add ${app}`, input);
      assert.equal(r.exitCode, 1, `${what}: ${r.stdout}`);
      assert.match(r.stderr, message, what);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one sentence`);
    }
    assert.equal(s.deployer.rollout.deployed.length, deploys, 'nothing was deployed');
    assert.match((await ssh(`certs ${app}`)).stdout, /pending/);
  });

  test('certs:add refuses a certificate naming another app\'s host or a wildcard beyond the app\'s own domain, storing nothing', async () => {
    const other = await newApp(s, 'tlsb');
    assert.equal((await ssh(`domains:add ${other} www.other.example`)).exitCode, 0);
    const host = `${app}.apps.test`;
    const cases: [string, string[], RegExp][] = [
      ['another app\'s default domain', [host, `${other}.apps.test`], new RegExp(`^ ! {5}The certificate names ${other}\\.apps\\.test, which is not one of ${app}'s hosts; every name in it must be one \\(add it with domains:add first\\)\\.$`, 'm')],
      ['another app\'s custom domain', [host, 'www.other.example'], new RegExp(`^ ! {5}The certificate names www\\.other\\.example, which is not one of ${app}'s hosts;`, 'm')],
      ['a wildcard over the base domain', ['*.apps.test'], new RegExp(`^ ! {5}The certificate names \\*\\.apps\\.test; a wildcard is accepted only under ${app}\\.apps\\.test, since any other would be served for hosts that are not ${app}'s\\.$`, 'm')],
      ['the app\'s host and a wildcard over the base domain', [host, '*.apps.test'], /^ ! {5}The certificate names \*\.apps\.test; a wildcard is accepted only under/m],
      ['a wildcard over a parent of another app\'s custom domain', [host, '*.other.example'], /^ ! {5}The certificate names \*\.other\.example; a wildcard is accepted only under/m],
    ];
    const deploys = s.deployer.rollout.deployed.length;
    for (const [what, names, message] of cases) {
      const c = await selfSigned(names);
      const r = await ssh(`certs:add ${app}`, c.cert + c.key);
      assert.equal(r.exitCode, 1, `${what}: ${r.stdout}`);
      assert.match(r.stderr, message, what);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one sentence`);
    }
    assert.equal(s.deployer.rollout.deployed.length, deploys, 'nothing was deployed');
    assert.deepEqual(s.slipway.services.store.certs.uploaded(app), [], 'nothing was stored');
    // Under the app's own default domain a wildcard is its own: accepted, then taken back.
    const own = await selfSigned([host, `*.${host}`]);
    const add = await ssh(`certs:add ${app}`, own.cert + own.key);
    assert.equal(add.exitCode, 0, add.stderr);
    assert.equal((await ssh(`certs:remove ${app} ${host}`)).exitCode, 0);
  });

  test('domains:remove also stops serving an uploaded certificate that names the removed host, so no later owner of it gets it', async () => {
    const host = `${app}.apps.test`;
    const extra = `extra.${app}.example`;
    assert.equal((await ssh(`domains:add ${app} ${extra}`)).exitCode, 0);
    const both = await selfSigned([host, extra]);
    assert.equal((await ssh(`certs:add ${app}`, both.cert + both.key)).exitCode, 0);
    assert.deepEqual(s.slipway.services.store.certs.uploaded(app).map((u) => u.host), [extra, host]);
    const rm = await ssh(`domains:remove ${app} ${extra}`);
    assert.equal(rm.exitCode, 0, rm.stderr);
    assert.match(rm.stdout, new RegExp(`^The uploaded certificate of ${app}\\.apps\\.test names ${extra.replace(/\./g, '\\.')} too, so it is no longer served; upload one without ${extra.replace(/\./g, '\\.')} \\(certs:add\\)\\.$`, 'm'));
    assert.deepEqual(s.slipway.services.store.certs.uploaded(app), [], 'nothing that names the removed host is kept');
    assert.deepEqual(lastDeploy().tls?.uploaded, [], 'nor served');
    // The host is free: another app takes it, and nothing of the first app's is served for it.
    const next = await newApp(s, 'tlsc');
    assert.equal((await ssh(`domains:add ${next} ${extra}`)).exitCode, 0);
  });

  test('certs:add serves the uploaded certificate; certs:remove takes it back', async () => {
    const host = `${app}.apps.test`;
    const good = await selfSigned([host]);
    const add = await ssh(`certs:add ${app}`, good.cert + good.key);
    assert.equal(add.exitCode, 0, add.stderr);
    assert.equal(lastDeploy().tls?.uploaded[0]?.host, host);
    assert.match((await ssh(`certs ${app}`)).stdout, new RegExp(`${host}  issued \\(uploaded\\)`));
    const unknown = await ssh(`certs:remove ${app} www.example.com`);
    assert.equal(unknown.exitCode, 1);
    assert.match(unknown.stderr, /^ ! {5}"www\.example\.com" has no uploaded certificate on tls-\S+\.$/m);
    const rm = await ssh(`certs:remove ${app} ${host}`);
    assert.equal(rm.exitCode, 0, rm.stderr);
    assert.deepEqual(lastDeploy().tls?.uploaded, []);
  });

  test('certs:auto:disable stops automatic certificates; enable brings them back', async () => {
    const off = await ssh(`certs:auto:disable ${app}`);
    assert.equal(off.exitCode, 0, off.stderr);
    assert.equal(lastDeploy().tls?.issuer, undefined);
    assert.match((await ssh(`certs ${app}`)).stdout, /automatic: off\)[\s\S]*none: served over HTTP only/);
    const on = await ssh(`certs:auto:enable ${app}`);
    assert.equal(on.exitCode, 0, on.stderr);
    assert.equal(lastDeploy().tls?.issuer, 'slipway-acme');
  });

  test('apps:info and the push announce http:// until the default host\'s certificate is issued, https:// from then on', async () => {
    const host = `${app}.apps.test`;
    const webUrl = async () => {
      const r = await ssh(`apps:info ${app}`);
      assert.equal(r.exitCode, 0, r.stderr);
      return /^Web URL:\s+(\S+)$/m.exec(r.stdout)?.[1];
    };
    assert.equal(await webUrl(), `http://${host}`, 'pending: not served over HTTPS yet');
    s.controls.certificatesIssued = true;
    try {
      assert.equal(await webUrl(), `https://${host}`);
      const wd = await s.workRepo({ 'index.js': 'console.log("again")\n' });
      const r = await s.git(['push', '--force', s.sshRemote(app), 'main'], { cwd: wd });
      assert.equal(r.exitCode, 0, r.stderr);
      const lines = remoteLines(r.stderr);
      assert.equal(lines[lines.indexOf('=====> Application deployed:') + 1], `       https://${host}`, lines.join('\n'));
    } finally {
      delete s.controls.certificatesIssued;
    }
  });
});
