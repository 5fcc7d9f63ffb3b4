// /apps: every app the session may use, kept current by the event stream.
import { api, type AppSummary } from '../api.ts';
import { age, processCount } from '../format.ts';
import { Layout } from '../layout.tsx';
import { useChanges } from '../live.ts';
import { Link } from '../router.tsx';
import { appPath } from '../routes.ts';
import { Badge, ErrorLine, useData, useDebounced, useNow } from '../ui.tsx';

/** The apps table. */
export function AppsPage() {
  const { data, error, reload } = useData(() => api<AppSummary[]>('GET', '/apps'), []);
  const refetch = useDebounced(reload, 300);
  useChanges(refetch);
  const now = useNow();
  return (
    <Layout title="Apps">
      <ErrorLine message={error} />
      {data === undefined && !error && <p role="status">Loading apps…</p>}
      {data && data.length === 0 && <p>No apps yet. Create one with <code>ssh -p 2222 git@{location.hostname} apps:create NAME</code>.</p>}
      {data && data.length > 0 && (
        <div class="scroll">
          <table class="apps">
            <caption class="sr-only">Apps, their state and last deploy</caption>
            <thead>
              <tr><th scope="col">App</th><th scope="col">State</th><th scope="col">Release</th><th scope="col">Processes</th><th scope="col">URL</th><th scope="col">Last deploy</th></tr>
            </thead>
            <tbody>
              {data.map((a) => (
                <tr key={a.name} data-app={a.name}>
                  <th scope="row"><Link href={appPath(a.name)}>{a.name}</Link></th>
                  <td>{a.state ? <Badge value={a.state} /> : '—'}</td>
                  <td>{a.release ?? '—'}</td>
                  <td class="num" aria-label={a.processes ? `${a.processes.running} of ${a.processes.desired} running` : undefined}>{processCount(a.processes)}</td>
                  <td>{a.url ? <><a href={a.url} rel="noreferrer">{a.url.replace(/^https?:\/\//, '')}</a>{a.https ? <> <Badge value="https">HTTPS</Badge></> : null}</> : '—'}</td>
                  <td>{a.lastDeploy
                    ? <>{a.lastDeploy.jobId ? <Link href={`/jobs/${encodeURIComponent(a.lastDeploy.jobId)}`}><DeployBadge result={a.lastDeploy.result} /></Link> : <DeployBadge result={a.lastDeploy.result} />} <span title={a.lastDeploy.at}>{age(a.lastDeploy.at, now)}</span></>
                    : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Layout>
  );
}

/** A deploy's result; one still running is coloured as deploying, not as a running app. */
function DeployBadge({ result }: { result: string }) {
  return <Badge value={result === 'running' ? 'deploying' : result}>{result}</Badge>;
}
