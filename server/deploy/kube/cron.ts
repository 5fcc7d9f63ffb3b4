// Scheduled tasks (app.json `cron`): applied as CronJobs once a release runs, pruned when it no
// longer has them, read back for `cron APP`, started at once by cron:run.
import type { V1CronJob, V1Job, KubeObject } from '../../kube/types.ts';
import { UserError } from '../../errors.ts';
import { LABEL, MANAGED_BY, appSelector, namespaceFor, selectorString } from '../../kube/labels.ts';
import { cronState, scheduledRuns } from '../cron-state.ts';
import { cronJobName, cronJobObject, manualJobName, manualJobObject } from '../workload.ts';
import type { CronJobs, CronState, ScheduledRun } from '../deployer.ts';
import type { DeployableRelease } from '../../model.ts';
import { KubePart } from './context.ts';

/** Scheduled tasks as CronJobs in the app's namespace. */
export class KubeCron extends KubePart implements CronJobs {

  /**
   * Applies the release's scheduled tasks as CronJobs and deletes the app's CronJobs it no longer
   * has (their Jobs and pods go with them); returns what was scheduled, for the transcript.
   */
  async apply(release: DeployableRelease): Promise<string> {
    const image = this.k.pullImage(release.image);
    const deadline = Math.max(1, Math.round(this.k.opts.cronTimeoutMs / 1000));
    const wanted = (release.cron ?? []).map((task) => cronJobObject({ ...release, image }, task, deadline));
    await Promise.all(wanted.map((o) => this.k.client.apply(o)));
    await this.prune(release.app, new Set(wanted.map((o) => o.metadata.name)));
    return (release.cron ?? []).map((c) => `${c.id} (${c.schedule}${c.suspended ? ', suspended' : ''})`).join(', ');
  }

  /** Deletes the app's CronJobs not named in `keep`. */
  async prune(app: string, keep: ReadonlySet<string>): Promise<void> {
    const ns = namespaceFor(app);
    const existing = await this.k.client.list<KubeObject>('batch/v1', 'CronJob', ns, { labelSelector: appSelector(app) });
    await Promise.all(existing.filter((o) => !keep.has(o.metadata.name)).map((o) => this.k.client.remove('batch/v1', 'CronJob', o.metadata.name, ns)));
  }

  async cronStatus(app: string): Promise<CronState[]> {
    const ns = namespaceFor(app);
    const [cronJobs, jobs] = await Promise.all([
      this.k.client.list<V1CronJob>('batch/v1', 'CronJob', ns, { labelSelector: appSelector(app) }),
      this.k.client.list<V1Job>('batch/v1', 'Job', ns, { labelSelector: `${appSelector(app)},${LABEL.cron}` }),
    ]);
    return cronJobs.map((c) => cronState(c, jobs));
  }

  async scheduledRuns(): Promise<ScheduledRun[]> {
    const jobs = await this.k.client.list<V1Job>('batch/v1', 'Job', undefined, { labelSelector: `${selectorString({ [LABEL.managedBy]: MANAGED_BY })},${LABEL.cron}` });
    return scheduledRuns(jobs);
  }

  async runCron(app: string, id: string): Promise<string> {
    const ns = namespaceFor(app);
    const cronJob = await this.k.client.read<V1CronJob>('batch/v1', 'CronJob', cronJobName(id), ns);
    if (!cronJob?.metadata?.uid) throw new UserError(`${app} has no scheduled task ${id} in the cluster yet; deploy it first (git push).`);
    const job = manualJobObject({ ...cronJob, metadata: { ...cronJob.metadata, name: cronJobName(id), namespace: ns, uid: cronJob.metadata.uid } }, manualJobName(id));
    await this.k.client.apply(job);
    return job.metadata.name;
  }
}
