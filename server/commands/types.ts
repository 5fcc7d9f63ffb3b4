import type { Output } from '../output/output.ts';
import type { Services } from '../context.ts';
import type { Identity } from '../auth/identity.ts';
import type { ProcessIo } from '../kube/process-io.ts';

export interface CommandContext {
  identity: Identity;
  out: Output;
  services: Services;
  /** The whole of standard input (keys:add reads the key from it), refused past `maxChars` (the transport's own bound by default). */
  stdin(maxChars?: number): Promise<string>;
  /** Resolves once the caller has taken what `out` wrote, up to a small backlog: long output waits on it. */
  drained(): Promise<void>;
  /** Aborted when the caller goes away (SSH channel closed, Ctrl-C). */
  signal: AbortSignal;
  /** The caller's raw byte streams (and terminal), for `run`; absent where there are none. */
  raw?: ProcessIo;
}

export type Flags = Record<string, string | boolean | undefined>;

/** What a command with `--json` gives back: its data, and how to show it as text; the registry picks. */
export interface Listing {
  data: unknown;
  text(out: Output): void;
  /** Raised after the listing is shown (doctor: the checks print, then the command fails). */
  failure?: Error;
}

/** A listing of `data`, shown as text by `text` unless the caller asked for `--json`. */
export function listing(data: unknown, text: (out: Output) => void, failure?: Error): Listing {
  return failure ? { data, text, failure } : { data, text };
}

/** A command's own exit code (`run` passes on the one-off command's). */
export interface ExitStatus {
  exitCode: number;
}

/** What `run` may return: nothing (the command wrote its own output), a listing, or an exit code. */
export type Outcome = void | Listing | ExitStatus;

/** What every command declares; the dispatcher checks access, arity and flags before `run`. */
interface CommandSpec {
  name: string;
  /** Arguments as shown in help, e.g. `APP KEY=VALUE…`. */
  usage: string;
  summary: string;
  /** Counts of the arguments as typed (for app commands, the app included). */
  args: { min: number; max: number; verbatimAfter?: number };
  /** Declared options: `--name`; `short` also accepts `-x` (Heroku's `logs -t`, `-n 50`). */
  flags?: Record<string, { type: 'boolean' | 'string'; help: string; short?: string }>;
  /** Whether `--json` is accepted. */
  json?: boolean;
}

/** A command on one app: the first argument, validated and access-checked, arrives as `app`. */
export interface AppCommand extends CommandSpec {
  access: 'app';
  run(ctx: CommandContext, app: string, args: string[], flags: Flags): Promise<Outcome> | Outcome;
}

/** A command for admins only (`admin`) or for every key (`any`). */
export interface PlainCommand extends CommandSpec {
  access: 'admin' | 'any';
  run(ctx: CommandContext, args: string[], flags: Flags): Promise<Outcome> | Outcome;
}

/** A command declared as data. */
export type Command = AppCommand | PlainCommand;
