// /apps/APP/settings.
import { Layout } from '../layout.tsx';

/** The app's settings page. */
export function SettingsPage({ app }: { app: string }) {
  return <Layout title={`${app}: settings`} app={app} tab="settings"><p>This page is not available yet.</p></Layout>;
}
