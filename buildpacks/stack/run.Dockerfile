# Run image: the Debian trixie (13) base that 40-builder.sh makes with debootstrap (minbase plus
# ca-certificates and busybox, whose httpd serves static sites), plus the Pythons that Python apps'
# virtual environments point at (Debian's python3, 3.13, the releases in /opt/python, and sid's
# python3.14; Go and Node.js bring their own), the CNB user, the labels the platform reads, and the
# certificate authorities this machine added to its own trust store (40-builder.sh puts them in
# ca/; where HTTPS goes through a proxy, apps need them too).
ARG BASE
FROM ${BASE}
ARG STACK_ID
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
 && groupadd --gid 1000 cnb \
 && useradd --uid 1000 --gid 1000 --create-home --shell /bin/bash cnb
# Python: the CPython releases trixie lacks, compiled by 40-builder.sh (stack/cpython.sh) into
# python/*.tar.gz, at /opt/python/X.Y in both images so that an app's venv finds its interpreter
# at the same path at build and at run time; and the libraries their modules link.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libssl3t64 libsqlite3-0 \
    libffi8 zlib1g libbz2-1.0 liblzma5 libreadline8t64 libncursesw6 libuuid1 libzstd1 libcrypt1 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
ADD python/*.tar.gz /opt/python/
# Python from a newer Debian suite: sid's python3.14 packages (40-builder.sh downloads them into
# debian-python/), at Debian's paths (/usr/bin/python3.14) in both images, with the libraries and
# data its modules use. Unpacked with dpkg-deb -x, not
# installed with dpkg: they depend on sid's glibc, which trixie cannot satisfy, and dpkg would
# record them as broken, so every later apt-get would refuse to run until they were removed.
COPY debian-python/ /tmp/debian-python/
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libexpat1 libdb5.3t64 \
    libtinfo6 media-types netbase tzdata \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
 && for d in /tmp/debian-python/*.deb; do if [ -f "$d" ]; then dpkg-deb -x "$d" /; fi; done \
 && rm -rf /tmp/debian-python
ENV CNB_USER_ID=1000 CNB_GROUP_ID=1000 CNB_STACK_ID=${STACK_ID}
LABEL io.buildpacks.stack.id=${STACK_ID} \
      io.buildpacks.base.id=${STACK_ID} \
      io.buildpacks.base.distro.name=debian \
      io.buildpacks.base.distro.version=13 \
      io.buildpacks.base.description="Slipway run image (Debian trixie)"
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
USER 1000:1000
