// The cluster's nodes, for admins: nodes, nodes:drain, nodes:uncordon, nodes:join-command.
import { UserError } from '../errors.ts';
import { drainNode, joinCommand, listNodes, showBytes, showCores, uncordonNode, type NodeSummary } from '../ops/admin/nodes.ts';
import { lineTranscript } from '../output/transcript.ts';
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf, progressOf } from './progress.ts';

/** `requested/allocatable (percent)` of one resource. */
function share(requested: number, allocatable: number, show: (n: number) => string): string {
  const pct = allocatable > 0 ? ` (${Math.round((requested / allocatable) * 100)}%)` : '';
  return `${show(requested)}/${show(allocatable)}${pct}`;
}

/** The header of `nodes`' table. */
export const NODE_HEADER = ['NAME', 'ROLES', 'STATUS', 'CPU REQUESTED', 'MEMORY REQUESTED', 'APP PODS', 'BUILD PODS'];

/** The rows of `nodes`: one per node. */
export function nodeRows(nodes: readonly NodeSummary[]): string[][] {
  return nodes.map((n) => [
      n.name,
      [...n.roles, ...(n.builds ? ['builds'] : [])].join(',') || '-',
      `${n.ready ? 'Ready' : 'NotReady'}${n.schedulable ? '' : ',SchedulingDisabled'}`,
      share(n.requested.cpuMillicores / 1000, n.allocatable.cpuMillicores / 1000, showCores),
      share(n.requested.memoryBytes, n.allocatable.memoryBytes, showBytes),
      String(n.appPods),
      String(n.buildPods),
  ]);
}

export const nodeCommands: Command[] = [
  {
    name: 'nodes',
    usage: '',
    summary: "List the cluster's nodes: roles, Ready, CPU and memory requested of what is allocatable, app and build pods",
    access: 'admin',
    args: { min: 0, max: 0 },
    json: true,
    run: async (ctx) => {
      const nodes = await listNodes(actorOf(ctx));
      return listing(nodes, (out) => out.table(nodeRows(nodes), NODE_HEADER));
    },
  },
  defineCommand({
    name: 'nodes:drain',
    usage: 'NODE [--force]',
    summary: "Cordon a node and evict its pods (PodDisruptionBudgets honoured: one instance of a type at a time); --force drains the only schedulable node too, and evicts pods no controller replaces",
    access: 'admin',
    args: { min: 1, max: 1 },
    flags: { force: { type: 'boolean', help: 'drain even when no other node can take the pods, and evict one-off and release pods' } },
    json: true,
    run: async (ctx, args, flags) => {
      // With --json the output is one JSON document: the steps are in it, not before it.
      const progress = flags.json ? { transcript: lineTranscript(() => {}), signal: ctx.signal } : progressOf(ctx);
      const r = await drainNode(actorOf(ctx), args[0]!, { force: flags.force === true }, progress);
      const failure = r.failed.length
        ? new UserError(`${r.failed.length} pod${r.failed.length === 1 ? '' : 's'} could not be evicted from ${r.node}: ${r.failed.map((f) => `${f.pod} (${f.reason})`).join('; ')}; ${r.node} stays cordoned (nodes:uncordon ${r.node} takes it back).`)
        : undefined;
      return listing(r, (out) => {
        if (!failure) out.line(`Drained ${r.node}: ${r.evicted.length} pod${r.evicted.length === 1 ? '' : 's'} evicted${r.skipped.length ? `, ${r.skipped.length} left` : ''}; it takes no new pods until nodes:uncordon ${r.node}.`);
      }, failure);
    },
  }),
  {
    name: 'nodes:uncordon',
    usage: 'NODE',
    summary: 'Let new pods be scheduled on a node again (after nodes:drain)',
    access: 'admin',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, args) => {
      const r = await uncordonNode(actorOf(ctx), args[0]!);
      return listing(r, (out) => out.line(r.wasCordoned ? `Uncordoned ${r.node}: new pods may be scheduled on it again.` : `${r.node} was not cordoned; new pods may be scheduled on it.`));
    },
  },
  {
    name: 'nodes:join-command',
    usage: '',
    summary: "Print the command that makes a fresh machine a node of this k3s cluster (it holds the join token; over plain http it checks install.sh's SHA-256 before running it)",
    access: 'admin',
    args: { min: 0, max: 0 },
    json: true,
    run: async (ctx) => {
      const r = await joinCommand(actorOf(ctx));
      // Only the line, so that a script can run what it prints; --json also says where builds run.
      return listing(r, (out) => out.line(r.command));
    },
  },
];
