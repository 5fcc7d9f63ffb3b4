// Building blocks for commands declared as data: a read (GET, rendered), a change (answered
// with the object, or followed live when it rolls out as a job), and the path from a route.
import { UsageError } from '../errors.ts';
import { call, seg, type RequestOptions } from '../http.ts';
import { followJob, type Job } from '../jobs.ts';
import { show, type Out } from '../out.ts';
import type { ClientCommand, FlagSpec, Run } from './types.ts';

/** A route's path with its parameters filled: `{app}` from the app, the others from the arguments in order. */
export function pathOf(route: string, r: Pick<Run, 'app' | 'args'>): string {
  const path = route.slice(route.indexOf(' ') + 1);
  let i = 0;
  return path.replace(/\{([a-z]+)\}/gi, (_m, name: string) => {
    if (name === 'app') return seg(r.app);
    const v = r.args[i++];
    if (v === undefined) throw new UsageError(`Missing ${name.toUpperCase()}.`);
    return seg(v);
  });
}

/** The method of a route (`GET /apps` → GET). */
function methodOf(route: string): string {
  return route.slice(0, route.indexOf(' '));
}

interface Common {
  name: string;
  usage?: string;
  summary: string;
  route: string;
  args?: ClientCommand['args'];
  flags?: Record<string, FlagSpec>;
  /** The path, when it is not the route's with the arguments in order. */
  path?: (r: Run) => string | Promise<string>;
  query?: (r: Run) => RequestOptions['query'];
  /** How the answer reads in plain text (default: out.ts's `show`). */
  render?: (out: Out, json: unknown, r: Run) => void;
}

/** How many path parameters besides {app} a route has. */
function params(route: string): number {
  return (route.match(/\{(?!app\})[a-z]+\}/gi) ?? []).length;
}

/** A command that reads: GET the route and render it (or print it with --json). */
export function read(spec: Common): ClientCommand {
  const n = params(spec.route);
  return {
    name: spec.name,
    usage: spec.usage ?? '',
    summary: spec.summary,
    routes: [spec.route],
    app: spec.route.includes('{app}'),
    args: spec.args ?? { min: n, max: n },
    ...(spec.flags ? { flags: spec.flags } : {}),
    run: async (r) => {
      const a = await call(r.server, methodOf(spec.route), await spec.path?.(r) ?? pathOf(spec.route, r), { query: spec.query?.(r) });
      const body = a.json ?? a.text;
      if (r.json && a.json !== undefined) r.ctx.out.json(a.json);
      else (spec.render ?? ((out, v) => show(out, v)))(r.ctx.out, body, r);
    },
  };
}

const NO_WAIT: Record<string, FlagSpec> = { 'no-wait': { type: 'boolean', help: 'print the job and return, without following it' } };

/**
 * A command that changes something: sends the route's method with `body`; an answer with a job
 * (202) is followed live to its end and the exit code is the job's; any other is rendered.
 */
export function change(spec: Common & { body?: (r: Run) => unknown | Promise<unknown>; done?: (json: unknown, r: Run) => string }): ClientCommand {
  const n = params(spec.route);
  return {
    name: spec.name,
    usage: spec.usage ?? '',
    summary: spec.summary,
    routes: [spec.route],
    app: spec.route.includes('{app}'),
    args: spec.args ?? { min: n, max: n },
    flags: { ...spec.flags, ...NO_WAIT },
    run: async (r) => {
      const body = await spec.body?.(r);
      const a = await call(r.server, methodOf(spec.route), await spec.path?.(r) ?? pathOf(spec.route, r), { query: spec.query?.(r), ...(body !== undefined ? { body } : {}) });
      return answered(r, a.status, a.json ?? a.text, spec);
    },
  };
}

/** Renders a change's answer, following its job when there is one; resolves with the exit code. */
export async function answered(r: Run, status: number, json: unknown, spec: Pick<Common, 'render'> & { done?: (json: unknown, r: Run) => string } = {}): Promise<number> {
  const job = status === 202 ? (json as { job?: Job }).job : undefined;
  if (job) {
    if (r.flags['no-wait']) {
      if (r.json) r.ctx.out.json(json);
      else r.ctx.out.line(`Started job ${job.id} (${job.kind} on ${job.app}); follow it with slipway jobs:follow ${job.id}.`);
      return 0;
    }
    return followJob(r.server, r.ctx.out, job, { json: r.json });
  }
  if (r.json) r.ctx.out.json(json);
  else if (spec.done) r.ctx.out.line(spec.done(json, r));
  else (spec.render ?? ((out, v) => show(out, v)))(r.ctx.out, json, r);
  return 0;
}

/** `--name value` as a string, or undefined. */
export function str(r: Run, name: string): string | undefined {
  const v = r.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** `--name N` as a whole number, or undefined; anything else is a usage error. */
export function int(r: Run, name: string): number | undefined {
  const v = str(r, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} takes a whole number, not ${JSON.stringify(v)}.`);
  return Number(v);
}

/** `KEY=VALUE` words as an object; a word without `=` is a usage error naming the usage. */
export function pairs(words: readonly string[], usage: string): Record<string, string> {
  const o: Record<string, string> = {};
  for (const w of words) {
    const at = w.indexOf('=');
    if (at <= 0) throw new UsageError(`${JSON.stringify(w)} is not KEY=VALUE; usage: ${usage}`);
    o[w.slice(0, at)] = w.slice(at + 1);
  }
  return o;
}

/** A release version as `v3` or `3`, as a number. */
export function version(raw: string): number {
  const m = /^v?(\d+)$/.exec(raw);
  if (!m) throw new UsageError(`${JSON.stringify(raw)} is not a release version (v3).`);
  return Number(m[1]);
}
