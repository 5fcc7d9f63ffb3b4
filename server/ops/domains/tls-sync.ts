// Keeps each app's HTTPS routing in step with its certificates while nobody is looking: a host
// whose certificate cert-manager issues after the push (a domain added later, DNS that took a
// while, a renewal after a failure) moves to the TLS Ingress and gets its redirect within one
// period, without a push or a `certs` command. Apps with a deploy in progress are left to it.
import type { Services } from '../../context.ts';
import { log } from '../../output/log.ts';
import { deployable } from '../releases/release.ts';

/** One round of the sync (a background round, ops/server-rounds.ts); a host failing again is logged once. */
export function tlsSyncRound(services: Services): () => Promise<void> {
  const failing = new Set<string>();
  return async () => {
    const deployer = services.deployer;
    if (!deployer) return;
    for (const app of services.store.apps.list()) {
      if (app.lock) continue;
      const current = services.store.releases.current(app.name);
      if (!current?.image) continue;
      const d = deployable(services, current);
      if (!d.tls) continue;
      try {
        if (await deployer.tls.refreshTls(d)) log.info('HTTPS routing follows a changed certificate', { app: app.name });
        failing.delete(app.name);
      } catch (err) {
        // Once per failure, not every period.
        if (!failing.has(app.name)) log.warn('could not sync HTTPS routing', { app: app.name, err });
        failing.add(app.name);
      }
    }
  };
}
