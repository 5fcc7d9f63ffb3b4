// apps:promote: the image one app runs (by digest, not rebuilt) released in other apps with their
// own config, as a deploy of that code would be (release phase, rollout). Every target is checked
// before anything is written; then each rolls out in turn, as its own job under its own lock.
import { UserError } from '../../errors.ts';
import { requireDeployer, type Services } from '../../context.ts';
import { git } from '../../git.ts';
import { repoPath } from '../../repos.ts';
import { digestOf } from '../../gc/keep.ts';
import { authorizeApp } from '../access.ts';
import { admitRelease, releaseAndDeploy } from '../releases/release.ts';
import { rollOut } from '../rollout.ts';
import { configKeyDiff, confirmRefusal, describeChanges, MAX_LISTED_COMMITS, parseLog, processTypeDiff, type PromotionChanges, type SourceChange } from './promotion.ts';
import type { Actor, Progress } from '../actor.ts';

/** Where to promote to, and the targets whose removed process types the caller confirmed. */
export interface PromoteInput {
  to: readonly string[];
  confirm?: readonly string[];
}

/** What a promotion did: the staging release, and the new release of each target. */
export interface PromoteResult {
  from: { app: string; version: number };
  to: { app: string; release: number }[];
}

/** A commit as Slipway records it: a full SHA, safe as a git argument. */
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Whether the bare repository at `cwd` holds the commit. */
async function hasCommit(cwd: string, sha: string): Promise<boolean> {
  try {
    await git(['cat-file', '-e', `${sha}^{commit}`], { cwd });
    return true;
  } catch {
    // cat-file -e fails for a missing object (or a repository gone with its app): not here.
    return false;
  }
}

/** The commits between the target's source version and the staging one, from the first app's repository that holds both. */
export async function sourceChange(services: Pick<Services, 'config'>, apps: readonly string[], from: string | null, to: string | null): Promise<SourceChange> {
  if (!from) return { kind: 'first', to };
  if (!to || !SHA.test(from) || !SHA.test(to)) return { kind: 'versions', from, to };
  if (from === to) return { kind: 'same', commit: to };
  for (const app of apps) {
    const cwd = repoPath(services.config, app);
    if (!(await hasCommit(cwd, from)) || !(await hasCommit(cwd, to))) continue;
    const log = await git(['log', '--format=%h %s', `--max-count=${MAX_LISTED_COMMITS}`, `${from}..${to}`], { cwd });
    const count = Number((await git(['rev-list', '--count', `${from}..${to}`], { cwd })).trim());
    const dropped = Number((await git(['rev-list', '--count', `${to}..${from}`], { cwd })).trim());
    return { kind: 'log', from, to, commits: parseLog(log), count, dropped };
  }
  return { kind: 'versions', from, to };
}

/** One target, checked: what it runs now and what the promotion changes there. */
interface Plan {
  app: string;
  changes: PromotionChanges;
}

/** The targets as named: valid, distinct, usable by the caller, none of them the staging app. */
function targetsOf(actor: Actor, staging: string, raw: readonly string[]): string[] {
  const names = [...new Set(raw.map((r) => r.trim()).filter((r) => r !== ''))];
  if (names.length === 0) throw new UserError('Name at least one app to promote to.');
  for (const name of names) if (name === staging) throw new UserError(`${staging} cannot be promoted to itself; name another app to promote to.`);
  return names.map((name) => authorizeApp(actor, name));
}

/**
 * Releases the image `staging` runs now (the same digest) in each target, with the target's own
 * config and the staging release's process types, checks and tasks, the release phase first.
 * The caller has checked access to `staging`; access to each target is checked here.
 */
export async function promote(actor: Actor, staging: string, input: PromoteInput, progress: Progress): Promise<PromoteResult> {
  const { services } = actor;
  const { store } = services;
  requireDeployer(services);
  const targets = targetsOf(actor, staging, input.to);
  const source = store.releases.current(staging);
  if (!source?.image) throw new UserError(`${staging} has no release to promote; push it first (git push paas main).`);
  const digest = digestOf(source.image);
  if (!digest) throw new UserError(`${staging} v${source.version} has no image digest to promote; push it again.`);
  // What staging runs: its release's config (never pruned while it runs), names only from here on.
  const stagingConfig = source.configPrunedAt === null ? source.config : store.config.all(staging);

  // Every target is judged before any is touched, so a refusal writes nothing anywhere: the
  // confirmation of removed process types, then what admits any release (quota, type count).
  const judge = (app: string, commits: SourceChange): PromotionChanges => {
    const current = store.releases.current(app);
    const changes = { source: commits, config: configKeyDiff(stagingConfig, store.config.all(app)), processes: processTypeDiff(current?.processes ?? [], source.processes) };
    const refused = confirmRefusal(staging, app, changes, input.confirm ?? []);
    if (refused) throw new UserError(refused);
    admitRelease(services, app, source.processes, current);
    return changes;
  };
  const plans: Plan[] = [];
  for (const app of targets) plans.push({ app, changes: judge(app, await sourceChange(services, [staging, app], store.releases.current(app)?.commit ?? null, source.commit)) });

  const description = `promoted from ${staging} v${source.version}`;
  const done: PromoteResult['to'] = [];
  for (const plan of plans) {
    const release = await rollOut(actor, plan.app, 'apps:promote', progress, async (p) => {
      // Again under the target's lock (an earlier target's rollout took time; the target may have
      // changed), and before the image is copied, so a refusal now leaves no tag behind.
      const changes = judge(plan.app, plan.changes.source);
      p.transcript.step(`Promoting ${staging} v${source.version} to ${plan.app}`);
      for (const line of describeChanges(staging, plan.app, changes)) p.transcript.detail(line);
      // The target's own repository gets the same manifest (its blobs mounted, nothing rebuilt or
      // pushed), so its garbage collection and apps:destroy keep judging only its own images, and
      // staging's can never delete what the target runs. Without a registry nothing is collected:
      // the staging reference is used as it is.
      const image = services.registry ? await services.registry.copy(staging, plan.app, digest, `promoted-${staging}-v${source.version}`) : source.image!;
      return (await releaseAndDeploy(services, plan.app, {
        description, commit: source.commit, image, processes: source.processes, config: store.config.all(plan.app),
        checks: source.checks, cron: source.cron, createdBy: actor.identity.name,
      }, { transcript: p.transcript, signal: p.signal, describe: true, runRelease: true })).release;
    });
    done.push({ app: plan.app, release: release.version });
  }
  return { from: { app: staging, version: source.version }, to: done };
}
