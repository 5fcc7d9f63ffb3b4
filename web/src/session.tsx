// The signed-in session: fetched once per page load (GET /api/v1/session), shared by context.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { api, setCsrf, type Session } from './api.ts';

/** The session of the pages that need one (everything but /login). */
export const SessionContext = createContext<Session | undefined>(undefined);

/** The current session; only used below a page that has one. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

/** Asks the server for the session (a 401 sends the browser to the login page). */
export async function fetchSession(): Promise<Session> {
  const s = await api<Session>('GET', '/session');
  setCsrf(s.csrf);
  return s;
}

/** Starts a session from a one-time code or an API token. */
export async function startSession(body: { code: string } | { token: string }): Promise<Session> {
  const s = await api<Session>('POST', '/session', body);
  setCsrf(s.csrf);
  return s;
}

/** Ends the session on the server (the cookie goes with it). */
export async function endSession(): Promise<void> {
  await api<void>('DELETE', '/session');
  setCsrf('');
}
