// The store's schema migrations, in order: the index + 1 is the schema version.
import type { Db } from './handle.ts';
import type { Sealer } from './sealing.ts';
import { sealDrains, sealInPlace } from './secrets.ts';

/**
 * One migration: SQL, or a function for one that rewrites values with the store's keys (it changes
 * no table, so the fixtures' recorder, which applies only SQL, makes the same schema without it).
 */
export type Migration = string | ((db: Db, sealer: Sealer) => void);

/**
 * Schema migrations, applied in order; the index + 1 is the schema version (PRAGMA user_version).
 * Append only: a shipped one is never edited (test/unit/store-migrations.test.ts holds each
 * version's recorded schema and rows).
 */
export const MIGRATIONS: readonly Migration[] = [
  `CREATE TABLE apps (
     name TEXT PRIMARY KEY,
     deploy_branch TEXT,
     builder TEXT,
     created_at TEXT NOT NULL,
     lock_owner TEXT,
     lock_pid INTEGER,
     lock_at TEXT
   );
   CREATE TABLE config (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     key TEXT NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (app, key)
   );
   CREATE TABLE keys (
     name TEXT PRIMARY KEY,
     fingerprint TEXT NOT NULL UNIQUE,
     type TEXT NOT NULL,
     public_key TEXT NOT NULL,
     admin INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL
   );
   CREATE TABLE grants (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     key_name TEXT NOT NULL REFERENCES keys(name) ON DELETE CASCADE,
     PRIMARY KEY (app, key_name)
   );
   CREATE TABLE tokens (
     name TEXT PRIMARY KEY,
     hash TEXT NOT NULL UNIQUE,
     key_name TEXT NOT NULL REFERENCES keys(name) ON DELETE CASCADE,
     created_at TEXT NOT NULL,
     last_used_at TEXT
   );
   CREATE TABLE releases (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     version INTEGER NOT NULL,
     description TEXT NOT NULL,
     commit_sha TEXT,
     image TEXT,
     processes TEXT NOT NULL DEFAULT '[]',
     config TEXT NOT NULL DEFAULT '{}',
     status TEXT NOT NULL,
     created_at TEXT NOT NULL,
     finished_at TEXT,
     PRIMARY KEY (app, version)
   );
   CREATE TABLE formation (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     process TEXT NOT NULL,
     quantity INTEGER NOT NULL,
     PRIMARY KEY (app, process)
   );
   CREATE TABLE domains (
     host TEXT PRIMARY KEY,
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     created_at TEXT NOT NULL
   );
   CREATE TABLE builds (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     commit_sha TEXT NOT NULL,
     status TEXT NOT NULL,
     log_file TEXT NOT NULL,
     image TEXT,
     started_at TEXT NOT NULL,
     finished_at TEXT
   );`,
  `CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
  // Token names are per key: a global name let tokens:create reveal other keys' token names.
  `CREATE TABLE tokens_by_key (
     key_name TEXT NOT NULL REFERENCES keys(name) ON DELETE CASCADE,
     name TEXT NOT NULL,
     hash TEXT NOT NULL UNIQUE,
     created_at TEXT NOT NULL,
     last_used_at TEXT,
     PRIMARY KEY (key_name, name)
   );
   INSERT INTO tokens_by_key (key_name, name, hash, created_at, last_used_at)
     SELECT key_name, name, hash, created_at, last_used_at FROM tokens;
   DROP TABLE tokens;
   ALTER TABLE tokens_by_key RENAME TO tokens;`,
  // Deploy locks record the holder's start time too: after a reboot its pid may be another process's.
  `ALTER TABLE apps ADD COLUMN lock_started TEXT;`,
  // Day-2: health checks a release was built with (app.json), checks:set overrides, resource
  // limits/reservations (process '*' is the app's default), and process types ps:stop stopped.
  `ALTER TABLE releases ADD COLUMN checks TEXT NOT NULL DEFAULT '{}';
   CREATE TABLE checks (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     process TEXT NOT NULL,
     type TEXT NOT NULL,
     spec TEXT NOT NULL,
     PRIMARY KEY (app, process, type)
   );
   CREATE TABLE resources (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     process TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('limit', 'reserve')),
     memory TEXT,
     cpu TEXT,
     PRIMARY KEY (app, process, kind)
   );
   CREATE TABLE stopped (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     process TEXT NOT NULL,
     PRIMARY KEY (app, process)
   );`,
  // Certificates (issue 12): automatic ACME certificates per app (on unless turned off), and the
  // ones uploaded with certs:add, per host they are served for.
  `ALTER TABLE apps ADD COLUMN certs_auto INTEGER NOT NULL DEFAULT 1;
   CREATE TABLE certs (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     host TEXT NOT NULL,
     cert_pem TEXT NOT NULL,
     key_pem TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (app, host)
   );`,
  // Garbage collection (issue 13, item 6): when a release's image was deleted from the registry,
  // so rollback can say so instead of failing in the cluster.
  `ALTER TABLE releases ADD COLUMN image_collected_at TEXT;`,
  // Quotas (issue 16): an admin's per-app quota (NULL: the SLIPWAY_APP_MAX_* default); the
  // ceiling an admin set on a limit, which a deployer may go below but not above or clear; and
  // when a release's config copy was pruned (beyond SLIPWAY_KEEP_RELEASES), keeping its row.
  `CREATE TABLE quotas (
     app TEXT PRIMARY KEY REFERENCES apps(name) ON DELETE CASCADE,
     pods INTEGER,
     memory TEXT,
     cpu TEXT,
     set_by TEXT NOT NULL,
     set_at TEXT NOT NULL
   );
   ALTER TABLE resources ADD COLUMN memory_max TEXT;
   ALTER TABLE resources ADD COLUMN cpu_max TEXT;
   ALTER TABLE resources ADD COLUMN max_set_by TEXT;
   ALTER TABLE releases ADD COLUMN config_pruned_at TEXT;`,
  // Network isolation (issue 16, item 3; schema 9): the addresses an admin let an app's pods reach besides
  // the internet (egress:allow); port 0 is every port.
  `CREATE TABLE egress (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     cidr TEXT NOT NULL,
     port INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL,
     PRIMARY KEY (app, cidr, port)
   );`,
  // Jobs (issue 17, section 2): every change that rolls out, with who started it, from where, how
  // it ended and where its transcript is; rows and transcripts go with the app, as its build logs do.
  `CREATE TABLE jobs (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     by_key TEXT NOT NULL,
     origin TEXT NOT NULL CHECK (origin IN ('ssh', 'http', 'api', 'push', 'cli')),
     status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
     created_at TEXT NOT NULL,
     started_at TEXT,
     finished_at TEXT,
     release INTEGER,
     error TEXT,
     log_file TEXT NOT NULL
   );
   CREATE INDEX jobs_by_app ON jobs (app);
   CREATE INDEX jobs_unfinished ON jobs (status) WHERE status IN ('queued', 'running');`,
  // HTTP API (issue 17): a token's scope (read, deploy, admin). Existing tokens keep the rights
  // they had, their key's: admin for an admin key's, deploy for any other.
  `ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'deploy' CHECK (scope IN ('read', 'deploy', 'admin'));
   UPDATE tokens SET scope = 'admin' WHERE key_name IN (SELECT name FROM keys WHERE admin = 1);`,
  // Scheduled tasks (issue 18, app.json cron): each release keeps the tasks its app.json declared
  // (a config change or rollback copies them, as it copies the health checks), and cron:suspend's
  // choice is kept by task id across releases until cron:resume.
  `ALTER TABLE releases ADD COLUMN cron TEXT NOT NULL DEFAULT '[]';
   CREATE TABLE cron_suspended (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     id TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (app, id)
   );`,
  // Persistent storage (issue 18, section 3): an app's volumes (a PersistentVolumeClaim each, in its
  // namespace) and where each is mounted (one process type and path, or none). The storage class is
  // the one the claim was made with (NULL: the cluster's default), so a later setting never asks
  // the API server to change it.
  `CREATE TABLE volumes (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     name TEXT NOT NULL,
     size TEXT NOT NULL,
     storage_class TEXT,
     process TEXT,
     path TEXT,
     created_at TEXT NOT NULL,
     PRIMARY KEY (app, name),
     CHECK ((process IS NULL) = (path IS NULL))
   );`,
  // Dashboard sessions (issue 19; schema 14): one-time login codes from dashboard:login and the
  // browser sessions they (or an API token) start. Only SHA-256 hashes of the secrets are kept. A
  // session started with a token keeps that token's hash, so revoking the token ends it too.
  `CREATE TABLE login_codes (
     hash TEXT PRIMARY KEY,
     key_name TEXT NOT NULL REFERENCES keys(name) ON DELETE CASCADE,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX login_codes_by_key ON login_codes (key_name, created_at);
   CREATE TABLE sessions (
     hash TEXT PRIMARY KEY,
     key_name TEXT NOT NULL REFERENCES keys(name) ON DELETE CASCADE,
     token_hash TEXT,
     created_at INTEGER NOT NULL,
     seen_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX sessions_by_key ON sessions (key_name, created_at);`,
  // Dashboard (issue 19; schema 15): which key made a release, and which config keys it changed
  // from the release it replaced (names only, JSON {added, changed, removed}; NULL for the first
  // release and for those made before this).
  `ALTER TABLE releases ADD COLUMN created_by TEXT;
   ALTER TABLE releases ADD COLUMN config_changes TEXT;`,
  // Atomic cutover (issue 20; schema 16): the release whose instances a release runs (a rollback
  // runs its target's, so a warm one only moves traffic; NULL: its own), and an app's own warm
  // window in seconds (ps:warm; NULL: SLIPWAY_WARM_ROLLBACK).
  `ALTER TABLE releases ADD COLUMN runs_as INTEGER;
   ALTER TABLE apps ADD COLUMN warm_seconds INTEGER;`,
  // Deploys from a forge (issue 22; schema 17): the repository an app follows (URL, branch), its
  // webhook secret and polling interval, what was fetched last and how the last sync ended, and
  // who connected it (its jobs run with that key's rights, checked when they run). Webhook
  // deliveries are kept by id for a bounded time, so a replayed one deploys nothing. Jobs gain the
  // origins of those syncs (SQLite cannot change a CHECK: the table is copied).
  `CREATE TABLE syncs (
     app TEXT PRIMARY KEY REFERENCES apps(name) ON DELETE CASCADE,
     url TEXT NOT NULL,
     branch TEXT NOT NULL,
     public_key TEXT,
     webhook_secret TEXT,
     poll_seconds INTEGER,
     polled_at INTEGER,
     last_commit TEXT,
     fetched_at TEXT,
     last_result TEXT,
     result_at TEXT,
     set_by TEXT NOT NULL,
     set_via TEXT NOT NULL CHECK (set_via IN ('ssh', 'http', 'local')),
     created_at TEXT NOT NULL
   );
   CREATE TABLE hook_deliveries (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     id TEXT NOT NULL,
     received_at INTEGER NOT NULL,
     PRIMARY KEY (app, id)
   );
   CREATE INDEX hook_deliveries_by_age ON hook_deliveries (app, received_at);
   CREATE TABLE jobs_v17 (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     by_key TEXT NOT NULL,
     origin TEXT NOT NULL CHECK (origin IN ('ssh', 'http', 'api', 'push', 'cli', 'webhook', 'poll')),
     status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
     created_at TEXT NOT NULL,
     started_at TEXT,
     finished_at TEXT,
     release INTEGER,
     error TEXT,
     log_file TEXT NOT NULL
   );
   INSERT INTO jobs_v17 SELECT id, kind, app, by_key, origin, status, created_at, started_at, finished_at, release, error, log_file FROM jobs;
   DROP TABLE jobs;
   ALTER TABLE jobs_v17 RENAME TO jobs;
   CREATE INDEX jobs_by_app ON jobs (app);
   CREATE INDEX jobs_unfinished ON jobs (status) WHERE status IN ('queued', 'running');`,
  // Preview apps (issue 22, part 1; schema 18): an app's preview settings (off until enabled; the
  // limit and time to live, NULL: the defaults; the config keys a preview starts with), and each
  // preview: an app of its own, of one parent and one branch of the parent's repository, with the
  // commit and time of its last push. A preview's row goes with either app.
  `CREATE TABLE preview_settings (
     app TEXT PRIMARY KEY REFERENCES apps(name) ON DELETE CASCADE,
     enabled INTEGER NOT NULL DEFAULT 0,
     max_previews INTEGER,
     ttl_seconds INTEGER,
     shared_keys TEXT NOT NULL DEFAULT '[]'
   );
   CREATE TABLE previews (
     app TEXT PRIMARY KEY REFERENCES apps(name) ON DELETE CASCADE,
     parent TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     branch TEXT NOT NULL,
     commit_sha TEXT,
     pushed_at TEXT,
     created_at TEXT NOT NULL,
     UNIQUE (parent, branch)
   );
   CREATE INDEX previews_by_parent ON previews (parent);`,
  // A token made by a token names it (its hash): revoking, or removing the key of, the one that
  // made it removes it too, down the whole line, so a stolen token cannot outlive its revocation
  // through tokens it made. Tokens made by a key (SSH, the local CLI, a login-code session) have none.
  `ALTER TABLE tokens ADD COLUMN parent TEXT REFERENCES tokens(hash) ON DELETE CASCADE;
   CREATE INDEX tokens_by_parent ON tokens (parent);`,
  // Databases for apps (issue 37): each app's Postgres and Valkey instances, the config var each is
  // attached as, its credentials and the key and certificate it serves TLS with (stored like config:
  // never logged), and per app the certificate authority that signs those (its pods trust it).
  `CREATE TABLE data_services (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     name TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('postgres', 'valkey')),
     version TEXT NOT NULL,
     size TEXT NOT NULL,
     storage_class TEXT,
     attachment TEXT NOT NULL,
     username TEXT NOT NULL,
     password TEXT NOT NULL,
     tls_key TEXT NOT NULL,
     tls_cert TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (app, name)
   );
   CREATE TABLE data_ca (
     app TEXT PRIMARY KEY REFERENCES apps(name) ON DELETE CASCADE,
     key TEXT NOT NULL,
     cert TEXT NOT NULL
   );`,
  // Backups proven by restores (issue 37): when each database was last backed up, and each
  // restore drill's outcome (the step that failed, the recovery point and time it measured).
  `ALTER TABLE data_services ADD COLUMN last_backup_at TEXT;
   CREATE TABLE data_drills (
     app TEXT NOT NULL,
     name TEXT NOT NULL,
     at TEXT NOT NULL,
     ok INTEGER NOT NULL,
     step TEXT,
     message TEXT,
     rpo_s REAL,
     rto_ms INTEGER,
     FOREIGN KEY (app, name) REFERENCES data_services (app, name) ON DELETE CASCADE
   );
   CREATE INDEX data_drills_by_database ON data_drills (app, name, at);`,
  // Credential rotation (issue 37): the role that owns a Postgres database's data when the one it
  // logs in as is a rotated one (NULL: the login role itself), and the logins rotated away from,
  // kept until no session uses them and their LOGIN is removed.
  `ALTER TABLE data_services ADD COLUMN owner TEXT;
   CREATE TABLE data_retiring (
     app TEXT NOT NULL,
     name TEXT NOT NULL,
     username TEXT NOT NULL,
     since TEXT NOT NULL,
     PRIMARY KEY (app, name, username),
     FOREIGN KEY (app, name) REFERENCES data_services (app, name) ON DELETE CASCADE
   );`,
  // pg:backups:schedule (issue 37): the time of day (HH:MM, UTC) a database's daily backup is
  // taken at; NULL: every SLIPWAY_DATABASE_BACKUP_INTERVAL_S since the last one.
  `ALTER TABLE data_services ADD COLUMN backup_at TEXT;`,
  // The audit log (issue 39): entries chained by hash (ops/audit/chain.ts), never changed, deleted
  // only up to a pruning anchor ("pruned up to N, whose hash was H": ops/audit/prune.ts).
  `CREATE TABLE audit (
     seq INTEGER PRIMARY KEY,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     credential TEXT,
     interface TEXT NOT NULL,
     source TEXT,
     action TEXT NOT NULL,
     app TEXT,
     object TEXT,
     outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
     job TEXT,
     meta TEXT NOT NULL,
     prev TEXT NOT NULL,
     hash TEXT NOT NULL
   );
   CREATE INDEX audit_by_app ON audit (app, seq);
   CREATE INDEX audit_by_at ON audit (at);
   CREATE TABLE audit_pruned (
     upto INTEGER PRIMARY KEY,
     hash TEXT NOT NULL,
     at TEXT NOT NULL
   );
   CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
   BEGIN SELECT RAISE(ABORT, 'audit entries cannot be changed'); END;
   CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
   WHEN OLD.seq > COALESCE((SELECT MAX(upto) FROM audit_pruned), 0)
   BEGIN SELECT RAISE(ABORT, 'audit entries cannot be deleted, except up to a pruning anchor'); END;
   CREATE TRIGGER audit_pruned_no_update BEFORE UPDATE ON audit_pruned
   BEGIN SELECT RAISE(ABORT, 'audit pruning anchors cannot be changed'); END;
   CREATE TRIGGER audit_pruned_no_delete BEFORE DELETE ON audit_pruned
   BEGIN SELECT RAISE(ABORT, 'audit pruning anchors cannot be deleted'); END;
   CREATE TRIGGER audit_pruned_checked BEFORE INSERT ON audit_pruned
   WHEN NOT EXISTS (SELECT 1 FROM audit WHERE seq = NEW.upto AND hash = NEW.hash)
   BEGIN SELECT RAISE(ABORT, 'a pruning anchor must name an entry and its hash'); END;`,
  // previews:config --fork-db (issue 37): a preview's Postgres restored from its parent's backups.
  `ALTER TABLE preview_settings ADD COLUMN fork_db INTEGER NOT NULL DEFAULT 0;`,
  // Secrets at rest (issue 38): every secret value stored in clear until now (config vars, releases'
  // copies of them, database passwords and TLS keys, data CAs' keys, uploaded certificates' keys,
  // webhook secrets) sealed with AES-256-GCM under a key outside the database (store/sealing.ts).
  sealInPlace,
  // Log drains (issue 39): where an app's lines (app NULL: every app's) are sent, by whom, and
  // what drains:info last saw of its delivery (the collector's count of lines sent, and when it grew).
  `CREATE TABLE drains (
     id TEXT PRIMARY KEY,
     app TEXT REFERENCES apps(name) ON DELETE CASCADE,
     url TEXT NOT NULL,
     headers TEXT NOT NULL DEFAULT '{}',
     created_by TEXT NOT NULL,
     created_at TEXT NOT NULL,
     sent_seen INTEGER NOT NULL DEFAULT 0,
     last_ok_at TEXT
   );
   CREATE INDEX drains_by_app ON drains (app);`,
  sealDrains,
  // Tokens and sign-in (issue 41): when a token stops working (NULL: never); the OpenID Connect
  // accounts an admin bound to keys (keys:oidc: a subject, or a verified email), and which binding
  // a dashboard session was signed in through, so unbinding (or removing the key) ends it.
  `ALTER TABLE tokens ADD COLUMN expires_at TEXT;
   CREATE TABLE oidc_bindings (
     claim TEXT NOT NULL,
     value TEXT NOT NULL,
     key_name TEXT NOT NULL REFERENCES keys(name) ON DELETE CASCADE,
     created_by TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (claim, value)
   );
   CREATE INDEX oidc_bindings_by_key ON oidc_bindings (key_name);
   ALTER TABLE sessions ADD COLUMN oidc_claim TEXT;
   ALTER TABLE sessions ADD COLUMN oidc_value TEXT;
   CREATE INDEX sessions_by_oidc ON sessions (oidc_claim, oidc_value);`,
  // Apps that sleep at zero (issue 40): an app's idle time before its web set stops (ps:sleep
  // --after; NULL: the default, SLIPWAY_PREVIEW_SLEEP_AFTER for a preview and never for an app;
  // 0: never), since when it sleeps, and each wake: what woke it, when, and how long it took.
  `ALTER TABLE apps ADD COLUMN sleep_seconds INTEGER;
   ALTER TABLE apps ADD COLUMN asleep_since TEXT;
   CREATE TABLE wakes (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     asleep_since TEXT NOT NULL,
     started_at TEXT NOT NULL,
     trigger TEXT NOT NULL,
     ready_ms INTEGER,
     error TEXT
   );
   CREATE INDEX wakes_by_app ON wakes (app, id);`,
  // Job records name the credential that started each job (issue 41: an assistant's calls through
  // its token are told apart from its key's own), as the audit log does.
  `ALTER TABLE jobs ADD COLUMN credential TEXT;`,
  // ps:autoscale (issue 40): a process type's instances counted by an autoscaler, from min to max,
  // aiming at an average use of CPU and/or memory (percent of each instance's limits).
  `CREATE TABLE autoscale (
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     process TEXT NOT NULL,
     min INTEGER NOT NULL CHECK (min >= 1),
     max INTEGER NOT NULL CHECK (max >= min),
     cpu INTEGER CHECK (cpu BETWEEN 1 AND 100),
     memory INTEGER CHECK (memory BETWEEN 1 AND 100),
     CHECK (cpu IS NOT NULL OR memory IS NOT NULL),
     PRIMARY KEY (app, process)
   );`,
  // Canary releases (issue 40): an app's canary (canary:set): the share of requests its new
  // release's web set takes at each step (JSON, e.g. [10,50,100]), how long each window lasts, and
  // by how much the canary may be worse than the stable set (5xx rate in points, p95 in ms).
  `CREATE TABLE canary_settings (
     app TEXT PRIMARY KEY REFERENCES apps(name) ON DELETE CASCADE,
     steps TEXT NOT NULL,
     step_seconds INTEGER NOT NULL,
     error_points REAL NOT NULL,
     p95_ms INTEGER NOT NULL,
     set_by TEXT NOT NULL,
     set_at TEXT NOT NULL
   );`,
  // A database being made (addons:create, a restore, pg:upgrade) names the job making it until it
  // is made (issue 37, section 4): a server that stopped midway leaves its job interrupted, and the
  // start-up reconcile removes the half-made database instead of leaving it beside the app's.
  `ALTER TABLE data_services ADD COLUMN making_job TEXT;`,
  // Jobs Slipway starts on its own schedule (issue 37: the db-backups round's backups and restore
  // drills), recorded as started by `slipway` from `schedule`. SQLite changes no CHECK in place:
  // the table is rebuilt with its rows (credential came after schema 17).
  `CREATE TABLE jobs_v35 (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
     by_key TEXT NOT NULL,
     origin TEXT NOT NULL CHECK (origin IN ('ssh', 'http', 'api', 'push', 'cli', 'webhook', 'poll', 'schedule')),
     status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
     created_at TEXT NOT NULL,
     started_at TEXT,
     finished_at TEXT,
     release INTEGER,
     error TEXT,
     log_file TEXT NOT NULL,
     credential TEXT
   );
   INSERT INTO jobs_v35 SELECT id, kind, app, by_key, origin, status, created_at, started_at, finished_at, release, error, log_file, credential FROM jobs;
   DROP TABLE jobs;
   ALTER TABLE jobs_v35 RENAME TO jobs;
   CREATE INDEX jobs_by_app ON jobs (app);
   CREATE INDEX jobs_unfinished ON jobs (status) WHERE status IN ('queued', 'running');`,
];
