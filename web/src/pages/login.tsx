// /login: a one-time link from `ssh … dashboard:login` lands here with #code=…; the code is
// exchanged for a session cookie and the browser goes on to the page it wanted (?next=).
// Without a code: how to get a link, and a form for an API token.
import { useEffect, useState } from 'preact/hooks';
import { messageOf } from '../api.ts';
import { codeFromHash, safeNext } from '../format.ts';
import { navigate } from '../router.tsx';
import { startSession } from '../session.tsx';
import { ErrorLine } from '../ui.tsx';

/** The login page. */
export function LoginPage() {
  const next = safeNext(new URLSearchParams(location.search).get('next'));
  const [code, setCode] = useState(() => codeFromHash(location.hash));
  const [busy, setBusy] = useState(Boolean(code));
  const [error, setError] = useState<string>();
  const [token, setToken] = useState('');

  useEffect(() => {
    document.title = 'Log in · Slipway';
    // A link opened in a tab already on this page changes only the fragment: no new page load.
    const onHash = () => { const c = codeFromHash(location.hash); if (c) setCode(c); };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (!code) return;
    setBusy(true);
    setError(undefined);
    // The code is spent by this request: drop it from the address bar and history at once.
    history.replaceState(null, '', location.pathname + location.search);
    startSession({ code }).then(
      () => navigate(next, { replace: true }),
      (err) => { setError(messageOf(err)); setBusy(false); },
    );
  }, [code]);

  const submit = (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    startSession({ token: token.trim() }).then(
      () => navigate(next, { replace: true }),
      (err) => { setError(messageOf(err)); setBusy(false); },
    );
  };

  const host = location.hostname || 'HOST';
  return (
    <main id="main" class="login">
      <h1>Log in to Slipway</h1>
      {busy && code && <p role="status">Signing you in…</p>}
      <ErrorLine message={error} />
      <section aria-labelledby="with-ssh">
        <h2 id="with-ssh">With your SSH key</h2>
        <p>Run this in a terminal where your Slipway SSH key works, then open the link it prints (it works once, within 60 seconds):</p>
        <pre class="command"><code>ssh -p 2222 git@{host} dashboard:login</code></pre>
      </section>
      <section aria-labelledby="with-token">
        <h2 id="with-token">With an API token</h2>
        <form onSubmit={submit}>
          <label for="token">API token <span class="hint">(from <code>tokens:create NAME</code>)</span></label>
          <input id="token" name="token" type="password" autocomplete="off" required value={token} onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)} />
          <button type="submit" disabled={busy}>Log in</button>
        </form>
      </section>
    </main>
  );
}
