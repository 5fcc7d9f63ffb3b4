// The app page's Databases section: each database (addons:create) with its kind, attachment, state,
// size (and how full), connections, last backup and last verified restore, and a full volume's sentence, as GET /apps/APP/addons gives them (no credentials:
// the API has none to give). Live like the rest of the page: it refetches on the app's events,
// which include a restore drill being recorded (change "data").
import { api, type AddonInfo } from '../api.ts';
import { age, databaseState, restoreSummary, when } from '../format.ts';
import { useChanges } from '../live.ts';
import { Badge, ErrorLine, useData, useDebounced, useNow } from '../ui.tsx';

/** The app's databases as a table; a line saying how to add one when it has none. */
export function Databases({ app }: { app: string }) {
  const list = useData(() => api<AddonInfo[]>('GET', `/apps/${encodeURIComponent(app)}/addons`), [app]);
  const refetch = useDebounced(list.reload, 300);
  useChanges((c) => { if (!c || c.app === app) refetch(); });
  const now = useNow();
  return (
    <section aria-labelledby="databases">
      <h2 id="databases">Databases</h2>
      <ErrorLine message={list.error} />
      {list.data && list.data.length === 0 && <p>No databases: <code>addons:create {app} postgres</code> adds one as DATABASE_URL.</p>}
      {list.data && list.data.length > 0 && (
        <div class="scroll">
          <table class="databases">
            <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Attached as</th><th scope="col">State</th><th scope="col">Size</th><th scope="col">Connections</th><th scope="col">Last backup</th><th scope="col">Last verified restore</th></tr></thead>
            <tbody>
              {list.data.map((d) => <DatabaseRow key={d.name} d={d} now={now} />)}
            </tbody>
          </table>
        </div>
      )}
      {list.data?.flatMap((d) => d.problems).map((p) => <p key={p} role="alert" class="error">{p}</p>)}
    </section>
  );
}

/** A volume's share used, as a whole percent. */
function pct(v: { usedBytes: number; sizeBytes: number }): string {
  return `${Math.floor((v.usedBytes / v.sizeBytes) * 100)} %`;
}

/** One database: a warning style for a state other than ready and for a failed or overdue drill. */
function DatabaseRow({ d, now }: { d: AddonInfo; now: number }) {
  const state = databaseState(d);
  const restore = restoreSummary(d.lastDrill, d.lastVerifiedRestore, now);
  const drillAt = d.lastDrill?.at ?? d.lastVerifiedRestore?.at;
  return (
    <tr data-database={d.name}>
      <th scope="row">{d.name}</th>
      <td>{d.kind} {d.version}</td>
      <td><code>{d.attachment}</code></td>
      <td data-state={state}>
        <Badge value={d.ready ? 'ready' : 'pending'}>{state}</Badge>
        {d.restarts > 0 && <span class="hint"> {d.restarts} restart{d.restarts === 1 ? '' : 's'}</span>}
      </td>
      <td class="num" title={d.stats?.data ? `data ${pct(d.stats.data)} used, backups ${d.stats.backup ? pct(d.stats.backup) : '?'} used` : undefined}>{d.size}</td>
      <td class="num" data-connections={d.stats?.connections ?? 'unknown'}>{d.stats && d.stats.connections !== null ? `${d.stats.connections} / ${d.stats.maxConnections ?? '?'}` : '–'}</td>
      <td data-backup={d.lastBackupAt ?? 'none'} title={when(d.lastBackupAt)}>{d.lastBackupAt ? age(d.lastBackupAt, now) : 'none yet'}</td>
      <td data-restore={restore.tone} class={`restore restore-${restore.tone}`} title={drillAt ? when(drillAt) : undefined}>{restore.text}</td>
    </tr>
  );
}
