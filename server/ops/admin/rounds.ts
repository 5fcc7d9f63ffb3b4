// The background rounds as operations (admins only): what each did (rounds), and one run now
// (rounds:run NAME), waiting for it to end.
import { UserError } from '../../errors.ts';
import type { RoundState } from '../../context.ts';
import { requireAdmin } from '../access.ts';
import type { Actor } from '../actor.ts';

/** rounds --json: every background round of this server, as it stands. */
export function listRounds(actor: Actor): RoundState[] {
  requireAdmin(actor, 'Only admins may see the background rounds.');
  return actor.services.rounds?.list() ?? [];
}

/** rounds:run NAME: runs the round now and resolves once it ended, with how it went. */
export async function runRound(actor: Actor, name: string): Promise<RoundState> {
  requireAdmin(actor, 'Only admins may run a background round.');
  const rounds = actor.services.rounds;
  if (!rounds) throw new UserError('This process runs no background rounds (the local CLI has none; ask the server).');
  return rounds.runNow(name);
}
