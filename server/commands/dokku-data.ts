// Dokku's database plugins' verbs (postgres:*, redis:*) as Slipway says them. A Dokku service is
// made on its own and then linked to apps; here a database belongs to one app, so `addons:create
// APP postgres` is postgres:create and postgres:link in one. A Dokku user who types the old verb
// gets one sentence naming the command that does it, instead of "unknown command".

/** Each Dokku verb (after `postgres:` or `redis:`) and what does it here; KIND is postgres or redis. */
const VERBS: Readonly<Record<string, string>> = {
  create: 'addons:create APP KIND [--name NAME] (a database belongs to one app here: create and link in one)',
  link: 'addons:create APP KIND (a database belongs to one app here: create and link in one)',
  unlink: 'addons:destroy APP NAME --confirm APP',
  destroy: 'addons:destroy APP NAME --confirm APP',
  info: 'addons:info APP NAME',
  list: 'addons APP',
  connect: 'CONSOLE APP',
  enter: 'CONSOLE APP',
  backup: 'pg:backups:capture APP',
  'backup-schedule': "pg:backups:schedule APP --at '02:00 UTC' (WAL is archived continuously besides)",
  'backup-unschedule': 'pg:backups:unschedule APP',
  export: 'pg:backups:download APP',
  import: 'pg:backups:restore APP < dump',
  promote: 'PROMOTE APP NAME',
  upgrade: 'pg:upgrade APP --to VERSION',
};

/** The verbs only Postgres has here (Valkey keeps its own snapshots). */
const POSTGRES_ONLY: ReadonlySet<string> = new Set(['backup', 'backup-schedule', 'backup-unschedule', 'export', 'import', 'upgrade']);

/** The sentence for a Dokku database verb, or undefined when `name` is not one. */
export function dokkuDataHint(name: string): string | undefined {
  const m = /^(postgres|redis):([a-z-]+)$/.exec(name);
  if (!m) return undefined;
  const [, kind, verb] = m as unknown as [string, 'postgres' | 'redis', string];
  const here = kind === 'redis' && POSTGRES_ONLY.has(verb) ? undefined : VERBS[verb];
  if (!here) return `${name} is Dokku's; databases here are addons of an app: see "help addons:create".`;
  const said = here.replace('KIND', kind).replace('CONSOLE', kind === 'postgres' ? 'pg:psql' : 'redis:cli').replace('PROMOTE', kind === 'postgres' ? 'pg:promote' : 'redis:promote');
  return `${name} is Dokku's; here it is: ${said}.`;
}
