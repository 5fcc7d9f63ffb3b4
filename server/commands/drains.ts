// drains, drains:add, drains:remove, drains:test, drains:info: an app's log drains (Heroku's
// spelling), or with --global (admins) the drains that receive every app's lines.
import { authorizeApp } from '../ops/access.ts';
import { addDrain, drainsInfo, listDrains, removeDrain, type DrainScope, type DrainStatus } from '../ops/drains/drains.ts';
import { testDrain } from '../ops/drains/drain-test.ts';
import { UsageError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import { defineCommand, listing, type Command, type CommandContext } from './types.ts';
import { actorOf } from './progress.ts';

const GLOBAL = { global: { type: 'boolean', help: "the server's global drains, which receive every app's lines (admins)" } } as const;

/**
 * The scope and the remaining arguments: with --global, none is an app; else the first is, and
 * the key must have it. `rest` is how many arguments follow the app (or --global).
 */
function scoped(ctx: CommandContext, c: { name: string; usage: string }, args: readonly string[], global: boolean, rest: number): { scope: DrainScope; rest: string[] } {
  const after = global ? [...args] : args.slice(1);
  if ((!global && args.length === 0) || after.length !== rest) throw new UsageError(`usage: ${c.name} ${c.usage}`);
  return { scope: global ? { global: true } : { app: authorizeApp(ctx, args[0]!) }, rest: after };
}

function scopeName(scope: DrainScope): string {
  return 'app' in scope ? scope.app : 'global';
}

function showStatus(out: Output, d: DrainStatus): void {
  out.heading(`${d.token} ${d.url}`);
  out.pairs([
    ['Last success', d.lastSuccessAt ?? '-'],
    ['Last error', d.lastError ? `${d.lastError.message} (at ${d.lastError.at})` : '-'],
    ['Sent', String(d.sent)],
    ['Queued', `${d.queued} batch${d.queued === 1 ? '' : 'es'}`],
    ['Failed', String(d.failed)],
    ['Dropped', String(d.dropped)],
  ]);
}

export const drainCommands: Command[] = [
  defineCommand({
    name: 'drains',
    usage: 'APP | --global',
    summary: "List an app's log drains (their tokens and URLs), or with --global the server's",
    access: 'any',
    args: { min: 0, max: 1 },
    flags: GLOBAL,
    json: true,
    run: (ctx, args, flags) => {
      const { scope } = scoped(ctx, { name: 'drains', usage: 'APP | --global' }, args, flags.global === true, 0);
      const drains = listDrains(actorOf(ctx), scope);
      return listing(drains, (out) => {
        if (drains.length === 0) return out.line(`${'app' in scope ? `${scope.app} has` : 'The server has'} no log drains; drains:add ${'app' in scope ? scope.app : '--global'} URL adds one.`);
        out.heading(`${scopeName(scope)} Drains`);
        out.table(drains.map((d) => [d.token, d.url, d.headers.length > 0 ? d.headers.join(', ') : '-', d.createdBy]), ['Token', 'URL', 'Headers', 'Added by']);
      });
    },
  }),
  defineCommand({
    name: 'drains:add',
    usage: 'APP URL [--header NAME=VALUE] | --global URL',
    summary: "Send an app's log lines to URL: syslog+tls://HOST:PORT, syslog://HOST:PORT, https://[USER:PASSWORD@]HOST/PATH or otlp+https://HOST/PATH (its token is in every line)",
    access: 'any',
    args: { min: 1, max: 2 },
    flags: { ...GLOBAL, header: { type: 'string', help: 'an HTTP header an otlp+https:// drain sends (NAME=VALUE, e.g. an API key)' } },
    json: true,
    run: async (ctx, args, flags) => {
      const { scope, rest } = scoped(ctx, { name: 'drains:add', usage: 'APP URL [--header NAME=VALUE] | --global URL' }, args, flags.global === true, 1);
      const d = await addDrain(actorOf(ctx), scope, rest[0]!, flags.header === undefined ? [] : [flags.header]);
      return listing(d, (out) => {
        out.line(`Successfully added drain ${d.url}`);
        out.line(`Token: ${d.token}`);
      });
    },
  }),
  defineCommand({
    name: 'drains:remove',
    usage: 'APP URL|TOKEN | --global URL|TOKEN',
    summary: 'Stop sending log lines to a drain',
    access: 'any',
    args: { min: 1, max: 2 },
    flags: GLOBAL,
    run: async (ctx, args, flags) => {
      const { scope, rest } = scoped(ctx, { name: 'drains:remove', usage: 'APP URL|TOKEN | --global URL|TOKEN' }, args, flags.global === true, 1);
      const d = await removeDrain(actorOf(ctx), scope, rest[0]!);
      ctx.out.line(`Successfully removed drain ${d.url}`);
    },
  }),
  defineCommand({
    name: 'drains:test',
    usage: 'APP URL|TOKEN | --global URL|TOKEN',
    summary: "Send one test line to a drain (or a URL) from the server now, and print the endpoint's answer or the TLS or connection error",
    access: 'any',
    args: { min: 1, max: 2 },
    flags: GLOBAL,
    run: async (ctx, args, flags) => {
      const { scope, rest } = scoped(ctx, { name: 'drains:test', usage: 'APP URL|TOKEN | --global URL|TOKEN' }, args, flags.global === true, 1);
      ctx.out.line(await testDrain(actorOf(ctx), scope, rest[0]!));
    },
  }),
  defineCommand({
    name: 'drains:info',
    usage: 'APP | --global',
    summary: 'How each drain delivers: last success, last error, lines sent, batches queued, lines failed and dropped (from the collector, now)',
    access: 'any',
    args: { min: 0, max: 1 },
    flags: GLOBAL,
    json: true,
    run: async (ctx, args, flags) => {
      const { scope } = scoped(ctx, { name: 'drains:info', usage: 'APP | --global' }, args, flags.global === true, 0);
      const info = await drainsInfo(actorOf(ctx), scope);
      return listing(info, (out) => {
        if (info.drains.length === 0) return out.line(`${'app' in scope ? `${scope.app} has` : 'The server has'} no log drains.`);
        out.line(`Collector: ${info.collector.ready} of ${info.collector.pods} pods ready${info.collector.unread.length > 0 ? `; not read: ${info.collector.unread.join('; ')}` : ''}`);
        for (const d of info.drains) showStatus(out, d);
      });
    },
  }),
];
