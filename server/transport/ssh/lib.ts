import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, KexAlgorithm, ServerChannel, Session, ServerConfig, PublicKeyAuthContext } from 'ssh2';
import { UserError } from '../../errors.ts';

// The one home of ssh2: the server and key handling below are the only users of the library.
export type { AuthContext, Connection, ServerChannel, Session, ServerConfig, PublicKeyAuthContext };
export const SshServer = ssh2.Server;

/**
 * Key exchange methods the server offers, most preferred first: hybrid post-quantum ML-KEM-768 +
 * X25519 (OpenSSH 10's default), then ssh2's own defaults for older clients. The first method
 * comes from patches/ssh2+*.patch; were it not applied, ssh2 would refuse this list and the
 * server would fail to start instead of quietly offering no post-quantum exchange.
 */
export const SSH_KEX = [
  'mlkem768x25519-sha256',
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group14-sha256',
  'diffie-hellman-group15-sha512',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group17-sha512',
  'diffie-hellman-group18-sha512',
  // @types/ssh2 predates the patch and does not know the hybrid method's name.
] as unknown as KexAlgorithm[];

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

/** Parses one authorized_keys-style line (options before the key type are skipped). */
export function parsePublicKey(line: string): PublicKey {
  const fields = line.trim().split(/\s+/);
  const at = fields.findIndex((f) => KEY_TYPE.test(f));
  if (at < 0 || !fields[at + 1]) throw new UserError('That is not an SSH public key: expected a line like "ssh-ed25519 AAAA… comment".');
  const parsed = ssh2.utils.parseKey(`${fields[at]} ${fields[at + 1]}`);
  if (parsed instanceof Error || Array.isArray(parsed)) {
    throw new UserError('That SSH public key could not be read.', { cause: parsed instanceof Error ? parsed : undefined });
  }
  if (parsed.isPrivateKey()) throw new UserError('That is a private key; send the public key (the .pub file).');
  const blob = parsed.getPublicSSH();
  return { type: parsed.type, blob: blob.toString('base64'), fingerprint: fingerprintOf(blob), comment: fields.slice(at + 2).join(' ') };
}

/** Every key in an authorized_keys file (blank lines and comments skipped). */
export function readAuthorizedKeys(file: string): PublicKey[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(parsePublicKey);
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
