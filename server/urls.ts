import type { Config } from './config.ts';

/** The two git remotes of an app. */
export function remotes(config: Pick<Config, 'publicHost' | 'sshPort' | 'httpPort'>, app: string): { ssh: string; http: string } {
  return {
    ssh: `ssh://git@${config.publicHost}:${config.sshPort}/${app}.git`,
    http: `http://${config.publicHost}:${config.httpPort}/${app}.git`,
  };
}

/** The host name every app gets: APP.BASE_DOMAIN. */
export function defaultDomain(config: Pick<Config, 'baseDomain'>, app: string): string {
  return `${app}.${config.baseDomain}`;
}

/** The web address an app answers on. */
export function appUrl(config: Pick<Config, 'baseDomain'>, app: string): string {
  return `http://${defaultDomain(config, app)}`;
}
