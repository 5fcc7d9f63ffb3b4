// What a forge's webhook delivery says, read from its raw bytes: which forge sent it, whether its
// signature (or token) is the app's secret's, its delivery id, and the branch a push moved. Pure
// functions; the secret and the MAC it gives are never part of what they return.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The forges whose deliveries are understood. Gitea covers Forgejo (it sends Gitea's headers too). */
export type Forge = 'github' | 'gitea' | 'gitlab' | 'bitbucket';

/** Request headers as Node gives them: lower-case names. */
export type Headers = Readonly<Record<string, string | string[] | undefined>>;

function header(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The outcome of checking a delivery against the secret; `reason` is for the log, never for the sender. */
export type Verdict = { ok: true; forge: Forge } | { ok: false; reason: string };

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** Whether `given` (hex, as sent) is HMAC-SHA256(secret, body), compared in constant time; false for any other shape. */
export function hmacMatches(secret: string, body: Buffer, given: string): boolean {
  if (!HEX_SHA256.test(given)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const sent = Buffer.from(given, 'hex');
  // Both are 32 bytes here (the shape was checked); timingSafeEqual refuses unequal lengths.
  return sent.length === expected.length && timingSafeEqual(sent, expected);
}

/** Whether a token sent in the clear (GitLab's) is the secret: both hashed first, so the comparison's time says nothing of either length. */
export function tokenMatches(secret: string, given: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(secret, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/**
 * Checks a delivery's signature against the app's secret, by the strongest header the delivery
 * carries: a header that is present and wrong fails the delivery (no falling back to another).
 * GitHub, Gitea and Forgejo sign with X-Hub-Signature-256 (`sha256=HEX`); Gitea also (older
 * versions only) with X-Gitea-Signature (`HEX`); Bitbucket Cloud with X-Hub-Signature
 * (`sha256=HEX`); GitLab sends the secret itself in X-Gitlab-Token.
 */
export function verifyDelivery(h: Headers, body: Buffer, secret: string): Verdict {
  const forge = forgeOf(h);
  const hub256 = header(h, 'x-hub-signature-256');
  if (hub256 !== undefined) {
    if (!hub256.startsWith('sha256=') || !hmacMatches(secret, body, hub256.slice(7))) return { ok: false, reason: 'X-Hub-Signature-256 does not match' };
    return { ok: true, forge: forge ?? 'github' };
  }
  const gitea = header(h, 'x-gitea-signature') ?? header(h, 'x-forgejo-signature');
  if (gitea !== undefined) {
    if (!hmacMatches(secret, body, gitea)) return { ok: false, reason: 'X-Gitea-Signature does not match' };
    return { ok: true, forge: 'gitea' };
  }
  const hub = header(h, 'x-hub-signature');
  if (hub !== undefined) {
    // Only SHA-256: a sha1= signature is refused rather than checked with a weaker MAC.
    if (!hub.startsWith('sha256=') || !hmacMatches(secret, body, hub.slice(7))) return { ok: false, reason: 'X-Hub-Signature does not match (only sha256= is accepted)' };
    return { ok: true, forge: forge ?? 'bitbucket' };
  }
  const token = header(h, 'x-gitlab-token');
  if (token !== undefined) {
    if (!tokenMatches(secret, token)) return { ok: false, reason: 'X-Gitlab-Token does not match' };
    return { ok: true, forge: 'gitlab' };
  }
  return { ok: false, reason: 'no signature header' };
}

/** Which forge the headers say sent the delivery (before anything is verified: only a hint). */
export function forgeOf(h: Headers): Forge | undefined {
  // Gitea and Forgejo send GitHub's headers too; theirs decide.
  if (header(h, 'x-gitea-event') !== undefined || header(h, 'x-forgejo-event') !== undefined || header(h, 'x-gitea-delivery') !== undefined) return 'gitea';
  if (header(h, 'x-gitlab-event') !== undefined || header(h, 'x-gitlab-token') !== undefined) return 'gitlab';
  if (header(h, 'x-github-event') !== undefined || header(h, 'x-github-delivery') !== undefined) return 'github';
  if (header(h, 'x-event-key') !== undefined || header(h, 'x-request-uuid') !== undefined) return 'bitbucket';
  return undefined;
}

/** Largest delivery id kept (ids are UUIDs or hex; anything longer is not one). */
const MAX_ID = 128;

/**
 * The delivery's id, for refusing a replay: the forge's own header, else (a forge that sends none,
 * such as an older GitLab) a hash of the body, so the same bytes twice are one delivery.
 */
export function deliveryId(forge: Forge, h: Headers, body: Buffer): string {
  const name = { github: 'x-github-delivery', gitea: 'x-gitea-delivery', gitlab: 'x-gitlab-event-uuid', bitbucket: 'x-request-uuid' }[forge];
  const id = header(h, name) ?? (forge === 'gitea' ? header(h, 'x-github-delivery') : undefined);
  if (id && id.length <= MAX_ID && /^[\x21-\x7e]+$/.test(id)) return `${forge}:${id}`;
  return `${forge}:sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/**
 * The key of the delivery's bytes: the same signed body is the same delivery whatever id header
 * comes with it, since the id header is not covered by the signature (anyone who saw a delivery
 * could send it again with a new id, or none).
 */
export function bodyKey(body: Buffer): string {
  return `body:sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/** One branch a push moved: its new commit (none when it was deleted). */
export interface PushedBranch {
  branch: string;
  commit: string | undefined;
  deleted: boolean;
}

/** What a verified delivery asks for; `pushedAt` (ms) when the forge signs the push's time. */
export type Event =
  /** A push; Bitbucket's may move several branches at once, the others' one. */
  | { kind: 'push'; branches: PushedBranch[]; pushedAt?: number }
  /** Not a push to a branch (a ping, a tag, an issue…): `what` names it for the answer. */
  | { kind: 'other'; what: string };

const ZERO = /^0+$/;

/** The event header's value, per forge. */
function eventName(forge: Forge, h: Headers): string {
  switch (forge) {
    case 'github': return header(h, 'x-github-event') ?? 'unknown';
    case 'gitea': return header(h, 'x-gitea-event') ?? header(h, 'x-forgejo-event') ?? header(h, 'x-github-event') ?? 'unknown';
    case 'gitlab': return header(h, 'x-gitlab-event') ?? 'unknown';
    case 'bitbucket': return header(h, 'x-event-key') ?? 'unknown';
  }
}

/**
 * The payload as JSON: GitHub may send it form-encoded (`payload=…`), every forge otherwise as a
 * JSON body. Undefined when it is neither.
 */
function payloadOf(body: Buffer, contentType: string | undefined): unknown {
  let text = body.toString('utf8');
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) text = new URLSearchParams(text).get('payload') ?? '';
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON: the caller answers that the payload could not be read.
    return undefined;
  }
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Obj : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * Reads what a verified delivery asks for: a push to which branches (and commits, or their
 * deletion), or something else. GitHub, Gitea and GitLab name the ref (`refs/heads/BRANCH`) and the
 * new commit (`after`, all zeros for a deleted branch); Bitbucket lists `push.changes[]`, each with
 * its `new` branch and its target (`new: null` and the `old` branch for a deleted one). Undefined
 * when the payload cannot be read.
 */
export function parseEvent(forge: Forge, h: Headers, body: Buffer): Event | undefined {
  const event = eventName(forge, h);
  const isPush = forge === 'bitbucket' ? event === 'repo:push' : forge === 'gitlab' ? event === 'Push Hook' : event === 'push';
  if (!isPush) return { kind: 'other', what: `a ${event} event` };
  const p = obj(payloadOf(body, header(h, 'content-type')));
  if (!p) return undefined;
  if (forge === 'bitbucket') return bitbucketPush(p);
  const ref = str(p.ref);
  if (!ref) return undefined;
  if (!ref.startsWith('refs/heads/')) return { kind: 'other', what: `a push to ${ref}` };
  const after = str(p.after);
  // A deleted branch: GitHub, Gitea and Forgejo say `deleted: true` (and an all-zero `after`);
  // GitLab says it only by the all-zero `after`.
  const deleted = (forge !== 'gitlab' && p.deleted === true) || (after !== undefined && ZERO.test(after));
  // GitHub's push payload carries the push's time (seconds), inside the signed bytes.
  const pushedAt = forge === 'github' ? obj(p.repository)?.pushed_at : undefined;
  return {
    kind: 'push', branches: [{ branch: ref.slice('refs/heads/'.length), commit: deleted ? undefined : after, deleted }],
    ...(typeof pushedAt === 'number' && Number.isFinite(pushedAt) ? { pushedAt: pushedAt * 1000 } : {}),
  };
}

/** Bitbucket Cloud's repo:push: each change's branch (`new`, or `old` for a deletion); tags are left out. */
function bitbucketPush(p: Obj): Event | undefined {
  const changes = obj(p.push)?.changes;
  if (!Array.isArray(changes)) return undefined;
  const branches: PushedBranch[] = [];
  for (const c of changes) {
    const next = obj(obj(c)?.new);
    const side = next ?? obj(obj(c)?.old);
    const name = str(side?.name);
    if (side?.type !== 'branch' || name === undefined) continue;
    branches.push({ branch: name, commit: str(obj(next?.target)?.hash), deleted: !next });
  }
  if (branches.length === 0) return { kind: 'other', what: 'a push of tags only' };
  return { kind: 'push', branches };
}
