// Which client a request came from, when a reverse proxy (the cluster's ingress) stands between:
// its X-Forwarded-For is believed only from a peer listed in SLIPWAY_TRUSTED_PROXIES, or anyone
// could name any address and so escape (or aim) a throttle that counts per sender.
import type { BlockList } from 'node:net';
import { plainAddress } from '../../auth/session-cookie.ts';
import { cidrBlockList } from '../../cidr.ts';

/** The peers whose X-Forwarded-For is believed: exactly the CIDRs given (none by default, not even loopback). */
export function forwardingProxies(cidrs: readonly string[]): BlockList {
  return cidrBlockList(cidrs);
}

function trusted(address: string, proxies: BlockList): boolean {
  const a = plainAddress(address);
  return a !== undefined && proxies.check(a.address, a.family);
}

/**
 * The client's address: the TCP peer, unless the peer is a trusted proxy; then X-Forwarded-For is
 * read from its right end (what the proxy next to us appended), past every trusted hop, to the
 * first address no trusted proxy wrote. Entries to its left were written by the client and are
 * never used. A malformed entry stops the walk at the last address known good.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, proxies: BlockList): string {
  let client = peer ?? 'unknown';
  if (!trusted(client, proxies)) return client;
  const hops = [forwardedFor ?? []].flat().join(',').split(',').map((h) => h.trim()).filter(Boolean);
  for (const hop of hops.reverse()) {
    if (!plainAddress(hop)) return client;
    client = hop;
    if (!trusted(hop, proxies)) return client;
  }
  return client;
}
