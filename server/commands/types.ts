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

/** One declared option: `--name`; `short` also accepts `-x` (Heroku's `logs -t`, `-n 50`). */
export interface FlagSpec {
  type: 'boolean' | 'string';
  help: string;
  short?: string;
}

/** A command's declared options, by name. */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** The options of a command line as the registry parses them, before a command's declaration types them. */
export type ParsedFlags = Record<string, string | true>;

/**
 * The flags `run` reads, typed from the command's own declaration: a boolean option is `true` when
 * given, a string option its value, `json` only for a command with `json: true`; anything else is a
 * compile error. Index signatures are dropped, so a command whose declaration the compiler cannot
 * see (not written with `defineCommand`) reads no flag at all.
 */
export type FlagValues<F extends FlagSpecs, J extends boolean = false> =
  { readonly [K in keyof F as string extends K ? never : K]?: F[K]['type'] extends 'boolean' ? true : string }
  & ([J] extends [true] ? { readonly json?: true } : unknown);

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
interface CommandSpec<F extends FlagSpecs, J extends boolean> {
  name: string;
  /** Arguments as shown in help, e.g. `APP KEY=VALUE…`. */
  usage: string;
  summary: string;
  /** Counts of the arguments as typed (for app commands, the app included). */
  args: { min: number; max: number; verbatimAfter?: number };
  /** Declared options; `run` receives them typed by `FlagValues`. */
  flags?: F;
  /** Whether `--json` is accepted. */
  json?: J;
}

/** A command on one app: the first argument, validated and access-checked, arrives as `app`. */
export interface AppCommand<F extends FlagSpecs = FlagSpecs, J extends boolean = boolean> extends CommandSpec<F, J> {
  access: 'app';
  run(ctx: CommandContext, app: string, args: string[], flags: FlagValues<F, J>): Promise<Outcome> | Outcome;
}

/** A command for admins only (`admin`) or for every key (`any`). */
export interface PlainCommand<F extends FlagSpecs = FlagSpecs, J extends boolean = boolean> extends CommandSpec<F, J> {
  access: 'admin' | 'any';
  run(ctx: CommandContext, args: string[], flags: FlagValues<F, J>): Promise<Outcome> | Outcome;
}

/** A command declared as data, as the registry holds it: any declaration, so its `run` reads no flag unless `defineCommand` typed them. */
export type Command = AppCommand | PlainCommand;

/**
 * Declares a command whose `run` reads its flags typed from its own `flags` and `json`, e.g.
 * `defineCommand({ ..., flags: { tail: { type: 'boolean', help: '…' } }, run: (ctx, app, args, f) => f.tail })`.
 * It is still a `Command` because `run` is declared as a method (its parameter is compared both ways).
 */
export function defineCommand<const F extends FlagSpecs = {}, const J extends boolean = false>(c: AppCommand<F, J> | PlainCommand<F, J>): Command {
  return c;
}
