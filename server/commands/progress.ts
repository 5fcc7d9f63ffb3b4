import { lineTranscript } from '../output/transcript.ts';
import type { Actor, Progress } from '../ops/actor.ts';
import type { CommandContext } from './types.ts';

/** A command's caller as operations see it: the checked identity, the services, the caller's signal. */
export function actorOf(ctx: CommandContext): Actor {
  return { identity: ctx.identity, services: ctx.services, signal: ctx.signal };
}

/** Where a rolling-out operation run by a command reports: the command's own output, paced by its caller. */
export function progressOf(ctx: CommandContext): Progress {
  return { transcript: lineTranscript((l) => ctx.out.line(l), () => ctx.drained()), signal: ctx.signal };
}

/** Progress for a command asked for --json: its standard output is the JSON alone, so the steps are not shown. */
export function jsonProgressOf(ctx: CommandContext, json: boolean | undefined): Progress {
  return json ? { transcript: lineTranscript(() => {}, () => ctx.drained()), signal: ctx.signal } : progressOf(ctx);
}
