// The dashboard's entry: picks the page for the URL; every page but /login first needs a session.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, messageOf, toLogin, type Session } from './api.ts';
import { useLocation, navigate } from './router.tsx';
import { matchRoute, type Route } from './routes.ts';
import { fetchSession, SessionContext } from './session.tsx';
import { ErrorLine } from './ui.tsx';
import { LoginPage } from './pages/login.tsx';
import { AppsPage } from './pages/apps.tsx';
import { AppPage } from './pages/app.tsx';
import { ReleasesPage } from './pages/releases.tsx';
import { JobPage } from './pages/job.tsx';
import { LogsPage } from './pages/logs.tsx';
import { ConfigPage } from './pages/config.tsx';
import { AppSettingsPage } from './pages/app-settings.tsx';
import { AppMetricsPage } from './pages/app-metrics.tsx';
import { AdminPage } from './pages/admin.tsx';
import { NotFoundPage } from './pages/notfound.tsx';

/** The page component for a signed-in route. */
function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'apps': return <AppsPage />;
    case 'app': return <AppPage app={route.app} />;
    case 'releases': return <ReleasesPage app={route.app} />;
    case 'logs': return <LogsPage app={route.app} />;
    case 'config': return <ConfigPage app={route.app} />;
    case 'settings': return <AppSettingsPage app={route.app} />;
    case 'metrics': return <AppMetricsPage app={route.app} />;
    case 'job': return <JobPage id={route.id} />;
    case 'admin': return <AdminPage />;
    default: return <NotFoundPage />;
  }
}

/** Loads the session once, then shows the page (a 401 has already sent the browser to /login). */
function SignedIn({ route }: { route: Route }) {
  const [session, setSession] = useState<Session>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    fetchSession().then(setSession, (err) => {
      // No session (never had one, logged out, expired, key removed): the login explanation, then back here.
      if (err instanceof ApiFailure && err.status === 401) toLogin();
      else setError(messageOf(err));
    });
  }, []);
  if (error) return <main id="main"><h1>Slipway</h1><ErrorLine message={error} /><p><a href="/login">Log in again</a></p></main>;
  if (!session) return <p class="boot" role="status">Loading…</p>;
  return <SessionContext.Provider value={session}><Page key={JSON.stringify(route)} route={route} /></SessionContext.Provider>;
}

function App() {
  const { pathname } = useLocation();
  const route = matchRoute(pathname);
  useEffect(() => {
    if (route.page === 'home') navigate('/apps', { replace: true });
  }, [route.page]);
  if (route.page === 'home') return null;
  if (route.page === 'login') return <LoginPage />;
  return <SignedIn route={route} />;
}

const root = document.getElementById('app')!;
// The boot message is static HTML; Preact renders next to what is there, so it goes first.
root.textContent = '';
render(<App />, root);
