import type { Output } from '../output/output.ts';
import type { Services } from '../context.ts';
import type { Identity } from '../auth/identity.ts';

export interface CommandContext {
  identity: Identity;
  out: Output;
  services: Services;
  /** The whole of standard input (keys:add reads the key from it). */
  stdin(): Promise<string>;
  /** Aborted when the caller goes away (SSH channel closed, Ctrl-C). */
  signal: AbortSignal;
}

export type Flags = Record<string, string | boolean | undefined>;

/** A command declared as data: the dispatcher checks access, arity and flags before `run`. */
export interface Command {
  name: string;
  /** Arguments as shown in help, e.g. `APP KEY=VALUE…`. */
  usage: string;
  summary: string;
  /** admin: admins only; app: first argument is an app the caller may use; any: every key. */
  access: 'admin' | 'app' | 'any';
  args: { min: number; max: number };
  /** Declared options: `--name`; `short` also accepts `-x` (Heroku's `logs -t`, `-n 50`). */
  flags?: Record<string, { type: 'boolean' | 'string'; help: string; short?: string }>;
  /** Whether `--json` is accepted. */
  json?: boolean;
  run(ctx: CommandContext, args: string[], flags: Flags): Promise<void> | void;
}
