// Apps: list, create (adding the `paas` remote inside a repository), info, destroy (removing the
// remotes that named it), unlock, rebuild, open; and who the token is, the API's own document and
// its live events.
import type { AppInfo, AppSummary, CreatedApp } from '../../server/shapes/apps.ts';
import { ClientError, UsageError } from '../errors.ts';
import { addRemote, gitRemotes, inRepository, removeRemote } from '../git.ts';
import { call, events, send, seg } from '../http.ts';
import { detached } from '../proc.ts';
import { parseRemote } from '../remotes.ts';
import { streamError } from '../jobs.ts';
import { cell, table } from '../out.ts';
import { change, read } from './kit.ts';
import type { ClientCommand, Run } from './types.ts';
import { sshPortOf } from './ps.ts';
import { sshCapture } from '../ssh.ts';

/** The remote `apps:create` adds inside a repository, as the SSH transcript suggests (`git remote add paas …`). */
const REMOTE = 'paas';

/** What opens a URL: $BROWSER, else the platform's opener. */
function opener(r: Run): string {
  return r.ctx.env.browser ?? (process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open');
}

export const appCommands: ClientCommand[] = [
  read({
    name: 'apps', summary: 'List the apps you may use, with state, release and URL', route: 'GET /apps',
    render: (out, json) => {
      const apps = json as AppSummary[];
      if (apps.length === 0) return out.line('No apps yet: slipway apps:create NAME');
      table(out, ['name', 'state', 'release', 'instances', 'url'], apps.map((a) => [a.name, a.state, a.release ?? '-', `${a.processes.running}/${a.processes.desired}`, a.url]));
    },
  }),
  {
    name: 'apps:create', usage: 'NAME', summary: 'Create an app; inside a repository, add its git remote `paas`', routes: ['POST /apps'], app: false, args: { min: 1, max: 1 },
    run: async (r) => {
      const a = await call(r.server, 'POST', '/apps', { body: { name: r.args[0] } });
      const created = a.json as CreatedApp;
      let note: string | undefined;
      if (await inRepository(r.ctx.cwd)) {
        const taken = (await gitRemotes(r.ctx.cwd)).some((x) => x.name === REMOTE);
        const failed = taken ? `a remote named ${REMOTE} exists already` : await addRemote(r.ctx.cwd, REMOTE, created.gitSsh);
        note = failed ? `Not adding the git remote (${failed}); add it with: git remote add NAME ${created.gitSsh}` : `Added the git remote ${REMOTE}: git push ${REMOTE} main deploys it.`;
      }
      if (r.json) r.ctx.out.json(created);
      else {
        r.ctx.out.line(`Created ${created.name}.`);
        r.ctx.out.line(`  git remote (SSH):  ${created.gitSsh}`);
        r.ctx.out.line(`  git remote (HTTP): ${created.gitHttp}`);
        if (note) r.ctx.out.line(note);
      }
    },
  },
  read({
    name: 'apps:info', summary: "The app: remotes, URL, release, lock, access", route: 'GET /apps/{app}',
  }),
  {
    name: 'apps:destroy', usage: '--confirm APP [--include-storage]', summary: 'Delete the app and everything it runs; removes the remotes that named it', routes: ['DELETE /apps/{app}'], app: true, args: { min: 0, max: 0 },
    flags: { confirm: { type: 'string', help: 'the app name again' }, 'include-storage': { type: 'boolean', help: 'delete its volumes and their data too' } },
    run: async (r) => {
      if (r.flags.confirm !== r.app) throw new UsageError(`This deletes ${r.app} for good; to go ahead, run: slipway apps:destroy --app ${r.app} --confirm ${r.app}`);
      const a = await call(r.server, 'DELETE', `/apps/${seg(r.app)}`, { query: { includeStorage: r.flags['include-storage'] === true } });
      const removed: string[] = [];
      for (const g of await gitRemotes(r.ctx.cwd)) {
        const s = parseRemote(g.url);
        if (s?.app === r.app && s.host === r.server.host && !(await removeRemote(r.ctx.cwd, g.name))) removed.push(g.name);
      }
      if (r.json) return r.ctx.out.json(a.json);
      r.ctx.out.line(`Destroyed ${r.app}.`);
      for (const n of (a.json as { notes?: string[] }).notes ?? []) r.ctx.out.line(n);
      if (removed.length) r.ctx.out.line(`Removed the git remote${removed.length > 1 ? 's' : ''} ${removed.join(', ')}.`);
    },
  },
  change({ name: 'apps:unlock', summary: "Stop a stuck deploy and clear the app's lock", route: 'POST /apps/{app}/unlock', done: (j) => ((j as { unlocked: boolean }).unlocked ? 'Unlocked.' : 'The app was not locked.') }),
  change({ name: 'apps:rebuild', summary: 'Build the deployed commit again and roll it out', route: 'POST /apps/{app}/rebuild' }),
  {
    name: 'open', usage: '', summary: "Print the app's URL, and open it in a browser on a terminal", routes: ['GET /apps/{app}'], app: true, args: { min: 0, max: 0 },
    run: async (r) => {
      const info = (await call(r.server, 'GET', `/apps/${seg(r.app)}`)).json as AppInfo;
      if (r.json) return r.ctx.out.json({ url: info.url });
      r.ctx.out.line(info.url);
      if (r.ctx.out.tty) detached(opener(r), [info.url]);
    },
  },
  {
    name: 'dashboard', usage: '', summary: 'Open the dashboard, logged in as your key: a one-time link made over SSH (printed; opened on a terminal)', routes: [], app: false, args: { min: 0, max: 0 },
    run: async (r) => {
      const made = await sshCapture(r.ctx.env, r.server.host, sshPortOf(r), ['dashboard:login', '--json']);
      if (made.code !== 0) throw new ClientError(made.stderr.trim().split('\n').pop()?.replace(/^ !\s+/, '') || `ssh exited with ${made.code}.`);
      const link = JSON.parse(made.stdout) as { url: string; expiresAt: string };
      if (r.json) return r.ctx.out.json(link);
      r.ctx.out.line(link.url);
      if (r.ctx.out.tty) detached(opener(r), [link.url]);
    },
  },
  read({ name: 'whoami', summary: 'The key and scope your token acts with', route: 'GET /whoami' }),
  read({ name: 'api:document', summary: 'The API as its OpenAPI 3.1 document (JSON)', route: 'GET /openapi.json', render: (out, json) => out.json(json) }),
  {
    name: 'events', usage: '', summary: 'Follow what changes on your apps (jobs, releases, app changes), one line each', routes: ['GET /events'], app: false, args: { min: 0, max: 0 },
    run: async (r) => {
      const res = await send(r.server, 'GET', '/events');
      for await (const e of events(res)) {
        if (e.event === 'error') throw new ClientError(streamError(e.data));
        if (r.json) r.ctx.out.line(JSON.stringify({ event: e.event, data: JSON.parse(e.data) as unknown }));
        else r.ctx.out.line(`${e.event}  ${cell(JSON.parse(e.data))}`);
      }
    },
  },
];
