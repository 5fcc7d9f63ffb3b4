// A forge's webhook delivery for an app (POST /hooks/APP): verified against the app's secret over
// the raw bytes, refused once seen (by delivery id or the body's hash), read for the branch it pushed, and turned
// into a sync job when it pushed the tracked branch; with previews on, another branch's push
// deploys its preview and its deletion destroys it. Nobody is logged in: the secret is the
// credential, and the job runs with the rights of the key that connected the app.
import { randomBytes } from 'node:crypto';
import { LockedError, UserError } from '../../errors.ts';
import type { Services } from '../../context.ts';
import { appName } from '../../names.ts';
import { log } from '../../output/log.ts';
import { bodyKey, deliveryId, parseEvent, verifyDelivery, type Forge, type Headers, type PushedBranch } from '../../forge/webhook.ts';
import type { JobRow } from '../../store/jobs.ts';
import { DELIVERY_RETENTION_MS, type SyncRow } from '../../store/syncs.ts';
import type { Identity } from '../../auth/identity.ts';
import { detached, ownerGone, startSync, syncIdentity } from './sync-run.ts';
import { previewBranchRefusal, startBranchPreview, startBranchRemoval } from './sync-previews.ts';

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

/**
 * The one answer for an unknown app, one not connected, one without a secret and a signature that
 * does not match: a 403 for the last alone told anyone which apps have a webhook.
 */
export const NOT_HERE_MESSAGE = "No webhook is set up at this address, or the delivery's signature does not match its secret.";
const NOT_HERE: DeliveryAnswer = { status: 404, message: NOT_HERE_MESSAGE, refused: true };

/** What a delivery to an app without a secret is checked against, so that its answer takes as long as a real check's. */
const NO_SECRET = randomBytes(32).toString('hex');

/** Handles one webhook delivery; never throws for anything the sender did. */
export function deliverWebhook(services: Services, d: Delivery): DeliveryAnswer {
  const { store } = services;
  let app: string | undefined;
  try {
    app = appName(d.app);
  } catch {
    // Not an app name, so no webhook here: the same answer as for any other.
    app = undefined;
  }
  const row = app === undefined ? undefined : store.syncs.get(app);
  // Checked even without a secret (against one nobody has), so no answer is quicker for an app without a webhook.
  const verdict = verifyDelivery(d.headers, d.body, row?.webhookSecret ?? NO_SECRET);
  if (!app || !row?.webhookSecret) {
    log.info('webhook refused: no webhook set up', { app: app ?? d.app.slice(0, 64), address: d.address });
    return NOT_HERE;
  }
  if (!verdict.ok) {
    // The reason names the header that failed, never the secret or the MAC it gives.
    log.warn('webhook refused: signature', { app, address: d.address, reason: verdict.reason });
    return NOT_HERE;
  }
  const { forge } = verdict;
  const event = parseEvent(forge, d.headers, d.body);
  if (!event) return { status: 400, message: `The ${forge} push payload could not be read (no ref, or not JSON).` };
  const id = deliveryId(forge, d.headers, d.body);
  // A signed push older than the deduplication remembers could be a replay of one forgotten.
  if (event.kind === 'push' && event.pushedAt !== undefined && Date.now() - event.pushedAt > DELIVERY_RETENTION_MS) {
    log.info('webhook refused: the push is older than deliveries are remembered', { app, address: d.address, delivery: id });
    return { status: 409, message: `This delivery is of a push older than ${DELIVERY_RETENTION_MS / 86_400_000} days; nothing was done.` };
  }
  // The id header is not signed: the body's hash is a key too, so the same bytes under a new id (or none) are a replay.
  const keys = [id, bodyKey(d.body)];
  if (!store.syncs.claimDelivery(app, keys)) {
    log.info('webhook replay refused', { app, address: d.address, delivery: id });
    return { status: 409, message: 'This delivery was received already; nothing was done.' };
  }
  if (event.kind === 'other') return { status: 202, message: `Nothing to do for ${event.what}: only pushes to ${row.branch} deploy.` };
  // With previews on, every branch the push moved counts: the tracked one deploys the app, the others their previews.
  const answer = store.previews.settings(app).enabled ? everyBranch(services, row, forge, id, event.branches) : trackedBranch(services, row, forge, id, event.branches);
  // Not done (a lock held, a refusal, the connecting key gone): the forge may deliver it again (its "redeliver"), so the id is given back.
  if (answer.again) store.syncs.releaseDelivery(app, keys);
  return { status: answer.status, message: answer.message, ...(answer.job ? { job: answer.job } : {}) };
}

/** What one branch of a push came to; `again` when nothing was done and delivering it again may do it. */
type BranchAnswer = DeliveryAnswer & { again?: boolean };

