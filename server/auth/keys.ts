// SSH public keys as Slipway stores and names them: parsed from authorized_keys lines (keys:add,
// SLIPWAY_ADMIN_KEYS) by reading the key's own wire encoding, with the key policy applied here,
// at the edge. Signature checks stay with the SSH library in transport/ssh.
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UserError } from '../errors.ts';

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

/** The length-prefixed fields of an SSH wire blob (RFC 4251 `string`/`mpint`), or undefined if malformed. */
function wireFields(blob: Buffer): Buffer[] | undefined {
  const fields: Buffer[] = [];
  for (let at = 0; at < blob.length;) {
    if (at + 4 > blob.length) return undefined;
    const len = blob.readUInt32BE(at);
    if (at + 4 + len > blob.length) return undefined;
    fields.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return fields;
}

/** The point sizes of the ECDSA curves SSH names (uncompressed: 0x04 || X || Y). */
const EC_POINT: Record<string, number> = { nistp256: 65, nistp384: 97, nistp521: 133 };

/** Checks that the blob is a well-formed key of `type`; returns the RSA modulus size where it has one. */
function checkBlob(type: string, blob: Buffer): { rsaBits?: number } {
  const f = wireFields(blob);
  const unreadable = () => new UserError('That SSH public key could not be read.');
  if (!f || f[0]?.toString('latin1') !== type) throw unreadable();
  switch (type) {
    case 'ssh-ed25519':
      if (f.length !== 2 || f[1]!.length !== 32) throw unreadable();
      return {};
    case 'sk-ssh-ed25519@openssh.com':
      if (f.length !== 3 || f[1]!.length !== 32) throw unreadable();
      return {};
    case 'ssh-rsa': {
      if (f.length !== 3) throw unreadable();
      const b64url = (b: Buffer) => b.subarray(b[0] === 0 ? 1 : 0).toString('base64url');
      try {
        const key = createPublicKey({ key: { kty: 'RSA', e: b64url(f[1]!), n: b64url(f[2]!) }, format: 'jwk' });
        return { rsaBits: key.asymmetricKeyDetails?.modulusLength ?? 0 };
      } catch (err) {
        throw new UserError('That SSH public key could not be read.', { cause: err });
      }
    }
    default: {
      // ecdsa-sha2-CURVE and sk-ecdsa-sha2-nistp256@openssh.com: curve name, point (, application).
      const curve = f[1]?.toString('latin1') ?? '';
      const wantFields = type.startsWith('sk-') ? 4 : 3;
      if (f.length !== wantFields || !type.includes(curve) || f[2]!.length !== EC_POINT[curve] || f[2]![0] !== 4) throw unreadable();
      return {};
    }
  }
}

function rsaTooSmall(bits: number): string {
  return `That RSA key has ${bits} bits; use at least ${MIN_RSA_BITS} bits, or an ed25519 key.`;
}

/**
 * Why a stored key may not log in under today's policy, or undefined if it may. Keys are checked
 * when added, but a key stored before the policy (an RSA key under 2048 bits) is only caught here.
 */
export function keyPolicyRefusal(type: string, blobBase64: string): string | undefined {
  try {
    const { rsaBits } = checkBlob(type, Buffer.from(blobBase64, 'base64'));
    return rsaBits !== undefined && rsaBits < MIN_RSA_BITS ? rsaTooSmall(rsaBits) : undefined;
  } catch (err) {
    if (err instanceof UserError) return err.message;
    throw err;
  }
}

/** Parses one authorized_keys-style line; lines with options and RSA keys under 2048 bits are refused. */
export function parsePublicKey(line: string): PublicKey {
  if (/PRIVATE KEY/.test(line)) throw new UserError('That is a private key; send the public key (the .pub file).');
  const fields = line.trim().split(/\s+/);
  const at = fields.findIndex((f) => KEY_TYPE.test(f));
  if (at < 0 || !fields[at + 1]) throw new UserError('That is not an SSH public key: expected a line like "ssh-ed25519 AAAA… comment".');
  // sshd would restrict a key by its options (from=, command=, no-pty, expiry-time=…); Slipway does
  // not enforce them, so such a line is refused rather than silently given the key's full rights.
  if (at > 0) throw new UserError('Key options (from=, command=, no-pty, expiry-time=…) are not supported; send the key line without options.');
  const type = fields[at]!;
  const text = fields[at + 1]!;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new UserError('That SSH public key could not be read.');
  const blob = Buffer.from(text, 'base64');
  const { rsaBits } = checkBlob(type, blob);
  if (rsaBits !== undefined && rsaBits < MIN_RSA_BITS) throw new UserError(rsaTooSmall(rsaBits));
  return { type, blob: blob.toString('base64'), fingerprint: fingerprintOf(blob), comment: fields.slice(at + 2).join(' ') };
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
