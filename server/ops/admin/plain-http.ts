// doctor's `https` check: the address users are given for the dashboard and the API
// (SLIPWAY_DASHBOARD_URL, else http://SLIPWAY_HOST:SLIPWAY_HTTP_PORT), which is also where
// webhooks are delivered and nodes:join-command fetches install.sh. Served over plain HTTP on an
// address anyone on the internet reaches, every access token, session cookie, login code and
// webhook secret sent to it crosses networks in clear, so the check fails there. On loopback, a
// private range or a name no public DNS answers for, plain HTTP is the operator's choice: it passes
// and says so.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Config } from '../../config.ts';
import { isInternal } from '../../forge/remote.ts';
import type { DoctorCheck } from '../../health.ts';
import { dashboardUrl } from '../../urls.ts';

/** Top-level names no public DNS answers for: RFC 6761 (localhost, test, invalid, example), RFC 6762 appendix G, RFC 8375 (home.arpa), ICANN's .internal. */
const LOCAL_SUFFIXES = ['localhost', 'local', 'internal', 'test', 'invalid', 'example', 'home.arpa', 'lan', 'home', 'corp', 'intranet', 'private'];

/** sslip.io and nip.io answer a name with the IPv4 address it spells (`slipway.10.0.0.5.sslip.io`, `a-10-0-0-5.nip.io`): install.sh's default domain is one. */
const SPELLED = /(?:^|[.-])(\d{1,3})[.-](\d{1,3})[.-](\d{1,3})[.-](\d{1,3})\.(?:sslip|nip)\.io$/;

const LOOKUP_MS = 5000;

/** Whether a host is reached from the internet, and why that was concluded (a phrase). */
export interface Exposure { public: boolean; why: string }

/** Every address a name resolves to here (both families), or an error. */
async function lookupAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}

/** An address by its range: loopback, private, link-local and shared ranges (and their IPv6 transition spellings) are not public. */
function addressExposure(address: string, what: string): Exposure {
  return isInternal(address, [])
    ? { public: false, why: `${what} a loopback, private or link-local address` }
    : { public: true, why: `${what} a public address` };
}

/**
 * Whether `host` (a URL's host name) is public: an address by its range; a single label or a name
 * under a local-use suffix is not; a name sslip.io or nip.io answers is its spelled address; any
 * other name is public unless every address it resolves to here is internal (a name that does not
 * resolve cannot be shown to be private).
 */
export async function hostExposure(host: string, resolve: (host: string) => Promise<string[]> = lookupAll): Promise<Exposure> {
  const name = host.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  if (isIP(name)) return addressExposure(name, `${name} is`);
  if (!name.includes('.') || LOCAL_SUFFIXES.some((s) => name === s || name.endsWith(`.${s}`))) return { public: false, why: `${name} is a local name no public DNS answers for` };
  const spelled = SPELLED.exec(name);
  if (spelled) return addressExposure(spelled.slice(1, 5).join('.'), `${name} spells`);
  let addresses: string[];
  let timer: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('timed out')), LOOKUP_MS); });
    addresses = await Promise.race([resolve(name), late]);
  } catch {
    // Not resolving here says nothing of what the internet's DNS answers.
    return { public: true, why: `${name} is a DNS name that does not resolve here, so it cannot be shown to be private` };
  } finally {
    clearTimeout(timer);
  }
  const outside = addresses.find((a) => !isInternal(a, []));
  if (outside !== undefined || addresses.length === 0) return { public: true, why: `${name} is a public DNS name${outside ? ` (${outside})` : ''}` };
  return { public: false, why: `${name} resolves here to private addresses only (${addresses.join(', ')})` };
}

/** The `https` check: fails when the dashboard's and API's address is plain http on a public host. */
export function plainHttpCheck(config: Readonly<Config>, resolve?: (host: string) => Promise<string[]>): DoctorCheck {
  return {
    name: 'https',
    fix: 'set SLIPWAY_DASHBOARD_URL to the https:// address the dashboard and API are served at',
    async run() {
      const shown = dashboardUrl(config);
      const url = new URL(shown);
      if (url.protocol === 'https:') return { ok: true, detail: `the dashboard and API are served at ${shown}` };
      const exposure = await hostExposure(url.hostname, resolve);
      if (!exposure.public) {
        return { ok: true, detail: `the dashboard and API are served over plain HTTP at ${shown}, and ${exposure.why}: keep it to networks you trust, and turn HTTPS on before the internet reaches it` };
      }
      return {
        ok: false,
        detail: `the dashboard and API are served over plain HTTP at ${shown}, and ${exposure.why}: access tokens, session cookies, login links and webhook secrets cross the internet in clear`,
        fix: `turn HTTPS on: re-run install.sh with --acme-email EMAIL (the dashboard moves to https://slipway.DOMAIN and SLIPWAY_DASHBOARD_URL follows), or serve port ${config.httpPort} behind HTTPS of your own and set SLIPWAY_DASHBOARD_URL to its https:// address`,
      };
    },
  };
}
