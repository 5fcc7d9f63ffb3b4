// The store's keys as `secrets` and `secrets:rotate-key` show them (ops/admin/secrets.ts).
import { Type, type Static } from 'typebox';

/** The keys the store's secret values are sealed with. */
export const StoreKeysSchema = Type.Object({
  current: Type.String({ description: 'The id of the key new values are sealed with.' }),
  keys: Type.Array(Type.Object({
    id: Type.String(),
    source: Type.Union([Type.Literal('file'), Type.Literal('environment')], { description: '`file`: DATA_DIR/keys/store-ID.key; `environment`: SLIPWAY_STORE_KEY.' }),
    values: Type.Integer({ minimum: 0, description: 'Secret values sealed with it.' }),
  }, { additionalProperties: false })),
  clear: Type.Integer({ minimum: 0, description: 'Secret values not sealed (0 unless the store was written by hand).' }),
}, { additionalProperties: false });
/** The store's keys. */
export type StoreKeysInfo = Static<typeof StoreKeysSchema>;

/** What secrets:rotate-key did. */
export const KeyRotationSchema = Type.Object({
  key: Type.String({ description: 'The key every secret value is sealed with now.' }),
  previous: Type.String({ description: 'The key that sealed new values before.' }),
  values: Type.Integer({ minimum: 0, description: 'Secret values sealed again, in one transaction.' }),
  removed: Type.Array(Type.String(), { description: 'Key files removed once every value was sealed with the new key.' }),
  fromEnvironment: Type.Boolean({ description: 'The new key is SLIPWAY_STORE_KEY\'s first (no key file was made).' }),
  ms: Type.Integer({ minimum: 0 }),
}, { additionalProperties: false });
/** What secrets:rotate-key did. */
export type KeyRotation = Static<typeof KeyRotationSchema>;
