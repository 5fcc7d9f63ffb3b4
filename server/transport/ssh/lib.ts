import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, KexAlgorithm, ServerChannel, Session, ServerConfig, PublicKeyAuthContext } from 'ssh2';
import type { PublicKey } from '../../auth/keys.ts';

// The one home of ssh2: the server, signature checks and host keys below are its only users.
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

/**
 * A new ed25519 host key in OpenSSH format that ssh2 can read back. About 1 in 270 keys ssh2's own
 * generator makes fails its own parser ("Malformed OpenSSH private key", measured over 3,000), and
 * a server with such a key could never start; so a key is kept only once it parses.
 */
export function newHostKey(): string {
  for (let attempt = 0; attempt < 20; attempt++) {
    const { private: priv } = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(priv) instanceof Error)) return priv;
  }
  throw new Error('could not generate an SSH host key that ssh2 reads back');
}

/** Loads the server's ed25519 host key, generating it (0600) on first start. */
export function loadHostKey(file: string): Buffer {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, newHostKey(), { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(file);
}

/**
 * The TCP socket under a connection, for what waits in it towards the client. ssh2 writes its
 * packets to the socket without looking at write()'s answer and keeps it as `_sock`; if a new
 * ssh2 no longer does, this is undefined and only the channels' own queues are counted.
 */
export function socketOf(client: Connection): { readonly writableLength: number } | undefined {
  const sock = (client as unknown as { _sock?: unknown })._sock;
  return sock instanceof Socket ? sock : undefined;
}

/**
 * Most of a client's input a session channel may hold unread: what ssh2's flow control lets a
 * client that keeps to its window queue (the 2 MiB window on top of the stream's 2 MiB), and a
 * packet more.
 */
export const MAX_UNREAD_INPUT = 4 * 1024 * 1024 + 64 * 1024;

/**
 * Calls `onExceeded` (and drops the data) when a client sends more than MAX_UNREAD_INPUT that
 * nobody has read. ssh2 drops data only when the window it granted is exactly 0 and takes the
 * rest, so a client that ignores the window could fill a channel whose reader is paused (a `run`
 * whose pod does not read, a git that does not) without end.
 */
export function boundInput(channel: ServerChannel, onExceeded: () => void): void {
  const push = channel.push.bind(channel);
  channel.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (Buffer.isBuffer(chunk) && channel.readableLength + chunk.length > MAX_UNREAD_INPUT) {
      onExceeded();
      return false;
    }
    return push(chunk, encoding);
  };
}

/** Whether ssh2's native crypto binding loaded; without it transfers are about 10× slower. */
export function nativeCryptoLoaded(): boolean {
  const require = createRequire(import.meta.url);
  return (require('ssh2/lib/protocol/crypto.js') as { bindingAvailable?: boolean }).bindingAvailable === true;
}
