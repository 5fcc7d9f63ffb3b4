// The TLS material of an app's databases: a certificate authority per app, and per database a key
// and a certificate for the names its Service answers to, signed by that authority. Made with
// OpenSSL (through the exec wrapper, argument arrays, in a private temporary directory removed
// afterwards): ECDSA P-256 keys, SHA-256 signatures, ten years (the authority is the app's own
// and signs nothing else; rotation is a new database certificate, the authority stays).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChecked } from '../exec.ts';

/** A PEM key and certificate. */
export interface KeyPair { key: string; cert: string }

const DAYS = '3650';
const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const TIMEOUT_MS = 30_000;

/** Runs `fn` with a directory only this process may read, removed afterwards whatever happens. */
async function inPrivateDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-tls-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A new certificate authority named after the app. */
export async function newAuthority(app: string): Promise<KeyPair> {
  return inPrivateDir(async (dir) => {
    const key = join(dir, 'ca.key');
    const cert = join(dir, 'ca.crt');
    await runChecked('openssl', ['req', '-x509', ...KEY, '-keyout', key, '-out', cert, '-days', DAYS, '-sha256',
      '-subj', `/O=Slipway/CN=Slipway data CA for ${app}`,
      '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { timeoutMs: TIMEOUT_MS });
    return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
  });
}

/** A key and a server certificate for `names` (the first is its common name), signed by `ca`. */
export async function newServerCert(ca: KeyPair, names: readonly string[]): Promise<KeyPair> {
  return inPrivateDir(async (dir) => {
    const [caKey, caCert, key, csr, cert] = ['ca.key', 'ca.crt', 'tls.key', 'tls.csr', 'tls.crt'].map((f) => join(dir, f)) as [string, string, string, string, string];
    await writeFile(caKey, ca.key, { mode: 0o600 });
    await writeFile(caCert, ca.cert);
    await runChecked('openssl', ['req', '-new', ...KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${names[0]}`,
      '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
      '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=serverAuth'], { timeoutMs: TIMEOUT_MS });
    await runChecked('openssl', ['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', DAYS, '-sha256', '-copy_extensions', 'copyall'], { timeoutMs: TIMEOUT_MS });
    return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
  });
}
