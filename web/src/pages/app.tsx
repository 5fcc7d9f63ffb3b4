// /apps/APP: URLs, processes (scale, restart, stop/start), databases, recent jobs, links to the sub-pages.
import { useState } from 'preact/hooks';
import { api, isAccepted, messageOf, type AppInfo, type DomainList, type Job, type ProcessEntry } from '../api.ts';
import { age, when } from '../format.ts';
import { JobView } from '../job.tsx';
import { Layout } from '../layout.tsx';
import { useChanges } from '../live.ts';
import { Link } from '../router.tsx';
import { appPath } from '../routes.ts';
import { Badge, ErrorLine, useData, useDebounced } from '../ui.tsx';
import { Databases } from './app-databases.tsx';


/** The app's overview. */
export function AppPage({ app }: { app: string }) {
  const base = `/apps/${encodeURIComponent(app)}`;
  const info = useData(() => api<AppInfo>('GET', base), [app]);
  const procs = useData(() => api<ProcessEntry[]>('GET', `${base}/processes`), [app]);
  const jobs = useData(() => api<Job[]>('GET', `${base}/jobs`), [app]);
  const domains = useData(() => api<DomainList>('GET', `${base}/domains`), [app]);
  const [error, setError] = useState<string>();
  const [job, setJob] = useState<string>();
  const [busy, setBusy] = useState(false);
  const refresh = () => { info.reload(); procs.reload(); jobs.reload(); domains.reload(); };
  const refetch = useDebounced(refresh, 300);
  useChanges((c) => { if (!c || c.app === app) refetch(); });

  /** Runs a change; one that rolls out shows its job below, live. */
  const act = (p: Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    p.then((r) => { if (isAccepted(r)) setJob(r.job.id); refresh(); }, (err) => setError(messageOf(err))).finally(() => setBusy(false));
  };

  const a = info.data;
  // An earlier release's web instances kept warm for an instant rollback: listed apart, not scaled.
  const serving = procs.data?.filter((p) => !p.warm) ?? [];
  const warm = procs.data?.filter((p) => p.warm) ?? [];
  const urls = domains.data ? [domains.data.default, ...domains.data.custom].filter(Boolean) : [];
  return (
    <Layout title={app} app={app}>
      <ErrorLine message={info.error ?? error} />
      {a && (
        <dl class="facts">
          <dt>URL</dt><dd><a href={a.url} rel="noreferrer">{a.url}</a></dd>
          {urls.length > 0 && <><dt>Domains</dt><dd>{urls.join(', ')}</dd></>}
          <dt>Release</dt><dd>{a.release ?? 'not deployed yet'}</dd>
          <dt>Git (SSH)</dt><dd><code>{a.gitSsh}</code></dd>
          <dt>Git (HTTP)</dt><dd><code>{a.gitHttp}</code></dd>
          <dt>Branch</dt><dd>{a.deployBranch}</dd>
          {a.lockedBy && <><dt>Locked by</dt><dd>{a.lockedBy}</dd></>}
        </dl>
      )}

      <h2>Processes</h2>
      <ErrorLine message={procs.error} />
      {procs.data && procs.data.length === 0 && <p>No processes yet: push code to deploy the app.</p>}
      {procs.data && procs.data.length > 0 && (
        <table class="procs">
          <thead><tr><th scope="col">Type</th><th scope="col">Ready</th><th scope="col">Scale</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {serving.map((p) => <ProcessRow key={p.type} app={app} p={p} busy={busy} act={act} />)}
          </tbody>
        </table>
      )}
      {serving.filter((p) => p.autoscale).map((p) => {
        const x = p.autoscale!;
        const metric = (name: string, now: number | undefined, aim: number | undefined) => (aim === undefined ? [] : [`${name} ${now === undefined ? '?' : `${now} %`} (aim ${aim} %)`]);
        return (
          <p key={`autoscale-${p.type}`} class="autoscale">
            Autoscaled: {p.type} from {x.min} to {x.max} instances, {x.current} running, {x.desired} wanted; {[...metric('CPU', x.cpuNow, x.cpu), ...metric('memory', x.memoryNow, x.memory)].join(', ')}{x.why ? `; ${x.why}` : ''} (ps:scale is refused; ps:autoscale changes it).
          </p>
        );
      })}
      {warm.map((p) => (
        <p key={`warm-${p.warm!.release}`} class="warm">
          Warm: {p.instances.length} {p.type} instance{p.instances.length === 1 ? '' : 's'} of v{p.warm!.release} until {when(p.warm!.until)}; a rollback to v{p.warm!.release} only moves the traffic.
        </p>
      ))}
      {serving.filter((p) => p.asleep).map((p) => (
        <p key={`asleep-${p.type}`} class="asleep">
          Asleep since {when(p.asleep!.since)}: no {p.type} instance runs until the next request, which wakes it (held meanwhile).{' '}
          <button type="button" class="secondary" disabled={busy} onClick={() => act(api('POST', `${base}/wake`, {}))}>Wake now</button>
        </p>
      ))}
      <p class="actions">
        <button type="button" disabled={busy} onClick={() => act(api('POST', `${base}/restart`, {}))}>Restart all</button>{' '}
        <button type="button" class="secondary" disabled={busy} onClick={() => act(api('POST', `${base}/stop`, {}))}>Stop all</button>{' '}
        <button type="button" class="secondary" disabled={busy} onClick={() => act(api('POST', `${base}/start`, {}))}>Start all</button>
      </p>
      {job && <JobView key={job} id={job} compact onEnd={refresh} />}

      <Databases app={app} />

      <h2>Recent jobs</h2>
      <ErrorLine message={jobs.error} />
      {jobs.data && jobs.data.length === 0 && <p>No jobs yet.</p>}
      {jobs.data && jobs.data.length > 0 && (
        <table class="jobs">
          <thead><tr><th scope="col">Job</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">By</th><th scope="col">Started</th></tr></thead>
          <tbody>
            {jobs.data.slice(0, 10).map((j) => (
              <tr key={j.id}>
                <td><Link href={`/jobs/${encodeURIComponent(j.id)}`}>{j.id}</Link></td>
                <td>{j.kind}</td>
                <td><Badge value={j.status} /></td>
                <td>{j.by}</td>
                <td title={when(j.createdAt)}>{age(j.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p><Link href={appPath(app, 'releases')}>Releases</Link> · <Link href={appPath(app, 'logs')}>Logs</Link> · <Link href={appPath(app, 'config')}>Config</Link></p>
    </Layout>
  );
}

/** One process type: ready/desired, a scale form, restart and stop/start of that type. */
function ProcessRow({ app, p, busy, act }: { app: string; p: ProcessEntry; busy: boolean; act: (x: Promise<unknown>) => void }) {
  const base = `/apps/${encodeURIComponent(app)}`;
  const [count, setCount] = useState(String(p.desired));
  const id = `scale-${p.type}`;
  const scale = (e: Event) => {
    e.preventDefault();
    act(api('PATCH', `${base}/formation`, { [p.type]: Number(count) }));
  };
  return (
    <tr data-process={p.type}>
      <th scope="row">{p.type}</th>
      <td class="num" data-ready={`${p.ready}/${p.desired}`}>{p.stopped ? <Badge value="stopped" /> : `${p.ready}/${p.desired}`}</td>
      <td>
        <form class="inline" onSubmit={scale}>
          <label for={id} class="sr-only">{p.type} processes</label>
          <input id={id} type="number" min="0" max="100" required value={count} onInput={(e) => setCount((e.currentTarget as HTMLInputElement).value)} />
          <button type="submit" disabled={busy}>Scale</button>
        </form>
      </td>
      <td>
        <button type="button" class="secondary" disabled={busy} onClick={() => act(api('POST', `${base}/restart`, { process: p.type }))} aria-label={`Restart ${p.type}`}>Restart</button>{' '}
        {p.stopped
          ? <button type="button" class="secondary" disabled={busy} onClick={() => act(api('POST', `${base}/start`, { process: p.type }))} aria-label={`Start ${p.type}`}>Start</button>
          : <button type="button" class="secondary" disabled={busy} onClick={() => act(api('POST', `${base}/stop`, { process: p.type }))} aria-label={`Stop ${p.type}`}>Stop</button>}
      </td>
    </tr>
  );
}
