// Where a connection comes from, as the per-source limits of both transports count it.

/** The address a connection counts against: an IPv4-mapped IPv6 address is its IPv4 address. */
export function sourceOf(remoteAddress: string): string {
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.') ? remoteAddress.slice(7) : remoteAddress;
}
