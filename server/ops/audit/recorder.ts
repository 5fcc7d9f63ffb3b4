// The audit recorder: the one place entries are written. Adapters (the command dispatcher, the
// API, the push hand-over, the webhook endpoint, the transports' logins) and the server's own
// rounds call it with what happened; it adds the time and the chain.
import type { AuditInput, AuditInterface, AuditOutcome, AuditRecorder, Services } from '../../context.ts';
import { ForbiddenError, NotFoundError, UserError } from '../../errors.ts';
import { log } from '../../output/log.ts';
import type { Identity } from '../../auth/identity.ts';
import type { Store } from '../../store/index.ts';
import type { AuditRow } from '../../store/audit.ts';
import { canonicalJson, entryHash, GENESIS } from './chain.ts';
import { credentialOf } from '../../auth/credential.ts';

/** The longest text kept in one field of an entry (a command line, an object name). */
const MAX_FIELD = 512;

const clip = (s: string | null | undefined): string | null => (s === undefined || s === null ? null : s.length > MAX_FIELD ? s.slice(0, MAX_FIELD) + '…' : s);

/** Writes entries to the store's chain. */
export class AuditLog implements AuditRecorder {
  readonly #store: Store;
  readonly #clock: () => Date;
  readonly #listeners = new Set<(row: AuditRow) => void>();

  constructor(store: Store, clock: () => Date = () => new Date()) {
    this.#store = store;
    this.#clock = clock;
  }

  /**
   * Calls `listener` with every entry once it is stored (an off-box copy, such as a global drain,
   * catches a log cut short); returns the function that stops it. A listener that throws is logged.
   */
  onEntry(listener: (row: AuditRow) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Appends one entry; returns it as stored. */
  record(entry: AuditInput): AuditRow {
    const meta = canonicalJson(entry.meta ?? {});
    const stored = this.#store.audit.append((head) => {
      const row: Omit<AuditRow, 'hash'> = {
        seq: (head?.seq ?? 0) + 1,
        at: this.#clock().toISOString(),
        actor: clip(entry.actor) ?? 'unknown',
        credential: clip(entry.credential),
        interface: entry.interface,
        source: clip(entry.source),
        action: clip(entry.action) ?? '',
        app: clip(entry.app),
        object: clip(entry.object),
        outcome: entry.outcome,
        job: entry.job ?? null,
        meta,
        prev: head?.hash ?? GENESIS,
      };
      return { ...row, hash: entryHash(row) };
    });
    for (const listener of this.#listeners) {
      try {
        listener(stored);
      } catch (err) {
        log.error('an audit entry listener failed', { err, seq: stored.seq });
      }
    }
    return stored;
  }
}

/** Who an identity is, for an entry: its key, how it proved it, where it came in and from where. */
export function actorOf(store: Store, identity: Identity, over?: AuditInterface): Pick<AuditInput, 'actor' | 'credential' | 'interface' | 'source'> {
  const iface: AuditInterface = over ?? (identity.via === 'ssh' ? 'ssh' : identity.via === 'local' ? 'cli' : identity.session ? 'dashboard' : 'api');
  return { actor: identity.name, credential: credentialOf(identity, (hash) => store.audit.tokenName(hash)), interface: iface, source: identity.source ?? null };
}

/**
 * A command line's words as an entry keeps them: a `KEY=VALUE` word keeps only its key (config
 * values never reach the log), and a URL loses its user name and password.
 */
export function redactWords(words: readonly string[]): string[] {
  return words.map((w) => {
    // Any word with `=` that is not an option, whatever its key looks like (a bad key is still a value's neighbour).
    const eq = w.indexOf('=');
    if (eq > 0 && !w.startsWith('-')) return `${w.slice(0, eq)}=…`;
    return w.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1…@');
  });
}

/**
 * A request body as an entry keeps it: its field names only, and for a field that is an object
 * (config's `set`), that object's keys, never a value.
 */
export function bodyNames(body: unknown): Record<string, true | string[]> | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const out: Record<string, true | string[]> = {};
  for (const [k, v] of Object.entries(body)) out[k] = v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v).slice(0, 100) : true;
  return out;
}

/**
 * Records an entry where a failure to record must not undo what was done (the change already
 * happened, or the refusal was already answered): the failure is logged as an error, loudly, with
 * the entry's action, and the caller goes on.
 */
export function recordAfter(services: Pick<Services, 'audit'>, entry: AuditInput): void {
  try {
    services.audit.record(entry);
  } catch (err) {
    log.error('an audit entry could not be recorded', { err, action: entry.action, actor: entry.actor, app: entry.app });
  }
}

/** How a refused or failed request ended: `denied` for a refusal of rights (admins only, an app the caller may not use), else `failed`. */
export function outcomeOfError(err: unknown, store: Pick<Store, 'apps'>, app: string | null | undefined): AuditOutcome {
  if (err instanceof ForbiddenError) return 'denied';
  // The same sentence answers "no such app" and "not yours": an app that exists means the latter.
  if (err instanceof NotFoundError && app && store.apps.get(app) !== undefined) return 'denied';
  return 'failed';
}

/** The one sentence an entry keeps of a failure (a user error's message; an internal error's name only). */
export function failureText(err: unknown): string {
  if (err instanceof UserError) return err.message.slice(0, 300);
  return 'internal error';
}
