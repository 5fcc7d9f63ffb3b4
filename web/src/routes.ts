// The dashboard's URLs, matched without the DOM (so tests run them in Node). The server answers
// the same list with index.html (server/transport/http/dashboard.ts); keep the two in step.

/** One dashboard page and its parameters. */
export type Route =
  | { page: 'home' }
  | { page: 'login' }
  | { page: 'apps' }
  | { page: 'app'; app: string }
  | { page: 'releases' | 'logs' | 'config' | 'settings' | 'metrics'; app: string }
  | { page: 'job'; id: string }
  | { page: 'admin' }
  | { page: 'notfound' };

/** The sub-pages of an app, in the order its tabs show them. */
export const APP_TABS = ['releases', 'logs', 'config', 'settings', 'metrics'] as const;

/** Which page a path (without query or fragment) shows. */
export function matchRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return '\u0000'; }
  });
  if ((pathname.endsWith('/') && pathname !== '/') || parts.includes('\u0000')) return { page: 'notfound' };
  if (parts.length === 0) return { page: 'home' };
  const [a, b, c] = parts;
  if (parts.length === 1 && a === 'login') return { page: 'login' };
  if (parts.length === 1 && a === 'apps') return { page: 'apps' };
  if (parts.length === 1 && a === 'admin') return { page: 'admin' };
  if (parts.length === 2 && a === 'apps' && b) return { page: 'app', app: b };
  if (parts.length === 2 && a === 'jobs' && b) return { page: 'job', id: b };
  if (parts.length === 3 && a === 'apps' && b && (APP_TABS as readonly string[]).includes(c!)) {
    return { page: c as (typeof APP_TABS)[number], app: b };
  }
  return { page: 'notfound' };
}

/** The path of an app page: appPath('web', 'logs') is /apps/web/logs. */
export function appPath(app: string, tab?: string): string {
  return `/apps/${encodeURIComponent(app)}${tab ? `/${tab}` : ''}`;
}
