#!/usr/bin/env bash
# Writes the testbed apiserver's EncryptionConfiguration (--encryption-provider-config) once:
#   bash testbed/kube/encryption.sh FILE
# Secrets are encrypted with AES-CBC under a random 32-byte key (what k3s's --secrets-encryption
# makes), and read in clear too (identity), so Secrets written before encryption was turned on stay
# readable until they are written again. A file that exists is kept: a new key would leave every
# encrypted Secret unreadable. 0600: the key opens every Secret in etcd.
set -euo pipefail
file=${1:?encryption config file}
[ -s "$file" ] && exit 0
umask 077
mkdir -p "$(dirname "$file")"
key=$(head -c 32 /dev/urandom | base64 -w0)
cat >"$file.partial" <<YAML
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources:
      - secrets
    providers:
      - aescbc:
          keys:
            - name: testbed-1
              secret: $key
      - identity: {}
YAML
mv "$file.partial" "$file"
