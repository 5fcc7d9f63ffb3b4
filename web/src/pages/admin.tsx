// /admin.
import { Layout } from '../layout.tsx';

/** The admin page. */
export function AdminPage() {
  return <Layout title="Admin"><p>This page is not available yet.</p></Layout>;
}
