#!/usr/bin/env bash
# Generates the testbed control plane's keys, certificates and kubeconfigs with openssl:
#   bash testbed/kube/pki.sh PKI_DIR KUBECONFIG_DIR SERVER_URL
# Idempotent: a file that exists, parses and is valid for another 30 days is kept. If a CA is
# (re)made, everything it signed is remade too. Prints "changed" on stdout when anything was
# written, so the caller knows to restart the components that read these files.
#
# Three CAs, as kubeadm and k3s keep them apart:
#   ca        cluster CA: signs the apiserver's serving cert and every client cert the apiserver
#             trusts (--client-ca-file); the controller-manager also signs node CSRs with it.
#   etcd-ca   only etcd's serving cert and the apiserver's etcd client cert, so a cluster client
#             cert can never open etcd directly.
#   front-proxy-ca  request-header CA for the aggregation layer (an aggregated API server such as
#             metrics-server trusts requests the apiserver proxies with this client cert).
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
pki=${1:?pki dir}
kcdir=${2:?kubeconfig dir}
server=${3:?server url}
mkdir -p "$pki" "$kcdir"
chmod 700 "$pki"
umask 077
changed=0
days_ca=3650
days_leaf=825
# Service cluster IP range 10.43.0.0/16 (as k3s): the `kubernetes` Service takes its first IP.
service_ip=10.43.0.1

# fresh FILE: true if FILE is a cert that is valid for at least 30 more days.
fresh() { [ -s "$1" ] && openssl x509 -in "$1" -noout -checkend $((30 * 86400)) >/dev/null 2>&1; }

# signed_by LEAF CA: true if LEAF chains to CA (false once the CA was remade).
signed_by() { openssl verify -CAfile "$2" "$1" >/dev/null 2>&1; }

# ec_key FILE: a P-256 key, fast to make and accepted by Go's TLS stack and by Node's.
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# ca NAME CN: a self-signed CA.
ca() {
  local name=$1 cn=$2
  fresh "$pki/$name.crt" && [ -s "$pki/$name.key" ] && return 0
  ec_key "$pki/$name.key"
  openssl req -x509 -new -key "$pki/$name.key" -subj "/CN=$cn" -days "$days_ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$pki/$name.crt" 2>/dev/null
  changed=1
}

# leaf NAME CA SUBJECT EKU [SAN]: a cert signed by CA. EKU is serverAuth, clientAuth or both.
leaf() {
  local name=$1 ca=$2 subj=$3 eku=$4 san=${5:-}
  if fresh "$pki/$name.crt" && [ -s "$pki/$name.key" ] && signed_by "$pki/$name.crt" "$pki/$ca.crt"; then
    return 0
  fi
  ec_key "$pki/$name.key"
  local ext
  ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$ext"
  openssl req -new -key "$pki/$name.key" -subj "$subj" 2>/dev/null |
    openssl x509 -req -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" -CAcreateserial \
      -days "$days_leaf" -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$ext"
  changed=1
}

ca ca slipway-testbed-ca
ca etcd-ca slipway-testbed-etcd-ca
ca front-proxy-ca slipway-testbed-front-proxy-ca

leaf etcd-server etcd-ca "/CN=etcd-server" serverAuth,clientAuth "IP:127.0.0.1,IP:::1,DNS:localhost"
leaf apiserver-etcd-client etcd-ca "/CN=kube-apiserver-etcd-client" clientAuth

apiserver_san="IP:127.0.0.1,IP:::1,IP:$service_ip,DNS:localhost"
for d in kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local; do
  apiserver_san+=",DNS:$d"
done
leaf apiserver ca "/CN=kube-apiserver" serverAuth "$apiserver_san"
# The apiserver's client cert towards kubelets (logs, exec, port-forward); system:masters keeps the
# kubelet's webhook authorization trivially satisfied on a one-node testbed.
leaf apiserver-kubelet-client ca "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
leaf front-proxy-client front-proxy-ca "/CN=front-proxy-client" clientAuth

# Users. Kubernetes maps CN to the user name and O to groups.
leaf admin ca "/O=system:masters/CN=slipway-admin" clientAuth
leaf controller-manager ca "/CN=system:kube-controller-manager" clientAuth
leaf scheduler ca "/CN=system:kube-scheduler" clientAuth
# A user no RBAC binding names: it is authenticated (so it gets the discovery and self-review
# rights of system:authenticated) but may not read or write any object.
leaf norights ca "/CN=slipway-norights" clientAuth

# The service-account token signing pair (RSA: RS256 is what every token consumer accepts).
if [ ! -s "$pki/sa.key" ] || [ ! -s "$pki/sa.pub" ]; then
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null
  openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  changed=1
fi

# kubeconfig NAME USER: a self-contained kubeconfig for the user's cert (testbed/lib.sh).
kubeconfig() {
  if write_kubeconfig "$kcdir/$1.kubeconfig" "$server" "$pki/ca.crt" "$pki/$1.crt" "$pki/$1.key" "$2"; then changed=1; fi
}

kubeconfig admin slipway-admin
kubeconfig controller-manager system:kube-controller-manager
kubeconfig scheduler system:kube-scheduler
kubeconfig norights slipway-norights
rm -f "$pki"/*.srl
[ "$changed" -eq 0 ] || echo changed
