// An app's config vars as `config --json` shows them.
import { Type, type Static } from 'typebox';

/** Every config var of the app, name to value. */
export const ConfigVarsSchema = Type.Record(Type.String(), Type.String(), { description: 'Every config var of the app, name to value.' });
/** Every config var of the app, name to value. */
export type ConfigVars = Static<typeof ConfigVarsSchema>;

/** What a config change only stored answers: the config vars now. */
export const StoredConfigSchema = Type.Object({ config: ConfigVarsSchema }, { additionalProperties: false });
/** What a config change only stored answers. */
export type StoredConfig = Static<typeof StoredConfigSchema>;
