#!/usr/bin/env bash
# Testbed part: an S3-compatible endpoint on loopback, where Slipway copies its own backups
# (SLIPWAY_BACKUP_S3_URL, docs/backups.md) as it would to any S3 service: versitygw
# (testbed/tools/s3's pin, built from the Go module proxy) serving a folder over HTTPS, with a
# certificate from a CA made here once, an access key and secret made here once, and one bucket.
# Idempotent: rebuilt only when testbed/tools/s3 or testbed/s3/build.sh change; the running
# gateway is reused while its command is the same and it answers.
# Prints: SLIPWAY_TEST_S3_ENDPOINT (https://127.0.0.1:PORT), SLIPWAY_TEST_S3_BUCKET,
# SLIPWAY_TEST_S3_CREDENTIALS (a file holding ACCESS_KEY:SECRET) and SLIPWAY_TEST_S3_CA (the CA's
# certificate, which a client is told to trust).
set -euo pipefail
: "${SLIPWAY_ROOT:?run through testbed/up.sh}" "${SLIPWAY_CACHE_DIR:?}" "${TESTBED_DIR:?}"
# shellcheck source=testbed/lib.sh
. "$SLIPWAY_ROOT/testbed/lib.sh"

part_lock s3
sdir=$TESTBED_DIR/s3
run=$sdir/run
logs=$sdir/log
mkdir -p "$sdir" "$run" "$logs" "$sdir/data"
chmod 0700 "$sdir"
port=9310
bucket=slipway-backups
restart_all=0

# --- 1. the binary ---------------------------------------------------------------------------------
go_tool s3
bin=$GO_TOOL_BIN

# --- 2. its CA, certificate and credential (kept: clients that trust the CA stay valid) ------------
if [ ! -s "$sdir/ca.pem" ] || [ ! -s "$sdir/server.key" ] || [ ! -s "$sdir/server.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=Slipway testbed S3 CA" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign -keyout "$sdir/ca.key" -out "$sdir/ca.pem" 2>/dev/null ||
    die "s3: openssl could not make the CA"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$sdir/server.key.tmp" -out "$sdir/server.csr" 2>/dev/null || die "s3: openssl could not make the server key"
  openssl x509 -req -in "$sdir/server.csr" -CA "$sdir/ca.pem" -CAkey "$sdir/ca.key" -CAcreateserial -days 3650 \
    -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n') \
    -out "$sdir/server.pem.tmp" 2>/dev/null || die "s3: openssl could not sign the server certificate"
  chmod 0600 "$sdir/ca.key" "$sdir/server.key.tmp"
  mv "$sdir/server.key.tmp" "$sdir/server.key"
  mv "$sdir/server.pem.tmp" "$sdir/server.pem"
  rm -f "$sdir/server.csr"
  restart_all=1
  log "s3: made the CA $sdir/ca.pem and the gateway's certificate"
fi
if [ ! -s "$sdir/credentials" ]; then
  (umask 077; printf 'slipway%s:%s\n' "$(openssl rand -hex 6)" "$(openssl rand -hex 24)" >"$sdir/credentials")
  restart_all=1
fi
IFS=: read -r access secret <"$sdir/credentials"
# The posix backend's buckets are the data folder's folders.
mkdir -p "$sdir/data/$bucket"

# --- 3. the gateway --------------------------------------------------------------------------------
healthy() {
  # Any S3 answer (an unsigned request is refused with 403) over TLS the CA vouches for.
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 --cacert "$sdir/ca.pem" "https://127.0.0.1:$port/")" = 403 ]
}
# The credential is handed over in the environment (versitygw reads ROOT_ACCESS_KEY and
# ROOT_SECRET_KEY), not on the command line, so no process list shows it.
ensure_process s3 versitygw "$bin/versitygw" "$SLIPWAY_CACHE_DIR/bin/s3/versitygw" "$port" 60 \
  "$bin/versitygw $(sha256sum "$sdir/credentials" "$sdir/server.pem" | cut -c1-16 | tr '\n' ' ')127.0.0.1:$port $sdir/data" -- \
  "ROOT_ACCESS_KEY=$access" "ROOT_SECRET_KEY=$secret" \
  --port "127.0.0.1:$port" --cert "$sdir/server.pem" --key "$sdir/server.key" posix "$sdir/data"
log "s3: versitygw answers at https://127.0.0.1:$port, bucket $bucket"

printf 'export SLIPWAY_TEST_S3_ENDPOINT=%q\n' "https://127.0.0.1:$port"
printf 'export SLIPWAY_TEST_S3_BUCKET=%q\n' "$bucket"
printf 'export SLIPWAY_TEST_S3_CREDENTIALS=%q\n' "$sdir/credentials"
printf 'export SLIPWAY_TEST_S3_CA=%q\n' "$sdir/ca.pem"
