// rounds and rounds:run: the server's background rounds (TLS sync, GC, sweeps, polling,
// previews), what each did last, and one run now.
import { listRounds, runRound } from '../ops/admin/rounds.ts';
import type { RoundState } from '../context.ts';
import { listing, type Command } from './types.ts';
import { actorOf } from './progress.ts';

/** A round as one row: name, interval, runs, last end, outcome. */
function row(r: RoundState): string[] {
  const every = r.intervalMs > 0 ? `${Math.round(r.intervalMs / 1000)} s` : 'on demand';
  const outcome = r.running ? 'running' : r.lastError !== null ? `failed: ${r.lastError}` : r.runs ? 'ok' : 'not run yet';
  return [r.name, every, String(r.runs), r.lastFinished ?? '-', outcome];
}

export const roundCommands: Command[] = [
  {
    name: 'rounds',
    usage: '',
    summary: 'Show the background rounds (TLS sync, GC, sweeps, polling, previews): interval, runs, last run, last error',
    access: 'admin',
    args: { min: 0, max: 0 },
    json: true,
    run: (ctx) => {
      const rounds = listRounds(actorOf(ctx));
      return listing(rounds, (out) => out.table(rounds.map(row), ['ROUND', 'EVERY', 'RUNS', 'LAST ENDED', 'OUTCOME']));
    },
  },
  {
    name: 'rounds:run',
    usage: 'NAME',
    summary: 'Run a background round now and wait for it to end',
    access: 'admin',
    args: { min: 1, max: 1 },
    json: true,
    run: async (ctx, [name]) => {
      const r = await runRound(actorOf(ctx), name!);
      return listing(r, (out) => {
        if (r.lastError !== null) out.line(`${r.name} ran and failed: ${r.lastError}`);
        else out.line(`${r.name} ran (${r.what}); ${r.runs} run${r.runs === 1 ? '' : 's'} so far.`);
      });
    },
  },
];
