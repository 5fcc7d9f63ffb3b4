// Who may do what, decided once for every adapter (SSH commands, the local CLI, the HTTP API):
// an app is used by admins and by keys granted it; admin operations by admins only.
import { ForbiddenError, NotFoundError, UserError } from '../errors.ts';
import { appName, shown } from '../names.ts';
import { mayUseApp, reachesAllApps } from '../auth/access.ts';
import type { Identity } from '../auth/identity.ts';
import type { Services } from '../context.ts';

/** What an access check reads: who asks, and the store. */
interface Asker {
  identity: Identity;
  services: Pick<Services, 'store'>;
}

/**
 * authorizeApp for an app that has a repository of its own: a preview app has none (its branch is
 * in its parent's), so it is refused with the sentence saying where to push.
 */
export function authorizeRepo(actor: Asker, raw: string): string {
  const app = authorizeApp(actor, raw);
  const preview = actor.services.store.previews.get(app);
  if (preview) throw new UserError(`${app} is a preview of ${preview.parent} and has no repository of its own: push to ${preview.parent} (git push paas ${preview.branch}).`);
  return app;
}

/**
 * The app `raw` names, validated, when the actor may use it; otherwise the one sentence that
 * does not tell a non-admin whether the app exists.
 */
export function authorizeApp(actor: Asker, raw: string): string {
  const app = appName(raw);
  if (!mayUseApp(actor.services.store, actor.identity, app)) throw new NotFoundError(shown(app), { orNoAccess: !reachesAllApps(actor.identity) });
  return app;
}

/** Refuses a non-admin with `refusal`, the sentence that says what only admins may do. */
export function requireAdmin(actor: Pick<Asker, 'identity'>, refusal: string): void {
  if (!actor.identity.admin) throw new ForbiddenError(refusal);
}

/** The app an admin operation names: valid and existing (admins see every app, so no hiding). */
export function existingApp(actor: Pick<Asker, 'services'>, raw: string): string {
  const app = appName(raw);
  if (!actor.services.store.apps.get(app)) throw new NotFoundError(shown(app));
  return app;
}
