// doctor's `dashboard site` check: whether an app can set cookies the dashboard's browsers send.
// Every app answers at APP.BASE_DOMAIN, and its code chooses its own Set-Cookie headers: a cookie
// with Domain=PARENT (any parent of its host that is not a public suffix) reaches every host under
// PARENT. When the dashboard's host is one of them (install.sh's slipway.BASE_DOMAIN is), a tenant
// can toss cookies at the dashboard: over HTTPS the `__Host-` session cookie cannot be replaced,
// but two session cookies are refused, so a tenant can still log dashboard users out; over plain
// HTTP it can log a browser with no session in as the tenant's own key. Only the operator can
// move the dashboard, so this is a warning (the check passes), not a failure.
import { isIP } from 'node:net';
import type { Config } from '../../config.ts';
import type { CheckOutcome, DoctorCheck } from '../../health.ts';
import { dashboardUrl } from '../../urls.ts';

/** The labels two host names end with in common (`a.example.com`, `b.example.com` → `example.com`), or ''. */
export function commonParent(a: string, b: string): string {
  const x = a.toLowerCase().replace(/\.$/, '').split('.').reverse();
  const y = b.toLowerCase().replace(/\.$/, '').split('.').reverse();
  const shared: string[] = [];
  for (let i = 0; i < Math.min(x.length, y.length) && x[i] === y[i]; i++) shared.push(x[i]!);
  return shared.reverse().join('.');
}

/**
 * Whether apps can set cookies the dashboard at `dashboardHost` receives, and the parent domain
 * they share. An address is no domain (no cookie of a name's can reach it). Without the Public
 * Suffix List a shared parent of two labels or more is taken as one an app may set cookies for
 * (`example.com`); a single label (`com`) never is. A two-label public suffix (`co.uk`) is
 * therefore a false alarm, which the warning's wording allows for.
 */
export function sharedCookieDomain(dashboardHost: string, baseDomain: string): string | undefined {
  const host = dashboardHost.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host)) return undefined;
  // An app's host, whatever its name: a label under the base domain.
  const parent = commonParent(host, `app.${baseDomain}`);
  return parent.split('.').length >= 2 ? parent : undefined;
}

/** Services whose names anyone may take (`anything.1.2.3.4.sslip.io`): every site under them shares their parent domain, apps or not. */
const SHARED_SERVICES = ['sslip.io', 'nip.io'];

/** The check's outcome for a config (pure, for the tests). */
export function dashboardSiteOutcome(config: Pick<Config, 'dashboardUrl' | 'publicHost' | 'httpPort' | 'baseDomain'>): CheckOutcome {
  const url = new URL(dashboardUrl(config));
  const host = url.hostname.toLowerCase();
  const shared = sharedCookieDomain(host, config.baseDomain);
  const service = SHARED_SERVICES.find((s) => host.endsWith(`.${s}`));
  if (!shared && !service) return { ok: true, detail: `apps (*.${config.baseDomain}) cannot set cookies for the dashboard's host ${host}` };
  const who: string[] = [];
  if (shared) {
    const under = host === config.baseDomain || host.endsWith(`.${config.baseDomain}`);
    who.push(under ? `is under the apps' domain ${config.baseDomain}` : `shares the parent domain ${shared} with the apps (*.${config.baseDomain}), unless ${shared} is a public suffix`);
  }
  if (service) who.push(`is under ${service}, where anyone may have a site (it is not a public suffix)`);
  const effect = url.protocol === 'https:'
    ? 'those sites can set cookies it receives and so log its users out (not in as another key: the session cookie is __Host-)'
    : "those sites can set cookies it receives and so log a browser in as their owner's key (over plain HTTP the session cookie cannot be __Host-)";
  return {
    ok: true,
    detail: `warning: the dashboard's host ${host} ${who.join(' and ')}: ${effect}; serve the dashboard over HTTPS, on a host under no parent domain an app's host or another party's site is under (SLIPWAY_DASHBOARD_URL)`,
  };
}

/** The `dashboard site` check. */
export function dashboardSiteCheck(config: Readonly<Config>): DoctorCheck {
  return { name: 'dashboard site', run: async () => dashboardSiteOutcome(config) };
}
