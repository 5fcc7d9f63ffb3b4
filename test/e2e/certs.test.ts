// HTTPS for every app on the testbed's real pieces: a real push (pack, Kubernetes, the node), a
// real ACME CA (Pebble) validating HTTP-01 against the ingress, cert-manager issuing, Traefik
// serving TLS on SLIPWAY_TEST_HTTPS_INGRESS. Asserted: what a user sees (the push's URL, `certs`
// lines, curl over HTTPS trusting only Pebble's root, the redirect).
//
// Outside CI a missing testbed piece skips these tests, saying why; in CI it fails them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { remoteLines, type TestServer } from '../support/harness.ts';
import { startOnTestbed } from '../support/on-testbed.ts';
import { fixtureCopy, needTestbed, testbedEnv } from '../support/testbed.ts';

/** Retries `check` (which asserts) until it passes or `ms` is over; then its last error is thrown. */
async function until(check: () => Promise<void>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try { return await check(); } catch (err) { if (Date.now() > end) throw err; }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const run = promisify(execFile);
const NEEDS = ['DOCKER_HOST', 'SLIPWAY_REGISTRY', 'SLIPWAY_BUILDER', 'SLIPWAY_PACK', 'KUBECONFIG', 'SLIPWAY_TEST_INGRESS',
  'SLIPWAY_TEST_HTTPS_INGRESS', 'SLIPWAY_TEST_ACME_ROOT', 'SLIPWAY_TEST_ACME_ISSUER', 'SLIPWAY_TEST_ACME_DNS'] as const;
const BASE_DOMAIN = 'certs.test';
const suffix = randomBytes(3).toString('hex');
const APP = `tls-${suffix}`;
const PUSH_MS = 10 * 60_000;
const CERT_MS = 90_000;

/** curl through an ingress address with Host resolved to it; returns status, Location and the server certificate. */
async function curl(addr: string, url: string, opts: { cacert?: string; method?: string } = {}): Promise<{ status: number; location: string; body: string }> {
  const u = new URL(url);
  const [ip, port] = [addr.slice(0, addr.lastIndexOf(':')), addr.slice(addr.lastIndexOf(':') + 1)];
  const args = ['-s', '-m', '10', '-o', '-', '-w', '\n%{http_code} %{redirect_url}', '--resolve', `${u.hostname}:${port}:${ip}`,
    ...(opts.method ? ['-X', opts.method] : []), ...(opts.cacert ? ['--cacert', opts.cacert] : []),
    // The default port is left out, so the Host header is what a browser sends.
    `${u.protocol}//${u.hostname}${port === (u.protocol === 'https:' ? '443' : '80') ? '' : `:${port}`}${u.pathname}${u.search}`];
  const r = await run('curl', args).catch((e: { stdout?: string; code?: number }) => ({ stdout: `\n000 curl-exit-${e.code}` }));
  const i = r.stdout.lastIndexOf('\n');
  const [status, location] = r.stdout.slice(i + 1).split(' ');
  return { status: Number(status), location: location ?? '', body: r.stdout.slice(0, i) };
}

/** The certificate an HTTPS ingress serves for `host` (SNI), read with a TLS handshake that checks nothing. */
function servedCert(addr: string, host: string): Promise<X509Certificate> {
  const i = addr.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)), servername: host, rejectUnauthorized: false, timeout: 5_000 }, () => {
      const raw = sock.getPeerX509Certificate();
      sock.destroy();
      if (raw) resolve(raw); else reject(new Error(`no certificate from ${addr} for ${host}`));
    });
    sock.once('timeout', () => sock.destroy(new Error(`no TLS answer from ${addr} in 5 s`)));
    sock.once('error', reject);
  });
}

