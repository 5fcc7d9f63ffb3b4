// An app's host names: its default one (APP.BASE_DOMAIN) and the custom ones it adds. A change is
// stored and applied to what runs through changeSetting, as every setting is.
import type { Config } from '../../config.ts';
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { defaultDomain } from '../../urls.ts';
import { changeSetting } from '../rollout.ts';
import { uploadedNaming } from './certs.ts';
import type { Actor, Progress } from '../actor.ts';
import type { DomainList } from '../../shapes/domains.ts';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Validates a custom domain: a lowercase DNS name of two or more labels, no wildcard, not an IP
 * address, and not directly under the base domain, where every name is some app's default
 * domain (taking one would steal the name of an app created later).
 */
export function parseHost(raw: string, config: Pick<Config, 'baseDomain'>): string {
  const host = raw.toLowerCase().replace(/\.$/, '');
  if (host.startsWith('*.')) throw new UserError(`${shown(raw)}: wildcard domains are not supported; add each host name.`);
  const labels = host.split('.');
  if (host.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^[0-9]+$/.test(labels[labels.length - 1]!)) {
    throw new UserError(`${shown(raw)} is not a domain name (for example www.example.com).`);
  }
  const base = config.baseDomain;
  if (host.endsWith(`.${base}`) && !host.slice(0, -base.length - 1).includes('.')) {
    throw new UserError(`${host} is reserved: names directly under ${base} are the apps' default domains.`);
  }
  return host;
}

/**
 * Refuses host names that belong to the platform or to another app: the base domain itself, any
 * name it is under (claiming `sslip.io` or the base's parent would route every app's traffic),
 * and any name under another app's default domain (`*.beta.BASE` is beta's, whether or not beta
 * exists yet). Names under the app's own default domain are its to add.
 */
export function checkClaim(host: string, app: string, config: Pick<Config, 'baseDomain'>): void {
  const base = config.baseDomain;
  if (host === base) throw new UserError(`${host} is the platform's base domain; it cannot be an app's domain.`);
  if (base.endsWith(`.${host}`)) throw new UserError(`${host} is a parent of the platform's base domain ${base}; it cannot be an app's domain.`);
  if (!host.endsWith(`.${base}`)) return;
  const labels = host.slice(0, -base.length - 1).split('.');
  const owner = labels[labels.length - 1]!;
  if (owner !== app) throw new UserError(`${host} is under ${owner}.${base}, the default domain of the app named ${owner}; ${app} may only add names under ${app}.${base}.`);
}

/** domains --json. */
export function listDomains(actor: Actor, app: string): DomainList {
  return { default: defaultDomain(actor.services.config, app), custom: actor.services.store.domains.list(app) };
}

/** domains:add: lets the app answer on `raw` too (validated; one app's only). */
export async function addDomain(actor: Actor, app: string, raw: string, progress: Progress): Promise<{ host: string }> {
  const { store, config } = actor.services;
  const host = parseHost(raw, config);
  checkClaim(host, app, config);
  if (host === defaultDomain(config, app)) throw new UserError(`${host} is already ${app}'s default domain.`);
  const owner = store.domains.owner(host);
  if (owner === app) throw new UserError(`${host} is already a domain of ${app}.`);
  if (owner !== undefined) throw new UserError(`${host} is already taken by another app.`);
  await changeSetting(actor, app, {
    what: 'domains:add',
    write: () => {
      // The table's key makes a host one app's only, even against a concurrent domains:add.
      if (store.domains.add(app, host) !== 'ok') throw new UserError(`${host} is already taken by another app.`);
    },
    undo: () => store.domains.remove(app, host),
  }, progress);
  actor.services.events.publish({ type: 'app', app, change: 'domains' });
  return { host };
}

/** What domains:remove did: the host, and the other hosts whose uploaded certificate named it too (no longer served). */
export interface DomainRemoval {
  host: string;
  unservedCerts: string[];
}

/** domains:remove: stops answering on a custom host, and stops serving uploaded certificates that name it. */
export async function removeDomain(actor: Actor, app: string, raw: string, progress: Progress): Promise<DomainRemoval> {
  const { store, config } = actor.services;
  const host = raw.toLowerCase().replace(/\.$/, '');
  if (host === defaultDomain(config, app)) throw new UserError(`${host} is ${app}'s default domain; it cannot be removed.`);
  if (store.domains.owner(host) !== app) throw new UserError(`${shown(host)} is not a domain of ${app}.`);
  const naming = uploadedNaming(store.certs.uploaded(app), host);
  await changeSetting(actor, app, {
    what: 'domains:remove',
    write: () => {
      store.domains.remove(app, host);
      for (const u of naming) store.certs.remove(app, u.host);
    },
    undo: () => {
      store.domains.add(app, host);
      for (const u of naming) store.certs.upload(app, [u.host], u.certPem, u.keyPem);
    },
  }, progress);
  actor.services.events.publish({ type: 'app', app, change: 'domains' });
  return { host, unservedCerts: naming.filter((u) => u.host !== host).map((u) => u.host) };
}
