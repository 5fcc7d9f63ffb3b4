// How an autoscaled type shows in ps and answers ps:scale (apart from autoscale.ts, which uses ps.ts).
import type { AutoscalerState } from '../../deploy/deployer.ts';
import type { AutoscaleRow } from '../../store/autoscale.ts';
import type { ProcessEntry } from '../../shapes/processes.ts';

/** The sentence ps:scale answers for an autoscaled type. */
export function autoscaledRefusal(app: string, rule: Pick<AutoscaleRow, 'process' | 'min' | 'max'>): string {
  return `${rule.process} is autoscaled from ${rule.min} to ${rule.max} instances; ps:autoscale ${app} ${rule.process} --min N --max N changes its bounds, ps:autoscale:off ${app} ${rule.process} gives its count back to ps:scale.`;
}

/** An autoscaler as ps shows it beside its type, with its metrics in percent of the limits (the rule's percent scaled by use over target). */
export function autoscaleEntry(rule: AutoscaleRow, state: AutoscalerState | undefined): NonNullable<ProcessEntry['autoscale']> {
  const now = (resource: string, percent: number | null) => {
    const m = state?.metrics.find((x) => x.resource === resource);
    return percent === null || m?.current === undefined || m.target <= 0 ? undefined : Math.round((percent * m.current) / m.target);
  };
  const cpuNow = now('cpu', rule.cpu);
  const memoryNow = now('memory', rule.memory);
  return {
    min: rule.min, max: rule.max,
    ...(rule.cpu !== null ? { cpu: rule.cpu } : {}),
    ...(rule.memory !== null ? { memory: rule.memory } : {}),
    current: state?.current ?? 0,
    desired: state?.desired ?? 0,
    ...(cpuNow !== undefined ? { cpuNow } : {}),
    ...(memoryNow !== undefined ? { memoryNow } : {}),
    ...(state?.why ? { why: state.why } : state ? {} : { why: 'its autoscaler is not in the cluster (yet)' }),
  };
}
