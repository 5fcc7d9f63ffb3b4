// A real store (SQLite) in a temporary directory, for tests of what the store and operations do.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../server/store/index.ts';

/** Runs `fn` with a fresh store and its database file; closes and removes both afterwards. */
export function withStore(fn: (s: Store, file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-store-'));
  const file = join(dir, 'slipway.db');
  const s = openStore(file);
  try {
    fn(s, file);
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
