# Build image: the same Debian trixie (13) base as the run image (so what buildpacks build runs
# there), plus what the buildpacks use: curl and ca-certificates to fetch Node and npm from the
# npm registry and Go from the Go module proxy, jq for package.json, tar/gzip/xz/unzip to unpack,
# python3 with venv (Debian's CPython 3.13: one of the Python buildpack's interpreters, the others
# are in /opt/python and sid's /usr/bin/python3.14, see below; and node-gyp's),
# make and g++ (native addons: node-gyp, Python sdists). Built with --network host (apt-get).
# Like the run image, it trusts the certificate authorities this machine added (ca/): the
# buildpacks' downloads must pass the same HTTPS proxy, if any, that the machine's own do.
ARG BASE
FROM ${BASE}
ARG STACK_ID
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl jq xz-utils unzip \
    python3 python3-venv python3-dev make g++ \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
 && groupadd --gid 1000 cnb \
 && useradd --uid 1000 --gid 1000 --create-home --shell /bin/bash cnb
# --- Java (slipway/java) ------------------------------------------------------------------------
# (Early in the file: Docker's layer cache keeps this slow step while later steps change.)
# Debian's OpenJDK 21 and 25 (trixie) and 17, and Debian's Maven (3.9). Trixie has no 17: the
# openjdk-17 packages alone come from bookworm (pinned; libcups2t64 and libasound2t64 named so
# that what they need installs from trixie, not bookworm's pre-t64 libraries). Per JDK, a runtime
# without the development tools (javac, jshell, jlink…), jlinked once here with a class-data
# archive, uncompressed (the layer is compressed in the registry; class loading stays fast):
# /opt/slipway/jre-N, which the buildpack copies into each app's launch layer, the same bytes for
# every app. The JDKs' jmods are jlink's input only, and 25's carry its debug symbols (330 MB):
# they go, and so does the bookworm source once 17 is in.
RUN mirror=$(sed -n 's/^deb \([^ ]*\) .*/\1/p' /etc/apt/sources.list | head -1) \
 && echo "deb $mirror bookworm main" >/etc/apt/sources.list.d/bookworm-openjdk-17.list \
 && printf 'Package: *\nPin: release n=bookworm\nPin-Priority: 1\n\nPackage: openjdk-17-*\nPin: release n=bookworm\nPin-Priority: 500\n' \
    >/etc/apt/preferences.d/bookworm-openjdk-17 \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    openjdk-17-jdk-headless openjdk-21-jdk-headless openjdk-25-jdk-headless libcups2t64 libasound2t64 maven >/dev/null \
 && arch=$(dpkg --print-architecture) \
 && for v in 17 21 25; do \
      jdk=/usr/lib/jvm/java-$v-openjdk-$arch; \
      mods=$("$jdk/bin/java" --list-modules | sed 's/@.*//' \
        | grep -vxE 'jdk\.(compiler|javadoc|jshell|jdeps|jlink|jpackage|jartool|hotspot\.agent|jconsole|editpad|internal\.(ed|le|opt)|incubator\..*)' \
        | paste -sd, -); \
      "$jdk/bin/jlink" --module-path "$jdk/jmods" --add-modules "$mods" --strip-java-debug-attributes --no-header-files \
        --no-man-pages --exclude-files='**.debuginfo,**/ct.sym' --generate-cds-archive --output "/opt/slipway/jre-$v" || exit 1; \
      rm -rf "$jdk/jmods"; \
    done \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
    /etc/apt/sources.list.d/bookworm-openjdk-17.list /etc/apt/preferences.d/bookworm-openjdk-17
# --- end of Java ---
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
# data its modules use and the wheels its venv module installs pip from. Unpacked with dpkg-deb -x, not
# installed with dpkg: they depend on sid's glibc, which trixie cannot satisfy, and dpkg would
# record them as broken, so every later apt-get would refuse to run until they were removed.
COPY debian-python/ /tmp/debian-python/
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libexpat1 libdb5.3t64 \
    libtinfo6 media-types netbase tzdata python3-pip-whl python3-setuptools-whl \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
 && for d in /tmp/debian-python/*.deb; do if [ -f "$d" ]; then dpkg-deb -x "$d" /; fi; done \
 && rm -rf /tmp/debian-python
ENV CNB_USER_ID=1000 CNB_GROUP_ID=1000 CNB_STACK_ID=${STACK_ID}
LABEL io.buildpacks.stack.id=${STACK_ID} \
      io.buildpacks.base.id=${STACK_ID} \
      io.buildpacks.base.distro.name=debian \
      io.buildpacks.base.distro.version=13 \
      io.buildpacks.base.description="Slipway build image (Debian trixie)"

COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
USER 1000:1000
