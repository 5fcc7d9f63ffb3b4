// The store's database handle as a type: better-sqlite3's, named here (types only) so that the
// sealing code and the migrations, which db.ts imports, can take a handle without importing db.ts
// back. The library itself is loaded by db.ts alone.
import type Database from 'better-sqlite3';

/** The database handle every store module takes. */
export type Db = Database.Database;
