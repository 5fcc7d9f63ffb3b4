// SSH keys and access tokens as keys:* and tokens:* show them.
import { Type, type Static } from 'typebox';
import { Nullable, Time } from './common.ts';

/** What a token may do, with what the field carrying it means. */
export function scopeSchema(description?: string) {
  return Type.Enum(['read', 'deploy', 'admin'], description ? { description } : {});
}
/** What a token may do. */
export const ScopeSchema = scopeSchema();

/** One key of `keys:list --json`. */
export const KeySummarySchema = Type.Object({ name: Type.String(), fingerprint: Type.String(), type: Type.String(), admin: Type.Boolean(), createdAt: Time }, { additionalProperties: false });
/** A key as keys:list shows it. */
export type KeySummary = Static<typeof KeySummarySchema>;

/** What keys:add answers. */
export const AddedKeySchema = Type.Object({ name: Type.String(), fingerprint: Type.String(), admin: Type.Boolean() }, { additionalProperties: false });
/** A key just added. */
export type AddedKey = Static<typeof AddedKeySchema>;

/** One token of `tokens:list --json`. */
export const TokenSummarySchema = Type.Object({ name: Type.String(), keyName: Type.String(), scope: ScopeSchema, createdAt: Time, lastUsedAt: Nullable(Time), expiresAt: Nullable(Time, { description: 'When the token stops working; null: never.' }) }, { additionalProperties: false });
/** A token as tokens:list shows it. */
export type TokenSummary = Static<typeof TokenSummarySchema>;

/** What tokens:create answers: the token, shown once. */
export const CreatedTokenSchema = Type.Object({ name: Type.String(), key: Type.String(), scope: ScopeSchema, token: Type.String(), expiresAt: Nullable(Time, { description: 'When the token stops working; null: never.' }) }, { additionalProperties: false });
/** A new token: shown once, never stored in the clear. */
export type CreatedToken = Static<typeof CreatedTokenSchema>;

/** One check of `doctor --json`. */
export const DoctorCheckSchema = Type.Object({
  name: Type.String(),
  ok: Type.Boolean(),
  detail: Type.String({ description: 'What was found.' }),
  fix: Type.Optional(Type.String({ description: 'For a failed check: what to do.' })),
}, { additionalProperties: false });
/** One check as doctor --json shows it. */
export type DoctorCheck = Static<typeof DoctorCheckSchema>;
