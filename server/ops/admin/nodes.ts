// The cluster's nodes, for admins: what each runs (nodes), taking one out of service and back
// (nodes:drain, nodes:uncordon), and the command that makes a fresh machine one more node
// (nodes:join-command).
import { readFile } from 'node:fs/promises';
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { requireDeployer } from '../../context.ts';
import { dashboardUrl } from '../../urls.ts';
import { drainRefusal, isNodeName, type NodeSummary } from '../../deploy/nodes.ts';
import type { ClusterNodes, DrainResult } from '../../deploy/deployer.ts';
import { requireAdmin } from '../access.ts';
import type { Actor, Progress } from '../actor.ts';

export type { NodeSummary, DrainResult };
export { NODE_NAME } from '../../deploy/nodes.ts';
export { showBytes, showCores } from '../../deploy/quota.ts';

/** The port of k3s's API (and its supervisor, which agents join through). */
export const K3S_API_PORT = 6443;

/** The deployer's nodes. */
function clusterOf(actor: Actor): ClusterNodes {
  return requireDeployer(actor.services).nodes;
}

/** A node name as the admin typed it, checked, and the node as the cluster has it: one sentence when there is none. */
async function existingNode(cluster: ClusterNodes, raw: string): Promise<{ node: NodeSummary; all: NodeSummary[] }> {
  if (!isNodeName(raw)) throw new UserError(`${shown(raw)} is not a node name; \`nodes\` lists them.`);
  const all = await cluster.nodes();
  const node = all.find((n) => n.name === raw);
  if (!node) throw new UserError(`There is no node ${raw} in the cluster (it has ${all.map((n) => n.name).join(', ') || 'none'}); nothing was changed.`);
  return { node, all };
}

/** nodes --json: every node, its roles, readiness, CPU and memory (allocatable, requested), and its app and build pods. */
export async function listNodes(actor: Actor): Promise<NodeSummary[]> {
  requireAdmin(actor, 'Only admins may list the cluster\'s nodes.');
  return clusterOf(actor).nodes();
}

/**
 * nodes:drain: cordons the node and evicts its pods through the Eviction API, so each app's
 * PodDisruptionBudget holds the next instance back until the last one runs elsewhere. Refused
 * when no other node could take the pods, unless `force`; a node that does not exist is one
 * sentence and nothing changes.
 */
export async function drainNode(actor: Actor, raw: string, opts: { force: boolean }, progress: Progress): Promise<DrainResult> {
  requireAdmin(actor, 'Only admins may drain nodes.');
  const cluster = clusterOf(actor);
  const { node, all } = await existingNode(cluster, raw);
  const refusal = drainRefusal(all, node.name);
  if (refusal && !opts.force) throw new UserError(refusal);
  progress.transcript.step(`Draining ${node.name}`);
  return cluster.drain(node.name, { force: opts.force, timeoutMs: actor.services.config.drainTimeoutMs, transcript: progress.transcript, signal: progress.signal });
}

/** nodes:uncordon: lets new pods be scheduled on the node again. */
export async function uncordonNode(actor: Actor, raw: string): Promise<{ node: string; wasCordoned: boolean }> {
  requireAdmin(actor, 'Only admins may uncordon nodes.');
  const cluster = clusterOf(actor);
  const { node } = await existingNode(cluster, raw);
  await cluster.uncordon(node.name);
  return { node: node.name, wasCordoned: !node.schedulable };
}

/** What k3s writes into its node-token file: `K10<ca hash>::server:<secret>`, or a bare secret. */
const K3S_TOKEN = /^[A-Za-z0-9][A-Za-z0-9:._-]{7,511}$/;

/** A host name, an IPv4 or an IPv6 address (SLIPWAY_HOST), nothing a shell reads. */
const HOST = /^([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9A-Fa-f:.]+)$/;
/** An http(s) address of letters, digits and `.-_~/:[]` only. */
const PLAIN_URL = /^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/;

/** The line that turns a fresh machine into a node of this cluster, and what it is made of. */
export interface JoinCommand {
  command: string;
  /** Where install.sh is fetched from (this server's HTTP port serves it at /install.sh). */
  installer: string;
  /** The cluster's API, which the new agent joins through. */
  server: string;
  /** Where this server builds (SLIPWAY_BUILD_BACKEND): with `pack`, a new node takes no builds. */
  builds: 'pack' | 'cluster';
}

/**
 * nodes:join-command: `curl … install.sh | sudo bash -s -- --join https://HOST:6443 --token T`,
 * with k3s's node token from SLIPWAY_K3S_TOKEN_FILE. A server without that file runs no k3s server
 * of its own (an existing cluster given with --kubeconfig): one sentence.
 */
export async function joinCommand(actor: Actor): Promise<JoinCommand> {
  requireAdmin(actor, 'Only admins may see the command that joins a node (it holds the cluster\'s join token).');
  const { config } = actor.services;
  let text: string;
  try {
    text = await readFile(config.k3sTokenFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError(`This server is not a k3s server (there is no ${config.k3sTokenFile}, SLIPWAY_K3S_TOKEN_FILE): join nodes to its cluster with that cluster's own tools.`, { cause: err });
    if (code === 'EACCES' || code === 'EPERM') throw new UserError(`The server may not read k3s's node token ${config.k3sTokenFile} (SLIPWAY_K3S_TOKEN_FILE); re-run install.sh, which gives the server its own copy.`, { cause: err });
    throw new Error(`reading ${config.k3sTokenFile} failed`, { cause: err });
  }
  const token = text.trim();
  if (!K3S_TOKEN.test(token)) throw new UserError(`${config.k3sTokenFile} (SLIPWAY_K3S_TOKEN_FILE) does not hold a k3s node token.`);
  if (!HOST.test(config.publicHost)) throw new UserError(`SLIPWAY_HOST (${shown(config.publicHost)}) is not a host name or address that a join command could name.`);
  const host = config.publicHost.includes(':') ? `[${config.publicHost}]` : config.publicHost;
  const server = `https://${host}:${K3S_API_PORT}`;
  const installer = `${dashboardUrl(config)}/install.sh`;
  if (!PLAIN_URL.test(installer)) throw new UserError(`The dashboard's address (${shown(installer)}, SLIPWAY_DASHBOARD_URL) has characters a shell would read; use a plain https://HOST address.`);
  // Every part holds nothing a shell interprets (checked above), so the line is safe to paste.
  return { command: `curl -fsSL ${installer} | sudo bash -s -- --join ${server} --token ${token}`, installer, server, builds: config.buildBackend };
}
