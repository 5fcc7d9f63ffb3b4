// sync, sync:set, sync:unset, sync:webhook, sync:poll, sync:run: deploys from a repository on a
// forge (GitHub, GitLab, Gitea/Forgejo, Bitbucket), by webhook or by polling (Dokku's git:sync).
import { formatWarmWindow } from '../config.ts';
import { setPoll, setSync, syncInfo, unsetSync, webhookSecret, type SyncInfo } from '../ops/sync/sync.ts';
import { runSync } from '../ops/sync/sync-run.ts';
import type { Output } from '../output/output.ts';
import { defineCommand, listing, type Command } from './types.ts';
import { actorOf, progressOf } from './progress.ts';

/** An interval as sync:poll takes it back (`5m`, `1h`), or `off`. */
function interval(seconds: number | null): string {
  return seconds === null ? 'off' : formatWarmWindow(seconds);
}

function showInfo(out: Output, s: SyncInfo): void {
  out.heading(`${s.app} sync`);
  out.pairs([
    ['Repository', s.url],
    ['Branch', s.branch],
    ['Webhook', s.webhook.secret ? `${s.webhook.url} (secret set; sync:webhook ${s.app} shows it)` : `off (sync:webhook ${s.app} makes its secret)`],
    ['Polling', s.pollSeconds === null ? 'off' : `every ${interval(s.pollSeconds)}`],
    ['Last fetched', s.lastCommit ? `${s.lastCommit.slice(0, 7)} at ${s.fetchedAt}` : '-'],
    ['Last result', s.lastResult ? `${s.lastResult} at ${s.resultAt}` : '-'],
    ['Connected by', s.connectedBy],
  ]);
  if (s.deployKey) {
    out.line();
    out.line('Deploy key (add it to the repository, read-only):');
    out.line(s.deployKey);
  }
}

const info = (ctx: Parameters<Extract<Command, { access: 'app' }>['run']>[0], app: string) => {
  const s = syncInfo(actorOf(ctx), app);
  return listing(s, (out) => (s ? showInfo(out, s) : out.line(`${app} is not connected to a repository (sync:set ${app} URL [BRANCH]).`)));
};

export const syncCommands: Command[] = [
  ...(['sync', 'sync:info'] as const).map((name): Command => ({
    name,
    usage: 'APP',
    summary: "Show the repository an app follows: URL, branch, webhook and polling, the last commit fetched and how the last sync ended",
    access: 'app',
    args: { min: 1, max: 1 },
    json: true,
    run: (ctx, app) => info(ctx, app),
  })),
  {
    name: 'sync:set',
    usage: 'APP URL [BRANCH]',
    summary: 'Connect an app to a repository (https://… or an SSH URL, with a deploy key Slipway makes) and the branch it deploys',
    access: 'app',
    args: { min: 2, max: 3 },
    json: true,
    run: async (ctx, app, [url, branch]) => {
      const s = await setSync(actorOf(ctx), app, url!, branch);
      return listing(s, (out) => {
        out.line(`${app} now follows ${s.branch} of ${s.url}.`);
        if (s.deployKey) {
          out.line('Add this deploy key to the repository (read-only access is enough):');
          out.line(s.deployKey);
        }
        out.line(`Deploy it now with sync:run ${app}; on every push with a webhook (sync:webhook ${app}), or by polling (sync:poll ${app} 5m).`);
      });
    },
  },
  {
    name: 'sync:unset',
    usage: 'APP',
    summary: 'Disconnect an app from its repository (its deploy key and webhook secret are deleted)',
    access: 'app',
    args: { min: 1, max: 1 },
    run: (ctx, app) => {
      ctx.out.line(unsetSync(actorOf(ctx), app) ? `${app} no longer follows a repository.` : `${app} was not connected to a repository.`);
    },
  },
  defineCommand({
    name: 'sync:webhook',
    usage: 'APP [--rotate]',
    summary: "Print the webhook URL and secret to give the forge (the secret is made the first time; --rotate makes a new one)",
    access: 'app',
    args: { min: 1, max: 1 },
    flags: { rotate: { type: 'boolean', help: 'make a new secret; deliveries signed with the old one are refused from now on' } },
    json: true,
    run: (ctx, app, _args, flags) => {
      const w = webhookSecret(actorOf(ctx), app, flags.rotate === true);
      return listing(w, (out) => {
        out.pairs([['URL', w.url], ['Secret', w.secret], ['Content type', 'application/json'], ['Events', 'push']]);
        if (w.made) out.line(flags.rotate ? 'A new secret: set it at the forge; the old one is refused from now on.' : 'Set this URL and secret in the repository\'s webhook settings (docs/sync.md shows where, per forge).');
      });
    },
  }),
  {
    name: 'sync:poll',
    usage: 'APP INTERVAL|off',
    summary: 'Poll the repository every INTERVAL (at least 1m, e.g. 5m) and deploy when the branch moved; off stops polling',
    access: 'app',
    args: { min: 2, max: 2 },
    run: (ctx, app, [raw]) => {
      const seconds = setPoll(actorOf(ctx), app, raw!);
      ctx.out.line(seconds === null ? `${app} no longer polls its repository.` : `${app} polls its repository every ${interval(seconds)}.`);
    },
  },
  {
    name: 'sync:run',
    usage: 'APP',
    summary: 'Fetch the branch now and build and deploy it as a push would (nothing when that commit runs already)',
    access: 'app',
    args: { min: 1, max: 1 },
    run: async (ctx, app) => {
      await runSync(actorOf(ctx), app, progressOf(ctx));
    },
  },
];
