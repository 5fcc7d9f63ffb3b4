// The admin page's Audit log section: the entries of GET /audit (= `audit --json`), newest first,
// filtered by app, key, action and age as `audit` filters them. Reading the log is itself
// recorded, so entries load when asked ("Show entries"), not on every visit to the page.
import { useState } from 'preact/hooks';
import { api, type AuditEntry } from '../api.ts';
import { valueOf } from '../components/action.tsx';
import { age, when } from '../format.ts';
import { Badge, ErrorLine } from '../ui.tsx';

/** How many entries one look shows (the API's limit; `audit:export` gives the whole chain). */
const SHOWN = 100;

/** The filters, as the API names them. */
interface Filters { app: string; actor: string; action: string; since: string }

/** The query string of the filters that are set. */
function query(f: Filters): string {
  const q = new URLSearchParams({ limit: String(SHOWN) });
  for (const [k, v] of Object.entries(f)) if (v.trim()) q.set(k, v.trim());
  return q.toString();
}

/** Who: the key, and how it proved who it is (a token, a session, its key). */
function who(e: AuditEntry): string {
  return e.credential && e.credential !== 'key' ? `${e.actor} (${e.credential})` : e.actor;
}

/** The section: filters, then the entries found. */
export function AuditSection() {
  const [filters, setFilters] = useState<Filters>({ app: '', actor: '', action: '', since: '' });
  const [entries, setEntries] = useState<AuditEntry[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const field = (key: keyof Filters, label: string, placeholder: string) => (
    <>
      <label for={`audit-${key}`}>{label}</label>
      <input id={`audit-${key}`} name={key} autocomplete="off" spellcheck={false} placeholder={placeholder} value={filters[key]}
        onInput={(e) => setFilters({ ...filters, [key]: valueOf(e) })} />
    </>
  );
  const show = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      setEntries(await api<AuditEntry[]>('GET', `/audit?${query(filters)}`));
      setError(undefined);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="audit">
      <h2 id="audit">Audit log</h2>
      <p class="hint">Who did what, newest first (at most {SHOWN}; <code>audit:export</code> over SSH gives the whole chain with its hashes). Looking is recorded too.</p>
      <form class="inline" onSubmit={show}>
        {field('app', 'Of app', 'any')}
        {field('actor', 'By key', 'any')}
        {field('action', 'Action', 'config:set')}
        {field('since', 'Since', '7d or 2026-12-01')}
        <button type="submit" disabled={busy}>Show entries</button>
      </form>
      <ErrorLine message={error} />
      {entries && entries.length === 0 && <p>No entry matches.</p>}
      {entries && entries.length > 0 && (
        <div class="scroll">
          <table class="audit">
            <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">From</th><th scope="col">Action</th><th scope="col">App</th><th scope="col">Outcome</th><th scope="col">Job</th></tr></thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.seq} data-seq={e.seq} data-action={e.action}>
                  <td title={when(e.at)}>{age(e.at)}</td>
                  <th scope="row">{who(e)}</th>
                  <td>{e.interface}{e.source ? ` ${e.source}` : ''}</td>
                  <td>{e.action}{e.object ? ` ${e.object}` : ''}</td>
                  <td>{e.app ? <a href={`/apps/${encodeURIComponent(e.app)}`}>{e.app}</a> : '—'}</td>
                  <td><Badge value={e.outcome === 'ok' ? 'succeeded' : 'failed'}>{e.outcome}</Badge></td>
                  <td>{e.job ? <a href={`/jobs/${encodeURIComponent(e.job)}`}>{e.job}</a> : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
