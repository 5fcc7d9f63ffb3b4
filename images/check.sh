#!/usr/bin/env bash
# images/check.sh: proves Slipway's Postgres and Valkey images (images/README.md's contract) with
# real containers on a docker engine, no Kubernetes: each runs as it will in a pod under Pod
# Security "restricted" (--user 999:999, every capability dropped, no-new-privileges), with its
# data in a directory owned by root, group 999, 2770 (what fsGroup 999 makes of a volume), and a
# self-signed CA and server certificate made here with openssl, mounted read-only at
# /etc/slipway/tls as root:999 0440. Clients run in other containers of the same images that share
# the server's network namespace (--network container:...; the servers have no other network).
# Prints one line per check; exits 1 at the first failure. Sections, each runnable alone:
#   postgres      TLS, passwords, roles, restarts, stop signals (about 30 s on 2 cores)
#   backups       WAL archiving, backups, verify, heartbeat and point-in-time restore with
#                 pgBackRest, into a new instance from the old one's backup volume (about 70 s)
#   dumps         pg_dump archives out and in (dump, import), rotated logins (login-add,
#                 login-retire) and a restart as one (about 30 s)
#   valkey        the same as postgres for Valkey, its snapshot, a kept copy (aof-on), and rotated
#                 logins as ACL users (login-add, login-retire, VALKEY_USER) (about 19 s)
#   upgrade       not run by default (needs SLIPWAY_POSTGRES18_IMAGE too): a 17 cluster with rows
#                 upgraded to 18 by the 18 image (PG_UPGRADE_FROM=17): refused without it, put back
#                 as it was when pg_upgrade --check fails, then every row there on 18, the stanza
#                 upgraded and backed up; the 18 image refuses to restore 17's backups (about 25-40 s)
#   restore-size  not run by default: a restore of a 1 GiB database, timed (about 70 s; needs
#                 3 GiB of disk in /tmp; SLIPWAY_CHECK_RESTORE_SCALE=70 is pgbench's scale)
#
#   SLIPWAY_POSTGRES_IMAGE=... SLIPWAY_VALKEY_IMAGE=... [SLIPWAY_POSTGRES18_IMAGE=...] bash images/check.sh [postgres] [backups] [dumps] [valkey] [upgrade] [restore-size]
#
# With no section named: postgres, backups, dumps and valkey (about 130 s), and upgrade when
# SLIPWAY_POSTGRES18_IMAGE is set. Needs jq on the host.
# (testbed/parts/45-data-images.sh prints both names; DOCKER_HOST names the engine.) The idle
# memory of each server is printed too (RSS, PSS and PSS's anonymous part summed over the
# container's processes, and the engine's own figure): goals 64 MiB for Postgres, 16 MiB for
# Valkey, reported, not enforced.
set -euo pipefail
pg_image=${SLIPWAY_POSTGRES_IMAGE:-}
vk_image=${SLIPWAY_VALKEY_IMAGE:-}
pg18_image=${SLIPWAY_POSTGRES18_IMAGE:-}
which=("$@")
[ ${#which[@]} -gt 0 ] || { which=(postgres backups dumps valkey); [ -z "$pg18_image" ] || which+=(upgrade); }
name=db.check.slipway.test # the servers' certificate name, which clients verify
started=$SECONDS
work=$(mktemp -d /tmp/slipway-images-check.XXXXXX)
prefix=slipway-check-$$
cleanup() {
  local c
  for c in $(docker ps -aq --filter "name=^$prefix-"); do docker rm -f -v "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

n=0
ok() { n=$((n + 1)); printf 'ok %2d %s\n' "$n" "$*"; }
fail() { printf 'FAIL %s\n' "$*" >&2; exit 1; }
# Nothing ends the script without saying where.
trap 'fail "line $LINENO: exit $? of: $BASH_COMMAND"' ERR
# logs_of CONTAINER: its output, for a failure's message.
logs_of() { docker logs "$1" 2>&1 | tail -n 15 | sed 's/^/    | /'; }

# --- certificates -------------------------------------------------------------------------------
tls=$work/tls other=$work/other-ca
mkdir -p "$tls" "$other"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=check-ca \
  -keyout "$work/ca.key" -out "$tls/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
  -keyout "$tls/tls.key" -out "$work/server.csr" 2>/dev/null
openssl x509 -req -in "$work/server.csr" -CA "$tls/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile <(printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$name") -out "$tls/tls.crt" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other-ca \
  -keyout "$work/other.key" -out "$other/ca.crt" 2>/dev/null
chown -R 0:999 "$tls" "$other"
chmod 0750 "$tls" "$other"
chmod 0440 "$tls"/* "$other"/*

# volume DIR: a data directory as fsGroup 999 makes a volume (root:999, 2770).
volume() { mkdir -p "$1" && chown 0:999 "$1" && chmod 2770 "$1"; }
# restricted: how the pods run.
restricted=(--user 999:999 --cap-drop ALL --security-opt no-new-privileges)

# idle_memory CONTAINER: PSS and RSS summed over its processes (from the host's /proc) and the
# engine's figure.
idle_memory() {
  local pid pids pss=0 rss=0 anon=0 p a b c engine
  pid=$(docker inspect -f '{{.State.Pid}}' "$1")
  pids="$pid $(pgrep -P "$pid" | tr '\n' ' ')"
  for p in $pids; do
    read -r a b c < <(awk '/^Pss:/ { pss = $2 } /^Rss:/ { rss = $2 } /^Pss_Anon:/ { anon = $2 } END { print pss, rss, anon }' "/proc/$p/smaps_rollup")
    pss=$((pss + a)) rss=$((rss + b)) anon=$((anon + c))
  done
  engine=$(docker stats --no-stream --format '{{.MemUsage}}' "$1" | cut -d/ -f1 | tr -d ' ')
  printf '%d processes, RSS %.1f MiB, PSS %.1f MiB (anonymous %.1f MiB), docker stats %s' "$(wc -w <<<"$pids")" \
    "$(echo "$rss / 1024" | bc -l)" "$(echo "$pss / 1024" | bc -l)" "$(echo "$anon / 1024" | bc -l)" "$engine"
}

# wait_ready SECONDS CMD...: retries CMD until it succeeds; 1 when SECONDS passed first.
wait_ready() {
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.2
  done
}

# --- Postgres -----------------------------------------------------------------------------------
check_postgres() {
  [ -n "$pg_image" ] || fail "SLIPWAY_POSTGRES_IMAGE is not set"
  local pg=$prefix-pg data=$work/pg out t0
  volume "$data"
  pg_env=(-e POSTGRES_USER=app -e POSTGRES_DB=appdb)
  pg_run() { # pg_run PASSWORD: starts the server as a pod would
    docker run -d --name "$pg" --network none "${restricted[@]}" -v "$data:/var/lib/slipway/postgres" \
      -v "$tls:/etc/slipway/tls:ro" "${pg_env[@]}" -e "POSTGRES_PASSWORD=$1" "$pg_image" >/dev/null
  }
  # psql_as USER PASSWORD CONNINFO SQL: psql in a container on the server's network namespace.
  psql_as() {
    docker run --rm --network "container:$pg" "${restricted[@]}" -v "$tls:/etc/slipway/tls:ro" -e "PGPASSWORD=$2" \
      -e PGCONNECT_TIMEOUT=5 --entrypoint psql "$pg_image" -X -q -A -t -v ON_ERROR_STOP=1 "$3 user=$1 dbname=appdb" -c "$4" 2>&1
  }
  ready() { docker exec "$pg" pg_isready -h /tmp -p 5432; }

  out=$(docker run --rm --network none "${restricted[@]}" -e POSTGRES_USER=app -e POSTGRES_PASSWORD=x "$pg_image" 2>&1) &&
    fail "postgres started without POSTGRES_DB"
  [ "$(wc -l <<<"$out")" = 1 ] && grep -q POSTGRES_DB <<<"$out" || fail "postgres without POSTGRES_DB said: $out"
  ok "postgres: a missing POSTGRES_DB is one line on stderr and exit 1 ($out)"

  mkdir -p "$work/pg-rootonly"
  out=$(docker run --rm --network none "${restricted[@]}" -v "$work/pg-rootonly:/var/lib/slipway/postgres" \
    -v "$tls:/etc/slipway/tls:ro" "${pg_env[@]}" -e POSTGRES_PASSWORD=x "$pg_image" 2>&1) &&
    fail "postgres started on a volume uid 999 cannot write"
  grep -q 'not writable by uid 999' <<<"$out" || fail "postgres on a root-only volume said: $out"
  ok "postgres: a volume uid 999 cannot write is refused with one line"

  t0=$SECONDS
  pg_run first-secret
  wait_ready 60 ready || { logs_of "$pg"; fail "postgres: pg_isready not 0 within 60 s"; }
  ok "postgres: first start (initdb, role, database) ready in $((SECONDS - t0)) s (pg_isready -h /tmp -p 5432)"

  [ "$(docker exec "$pg" cat /proc/1/comm)" = postgres ] || fail "PID 1 is $(docker exec "$pg" cat /proc/1/comm), not postgres"
  [ "$(docker exec "$pg" stat -c %a /var/lib/slipway/postgres/data)" = 700 ] || fail "PGDATA is not 0700"
  ok "postgres: PID 1 is postgres, uid $(docker exec "$pg" id -u), PGDATA 0700"

  out=$(psql_as app first-secret "host=127.0.0.1 sslmode=require" \
    "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()") || fail "sslmode=require: $out"
  [[ $out == t\|TLSv1.3 ]] || fail "sslmode=require: not TLS 1.3: $out"
  ok "postgres: sslmode=require as app connects over $out"

  out=$(psql_as app first-secret "host=$name hostaddr=127.0.0.1 sslmode=verify-full sslrootcert=/etc/slipway/tls/ca.crt" \
    "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives restarts'); SELECT current_user || ' ' || current_database()") ||
    fail "verify-full: $out"
  [ "$out" = "app appdb" ] || fail "verify-full: $out"
  ok "postgres: sslmode=verify-full (host $name) connects and writes as app to appdb"

  out=$(psql_as app first-secret "host=127.0.0.1 sslmode=verify-full sslrootcert=/etc/slipway/tls/ca.crt" "SELECT 1") &&
    fail "verify-full accepted a certificate for another name"
  grep -q 'does not match host name' <<<"$out" || fail "verify-full with another name: $out"
  ok "postgres: verify-full refuses the certificate for another host name"

  out=$(psql_as app first-secret "host=127.0.0.1 sslmode=disable" "SELECT 1") && fail "a plain TCP connection was accepted"
  grep -q 'no encryption' <<<"$out" || fail "plain TCP: $out"
  ok "postgres: plain TCP (sslmode=disable) is refused: $(grep -o 'pg_hba.conf rejects connection[^,]*' <<<"$out" | head -1)"

  out=$(psql_as app wrong "host=127.0.0.1 sslmode=require" "SELECT 1") && fail "a wrong password was accepted"
  grep -q 'password authentication failed' <<<"$out" || fail "wrong password: $out"
  ok "postgres: a wrong password is refused"

  out=$(psql_as app first-secret "host=127.0.0.1 sslmode=require" \
    "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user; SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database(); SELECT datlocprovider::text || ' ' || datlocale || ' ' || pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database(); SHOW shared_buffers; SHOW max_connections; SHOW password_encryption; SHOW wal_level; SHOW ssl_key_file") || fail "role, owner or settings: $out"
  [ "$out" = $'f|f|f\napp\nb C.UTF-8 UTF8\n16MB\n20\nscram-sha-256\nreplica\n/etc/slipway/tls/tls.key' ] || fail "role, owner or settings: $out"
  ok "postgres: app is no superuser and owns appdb; builtin C.UTF-8 UTF8; shared_buffers 16MB, max_connections 20, scram-sha-256, wal_level replica"
  ok "postgres: the mounted key (root:999 0440) is used as it is (ssl_key_file /etc/slipway/tls/tls.key)"

  out=$(docker exec "$pg" slipway-postgres psql -X -At -c "SELECT current_user || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>&1) ||
    fail "slipway-postgres psql: $out"
  [ "$out" = "app true" ] || fail "slipway-postgres psql: $out"
  ok "postgres: slipway-postgres psql (the console) connects as app over TLS"

  sleep 5
  ok "postgres: idle memory: $(idle_memory "$pg")"

  docker kill -s TERM "$pg" >/dev/null
  [ "$(docker wait "$pg")" = 0 ] || { logs_of "$pg"; fail "postgres did not exit 0 on SIGTERM"; }
  docker logs "$pg" 2>&1 | grep -c 'database system is shut down' >/dev/null || fail "no clean shutdown after SIGTERM"
  ok "postgres: SIGTERM (no client connected) shuts down cleanly, exit 0"
  docker rm -v "$pg" >/dev/null
  # What a kubelet applying fsGroup 999 again does to the volume: group 999, group rw, setgid dirs.
  chgrp -R 999 "$data" && chmod -R g+rwX "$data" && find "$data" -type d -exec chmod g+s {} +

  t0=$SECONDS
  pg_run second-secret
  wait_ready 60 ready || { logs_of "$pg"; fail "postgres: not ready again within 60 s"; }
  docker logs "$pg" 2>&1 | grep -c -e 'automatic recovery' -e 'redo starts' -e 'not properly shut down' >/dev/null &&
    { logs_of "$pg"; fail "postgres recovered after a clean SIGTERM"; }
  ok "postgres: restarted in $((SECONDS - t0)) s with no recovery, after fsGroup's group bits on the volume (PGDATA 2770 set back to 0700)"

  out=$(psql_as app second-secret "host=127.0.0.1 sslmode=require" "SELECT v FROM kept") || fail "after restart: $out"
  [ "$out" = "survives restarts" ] || fail "after restart: $out"
  out=$(psql_as app first-secret "host=127.0.0.1 sslmode=require" "SELECT 1") && fail "the old password still works after a restart"
  ok "postgres: the data is kept; the new POSTGRES_PASSWORD works and the old one is refused"

  # The stop signal of the image (SIGINT, a fast shutdown) ends a server with a client connected.
  docker run -d --name "$pg-client" --network "container:$pg" "${restricted[@]}" -e PGPASSWORD=second-secret \
    --entrypoint psql "$pg_image" -X "host=127.0.0.1 sslmode=require user=app dbname=appdb" -c 'SELECT pg_sleep(600)' >/dev/null
  wait_ready 20 sh -c "[ \"\$(docker exec $pg psql -h /tmp -At -c \"SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'\" postgres)\" = 1 ]" ||
    fail "the sleeping client did not connect"
  t0=$SECONDS
  docker stop -t 30 "$pg" >/dev/null
  [ "$(docker wait "$pg")" = 0 ] || { logs_of "$pg"; fail "postgres did not exit 0 on docker stop"; }
  ok "postgres: docker stop (the image's STOPSIGNAL SIGINT) with a client connected exits 0 in $((SECONDS - t0)) s"
  docker rm -f -v "$pg" "$pg-client" >/dev/null

  # A key Postgres would refuse (readable by all) is copied to a 0600 file of its own.
  local loose=$work/tls-loose
  cp -a "$tls" "$loose" && chmod 0644 "$loose/tls.key"
  docker run -d --name "$pg" --network none "${restricted[@]}" -v "$data:/var/lib/slipway/postgres" \
    -v "$loose:/etc/slipway/tls:ro" "${pg_env[@]}" -e POSTGRES_PASSWORD=second-secret "$pg_image" >/dev/null
  wait_ready 60 ready || { logs_of "$pg"; fail "postgres with a 0644 key: not ready"; }
  out=$(psql_as app second-secret "host=127.0.0.1 sslmode=require" "SHOW ssl_key_file") || fail "0644 key: $out"
  [ "$out" = /var/lib/slipway/postgres/tls.key ] || fail "0644 key: Postgres uses $out"
  ok "postgres: a 0644 key is copied to $out (0600) and used"
  docker rm -f -v "$pg" >/dev/null
}

# --- Postgres: WAL archiving, backups, point-in-time restore (pgBackRest) ---------------------
check_backups() {
  [ -n "$pg_image" ] || fail "SLIPWAY_POSTGRES_IMAGE is not set"
  local pg=$prefix-bk data=$work/bk-data repo=$work/bk-backup out t0 n_rows t_target before_backup seg i
  volume "$data"
  volume "$repo"
  # bk_run NAME DATA BACKUP [DOCKER ARG...]: an instance with its data and backup volumes.
  bk_run() {
    local c=$1 d=$2 b=$3
    shift 3
    docker run -d --name "$c" --network none "${restricted[@]}" -v "$d:/var/lib/slipway/postgres" \
      -v "$b:/var/lib/slipway/backup" -v "$tls:/etc/slipway/tls:ro" -e POSTGRES_USER=app -e POSTGRES_DB=appdb \
      -e POSTGRES_PASSWORD=secret "$@" "$pg_image" >/dev/null
  }
  # sql CONTAINER SQL: as the superuser on the server's socket in appdb (one value per line).
  sql() { docker exec "$1" psql -X -q -A -t -v ON_ERROR_STOP=1 -h /tmp -p 5432 -U postgres -d appdb -c "$2" 2>&1; }
  # archived CONTAINER SEGMENT: 0 once the archiver has pushed SEGMENT (or a later one).
  archived() { [[ "$(sql "$1" "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")" > "$2" ||
    "$(sql "$1" "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")" = "$2" ]]; }
  # switch CONTAINER: a write and a WAL switch; prints the segment just finished.
  switch() { sql "$1" "CREATE TABLE IF NOT EXISTS nudge (at timestamptz); INSERT INTO nudge VALUES (now()); SELECT pg_walfile_name(pg_switch_wal())"; }

  bk_run "$pg" "$data" "$repo"
  wait_ready 60 docker exec "$pg" pg_isready -h /tmp -p 5432 || { logs_of "$pg"; fail "backups: not ready within 60 s"; }
  out=$(docker exec "$pg" slipway-postgres backups)
  [ "$(jq -c '.[0].status' <<<"$out")" = '{"code":2,"lock":{"backup":{"held":false}},"message":"no valid backups"}' ] || fail "backups before any: $out"
  out=$(sql "$pg" "SHOW archive_mode; SHOW archive_timeout; SHOW archive_command")
  [ "$out" = $'on\n1min\npgbackrest --config=/tmp/slipway-pgbackrest.conf --stanza=db archive-push %p' ] || fail "archive settings: $out"
  [ -s "$repo/pgbackrest/backup/db/backup.info" ] && [ -s "$repo/pgbackrest/archive/db/archive.info" ] ||
    fail "no stanza db in the backup volume: $(find "$repo" | head)"
  ok "backups: the stanza db is in the backup volume at start; archive_mode on, archive_timeout 1min, archive_command pgBackRest's archive-push"

  out=$(docker exec "$pg" slipway-postgres last-heartbeat 2>&1) || fail "last-heartbeat with none: $out"
  [ -z "$out" ] || fail "last-heartbeat with none printed: $out"
  out=$(docker exec "$pg" slipway-postgres heartbeat 2>&1) || fail "heartbeat: $out"
  [[ $out =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$ ]] || fail "heartbeat printed: $out"
  [ "$(docker exec "$pg" slipway-postgres last-heartbeat 2>&1)" = "$out" ] || fail "last-heartbeat is not what heartbeat wrote ($out)"
  ok "backups: heartbeat wrote $out and last-heartbeat reads it back (nothing before the first)"

  # Numbered rows, one per 0.2 s, each committed on its own, by a procedure in the server.
  sql "$pg" "CREATE TABLE ticks (id int PRIMARY KEY, at timestamptz NOT NULL);
    CREATE PROCEDURE tick_forever() LANGUAGE plpgsql AS \$\$ DECLARE i int := 0; BEGIN
      LOOP i := i + 1; INSERT INTO ticks VALUES (i, clock_timestamp()); COMMIT; PERFORM pg_sleep(0.2); END LOOP; END \$\$" >/dev/null
  docker exec -d "$pg" psql -X -q -h /tmp -p 5432 -U postgres -d appdb -c 'CALL tick_forever()'
  wait_ready 10 sh -c "[ \"\$(docker exec $pg psql -X -A -t -h /tmp -U postgres -d appdb -c 'SELECT count(*) > 2 FROM ticks')\" = t ]" ||
    fail "the writer does not write"
  before_backup=$(sql "$pg" "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")

  t0=$SECONDS
  out=$(docker exec "$pg" slipway-postgres backup full 2>&1) || { printf '%s\n' "$out" >&2; fail "backup full failed"; }
  grep -q 'new backup label = .*F$' <<<"$out" || fail "backup full said: $out"
  ok "backups: backup full (online, while writing) in $((SECONDS - t0)) s: $(grep -o 'full backup size = .*' <<<"$out")"
  out=$(docker exec "$pg" slipway-postgres backup weekly 2>&1) && fail "backup weekly was accepted"
  out=$(docker exec "$pg" slipway-postgres backups)
  [ "$(jq -r '.[0].name + " " + .[0].status.message + " " + ([.[0].backup[].type] | join(","))' <<<"$out")" = "db ok full" ] ||
    fail "backups: $out"
  ok "backups: 'backups' is pgBackRest's JSON: stanza db ok, one full backup $(jq -r '.[0].backup[0].label' <<<"$out"); an unknown type is refused"

  sleep 3
  # T: 100 ms after row N was written (it commits within that; row N+1 comes 200 ms after row N).
  read -r n_rows t_target < <(sql "$pg" "SELECT id, to_char((at + interval '100 ms') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM ticks ORDER BY id DESC LIMIT 1" | tr '|' ' ')
  sleep 3
  # The segment holding row N is pushed now rather than after archive_timeout's 60 s.
  seg=$(sql "$pg" "SELECT pg_walfile_name(pg_switch_wal())")
  wait_ready 30 archived "$pg" "$seg" || fail "segment $seg was not archived within 30 s"
  out=$(docker exec "$pg" slipway-postgres verify 2>&1) || { printf '%s\n' "$out" >&2; fail "verify failed on a good repository"; }
  ok "backups: verify passes on the repository ($(grep -c 'status: valid' <<<"$out") backup valid, $(grep -o 'total valid WAL: [0-9]*' <<<"$out"))"
  sleep 2
  docker stop -t 30 "$pg" >/dev/null
  local written
  written=$(docker run --rm --network none "${restricted[@]}" -v "$data:/var/lib/slipway/postgres" --entrypoint sh "$pg_image" \
    -c 'cat /var/lib/slipway/postgres/data/PG_VERSION' 2>&1)
  [ "$written" = 17 ] || fail "the stopped instance's data: $written"
  docker rm -v "$pg" >/dev/null
  rm -rf "$data"
  ok "backups: row $n_rows written at T-100ms, T = $t_target; the instance stopped (still writing) and its data directory removed"

  # A copy of the repository with bytes flipped in one backup file fails verify.
  local bad=$work/bk-bad file
  cp -a "$repo" "$bad"
  file=$(find "$bad/pgbackrest/backup" -name '*.zst' -size +8k -print -quit)
  printf '\xde\xad\xbe\xef' | dd of="$file" bs=1 seek=64 conv=notrunc status=none
  out=$(docker run --rm --network none "${restricted[@]}" -v "$bad:/var/lib/slipway/backup" -e POSTGRES_USER=app \
    -e POSTGRES_DB=appdb -e POSTGRES_PASSWORD=secret "$pg_image" verify 2>&1) && { printf '%s\n' "$out" >&2; fail "verify passed a damaged backup"; }
  grep -q 'checksum invalid: 1' <<<"$out" && [[ $(tail -n 1 <<<"$out") == *'repository has errors'* ]] || fail "verify of a damaged backup: $out"
  ok "backups: verify fails (exit 1) after 4 bytes flipped in ${file#"$bad/pgbackrest/backup/db/"}: checksum invalid: 1"

  # The restore: a new instance, empty data and backup volumes, the old backup volume read-only.
  local pg2=$prefix-bk2 data2=$work/bk-data2 repo2=$work/bk-backup2 from=/var/lib/slipway/restore-from
  volume "$data2"
  volume "$repo2"
  local start_ns end_ns
  start_ns=$(date +%s%N)
  bk_run "$pg2" "$data2" "$repo2" -v "$repo:$from:ro" -e "PG_RESTORE_FROM=$from" -e "PG_RESTORE_TARGET=$t_target"
  wait_ready 120 docker exec "$pg2" psql -X -h /tmp -U postgres -d appdb -c 'SELECT 1' || { logs_of "$pg2"; fail "the restored instance did not answer within 120 s"; }
  end_ns=$(date +%s%N)
  out=$(sql "$pg2" "SELECT count(*), min(id), max(id) FROM ticks")
  [ "$out" = "$n_rows|1|$n_rows" ] || { logs_of "$pg2"; fail "restored to T: count|min|max = $out, not $n_rows|1|$n_rows"; }
  ok "backups: restored into a new instance to T: rows 1..$n_rows, none after (container start to first query $(((end_ns - start_ns) / 1000000)) ms)"
  out=$(docker exec "$pg2" slipway-postgres psql -X -q -A -t -v ON_ERROR_STOP=1 \
    -c "CREATE TABLE after_restore (v text); INSERT INTO after_restore VALUES ('written'); SELECT v || ' ' || current_user FROM after_restore" 2>&1) ||
    fail "writes after the restore: $out"
  [ "$out" = "written app" ] || fail "writes after the restore: $out"
  out=$(sql "$pg2" "SELECT pg_is_in_recovery()::text || '|' || current_setting('restore_command') || '|' || current_setting('recovery_target_time')")
  [ "$out" = 'false||' ] || fail "after the restore: in recovery | restore_command | recovery_target_time = $out"
  ok "backups: the restored instance is promoted and takes writes (as app over TLS); restore_command and the target are cleared"
  seg=$(switch "$pg2" | tail -n 1)
  wait_ready 30 archived "$pg2" "$seg" || { logs_of "$pg2"; fail "the restored instance did not archive $seg"; }
  [ -s "$repo2/pgbackrest/backup/db/backup.info" ] && [ -e "$repo2/pgbackrest/archive/db/17-1/00000002.history" ] &&
    ls "$repo2/pgbackrest/archive/db/17-1/0000000200000000/$seg-"* >/dev/null || fail "the new repository: $(find "$repo2" -type f | head -n 20)"
  ok "backups: the restored instance's own backup volume has the stanza, timeline 2's history and archived WAL ($seg)"

  # Restarted without the old volume (PG_RESTORE_FROM still set): a plain start, the stanza found.
  docker stop -t 30 "$pg2" >/dev/null
  docker rm -v "$pg2" >/dev/null
  bk_run "$pg2" "$data2" "$repo2" -e "PG_RESTORE_FROM=$from" -e "PG_RESTORE_TARGET=$t_target"
  wait_ready 60 docker exec "$pg2" pg_isready -h /tmp -p 5432 || { logs_of "$pg2"; fail "the restored instance did not restart"; }
  out=$(sql "$pg2" "SELECT count(*) FROM ticks; SELECT v FROM after_restore")
  [ "$out" = "$n_rows"$'\nwritten' ] || fail "after the restart: $out"
  ok "backups: restarted without the old backup volume, it simply starts (stanza-create again succeeds) with its rows"
  docker rm -f -v "$pg2" >/dev/null

  # PG_RESTORE_TARGET=immediate: the backup as it ended, none of the rows written after it (the
  # writer went on for seconds after the backup, and the archive holds them).
  local pg3=$prefix-bk3 data3=$work/bk-data3 repo3=$work/bk-backup3
  volume "$data3"
  volume "$repo3"
  bk_run "$pg3" "$data3" "$repo3" -v "$repo:$from:ro" -e "PG_RESTORE_FROM=$from" -e PG_RESTORE_TARGET=immediate
  wait_ready 120 docker exec "$pg3" psql -X -h /tmp -U postgres -d appdb -c 'SELECT 1' || { logs_of "$pg3"; fail "the immediate restore did not answer within 120 s"; }
  read -r count max_id < <(sql "$pg3" "SELECT count(*), max(id) FROM ticks" | tr '|' ' ')
  ((count == max_id && count > 0 && max_id < n_rows)) || fail "restored to the end of the backup: $count rows up to $max_id (row $n_rows was written seconds after it)"
  [ "$(sql "$pg3" "SELECT pg_is_in_recovery()")" = f ] || fail "the immediate restore is still in recovery"
  ok "backups: PG_RESTORE_TARGET=immediate restores the backup as it ended: rows 1..$max_id, not the later ones up to $n_rows the archive holds; promoted"
  docker rm -f -v "$pg3" >/dev/null

  # Targets outside what the archive holds: one line, exit 1, PGDATA left empty.
  local data3=$work/bk-data3 repo3=$work/bk-backup3 target what
  for what in before after; do
    rm -rf "$data3" "$repo3"
    volume "$data3"
    volume "$repo3"
    if [ "$what" = before ]; then target=$before_backup; else target=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ); fi
    out=$(docker run --rm --network none "${restricted[@]}" -v "$data3:/var/lib/slipway/postgres" -v "$repo3:/var/lib/slipway/backup" \
      -v "$repo:$from:ro" -v "$tls:/etc/slipway/tls:ro" -e POSTGRES_USER=app -e POSTGRES_DB=appdb -e POSTGRES_PASSWORD=secret \
      -e "PG_RESTORE_FROM=$from" -e "PG_RESTORE_TARGET=$target" "$pg_image" 2>&1) && fail "a restore to $target ($what) succeeded"
    [ "$(wc -l <<<"$out")" = 1 ] && grep -q "is $what the" <<<"$out" || fail "a restore to $target ($what) said: $out"
    [ -z "$(ls -A "$data3/data")" ] && [ -z "$(ls -A "$repo3/pgbackrest")" ] || fail "a failed restore left files: $(ls -A "$data3/data" "$repo3/pgbackrest")"
    ok "backups: a restore to $target ($what the archive) fails with one line, PGDATA left empty: $out"
  done

  # The retry in the same volumes, after a restore that was interrupted (its marker and a file
  # left in PGDATA): emptied, then restored, this time to the end of the archive.
  local pg4=$prefix-bk4
  mkdir "$data3/data/base" && : >"$data3/data/base/left-over" && chown -R 999:999 "$data3/data/base"
  : >"$data3/restore-unfinished"
  bk_run "$pg4" "$data3" "$repo3" -v "$repo:$from:ro" -e "PG_RESTORE_FROM=$from"
  wait_ready 120 docker exec "$pg4" psql -X -h /tmp -U postgres -d appdb -c 'SELECT 1' || { logs_of "$pg4"; fail "the retried restore did not answer within 120 s"; }
  out=$(sql "$pg4" "SELECT count(*) = max(id) AND max(id) > $n_rows FROM ticks")
  [ "$out" = t ] || fail "restored to the end of the archive: $(sql "$pg4" "SELECT count(*), max(id) FROM ticks")"
  docker logs "$pg4" 2>&1 | grep -c 'an earlier restore into .* did not finish' >/dev/null || fail "no word of the unfinished restore"
  [ ! -e "$data3/restore-unfinished" ] && [ ! -e "$data3/data/base/left-over" ] || fail "the unfinished restore's marker or files are still there"
  ok "backups: retried in the same volumes after an interrupted restore (marker and a left-over file): emptied and restored to the end of the archive, rows 1..$(sql "$pg4" "SELECT max(id) FROM ticks")"
  docker rm -f -v "$pg4" >/dev/null

  # A full backup volume: archive-push fails, Postgres keeps the segments and pushes them once there is room.
  local pg3=$prefix-bk3 data4=$work/bk-data4 seg2 failed
  volume "$data4"
  docker run -d --name "$pg3" --network none "${restricted[@]}" -v "$data4:/var/lib/slipway/postgres" \
    --tmpfs /var/lib/slipway/backup:size=24m,uid=999,gid=999,mode=0700 -v "$tls:/etc/slipway/tls:ro" \
    -e POSTGRES_USER=app -e POSTGRES_DB=appdb -e POSTGRES_PASSWORD=secret "$pg_image" >/dev/null
  wait_ready 60 docker exec "$pg3" pg_isready -h /tmp -p 5432 || { logs_of "$pg3"; fail "the instance on a small backup volume did not start"; }
  docker exec "$pg3" sh -c 'cat /dev/urandom >/var/lib/slipway/backup/filler 2>/dev/null' && fail "the filler did not fill the volume"
  seg=$(switch "$pg3" | tail -n 1)
  wait_ready 30 sh -c "[ \"\$(docker exec $pg3 psql -X -A -t -h /tmp -U postgres -d appdb -c 'SELECT failed_count > 0 FROM pg_stat_archiver')\" = t ]" ||
    fail "archive-push did not fail on a full volume"
  failed=$(sql "$pg3" "SELECT failed_count FROM pg_stat_archiver")
  archived "$pg3" "$seg" && fail "$seg archived on a full volume"
  docker exec "$pg3" test -e "/var/lib/slipway/postgres/data/pg_wal/archive_status/$seg.ready" || fail "$seg is not kept as .ready"
  docker exec "$pg3" rm /var/lib/slipway/backup/filler
  seg2=$(switch "$pg3" | tail -n 1)
  wait_ready 60 archived "$pg3" "$seg2" || { logs_of "$pg3"; fail "$seg2 not archived after room was made"; }
  for i in "$seg" "$seg2"; do
    docker exec "$pg3" sh -c "ls /var/lib/slipway/backup/pgbackrest/archive/db/17-1/0000000100000000/$i-*" >/dev/null || fail "$i is not in the repository"
  done
  ok "backups: on a full backup volume archive-push fails ($failed failures), $seg waits as .ready; with room, $seg and $seg2 are archived"
  docker rm -f -v "$pg3" >/dev/null
}

# --- Postgres: the time a restore of a larger database takes (not run by default) ---------------
# pgbench -i -s SCALE (SLIPWAY_CHECK_RESTORE_SCALE, default 70: about 1 GiB), a full backup, the
# instance removed, and a new one restored from its backup volume to the end of the archive: the
# time from `docker run` to the first query is what a restore drill or a user waits.
check_restore_size() {
  [ -n "$pg_image" ] || fail "SLIPWAY_POSTGRES_IMAGE is not set"
  local scale=${SLIPWAY_CHECK_RESTORE_SCALE:-70} pg=$prefix-rs pg2=$prefix-rs2 data=$work/rs-data repo=$work/rs-backup
  local data2=$work/rs-data2 repo2=$work/rs-backup2 t0 out size start_ns end_ns
  volume "$data"
  volume "$repo"
  volume "$data2"
  volume "$repo2"
  rs_run() { # rs_run NAME DATA BACKUP [DOCKER ARG...]
    local c=$1 d=$2 b=$3
    shift 3
    docker run -d --name "$c" --network none "${restricted[@]}" -v "$d:/var/lib/slipway/postgres" \
      -v "$b:/var/lib/slipway/backup" -v "$tls:/etc/slipway/tls:ro" -e POSTGRES_USER=app -e POSTGRES_DB=appdb \
      -e POSTGRES_PASSWORD=secret "$@" "$pg_image" >/dev/null
  }
  rs_run "$pg" "$data" "$repo"
  wait_ready 60 docker exec "$pg" pg_isready -h /tmp -p 5432 || { logs_of "$pg"; fail "restore-size: not ready"; }
  t0=$SECONDS
  docker exec "$pg" pgbench -q -i -I dtGvp -s "$scale" -h /tmp -U postgres appdb >/dev/null 2>&1 || fail "pgbench -i -s $scale failed"
  size=$(docker exec "$pg" psql -X -A -t -h /tmp -U postgres -d appdb -c "SELECT pg_size_pretty(pg_database_size('appdb'))")
  ok "restore-size: pgbench -i -I dtGvp -s $scale: appdb is $size, made in $((SECONDS - t0)) s"
  t0=$SECONDS
  out=$(docker exec "$pg" slipway-postgres backup full 2>&1) || { printf '%s\n' "$out" >&2; fail "backup full failed"; }
  ok "restore-size: backup full in $((SECONDS - t0)) s: $(grep -o 'full backup size = .*' <<<"$out"); repository $(du -sh "$repo" | cut -f1)"
  docker stop -t 60 "$pg" >/dev/null
  docker rm -v "$pg" >/dev/null
  rm -rf "$data"
  start_ns=$(date +%s%N)
  rs_run "$pg2" "$data2" "$repo2" -v "$repo:/var/lib/slipway/restore-from:ro" -e PG_RESTORE_FROM=/var/lib/slipway/restore-from
  wait_ready 1800 docker exec "$pg2" psql -X -h /tmp -U postgres -d appdb -c 'SELECT 1' || { logs_of "$pg2"; fail "restore-size: no answer within 30 min"; }
  end_ns=$(date +%s%N)
  out=$(docker exec "$pg2" psql -X -A -t -h /tmp -U postgres -d appdb -c 'SELECT count(*) FROM pgbench_accounts')
  [ "$out" = "$((scale * 100000))" ] || fail "restore-size: pgbench_accounts has $out rows"
  ok "restore-size: restored $size into a new instance: container start to first query $(((end_ns - start_ns) / 1000000)) ms ($out accounts; $(docker logs "$pg2" 2>&1 | grep -o 'restore command end: .*'))"
  docker rm -f -v "$pg2" >/dev/null
}

# --- Valkey -------------------------------------------------------------------------------------
check_valkey() {
  [ -n "$vk_image" ] || fail "SLIPWAY_VALKEY_IMAGE is not set"
  local vk=$prefix-vk data=$work/vk out t0
  volume "$data"
  local backup=$work/vk-backup
  volume "$backup"
  vk_run() { # vk_run PASSWORD
    docker run -d --name "$vk" --network none "${restricted[@]}" -v "$data:/var/lib/slipway/valkey" \
      -v "$backup:/var/lib/slipway/backup" -v "$tls:/etc/slipway/tls:ro" -e "VALKEY_PASSWORD=$1" -e VALKEY_MAXCLIENTS=20 "$vk_image" >/dev/null
  }
  # cli PASSWORD CA ARGS...: valkey-cli over TLS (rediss://, the CA's certificates verified) in a
  # container on the server's network namespace; the password in its environment.
  cli() {
    local password=$1 ca=$2
    shift 2
    docker run --rm --network "container:$vk" "${restricted[@]}" -v "$ca:/etc/slipway/tls:ro" -e "REDISCLI_AUTH=$password" \
      --entrypoint valkey-cli "$vk_image" --no-auth-warning -u rediss://127.0.0.1:6379 --cacert /etc/slipway/tls/ca.crt \
      --sni "$name" "$@" 2>&1
  }

  out=$(docker run --rm --network none "${restricted[@]}" "$vk_image" 2>&1) && fail "valkey started without VALKEY_PASSWORD"
  [ "$(wc -l <<<"$out")" = 1 ] && grep -q VALKEY_PASSWORD <<<"$out" || fail "valkey without VALKEY_PASSWORD said: $out"
  ok "valkey: a missing VALKEY_PASSWORD is one line on stderr and exit 1 ($out)"

  out=$(docker run --rm --network none --entrypoint valkey-server "$vk_image" --version)
  ok "valkey: $out"

  t0=$SECONDS
  vk_run 'first "secret\'
  wait_ready 30 docker exec "$vk" slipway-valkey ping || { logs_of "$vk"; fail "valkey: slipway-valkey ping not 0 within 30 s"; }
  ok "valkey: ready in $((SECONDS - t0)) s (slipway-valkey ping)"

  [ "$(docker exec "$vk" cat /proc/1/comm)" = valkey-server ] || fail "PID 1 is not valkey-server"
  docker exec "$vk" cat /proc/1/cmdline | tr '\0' ' ' | grep -q secret && fail "the password is on valkey-server's command line"
  out=$(docker exec "$vk" sh -c 'stat -c "%a %u" /tmp/slipway-valkey.*.conf')
  [ "$out" = "600 999" ] || fail "the configuration file is $out, not 600 999"
  ok "valkey: PID 1 is valkey-server, no password in its command line, its config file 0600 uid 999"

  out=$(cli 'first "secret\' "$tls" SET kept 'survives restarts') || fail "rediss:// SET: $out"
  [ "$out" = OK ] || fail "rediss:// SET: $out"
  out=$(cli 'first "secret\' "$tls" INFO server | grep -E '^(valkey_version|tcp_port):' | tr -d '\r' | tr '\n' ' ')
  ok "valkey: rediss:// with the CA verified and the password: SET OK ($out)"

  out=$(cli 'first "secret\' "$other" PING) && grep -qx PONG <<<"$out" && fail "a client trusting another CA got PONG"
  ok "valkey: a client that trusts another CA is refused ($(head -c 80 <<<"$out" | tr '\n' ' '))"

  out=$(cli wrong "$tls" GET kept) || true
  grep -q -e WRONGPASS -e NOAUTH <<<"$out" || fail "wrong password: $out"
  ok "valkey: a wrong password is refused ($(head -1 <<<"$out" | tr -d '\r'))"

  out=$(docker run --rm --network "container:$vk" "${restricted[@]}" -e REDISCLI_AUTH=x --entrypoint valkey-cli "$vk_image" \
    --no-auth-warning -h 127.0.0.1 -p 6379 PING 2>&1) && grep -qx PONG <<<"$out" && fail "plain TCP got PONG"
  ok "valkey: plain TCP gets no answer ($(grep . <<<"$out" | tail -1 | tr -d '\r'))"

  # cli_as USER PASSWORD ARGS...: the same as USER (an ACL user).
  cli_as() {
    local user=$1 password=$2
    shift 2
    docker run --rm --network "container:$vk" "${restricted[@]}" -v "$tls:/etc/slipway/tls:ro" -e "REDISCLI_AUTH=$password" \
      --entrypoint valkey-cli "$vk_image" --no-auth-warning -u rediss://127.0.0.1:6379 --user "$user" --cacert /etc/slipway/tls/ca.crt \
      --sni "$name" "$@" 2>&1
  }

  out=$(docker exec "$vk" slipway-valkey cli GET kept 2>&1) || fail "slipway-valkey cli: $out"
  [ "$out" = "survives restarts" ] || fail "slipway-valkey cli: $out"
  ok "valkey: slipway-valkey cli (the console) reads over TLS with the password"

  # Seven older snapshots already there: the new one makes eight, and the oldest goes.
  local i snap
  volume "$backup/valkey"
  for i in 0 1 2 3 4 5 6; do : >"$backup/valkey/dump-20200101T00000${i}Z.rdb"; done
  chown 0:999 "$backup"/valkey/*.rdb
  docker exec "$vk" slipway-valkey heartbeat || fail "slipway-valkey heartbeat failed"
  beat=$(docker exec "$vk" slipway-valkey last-heartbeat)
  [[ $beat =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] || fail "slipway-valkey last-heartbeat printed: $beat"
  ok "valkey: slipway-valkey heartbeat wrote the time, last-heartbeat reads it ($beat)"
  snap=$(docker exec "$vk" slipway-valkey snapshot 2>&1) || fail "slipway-valkey snapshot: $snap"
  [[ $snap =~ ^/var/lib/slipway/backup/valkey/dump-[0-9]{8}T[0-9]{6}Z\.rdb$ ]] || fail "slipway-valkey snapshot printed: $snap"
  out=$(find "$backup/valkey" -name 'dump-*.rdb' -printf '%f\n' | sort | tr '\n' ' ')
  [ "$out" = "dump-20200101T000001Z.rdb dump-20200101T000002Z.rdb dump-20200101T000003Z.rdb dump-20200101T000004Z.rdb dump-20200101T000005Z.rdb dump-20200101T000006Z.rdb ${snap##*/} " ] ||
    fail "the snapshots kept: $out"
  out=$(docker run --rm --network none "${restricted[@]}" -v "$backup:/var/lib/slipway/backup:ro" --entrypoint valkey-check-rdb \
    "$vk_image" "$snap" 2>&1) || fail "valkey-check-rdb $snap: $out"
  grep -q '2 keys read' <<<"$out" || fail "valkey-check-rdb $snap: $out"
  ok "valkey: slipway-valkey snapshot wrote ${snap##*/} (valkey-check-rdb: 2 keys read) and kept the newest 7"
  out=$(docker exec "$vk" slipway-valkey stats) || fail "slipway-valkey stats: $out"
  grep -Eq '^data_used [1-9][0-9]+$' <<<"$out" && grep -Eq '^backup_used [1-9][0-9]+$' <<<"$out" && grep -Eq '^backup_avail [1-9][0-9]*$' <<<"$out" &&
    grep -qx 'connections 0' <<<"$out" && grep -qx 'max_connections 20' <<<"$out" || fail "slipway-valkey stats: $out"
  ok "valkey: stats prints both volumes' use and the connections against VALKEY_MAXCLIENTS: ${out//$'\n'/, }"
  out=$(docker exec "$vk" slipway-valkey verify 2>&1) || fail "slipway-valkey verify: $out"
  [ "$out" = "${snap##*/} is whole" ] || fail "slipway-valkey verify printed: $out"
  ok "valkey: slipway-valkey verify: $out"

  # A scratch copy from that snapshot (a restore drill's): another server on an empty data volume,
  # the backup volume read-only at VALKEY_RESTORE_FROM, starts with its keys and no AOF.
  local scratch=$work/vk-scratch sc=slipway-check-valkey-scratch
  volume "$scratch"
  docker run -d --name "$sc" --network none "${restricted[@]}" -v "$scratch:/var/lib/slipway/valkey" \
    -v "$backup:/var/lib/slipway/restore-from:ro" -v "$tls:/etc/slipway/tls:ro" -e VALKEY_RESTORE_FROM=/var/lib/slipway/restore-from \
    -e 'VALKEY_PASSWORD=scratch' "$vk_image" >/dev/null
  wait_ready 30 docker exec "$sc" slipway-valkey ping || { logs_of "$sc"; fail "valkey: the scratch copy did not start"; }
  out=$(docker exec "$sc" slipway-valkey cli GET kept)
  [ "$out" = "survives restarts" ] || fail "the scratch copy has: $out"
  [ "$(docker exec "$sc" slipway-valkey last-heartbeat)" = "$beat" ] || fail "the scratch copy's heartbeat differs"
  [ "$(docker exec "$sc" slipway-valkey check)" = "keys 2" ] || fail "slipway-valkey check in the scratch copy: $(docker exec "$sc" slipway-valkey check 2>&1)"
  [ "$(docker exec "$sc" slipway-valkey cli CONFIG GET appendonly | tail -1)" = no ] || fail "the scratch copy writes an append-only file"
  # Kept as a database of its own (redis:restore): the append-only file turned on while it runs,
  # then started again without VALKEY_RESTORE_FROM, as its StatefulSet's second apply does.
  out=$(docker exec "$sc" slipway-valkey aof-on 2>&1) || fail "slipway-valkey aof-on: $out"
  [ "$out" = "appendonly yes" ] || fail "slipway-valkey aof-on printed: $out"
  docker stop -t 30 "$sc" >/dev/null && docker rm -v "$sc" >/dev/null
  docker run -d --name "$sc" --network none "${restricted[@]}" -v "$scratch:/var/lib/slipway/valkey" \
    -v "$tls:/etc/slipway/tls:ro" -e 'VALKEY_PASSWORD=scratch' "$vk_image" >/dev/null
  wait_ready 30 docker exec "$sc" slipway-valkey ping || { logs_of "$sc"; fail "valkey: the kept copy did not start again"; }
  [ "$(docker exec "$sc" slipway-valkey check)" = "keys 2" ] || fail "the kept copy has: $(docker exec "$sc" slipway-valkey check 2>&1)"
  [ "$(docker exec "$sc" slipway-valkey cli GET kept)" = "survives restarts" ] || fail "the kept copy lost its key"
  [ "$(docker exec "$sc" slipway-valkey cli CONFIG GET appendonly | tail -1)" = yes ] || fail "the kept copy writes no append-only file"
  docker rm -f -v "$sc" >/dev/null
  ok "valkey: a scratch copy from the newest snapshot (VALKEY_RESTORE_FROM) has its keys and heartbeat, no AOF; after aof-on and a restart without it, its keys from its own AOF"

  # A credential rotation: a new ACL user beside `default`; `default` is turned off once no
  # connection is logged in as it, and a restart with the new login knows only the new user.
  local hold=$prefix-vkhold
  docker run -d --name "$hold" --network "container:$vk" "${restricted[@]}" -e 'REDISCLI_AUTH=first "secret\' \
    --entrypoint valkey-cli "$vk_image" --no-auth-warning --tls --insecure -h 127.0.0.1 -p 6379 BLPOP slipway:never 0 >/dev/null
  out=$(printf 'rotated-secret\n' | docker exec -i "$vk" slipway-valkey login-add u0123456789ab 2>&1) || fail "slipway-valkey login-add: $out"
  out=$(cli_as u0123456789ab rotated-secret GET kept) || fail "the new login: $out"
  [ "$out" = "survives restarts" ] || fail "the new login read: $out"
  out=$(printf 'x\n' | docker exec -i "$vk" slipway-valkey login-add default 2>&1) && fail "login-add default was taken: $out"
  ok "valkey: login-add makes an ACL user that reads the data; login-add default is refused"
  out=$(docker exec "$vk" slipway-valkey login-retire default)
  [ "$out" = mounted ] || fail "login-retire of the login in use printed: $out"
  retire_as_new() { docker exec -e VALKEY_USER=u0123456789ab -e VALKEY_PASSWORD=rotated-secret "$vk" slipway-valkey login-retire "$1"; }
  wait_ready 10 sh -c "[ \"\$(docker exec $vk slipway-valkey cli CLIENT LIST | grep -c 'cmd=blpop')\" = 1 ]" || fail "the held connection is not there"
  out=$(retire_as_new default) || fail "login-retire default: $out"
  [ "$out" = 1 ] || fail "login-retire default with a connection held printed: $out"
  out=$(cli 'first "secret\' "$tls" GET kept) || fail "default while still held: $out"
  docker rm -f "$hold" >/dev/null
  wait_ready 10 sh -c "[ \"\$(docker exec -e VALKEY_USER=u0123456789ab -e VALKEY_PASSWORD=rotated-secret $vk slipway-valkey login-retire default)\" = 0 ]" ||
    fail "login-retire default did not reach 0 once the connection closed"
  out=$(cli 'first "secret\' "$tls" GET kept) || true
  grep -q -e WRONGPASS -e NOAUTH <<<"$out" || fail "default still logs in after it was retired: $out"
  [ "$(cli_as u0123456789ab rotated-secret GET kept)" = "survives restarts" ] || fail "the new login stopped working"
  ok "valkey: login-retire says mounted for the login in use, counts default's connections (1), then turns default off at 0"
  local file=$backup/valkey/${snap##*/}
  cp -p "$file" "$work/snapshot.rdb"
  printf '\xde\xad\xbe\xef' | dd of="$file" bs=1 seek=$(($(stat -c %s "$file") / 2)) conv=notrunc status=none
  out=$(docker exec "$vk" slipway-valkey verify 2>&1) && fail "slipway-valkey verify passed a damaged snapshot: $out"
  grep -q "is damaged" <<<"$out" || fail "slipway-valkey verify of a damaged snapshot said: $out"
  cp -p "$work/snapshot.rdb" "$file"
  ok "valkey: verify fails after 4 bytes flipped in the snapshot ($out)"

  sleep 3
  ok "valkey: idle memory: $(idle_memory "$vk")"

  docker kill -s TERM "$vk" >/dev/null
  [ "$(docker wait "$vk")" = 0 ] || { logs_of "$vk"; fail "valkey did not exit 0 on SIGTERM"; }
  ok "valkey: SIGTERM saves and exits 0 ($(docker logs "$vk" 2>&1 | grep -o -e 'DB saved on disk' -e 'ready to exit, bye bye' | tr '\n' ',' | sed 's/,$//'))"
  docker rm -v "$vk" >/dev/null

  vk_run second-secret
  wait_ready 30 docker exec "$vk" slipway-valkey ping || { logs_of "$vk"; fail "valkey: not ready again"; }
  out=$(cli second-secret "$tls" GET kept)
  [ "$out" = "survives restarts" ] || fail "after restart: $out"
  out=$(cli 'first "secret\' "$tls" GET kept) || true
  grep -q -e WRONGPASS -e NOAUTH <<<"$out" || fail "the old password still works after a restart: $out"
  ok "valkey: the data is kept; the new VALKEY_PASSWORD works and the old one is refused"
  docker rm -f -v "$vk" >/dev/null

  docker run -d --name "$vk" --network none "${restricted[@]}" -v "$data:/var/lib/slipway/valkey" -v "$backup:/var/lib/slipway/backup" \
    -v "$tls:/etc/slipway/tls:ro" -e VALKEY_USER=u0123456789ab -e VALKEY_PASSWORD=rotated-secret "$vk_image" >/dev/null
  wait_ready 30 docker exec "$vk" slipway-valkey ping || { logs_of "$vk"; fail "valkey: not ready as an ACL user"; }
  [ "$(cli_as u0123456789ab rotated-secret GET kept)" = "survives restarts" ] || fail "the ACL user after a restart: $(cli_as u0123456789ab rotated-secret GET kept)"
  out=$(cli rotated-secret "$tls" GET kept) || true
  grep -q -e WRONGPASS -e NOAUTH <<<"$out" || fail "default logs in with the ACL user's password: $out"
  docker exec "$vk" sh -c 'cat /tmp/slipway-valkey.*.conf' | grep -q rotated-secret && fail "the ACL user's password is in the configuration file"
  [ "$(docker exec "$vk" slipway-valkey check)" = "keys 2" ] || fail "slipway-valkey check as the ACL user: $(docker exec "$vk" slipway-valkey check 2>&1)"
  ok "valkey: started with VALKEY_USER, only that ACL user logs in (default off), its password only hashed in the configuration"
  docker rm -f -v "$vk" >/dev/null
}

# --- Postgres: dumps, imports, rotated logins ---------------------------------------------------
check_dumps() {
  [ -n "$pg_image" ] || fail "SLIPWAY_POSTGRES_IMAGE is not set"
  local src=$prefix-dsrc dst=$prefix-ddst out dump=$work/app.dump junk=$work/junk.dump holder
  volume "$work/ds-data" && volume "$work/ds-backup" && volume "$work/dd-data" && volume "$work/dd-backup"
  # dm_run NAME DIR USER PASSWORD: an instance with its data and backup volumes in DIR-data, DIR-backup.
  dm_run() {
    docker run -d --name "$1" --network none "${restricted[@]}" -v "$2-data:/var/lib/slipway/postgres" \
      -v "$2-backup:/var/lib/slipway/backup" -v "$tls:/etc/slipway/tls:ro" -e POSTGRES_USER="$3" -e POSTGRES_DB=appdb \
      -e POSTGRES_PASSWORD="$4" "$pg_image" >/dev/null
    wait_ready 60 docker exec "$1" pg_isready -h /tmp -p 5432 || { logs_of "$1"; fail "$1: not ready within 60 s"; }
  }
  # as CONTAINER USER PASSWORD SQL: psql as USER over TLS to 127.0.0.1 in the container's namespace.
  as() {
    docker run --rm --network "container:$1" "${restricted[@]}" -e "PGPASSWORD=$3" -e PGCONNECT_TIMEOUT=5 \
      --entrypoint psql "$pg_image" -X -q -A -t -v ON_ERROR_STOP=1 "host=127.0.0.1 sslmode=require user=$2 dbname=appdb" -c "$4" 2>&1
  }
  dm_run "$src" "$work/ds" app secret
  out=$(as "$src" app secret "CREATE TABLE items (n int PRIMARY KEY, v text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 1000) g") || fail "rows: $out"
  # An extension the superuser made and commented, as plpgsql's comment is in many dumps (Heroku's):
  # the target has it too, and only its owner may comment on it.
  out=$(docker exec "$src" psql -X -q -h /tmp -U postgres -d appdb -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pgcrypto; COMMENT ON EXTENSION pgcrypto IS 'made by the superuser'" 2>&1) || fail "extension: $out"
  out=$(docker exec "$src" slipway-postgres stats) || fail "stats: $out"
  grep -Eq '^data_used [1-9][0-9]+$' <<<"$out" && grep -Eq '^backup_avail [1-9][0-9]*$' <<<"$out" && grep -qx 'connections 0' <<<"$out" && grep -qx 'max_connections 20' <<<"$out" ||
    fail "stats: $out"
  ok "dumps: stats prints both volumes' use and the connections: ${out//$'\n'/, }"
  out=$(docker exec "$src" slipway-postgres backup full 7d 2>&1) || fail "backup with 7d: $out"
  grep -qx 'repo1-retention-full-type=time' <(docker exec "$src" cat /tmp/slipway-pgbackrest.conf) || fail "backup 7d: no time retention in pgBackRest's configuration"
  out=$(docker exec "$src" slipway-postgres backup full 7weeks 2>&1) && fail "backup took a retention of 7weeks"
  ok "dumps: backup full 7d expires by age (repo1-retention-full-type=time); a bad retention is refused"
  # The caller keeps the dump's standard input open while it reads (its end stops pg_dump).
  exec 4< <(sleep 120)
  local input=$!
  docker exec -i "$src" slipway-postgres dump <&4 >"$dump" || fail "dump: exit $?"
  [ "$(head -c 5 "$dump")" = PGDMP ] || fail "dump: not a custom-format archive"
  out=$(docker run --rm -i --network none --entrypoint pg_restore "$pg_image" -l <"$dump" | grep -c 'TABLE DATA public items') || fail "pg_restore -l: $out"
  ok "dumps: slipway-postgres dump is a pg_dump -Fc archive pg_restore -l reads ($(stat -c %s "$dump") bytes)"
  out=$(as "$src" app secret "CREATE TABLE big AS SELECT g, md5(g::text) || md5((g * 7)::text) AS v FROM generate_series(1, 300000) g") || fail "big: $out"
  # A reader that does not read (pg_dump waits on its full pipe), then its input ends (what a
  # caller that went away leaves).
  # shellcheck disable=SC2216 # sleep reads nothing on purpose: the pipe fills and pg_dump waits.
  docker exec -i "$src" slipway-postgres dump <&4 | sleep 60 &
  local stalled=$!
  wait_ready 20 sh -c "[ \"\$(docker exec $src psql -h /tmp -At -U postgres -d appdb -c \"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump'\")\" = 1 ]" ||
    fail "pg_dump did not start"
  exec 4<&-
  kill "$input" 2>/dev/null || true
  wait_ready 20 sh -c "[ \"\$(docker exec $src psql -h /tmp -At -U postgres -d appdb -c \"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump'\")\" = 0 ]" ||
    fail "pg_dump did not end when its input did"
  kill "$stalled" 2>/dev/null || true
  out=$(as "$src" app secret "DROP TABLE big") || fail "big: $out"
  ok "dumps: the end of its standard input (the caller gone) ends pg_dump"

  dm_run "$dst" "$work/dd" other other-secret
  out=$(docker exec "$dst" psql -X -q -h /tmp -U postgres -d appdb -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pgcrypto" 2>&1) || fail "extension in the target: $out"
  grep -q 'COMMENT - EXTENSION pgcrypto' < <(docker run --rm -i --network none --entrypoint pg_restore "$pg_image" -l <"$dump") || fail "the dump has no comment on pgcrypto"
  out=$(docker exec -i "$dst" slipway-postgres import 10000000 <"$dump" 2>&1) || fail "import: $out"
  out=$(as "$dst" other other-secret "SELECT count(*), pg_get_userbyid(relowner) FROM items JOIN pg_class ON relname = 'items' GROUP BY relowner") || fail "imported rows: $out"
  [ "$out" = "1000|other" ] || fail "imported rows: $out"
  [ ! -e "$work/dd-backup/slipway-import.dump" ] || fail "import: the archive was left on the backup volume"
  ok "dumps: import restores the archive as the instance's own role (1000 rows, owned by other), past a comment on an extension it does not own, and removes its copy"
  head -c 20000 /dev/urandom >"$junk"
  out=$(docker exec -i "$dst" slipway-postgres import 10000000 <"$junk" 2>&1) && fail "import took garbage"
  grep -q 'import: this is not an archive pg_restore reads' <<<"$out" || fail "garbage: $out"
  out=$(docker exec -i "$dst" slipway-postgres import 1000 <"$dump" 2>&1) && fail "import took an archive over its bound"
  grep -q 'import: the archive is larger than 1000 bytes' <<<"$out" || fail "too large: $out"
  ok "dumps: garbage and an archive over MAXBYTES are refused with one line each"

  # A rotation: a new login that acts as app; app's sessions keep it until none is left.
  out=$(printf 'new-secret\n' | docker exec -i "$src" slipway-postgres login-add unew app 2>&1) || fail "login-add: $out"
  out=$(as "$src" unew new-secret "CREATE TABLE made_by_new (x int); SELECT current_user || ' ' || session_user || ' ' || pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'made_by_new'; SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") || fail "the new login: $out"
  [ "$out" = $'app unew app\nt' ] || fail "the new login: $out"
  ok "dumps: login-add makes a login (password on stdin) that acts as the owner and sees its own session's TLS: ${out//$'\n'/ }"
  # An idle session (psql waiting on its input), as an app's pooled connection is.
  docker run -d -i --name "$src-held" --network "container:$src" "${restricted[@]}" -e PGPASSWORD=secret \
    --entrypoint psql "$pg_image" -X "host=127.0.0.1 sslmode=require user=app dbname=appdb" >/dev/null
  wait_ready 20 sh -c "[ \"\$(docker exec $src slipway-postgres login-retire app)\" = 1 ]" || fail "login-retire did not count the held session"
  out=$(as "$src" app secret "SELECT 1") || fail "the old login was retired while a session used it: $out"
  docker rm -f "$src-held" >/dev/null
  wait_ready 20 sh -c "[ \"\$(docker exec $src slipway-postgres login-retire app)\" = 0 ]" || fail "login-retire did not retire app"
  out=$(as "$src" app secret "SELECT 1") && fail "the retired login still logs in"
  grep -q -e 'not permitted to log in' -e 'password authentication failed' <<<"$out" || fail "retired login: $out"
  ok "dumps: login-retire keeps a login while a session uses it, then removes its LOGIN"
  docker rm -f -v "$src" >/dev/null
  holder=$(docker run -d --name "$src" --network none "${restricted[@]}" -v "$work/ds-data:/var/lib/slipway/postgres" \
    -v "$work/ds-backup:/var/lib/slipway/backup" -v "$tls:/etc/slipway/tls:ro" -e POSTGRES_USER=unew -e POSTGRES_DB=appdb \
    -e POSTGRES_PASSWORD=new-secret "$pg_image")
  wait_ready 60 docker exec "$src" pg_isready -h /tmp -p 5432 || { logs_of "$src"; fail "restart as unew: not ready"; }
  out=$(as "$src" unew new-secret "SELECT pg_get_userbyid(datdba) || ' ' || current_user FROM pg_database WHERE datname = 'appdb'; SELECT count(*) FROM items") || fail "after restart: $out"
  [ "$out" = $'app app\n1000' ] || fail "after a restart as the rotated login: $out"
  ok "dumps: a restart with the rotated login keeps appdb owned by app (${holder:0:12})"
  docker rm -f -v "$src" "$dst" >/dev/null
}

# --- Postgres 17 to 18 ------------------------------------------------------------------------
check_upgrade() {
  [ -n "$pg_image" ] || fail "SLIPWAY_POSTGRES_IMAGE is not set"
  [ -n "$pg18_image" ] || fail "SLIPWAY_POSTGRES18_IMAGE is not set"
  local pg=$prefix-up data=$work/up-data repo=$work/up-backup out t0 counts hb ver
  volume "$data"
  volume "$repo"
  # up_run IMAGE [DOCKER ARG...] [-- ARG...]: an instance of IMAGE on the same two volumes.
  up_run() {
    local image=$1
    shift
    docker run -d --name "$pg" --network none "${restricted[@]}" -v "$data:/var/lib/slipway/postgres" \
      -v "$repo:/var/lib/slipway/backup" -v "$tls:/etc/slipway/tls:ro" -e POSTGRES_USER=app -e POSTGRES_DB=appdb \
      -e POSTGRES_PASSWORD=secret "$@" "$image" >/dev/null
  }
  once() { # once IMAGE [DOCKER ARG...] -- ARG...: a container that runs and ends, its output printed
    local image=$1 args=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
    shift
    docker run --rm --network none "${restricted[@]}" -v "$data:/var/lib/slipway/postgres" -v "$repo:/var/lib/slipway/backup" \
      -v "$tls:/etc/slipway/tls:ro" -e POSTGRES_USER=app -e POSTGRES_DB=appdb -e POSTGRES_PASSWORD=secret "${args[@]}" "$image" "$@" 2>&1
  }
  sql() { docker exec "$pg" psql -X -q -A -t -v ON_ERROR_STOP=1 -h /tmp -p 5432 -U postgres -d appdb -c "$1" 2>&1; }
  up() { wait_ready 120 docker exec "$pg" pg_isready -h /tmp -p 5432 || { logs_of "$pg"; fail "upgrade: $pg not ready within 120 s"; }; }
  stop() { docker stop -t 30 "$pg" >/dev/null && docker rm -v "$pg" >/dev/null; }

  # A 17 cluster with rows, a heartbeat, a backup, and a column of a type pg_upgrade refuses.
  up_run "$pg_image"
  up
  sql "CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items SELECT i, md5(i::text) FROM generate_series(1, 5000) i;
    CREATE SCHEMA other; CREATE TABLE other.notes AS SELECT i FROM generate_series(1, 77) i; CREATE TABLE trap (f regproc)" >/dev/null
  hb=$(docker exec "$pg" slipway-postgres heartbeat)
  docker exec "$pg" slipway-postgres backup full >/dev/null 2>&1 || fail "upgrade: the 17 backup failed"
  counts=$(docker exec "$pg" slipway-postgres row-counts)
  [ "$counts" = $'appdb other.notes 77\nappdb public.items 5000\nappdb public.trap 0\npostgres public.slipway_heartbeat 1' ] || fail "upgrade: row-counts on 17: $counts"
  ok "upgrade: a Postgres $(docker exec "$pg" slipway-postgres server-version | cut -d' ' -f1) cluster with 5077 rows, a heartbeat and a full backup (row-counts lists every user table)"
  stop

  out=$(once "$pg18_image" --) && fail "the 18 image started on a 17 cluster without PG_UPGRADE_FROM"
  [ "$(wc -l <<<"$out")" = 1 ] && grep -q 'holds a Postgres 17 cluster and this image runs Postgres 18: set PG_UPGRADE_FROM=17' <<<"$out" || fail "upgrade: without PG_UPGRADE_FROM: $out"
  [ "$(cat "$data/data/PG_VERSION")" = 17 ] || fail "upgrade: the refused start changed PG_VERSION"
  ok "upgrade: the 18 image refuses a 17 cluster without PG_UPGRADE_FROM, with one line, touching nothing"

  local empty=$work/up-empty empty_repo=$work/up-empty-backup
  volume "$empty"
  volume "$empty_repo"
  out=$(docker run --rm --network none "${restricted[@]}" -v "$empty:/var/lib/slipway/postgres" -v "$empty_repo:/var/lib/slipway/backup" \
    -v "$repo:/var/lib/slipway/restore-from:ro" -v "$tls:/etc/slipway/tls:ro" -e POSTGRES_USER=app -e POSTGRES_DB=appdb \
    -e POSTGRES_PASSWORD=secret -e PG_RESTORE_FROM=/var/lib/slipway/restore-from "$pg18_image" 2>&1) && fail "the 18 image restored 17's backups"
  [ "$(wc -l <<<"$out")" = 1 ] && grep -q 'the backups in /var/lib/slipway/restore-from are of Postgres 17 and this image runs Postgres 18' <<<"$out" &&
    [ -z "$(ls -A "$empty/data")" ] || fail "upgrade: a restore of 17's backups by the 18 image: $out"
  ok "upgrade: the 18 image refuses to restore 17's backups, with one line (the 17 image restores them, then the copy is upgraded)"

  out=$(once "$pg18_image" -e PG_UPGRADE_FROM=17 -- upgrade) && fail "the upgrade of a cluster with a regproc column passed"
  grep -q 'pg_upgrade --check found that .* cannot be upgraded to Postgres 18 (its report above); the Postgres 17 cluster is back in place' <<<"$out" &&
    grep -q 'reg\*' <<<"$out" || fail "upgrade: the failed check said: $out"
  [ "$(cat "$data/data/PG_VERSION")" = 17 ] && [ ! -e "$data/data-17" ] && [ ! -e "$data/upgrade-unfinished" ] || fail "upgrade: a failed check left $(ls "$data")"
  up_run "$pg_image"
  up
  [ "$(sql "SELECT count(*) FROM items")" = 5000 ] || fail "upgrade: the 17 cluster after a failed check"
  sql "DROP TABLE trap" >/dev/null
  stop
  ok "upgrade: pg_upgrade --check refuses a regproc column: one line after its report, and the 17 cluster starts again as it was"

  t0=$SECONDS
  up_run "$pg18_image" -e PG_UPGRADE_FROM=17
  up
  ver=$(docker exec "$pg" slipway-postgres server-version)
  [[ $ver == 18.* ]] || fail "upgrade: server_version $ver"
  [ "$(docker exec "$pg" slipway-postgres row-counts)" = "$(grep -v trap <<<"$counts")" ] || fail "upgrade: row-counts on 18: $(docker exec "$pg" slipway-postgres row-counts)"
  [ "$(sql "SELECT sum(length(v)) FROM items")" = 160000 ] && [ "$(docker exec "$pg" slipway-postgres last-heartbeat)" = "$hb" ] || fail "upgrade: the data on 18"
  out=$(docker exec "$pg" slipway-postgres psql -X -q -A -t -c "SELECT current_user || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>&1)
  [ "$out" = "app true" ] || fail "upgrade: app over TLS on 18: $out"
  [ "$(cat "$data/data/PG_VERSION")" = 18 ] && [ ! -e "$data/data-17" ] && [ ! -e "$data/upgrade-unfinished" ] || fail "upgrade: left $(ls "$data")"
  docker logs "$pg" 2>&1 | grep -q 'upgraded /var/lib/slipway/postgres/data from Postgres 17 to Postgres 18' || fail "upgrade: no upgrade in the log"
  ok "upgrade: PG_UPGRADE_FROM=17: pg_upgrade --link and vacuumdb, then Postgres $ver serves every row and the heartbeat (app over TLS too) in $((SECONDS - t0)) s; the 17 cluster is gone"

  out=$(docker exec "$pg" slipway-postgres backup full 2>&1) || { printf '%s\n' "$out" >&2; fail "upgrade: backup on 18"; }
  out=$(docker exec "$pg" slipway-postgres backups)
  [ "$(jq -r '[.[0].db[].version] | join(",")' <<<"$out")" = 17,18 ] && [ "$(jq -r '.[0].status.message' <<<"$out")" = ok ] &&
    [ "$(jq -r '[.[0].backup[].database.id] | join(",")' <<<"$out")" = 1,2 ] || fail "upgrade: backups after the stanza upgrade: $out"
  ok "upgrade: the stanza was upgraded (databases 17 and 18 in the repository) and a full backup of 18 is taken"
  stop
  up_run "$pg18_image"
  up
  [ "$(sql "SELECT count(*) FROM items")" = 5000 ] || fail "upgrade: after a restart"
  stop
  ok "upgrade: a restart without PG_UPGRADE_FROM is a plain start of the 18 cluster"
}

for w in "${which[@]}"; do
  case $w in
    upgrade) check_upgrade ;;
    postgres) check_postgres ;;
    backups) check_backups ;;
    dumps) check_dumps ;;
    restore-size) check_restore_size ;;
    valkey) check_valkey ;;
    *) fail "usage: images/check.sh [postgres] [backups] [dumps] [valkey] [upgrade] [restore-size]" ;;
  esac
done
printf 'images/check.sh: %d checks passed in %d s\n' "$n" "$((SECONDS - started))"
