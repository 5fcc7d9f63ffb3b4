// /jobs/ID: one job's live transcript until it ends.
import { Layout } from '../layout.tsx';
import { JobView } from '../job.tsx';

/** The job page. */
export function JobPage({ id }: { id: string }) {
  return <Layout title={`Job ${id}`}><JobView id={id} /></Layout>;
}
