# Run image: the Debian bookworm base that 40-builder.sh makes with debootstrap (minbase plus
# ca-certificates and busybox, whose httpd serves static sites), plus Debian's python3 (the
# interpreter Python apps' virtual environments point at; Go and Node.js bring their own), the CNB user, the labels
# the platform reads, and the certificate authorities this machine added to its own trust store
# (40-builder.sh puts them in ca/; where HTTPS goes through a proxy, apps need them too).
ARG BASE
FROM ${BASE}
ARG STACK_ID
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && groupadd --gid 1000 cnb \
 && useradd --uid 1000 --gid 1000 --create-home --shell /bin/bash cnb
ENV CNB_USER_ID=1000 CNB_GROUP_ID=1000 CNB_STACK_ID=${STACK_ID}
LABEL io.buildpacks.stack.id=${STACK_ID} \
      io.buildpacks.base.id=${STACK_ID} \
      io.buildpacks.base.distro.name=debian \
      io.buildpacks.base.distro.version=12 \
      io.buildpacks.base.description="Slipway run image (Debian bookworm)"
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
USER 1000:1000
