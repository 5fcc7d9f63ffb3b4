// The frame of every signed-in page: skip link, header with navigation and logout, the page's
// heading (focused after each navigation, so screen readers hear where they are).
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from './api.ts';
import { Link, navigate } from './router.tsx';
import { appPath, APP_TABS } from './routes.ts';
import { endSession, useSession } from './session.tsx';
import { ErrorLine } from './ui.tsx';

const TAB_NAMES: Record<string, string> = { releases: 'Releases', logs: 'Logs', config: 'Config', settings: 'Settings', metrics: 'Metrics' };

/** The header, the page's <h1> and its content. */
export function Layout({ title, children, app, tab }: { title: string; children: ComponentChildren; app?: string; tab?: string }) {
  const session = useSession();
  const heading = useRef<HTMLHeadingElement>(null);
  const [error, setError] = useState<string>();
  useEffect(() => {
    document.title = `${title} · Slipway`;
    heading.current?.focus({ preventScroll: true });
  }, [title]);
  const logout = () => {
    endSession().then(() => navigate('/login'), (err) => setError(messageOf(err)));
  };
  const section = location.pathname.startsWith('/admin') ? 'admin' : 'apps';
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <Link href="/apps" class="brand">Slipway</Link>
        <nav aria-label="Main">
          <Link href="/apps" current={section === 'apps'}>Apps</Link>
          {session.admin && <Link href="/admin" current={section === 'admin'}>Admin</Link>}
        </nav>
        <span class="who">Signed in as <strong>{session.key}</strong></span>
        <button type="button" class="secondary" onClick={logout}>Log out</button>
      </header>
      <main id="main">
        {app && (
          <nav class="crumbs" aria-label="Breadcrumb"><Link href="/apps">Apps</Link> / <Link href={appPath(app)}>{app}</Link></nav>
        )}
        <h1 ref={heading} tabIndex={-1}>{title}</h1>
        {app && (
          <nav class="tabs" aria-label={`${app} pages`}>
            <Link href={appPath(app)} current={!tab}>Overview</Link>
            {APP_TABS.map((t) => <Link key={t} href={appPath(app, t)} current={tab === t}>{TAB_NAMES[t]}</Link>)}
          </nav>
        )}
        <ErrorLine message={error} />
        {children}
      </main>
    </>
  );
}
