// certs, certs:auto:enable/disable, certs:add, certs:remove: HTTPS for an app's hosts (ops/domains/certs.ts).
import type { HostCert } from '../shapes/domains.ts';
import { addCert, listCerts, removeCert, setAutoCerts } from '../ops/domains/certs.ts';
import { listing, type Command } from './types.ts';
import { actorOf, progressOf } from './progress.ts';

/** One line of `certs`. */
export function certLine(c: HostCert): string {
  switch (c.state) {
    case 'issued': return `${c.host}  issued${c.source === 'uploaded' ? ' (uploaded)' : ''} by ${c.issuer}, expires ${c.notAfter}`;
    case 'pending': return `${c.host}  pending: ${c.detail}`;
    case 'failed': return `${c.host}  failed: ${c.detail}`;
    case 'none': return `${c.host}  none: served over HTTP only`;
  }
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
      const c = await listCerts(actorOf(ctx), app);
      return listing(c, (out) => {
        out.heading(`${app} Certificates (automatic: ${!c.acme ? 'off, no SLIPWAY_ACME_EMAIL' : c.auto ? 'on' : 'off'})`);
        for (const cert of c.certs) out.line(certLine(cert));
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
      await setAutoCerts(actorOf(ctx), app, true, progressOf(ctx));
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
      await setAutoCerts(actorOf(ctx), app, false, progressOf(ctx));
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
      const { hosts } = await addCert(actorOf(ctx), app, await ctx.stdin(), progressOf(ctx));
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
      const { host } = await removeCert(actorOf(ctx), app, raw!, progressOf(ctx));
      ctx.out.line(`Removing the uploaded certificate of ${host} from ${app}... done`);
    },
  },
];
