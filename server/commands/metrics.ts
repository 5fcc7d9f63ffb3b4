// `ps:metrics APP`: CPU and memory of each of an app's instances, from the cluster's metrics API,
// in the units `kubectl top` prints (millicores, MiB).
import { appMetrics } from '../ops/processes/metrics.ts';
import { listing, type Command } from './types.ts';
import { actorOf } from './progress.ts';

export const metricsCommands: Command[] = [
  {
    name: 'ps:metrics',
    usage: 'APP',
    summary: "Show the CPU and memory each of an app's instances uses (the cluster's metrics API)",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, app) => {
      const m = await appMetrics(actorOf(ctx), app);
      return listing(m, (out) => {
        const rows = m.processes.flatMap((p) => p.pods.map((pod) => [p.type, pod.name, `${pod.cpuMillicores}m`, `${Math.round(pod.memoryBytes / 2 ** 20)}Mi`]));
        if (m.processes.length === 0) return out.line(`${app} runs no processes; push it first (git push paas main).`);
        // A pod is measured a resolution or two (15-60 s) after it starts.
        if (rows.length === 0) return out.line(`No instance of ${app} has been measured yet; try again in a minute.`);
        out.table(rows, ['TYPE', 'POD', 'CPU', 'MEMORY']);
      });
    },
  },
];
