// HTTPS for an app's hosts. Automatic certificates come from cert-manager (ACME HTTP-01); uploaded
// ones are served as given. A change goes through changeSetting, the same step as domains.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { deployable } from '../releases/release.ts';
import { changeSetting } from '../rollout.ts';
import { defaultDomain } from '../../urls.ts';
import type { Config } from '../../config.ts';
import type { UploadedCert } from '../../store/certs.ts';
import type { Actor, Progress } from '../actor.ts';
import type { AddedCert, AutoCerts, CertList, HostCert, RemovedCert } from '../../shapes/domains.ts';

/** Whether a certificate's names cover `host` (exactly, or by a one-label wildcard). */
function covers(cert: X509Certificate, host: string): boolean {
  return cert.checkHost(host, { wildcards: true, subject: 'never' }) !== undefined;
}

/**
 * The names Traefik may serve a certificate for: its DNS and IP subjectAltNames (lowercase, no
 * trailing dot), and its subject CN when that is a domain name, since Traefik indexes that too.
 */
export function certNames(leaf: X509Certificate): string[] {
  const names: string[] = [];
  for (const entry of (leaf.subjectAltName ?? '').split(', ')) {
    const m = /^(?:DNS|IP Address):(.+)$/.exec(entry);
    if (m) names.push(m[1]!.toLowerCase().replace(/\.$/, ''));
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(leaf.subject)?.[1]?.toLowerCase().replace(/\.$/, '');
  if (cn && cn.includes('.') && !names.includes(cn)) names.push(cn);
  return names;
}

/**
 * Refuses a certificate that names anything but the app's own hosts. Traefik keeps every
 * uploaded certificate in one store and serves it for every name it carries, whichever app's
 * router the request is for; so a name of another app (or a wildcard reaching past this app's own
 * default domain, where other apps' names and the base domain live) would be served for hosts
 * that are not this app's. A wildcard under the app's default domain covers only names no other
 * app may ever add (domains:add keeps them for it).
 */
export function checkCertNames(names: readonly string[], app: string, hosts: readonly string[], config: Pick<Config, 'baseDomain'>): void {
  const own = defaultDomain(config, app);
  for (const name of names) {
    if (name.startsWith('*.')) {
      const under = name.slice(2);
      if (under === own || under.endsWith(`.${own}`)) continue;
      throw new UserError(`The certificate names ${name}; a wildcard is accepted only under ${own}, since any other would be served for hosts that are not ${app}'s.`);
    }
    if (!hosts.includes(name)) throw new UserError(`The certificate names ${name}, which is not one of ${app}'s hosts; every name in it must be one (add it with domains:add first).`);
  }
}

/**
 * The app's uploaded certificates that name `host` itself. Stored per host they are served for,
 * a certificate still carries every name it was made for; once the app lets go of `host`
 * (domains:remove), Traefik must not keep serving it for that name, which another app may add.
 */
export function uploadedNaming(uploaded: readonly UploadedCert[], host: string): UploadedCert[] {
  return uploaded.filter((u) => certNames(new X509Certificate(u.certPem)).includes(host));
}

/** Splits the PEM text of certs:add into the chain and the key, and checks they belong together and are current. */
export function parseUpload(text: string): { certPem: string; keyPem: string; leaf: X509Certificate } {
  const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const key = /-----BEGIN ((?:RSA |EC )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/.exec(text)?.[0];
  if (certs.length === 0 || !key) throw new UserError('certs:add reads a PEM certificate chain (the server certificate first) and its private key on standard input.');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certs[0]!);
    if (!leaf.checkPrivateKey(createPrivateKey(key))) throw new UserError('The private key does not belong to the first certificate.');
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`The certificate or key cannot be read: ${(err as Error).message}.`, { cause: err });
  }
  if (new Date(leaf.validTo).getTime() <= Date.now()) throw new UserError(`The certificate expired on ${new Date(leaf.validTo).toISOString()}.`);
  return { certPem: certs.join('\n') + '\n', keyPem: key + '\n', leaf };
}

/** certs --json; a certificate issued since the last deploy gets its HTTPS redirect now. */
export async function listCerts(actor: Actor, app: string): Promise<CertList> {
  const { services } = actor;
  const { store, config, deployer } = services;
  const r = store.releases.current(app);
  const hosts = [defaultDomain(config, app), ...store.domains.list(app)];
  let certs: HostCert[];
  if (!r?.image || !deployer) {
    certs = hosts.map((host) => ({ host, state: 'pending', detail: `waiting for the first deploy of ${app}` }));
  } else {
    const d = deployable(services, r);
    certs = d.tls ? await deployer.tls.certificates(d) : hosts.map((host) => ({ host, state: 'none' }));
    // A certificate that arrived since the last deploy: the redirect follows it now.
    if (d.tls) await deployer.tls.refreshTls(d);
  }
  const acme = config.acmeEmail !== undefined;
  return { auto: acme && store.certs.auto(app), acme, certs };
}

/** certs:auto:enable and certs:auto:disable: ACME certificates for the app's hosts, or HTTP only for hosts without an upload. */
export async function setAutoCerts(actor: Actor, app: string, on: boolean, progress: Progress): Promise<AutoCerts> {
  const { store, config } = actor.services;
  if (on && config.acmeEmail === undefined) throw new UserError('Automatic certificates need an ACME contact email: set SLIPWAY_ACME_EMAIL on the server (install.sh --acme-email).');
  const was = store.certs.auto(app);
  await changeSetting(actor, app, { what: on ? 'certs:auto:enable' : 'certs:auto:disable', write: () => store.certs.setAuto(app, on), undo: () => store.certs.setAuto(app, was) }, progress);
  return { auto: on };
}

/** certs:add: serves an uploaded certificate (PEM chain and key) for the app's hosts it names; returns them. */
export async function addCert(actor: Actor, app: string, pem: string, progress: Progress): Promise<AddedCert> {
  const { store, config } = actor.services;
  const { certPem, keyPem, leaf } = parseUpload(pem);
  const appHosts = [defaultDomain(config, app), ...store.domains.list(app)];
  const hosts = appHosts.filter((h) => covers(leaf, h));
  if (hosts.length === 0) throw new UserError(`The certificate names none of ${app}'s hosts (${leaf.subjectAltName ?? 'no subjectAltName'}); add the host with domains:add first.`);
  checkCertNames(certNames(leaf), app, appHosts, config);
  const before = store.certs.uploaded(app);
  await changeSetting(actor, app, {
    what: 'certs:add',
    write: () => store.certs.upload(app, hosts, certPem, keyPem),
    undo: () => {
      for (const h of hosts) store.certs.remove(app, h);
      for (const u of before.filter((b) => hosts.includes(b.host))) store.certs.upload(app, [u.host], u.certPem, u.keyPem);
    },
  }, progress);
  return { hosts };
}

/** certs:remove: stops serving a host's uploaded certificate. */
export async function removeCert(actor: Actor, app: string, raw: string, progress: Progress): Promise<RemovedCert> {
  const { store } = actor.services;
  const host = raw.toLowerCase().replace(/\.$/, '');
  const u = store.certs.uploaded(app).find((c) => c.host === host);
  if (!u) throw new UserError(`${shown(host)} has no uploaded certificate on ${app}.`);
  await changeSetting(actor, app, { what: 'certs:remove', write: () => { store.certs.remove(app, host); }, undo: () => store.certs.upload(app, [host], u.certPem, u.keyPem) }, progress);
  return { host };
}
