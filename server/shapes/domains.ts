// An app's domains as `domains --json` shows them.
import { Type, type Static } from 'typebox';

/** `domains --json`: the default domain and the custom ones. */
export const DomainListSchema = Type.Object({ default: Type.String(), custom: Type.Array(Type.String()) }, { additionalProperties: false });
/** The default domain and the custom ones. */
export type DomainList = Static<typeof DomainListSchema>;