describe('HTTPS for every app: cert-manager + Pebble + Traefik', { timeout: 30 * 60_000 }, () => {
  let s: TestServer | undefined;
  let tb: Record<string, string> | undefined;
  const host = `${APP}.${BASE_DOMAIN}`;
  const ssh = (command: string, input?: string) => s!.ssh(s!.admin, command, input);
  const certLine = async (h: string) => {
    const r = await ssh(`certs ${APP}`);
    assert.equal(r.exitCode, 0, r.stderr);
    return r.stdout.split('\n').find((l) => l.startsWith(`${h}  `)) ?? '';
  };

  before(async () => {
    tb = testbedEnv(NEEDS);
    if (!tb) return;
    const env = {
      SLIPWAY_BASE_DOMAIN: BASE_DOMAIN, SLIPWAY_ROLLOUT_TIMEOUT_S: '240',
      SLIPWAY_ACME_EMAIL: 'certs-test@slipway.test', SLIPWAY_ACME_ISSUER: tb.SLIPWAY_TEST_ACME_ISSUER!, SLIPWAY_CERT_WAIT_S: '45',
    };
    ({ server: s } = await startOnTestbed(tb, env, { buildTimeoutMs: PUSH_MS }));
    assert.equal((await ssh(`apps:create ${APP}`)).exitCode, 0);
  });
  after(async () => {
    if (!s) return;
    await ssh(`apps:destroy ${APP} --confirm ${APP}`);
    await s.close();
  });

  test('a push gets a certificate for its default host and ends with the https URL; HTTP then redirects', { timeout: PUSH_MS + CERT_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const wd = fixtureCopy('node-app');
    await s.commitAll(wd, 'node app');
    const r = await s.git(['push', s.sshRemote(APP), 'main'], { cwd: wd });
    const lines = remoteLines(r.stderr);
    assert.equal(r.exitCode, 0, r.stderr);
    const at = lines.indexOf('=====> Application deployed:');
    assert.equal(lines[at + 1], `       https://${host}`, lines.join('\n'));
    // Traefik loads the Secret of an Ingress it was just given within its throttle (0.5 s).
    await until(async () => {
      const https = await curl(tb!.SLIPWAY_TEST_HTTPS_INGRESS!, `https://${host}/`, { cacert: tb!.SLIPWAY_TEST_ACME_ROOT! });
      assert.equal(https.status, 200, `${https.location} ${https.body}`);
      assert.match(https.body, /hello from slipway/);
    }, 5_000);
    const cert = await servedCert(tb!.SLIPWAY_TEST_HTTPS_INGRESS!, host);
    assert.equal(cert.subjectAltName, `DNS:${host}`);
    assert.equal(cert.publicKey.asymmetricKeyType, 'ec', 'an ECDSA key (cheaper handshakes than RSA)');
    assert.match(await certLine(host), new RegExp(`^${host.replace(/\./g, '\\.')}  issued by Pebble Intermediate CA [0-9a-f]+, expires \\d{4}-`));
    // Traefik's permanent redirect (v3.6 redirectScheme `permanent`): 308, but 301 for GET. The
    // redirecting Ingress reaches Traefik within its throttle too, later than HTTPS may answer.
    await until(async () => {
      const post = await curl(tb!.SLIPWAY_TEST_INGRESS!, `http://${host}/`, { method: 'POST' });
      assert.equal(post.status, 308);
      assert.equal(post.location, `https://${host}/`);
    }, 5_000);
    const get = await curl(tb!.SLIPWAY_TEST_INGRESS!, `http://${host}/x?y=1`);
    assert.equal(get.status, 301);
    assert.equal(get.location, `https://${host}/x?y=1`);
    // ACME challenge paths are never redirected (here: no solver, so the app answers them), once
    // Traefik has read the `web` Ingress that keeps them (applied after the redirecting one).
    await until(async () => {
      const acme = await curl(tb!.SLIPWAY_TEST_INGRESS!, `http://${host}/.well-known/acme-challenge/x`);
      assert.notEqual(acme.status, 308);
      assert.notEqual(acme.status, 301);
    }, 5_000);
  });

  test('domains:add gets its own certificate; certs:add serves the uploaded one', { timeout: CERT_MS * 2 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const www = `www.${suffix}.example.com`;
    assert.equal((await ssh(`domains:add ${APP} ${www}`)).exitCode, 0);
    await until(async () => assert.match(await certLine(www), / issued by Pebble/), CERT_MS);
    // Traefik serves it once it has read the Ingress that `certs` (or the TLS sync) applied.
    const issuedAt = Date.now();
    await until(async () => assert.equal((await servedCert(tb!.SLIPWAY_TEST_HTTPS_INGRESS!, www)).subjectAltName, `DNS:${www}`), 20_000);
    t.diagnostic(`served over HTTPS ${Date.now() - issuedAt} ms after certs said issued`);

    const own = `own.${suffix}.example.com`;
    assert.equal((await ssh(`domains:add ${APP} ${own}`)).exitCode, 0);
    const dir = mkdtempSync(join(tmpdir(), 'slipway-cert-'));
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=uploaded test',
      '-addext', `subjectAltName=DNS:${own}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    const pem = (await run('cat', [join(dir, 'cert.pem'), join(dir, 'key.pem')])).stdout;
    writeFileSync(join(dir, 'both.pem'), pem);
    const add = await ssh(`certs:add ${APP}`, pem);
    assert.equal(add.exitCode, 0, add.stderr);
    assert.match(await certLine(own), / issued \(uploaded\) by uploaded test/);
    await until(async () => assert.equal((await servedCert(tb!.SLIPWAY_TEST_HTTPS_INGRESS!, own)).subject, 'CN=uploaded test'), 30_000);
    assert.equal((await curl(tb!.SLIPWAY_TEST_HTTPS_INGRESS!, `https://${own}/`, { cacert: join(dir, 'cert.pem') })).status, 200);
  });

  test('a host whose HTTP-01 challenge cannot be reached shows failed with the reason and keeps serving HTTP', { timeout: CERT_MS * 2 }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const lost = `lost.${suffix}.example.com`;
    // In the ACME DNS, this host points where nothing listens on port 80.
    const dns = await fetch(`http://${tb!.SLIPWAY_TEST_ACME_DNS}/add-a`, { method: 'POST', body: JSON.stringify({ host: `${lost}.`, addresses: ['127.0.0.81'] }) });
    assert.equal(dns.status, 200);
    assert.equal((await ssh(`domains:add ${APP} ${lost}`)).exitCode, 0);
    await until(async () => assert.match(await certLine(lost), /^\S+ {2}failed: the HTTP-01 challenge cannot be reached \(retrying\): .*connection refused/), CERT_MS);
    // The failure can show before Traefik has read the new host's route (a 404 until then): wait
    // for it as for the other routes.
    await until(async () => assert.equal((await curl(tb!.SLIPWAY_TEST_INGRESS!, `http://${lost}/`)).status, 200), 30_000);
  });

  test('certs:auto:disable removes the certificate and the redirect', { timeout: CERT_MS }, async (t) => {
    if (!needTestbed(t, NEEDS) || !s) return;
    const off = await ssh(`certs:auto:disable ${APP}`);
    assert.equal(off.exitCode, 0, off.stderr);
    assert.match(await certLine(host), /none: served over HTTP only/);
    await until(async () => assert.equal((await curl(tb!.SLIPWAY_TEST_INGRESS!, `http://${host}/`, { method: 'POST' })).status, 200), 30_000);
    const https = await curl(tb!.SLIPWAY_TEST_HTTPS_INGRESS!, `https://${host}/`, { cacert: tb!.SLIPWAY_TEST_ACME_ROOT! });
    assert.notEqual(https.status, 200);
  });
});
