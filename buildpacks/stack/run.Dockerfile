# Run image: the Debian bookworm base that 40-builder.sh makes with debootstrap (minbase plus
# ca-certificates and busybox, whose httpd serves static sites), plus the CNB user and the labels
# the platform reads.
ARG BASE
FROM ${BASE}
ARG STACK_ID
RUN groupadd --gid 1000 cnb \
 && useradd --uid 1000 --gid 1000 --create-home --shell /bin/bash cnb
ENV CNB_USER_ID=1000 CNB_GROUP_ID=1000 CNB_STACK_ID=${STACK_ID}
LABEL io.buildpacks.stack.id=${STACK_ID} \
      io.buildpacks.base.id=${STACK_ID} \
      io.buildpacks.base.distro.name=debian \
      io.buildpacks.base.distro.version=12 \
      io.buildpacks.base.description="Slipway run image (Debian bookworm)"
USER 1000:1000
