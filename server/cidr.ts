// Address ranges as settings and commands take them (SLIPWAY_POD_CIDR, egress:allow): one address
// or CIDR, checked and written the one way Kubernetes accepts in a NetworkPolicy's ipBlock.
import { BlockList, isIP } from 'node:net';

/** Why a text is not a usable CIDR; the message is one sentence about the value. */
export class CidrError extends Error {}

/** One CIDR (`10.42.0.0/16`, `fd00::/64`) or a bare address (made /32 or /128), normalised; throws CidrError. */
export function parseCidr(raw: string): string {
  const [addr = '', bits, extra] = raw.split('/');
  const family = isIP(addr);
  const max = family === 4 ? 32 : 128;
  const n = bits === undefined ? max : Number(bits);
  if (!family || extra !== undefined || (bits !== undefined && !/^\d{1,3}$/.test(bits)) || n > max) {
    throw new CidrError(`"${raw}" is not an address or a CIDR (like 10.42.0.0/16)`);
  }
  // Kubernetes takes only canonical CIDRs, and a stray host bit usually means a typo.
  if (hostBits(addr, n)) throw new CidrError(`${raw} has bits set past its /${n} prefix; give the range's first address (like 10.42.0.0/16)`);
  return `${addr.toLowerCase()}/${n}`;
}

/** Whether the CIDR (as parseCidr writes it) is an IPv6 one. */
export function isIpv6Cidr(cidr: string): boolean {
  return cidr.includes(':');
}

/** Whether `addr` has any bit set after its first `prefix` bits. */
function hostBits(addr: string, prefix: number): boolean {
  const words = isIP(addr) === 4 ? addr.split('.').map((b) => BigInt(Number(b))) : ipv6Words(addr);
  const width = isIP(addr) === 4 ? 8n : 16n;
  const value = words.reduce((v, w) => (v << width) | w, 0n);
  const total = Number(width) * words.length;
  return (value & ((1n << BigInt(total - prefix)) - 1n)) !== 0n;
}

/** The eight 16-bit words of an IPv6 address (`::` expanded, an embedded IPv4 tail as two words). */
function ipv6Words(addr: string): bigint[] {
  const expand = (text: string) => (text ? text.split(':') : []).flatMap((w) => {
    if (!w.includes('.')) return [BigInt(parseInt(w, 16))];
    const b = w.split('.').map((x) => BigInt(Number(x)));
    return [(b[0]! << 8n) | b[1]!, (b[2]! << 8n) | b[3]!];
  });
  const [head = '', tail] = addr.split('::');
  const left = expand(head);
  const right = tail === undefined ? [] : expand(tail);
  return [...left, ...Array<bigint>(8 - left.length - right.length).fill(0n), ...right];
}

/** Dotted IPv4 text of a 32-bit value. */
function ipv4Text(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
}

/**
 * The IPv4 addresses an IPv6 address stands for by a transition mechanism, which a host or a
 * gateway on the way may turn into a connection to that IPv4 address: IPv4-mapped (::ffff:0:0/96)
 * and IPv4-compatible (::/96), NAT64 (64:ff9b::/96, RFC 6052), 6to4 (2002::/16, RFC 3056) and
 * Teredo (2001::/32, RFC 4380: the server's address in clear, the client's with every bit
 * flipped). Empty for any other address; an address check tests these along with the address.
 */
export function embeddedIpv4(addr: string): string[] {
  const bare = addr.replace(/%.*$/, '');
  if (isIP(bare) !== 6) return [];
  const w = ipv6Words(bare);
  const pair = (i: number) => (w[i]! << 16n) | w[i + 1]!;
  const zeros = (from: number, to: number) => w.slice(from, to).every((x) => x === 0n);
  if (zeros(0, 5) && (w[5] === 0xffffn || w[5] === 0n)) return [ipv4Text(pair(6))];
  if (w[0] === 0x64n && w[1] === 0xff9bn && zeros(2, 6)) return [ipv4Text(pair(6))];
  if (w[0] === 0x2002n) return [ipv4Text(pair(1))];
  if (w[0] === 0x2001n && w[1] === 0n) return [ipv4Text(pair(2)), ipv4Text(pair(6) ^ 0xffffffffn)];
  return [];
}

/** A list of settings' CIDRs (or bare addresses) that `BlockList.check` matches addresses against. */
export function cidrBlockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr = '', bits = ''] = c.split('/');
    const family = isIP(addr) === 4 ? 'ipv4' : 'ipv6';
    list.addSubnet(addr, Number(bits || (family === 'ipv4' ? 32 : 128)), family);
  }
  return list;
}
