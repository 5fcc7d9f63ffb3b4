// The cluster's nodes, for admins: the same objects `nodes --json` prints.
import { Type } from 'typebox';
import { route } from './route.ts';
import { actor } from './change.ts';
import { listNodes } from '../ops/nodes.ts';

const Resources = (what: string) => Type.Object({
  cpuMillicores: Type.Integer({ description: `CPU ${what}, in thousandths of a core.` }),
  memoryBytes: Type.Integer({ description: `Memory ${what}, in bytes.` }),
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
];
