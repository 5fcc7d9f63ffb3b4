// Any other path under a dashboard prefix.
import { Layout } from '../layout.tsx';
import { Link } from '../router.tsx';

/** The page for a URL the dashboard does not have. */
export function NotFoundPage() {
  return <Layout title="Page not found"><p>The dashboard has no page at this address. <Link href="/apps">Go to the apps</Link>.</p></Layout>;
}
