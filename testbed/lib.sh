# shellcheck shell=bash
# shellcheck disable=SC2154  # $run, $logs and $restart_all are set by the parts that run daemons
# Helpers shared by the testbed parts. Everything here logs to stderr; stdout carries exports only.
log() { printf 'testbed: %s\n' "$*" >&2; }
die() { printf 'testbed: error: %s\n' "$*" >&2; exit 1; }
# part_lock NAME: holds $TESTBED_DIR/NAME.lock on fd 8 for the rest of the part, so two testbed
# runs never set up the same part at once; the second waits, saying so.
part_lock() {
  exec 8>"$TESTBED_DIR/$1.lock"
  flock -n 8 || { log "$1: waiting for another testbed run to finish"; flock 8; }
}
# apt_need PKG... installs the Debian packages that are missing (root only). One apt at a time:
# prebuild.sh installs beside the parts, so both take $SLIPWAY_CACHE_DIR/.apt.lock first (and
# wait for dpkg's own lock, which another program on the machine may hold).
apt_need() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]} (run as root)"
  mkdir -p "$SLIPWAY_CACHE_DIR"
  (
    exec 6>"$SLIPWAY_CACHE_DIR/.apt.lock"
    flock 6
    missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && exit 0
    log "apt-get install ${missing[*]}"
    if [ ! -f "$SLIPWAY_CACHE_DIR/.apt-updated" ] || [ -n "$(find "$SLIPWAY_CACHE_DIR/.apt-updated" -mmin +720)" ]; then
      apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 && touch "$SLIPWAY_CACHE_DIR/.apt-updated"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
  ) 6>&-
}
# wait_for DESCRIPTION SECONDS CMD... retries CMD until it succeeds or the deadline passes.
wait_for() {
  local what=$1 secs=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || die "timed out after ${secs}s waiting for $what"
    sleep 0.5
  done
}

# write_kubeconfig FILE SERVER CA_CRT CRT KEY USER: a self-contained kubeconfig (certificates
# embedded) for USER's client certificate. Returns 0 when it (re)wrote FILE, 1 when FILE was
# already current (same client certificate, server and CA).
write_kubeconfig() {
  local file=$1 server=$2 ca=$3 crt=$4 key=$5 user=$6
  if [ -s "$file" ] && grep -qF "client-certificate-data: $(base64 -w0 "$crt")" "$file" &&
    grep -qF "server: $server" "$file" && grep -qF "certificate-authority-data: $(base64 -w0 "$ca")" "$file"; then
    return 1
  fi
  cat >"$file.tmp" <<KC
apiVersion: v1
kind: Config
clusters:
- name: slipway-testbed
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$ca")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$crt")
    client-key-data: $(base64 -w0 "$key")
contexts:
- name: $user@slipway-testbed
  context:
    cluster: slipway-testbed
    user: $user
current-context: $user@slipway-testbed
KC
  mv "$file.tmp" "$file"
}

