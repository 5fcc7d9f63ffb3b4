import { UserError } from '../errors.ts';
import { deployBranches } from '../ops/previews/preview-policy.ts';

/** One line of pre-receive input: `<old-sha> <new-sha> <ref>`. */
export interface RefUpdate {
  old: string;
  new: string;
  ref: string;
}

const ZERO = /^0+$/;
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Parses pre-receive's standard input. */
export function parseRefUpdates(text: string): RefUpdate[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [o, n, ref, extra] = l.trim().split(' ');
      if (!o || !n || !ref || extra !== undefined || !SHA.test(o) || !SHA.test(n)) throw new Error(`malformed pre-receive line: ${JSON.stringify(l)}`);
      return { old: o, new: n, ref };
    });
}

/** The update a push deploys: exactly one, to the deploy branch, not a deletion. */
export interface DeployTarget {
  branch: string;
  commit: string;
}

/**
 * Decides what the push deploys. Only the deploy branch may be pushed (configured per app, else
 * main or master, as Heroku accepts), so refs only ever point at code that was deployed.
 */
export function deployTarget(updates: readonly RefUpdate[], deployBranch: string | null): DeployTarget {
  const allowed = deployBranches(deployBranch);
  const named = deployBranch ? deployBranch : 'main (or master)';
  if (updates.length !== 1) throw new UserError(`Push one branch at a time: only ${named} deploys.`);
  const u = updates[0]!;
  const branch = u.ref.startsWith('refs/heads/') ? u.ref.slice('refs/heads/'.length) : undefined;
  if (!branch || !allowed.includes(branch)) {
    throw new UserError(`Pushed to ${u.ref}, but only ${named} deploys; try: git push paas HEAD:${deployBranch ?? 'main'}`);
  }
  if (ZERO.test(u.new)) throw new UserError(`Deleting ${branch} is not allowed: it is the deploy branch.`);
  return { branch, commit: u.new };
}

/** What a push does: deploy the app, deploy a preview of a branch, or remove a branch's preview. */
export type PushTarget =
  | { kind: 'deploy'; branch: string; commit: string }
  | { kind: 'preview'; branch: string; commit: string }
  | { kind: 'preview-removal'; branch: string };

/**
 * Decides what the push does. With previews off, exactly deployTarget's rule. With previews on,
 * the deploy branch deploys as before, and any other branch (still one per push) is a preview:
 * pushed, it deploys that branch's preview; deleted, it removes it. Tags and other refs are
 * refused as before.
 */
export function pushTarget(updates: readonly RefUpdate[], deployBranch: string | null, previews: boolean): PushTarget {
  if (!previews || updates.length !== 1) return { kind: 'deploy', ...deployTarget(updates, deployBranch) };
  const u = updates[0]!;
  const branch = u.ref.startsWith('refs/heads/') ? u.ref.slice('refs/heads/'.length) : undefined;
  const allowed = deployBranches(deployBranch);
  if (!branch || allowed.includes(branch)) return { kind: 'deploy', ...deployTarget(updates, deployBranch) };
  if (ZERO.test(u.new)) return { kind: 'preview-removal', branch };
  return { kind: 'preview', branch, commit: u.new };
}
