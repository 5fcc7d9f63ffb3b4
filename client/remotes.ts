// Which git remotes are Slipway remotes, and of which app: the shapes the server prints
// (server/urls.ts: `ssh://git@HOST:PORT/APP.git`, `http://HOST:PORT/APP.git`), scp-like SSH
// (`git@HOST:APP.git`) and an HTTP remote behind a path prefix (`https://HOST/git/APP.git`).
// Pure functions: the git calls are in git.ts.

/** An app name as the server accepts it: a DNS-1123 label of at most 40 characters. */
const APP = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

/** What a Slipway remote says: the app, the server's host, and how it is reached. */
export interface SlipwayRemote {
  app: string;
  host: string;
  kind: 'ssh' | 'http';
  /** The SSH port (ssh remotes; undefined: 22, as ssh would use). */
  sshPort?: number;
  /** The server's HTTP origin (http remotes): `http://HOST:PORT`, where the API is too. */
  origin?: string;
}

/** The app of a repository path (`/APP.git`, `/APP`, `/git/APP.git`), if it names one. */
function appOfPath(path: string): string | undefined {
  const m = /^\/?(?:git\/)?([^/]+?)(?:\.git)?\/?$/.exec(path);
  return m && APP.test(m[1]!) ? m[1] : undefined;
}

/** Lower-cased host without IPv6 brackets. */
function hostOf(u: URL): string {
  return u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/** Reads a remote URL; undefined when it is not the shape of a Slipway remote. */
export function parseRemote(url: string): SlipwayRemote | undefined {
  const scp = /^(?:[A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?!\/\/)([^\s]+)$/.exec(url);
  if (scp && !url.includes('://')) {
    const app = appOfPath(scp[2]!);
    return app ? { app, host: scp[1]!.replace(/^\[|\]$/g, '').toLowerCase(), kind: 'ssh' } : undefined;
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const app = appOfPath(decodeURIComponent(u.pathname));
  if (!app || u.search || u.hash) return undefined;
  if (u.protocol === 'ssh:') return { app, host: hostOf(u), kind: 'ssh', ...(u.port ? { sshPort: Number(u.port) } : {}) };
  if (u.protocol === 'http:' || u.protocol === 'https:') {
    // The API sits beside git on the same origin, under the same prefix (`/git/` → none: /api/v1 at the origin).
    return { app, host: hostOf(u), kind: 'http', origin: u.origin };
  }
  return undefined;
}

/** A named remote of the repository. */
export interface GitRemote { name: string; url: string }

/** The remotes that are Slipway remotes of a known host, each with what it says. */
export function slipwayRemotes(remotes: readonly GitRemote[], knownHosts: ReadonlySet<string>): (GitRemote & SlipwayRemote)[] {
  return remotes.flatMap((r) => {
    const s = parseRemote(r.url);
    return s && knownHosts.has(s.host) ? [{ ...r, ...s }] : [];
  });
}

/**
 * The one app the remotes name (one app on one host, through any number of remotes), or the
 * sentence listing them when they name several; undefined when there is none.
 */
export function theOneApp(found: readonly (GitRemote & SlipwayRemote)[]): { app: string; host: string; remote: GitRemote & SlipwayRemote } | { several: string } | undefined {
  const distinct = new Map<string, (GitRemote & SlipwayRemote)[]>();
  for (const r of found) distinct.set(`${r.app}@${r.host}`, [...(distinct.get(`${r.app}@${r.host}`) ?? []), r]);
  if (distinct.size === 0) return undefined;
  if (distinct.size === 1) {
    const remote = found[0]!;
    return { app: remote.app, host: remote.host, remote };
  }
  const listed = [...distinct.values()].map((rs) => `${rs.map((r) => r.name).join('/')} (${rs[0]!.app} on ${rs[0]!.host})`).join(', ');
  return { several: `This repository has remotes of several apps: ${listed}; choose one with --remote NAME or --app APP.` };
}