# build_once LABEL WHAT SCRIPT MOD BIN STAMP: unless BIN/.stamp already says STAMP, runs
# `bash SCRIPT MOD BIN STAMP` detached (log $SLIPWAY_CACHE_DIR/bin/LABEL-build.log), or waits for
# the one an interrupted run left going, logging progress each minute; dies with the log's tail
# if the build did not write the stamp. The testbed's lock descriptors are not inherited.
build_once() {
  local label=$1 what=$2 script=$3 mod=$4 bin=$5 stamp=$6
  local build_log=$SLIPWAY_CACHE_DIR/bin/$label-build.log build_pid=$SLIPWAY_CACHE_DIR/bin/$label-build.pid pid started
  [ "$(cat "$bin/.stamp" 2>/dev/null)" != "$stamp" ] || return 0
  mkdir -p "$SLIPWAY_CACHE_DIR/bin"
  # The early build chain (prebuild.sh) and a part may reach the same build at once: the check
  # and the start happen under one lock, so only one of them starts it.
  local lock_fd
  exec {lock_fd}>"$SLIPWAY_CACHE_DIR/bin/$label-build.lock"
  flock "$lock_fd"
  pid=$(cat "$build_pid" 2>/dev/null || true)
  if [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$stamp" ]; then
    pid=
  elif [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q build.sh "/proc/$pid/cmdline" 2>/dev/null; then
    log "$label: waiting for the build already running (pid $pid, log $build_log)"
  else
    log "$label: building $what (log $build_log)"
    setsid nohup bash "$script" "$mod" "$bin" "$stamp" </dev/null >"$build_log" 2>&1 7>&- 8>&- 9>&- {lock_fd}>&- &
    pid=$!
    echo "$pid" >"$build_pid"
  fi
  exec {lock_fd}>&-
  [ -n "$pid" ] || return 0
  started=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    if [ $(((SECONDS - started) % 60)) -lt 5 ]; then
      log "$label: build running for $((SECONDS - started))s $(grep -E '^(building|[a-z-]+: [0-9]+s)' "$build_log" | tail -n1 || true)"
    fi
  done
  rm -f "$build_pid"
  [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$stamp" ] || { tail -n 30 "$build_log" >&2; die "$label: build failed (log $build_log)"; }
  log "$label: built in $((SECONDS - started))s: $(grep -E '^[a-z-]+: [0-9]+s$' "$bin/BUILD-TIMES" | tr '\n' ' ')"
}

# go_tool LABEL: build_once for one of the testbed's Go tools (testbed/tools/*), with the stamp
# of everything that changes its binaries (pins, sources of our own, build script, compiler).
# Sets GO_TOOL_BIN to its binaries' directory. Parts call it for what they run; prebuild.sh calls
# it for all of them, early, so that the builds run while the parts wait on downloads.
# shellcheck disable=SC2034  # read by prebuild.sh
GO_TOOLS="kube node netpol storage certs metrics collector helm s3"
go_tool() {
  local label=$1 tools=$SLIPWAY_ROOT/testbed/tools what stamp_inputs=() mod version
  export PATH=$PATH:/usr/local/go/bin
  command -v go >/dev/null || die "$label: Go is needed to build the testbed's tools (go 1.24 or newer)"
  export GOMODCACHE=$SLIPWAY_CACHE_DIR/go/mod GOCACHE=$SLIPWAY_CACHE_DIR/go/build GOFLAGS=-modcacherw GOTOOLCHAIN=local
  mod=$tools/$label
  GO_TOOL_BIN=$SLIPWAY_CACHE_DIR/bin/$label
  case $label in
    kube)
      version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$mod/go.mod")
      [ -n "$version" ] || die "no k8s.io/kubernetes pin in testbed/tools/kube/go.mod"
      GO_TOOL_BIN=$SLIPWAY_CACHE_DIR/bin/kube-$version
      what="Kubernetes $version and etcd (cold: ~5 min on 2 cores)" ;;
    node)
      stamp_inputs=("$mod"/pause/*.go "$mod/dns/go.mod" "$mod/dns/go.sum" "$mod"/dns/*.go)
      what="Traefik, CoreDNS and the pause program (cold: ~8 min on 2 cores)" ;;
    netpol) what="kube-router (cold: ~2 min on 2 cores)" ;;
    storage) what="local-path-provisioner (cold: ~2 min on 2 cores)" ;;
    certs)
      mapfile -t stamp_inputs < <(find "$mod" -name '*.go' | sort)
      stamp_inputs+=("$tools/pebble/go.mod" "$tools/pebble/go.sum")
      what="Pebble and cert-manager (cold: ~2 min on 2 cores)"
      mod=$tools ;; # its build script takes the tools folder (two modules)
    metrics) what="metrics-server (cold: ~2 min on 2 cores)" ;;
    collector)
      stamp_inputs=("$mod/manifest.yaml" "$SLIPWAY_ROOT"/images/collector/logplexexporter/*.go "$SLIPWAY_ROOT"/images/collector/logplexexporter/go.*)
      what="the OpenTelemetry Collector with ocb (cold: ~8 min on 2 cores)" ;;
    helm) what="Helm and the Traefik chart k3s bundles (cold: ~3 min on 2 cores)" ;;
    s3) what="versitygw, an S3-compatible endpoint (cold: ~2 min on 2 cores)" ;;
    *) die "go_tool: no Go tool $label" ;;
  esac
  local gomod=$tools/$label stamp
  stamp=$(cat "$gomod/go.mod" "$gomod/go.sum" "${stamp_inputs[@]}" "$SLIPWAY_ROOT/testbed/$label/build.sh" <(go version) |
    sha256sum | cut -c1-16)
  build_once "$label" "$what" "$SLIPWAY_ROOT/testbed/$label/build.sh" "$mod" "$GO_TOOL_BIN" "$stamp"
}

# --- daemons ------------------------------------------------------------------------------------
# The parts that run daemons keep a pidfile and the recorded command per daemon in $run and its
# log in $logs, define `healthy NAME`, and set restart_all=1 to force restarts. A daemon is only
# ever stopped by its pid, and only when its executable matches the part's OWNED pattern.

# pidfile_exe NAME: the executable of the live process NAME's pidfile names (empty if none).
pidfile_exe() {
  local pid
  pid=$(cat "$run/$1.pid" 2>/dev/null) || return 0
  readlink "/proc/$pid/exe" 2>/dev/null || true
}

# owned NAME OWNED: the pidfile names a live process whose executable matches the glob OWNED (an
# executable replaced on disk shows as "(deleted)" and still counts).
owned() {
  local e
  e=$(pidfile_exe "$1")
  # shellcheck disable=SC2053  # OWNED is a glob on purpose
  [ -n "$e" ] && [[ ${e% (deleted)} == $2 ]]
}

# port_free PORT: nothing listens on PORT.
port_free() { [ -z "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]; }

# stop_process LABEL NAME OWNED: stops NAME if it is ours (TERM, then KILL after 15 s).
stop_process() {
  local label=$1 name=$2 pid
  owned "$name" "$3" || { rm -f "$run/$name.pid"; return 0; }
  pid=$(cat "$run/$name.pid")
  log "$label: stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$run/$name.pid"
}

# ensure_process LABEL NAME EXE OWNED PORT TIMEOUT RECORD -- [VAR=VALUE...] ARGS...: reuses NAME
# when it runs EXE with the same RECORD (its command and inputs) and is healthy; otherwise stops
# it, checks PORT is free (0: no port), starts `env VAR=VALUE... EXE ARGS...` detached and waits
# up to TIMEOUT seconds for `healthy NAME`. Sets started_any=1 when it started something.
ensure_process() {
  local label=$1 name=$2 exe=$3 own=$4 port=$5 timeout=$6 record=$7
  shift 8
  if owned "$name" "$own"; then
    if [ "$(pidfile_exe "$name")" = "$exe" ] && [ "$restart_all" -eq 0 ] && [ "$(cat "$run/$name.args" 2>/dev/null)" = "$record" ]; then
      # Give a daemon that is still starting (an earlier run was cut short) a moment.
      local end=$((SECONDS + 20))
      until healthy "$name"; do [ $SECONDS -lt $end ] || break; sleep 1; done
      if healthy "$name"; then
        log "$label: reusing $name (pid $(cat "$run/$name.pid"))"
        return 0
      fi
      log "$label: $name is running but not healthy; restarting it"
    fi
    stop_process "$label" "$name" "$own"
  fi
  [ "$port" = 0 ] || port_free "$port" || die "$label: port $port is taken by a process this testbed did not start ($(ss -Hltnp "( sport = :$port )" | head -n1))"
  log "$label: starting $name (log $logs/$name.log)"
  printf '\n=== %s start %s\n' "$(date -Is)" "$name" >>"$logs/$name.log"
  local envs=()
  while [ $# -gt 0 ] && [[ $1 == [A-Z]*=* ]]; do envs+=("$1"); shift; done
  setsid nohup env "${envs[@]}" "$exe" "$@" </dev/null >>"$logs/$name.log" 2>&1 8>&- 9>&- &
  echo $! >"$run/$name.pid"
  echo "$record" >"$run/$name.args"
  started_any=1 # read by the calling part
  local end=$((SECONDS + timeout))
  until healthy "$name"; do
    # The pid is checked, not the executable: nohup and env exec the program a moment later.
    if ! kill -0 "$(cat "$run/$name.pid")" 2>/dev/null; then
      tail -n 20 "$logs/$name.log" >&2
      die "$label: $name exited during start-up (log $logs/$name.log)"
    fi
    if [ $SECONDS -ge $end ]; then
      tail -n 20 "$logs/$name.log" >&2
      die "$label: $name not healthy after ${timeout}s (log $logs/$name.log)"
    fi
    sleep 0.5
  done
}

# registry_curl ARGS...: curl with the testbed registry's credential ($SLIPWAY_REGISTRY_AUTH_FILE,
# 20-registry.sh), handed over on stdin as a curl config so it never shows in a process list.
registry_curl() {
  printf 'user = "%s"\n' "$(cat "$SLIPWAY_REGISTRY_AUTH_FILE")" | curl -K - "$@"
}

# binary_image LABEL DIR FILE WHAT [CHANGE...]: a one-file image of DIR/FILE (entrypoint /FILE,
# plus each CHANGE as a `docker import -c`) in the testbed registry as slipway/FILE:TAG, TAG being
# the first 12 hex digits of the file's sha256: the same program is never pushed twice. Prints
# the image name.
binary_image() {
  local label=$1 dir=$2 file=$3 what=$4 tag image change
  shift 4
  tag=$(sha256sum "$dir/$file" | cut -c1-12)
  image=$SLIPWAY_REGISTRY/slipway/$file:$tag
  if [ "$(registry_curl -s -o /dev/null -w '%{http_code}' -I \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$SLIPWAY_REGISTRY/v2/slipway/$file/manifests/$tag")" != 200 ]; then
    log "$label: pushing the $what image $image"
    local changes=(-c "ENTRYPOINT [\"/$file\"]")
    for change in "$@"; do changes+=(-c "$change"); done
    tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir" -c "$file" |
      docker import "${changes[@]}" -m "slipway testbed $what" - "$image" >&2
    docker push -q "$image" >&2
  fi
  printf '%s\n' "$image"
}

# render TEMPLATE OUT KEY=VALUE...: TEMPLATE with each @KEY@ replaced by VALUE, written to OUT
# (through OUT.tmp); a value left unfilled is an error naming it.
render() {
  local tpl=$1 out=$2 expr=() kv
  shift 2
  for kv in "$@"; do expr+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${expr[@]}" "$tpl" >"$out.tmp"
  if grep -q '@[A-Z_]*@' "$out.tmp"; then die "$out has unfilled values: $(grep -o '@[A-Z_]*@' "$out.tmp" | sort -u | tr '\n' ' ')"; fi
  mv "$out.tmp" "$out"
}

# ensure_daemon LABEL NAME EXE PORT TIMEOUT INPUTS -- ARGS...: ensure_process for a program that
# is its own executable: reuse NAME if it is ours, with the same arguments and inputs (a hash of
# the files it reads), and healthy; otherwise (re)start it and wait up to TIMEOUT seconds for it
# to be healthy. ARGS may start with NAME=VALUE environment settings.
ensure_daemon() {
  local label=$1 name=$2 exe=$3 port=$4 timeout=$5 inputs=$6
  shift 7
  ensure_process "$label" "$name" "$exe" "$exe" "$port" "$timeout" "$exe $* #$inputs" -- "$@"
}
