// An app's domains and their certificates as `domains --json`, `certs --json` and the certs:*
// commands show them.
import { Type, type Static } from 'typebox';

/** `domains --json`: the default domain and the custom ones. */
export const DomainListSchema = Type.Object({ default: Type.String(), custom: Type.Array(Type.String()) }, { additionalProperties: false });
/** The default domain and the custom ones. */
export type DomainList = Static<typeof DomainListSchema>;

/** One host of `certs --json`: the state of its certificate. */
export const HostCertSchema = Type.Object({
  host: Type.String(),
  state: Type.Enum(['issued', 'pending', 'failed', 'none'], { description: 'none: served over HTTP only.' }),
  source: Type.Optional(Type.Enum(['acme', 'uploaded'], { description: 'Where the certificate comes from: cert-manager (ACME), or certs:add.' })),
  issuer: Type.Optional(Type.String({ description: "issued: the issuer's name." })),
  notAfter: Type.Optional(Type.String({ description: 'issued: when it expires.' })),
  detail: Type.Optional(Type.String({ description: 'pending: what it waits for; failed: why, in one sentence.' })),
}, { additionalProperties: false });
/** A host's certificate as `certs` shows it (the deployer reads it from the cluster). */
export type HostCert = Static<typeof HostCertSchema>;

/** `certs --json`: whether ACME certificates are on for the app (and configured at all), and each host's certificate. */
export const CertListSchema = Type.Object({
  auto: Type.Boolean({ description: 'Whether the app gets ACME certificates (certs:auto:enable).' }),
  acme: Type.Boolean({ description: 'Whether the server has an ACME account (SLIPWAY_ACME_EMAIL).' }),
  certs: Type.Array(HostCertSchema),
}, { additionalProperties: false });
/** Whether ACME certificates are on, and each host's certificate. */
export type CertList = Static<typeof CertListSchema>;

/** What certs:add answers: the app's hosts the uploaded certificate is served for. */
export const AddedCertSchema = Type.Object({ hosts: Type.Array(Type.String()) }, { additionalProperties: false });
/** The hosts an uploaded certificate serves. */
export type AddedCert = Static<typeof AddedCertSchema>;

/** What certs:remove answers: the host whose uploaded certificate is no longer served. */
export const RemovedCertSchema = Type.Object({ host: Type.String() }, { additionalProperties: false });
/** The host whose uploaded certificate went. */
export type RemovedCert = Static<typeof RemovedCertSchema>;

/** What certs:auto:enable and certs:auto:disable answer. */
export const AutoCertsSchema = Type.Object({ auto: Type.Boolean() }, { additionalProperties: false });
/** Whether ACME certificates are on for the app now. */
export type AutoCerts = Static<typeof AutoCertsSchema>;
