import type { Config } from '../config.ts';
import type { Output } from '../output/output.ts';
import type { Store } from '../store/index.ts';
import type { Builder } from '../build/builder.ts';
import type { Deployer } from '../deploy/deployer.ts';
import type { DoctorCheck } from './doctor.ts';

/** Who is asking: bound after the SSH signature or the HTTP token was verified. */
export interface Identity {
  /** Key name; `local` for the local CLI. */
  name: string;
  admin: boolean;
  via: 'ssh' | 'http' | 'local';
}

/** Pipelines running in this process, so commands can stop them. */
export interface RunningPushes {
  /** Registers a deploy about to run; its controller aborts it. */
  begin(app: string, identity: Identity): { controller: AbortController };
  /** Forgets a finished deploy. */
  end(session: { controller: AbortController }): void;
  /** Aborts the app's running pipeline, if any here; true if one was aborted. */
  abort(app: string, reason: string): boolean;
}

/** What commands work with; the same for the SSH server and the local CLI. */
export interface Services {
  config: Readonly<Config>;
  store: Store;
  pushes: RunningPushes;
  builder: Builder | undefined;
  deployer: Deployer | undefined;
  /** Whether ssh2's native crypto binding loaded in this process (for doctor). */
  nativeCrypto?: () => boolean;
  /** The checks doctor runs; tests put fakes here, the product leaves it to doctor's own. */
  doctorChecks?: () => DoctorCheck[];
}

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
