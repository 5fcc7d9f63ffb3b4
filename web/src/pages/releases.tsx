// /apps/APP/releases: the releases as a timeline, newest first, each with who made it, when,
// from which commit and which config keys it changed; rollback asks first, then follows the job.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, isAccepted, messageOf, type AppInfo, type CanaryInfo, type ReleaseSummary } from '../api.ts';
import { age, configChangesText, shortCommit, when } from '../format.ts';
import { Layout } from '../layout.tsx';
import { useChanges } from '../live.ts';
import { navigate } from '../router.tsx';
import { Badge, ErrorLine, useData, useDebounced } from '../ui.tsx';

/** The releases timeline. */
export function ReleasesPage({ app }: { app: string }) {
  const base = `/apps/${encodeURIComponent(app)}`;
  const releases = useData(() => api<ReleaseSummary[]>('GET', `${base}/releases`), [app]);
  const info = useData(() => api<AppInfo>('GET', base), [app]);
  const canary = useData(() => api<CanaryInfo>('GET', `${base}/canary`), [app]);
  const refetch = useDebounced(() => { releases.reload(); info.reload(); canary.reload(); }, 300);
  useChanges((c) => { if (!c || c.app === app) refetch(); });
  const [target, setTarget] = useState<ReleaseSummary>();
  const list = releases.data ? [...releases.data].sort((a, b) => b.version - a.version) : undefined;
  const current = info.data?.release;
  return (
    <Layout title={`${app}: releases`} app={app} tab="releases">
      <ErrorLine message={releases.error ?? info.error} />
      <CanaryLine info={canary.data} />
      {list && list.length === 0 && <p>No releases yet: push code or set config to make one.</p>}
      {list && list.length > 0 && (
        <ol class="timeline">
          {list.map((r) => {
            const changes = configChangesText(r.configChanges);
            const isCurrent = current === `v${r.version}`;
            return (
              <li key={r.version} data-release={`v${r.version}`}>
                <p class="release-head">
                  <strong>v{r.version}</strong> {isCurrent && <Badge value="current">current</Badge>} <Badge value={r.status} />
                  {' '}<span title={when(r.createdAt)}>{age(r.createdAt)}</span>
                  {r.createdBy ? <> by {r.createdBy}</> : null}
                  {r.commit ? <> · commit <code title={r.commit}>{shortCommit(r.commit)}</code></> : null}
                </p>
                <p class="release-desc">{r.description}</p>
                {changes && <p class="release-config">Config: {changes}</p>}
                {!isCurrent && r.image && (
                  <button type="button" class="secondary" onClick={() => setTarget(r)} aria-label={`Roll back to v${r.version}`}>Roll back to v{r.version}</button>
                )}
              </li>
            );
          })}
        </ol>
      )}
      {target && <RollbackDialog app={app} release={target} onClose={() => setTarget(undefined)} />}
    </Layout>
  );
}

/** The confirmation: a modal <dialog> (Escape cancels, focus stays inside); on yes, the rollback's job page. */
function RollbackDialog({ app, release, onClose }: { app: string; release: ReleaseSummary; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const d = ref.current!;
    d.showModal();
    const closed = () => onClose();
    d.addEventListener('close', closed);
    return () => d.removeEventListener('close', closed);
  }, []);
  const confirm = () => {
    setBusy(true);
    setError(undefined);
    api<unknown>('POST', `/apps/${encodeURIComponent(app)}/rollback`, { version: release.version }).then(
      (r) => {
        if (isAccepted(r)) navigate(`/jobs/${encodeURIComponent(r.job.id)}`);
        else ref.current?.close();
      },
      (err) => { setError(messageOf(err)); setBusy(false); },
    );
  };
  return (
    <dialog ref={ref} aria-labelledby="rollback-title" aria-describedby="rollback-text">
      <h2 id="rollback-title">Roll back {app} to v{release.version}?</h2>
      <p id="rollback-text">This makes a new release with the code and config of v{release.version} and rolls it out now.</p>
      <ErrorLine message={error} />
      <p class="actions">
        <button type="button" class="danger" disabled={busy} onClick={confirm}>Roll back</button>{' '}
        {/* Focus starts on Cancel: Enter on a dialog that just opened must not roll back. */}
        <button type="button" class="secondary" autofocus onClick={() => ref.current?.close()}>Cancel</button>
      </p>
    </dialog>
  );
}

/** The canary running now (one line: its release, share, step and the last window's figures), else the setting, else nothing. */
function CanaryLine({ info }: { info: CanaryInfo | undefined }) {
  if (!info?.setting && !info?.running) return null;
  const c = info.running;
  if (!c) return <p class="canary">Canary on: every deploy starts at {info.setting!.steps.map((s) => `${s} %`).join(' → ')}, {info.setting!.stepSeconds} s windows.</p>;
  const f = c.figures;
  const figures = (x: { requests: number; errorRate: number; p95Ms: number | null }) => `${x.requests} requests, 5xx ${x.errorRate.toFixed(1)} %, p95 ${x.p95Ms ?? '-'} ms`;
  return (
    <p class="canary" data-canary={`v${c.release}`}>
      <strong>Canary:</strong> v{c.release} takes {c.weight} % of the requests beside v{c.stable} (step {c.step} of {c.steps}, {c.state === 'running' ? `window ends ${when(c.windowEndsAt)}` : c.state})
      {f ? <> · last window: v{c.release} {figures(f.canary)}; v{c.stable} {figures(f.stable)}</> : null}
    </p>
  );
}
