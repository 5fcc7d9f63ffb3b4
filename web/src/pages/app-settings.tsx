// /apps/APP/settings: what the app's routing and running follow, each through the public API as
// the SSH commands do it: domains (domains:add/remove), certificates (certs, certs:auto:*), health
// checks (checks:set/unset), resource limits and reservations (resource:limit/reserve), and its
// volumes (storage:list; read-only here: storage:create/mount stay on the command line and API),
// and its log drains with their delivery (app-drains.tsx: drains:info, drains:add/remove).
import { useState } from 'preact/hooks';
import { api, type CertList, type CheckList, type DomainList, type DrainsInfo, type ProcessEntry, type VolumeInfo } from '../api.ts';
import { useAction, valueOf } from '../components/action.tsx';
import { bytes, when } from '../format.ts';
import { Layout } from '../layout.tsx';
import { useChanges } from '../live.ts';
import { Badge, ErrorLine, useData, useDebounced } from '../ui.tsx';
import { DrainSection } from './app-drains.tsx';

interface Quantities { memory?: string; cpu?: string }
interface ProcessResources { limits?: Quantities; requests?: Quantities }
interface Resources { defaults: ProcessResources; processes: Record<string, ProcessResources> }

const CHECK_KINDS = ['readiness', 'liveness', 'startup'] as const;

/** The app's settings page. */
export function AppSettingsPage({ app }: { app: string }) {
  const base = `/apps/${encodeURIComponent(app)}`;
  const domains = useData(() => api<DomainList>('GET', `${base}/domains`), [app]);
  const certs = useData(() => api<CertList>('GET', `${base}/certs`), [app]);
  const checks = useData(() => api<CheckList>('GET', `${base}/checks`), [app]);
  const resources = useData(() => api<Resources>('GET', `${base}/resources`), [app]);
  const storage = useData(() => api<VolumeInfo[]>('GET', `${base}/storage`), [app]);
  const procs = useData(() => api<ProcessEntry[]>('GET', `${base}/processes`), [app]);
  const drains = useData(() => api<DrainsInfo>('GET', `${base}/drains/info`), [app]);
  const refresh = () => { domains.reload(); certs.reload(); checks.reload(); resources.reload(); storage.reload(); procs.reload(); drains.reload(); };
  const refetch = useDebounced(refresh, 300);
  useChanges((c) => { if (!c || c.app === app) refetch(); });
  const types = [...new Set([...(procs.data ?? []).map((p) => p.type), ...Object.keys(resources.data?.processes ?? {})])];
  if (!types.includes('web')) types.unshift('web');

  return (
    <Layout title={`${app}: settings`} app={app} tab="settings">
      <DomainSection base={base} data={domains.data} error={domains.error} after={() => { domains.reload(); certs.reload(); }} />
      <CertSection base={base} data={certs.data} error={certs.error} after={certs.reload} />
      <CheckSection base={base} data={checks.data} error={checks.error} types={types} after={checks.reload} />
      <ResourceSection base={base} data={resources.data} error={resources.error} types={types} after={resources.reload} />
      <StorageSection data={storage.data} error={storage.error} />
      <DrainSection base={base} data={drains.data} error={drains.error} after={drains.reload} />
    </Layout>
  );
}

