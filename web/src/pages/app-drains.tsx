// The app settings page's Log drains section: each drain with how its delivery goes, as
// drains:info tells it (lines the endpoint took, lines given up on or dropped, the last success
// and the last error the collector logged), added and removed as drains:add and drains:remove do,
// through the public API. URLs are shown as the API shows them: a password is never sent back.
import { useState } from 'preact/hooks';
import { api, type DrainsInfo, type DrainStatus } from '../api.ts';
import { useAction, valueOf } from '../components/action.tsx';
import { age, when } from '../format.ts';
import { Badge, ErrorLine } from '../ui.tsx';

/** One word for a drain's delivery: failing (an error since its last success), delivering, or not yet. */
function state(d: DrainStatus): { tone: string; text: string } {
  const failing = d.lastError && (!d.lastSuccessAt || Date.parse(d.lastError.at) > Date.parse(d.lastSuccessAt));
  if (failing || d.failed > 0 || d.dropped > 0) return { tone: 'failed', text: 'failing' };
  if (d.lastSuccessAt || d.sent > 0) return { tone: 'succeeded', text: 'delivering' };
  return { tone: 'queued', text: 'nothing sent yet' };
}

/** The section: the drains with their delivery, a form to add one. */
export function DrainSection({ base, data, error, after }: { base: string; data: DrainsInfo | undefined; error: string | undefined; after: () => void }) {
  const action = useAction();
  const [url, setUrl] = useState('');
  const add = async (e: Event) => {
    e.preventDefault();
    const u = url.trim();
    if (await action.run(() => api('POST', `${base}/drains`, { url: u }), 'Added the drain: its lines start within a minute.', after)) setUrl('');
  };
  return (
    <section aria-labelledby="drains">
      <h2 id="drains">Log drains</h2>
      <p class="hint">Every line the app's processes print, sent on to a syslog, HTTPS or OTLP endpoint as they are printed.</p>
      <ErrorLine message={error} />
      {data && data.drains.length === 0 && <p>No drains: the app's lines stay in <code>logs</code>.</p>}
      {data && data.drains.length > 0 && (
        <div class="scroll">
          <table class="drains">
            <thead><tr><th scope="col">Drain</th><th scope="col">Delivery</th><th scope="col">Lines sent</th><th scope="col">Given up or dropped</th><th scope="col">Last success</th><th scope="col">Last error</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {data.drains.map((d) => {
                const s = state(d);
                return (
                  <tr key={d.token} data-drain={d.token}>
                    <th scope="row"><code>{d.url}</code>{d.headers.length > 0 && <> (headers {d.headers.join(', ')})</>}</th>
                    <td data-delivery={s.tone}><Badge value={s.tone}>{s.text}</Badge></td>
                    <td>{d.sent}</td>
                    <td>{d.failed + d.dropped}</td>
                    <td title={when(d.lastSuccessAt)}>{age(d.lastSuccessAt)}</td>
                    <td>{d.lastError ? <span title={when(d.lastError.at)}>{age(d.lastError.at)}: {d.lastError.message}</span> : '—'}</td>
                    <td><button type="button" class="secondary" disabled={action.busy} aria-label={`Remove drain ${d.url}`}
                      onClick={() => void action.run(() => api('DELETE', `${base}/drains?drain=${encodeURIComponent(d.token)}`), 'Removed the drain.', after)}>Remove</button></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {data && data.collector.unread.length > 0 && <p role="alert" class="error">The collector could not be read: {data.collector.unread.join('; ')}</p>}
      <form class="inline" onSubmit={add}>
        <label for="drain-url">Drain to add</label>
        <input id="drain-url" name="url" required autocomplete="off" spellcheck={false} placeholder="syslog+tls://logs.example.com:6514" value={url} onInput={(e) => setUrl(valueOf(e))} />
        <button type="submit" disabled={action.busy}>Add drain</button>
      </form>
      {action.view}
    </section>
  );
}
