// A client command as data: its name (Heroku's or Dokku's verb where one exists, else the SSH
// command's), what it takes, the API routes it calls (the OpenAPI parity test reads them), and
// a `run` that calls the API and renders the answer.
import type { Context } from '../context.ts';
import type { Server } from '../http.ts';

/** An option a command declares. */
export interface FlagSpec { type: 'boolean' | 'string'; short?: string; help: string }

/** The options a command was given. */
export type Flags = Record<string, string | boolean | undefined>;

/** What `run` gets: the context, the server, and the app when the command is for one. */
export interface Run {
  ctx: Context;
  server: Server;
  /** The app (commands with `app: true`; '' otherwise). */
  app: string;
  args: string[];
  flags: Flags;
  json: boolean;
}

/** One command of the client. */
export interface ClientCommand {
  name: string;
  /** What follows the name (the app is never in it: it comes from the repository or --app). */
  usage: string;
  summary: string;
  /** The routes it calls, as the OpenAPI document spells them (`PATCH /apps/{app}/config`). */
  routes: readonly string[];
  /** Whether it acts on an app (found as context.ts says). */
  app: boolean;
  args: { min: number; max: number; verbatimAfter?: number };
  flags?: Record<string, FlagSpec>;
  /** Runs without a server (login, help): `run` gets no `server`. */
  local?: boolean;
  run(r: Run): Promise<number | void>;
}
