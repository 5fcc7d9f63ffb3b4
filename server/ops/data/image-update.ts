// addons:update: a database moved to this server's image of its major version. A database's set
// keeps the image it was last applied with, so a newer Slipway (or a changed SLIPWAY_POSTGRES_IMAGE
// or SLIPWAY_VALKEY_IMAGE) reaches existing databases only when their owner chooses: the move
// restarts the database's one instance (a few seconds without it), on the same volumes. addons and
// addons:info say when a database runs another image than the server's. A database that does not
// come up on the new image is applied again with the image it ran, so it is as it was.
import { UserError } from '../../errors.ts';
import { log } from '../../output/log.ts';
import { requireDeployer } from '../../context.ts';
import { lockApp } from '../lock.ts';
import { existing, guardsOf, imageOf, serviceOf } from './addons.ts';
import type { Actor, Progress } from '../actor.ts';
import type { ImageUpdated } from '../../shapes/data.ts';

/** How long a database may take to accept connections again on its new image (and on its old one, put back). */
const UPDATE_TIMEOUT_MS = 180_000;


/**
 * addons:update: restarts the database `raw` of the app on this server's image of its kind and
 * major, on the same volumes, under the app's lock, and waits until it accepts connections; when it
 * does not, it is applied again with the image it ran and the error says so.
 */
export async function updateAddonImage(actor: Actor, app: string, raw: string, progress: Progress): Promise<ImageUpdated> {
  const deployer = requireDeployer(actor.services);
  const { store } = actor.services;
  const row = existing(actor.services, app, raw);
  const to = imageOf(actor.services, row.kind, row.version);
  const ca = store.data.ca(app);
  if (!ca) throw new Error(`${app} has databases but no data certificate authority`);
  const t = progress.transcript;
  const unlock = lockApp(actor.services, app, `addons:update by ${actor.identity.name}`);
  try {
    const current = existing(actor.services, app, row.name);
    const state = (await deployer.data.states(app)).find((s) => s.name === current.name);
    if (!state) throw new UserError(`${current.name} is not on the cluster (addons:info ${app} ${current.name} shows its state); nothing was changed.`);
    const from = state.image ?? 'an unknown image';
    if (state.image === to) {
      return { name: current.name, from, to, changed: false };
    }
    const service = serviceOf(actor.services, app, current, ca.cert);
    const guards = guardsOf(actor.services, app);
    t.step(`Moving ${current.name} from ${from} to ${to} (it restarts on the same volumes)`);
    try {
      await deployer.data.apply(service, guards, { transcript: t, signal: progress.signal, timeoutMs: UPDATE_TIMEOUT_MS });
    } catch (err) {
      if (state.image === null) throw err;
      t.step(`${current.name} did not come up on ${to}: putting ${state.image} back`);
      try {
        await deployer.data.apply({ ...service, image: state.image }, guards, { transcript: t, signal: progress.signal, timeoutMs: UPDATE_TIMEOUT_MS });
      } catch (back) {
        log.error('a database whose image update failed did not come back on its old image', { app, name: current.name, err: back, cause: err });
        throw new UserError(`${current.name} did not come up on ${to}, nor again on ${state.image}; addons:info ${app} ${current.name} shows its state.`, { cause: err });
      }
      throw new UserError(`${current.name} did not come up on ${to} (${err instanceof Error ? err.message : String(err)}); it runs ${state.image} again.`, { cause: err });
    }
    t.detail(`${current.name} accepts connections on ${to}.`);
    return { name: current.name, from, to, changed: true };
  } finally {
    unlock();
  }
}
