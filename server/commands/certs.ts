// certs, certs:auto:enable/disable, certs:add, certs:remove: HTTPS for an app's hosts. Automatic
// certificates come from cert-manager (ACME HTTP-01); uploaded ones are served as given.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { deployable } from '../ops/release.ts';
import type { HostCert } from '../deploy/deployer.ts';
import { deployedRelease, reapply, withDeployLock } from '../ops/deploying.ts';
import { listing, type Command, type CommandContext } from './types.ts';
import { defaultDomain } from '../urls.ts';
import type { Config } from '../config.ts';
import type { UploadedCert } from '../store/certs.ts';

/** Applies a certificate change to what runs when the app is deployed; otherwise only stores it. */
async function change(ctx: CommandContext, app: string, what: string, write: () => void, undo: () => void): Promise<void> {
  const current = ctx.services.store.releases.current(app);
  if (!current?.image || !ctx.services.deployer) return write();
  await withDeployLock(ctx, app, what, (signal, t) => reapply(ctx, app, deployedRelease(ctx, app), write, undo, t, signal));
}

/** One line of `certs`. */
export function certLine(c: HostCert): string {
  switch (c.state) {
    case 'issued': return `${c.host}  issued${c.source === 'uploaded' ? ' (uploaded)' : ''} by ${c.issuer}, expires ${c.notAfter}`;
    case 'pending': return `${c.host}  pending: ${c.detail}`;
    case 'failed': return `${c.host}  failed: ${c.detail}`;
    case 'none': return `${c.host}  none: served over HTTP only`;
  }
}

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

export const certCommands: Command[] = [
  {
    name: 'certs',
    usage: 'APP',
    summary: "Show the certificate of each of the app's hosts",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, app) => {
      const { store, config, deployer } = ctx.services;
      const r = store.releases.current(app);
      const hosts = [defaultDomain(config, app), ...store.domains.list(app)];
      let certs: HostCert[];
      if (!r?.image || !deployer?.certificates) {
        certs = hosts.map((host) => ({ host, state: 'pending', detail: `waiting for the first deploy of ${app}` }));
      } else {
        const d = deployable(ctx.services, r);
        certs = d.tls ? await deployer.certificates(d) : hosts.map((host) => ({ host, state: 'none' }));
        // A certificate that arrived since the last deploy: the redirect follows it now.
        if (d.tls && deployer.refreshTls) await deployer.refreshTls(d);
      }
      const auto = config.acmeEmail !== undefined && store.certs.auto(app);
      return listing({ auto, certs }, (out) => {
        out.heading(`${app} Certificates (automatic: ${config.acmeEmail === undefined ? 'off, no SLIPWAY_ACME_EMAIL' : auto ? 'on' : 'off'})`);
        for (const c of certs) out.line(certLine(c));
      });
    },
  },
  {
    name: 'certs:auto:enable',
    usage: 'APP',
    summary: "Get ACME certificates for the app's hosts (the default)",
    access: 'app',
    args: { min: 1, max: 1 },
    run: async (ctx, app) => {
      const { store, config } = ctx.services;
      if (config.acmeEmail === undefined) throw new UserError('Automatic certificates need an ACME contact email: set SLIPWAY_ACME_EMAIL on the server (install.sh --acme-email).');
      const was = store.certs.auto(app);
      await change(ctx, app, 'certs:auto:enable', () => store.certs.setAuto(app, true), () => store.certs.setAuto(app, was));
      ctx.out.line(`Enabling automatic certificates for ${app}... done (see certs ${app})`);
    },
  },
  {
    name: 'certs:auto:disable',
    usage: 'APP',
    summary: 'Stop getting ACME certificates; their hosts are served over HTTP only',
    access: 'app',
    args: { min: 1, max: 1 },
    run: async (ctx, app) => {
      const { store } = ctx.services;
      const was = store.certs.auto(app);
      await change(ctx, app, 'certs:auto:disable', () => store.certs.setAuto(app, false), () => store.certs.setAuto(app, was));
      ctx.out.line(`Disabling automatic certificates for ${app}... done`);
    },
  },
  {
    name: 'certs:add',
    usage: 'APP',
    summary: 'Serve an uploaded certificate (PEM chain and key on stdin) for the hosts it names',
    access: 'app',
    args: { min: 1, max: 1 },
    run: async (ctx, app) => {
      const { store, config } = ctx.services;
      const { certPem, keyPem, leaf } = parseUpload(await ctx.stdin());
      const appHosts = [defaultDomain(config, app), ...store.domains.list(app)];
      const hosts = appHosts.filter((h) => covers(leaf, h));
      if (hosts.length === 0) throw new UserError(`The certificate names none of ${app}'s hosts (${leaf.subjectAltName ?? 'no subjectAltName'}); add the host with domains:add first.`);
      checkCertNames(certNames(leaf), app, appHosts, config);
      const before = store.certs.uploaded(app);
      await change(ctx, app, 'certs:add', () => store.certs.upload(app, hosts, certPem, keyPem), () => {
        for (const h of hosts) store.certs.remove(app, h);
        for (const u of before.filter((b) => hosts.includes(b.host))) store.certs.upload(app, [u.host], u.certPem, u.keyPem);
      });
      ctx.out.line(`Adding the certificate for ${hosts.join(', ')} to ${app}... done`);
    },
  },
  {
    name: 'certs:remove',
    usage: 'APP HOST',
    summary: "Stop serving a host's uploaded certificate",
    access: 'app',
    args: { min: 2, max: 2 },
    run: async (ctx, app, [raw]) => {
      const { store } = ctx.services;
      const host = raw!.toLowerCase().replace(/\.$/, '');
      const u = store.certs.uploaded(app).find((c) => c.host === host);
      if (!u) throw new UserError(`${shown(host)} has no uploaded certificate on ${app}.`);
      await change(ctx, app, 'certs:remove', () => { store.certs.remove(app, host); }, () => store.certs.upload(app, [host], u.certPem, u.keyPem));
      ctx.out.line(`Removing the uploaded certificate of ${host} from ${app}... done`);
    },
  },
];
