// The exceptions to an app's network isolation. An app's pods reach their own namespace, DNS and
// the internet; an admin may let one app reach more (a database on the private network, a port of
// a node). Admins only: an exception widens what the app's code can reach inside the platform (the
// registry, the kubelet, Slipway's own ports), which a tenant's deploy key must not open for itself.
import { CidrError, parseCidr } from '../../cidr.ts';
import type { EgressRule } from '../../model.ts';
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { changeSetting } from '../rollout.ts';
import { requireAdmin } from '../access.ts';
import type { Actor, Progress } from '../actor.ts';

export type { EgressRule };

/** Most exceptions one app may have: each is a rule the node's firewall evaluates for every new connection. */
export const MAX_EGRESS_RULES = 20;

/** An exception as typed: `CIDR`, `CIDR:PORT`, or `[IPV6-CIDR]:PORT` (an address alone is one host). */
export function parseEgressRule(raw: string): EgressRule {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(raw);
  // Without brackets, a colon ends an IPv4 range and its port; IPv6 has several and no port.
  const [range, port] = bracketed ? [bracketed[1]!, bracketed[2]] : (raw.match(/:/g) ?? []).length === 1 ? raw.split(':') as [string, string] : [raw, undefined];
  let cidr: string;
  try {
    cidr = parseCidr(range);
  } catch (err) {
    if (!(err instanceof CidrError)) throw err;
    throw new UserError(`${shown(raw)} is not CIDR[:PORT] (like 10.0.5.0/24:5432, 192.0.2.7, or [2001:db8::/64]:443): ${err.message}.`, { cause: err });
  }
  if (port === undefined) return { cidr };
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new UserError(`${shown(raw)}: the port must be a number from 1 to 65535.`);
  return { cidr, port: Number(port) };
}

/** How an exception is said: `10.0.5.0/24 port 5432`, `192.0.2.7/32 every port`. */
export function describeRule(rule: EgressRule): string {
  return `${rule.cidr} ${rule.port === undefined ? 'every port' : `port ${rule.port}`}`;
}

/** egress --json: the app's exceptions. */
export function listEgress(actor: Actor, app: string): EgressRule[] {
  return actor.services.store.egress.list(app);
}

/** The rule `raw` names, whether the app has it already, and how many it has. */
function target(actor: Actor, app: string, raw: string): { rule: EgressRule; exists: boolean; count: number } {
  const rule = parseEgressRule(raw);
  const existing = actor.services.store.egress.list(app);
  return { rule, exists: existing.some((r) => r.cidr === rule.cidr && r.port === rule.port), count: existing.length };
}

/** egress:allow (admins only): lets the app's pods reach a range (on one port), and applies it. */
export async function allowEgress(actor: Actor, app: string, raw: string, progress: Progress): Promise<{ rule: EgressRule }> {
  requireAdmin(actor, 'Only admins may run egress:allow.');
  const { store } = actor.services;
  const { rule, exists, count } = target(actor, app, raw);
  if (exists) throw new UserError(`${app} may already reach ${describeRule(rule)}.`);
  if (count >= MAX_EGRESS_RULES) throw new UserError(`${app} has ${MAX_EGRESS_RULES} egress exceptions, the most an app may have; remove one with egress:deny first.`);
  await changeSetting(actor, app, { what: 'egress:allow', write: () => { store.egress.add(app, rule); }, undo: () => { store.egress.remove(app, rule); } }, progress);
  return { rule };
}

/** egress:deny (admins only): removes an exception egress:allow made, and applies it. */
export async function denyEgress(actor: Actor, app: string, raw: string, progress: Progress): Promise<{ rule: EgressRule }> {
  requireAdmin(actor, 'Only admins may run egress:deny.');
  const { store } = actor.services;
  const { rule, exists } = target(actor, app, raw);
  if (!exists) throw new UserError(`${app} has no egress exception for ${describeRule(rule)}; egress ${app} lists them.`);
  await changeSetting(actor, app, { what: 'egress:deny', write: () => { store.egress.remove(app, rule); }, undo: () => { store.egress.add(app, rule); } }, progress);
  return { rule };
}
