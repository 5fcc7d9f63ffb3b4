// /apps/APP/config: the config vars, values hidden until revealed; set and unset as with
// config:set / config:unset, the API's validation sentence shown as it is.
import { useState } from 'preact/hooks';
import { api, isAccepted, messageOf } from '../api.ts';
import { JobView } from '../job.tsx';
import { Layout } from '../layout.tsx';
import { useChanges } from '../live.ts';
import { ErrorLine, useData, useDebounced } from '../ui.tsx';

/** The config page. */
export function ConfigPage({ app }: { app: string }) {
  const path = `/apps/${encodeURIComponent(app)}/config`;
  const config = useData(() => api<Record<string, string>>('GET', path), [app]);
  const refetch = useDebounced(config.reload, 300);
  useChanges((c) => { if (!c || c.app === app) refetch(); });
  const [shown, setShown] = useState<Set<string>>(new Set());
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [job, setJob] = useState<string>();
  const [busy, setBusy] = useState(false);

  const change = (body: { set?: Record<string, string>; unset?: string[] }, done: string) => {
    setBusy(true);
    setError(undefined);
    setNotice(undefined);
    api<unknown>('PATCH', path, body).then(
      (r) => {
        if (isAccepted(r)) setJob(r.job.id);
        setNotice(done);
        config.reload();
        if (body.set) { setKey(''); setValue(''); }
      },
      (err) => setError(messageOf(err)),
    ).finally(() => setBusy(false));
  };
  const submit = (e: Event) => {
    e.preventDefault();
    change({ set: { [key.trim()]: value } }, `Set ${key.trim()}.`);
  };
  const toggle = (k: string) => setShown((s) => { const n = new Set(s); if (n.has(k)) n.delete(k); else n.add(k); return n; });
  const keys = config.data ? Object.keys(config.data).sort() : [];
  return (
    <Layout title={`${app}: config`} app={app} tab="config">
      <ErrorLine message={config.error} />
      {config.data && keys.length === 0 && <p>No config vars.</p>}
      {keys.length > 0 && (
        <table class="config">
          <thead><tr><th scope="col">Key</th><th scope="col">Value</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k} data-key={k}>
                <th scope="row"><code>{k}</code></th>
                <td class="value">{shown.has(k) ? <code>{config.data![k]}</code> : <span aria-label="hidden value">••••••</span>}</td>
                <td>
                  <button type="button" class="secondary" onClick={() => toggle(k)} aria-pressed={shown.has(k)} aria-label={`${shown.has(k) ? 'Hide' : 'Reveal'} ${k}`}>{shown.has(k) ? 'Hide' : 'Reveal'}</button>{' '}
                  <button type="button" class="secondary" disabled={busy} onClick={() => change({ unset: [k] }, `Unset ${k}.`)} aria-label={`Unset ${k}`}>Unset</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Set a config var</h2>
      <form class="stack" onSubmit={submit}>
        <label for="config-key">Key</label>
        <input id="config-key" name="key" required autocomplete="off" spellcheck={false} value={key} onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)} />
        <label for="config-value">Value</label>
        <input id="config-value" name="value" autocomplete="off" spellcheck={false} value={value} onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)} />
        <button type="submit" disabled={busy}>Set</button>
      </form>
      <ErrorLine message={error} />
      {notice && <p role="status" class="notice">{notice}</p>}
      {job && <JobView key={job} id={job} compact onEnd={config.reload} />}
    </Layout>
  );
}
