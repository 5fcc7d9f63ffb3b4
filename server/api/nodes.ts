// The cluster's nodes, for admins: the same objects `nodes --json`, `nodes:drain --json`,
// `nodes:uncordon --json` and `nodes:join-command --json` print.
import { Type } from 'typebox';
import { route } from './route.ts';
import { actor } from './change.ts';
import { drainNode, joinCommand, listNodes, NODE_NAME, uncordonNode } from '../ops/admin/nodes.ts';
import { lineTranscript } from '../output/transcript.ts';

const Resources = (what: string) => Type.Object({
  cpuMillicores: Type.Integer({ description: `CPU ${what}, in thousandths of a core.` }),
  memoryBytes: Type.Integer({ description: `Memory ${what}, in bytes.` }),
}, { additionalProperties: false });

/** `/nodes/:node` routes' parameters: a Kubernetes node name (a DNS subdomain), checked before anything runs. */
const NodeParams = Type.Object({
  node: Type.String({ minLength: 1, maxLength: 253, pattern: NODE_NAME.source, description: 'The node name (lowercase DNS subdomain), as `nodes` lists it.' }),
}, { additionalProperties: false });

/** A pod a drain left or could not evict, and why. */
const PodReason = Type.Object({
  pod: Type.String({ description: '`namespace/name`.' }),
  reason: Type.String(),
}, { additionalProperties: false });

export const nodeRoutes = [
  route({
    method: 'GET', url: '/nodes', tag: 'admin', need: 'admin',
    summary: "The cluster's nodes: roles, Ready, CPU and memory allocatable and requested, app and build pods (= nodes --json)",
    response: { 200: Type.Array(Type.Object({
      name: Type.String(),
      roles: Type.Array(Type.String(), { description: 'Its node-role.kubernetes.io/ROLE labels (k3s server: control-plane, master); empty for an agent.' }),
      ready: Type.Boolean({ description: 'The kubelet reports it Ready.' }),
      schedulable: Type.Boolean({ description: 'New pods may be scheduled on it (false once cordoned by nodes:drain).' }),
      builds: Type.Boolean({ description: 'It carries slipway.dev/builds=true: build pods go there, app pods prefer other nodes.' }),
      allocatable: Resources('pods may request on it in all'),
      requested: Resources('the pods on it request together'),
      appPods: Type.Integer({ description: "Pods on it in Slipway's app namespaces." }),
      buildPods: Type.Integer({ description: 'Pods on it in the namespace slipway-builds.' }),
    }, { additionalProperties: false })) },
    handle: async (call) => ({ status: 200, json: await listNodes(actor(call)) }),
  }),
  route({
    method: 'GET', url: '/nodes/join-command', tag: 'admin', need: 'admin',
    summary: 'The command that makes a fresh machine a node of this k3s cluster; it holds the join token (= nodes:join-command --json)',
    response: { 200: Type.Object({
      command: Type.String({ description: 'The line to run on the new machine. With an https installer address it pipes install.sh to bash; over plain http it saves it to a file, checks its SHA-256 (installerSha256) and runs it only when it matches.' }),
      installer: Type.String({ description: 'Where install.sh is fetched from (this server serves it at /install.sh).' }),
      installerSha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'The SHA-256 (hex) of the install.sh this server serves.' }),
      server: Type.String({ description: "The cluster's API, which the new agent joins through." }),
      builds: Type.Enum(['pack', 'cluster'], { description: "Where this server builds (SLIPWAY_BUILD_BACKEND): with pack, builds stay on the server's Docker engine and a new node takes none." }),
    }, { additionalProperties: false }) },
    handle: async (call) => ({ status: 200, json: await joinCommand(actor(call)) }),
  }),
  route({
    method: 'POST', url: '/nodes/:node/drain', tag: 'admin', need: 'admin',
    summary: 'Cordon a node and evict its pods, answering when the drain ends; pods that could not be evicted are in `failed` and the node stays cordoned (= nodes:drain NODE [--force] --json)',
    params: NodeParams,
    body: Type.Object({
      force: Type.Optional(Type.Boolean({ description: 'Drain even when no other node can take the pods, and evict pods no controller replaces. Default false.' })),
    }, { additionalProperties: false }),
    response: { 200: Type.Object({
      node: Type.String(),
      evicted: Type.Array(Type.String(), { description: '`namespace/name` of each pod evicted and gone from the node.' }),
      skipped: Type.Array(PodReason, { description: 'Pods a drain leaves where they are: DaemonSet, static and ended pods, and without force pods no controller owns.' }),
      failed: Type.Array(PodReason, { description: 'Pods that could not be evicted before the deadline; when any, the node stays cordoned (POST /nodes/{node}/uncordon takes it back).' }),
    }, { additionalProperties: false }) },
    handle: async (call) => {
      // The caller waits for the drain; its steps are not streamed, the result says what happened.
      const progress = { transcript: lineTranscript(() => {}), signal: call.signal };
      return { status: 200, json: await drainNode(actor(call), call.params.node, { force: call.body.force === true }, progress) };
    },
  }),
  route({
    method: 'POST', url: '/nodes/:node/uncordon', tag: 'admin', need: 'admin',
    summary: 'Let new pods be scheduled on a node again, after a drain (= nodes:uncordon NODE --json)',
    params: NodeParams,
    response: { 200: Type.Object({
      node: Type.String(),
      wasCordoned: Type.Boolean({ description: 'It was cordoned before; false: nothing changed.' }),
    }, { additionalProperties: false }) },
    handle: async (call) => ({ status: 200, json: await uncordonNode(actor(call), call.params.node) }),
  }),
];
