// /login: a one-time link from `ssh … dashboard:login` lands here with #code=…. Opening it logs
// nobody in: the page asks the server whom the code is for (without using it up) and asks "Log in
// as KEY?"; only the button trades the code for a session cookie, so a link someone else made
// for their own key does not silently log this browser in as them. Then the browser goes on to
// the page it wanted (?next=). Without a code: how to get a link, and a form for an API token.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, messageOf, type LoginCodeInfo, type Session, type SignInOptions } from '../api.ts';
import { codeFromHash, safeNext } from '../format.ts';
import { navigate } from '../router.tsx';
import { startSession } from '../session.tsx';
import { ErrorLine } from '../ui.tsx';

/** The login page. */
export function LoginPage() {
  const next = safeNext(new URLSearchParams(location.search).get('next'));
  const [code, setCode] = useState(() => codeFromHash(location.hash));
  const [link, setLink] = useState<LoginCodeInfo>();
  const [current, setCurrent] = useState<Session>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [token, setToken] = useState('');
  const [options, setOptions] = useState<SignInOptions>();

  useEffect(() => {
    document.title = 'Log in · Slipway';
    // A link opened in a tab already on this page changes only the fragment: no new page load.
    const onHash = () => { const c = codeFromHash(location.hash); if (c) setCode(c); };
    window.addEventListener('hashchange', onHash);
    // Who this browser is logged in as now, if anyone, so the question below can say what changes.
    api<Session>('GET', '/session').then(setCurrent, (err) => {
      // Two session cookies (one set by another site under the same domain): say so here too.
      if (err instanceof ApiFailure && err.status === 400) setError(err.message);
    });
    // Whether the server offers OpenID Connect sign-in (a button beside the SSH-key link).
    api<SignInOptions>('GET', '/session/options').then(setOptions, () => setOptions(undefined));
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (!code) return;
    setLink(undefined);
    setError(undefined);
    // The code stays in this page only: out of the address bar and history at once.
    history.replaceState(null, '', location.pathname + location.search);
    api<LoginCodeInfo>('POST', '/session/code', { code }).then(setLink, (err) => { setError(messageOf(err)); setCode(undefined); });
  }, [code]);

  const done = () => navigate(next, { replace: true });
  const failed = (err: unknown) => { setError(messageOf(err)); setBusy(false); };

  const confirm = (e: Event) => {
    e.preventDefault();
    if (!code) return;
    setBusy(true);
    setError(undefined);
    startSession({ code }).then(done, (err) => { failed(err); setCode(undefined); setLink(undefined); });
  };

  const cancel = () => {
    setCode(undefined);
    setLink(undefined);
  };

  const submit = (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    startSession({ token: token.trim() }).then(done, failed);
  };

  if (code) {
    return (
      <main id="main" class="login">
        <h1>{link ? `Log in as ${link.key}?` : 'Log in to Slipway'}</h1>
        <ErrorLine message={error} />
        {!link && !error && <p role="status">Checking the link…</p>}
        {link && (
          <form class="confirm" onSubmit={confirm}>
            <p>This link logs this browser in to Slipway as the key <strong>{link.key}</strong>, {link.admin ? 'an admin' : 'not an admin'}: SSH key <code>{link.fingerprint}</code> ({link.keyType}).</p>
            {current && current.key !== link.key && <p>This browser is logged in as <strong>{current.key}</strong> now; that is replaced here.</p>}
            <p class="hint">Continue only if you ran <code>dashboard:login</code> yourself just now. A link someone sent you logs you in as their key: what you do then goes to their apps.</p>
            <div class="buttons">
              <button type="submit" disabled={busy}>Log in as {link.key}</button>
              <button type="button" class="secondary" disabled={busy} onClick={cancel}>Cancel</button>
            </div>
          </form>
        )}
      </main>
    );
  }

  const host = location.hostname || 'HOST';
  return (
    <main id="main" class="login">
      <h1>Log in to Slipway</h1>
      <ErrorLine message={error} />
      {current && <p>This browser is logged in as <strong>{current.key}</strong>. <a href={next}>Go on to the dashboard</a>.</p>}
      <section aria-labelledby="with-ssh">
        <h2 id="with-ssh">With your SSH key</h2>
        <p>Run this in a terminal where your Slipway SSH key works, then open the link it prints (it works once, within a minute unless your admin set another time):</p>
        <pre class="command"><code>ssh -p 2222 git@{host} dashboard:login</code></pre>
      </section>
      {options?.oidc && (
        <section aria-labelledby="with-oidc">
          <h2 id="with-oidc">With your {options.oidc.name} account</h2>
          <p>For an account your admin bound to a Slipway key (<code>keys:oidc</code>).</p>
          <a class="button" href={`${options.oidc.start}?next=${encodeURIComponent(next)}`}>Sign in with {options.oidc.name}</a>
        </section>
      )}
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
