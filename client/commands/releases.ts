// Releases, rollback and promotion; jobs (list, info, transcript, follow, cancel) and builds.
import type { ReleaseSummary as Release } from '../../server/shapes/releases.ts';
import { call, seg } from '../http.ts';
import { followJob, type Job } from '../jobs.ts';
import { table } from '../out.ts';
import { change, read, str, version } from './kit.ts';
import type { ClientCommand } from './types.ts';

export const releaseCommands: ClientCommand[] = [
  read({
    name: 'releases', summary: "The app's releases, newest first", route: 'GET /apps/{app}/releases',
    render: (out, json) => {
      const rs = json as Release[];
      if (rs.length === 0) return out.line('No releases yet: git push paas main');
      table(out, ['version', 'status', 'description', 'by', 'created'], rs.map((x) => [`v${x.version}`, x.status, x.description, x.createdBy ?? '', x.createdAt]));
    },
  }),
  read({ name: 'releases:info', usage: 'VERSION', summary: 'One release', route: 'GET /apps/{app}/releases/{version}', path: (r) => `/apps/${seg(r.app)}/releases/${version(r.args[0]!)}` }),
  change({
    name: 'rollback', usage: '[VERSION]', summary: 'Roll back to a release (default: the one before the current), followed live', route: 'POST /apps/{app}/rollback',
    args: { min: 0, max: 1 }, body: (r) => (r.args[0] !== undefined ? { version: version(r.args[0]) } : {}),
  }),
  change({
    name: 'apps:promote', usage: '--to TARGET[,TARGET…] [--confirm TARGET[,…]]', summary: 'Release the image the app runs in other apps, with their own config', route: 'POST /apps/{app}/promote',
    flags: { to: { type: 'string', help: 'the apps to release it in' }, confirm: { type: 'string', help: 'targets that run already, named again' } },
    body: (r) => ({ to: (str(r, 'to') ?? '').split(',').filter(Boolean), ...(str(r, 'confirm') ? { confirm: str(r, 'confirm')!.split(',') } : {}) }),
  }),
  read({ name: 'canary', summary: "The app's canary setting and the canary running now (weight, last window's figures)", route: 'GET /apps/{app}/canary' }),
  change({
    name: 'canary:set', usage: 'STEPS [--step DURATION] [--margin 5xx=POINTS,p95=MS]', summary: 'Make every later deploy of the app a canary (10,50,100)', route: 'PATCH /apps/{app}/canary',
    args: { min: 1, max: 1 },
    flags: { step: { type: 'string', help: 'each window (30s, 5m, 1h)' }, margin: { type: 'string', help: '5xx=POINTS and/or p95=MS' } },
    body: (r) => ({ steps: r.args[0]!, ...(str(r, 'step') ? { step: str(r, 'step') } : {}), ...(str(r, 'margin') ? { margin: str(r, 'margin') } : {}) }),
    path: (r) => `/apps/${seg(r.app)}/canary`,
  }),
  change({ name: 'canary:unset', summary: 'Deploy the app without a canary again', route: 'DELETE /apps/{app}/canary' }),
  change({ name: 'canary:promote', summary: "End the app's running canary now: its release takes all the requests", route: 'POST /apps/{app}/canary/promote' }),
  change({ name: 'canary:abort', summary: "End the app's running canary now: every request back on the serving release", route: 'POST /apps/{app}/canary/abort' }),
  read({ name: 'jobs', summary: "The app's jobs, newest first", route: 'GET /apps/{app}/jobs' }),
  read({ name: 'jobs:info', usage: 'ID', summary: 'One job', route: 'GET /jobs/{id}' }),
  read({ name: 'jobs:output', usage: 'ID', summary: "A job's transcript so far", route: 'GET /jobs/{id}/output' }),
  {
    name: 'jobs:follow', usage: 'ID', summary: "Follow a job's transcript live until it ends; the exit code is its outcome", routes: ['GET /jobs/{id}/events', 'GET /jobs/{id}'], app: false, args: { min: 1, max: 1 },
    run: async (r) => {
      const job = (await call(r.server, 'GET', `/jobs/${seg(r.args[0]!)}`)).json as Job;
      return followJob(r.server, r.ctx.out, job, { json: r.json });
    },
  },
  change({ name: 'jobs:cancel', usage: 'ID', summary: 'Stop a running job (what it changed is put back)', route: 'POST /jobs/{id}/cancel', done: (j) => `Job ${(j as Job).id} ${(j as Job).status}.` }),
  read({ name: 'builds', summary: "The app's builds", route: 'GET /apps/{app}/builds' }),
  read({ name: 'builds:output', usage: 'ID', summary: "A build's log", route: 'GET /apps/{app}/builds/{id}/output' }),
];
