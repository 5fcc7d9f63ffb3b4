// install.sh as this server hands it out at /install.sh: its bytes and their SHA-256, read
// together, so that the checksum nodes:join-command prints is of exactly what the HTTP port serves.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The installer of the code this server runs (a joining node runs the same version). */
export const INSTALLER_FILE = join(import.meta.dirname, '..', 'install.sh');

/** install.sh's bytes and the hex SHA-256 of those bytes. */
export interface Installer { body: Buffer; sha256: string }

/** Reads install.sh once and hashes what was read (never a second read that could differ). */
export async function readInstaller(file: string = INSTALLER_FILE): Promise<Installer> {
  const body = await readFile(file);
  return { body, sha256: createHash('sha256').update(body).digest('hex') };
}
