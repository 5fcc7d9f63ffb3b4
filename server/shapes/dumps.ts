// What pg:backups:restore (an import of a pg_dump archive) and pg:credentials:rotate answer.
import { Type, type Static } from 'typebox';

/** What pg:backups:restore made: the new database, how much it read, and how it is attached. */
export const ImportedSchema = Type.Object({
  name: Type.String({ description: 'The new database (the archive is never restored into a live one).' }),
  bytes: Type.Integer({ minimum: 0, description: 'The size of the archive read.' }),
  attachment: Type.String({ description: 'The config var it is attached as (NAME_URL, or DATABASE_URL with promote).' }),
  release: Type.Union([Type.Integer(), Type.Null()]),
  promoted: Type.Boolean({ description: "Whether it was made the app's DATABASE_URL in that same release." }),
}, { additionalProperties: false });
/** What pg:backups:restore made. */
export type Imported = Static<typeof ImportedSchema>;

/** What pg:credentials:rotate did: the attachment whose URL changed, in which release, and the login kept until no session uses it. */
export const RotatedSchema = Type.Object({
  name: Type.String(),
  attachment: Type.String({ description: 'The config var that holds the new credentials.' }),
  release: Type.Union([Type.Integer(), Type.Null()], { description: 'The release that changed it (null: only stored, the app runs nothing yet).' }),
  retiring: Type.String({ description: 'The login rotated away from: it works until no session uses it, then a round removes its LOGIN.' }),
}, { additionalProperties: false });
/** What pg:credentials:rotate did. */
export type Rotated = Static<typeof RotatedSchema>;

/** A copy of a database off the machine (pg:backups:copy): an encrypted pg_dump in the bucket, read back and checked. */
export const DatabaseCopySchema = Type.Object({
  database: Type.String(),
  name: Type.String({ description: 'The copy\'s file name in the database\'s folder: the time it was taken (20261207T021500Z.dump.age).' }),
  url: Type.String({ description: 'Where it is (path-style).' }),
  bytes: Type.Integer({ minimum: 0, description: 'Its size, encrypted.' }),
  sha256: Type.String({ description: 'The SHA-256 of what was written, which the copy read back matched.' }),
  copiedAt: Type.String({ format: 'date-time' }),
}, { additionalProperties: false });
/** A copy of a database off the machine. */
export type DatabaseCopy = Static<typeof DatabaseCopySchema>;

/** A database's copies in the bucket (pg:backups:copies), newest first. */
export const DatabaseCopiesSchema = Type.Object({
  database: Type.String(),
  folder: Type.String({ description: 'The bucket\'s folder the copies are in.' }),
  copies: Type.Array(Type.String(), { description: 'Their names, newest first.' }),
}, { additionalProperties: false });
/** A database's copies in the bucket. */
export type DatabaseCopies = Static<typeof DatabaseCopiesSchema>;
