// /apps/APP/metrics: CPU and memory per process type as small live charts (GET …/metrics once,
// then its ?follow=1 stream of `metrics` events, one every SLIPWAY_METRICS_INTERVAL_S seconds,
// from the cluster's metrics API; a server without one answers 503 with the sentence shown), and
// the push-to-live times of the app's recent deploys (its push jobs, queued to finished).
import { useEffect, useState } from 'preact/hooks';
import { api, openStream, type AppMetrics, type Job } from '../api.ts';
import { BarChart, LineChart } from '../components/chart.tsx';
import { cpuText, deployBars, MAX_DEPLOYS, seriesOf } from '../components/chart-data.ts';
import { bytes, duration, when } from '../format.ts';
import { Layout } from '../layout.tsx';
import { useChanges } from '../live.ts';
import { ErrorLine, useData, useDebounced } from '../ui.tsx';

/** Samples kept for the charts: 40 at the default 15 s interval is the last 10 minutes. */
const MAX_SAMPLES = 40;

/** The metrics page. */
export function AppMetricsPage({ app }: { app: string }) {
  const base = `/apps/${encodeURIComponent(app)}`;
  const [samples, setSamples] = useState<AppMetrics[]>([]);
  const [error, setError] = useState<string>();
  const [live, setLive] = useState(false);
  const jobs = useData(() => api<Job[]>('GET', `${base}/jobs`), [app]);
  const refetch = useDebounced(jobs.reload, 500);
  useChanges((c) => { if (!c || (c.app === app && c.event === 'job')) refetch(); });

  useEffect(() => {
    let stream: { close(): void } | undefined;
    let gone = false;
    const add = (m: AppMetrics) => setSamples((cur) => (cur.some((s) => s.at === m.at) ? cur : [...cur, m].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)).slice(-MAX_SAMPLES)));
    // One plain request first: it shows the numbers at once, and a refusal (503 without a metrics
    // API) arrives with its sentence, which a refused event stream would not carry.
    api<AppMetrics>('GET', `${base}/metrics`).then((m) => {
      if (gone) return;
      add(m);
      stream = openStream(`${base}/metrics?follow=1`, {
        metrics: (data) => {
          try { add(JSON.parse(data) as AppMetrics); } catch { setError('The server sent metrics this page cannot read; reload the page.'); }
        },
      }, {
        onOpen: () => { setLive(true); setError(undefined); },
        onFail: (message) => { setLive(false); setError(message); },
        reconnect: () => { setLive(false); return `${base}/metrics?follow=1`; },
      });
    }, (err: Error) => setError(err.message));
    return () => { gone = true; stream?.close(); };
  }, [app]);

  const latest = samples.at(-1);
  const bars = deployBars(jobs.data ?? []);
  return (
    <Layout title={`${app}: metrics`} app={app} tab="metrics">
      <section aria-labelledby="usage">
        <h2 id="usage">CPU and memory</h2>
        <p class="hint">
          Sums over each process type's instances, as the cluster's metrics API reports them.{' '}
          <span role="status" class={live ? 'live on' : 'live'}>{live ? 'Live' : error ? 'Not live' : 'Connecting…'}</span>
        </p>
        <ErrorLine message={error} />
        {samples.length > 0 && (
          <>
            <LineChart title="CPU per process type" series={seriesOf(samples, (p) => p.cpuMillicores)} format={cpuText} />
            <LineChart title="Memory per process type" series={seriesOf(samples, (p) => p.memoryBytes)} format={bytes} unit={2 ** 20} />
          </>
        )}
        {latest && (
          <table class="pods">
            <caption>Instances at {when(latest.at)}</caption>
            <thead><tr><th scope="col">Instance</th><th scope="col">Process</th><th scope="col">CPU</th><th scope="col">Memory</th></tr></thead>
            <tbody>
              {latest.processes.flatMap((p) => p.pods.map((pod) => (
                <tr key={pod.name}>
                  <th scope="row">{pod.name}</th>
                  <td>{p.type}</td>
                  <td class="num">{cpuText(pod.cpuMillicores)}</td>
                  <td class="num">{bytes(pod.memoryBytes)}</td>
                </tr>
              )))}
              {latest.processes.every((p) => p.pods.length === 0) && <tr><td colSpan={4}>No running instances.</td></tr>}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="deploys">
        <h2 id="deploys">Push to live</h2>
        <p class="hint">How long each of the last {MAX_DEPLOYS} pushes took from arriving to live (or failing), oldest first.</p>
        <ErrorLine message={jobs.error} />
        {jobs.data && <BarChart title="Push-to-live time of recent deploys" bars={bars} format={duration} category="Deploy" label="Push to live" empty="No finished pushes yet." />}
      </section>
    </Layout>
  );
}
