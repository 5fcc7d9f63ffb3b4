// The charts' numbers, apart from their drawing so unit tests run them in Node: axis tops,
// labels, the metrics stream's samples as series per process type, and push jobs as bars.
import type { AppMetrics, Job } from '../api.ts';
import { jobDone, when } from '../format.ts';

/** One line of a line chart: points in time order (t: ms since the epoch). */
export interface Series { name: string; points: { t: number; v: number }[] }

/** One bar of a bar chart; `bad` bars (a failed deploy) are drawn in the danger colour. */
export interface Bar { label: string; value: number; bad?: boolean; note?: string }

/** A value axis top rounded up to 1, 2 or 5 times a power of ten, so the labels read well. */
export function niceMax(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** A clock time for axis labels and tables: "07:42:15" (UTC, as the rest of the dashboard). */
export function clock(t: number): string {
  return new Date(t).toISOString().slice(11, 19);
}

/** Recent deploys in the push-to-live chart. */
export const MAX_DEPLOYS = 20;

/** CPU as the cluster counts it: "0.5 m", "250 m" (thousandths of a core), "1.50 cores". */
export function cpuText(millicores: number): string {
  if (!Number.isFinite(millicores)) return '—';
  // Below 10 m one decimal, so an idle app's axis (0 to 1 m) does not read "0 m, 1 m, 1 m".
  if (millicores < 10) return `${Number(millicores.toFixed(1))} m`;
  return millicores < 1000 ? `${Math.round(millicores)} m` : `${(millicores / 1000).toFixed(2)} cores`;
}

/** One series per process type from the samples: the sum over its pods of `pick`. */
export function seriesOf(samples: readonly AppMetrics[], pick: (p: { cpuMillicores: number; memoryBytes: number }) => number): Series[] {
  const types = [...new Set(samples.flatMap((s) => s.processes.map((p) => p.type)))].sort();
  return types.map((type) => ({
    name: type,
    points: samples.flatMap((s) => {
      const proc = s.processes.find((p) => p.type === type);
      return proc ? [{ t: Date.parse(s.at), v: proc.pods.reduce((n, pod) => n + pick(pod), 0) }] : [];
    }),
  }));
}

/** The push jobs that ended, oldest first, as bars of their push-to-live time (queued → finished). */
export function deployBars(jobs: readonly Job[], max = MAX_DEPLOYS): Bar[] {
  return jobs
    .filter((j) => j.kind === 'push' && j.finishedAt && jobDone(j.status))
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))
    .slice(-max)
    .map((j) => ({
      label: j.release !== null ? `v${j.release}` : j.id.slice(0, 8),
      value: Math.max(0, Date.parse(j.finishedAt!) - Date.parse(j.createdAt)),
      bad: j.status !== 'succeeded',
      note: `${j.status}, pushed ${when(j.createdAt)} by ${j.by}`,
    }));
}
