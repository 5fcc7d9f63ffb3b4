import { renderError, type Rendered } from '../errors.ts';
import { log } from './log.ts';

/**
 * The one failure rule every entry point follows (SSH, HTTP, the hook socket, commands, the
 * server's start-up, the local CLI): a user error is one sentence, exit 1 (usage: 2), logged at
 * info; anything else is "internal error" with an id, exit 70, and the id and stack go to the log
 * at error level, so the id the user sees is always findable there.
 */
export function reportFailure(err: unknown, what: string, fields: Record<string, unknown> = {}): Rendered {
  const r = renderError(err);
  if (r.id) log.error(what, { id: r.id, ...fields, err });
  else log.info(what, { ...fields, reason: r.message });
  return r;
}
