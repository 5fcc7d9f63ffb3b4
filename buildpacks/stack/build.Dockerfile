# Build image: the same Debian bookworm base as the run image (so what buildpacks build runs
# there), plus what the buildpacks use: curl and ca-certificates to fetch Node and npm from the
# npm registry and Go from the Go module proxy, jq for package.json, tar/gzip/xz/unzip to unpack,
# python3 with venv (Debian's CPython 3.11: the Python buildpack's interpreter, and node-gyp's),
# make and g++ (native addons: node-gyp, Python sdists). Built with --network host (apt-get).
# Like the run image, it trusts the certificate authorities this machine added (ca/): the
# buildpacks' downloads must pass the same HTTPS proxy, if any, that the machine's own do.
ARG BASE
FROM ${BASE}
ARG STACK_ID
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl jq xz-utils unzip \
    python3 python3-venv python3-dev make g++ \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && groupadd --gid 1000 cnb \
 && useradd --uid 1000 --gid 1000 --create-home --shell /bin/bash cnb
ENV CNB_USER_ID=1000 CNB_GROUP_ID=1000 CNB_STACK_ID=${STACK_ID}
LABEL io.buildpacks.stack.id=${STACK_ID} \
      io.buildpacks.base.id=${STACK_ID} \
      io.buildpacks.base.distro.name=debian \
      io.buildpacks.base.distro.version=12 \
      io.buildpacks.base.description="Slipway build image (Debian bookworm)"
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
USER 1000:1000
