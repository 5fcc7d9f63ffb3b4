// /apps/APP/metrics.
import { Layout } from '../layout.tsx';

/** The app's metrics page. */
export function MetricsPage({ app }: { app: string }) {
  return <Layout title={`${app}: metrics`} app={app} tab="metrics"><p>This page is not available yet.</p></Layout>;
}
