// /admin (admins only; others see one sentence, and the API refuses them anyway): SSH keys
// (keys:list/add/remove), access tokens with their scopes (tokens:list/create/revoke; a new
// token's secret is shown once), which keys may use which app (access:grant/revoke), the
// `doctor` report, the background rounds (each run now on demand) and the disk and GC report (gc
// --dry-run), and the audit log (admin-audit.tsx). All through the public API.
import { Fragment, type ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type AppSummary, type CollectionPreview, type CreatedToken, type DoctorCheck, type KeySummary, type Round, type TokenSummary } from '../api.ts';
import { useAction, valueOf } from '../components/action.tsx';
import { age, bytes, duration, when } from '../format.ts';
import { Layout } from '../layout.tsx';
import { useSession } from '../session.tsx';
import { Badge, ErrorLine, useData } from '../ui.tsx';
import { AuditSection } from './admin-audit.tsx';

/** The admin page. */
export function AdminPage() {
  const session = useSession();
  if (!session.admin) {
    return <Layout title="Admin"><p>Only admins may see this page; ask an admin to run <code>keys:add NAME --admin</code> for your key if you need it.</p></Layout>;
  }
  return <AdminSections self={session.key} />;
}

function AdminSections({ self }: { self: string }) {
  const keys = useData(() => api<KeySummary[]>('GET', '/keys'), []);
  return (
    <Layout title="Admin">
      <nav aria-label="Admin sections" class="actions">
        <a href="#keys">Keys</a><a href="#tokens">Tokens</a><a href="#access">Access</a><a href="#doctor">Doctor</a><a href="#rounds">Background rounds</a><a href="#gc">Disk and GC</a><a href="#audit">Audit log</a>
      </nav>
      <KeySection keys={keys.data} error={keys.error} after={keys.reload} self={self} />
      <TokenSection keys={keys.data?.map((k) => k.name) ?? [self]} self={self} />
      <AccessSection keys={keys.data?.filter((k) => !k.admin).map((k) => k.name) ?? []} />
      <DoctorSection />
      <RoundsSection />
      <GcSection />
      <AuditSection />
    </Layout>
  );
}

/** A yes/no question before a change that cannot be undone from here. */
function Confirm({ question, yes, onYes, onNo, busy }: { question: string; yes: string; onYes: () => void; onNo: () => void; busy: boolean }) {
  // The button that asked is gone: keyboard focus moves to the safe answer, not to the page's top.
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => { cancel.current?.focus(); }, []);
  return (
    <span role="group" aria-label={question} class="confirm">
      {question}{' '}
      <button type="button" class="danger" disabled={busy} onClick={onYes}>{yes}</button>{' '}
      <button type="button" class="secondary" ref={cancel} onClick={onNo}>Cancel</button>
    </span>
  );
}