/** Custom domains: listed with the default one, added and removed. */
function DomainSection({ base, data, error, after }: { base: string; data: DomainList | undefined; error: string | undefined; after: () => void }) {
  const action = useAction();
  const [host, setHost] = useState('');
  const add = async (e: Event) => {
    e.preventDefault();
    const h = host.trim();
    if (await action.run(() => api('POST', `${base}/domains`, { host: h }), `Added ${h}.`, after)) setHost('');
  };
  return (
    <section aria-labelledby="domains">
      <h2 id="domains">Domains</h2>
      <ErrorLine message={error} />
      {data && (
        <table class="domains">
          <thead><tr><th scope="col">Host</th><th scope="col">Kind</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {data.default && <tr><th scope="row">{data.default}</th><td>default</td><td /></tr>}
            {data.custom.map((d) => (
              <tr key={d} data-domain={d}>
                <th scope="row">{d}</th>
                <td>custom</td>
                <td><button type="button" class="secondary" disabled={action.busy} aria-label={`Remove domain ${d}`}
                  onClick={() => void action.run(() => api('DELETE', `${base}/domains/${encodeURIComponent(d)}`), `Removed ${d}.`, after)}>Remove</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="inline" onSubmit={add}>
        <label for="domain-host">Domain to add</label>
        <input id="domain-host" name="host" required autocomplete="off" spellcheck={false} placeholder="www.example.com" value={host} onInput={(e) => setHost(valueOf(e))} />
        <button type="submit" disabled={action.busy}>Add domain</button>
      </form>
      {action.view}
    </section>
  );
}

/** Each host's certificate, and the switch for automatic (ACME) certificates. */
function CertSection({ base, data, error, after }: { base: string; data: CertList | undefined; error: string | undefined; after: () => void }) {
  const action = useAction();
  return (
    <section aria-labelledby="certs">
      <h2 id="certs">Certificates</h2>
      <ErrorLine message={error} />
      {data && (
        <>
          <p>
            Automatic certificates (ACME): <strong data-auto-certs={String(data.auto)}>{data.auto ? 'on' : 'off'}</strong>
            {data.acme
              ? <>{' '}<button type="button" class="secondary" disabled={action.busy}
                onClick={() => void action.run(() => api('PATCH', `${base}/certs`, { auto: !data.auto }), `Automatic certificates turned ${data.auto ? 'off' : 'on'}.`, after)}>
                {data.auto ? 'Turn off' : 'Turn on'}</button></>
              : <span class="hint"> (this server has no ACME account set up, so only uploaded certificates serve HTTPS)</span>}
          </p>
          <table class="certs">
            <thead><tr><th scope="col">Host</th><th scope="col">State</th><th scope="col">Source</th><th scope="col">Issuer</th><th scope="col">Expires</th><th scope="col">Detail</th></tr></thead>
            <tbody>
              {data.certs.map((c) => (
                <tr key={c.host} data-cert={c.host}>
                  <th scope="row">{c.host}</th>
                  <td><Badge value={c.state === 'issued' ? 'https' : c.state}>{c.state}</Badge></td>
                  <td>{c.source ?? '—'}</td>
                  <td>{c.issuer ?? '—'}</td>
                  <td>{c.notAfter ? (Number.isNaN(Date.parse(c.notAfter)) ? c.notAfter : when(c.notAfter)) : '—'}</td>
                  <td>{c.detail ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {action.view}
    </section>
  );
}

/** A labelled number input of the check form (seconds or a count); empty means the default. */
function NumberField({ id, label, value, set }: { id: string; label: string; value: string; set: (v: string) => void }) {
  return (
    <>
      <label for={id}>{label}</label>
      <input id={id} type="number" min="1" max="3600" value={value} onInput={(e) => set(valueOf(e))} />
    </>
  );
}

/** HTTP health checks by process type: listed, set (replacing one of the same kind) and removed. */
function CheckSection({ base, data, error, types, after }: { base: string; data: CheckList | undefined; error: string | undefined; types: string[]; after: () => void }) {
  const action = useAction();
  const [process, setProcess] = useState('web');
  const [kind, setKind] = useState<string>('readiness');
  const [path, setPath] = useState('/');
  const [port, setPort] = useState('');
  const [initialDelay, setInitialDelay] = useState('');
  const [timeout, setTimeoutS] = useState('');
  const [attempts, setAttempts] = useState('');
  const [wait, setWait] = useState('');
  const rows = Object.entries(data ?? {}).flatMap(([p, list]) => list.map((c) => ({ process: p, ...c })));
  const set = (e: Event) => {
    e.preventDefault();
    const num = (v: string) => (v.trim() === '' ? undefined : Number(v));
    const body = { process, type: kind, path: path.trim(), port: num(port), initialDelay: num(initialDelay), timeout: num(timeout), attempts: num(attempts), wait: num(wait) };
    void action.run(() => api('POST', `${base}/checks`, body), `Set the ${kind} check of ${process}.`, after);
  };
  const secs = (v: number | undefined) => (v === undefined ? 'default' : `${v} s`);
  return (
    <section aria-labelledby="checks">
      <h2 id="checks">Health checks</h2>
      <ErrorLine message={error} />
      {data && rows.length === 0 && <p>No health checks: a process counts as ready once it listens on its port.</p>}
      {rows.length > 0 && (
        <div class="scroll">
          <table class="checks">
            <thead><tr><th scope="col">Process</th><th scope="col">Kind</th><th scope="col">Path</th><th scope="col">Port</th><th scope="col">Initial delay</th><th scope="col">Timeout</th><th scope="col">Attempts</th><th scope="col">Interval</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {rows.map((c) => (
                <tr key={`${c.process}/${c.type}`} data-check={`${c.process}/${c.type}`}>
                  <th scope="row">{c.process}</th>
                  <td>{c.type}</td>
                  <td><code>{c.path}</code>{c.content ? <span class="hint"> (must contain “{c.content}”)</span> : null}</td>
                  <td class="num">{c.port ?? 'PORT'}</td>
                  <td class="num">{secs(c.initialDelay)}</td>
                  <td class="num">{secs(c.timeout)}</td>
                  <td class="num">{c.attempts ?? 'default'}</td>
                  <td class="num">{secs(c.wait)}</td>
                  <td><button type="button" class="secondary" disabled={action.busy} aria-label={`Remove the ${c.type} check of ${c.process}`}
                    onClick={() => void action.run(() => api('DELETE', `${base}/checks/${encodeURIComponent(c.process)}/${encodeURIComponent(c.type)}`), `Removed the ${c.type} check of ${c.process}.`, after)}>Remove</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Set a health check</h3>
      <form class="stack" onSubmit={set}>
        <label for="check-process">Process type</label>
        <select id="check-process" value={process} onChange={(e) => setProcess(valueOf(e))}>
          {types.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
        <label for="check-kind">Kind</label>
        <select id="check-kind" value={kind} onChange={(e) => setKind(valueOf(e))}>
          {CHECK_KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
        </select>
        <label for="check-path">Path (HTTP GET; 2xx and 3xx pass)</label>
        <input id="check-path" required autocomplete="off" spellcheck={false} value={path} onInput={(e) => setPath(valueOf(e))} />
        <NumberField id="check-port" label="Port (empty: the process's PORT; needed for types other than web)" value={port} set={setPort} />
        <NumberField id="check-delay" label="Initial delay in seconds (empty: default)" value={initialDelay} set={setInitialDelay} />
        <NumberField id="check-timeout" label="Timeout in seconds (empty: default)" value={timeout} set={setTimeoutS} />
        <NumberField id="check-attempts" label="Failed attempts before it counts (empty: default)" value={attempts} set={setAttempts} />
        <NumberField id="check-wait" label="Seconds between probes (empty: default)" value={wait} set={setWait} />
        <button type="submit" disabled={action.busy}>Set check</button>
      </form>
      {action.view}
    </section>
  );
}

/** Limits and reservations, for every process type at once or one: listed, set and removed. */
function ResourceSection({ base, data, error, types, after }: { base: string; data: Resources | undefined; error: string | undefined; types: string[]; after: () => void }) {
  const action = useAction();
  const [kind, setKind] = useState<'limit' | 'reserve'>('limit');
  const [process, setProcess] = useState('');
  const [memory, setMemory] = useState('');
  const [cpu, setCpu] = useState('');
  const scopes: [string, string, ProcessResources][] = data
    ? [['', 'All processes', data.defaults], ...Object.entries(data.processes).map(([t, r]): [string, string, ProcessResources] => [t, t, r])]
    : [];
  const set = async (e: Event) => {
    e.preventDefault();
    const body: { process?: string; memory?: string; cpu?: string } = {};
    if (process) body.process = process;
    if (memory.trim()) body.memory = memory.trim();
    if (cpu.trim()) body.cpu = cpu.trim();
    const what = kind === 'limit' ? 'limits' : 'reservations';
    if (await action.run(() => api('POST', `${base}/resources/${kind}`, body), `Set the ${what} of ${process || 'all processes'}.`, after)) { setMemory(''); setCpu(''); }
  };
  const clear = (k: 'limit' | 'reserve', scope: string) => {
    const q = scope ? `?process=${encodeURIComponent(scope)}` : '';
    void action.run(() => api('DELETE', `${base}/resources/${k}${q}`), `Removed the ${k === 'limit' ? 'limits' : 'reservations'} of ${scope || 'all processes'}.`, after);
  };
  return (
    <section aria-labelledby="resources">
      <h2 id="resources">Resource limits</h2>
      <ErrorLine message={error} />
      {scopes.length > 0 && (
        <div class="scroll">
          <table class="resources">
            <thead><tr><th scope="col">Scope</th><th scope="col">Memory limit</th><th scope="col">CPU limit</th><th scope="col">Memory reserved</th><th scope="col">CPU reserved</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {scopes.map(([scope, label, r]) => (
                <tr key={label} data-scope={scope || 'all'}>
                  <th scope="row">{label}</th>
                  <td class="num">{r.limits?.memory ?? '—'}</td>
                  <td class="num">{r.limits?.cpu ?? '—'}</td>
                  <td class="num">{r.requests?.memory ?? '—'}</td>
                  <td class="num">{r.requests?.cpu ?? '—'}</td>
                  <td>
                    <button type="button" class="secondary" disabled={action.busy} aria-label={`Remove limits of ${label}`} onClick={() => clear('limit', scope)}>Remove limits</button>{' '}
                    <button type="button" class="secondary" disabled={action.busy} aria-label={`Remove reservations of ${label}`} onClick={() => clear('reserve', scope)}>Remove reservations</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Set limits or reservations</h3>
      <form class="stack" onSubmit={set}>
        <label for="res-kind">What</label>
        <select id="res-kind" value={kind} onChange={(e) => setKind(valueOf(e) === 'reserve' ? 'reserve' : 'limit')}>
          <option value="limit">Limit (most a process may use)</option>
          <option value="reserve">Reservation (what the scheduler sets aside)</option>
        </select>
        <label for="res-process">For</label>
        <select id="res-process" value={process} onChange={(e) => setProcess(valueOf(e))}>
          <option value="">All processes</option>
          {types.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
        <label for="res-memory">Memory (like 512Mi or 1Gi; empty: unchanged)</label>
        <input id="res-memory" autocomplete="off" spellcheck={false} value={memory} onInput={(e) => setMemory(valueOf(e))} />
        <label for="res-cpu">CPU (like 0.5 or 500m; empty: unchanged)</label>
        <input id="res-cpu" autocomplete="off" spellcheck={false} value={cpu} onInput={(e) => setCpu(valueOf(e))} />
        <button type="submit" disabled={action.busy}>Set</button>
      </form>
      {action.view}
    </section>
  );
}

/** The app's volumes, read-only: size, how much is used (as the node measured it), claim status and where each is mounted. */
function StorageSection({ data, error }: { data: VolumeInfo[] | undefined; error: string | undefined }) {
  return (
    <section aria-labelledby="storage">
      <h2 id="storage">Storage</h2>
      <p class="hint">Read-only here: create, mount and remove volumes with <code>storage:create</code>, <code>storage:mount</code> and <code>storage:destroy</code> over SSH or the API.</p>
      <ErrorLine message={error} />
      {data && data.length === 0 && <p>No volumes.</p>}
      {data && data.length > 0 && (
        <table class="storage">
          <thead><tr><th scope="col">Volume</th><th scope="col">Size</th><th scope="col">Used</th><th scope="col">Status</th><th scope="col">Mounted at</th></tr></thead>
          <tbody>
            {data.map((v) => (
              <tr key={v.name}>
                <th scope="row">{v.name}</th>
                <td class="num">{v.size}</td>
                <td class="num" title={v.usageUnknown ?? (v.capacityBytes !== undefined ? `of ${bytes(v.capacityBytes)}` : 'measured while a running process mounts it')}>
                  {v.usedBytes !== undefined ? bytes(v.usedBytes) : '—'}
                </td>
                <td>{v.status}</td>
                <td>{v.mounts.length ? v.mounts.map((m) => `${m.process ?? 'web'}:${m.path ?? ''}`).join(', ') : 'not mounted'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
