import { addDomain, listDomains, removeDomain } from '../ops/domains/domains.ts';
import { listing, type Command } from './types.ts';
import { actorOf, progressOf } from './progress.ts';

export const domainCommands: Command[] = [
  {
    name: 'domains',
    usage: 'APP',
    summary: "List an app's domains (the default one first)",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, app) => {
      const d = listDomains(actorOf(ctx), app);
      return listing(d, (out) => {
        out.heading(`${app} Default Domain`);
        out.line(d.default);
        out.line();
        out.heading(`${app} Custom Domains`);
        out.line(d.custom.length ? d.custom.join('\n') : `none (add one with domains:add ${app} HOST)`);
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
      const { host } = await addDomain(actorOf(ctx), app, raw!, progressOf(ctx));
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
      const r = await removeDomain(actorOf(ctx), app, raw!, progressOf(ctx));
      ctx.out.line(`Removing ${r.host} from ${app}... done`);
      if (r.unservedCerts.length) ctx.out.line(`The uploaded certificate of ${r.unservedCerts.join(', ')} names ${r.host} too, so it is no longer served; upload one without ${r.host} (certs:add).`);
    },
  },
];
