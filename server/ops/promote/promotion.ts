// What a promotion changes in its target, decided and said without touching anything: the source
// versions between the two apps, config keys only one of them has (names only: values are
// secrets), process types added or removed, and whether that needs the target confirmed.
import { RELEASE_TYPE } from '../../deploy/workload.ts';

/** Most commits a promotion lists before saying how many more there are. */
export const MAX_LISTED_COMMITS = 20;

/** One commit as the summary lists it. */
export interface CommitLine { sha: string; subject: string }

/** How the target's source version and the staging one relate, as far as Slipway's repositories tell. */
export type SourceChange =
  /** The target runs no commit yet (no release, or one without a commit). */
  | { kind: 'first'; to: string | null }
  | { kind: 'same'; commit: string }
  /** One app's repository holds both commits: the commits `to` adds, and how many of `from`'s it lacks. */
  | { kind: 'log'; from: string; to: string; commits: CommitLine[]; count: number; dropped: number }
  /** Neither repository holds both: only the two versions. */
  | { kind: 'versions'; from: string; to: string | null };

/** What a promotion changes in one target. */
export interface PromotionChanges {
  source: SourceChange;
  /** Config var names set in only one of the two apps (sorted). */
  config: { onlyStaging: string[]; onlyTarget: string[] };
  /** Process types the staging release has and the target's lacks, and the reverse (the release phase aside). */
  processes: { added: string[]; removed: string[] };
}

/** Config var names only one side has, sorted; values are never looked at. */
export function configKeyDiff(staging: Readonly<Record<string, string>>, target: Readonly<Record<string, string>>): PromotionChanges['config'] {
  const only = (a: object, b: object) => Object.keys(a).filter((k) => !Object.hasOwn(b, k)).sort();
  return { onlyStaging: only(staging, target), onlyTarget: only(target, staging) };
}

/** Process types added and removed going from `current` (the target's, none before its first release) to `next`. */
export function processTypeDiff(current: readonly { type: string }[], next: readonly { type: string }[]): PromotionChanges['processes'] {
  const types = (list: readonly { type: string }[]) => new Set(list.map((p) => p.type).filter((t) => t !== RELEASE_TYPE));
  const before = types(current);
  const after = types(next);
  return { added: [...after].filter((t) => !before.has(t)).sort(), removed: [...before].filter((t) => !after.has(t)).sort() };
}

/** Parses `git log --format=%h %s` output into commit lines. */
export function parseLog(text: string): CommitLine[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => {
    const space = l.indexOf(' ');
    return space < 0 ? { sha: l, subject: '' } : { sha: l.slice(0, space), subject: l.slice(space + 1) };
  });
}

/** A short SHA as git prints one. */
export function short(sha: string): string {
  return sha.slice(0, 7);
}

/** A commit subject safe for a terminal: control characters (escape sequences) become `?`. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** The refusal when a promotion would remove process types from a target not confirmed; undefined when it may go ahead. */
export function confirmRefusal(staging: string, target: string, changes: PromotionChanges, confirmed: readonly string[]): string | undefined {
  const { removed } = changes.processes;
  if (removed.length === 0 || confirmed.includes(target)) return undefined;
  const types = removed.length === 1 ? `process type ${removed[0]}` : `process types ${removed.join(', ')}`;
  return `Promoting ${staging} to ${target} removes its ${types} and stops what runs there, so nothing was promoted: confirm with --confirm ${target}.`;
}

/** The detail lines a promotion says before it runs: commits, config key names, process types. */
export function describeChanges(staging: string, target: string, changes: PromotionChanges): string[] {
  const lines: string[] = [];
  const s = changes.source;
  if (s.kind === 'first') lines.push(`Commit: ${s.to ? short(s.to) : 'none recorded'} (${target} runs no earlier commit)`);
  else if (s.kind === 'same') lines.push(`Commit: ${short(s.commit)}, the one ${target} runs already`);
  else if (s.kind === 'versions') lines.push(`Commits: ${short(s.from)} -> ${s.to ? short(s.to) : 'none recorded'} (the commits between are in neither app's repository)`);
  else {
    lines.push(`Commits: ${short(s.from)} -> ${short(s.to)}${s.count ? `, ${s.count} new:` : ', none new'}`);
    for (const c of s.commits) lines.push(`  ${c.sha} ${printable(c.subject)}`);
    if (s.count > s.commits.length) lines.push(`  ... and ${s.count - s.commits.length} more`);
    if (s.dropped) lines.push(`${s.dropped} ${s.dropped === 1 ? 'commit' : 'commits'} ${target} runs ${s.dropped === 1 ? 'is' : 'are'} not in ${staging}'s version and go${s.dropped === 1 ? 'es' : ''} away`);
  }
  const { onlyStaging, onlyTarget } = changes.config;
  if (onlyStaging.length === 0 && onlyTarget.length === 0) lines.push('Config keys: the same names in both apps');
  if (onlyStaging.length) lines.push(`Config keys only in ${staging}: ${onlyStaging.join(', ')}`);
  if (onlyTarget.length) lines.push(`Config keys only in ${target}: ${onlyTarget.join(', ')}`);
  const { added, removed } = changes.processes;
  if (added.length === 0 && removed.length === 0) lines.push('Process types: unchanged');
  if (added.length) lines.push(`Process types added: ${added.join(', ')}`);
  if (removed.length) lines.push(`Process types removed: ${removed.join(', ')}`);
  return lines;
}
