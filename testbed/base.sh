# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are read by the parts that source this file
# The Debian trixie base the testbed's images start from (40-builder.sh's stack images and
# CPython compiles, 45-data-images.sh's Postgres and Valkey images, 67-collector.sh's collector),
# and the helpers the parts that build images share, from images/lib.sh (which images/build.sh,
# and so install.sh, use too). Sourced after lib.sh by such a part, after 10-docker.sh and
# 20-registry.sh: sets suite, base_packages, arch, stack_dir, base_key, base_image
# (slipway/base:<base_key>, a local image of the engine), local_cas (the machine's added
# certificate authorities) and valid_until (the machine's apt choice for a Release file past its
# Valid-Until date), and defines ensure_base, debian_mirror, in_registry, hash_of and dir_hash.
# `ensure_base forky` makes the Debian forky (testing) base the same way (slipway/base:<base_key_of
# forky>): the Postgres 18 image, which needs forky's packages, starts from it.
stack_dir=$SLIPWAY_CACHE_DIR/stack
IMAGES_ENGINE=${DOCKER_HOST#unix://}
IMAGES_CACHE=$stack_dir
IMAGES_REGISTRY=${SLIPWAY_REGISTRY:-}
IMAGES_REGISTRY_AUTH=${SLIPWAY_REGISTRY_AUTH_FILE:-}
IMAGES_REGISTRY_SCHEME=http
# shellcheck source=images/lib.sh
. "$SLIPWAY_ROOT/images/lib.sh"
base_key=$(base_key_of "$suite")
base_image=slipway/base:$base_key
# ensure_base makes a base with debootstrap when the engine and the cache have none.
apt_need debootstrap debian-archive-keyring
