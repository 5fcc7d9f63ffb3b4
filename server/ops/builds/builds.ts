// Builds: the list, one build's full log, the builder image an app builds with, a rebuild of the
// deployed commit (through rollOut, as every rollout), and dropping an app's build cache.
import { readFile } from 'node:fs/promises';
import { NotFoundError, UserError } from '../../errors.ts';
import { shown } from '../../names.ts';
import { buildAndDeploy, builderFor, sourceRepo } from './build-and-deploy.ts';
import { requireBackends, requireBuilder } from '../../context.ts';
import { rollOut } from '../rollout.ts';
import { requireAdmin } from '../access.ts';
import { git } from '../../git.ts';
import type { Actor, Progress } from '../actor.ts';
import type { BuildSummary } from '../../shapes/builds.ts';

/** builds --json: the app's builds, newest first. */
export function listBuilds(actor: Actor, app: string): BuildSummary[] {
  return actor.services.store.builds.list(app).map(({ logFile: _path, ...b }) => b);
}

/** builds:output: one build's whole log (default: the latest), as text. */
export async function buildOutput(actor: Actor, app: string, id?: number): Promise<{ id: number; text: string }> {
  const { store } = actor.services;
  const build = id === undefined ? store.builds.latest(app) : store.builds.get(app, id);
  if (!build) throw new UserError(id === undefined ? `${app} has no builds yet.` : `${app} has no build ${id}.`);
  const text = await readFile(build.logFile, 'utf8').catch((err: unknown) => {
    throw new UserError(`The log of build ${build.id} is gone.`, { cause: err });
  });
  return { id: build.id, text };
}

// Builder images are references like heroku/builder:24 or host:5000/team/builder@sha256:…
const IMAGE = /^[a-z0-9][a-z0-9._-]*(:[0-9]+)?(\/[a-z0-9][a-z0-9._-]*)*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[0-9a-f]{64})?$/;

/** builder:set (admins only): the builder image of one app, or (no app) of every app without its own; null goes back to the default. */
export function setBuilder(actor: Actor, rawApp: string | undefined, image: string | null): { app: string | null; builder: string } {
  requireAdmin(actor, 'Only admins may run builder:set.');
  const { store, config } = actor.services;
  if (image !== null && !IMAGE.test(image)) throw new UserError(`${shown(image)} is not an image reference.`);
  if (rawApp === undefined) {
    store.settings.set('builder', image);
    return { app: null, builder: image ?? config.builderImage };
  }
  // Only valid names are ever stored, so an app found is a valid name.
  const app = rawApp;
  if (!store.apps.get(app)) throw new NotFoundError(shown(app));
  store.apps.setBuilder(app, image);
  return { app, builder: builderFor(actor.services, app) };
}

/** apps:rebuild: builds the deployed commit again and deploys it, as a push would; resolves with the new release. */
export async function rebuild(actor: Actor, app: string, progress: Progress): Promise<{ commit: string; release: number }> {
  const { store } = actor.services;
  const commit = store.releases.current(app)?.commit;
  if (!commit) throw new UserError(`${app} has no deployed commit to rebuild; push first.`);
  const backends = requireBackends(actor.services);
  await git(['cat-file', '-e', `${commit}^{commit}`], { cwd: sourceRepo(actor.services, app) });
  const release = await rollOut(actor, app, 'apps:rebuild', progress, (p) =>
    buildAndDeploy(actor.services, { app, commit, description: `Rebuild ${commit.slice(0, 7)}`, quarantine: {}, by: actor.identity, transcript: p.transcript, signal: p.signal, backends }));
  return { commit, release };
}

/** repo:purge-cache: drops the app's build cache (the next build starts cold). */
export async function purgeCache(actor: Actor, app: string): Promise<void> {
  await requireBuilder(actor.services).purgeCache(app);
}