/** SSH keys: listed, added (with the admin flag), removed after a confirmation. */
function KeySection({ keys, error, after, self }: { keys: KeySummary[] | undefined; error: string | undefined; after: () => void; self: string }) {
  const action = useAction();
  const [name, setName] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [admin, setAdmin] = useState(false);
  const [removing, setRemoving] = useState<string>();
  const add = async (e: Event) => {
    e.preventDefault();
    if (await action.run(() => api('POST', '/keys', { name: name.trim(), publicKey: publicKey.trim(), admin }), `Added key ${name.trim()}.`, after)) {
      setName(''); setPublicKey(''); setAdmin(false);
    }
  };
  return (
    <section aria-labelledby="keys">
      <h2 id="keys">SSH keys</h2>
      <ErrorLine message={error} />
      {keys && (
        <div class="scroll">
          <table class="keys">
            <thead><tr><th scope="col">Name</th><th scope="col">Fingerprint</th><th scope="col">Type</th><th scope="col">Role</th><th scope="col">Added</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.name} data-key={k.name}>
                  <th scope="row">{k.name}{k.name === self ? <span class="hint"> (you)</span> : null}</th>
                  <td><code>{k.fingerprint}</code></td>
                  <td>{k.type}</td>
                  <td>{k.admin ? <Badge value="admin" /> : 'user'}</td>
                  <td title={when(k.createdAt)}>{age(k.createdAt)}</td>
                  <td>
                    {removing === k.name
                      ? <Confirm question={`Remove key ${k.name}? Its sessions and tokens stop at once.`} yes="Remove" busy={action.busy}
                        onYes={() => void action.run(() => api('DELETE', `/keys/${encodeURIComponent(k.name)}`), `Removed key ${k.name}.`, after).then(() => setRemoving(undefined))}
                        onNo={() => setRemoving(undefined)} />
                      : <button type="button" class="secondary" disabled={action.busy} aria-label={`Remove key ${k.name}`} onClick={() => setRemoving(k.name)}>Remove</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Add a key</h3>
      <form class="stack" onSubmit={add}>
        <label for="key-name">Name</label>
        <input id="key-name" required autocomplete="off" spellcheck={false} value={name} onInput={(e) => setName(valueOf(e))} />
        <label for="key-public">Public key (one line, as in authorized_keys)</label>
        <textarea id="key-public" required rows={3} spellcheck={false} value={publicKey} onInput={(e) => setPublicKey(valueOf(e))} />
        <label><input type="checkbox" checked={admin} onChange={(e) => setAdmin((e.currentTarget as HTMLInputElement).checked)} /> Admin (may use every app and manage the server)</label>
        <button type="submit" disabled={action.busy}>Add key</button>
      </form>
      {action.view}
    </section>
  );
}

/** One key's access tokens: listed, created (the secret shown once), revoked after a confirmation. */
function TokenSection({ keys, self }: { keys: string[]; self: string }) {
  const [owner, setOwner] = useState(self);
  const q = owner === self ? '' : `?key=${encodeURIComponent(owner)}`;
  const tokens = useData(() => api<TokenSummary[]>('GET', `/tokens${q}`), [owner]);
  const action = useAction();
  const [name, setName] = useState('');
  const [scope, setScope] = useState<string>('deploy');
  const [created, setCreated] = useState<CreatedToken>();
  const [revoking, setRevoking] = useState<string>();
  const create = async (e: Event) => {
    e.preventDefault();
    setCreated(undefined);
    const body = { name: name.trim(), scope, ...(owner === self ? {} : { key: owner }) };
    await action.run(async () => {
      const t = await api<CreatedToken>('POST', '/tokens', body);
      setCreated(t);
      setName('');
      return t;
    }, `Created token ${body.name}.`, tokens.reload);
  };
  return (
    <section aria-labelledby="tokens">
      <h2 id="tokens">Access tokens</h2>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label for="token-owner">Tokens of key</label>
        <select id="token-owner" value={owner} onChange={(e) => { setOwner(valueOf(e)); setCreated(undefined); }}>
          {[...new Set([self, ...keys])].map((k) => <option key={k} value={k}>{k}</option>)}
        </select>
      </form>
      <ErrorLine message={tokens.error} />
      {tokens.data && tokens.data.length === 0 && <p>{owner} has no access tokens.</p>}
      {tokens.data && tokens.data.length > 0 && (
        <table class="tokens">
          <thead><tr><th scope="col">Name</th><th scope="col">Scope</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {tokens.data.map((t) => (
              <tr key={t.name} data-token={t.name}>
                <th scope="row">{t.name}</th>
                <td><Badge value={t.scope} /></td>
                <td title={when(t.createdAt)}>{age(t.createdAt)}</td>
                <td title={when(t.lastUsedAt)}>{t.lastUsedAt ? age(t.lastUsedAt) : 'never'}</td>
                <td>
                  {revoking === t.name
                    ? <Confirm question={`Revoke token ${t.name}? Scripts using it stop working.`} yes="Revoke" busy={action.busy}
                      onYes={() => void action.run(() => api('DELETE', `/tokens/${encodeURIComponent(t.name)}${q}`), `Revoked token ${t.name}.`, tokens.reload).then(() => setRevoking(undefined))}
                      onNo={() => setRevoking(undefined)} />
                    : <button type="button" class="secondary" disabled={action.busy} aria-label={`Revoke token ${t.name}`} onClick={() => setRevoking(t.name)}>Revoke</button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Create a token for {owner}</h3>
      <form class="stack" onSubmit={create}>
        <label for="token-name">Name</label>
        <input id="token-name" required autocomplete="off" spellcheck={false} value={name} onInput={(e) => setName(valueOf(e))} />
        <label for="token-scope">Scope</label>
        <select id="token-scope" value={scope} onChange={(e) => setScope(valueOf(e))}>
          <option value="read">read (look only)</option>
          <option value="deploy">deploy (push and change apps)</option>
          <option value="admin">admin (everything the key may do)</option>
        </select>
        <button type="submit" disabled={action.busy}>Create token</button>
      </form>
      {action.view}
      {created && (
        <div class="secret" role="region" aria-label="New token">
          <p><strong>Copy the token {created.name} (scope {created.scope}, key {created.key}) now: it is not shown again.</strong></p>
          <label for="token-secret">Token</label>{' '}
          <input id="token-secret" readOnly size={48} value={created.token} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />{' '}
          <button type="button" class="secondary" onClick={() => setCreated(undefined)}>Done</button>
        </div>
      )}
    </section>
  );
}

/** Which keys may use an app: granted and revoked per app (`keys` are the non-admin keys; admins use every app). */
function AccessSection({ keys }: { keys: string[] }) {
  const apps = useData(() => api<AppSummary[]>('GET', '/apps'), []);
  const [app, setApp] = useState('');
  const chosen = app || apps.data?.[0]?.name || '';
  const info = useData(() => (chosen ? api<{ app: string; keys: string[] }>('GET', `/apps/${encodeURIComponent(chosen)}/access`) : Promise.resolve(undefined)), [chosen]);
  const action = useAction();
  const [key, setKey] = useState('');
  const grantee = key || keys.find((k) => !info.data?.keys.includes(k)) || '';
  const grant = (e: Event) => {
    e.preventDefault();
    void action.run(() => api('POST', `/apps/${encodeURIComponent(chosen)}/access`, { key: grantee }), `${grantee} may now use ${chosen}.`, info.reload);
  };
  return (
    <section aria-labelledby="access">
      <h2 id="access">App access</h2>
      <ErrorLine message={apps.error ?? info.error} />
      {apps.data && apps.data.length === 0 && <p>No apps yet.</p>}
      {apps.data && apps.data.length > 0 && (
        <>
          <form class="inline" onSubmit={(e) => e.preventDefault()}>
            <label for="access-app">App</label>
            <select id="access-app" value={chosen} onChange={(e) => setApp(valueOf(e))}>
              {apps.data.map((a) => <option key={a.name} value={a.name}>{a.name}</option>)}
            </select>
          </form>
          {info.data && info.data.keys.length === 0 && <p>Only admins may use {chosen}.</p>}
          {info.data && info.data.keys.length > 0 && (
            <table class="access">
              <thead><tr><th scope="col">Key</th><th scope="col">Actions</th></tr></thead>
              <tbody>
                {info.data.keys.map((k) => (
                  <tr key={k} data-grant={k}>
                    <th scope="row">{k}</th>
                    <td><button type="button" class="secondary" disabled={action.busy} aria-label={`Revoke ${k}'s access to ${chosen}`}
                      onClick={() => void action.run(() => api('DELETE', `/apps/${encodeURIComponent(chosen)}/access/${encodeURIComponent(k)}`), `${k} may no longer use ${chosen}.`, info.reload)}>Revoke</button></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {keys.length === 0 && <p>Every key is an admin's, and admins use every app: add a key above to grant it an app.</p>}
          {keys.length > 0 && <form class="inline" onSubmit={grant}>
            <label for="access-key">Let key</label>
            <select id="access-key" value={grantee} onChange={(e) => setKey(valueOf(e))}>
              {keys.map((k) => <option key={k} value={k}>{k}</option>)}
            </select>
            <button type="submit" disabled={action.busy || !grantee}>Grant access to {chosen}</button>
          </form>}
          {action.view}
        </>
      )}
    </section>
  );
}

/** A report that is run when asked: the first time on opening the page, again with its button. */
function Report<T>({ id, title, path, children }: { id: string; title: string; path: string; children: (data: T) => ComponentChildren }) {
  const [round, setRound] = useState(0);
  const report = useData(() => api<T>('GET', path), [path, round]);
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <p><button type="button" class="secondary" onClick={() => setRound((r) => r + 1)}>Run again</button></p>
      <ErrorLine message={report.error} />
      {report.data === undefined && !report.error && <p role="status">Running…</p>}
      {report.data !== undefined && children(report.data)}
    </section>
  );
}

/** The doctor's checks: each with its outcome, what it found and what to do. */
function DoctorSection() {
  return (
    <Report<unknown> id="doctor" title="Doctor" path="/doctor">
      {(data) => {
        const checks = (Array.isArray(data) ? data : (data as { checks?: unknown[] }).checks ?? []) as DoctorCheck[];
        const failed = checks.filter((c) => !c.ok).length;
        return (
          <>
            <p role="status">{failed === 0 ? `All ${checks.length} checks passed.` : `${failed} of ${checks.length} checks failed.`}</p>
            <table class="doctor">
              <thead><tr><th scope="col">Check</th><th scope="col">Result</th><th scope="col">Detail</th><th scope="col">What to do</th></tr></thead>
              <tbody>
                {checks.map((c) => (
                  <tr key={c.name} data-check={c.name}>
                    <th scope="row">{c.name}</th>
                    <td><Badge value={c.ok ? 'succeeded' : 'failed'}>{c.ok ? 'ok' : 'failed'}</Badge></td>
                    <td>{c.detail}</td>
                    <td>{c.fix ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        );
      }}
    </Report>
  );
}

/** The background rounds (rounds --json): how often, how the last went; each run now with its button. */
function RoundsSection() {
  const rounds = useData(() => api<Round[]>('GET', '/rounds'), []);
  const action = useAction();
  const runNow = (name: string) => void action.run(async () => {
    const r = await api<Round>('POST', `/rounds/${encodeURIComponent(name)}/run`);
    if (r.lastError) throw new Error(`The ${name} round failed: ${r.lastError}`);
    return r;
  }, `Ran the ${name} round.`, rounds.reload);
  return (
    <section aria-labelledby="rounds">
      <h2 id="rounds">Background rounds</h2>
      <ErrorLine message={rounds.error} />
      {rounds.data && (
        <div class="scroll">
          <table class="rounds">
            <thead><tr><th scope="col">Round</th><th scope="col">What it does</th><th scope="col">Every</th><th scope="col">Runs</th><th scope="col">Last run</th><th scope="col">Last error</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {rounds.data.map((r) => (
                <tr key={r.name} data-round={r.name}>
                  <th scope="row">{r.name}</th>
                  <td>{r.what}</td>
                  <td>{r.intervalMs > 0 ? duration(r.intervalMs) : 'on demand'}</td>
                  <td data-runs={r.runs}>{r.runs}{r.running ? ' (running)' : ''}</td>
                  <td title={when(r.lastFinished)}>{age(r.lastFinished)}</td>
                  <td>{r.lastError ?? '—'}</td>
                  <td><button type="button" class="secondary" disabled={action.busy} aria-label={`Run now: the ${r.name} round`} onClick={() => runNow(r.name)}>Run now</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {action.view}
    </section>
  );
}

/** A value of the GC report as text: byte counts (keys naming bytes) and durations (ms) readable. */
function show(key: string, v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number' && /bytes/i.test(key)) return bytes(v);
  if (typeof v === 'number' && /(^ms$|Ms$)/.test(key)) return duration(v);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ');
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}: ${show(k, x)}`).join('; ');
  return String(v);
}

/** What the report's known fields mean; others are shown by their key, in words. */
const GC_LABELS: Record<string, string> = {
  keepReleases: 'Releases kept per app', cachesRemoved: 'Build caches of removed apps to delete', storage: 'Registry storage collection',
  apps: 'Images per app', kept: 'Images kept', removed: 'Images to delete', removedBytes: 'Space they take', collected: 'Releases losing their image', configPruned: 'Releases losing their config copy', skipped: 'Skipped',
};

/** A label for a report key: the known ones above, else its camelCase in words ("imageBytesFreed" → "image bytes freed"). */
function words(key: string): string {
  return GC_LABELS[key] ?? key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

/**
 * The disk and GC report (what `gc --dry-run` would collect), drawn from its JSON without
 * assuming more than "an object": lists of objects become tables, the rest a list of facts.
 */
function GcSection() {
  return (
    <Report<CollectionPreview> id="gc" title="Disk and GC" path="/gc">
      {(data) => {
        const entries = Object.entries(data ?? {});
        const tables = entries.filter(([, v]) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x))) as [string, Record<string, unknown>[]][];
        const facts = entries.filter(([k]) => !tables.some(([t]) => t === k));
        return (
          <>
            <p class="hint">A report only: nothing is deleted here (the server collects on its own schedule, or with <code>gc</code> over SSH).</p>
            {facts.length > 0 && <dl class="facts">{facts.map(([k, v]) => <Fragment key={k}><dt>{words(k)}</dt><dd>{show(k, v)}</dd></Fragment>)}</dl>}
            {tables.map(([k, rows]) => {
              const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
              return (
                <div class="scroll" key={k}>
                  <table class={`gc-${k}`}>
                    <caption>{words(k)}</caption>
                    <thead><tr>{cols.map((c) => <th key={c} scope="col">{words(c)}</th>)}</tr></thead>
                    <tbody>{rows.map((r, i) => <tr key={i}>{cols.map((c, j) => (j === 0 ? <th key={c} scope="row">{show(c, r[c])}</th> : <td key={c}>{show(c, r[c])}</td>))}</tr>)}</tbody>
                  </table>
                </div>
              );
            })}
          </>
        );
      }}
    </Report>
  );
}
