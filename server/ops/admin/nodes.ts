// The cluster's nodes, for admins: what each runs (nodes), taking one out of service and back
// (nodes:drain, nodes:uncordon), and the command that makes a fresh machine one more node
// (nodes:join-command).
import { readFile } from 'node:fs/promises';
import { UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { requireDeployer } from '../../context.ts';
import { dashboardUrl } from '../../urls.ts';
import { INSTALLER_FILE, readInstaller, type Installer } from '../../installer.ts';
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

/**
 * What k3s writes into its node-token file: the secure form `K10<CA hash>::server:<secret>`. Only
 * that form is printed: its hash of the cluster's CA lets the joining agent check that it speaks
 * to this cluster before it sends the secret; with a bare secret (k3s's short form) the agent
 * trusts whatever CA it is shown, and anyone on the way to port 6443 could take the token.
 */
const K3S_TOKEN = /^K10[0-9A-Fa-f]{64}::[A-Za-z0-9._-][A-Za-z0-9:._-]{0,447}$/;

/** A host name, an IPv4 or an IPv6 address (SLIPWAY_HOST), nothing a shell reads. */
const HOST = /^([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9A-Fa-f:.]+)$/;
/** An http(s) address of letters, digits and `.-_~/:[]` only. */
const PLAIN_URL = /^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/;

/** The line that turns a fresh machine into a node of this cluster, and what it is made of. */
export interface JoinCommand {
  command: string;
  /** Where install.sh is fetched from (this server's HTTP port serves it at /install.sh). */
  installer: string;
  /** The SHA-256 of the install.sh this server serves; over plain http the line checks the download against it before running it. */
  installerSha256: string;
  /** The cluster's API, which the new agent joins through. */
  server: string;
  /** Where this server builds (SLIPWAY_BUILD_BACKEND): with `pack`, a new node takes no builds. */
  builds: 'pack' | 'cluster';
}

/**
 * The line a fresh machine runs, from parts already checked to hold nothing a shell interprets.
 * Over https, curl checks the server's certificate and the script is piped to bash. Over plain
 * http anyone on the way could answer with a script of their own, so the line saves the download
 * to a file, checks its SHA-256 against the one of the script this server serves (the line itself
 * reached the admin over SSH, or the API), and runs it only when they match.
 */
export function joinLine(installer: string, sha256: string, server: string, token: string): string {
  const join = `--join ${server} --token ${token}`;
  if (installer.startsWith('https://')) return `curl -fsSL ${installer} | sudo bash -s -- ${join}`;
  return `f=$(mktemp) && curl -fsSL ${installer} -o "$f" && echo "${sha256}  $f" | sha256sum -c --quiet && sudo bash "$f" ${join}`;
}

/**
 * nodes:join-command: `curl … install.sh | sudo bash -s -- --join https://HOST:6443 --token T`
 * (over plain http: download, check the SHA-256, then run), with k3s's node token from
 * SLIPWAY_K3S_TOKEN_FILE. A server without that file runs no k3s server of its own (an existing
 * cluster given with --kubeconfig): one sentence.
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
  if (!K3S_TOKEN.test(token)) throw new UserError(`${config.k3sTokenFile} (SLIPWAY_K3S_TOKEN_FILE) does not hold a k3s node token in its secure form K10<CA hash>::…, with which a joining node checks that it reaches this cluster before it sends the token.`);
  if (!HOST.test(config.publicHost)) throw new UserError(`SLIPWAY_HOST (${shown(config.publicHost)}) is not a host name or address that a join command could name.`);
  const host = config.publicHost.includes(':') ? `[${config.publicHost}]` : config.publicHost;
  const server = `https://${host}:${K3S_API_PORT}`;
  const installer = `${dashboardUrl(config)}/install.sh`;
  if (!PLAIN_URL.test(installer)) throw new UserError(`The dashboard's address (${shown(installer)}, SLIPWAY_DASHBOARD_URL) has characters a shell would read; use a plain https://HOST address.`);
  let installed: Installer;
  try {
    installed = await readInstaller();
  } catch (err) {
    throw new Error(`reading ${INSTALLER_FILE}, which the HTTP port serves at /install.sh, failed`, { cause: err });
  }
  // Every part holds nothing a shell interprets (checked above), so the line is safe to paste.
  return { command: joinLine(installer, installed.sha256, server, token), installer, installerSha256: installed.sha256, server, builds: config.buildBackend };
}
