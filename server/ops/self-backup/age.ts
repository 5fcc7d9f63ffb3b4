// Encryption of Slipway's own backups with age (age-encryption.org/v1), through the reference
// TypeScript implementation: the one home of `age-encryption`. age is a small, audited format with
// one way to do each thing (X25519 recipients, ChaCha20-Poly1305 in 64 KiB chunks, each chunk
// authenticated and the last one marked), so a flipped byte or a truncated file fails to decrypt
// instead of giving wrong data, and the archive opens with the `age` CLI too (`age -d -i KEY`).
import { writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { ReadableStream as WebReadableStream } from 'node:stream/web';
import { UserError } from '../../errors.ts';

/** The library, loaded when a backup is written or read: the server at rest never needs it (idle memory, bench/results/memory.md). */
const age = () => import('age-encryption');

/** A new key pair: the secret identity (`AGE-SECRET-KEY-1…`) and its public recipient (`age1…`). */
export async function newKeyPair(): Promise<{ identity: string; recipient: string }> {
  // X25519, not the hybrid post-quantum kind: its recipient fits in an environment variable and
  // every age since 1.0 reads it.
  const { generateX25519Identity, identityToRecipient } = await age();
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** The identity in a key file as backup:keygen (or age-keygen) writes it; one sentence otherwise. */
export function identityIn(text: string, file: string): string {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l.startsWith('AGE-SECRET-KEY-'));
  if (!line) {
    if (/^age1/m.test(text)) throw new UserError(`${file} holds a public recipient, not a key: restoring needs the key file backup:keygen wrote.`);
    throw new UserError(`${file} is not an age key file (no AGE-SECRET-KEY-1… line): give the file backup:keygen wrote.`);
  }
  return line;
}

/**
 * A Node stream as the web stream the library reads, pulled through its async iterator: a read
 * only when the library asks, and a cancel (a chunk that failed its check) ends the Node stream.
 * (Readable.toWeb pushes instead, and can still push into the closed stream after a cancel: an
 * uncaught error that would end the process.)
 */
function pulled(stream: Readable): ReadableStream<Uint8Array> {
  return WebReadableStream.from(stream as AsyncIterable<Uint8Array>) as unknown as ReadableStream<Uint8Array>;
}

/** Encrypts a stream to every recipient, chunk by chunk (nothing is held whole in memory). */
export async function encrypting(plain: Readable, recipients: readonly string[]): Promise<Readable> {
  const e = new (await age()).Encrypter();
  for (const r of recipients) e.addRecipient(r);
  const out = await e.encrypt(pulled(plain));
  return Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
}

/** Why an archive could not be decrypted, as one sentence: the wrong key, or a damaged file. */
export class ArchiveUnreadable extends UserError {}

/** Decrypts a stream with `identity`; the header is read before this resolves (a wrong key fails here). */
export async function decrypting(encrypted: Readable, identity: string, name: string): Promise<Readable> {
  const d = new (await age()).Decrypter();
  d.addIdentity(identity);
  let out: ReadableStream<Uint8Array>;
  try {
    out = await d.decrypt(pulled(encrypted));
  } catch (err) {
    throw unreadable(err, name);
  }
  const plain = Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
  // A chunk that fails its authentication (a flipped byte, a cut-off end) errors the stream: say it in one sentence.
  const checked = new Readable({ read() { plain.resume(); } });
  plain.on('data', (chunk: Buffer) => { if (!checked.push(chunk)) plain.pause(); });
  plain.on('end', () => checked.push(null));
  plain.on('error', (err) => checked.destroy(unreadable(err, name)));
  checked.on('close', () => plain.destroy());
  return checked;
}

/** The sentence for a decryption failure. */
function unreadable(err: unknown, name: string): ArchiveUnreadable {
  const message = err instanceof Error ? err.message : String(err);
  if (/no identity matched/.test(message)) return new ArchiveUnreadable(`${name} does not open with this key (it was encrypted to another key, or its header is damaged): give the key file whose recipient was SLIPWAY_BACKUP_KEY when it was written.`, { cause: err });
  return new ArchiveUnreadable(`${name} is damaged or truncated (${message}): it cannot be restored; take another backup.`, { cause: err });
}

/**
 * backup:keygen FILE: a new key pair, the secret key written to FILE (0600, never over an existing
 * file: the backups made with a key need it), in age-keygen's format; returns the recipient.
 */
export async function writeKeyFile(file: string): Promise<{ file: string; recipient: string }> {
  const { identity, recipient } = await newKeyPair();
  const text = `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`;
  try {
    writeFileSync(file, text, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UserError(`${file} exists: backup:keygen never overwrites a key file (the backups made with that key need it).`, { cause: err });
    throw new UserError(`${file} cannot be written (${code ?? 'error'}).`, { cause: err });
  }
  return { file, recipient };
}