/** Previews off: only the tracked branch counts, the others are answered with the reason. */
function trackedBranch(services: Services, row: SyncRow, forge: Forge, id: string, branches: readonly PushedBranch[]): BranchAnswer {
  const pushed = branches.find((b) => b.branch === row.branch);
  if (!pushed) return { status: 202, message: `Nothing to do: the push moved ${branches.map((b) => b.branch).join(', ')}, and ${row.app} follows ${row.branch}.` };
  return syncTracked(services, row, forge, id, pushed);
}

/** Previews on: each branch the push moved (Bitbucket's may be several), answered together; the first job started is the answer's. */
function everyBranch(services: Services, row: SyncRow, forge: Forge, id: string, branches: readonly PushedBranch[]): BranchAnswer {
  const answers = branches.map((b) => (b.branch === row.branch ? syncTracked(services, row, forge, id, b) : previewBranch(services, row, forge, id, b)));
  if (answers.length === 1) return answers[0]!;
  const again = answers.find((a) => a.again);
  const job = answers.find((a) => a.job)?.job;
  return { status: again?.status ?? 202, message: answers.map((a) => a.message).join(' '), ...(job ? { job } : {}), again: again !== undefined };
}

/** The connecting key's identity, or the answer when it lost the app (recorded for sync:info). */
function identityOf(services: Services, row: SyncRow): { identity: Identity } | { answer: BranchAnswer } {
  const identity = syncIdentity(services, row);
  if (identity) return { identity };
  services.store.syncs.result(row.app, ownerGone(row));
  log.warn('webhook not run: the connecting key lost the app', { app: row.app, key: row.setBy });
  return { answer: { status: 409, message: "This app's sync cannot run now; sync:info on the server says why.", again: true } };
}

/** A push of the tracked branch: a sync of the app, as a job. */
function syncTracked(services: Services, row: SyncRow, forge: Forge, id: string, pushed: PushedBranch): BranchAnswer {
  const { store } = services;
  const { app } = row;
  if (pushed.deleted) return { status: 202, message: `Nothing to do: ${row.branch} was deleted; ${app} keeps running what it runs.` };
  const who = identityOf(services, row);
  if ('answer' in who) return who.answer;
  const { identity } = who;
  try {
    const started = startSync({ identity, services }, app, detached('webhook'));
    started.result.catch(() => {});
    log.info('webhook started a sync', { app, forge, delivery: id, job: started.job.id, commit: pushed.commit });
    return { status: 202, message: `Syncing ${row.branch}${pushed.commit ? ` (${pushed.commit.slice(0, 7)})` : ''} as job ${started.job.id}.`, job: started.job };
  } catch (err) {
    if (err instanceof LockedError) return { status: 409, message: `Another deploy of ${app} is in progress; deliver this again once it ended.`, again: true };
    if (err instanceof UserError) {
      log.warn('webhook could not start a sync', { app, err });
      store.syncs.result(app, `A webhook delivery could not start a sync: ${err.message}`);
      return { status: 503, message: 'The sync could not start on this server; sync:info on the server says why.', again: true };
    }
    throw err;
  }
}

/**
 * A push of another branch, with previews on: its preview deployed (sync-previews.ts, the push's
 * own preview deploy), or for a deleted branch, its preview destroyed and the branch deleted here.
 * A refusal (the limit, a branch that cannot have a preview) is the answer's sentence.
 */
function previewBranch(services: Services, row: SyncRow, forge: Forge, id: string, pushed: PushedBranch): BranchAnswer {
  const { app } = row;
  const { branch } = pushed;
  const refusal = previewBranchRefusal(services, row, branch);
  if (refusal) return { status: 202, message: `Nothing to do: ${refusal}` };
  const who = identityOf(services, row);
  if ('answer' in who) return who.answer;
  const { identity } = who;
  try {
    if (pushed.deleted) {
      const removal = startBranchRemoval(services, app, branch, `branch ${branch} deleted at the forge`);
      removal.done.then(
        (notes) => log.info('webhook removed a deleted branch and its preview', { app, branch, preview: removal.preview, notes }),
        (err: unknown) => log.warn('webhook could not remove a deleted branch\'s preview; the preview reconciler retries', { app, branch, err }),
      );
      return { status: 202, message: removal.preview ? `Destroying ${removal.preview}, the preview of ${branch}; ${branch} is deleted here too.` : `${branch} has no preview; it is deleted here too.` };
    }
    const started = startBranchPreview(services, row, identity, branch, detached('webhook'));
    started.result.catch(() => {});
    log.info('webhook started a preview sync', { app, forge, delivery: id, branch, job: started.job.id, commit: pushed.commit });
    return { status: 202, message: `Syncing ${branch}${pushed.commit ? ` (${pushed.commit.slice(0, 7)})` : ''} to its preview ${started.job.app} as job ${started.job.id}.`, job: started.job };
  } catch (err) {
    if (err instanceof LockedError) return { status: 409, message: `Another deploy of the preview of ${branch} is in progress; deliver this again once it ended.`, again: true };
    if (err instanceof UserError) {
      log.info('webhook refused a preview', { app, branch, reason: err.message });
      return { status: 409, message: err.message, again: true };
    }
    throw err;
  }
}
