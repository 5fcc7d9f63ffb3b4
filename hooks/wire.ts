// The wire format between the pre-receive hook (hooks/pre-receive.ts) and the server's hook socket
// (server/push/hook-server.ts): newline-delimited JSON, one request from the hook, then any number
// of output messages and one verdict from the server. Both sides import this module and nothing
// else of each other, so the hook stays a separate, fast-starting program.

/** git's quarantine variables for the pushed objects, as receive-pack set them for the hook. */
export interface Quarantine {
  GIT_OBJECT_DIRECTORY?: string | undefined;
  GIT_ALTERNATE_OBJECT_DIRECTORIES?: string | undefined;
  GIT_QUARANTINE_PATH?: string | undefined;
}

/** What the hook sends: the push id the transport set, the repo it runs in, git's ref updates. */
export interface HookRequest {
  pushId: string;
  gitDir: string;
  /** The ref updates git gave the hook on stdin (`old new ref` lines). */
  stdin: string;
  quarantine: Quarantine;
  /** The push's options (`git push -o canary=10`), as git gave them to the hook. */
  pushOptions?: string[];
}

/** At most this many push options, each at most MAX_PUSH_OPTION_LENGTH characters, are accepted. */
export const MAX_PUSH_OPTIONS = 16;
export const MAX_PUSH_OPTION_LENGTH = 256;

/** What the server sends back: text to relay to the pusher, or the hook's exit code (last). */
export type HookMessage = { kind: 'output'; text: string } | { kind: 'verdict'; exitCode: number };

/** One message as one line on the socket. */
export function encodeMessage(m: HookMessage): string {
  return JSON.stringify(m) + '\n';
}

/** The request as one line on the socket. */
export function encodeRequest(r: HookRequest): string {
  return JSON.stringify(r) + '\n';
}

/** Parses one line from the server; throws on anything that is not a message. */
export function decodeMessage(line: string): HookMessage {
  const m = JSON.parse(line) as Partial<{ kind: string; text: unknown; exitCode: unknown }>;
  if (m.kind === 'output' && typeof m.text === 'string') return { kind: 'output', text: m.text };
  if (m.kind === 'verdict' && typeof m.exitCode === 'number') return { kind: 'verdict', exitCode: m.exitCode };
  throw new Error('not a hook message');
}

/** Parses the hook's request line; throws on anything malformed (the socket is then closed). */
export function decodeRequest(line: string): HookRequest {
  const r = JSON.parse(line) as Partial<HookRequest>;
  const q = (r.quarantine ?? {}) as Record<string, unknown>;
  const optional = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  if (typeof r.pushId !== 'string' || typeof r.gitDir !== 'string' || typeof r.stdin !== 'string') throw new Error('malformed hook request');
  const options = r.pushOptions ?? [];
  if (!Array.isArray(options) || options.length > MAX_PUSH_OPTIONS || !options.every((o) => typeof o === 'string' && o.length <= MAX_PUSH_OPTION_LENGTH)) throw new Error('malformed hook request');
  return {
    pushId: r.pushId, gitDir: r.gitDir, stdin: r.stdin, pushOptions: options,
    quarantine: {
      GIT_OBJECT_DIRECTORY: optional(q.GIT_OBJECT_DIRECTORY),
      GIT_ALTERNATE_OBJECT_DIRECTORIES: optional(q.GIT_ALTERNATE_OBJECT_DIRECTORIES),
      GIT_QUARANTINE_PATH: optional(q.GIT_QUARANTINE_PATH),
    },
  };
}
