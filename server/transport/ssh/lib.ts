import { createRequire } from 'node:module';
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ServerChannel, Session, ServerConfig, PublicKeyAuthContext } from 'ssh2';
import { UserError } from '../../errors.ts';

// The one home of ssh2: the server and key handling below are the only users of the library.
export type { AuthContext, Connection, ServerChannel, Session, ServerConfig, PublicKeyAuthContext };
export const SshServer = ssh2.Server;

/** A public key as stored: its type, the base64 wire blob, and the OpenSSH SHA256 fingerprint. */
export interface PublicKey {
  type: string;
  blob: string;
  fingerprint: string;
  comment: string;
}

/** SHA256 fingerprint in OpenSSH's notation, from the key's wire blob. */
export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

const KEY_TYPE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

/** Smallest RSA modulus accepted, as OpenSSH's RequiredRSASize default. */
const MIN_RSA_BITS = 2048;

/** Parses one authorized_keys-style line; lines with options and RSA keys under 2048 bits are refused. */
export function parsePublicKey(line: string): PublicKey {
  const fields = line.trim().split(/\s+/);
  const at = fields.findIndex((f) => KEY_TYPE.test(f));
  if (at < 0 || !fields[at + 1]) throw new UserError('That is not an SSH public key: expected a line like "ssh-ed25519 AAAA… comment".');
  // sshd would restrict a key by its options (from=, command=, no-pty, expiry-time=…); Slipway does
  // not enforce them, so such a line is refused rather than silently given the key's full rights.
  if (at > 0) throw new UserError('Key options (from=, command=, no-pty, expiry-time=…) are not supported; send the key line without options.');
  const parsed = ssh2.utils.parseKey(`${fields[at]} ${fields[at + 1]}`);
  if (parsed instanceof Error || Array.isArray(parsed)) {
    throw new UserError('That SSH public key could not be read.', { cause: parsed instanceof Error ? parsed : undefined });
  }
  if (parsed.isPrivateKey()) throw new UserError('That is a private key; send the public key (the .pub file).');
  if (parsed.type === 'ssh-rsa') {
    const bits = createPublicKey(parsed.getPublicPEM()).asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new UserError(`That RSA key has ${bits} bits; use at least ${MIN_RSA_BITS} bits, or an ed25519 key.`);
  }
  const blob = parsed.getPublicSSH();
  return { type: parsed.type, blob: blob.toString('base64'), fingerprint: fingerprintOf(blob), comment: fields.slice(at + 2).join(' ') };
}

/** Every key in an authorized_keys file (blank lines and comments skipped); one bad line refuses the file. */
export function readAuthorizedKeys(file: string): PublicKey[] {
  const keys: PublicKey[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    try {
      keys.push(parsePublicKey(line));
    } catch (err) {
      // At start-up the operator must learn which file and line to fix.
      if (err instanceof UserError) throw new UserError(`${file}, line ${i + 1}: ${err.message}`, { cause: err });
      throw err;
    }
  });
  return keys;
}

/** Whether a public-key signature algorithm is allowed: not SHA-1 `ssh-rsa`, which OpenSSH 8.8 turned off too. */
export function signatureAlgorithmAllowed(keyAlgo: string, hashAlgo: string | undefined): boolean {
  // ssh2 reports rsa-sha2-256/512 as key algo ssh-rsa with a hash; plain ssh-rsa has none (SHA-1).
  return keyAlgo !== 'ssh-rsa' || hashAlgo === 'sha256' || hashAlgo === 'sha512';
}

/** Verifies a signature made by the client's key over the session data. */
export function verifySignature(pub: PublicKey, data: Buffer, signature: Buffer, hashAlgo: string | undefined): boolean {
  const key = ssh2.utils.parseKey(Buffer.from(pub.blob, 'base64'));
  if (key instanceof Error || Array.isArray(key)) return false;
  return key.verify(data, signature, hashAlgo as 'sha256' | undefined) === true;
}

/** Loads the server's ed25519 host key, generating it (0600) on first start. */
export function loadHostKey(file: string): Buffer {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const { private: priv } = ssh2.utils.generateKeyPairSync('ed25519');
    writeFileSync(file, priv, { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(file);
}

/** Whether ssh2's native crypto binding loaded; without it transfers are about 10× slower. */
export function nativeCryptoLoaded(): boolean {
  const require = createRequire(import.meta.url);
  return (require('ssh2/lib/protocol/crypto.js') as { bindingAvailable?: boolean }).bindingAvailable === true;
}
