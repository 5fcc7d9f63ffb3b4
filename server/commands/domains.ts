import type { Config } from '../config.ts';
import { UserError } from '../errors.ts';
import { shown } from '../names.ts';
import { defaultDomain } from '../urls.ts';
import { deployedRelease, reapply, withDeployLock } from '../ops/deploying.ts';
import { listing, type Command, type CommandContext } from './types.ts';
import { uploadedNaming } from './certs.ts';

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

/** Applies a domain change to what runs when the app is deployed; otherwise only stores it. */
async function change(ctx: CommandContext, app: string, what: string, write: () => void, undo: () => void): Promise<void> {
  const current = ctx.services.store.releases.current(app);
  if (!current?.image || !ctx.services.deployer) return write();
  await withDeployLock(ctx, app, what, (signal, t) => reapply(ctx, app, deployedRelease(ctx, app), write, undo, t, signal));
}

export const domainCommands: Command[] = [
  {
    name: 'domains',
    usage: 'APP',
    summary: "List an app's domains (the default one first)",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, app) => {
      const { store, config } = ctx.services;
      const custom = store.domains.list(app);
      return listing({ default: defaultDomain(config, app), custom }, (out) => {
        out.heading(`${app} Default Domain`);
        out.line(defaultDomain(config, app));
        out.line();
        out.heading(`${app} Custom Domains`);
        out.line(custom.length ? custom.join('\n') : `none (add one with domains:add ${app} HOST)`);
      });
    },
  },
  {
    name: 'domains:add',
    usage: 'APP HOST',
    summary: 'Let the app answer on another host name',
    access: 'app',
    args: { min: 2, max: 2 },
    run: async (ctx, app, [raw]) => {
      const { store, config } = ctx.services;
      const host = parseHost(raw!, config);
      checkClaim(host, app, config);
      if (host === defaultDomain(config, app)) throw new UserError(`${host} is already ${app}'s default domain.`);
      const owner = store.domains.owner(host);
      if (owner === app) throw new UserError(`${host} is already a domain of ${app}.`);
      if (owner !== undefined) throw new UserError(`${host} is already taken by another app.`);
      await change(ctx, app, 'domains:add', () => {
        // The table's key makes a host one app's only, even against a concurrent domains:add.
        if (store.domains.add(app, host) !== 'ok') throw new UserError(`${host} is already taken by another app.`);
      }, () => store.domains.remove(app, host));
      ctx.out.line(`Adding ${host} to ${app}... done`);
      ctx.out.line(`Point ${host} at this cluster's ingress (a DNS A or CNAME record) to reach it.`);
    },
  },
  {
    name: 'domains:remove',
    usage: 'APP HOST',
    summary: 'Stop answering on a custom host name',
    access: 'app',
    args: { min: 2, max: 2 },
    run: async (ctx, app, [raw]) => {
      const { store, config } = ctx.services;
      const host = raw!.toLowerCase().replace(/\.$/, '');
      if (host === defaultDomain(config, app)) throw new UserError(`${host} is ${app}'s default domain; it cannot be removed.`);
      if (store.domains.owner(host) !== app) throw new UserError(`${shown(host)} is not a domain of ${app}.`);
      const naming = uploadedNaming(store.certs.uploaded(app), host);
      await change(ctx, app, 'domains:remove', () => {
        store.domains.remove(app, host);
        for (const u of naming) store.certs.remove(app, u.host);
      }, () => {
        store.domains.add(app, host);
        for (const u of naming) store.certs.upload(app, [u.host], u.certPem, u.keyPem);
      });
      ctx.out.line(`Removing ${host} from ${app}... done`);
      const others = naming.filter((u) => u.host !== host).map((u) => u.host);
      if (others.length) ctx.out.line(`The uploaded certificate of ${others.join(', ')} names ${host} too, so it is no longer served; upload one without ${host} (certs:add).`);
    },
  },
];
