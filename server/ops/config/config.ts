// An app's config vars: read them, and change them (a new release with the same image and the
// new config rolls out when the app runs; a failed rollout takes the change back).
import { UserError } from '../../errors.ts';
import { configKey, configValue } from '../../names.ts';
import { configLines, parseConfigLines, type ExportFormat } from './config-format.ts';
import { releaseAndDeploy } from '../releases/release.ts';
import { changeSetting } from '../rollout.ts';
import type { Actor, Progress } from '../actor.ts';
import type { ConfigVars } from '../../shapes/config.ts';

/** config --json: every config var of the app, values included (the adapter checked the caller may read them). */
export function getConfig(actor: Actor, app: string): ConfigVars {
  return actor.services.store.config.all(app);
}

/** config:get: one value, or the sentence saying it is not set. */
export function getConfigValue(actor: Actor, app: string, rawKey: string): string {
  const key = configKey(rawKey);
  const vars = actor.services.store.config.all(app);
  if (!Object.hasOwn(vars, key)) throw new UserError(`${key} is not set for ${app}.`);
  return vars[key]!;
}

/** config:export: the app's config vars as lines config:import reads back exactly. */
export function exportConfig(actor: Actor, app: string, format: ExportFormat = 'shell'): string[] {
  return configLines(getConfig(actor, app), format);
}

/**
 * config:import: every var in `text` (config:export's lines) set in one change, so one release
 * rolls them all out; a malformed line refuses the whole input before anything is written.
 * Vars the input does not name stay as they are.
 */
export async function importConfig(actor: Actor, app: string, text: string, opts: { restart?: boolean }, progress: Progress): Promise<ConfigResult> {
  const set = parseConfigLines(text);
  if (Object.keys(set).length === 0) throw new UserError('The input has no KEY=VALUE lines; nothing was changed.');
  return setConfig(actor, app, { set, ...(opts.restart === false ? { restart: false } : {}) }, progress);
}

/** A change of config vars: values to set, names to remove, and whether to roll it out (default yes). */
export interface ConfigChange {
  set?: Readonly<Record<string, string>>;
  unset?: readonly string[];
  /** false: only store it; the next deploy uses it. */
  restart?: boolean;
}

/** What a config change did: the names set and removed, and the release that rolled it out (null: only stored). */
export interface ConfigResult {
  set: string[];
  unset: string[];
  release: number | null;
}

/** Validates a change, every key and value before anything is written; keys as data, never the prototype. */
function validChange(change: ConfigChange): { set: Record<string, string>; unset: string[] } {
  const set = new Map<string, string>();
  for (const [k, v] of Object.entries(change.set ?? {})) {
    const key = configKey(k);
    if (typeof v !== 'string') throw new UserError(`The value of ${key} must be text.`);
    set.set(key, configValue(key, v));
  }
  const unset = [...new Set((change.unset ?? []).map((k) => configKey(k)))];
  const both = unset.find((k) => set.has(k));
  if (both !== undefined) throw new UserError(`${both} is both set and unset; do one or the other.`);
  if (set.size === 0 && unset.length === 0) throw new UserError('Nothing to change: give config vars to set or unset.');
  return { set: Object.fromEntries(set), unset };
}

/** The release's description: `Set A, B config vars`, `Remove C config vars`, or both. */
function describe(set: readonly string[], unset: readonly string[]): string {
  const parts = [set.length ? `Set ${set.join(', ')} config vars` : '', unset.length ? `Remove ${unset.join(', ')} config vars` : ''];
  return parts.filter(Boolean).join('; ');
}

/**
 * config:set and config:unset: stores the change and, when the app runs a release and a cluster
 * is configured, rolls out a new release with it (same image, new config). If that release does
 * not become ready the deployer restores the previous one, and the change is taken back too: the
 * stored config stays what runs, as after a failed push.
 */
export async function setConfig(actor: Actor, app: string, change: ConfigChange, progress: Progress): Promise<ConfigResult> {
  const { set, unset } = validChange(change);
  const { store } = actor.services;
  const keys = { set: Object.keys(set), unset };
  if (change.restart === false) {
    store.config.change(app, set, unset);
    actor.services.events.publish({ type: 'app', app, change: 'config' });
    return { ...keys, release: null };
  }
  let before: Record<string, string> = {};
  let release: number | null = null;
  await changeSetting(actor, app, {
    what: keys.set.length === 0 ? 'config:unset' : 'config:set',
    write: () => {
      before = store.config.all(app);
      store.config.change(app, set, unset);
    },
    undo: () => {
      const touched = [...Object.keys(set), ...unset];
      store.config.change(app, Object.fromEntries(touched.filter((k) => Object.hasOwn(before, k)).map((k) => [k, before[k]!])), touched.filter((k) => !Object.hasOwn(before, k)));
    },
    apply: async (current, p, deployer) => {
      const { release: r } = await releaseAndDeploy(actor.services, app, { description: describe(keys.set, unset), commit: current.commit, image: current.image!, processes: current.processes, config: store.config.all(app), checks: current.checks, cron: current.cron, createdBy: actor.identity.name }, { transcript: p.transcript, signal: p.signal, describe: true, runRelease: true, deployer });
      release = r.version;
    },
  }, progress);
  actor.services.events.publish({ type: 'app', app, change: 'config' });
  return { ...keys, release };
}
