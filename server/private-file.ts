// A settings file holding a secret (a password, a client secret): read whole, and refused with
// one sentence when it cannot be read or when users other than its owner may read it.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from './errors.ts';

/** The file `given` (the setting `name`'s value) as text, with its absolute path. */
export function readPrivateFile(given: string, name: string): { path: string; content: string } {
  const path = resolve(given);
  let content: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    content = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`${name} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: err });
  }
  if ((mode & 0o077) !== 0) throw new UserError(`${name} ${path} may be read by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 it.`);
  return { path, content };
}
