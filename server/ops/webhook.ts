// A forge's webhook delivery for an app (POST /hooks/APP): verified against the app's secret over
// the raw bytes, refused once seen (by delivery id), read for the branch it pushed, and turned
// into a sync job when it pushed the tracked branch. Nobody is logged in: the secret is the
// credential, and the job runs with the rights of the key that connected the app.
import { LockedError, UserError } from '../errors.ts';
import type { Services } from '../context.ts';
import { appName } from '../names.ts';
import { log } from '../output/log.ts';
import { deliveryId, parseEvent, verifyDelivery, type Headers } from '../forge/webhook.ts';
import type { JobRow } from '../store/jobs.ts';
import { detached, ownerGone, startSync, syncIdentity } from './sync-run.ts';

/** One delivery as the transport received it. */
export interface Delivery {
  /** The app as the path names it (not yet validated). */
  app: string;
  headers: Headers;
  /** The body's bytes exactly as received: what the signature covers. */
  body: Buffer;
  /** The sender's address, for the log and the throttle. */
  address: string;
}

/** The answer: status and one sentence; `refused` when it counts as a failed verification (the throttle's business). */
export interface DeliveryAnswer {
  status: number;
  message: string;
  job?: JobRow;
  refused?: boolean;
}

/** The same answer for an unknown app, one not connected and one without a secret: nothing to learn from it. */
const NOT_HERE: DeliveryAnswer = { status: 404, message: 'No webhook is set up at this address.', refused: true };
const BAD_SIGNATURE: DeliveryAnswer = { status: 403, message: "The delivery's signature is missing or does not match this webhook's secret.", refused: true };

/** Handles one webhook delivery; never throws for anything the sender did. */
export function deliverWebhook(services: Services, d: Delivery): DeliveryAnswer {
  const { store } = services;
  let app: string;
  try {
    app = appName(d.app);
  } catch {
    // Not an app name, so no webhook here: the same answer as for any other.
    return NOT_HERE;
  }
  const row = store.syncs.get(app);
  if (!row?.webhookSecret) {
    log.info('webhook refused: no webhook set up', { app, address: d.address });
    return NOT_HERE;
  }
  const verdict = verifyDelivery(d.headers, d.body, row.webhookSecret);
  if (!verdict.ok) {
    // The reason names the header that failed, never the secret or the MAC it gives.
    log.warn('webhook refused: signature', { app, address: d.address, reason: verdict.reason });
    return BAD_SIGNATURE;
  }
  const { forge } = verdict;
  const event = parseEvent(forge, d.headers, d.body);
  if (!event) return { status: 400, message: `The ${forge} push payload could not be read (no ref, or not JSON).` };
  const id = deliveryId(forge, d.headers, d.body);
  if (!store.syncs.claimDelivery(app, id)) {
    log.info('webhook replay refused', { app, address: d.address, delivery: id });
    return { status: 409, message: 'This delivery was received already; nothing was done.' };
  }
  if (event.kind === 'other') return { status: 202, message: `Nothing to do for ${event.what}: only pushes to ${row.branch} deploy.` };
  const pushed = event.branches.find((b) => b.branch === row.branch);
  if (!pushed) return { status: 202, message: `Nothing to do: the push moved ${event.branches.map((b) => b.branch).join(', ')}, and ${app} follows ${row.branch}.` };
  if (pushed.deleted) return { status: 202, message: `Nothing to do: ${row.branch} was deleted; ${app} keeps running what it runs.` };
  const identity = syncIdentity(services, row);
  if (!identity) {
    store.syncs.result(app, ownerGone(row));
    log.warn('webhook not run: the connecting key lost the app', { app, key: row.setBy });
    store.syncs.releaseDelivery(app, id);
    return { status: 409, message: "This app's sync cannot run now; sync:info on the server says why." };
  }
  try {
    const started = startSync({ identity, services }, app, detached('webhook'));
    started.result.catch(() => {});
    log.info('webhook started a sync', { app, forge, delivery: id, job: started.job.id, commit: pushed.commit });
    return { status: 202, message: `Syncing ${row.branch}${pushed.commit ? ` (${pushed.commit.slice(0, 7)})` : ''} as job ${started.job.id}.`, job: started.job };
  } catch (err) {
    // Not started: the forge may deliver it again (its "redeliver"), so the id is given back.
    store.syncs.releaseDelivery(app, id);
    if (err instanceof LockedError) return { status: 409, message: `Another deploy of ${app} is in progress; deliver this again once it ended.` };
    if (err instanceof UserError) {
      log.warn('webhook could not start a sync', { app, err });
      store.syncs.result(app, `A webhook delivery could not start a sync: ${err.message}`);
      return { status: 503, message: 'The sync could not start on this server; sync:info on the server says why.' };
    }
    throw err;
  }
}
