#!/usr/bin/env bash
# Client certificates and kubeconfigs for the testbed node's components, signed by the control
# plane's cluster CA (testbed/kube/pki.sh makes it):
#   bash testbed/node/pki.sh CA_DIR OUT_DIR SERVER_URL NODE_NAME
# Idempotent: a certificate is kept while it chains to the CA, names the same subject and is
# valid for 30 more days. Prints "changed" on stdout when anything was (re)written, so the caller
# restarts what reads these files.
#
#   kubelet   CN=system:node:NODE_NAME, O=system:nodes: the Node authorizer and NodeRestriction
#             admission let it write only its own Node and the pods bound to it.
#   kube-proxy CN=system:kube-proxy: bound to system:node-proxier by the default RBAC policy.
#   ingress   CN=slipway-testbed-ingress: bound by testbed/node/rbac.yaml to what Traefik reads.
#   dns       CN=slipway-testbed-dns: bound by testbed/node/rbac.yaml to what CoreDNS reads.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ca_dir=${1:?ca dir}
out=${2:?out dir}
server=${3:?server url}
node=${4:?node name}
mkdir -p "$out"
chmod 700 "$out"
umask 077
changed=0

# leaf NAME SUBJECT: a P-256 client certificate for SUBJECT signed by the cluster CA.
leaf() {
  local name=$1 subj=$2
  if [ -s "$out/$name.key" ] && [ -s "$out/$name.crt" ] &&
    openssl verify -CAfile "$ca_dir/ca.crt" "$out/$name.crt" >/dev/null 2>&1 &&
    openssl x509 -in "$out/$name.crt" -noout -checkend $((30 * 86400)) >/dev/null 2>&1 &&
    [ "$(openssl x509 -in "$out/$name.crt" -noout -subject -nameopt compat)" = "subject=${subj}" ]; then
    return 0
  fi
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/$name.key" 2>/dev/null
  local ext
  ext=$(mktemp)
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=clientAuth" >"$ext"
  openssl req -new -key "$out/$name.key" -subj "$subj" 2>/dev/null |
    openssl x509 -req -CA "$ca_dir/ca.crt" -CAkey "$ca_dir/ca.key" -CAcreateserial -CAserial "$out/ca.srl" \
      -days 825 -extfile "$ext" -out "$out/$name.crt" 2>/dev/null
  rm -f "$ext" "$out/ca.srl"
  changed=1
}

# kubeconfig NAME USER: a self-contained kubeconfig for the user's cert (testbed/lib.sh).
kubeconfig() {
  if write_kubeconfig "$out/$1.kubeconfig" "$server" "$ca_dir/ca.crt" "$out/$1.crt" "$out/$1.key" "$2"; then changed=1; fi
}

leaf kubelet "/O=system:nodes/CN=system:node:$node"
leaf kube-proxy "/CN=system:kube-proxy"
leaf ingress "/CN=slipway-testbed-ingress"
leaf dns "/CN=slipway-testbed-dns"
kubeconfig kubelet "system:node:$node"
kubeconfig kube-proxy system:kube-proxy
kubeconfig ingress slipway-testbed-ingress
kubeconfig dns slipway-testbed-dns
[ "$changed" -eq 0 ] || echo changed
