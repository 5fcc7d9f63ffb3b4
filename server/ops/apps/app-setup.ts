// What app.json sets up on an app's first deploy (no release has succeeded yet), as Heroku's app
// setup and Dokku do: config vars from `env` before the build (so the build sees them), process
// counts from `formation` once the image says which types exist. Later pushes leave both alone:
// from then on config:set and ps:scale own them. A first push that fails takes both back, so the
// next one starts from the same place.
import { randomBytes } from 'node:crypto';
import { UserError } from '../../errors.ts';
import type { Services } from '../../context.ts';
import type { Transcript } from '../../output/transcript.ts';
import { putOwn, type AppJson, type EnvEntry, type FormationEntry } from './app-json.ts';
import { checkScale } from '../processes/ps.ts';
import { RELEASE_TYPE } from '../../deploy/workload.ts';

/** Heroku's `generator: "secret"`: 32 random bytes as 64 hex characters. */
export function generateSecret(): string {
  return randomBytes(32).toString('hex');
}

/** The config vars `env` adds to `current`: values and generated secrets of keys not set yet. Refuses, naming them, required keys with neither. */
export function envToSet(app: string, env: Readonly<Record<string, EnvEntry>>, current: Readonly<Record<string, string>>, secret: () => string = generateSecret): Record<string, string> {
  const set: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, e] of Object.entries(env)) {
    if (Object.hasOwn(current, key)) continue;
    if (e.value !== undefined) putOwn(set, key, e.value);
    else if (e.generator === 'secret') putOwn(set, key, secret());
    else if (e.required) missing.push(key);
  }
  if (missing.length) {
    const [one, them] = missing.length === 1 ? ['is', 'it'] : ['are', 'them'];
    const names = missing.length === 1 ? missing[0] : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}`;
    throw new UserError(`Push rejected: app.json requires ${names}, which ${one} not set; set ${them} with config:set ${app} ${missing[0]}=… and push again (nothing was deployed).`);
  }
  return set;
}

/** The counts `formation` sets, each checked as ps:scale checks it against the image's process types. */
export function formationToSet(formation: Readonly<Record<string, FormationEntry>>, types: readonly string[]): Record<string, number> {
  const set: Record<string, number> = {};
  for (const [type, e] of Object.entries(formation)) {
    if (e.quantity === undefined) continue;
    try {
      checkScale(type, e.quantity, types);
    } catch (err) {
      throw new UserError(`Push rejected: app.json formation.${type}: ${(err as Error).message.replace(/\.$/, '')}; nothing was deployed.`, { cause: err });
    }
    set[type] = e.quantity;
  }
  return set;
}

/** A first deploy's app.json setup in progress: the formation to apply once built, and the way back. */
export interface AppSetup {
  /** Stores the formation's counts (as ps:scale would) for the built process types; call before the release. */
  applyFormation(processes: readonly { type: string }[]): void;
  /** Takes back what was written (the push failed). */
  undo(): void;
}

const NOTHING: AppSetup = { applyFormation: () => {}, undo: () => {} };

/**
 * Starts app.json's setup of a first deploy: sets the config vars of `env` at once (refusing, with
 * nothing written, a required key that has no value) and returns the rest. On any later deploy it
 * does nothing.
 */
export function startAppSetup(services: Pick<Services, 'store'>, app: string, appJson: Pick<AppJson, 'env' | 'formation'>, t: Transcript): AppSetup {
  const { store } = services;
  if (store.releases.current(app)) return NOTHING;
  const set = envToSet(app, appJson.env, store.config.all(app));
  const added = Object.keys(set);
  if (added.length) {
    t.step('Setting config vars from app.json');
    for (const key of added) t.detail(`${key}${appJson.env[key]?.value === undefined ? ' (generated secret)' : ''}`);
    store.config.change(app, set, []);
  }
  let formationBefore: Record<string, number> | undefined;
  return {
    applyFormation: (processes) => {
      const types = processes.map((p) => p.type).filter((type) => type !== RELEASE_TYPE);
      const counts = formationToSet(appJson.formation, types);
      const sized = Object.entries(appJson.formation).filter(([, e]) => e.size !== undefined);
      if (sized.length) {
        t.detail(`app.json formation sizes are not used (${sized.map(([type, e]) => `${type}: ${e.size}`).join(', ')}); set memory and CPU with resource:limit ${app}`);
      }
      if (Object.keys(counts).length === 0) return;
      formationBefore = store.formation.all(app);
      store.formation.set(app, counts);
      t.detail(`Process counts from app.json formation: ${Object.entries(counts).map(([type, n]) => `${type}=${n}`).join(', ')}`);
    },
    undo: () => {
      if (added.length) store.config.change(app, {}, added);
      if (formationBefore) store.formation.replace(app, formationBefore);
    },
  };
}
