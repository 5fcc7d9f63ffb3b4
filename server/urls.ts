import type { Config } from './config.ts';

/** The two git remotes of an app. */
export function remotes(config: Pick<Config, 'publicHost' | 'sshPort' | 'httpPort'>, app: string): { ssh: string; http: string } {
  return {
    ssh: `ssh://git@${config.publicHost}:${config.sshPort}/${app}.git`,
    http: `http://${config.publicHost}:${config.httpPort}/${app}.git`,
  };
}

/** The dashboard's address, without a trailing slash: SLIPWAY_DASHBOARD_URL, or the HTTP port on the public host. */
export function dashboardUrl(config: Pick<Config, 'dashboardUrl' | 'publicHost' | 'httpPort'>): string {
  return config.dashboardUrl ?? `http://${config.publicHost}:${config.httpPort}`;
}

/** The host name every app gets: APP.BASE_DOMAIN. */
export function defaultDomain(config: Pick<Config, 'baseDomain'>, app: string): string {
  return `${app}.${config.baseDomain}`;
}

/**
 * The web address an app answers on, the one place that decides it: `https://` once the default
 * host's certificate is issued (Traefik serves it from then on), else `http://`. `certs` is what the
 * deployer's certificates() reports for the app's hosts; undefined when the app has no TLS.
 */
export function appUrl(config: Pick<Config, 'baseDomain'>, app: string, certs?: readonly { host: string; state: string }[]): string {
  const host = defaultDomain(config, app);
  const https = certs?.some((c) => c.host === host && c.state === 'issued') ?? false;
  return `${https ? 'https' : 'http'}://${host}`;
}

/** Where a forge delivers an app's webhooks: POST on the server's public HTTP address (the dashboard's), /hooks/APP. */
export function webhookUrl(config: Pick<Config, 'dashboardUrl' | 'publicHost' | 'httpPort'>, app: string): string {
  return `${dashboardUrl(config)}/hooks/${app}`;
}
