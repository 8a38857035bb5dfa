#!/usr/bin/env bash
# `make image`: build localhost/surroundyou-task:latest from container/Dockerfile.
#
# - The engine: docker when a Docker engine answers, else Debian's buildah (installed with apt-get
#   when missing) as root with the vfs storage driver and chroot isolation: no daemon needed.
# - The base: the Dockerfile's PYTHON_IMAGE (python:3.12-slim in production) when it can be pulled;
#   when no registry answers, a Debian 12 base made with `debootstrap --variant=minbase` (python3,
#   python3-venv, python-is-python3 and libatomic1), imported into the engine's storage.
# - The Python packages: container/image/requirements.txt (pinned), downloaded on the host as wheels
#   for the base's Python version and the machine's platform; the image installs them with
#   --no-index (a hermetic build).
# Expensive steps are cached in container/image/.cache (git-ignored), keyed by what they depend on:
# the base tarball by its package list, the wheelhouse by the pins, the Python version and platform.
#
# Environment: IMAGE (tag), PYTHON_IMAGE (base; default: the Dockerfile's), ENGINE (docker|buildah).
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE=${IMAGE:-localhost/surroundyou-task:latest}
CACHE=container/image/.cache
PYTHON_IMAGE=${PYTHON_IMAGE:-$(sed -n 's/^ARG PYTHON_IMAGE=//p' container/Dockerfile)}
DEBIAN_SUITE=bookworm
BASE_PACKAGES=python3,python3-venv,python-is-python3,libatomic1
export BUILDAH_ISOLATION=chroot
mkdir -p "$CACHE"

log() { printf '[make image] %s\n' "$*" >&2; }
key() { printf '%s' "$*" | sha256sum | cut -c1-12; }

engine() {
    if [ -n "${ENGINE:-}" ]; then echo "$ENGINE"; return; fi
    if command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; then echo docker; return; fi
    echo buildah
}
ENGINE=$(engine)
if [ "$ENGINE" = buildah ] && ! command -v buildah >/dev/null; then
    log "installing buildah (Debian)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null
fi

has_image() {
    if [ "$ENGINE" = docker ]; then docker image inspect "$1" >/dev/null 2>&1
    else buildah inspect --type image "$1" >/dev/null 2>&1; fi
}

pull() {
    if [ "$ENGINE" = docker ]; then timeout 120 docker pull -q "$1" >/dev/null 2>&1
    else timeout 120 buildah pull -q "$1" >/dev/null 2>&1; fi
}

# A Debian base from debootstrap's default mirror: the tarball is cached, the image re-imported when
# the engine's storage lost it.
debian_base() {
    local arch tag tarball root
    arch=$(dpkg --print-architecture)
    tag=localhost/surroundyou-base:$DEBIAN_SUITE-$(key "$DEBIAN_SUITE $arch minbase $BASE_PACKAGES")
    tarball=$CACHE/base-${tag##*:}.tar
    if has_image "$tag"; then echo "$tag"; return; fi
    if [ ! -f "$tarball" ]; then
        command -v debootstrap >/dev/null || {
            log "installing debootstrap (Debian)"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
        }
        root=$(mktemp -d "$CACHE/rootfs.XXXXXX") && chmod 755 "$root"  # the image's / is 0755
        log "debootstrap $DEBIAN_SUITE ($BASE_PACKAGES) -> $tarball (a few minutes, once)"
        debootstrap --variant=minbase --include="$BASE_PACKAGES" "$DEBIAN_SUITE" "$root" >"$CACHE/debootstrap.log" 2>&1 \
            || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
        # what a slim image leaves out: package lists and caches, documentation, locales
        rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/* \
            "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
        tar -C "$root" --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -cf "$tarball.part" .
        mv "$tarball.part" "$tarball"
        rm -rf "$root"
    fi
    log "importing $tarball as $tag"
    if [ "$ENGINE" = docker ]; then
        docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' "$tarball" "$tag" >/dev/null
    else
        local ctr
        ctr=$(buildah from scratch)
        buildah add --quiet "$ctr" "$tarball" / >/dev/null
        buildah config --env LANG=C.UTF-8 \
            --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd python3 "$ctr"
        buildah commit --quiet --rm "$ctr" "$tag" >/dev/null
    fi
    echo "$tag"
}

# "3.12 x86_64": the base's Python version and machine, asked of the base itself.
base_python() {
    local probe='import platform, sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}", platform.machine())'
    if [ "$ENGINE" = docker ]; then docker run --rm --entrypoint python3 "$1" -c "$probe"
    else
        local ctr
        ctr=$(buildah from --pull=never "$1")
        buildah run "$ctr" -- python3 -c "$probe"
        buildah rm "$ctr" >/dev/null
    fi
}

# The wheelhouse for one Python version and machine; pip download resolves nothing (--no-deps):
# requirements.txt is the whole closure.
wheelhouse() {
    local version=$1 machine=$2 abi dir tags=()
    abi=cp${version/./}
    dir=$CACHE/wheels-$abi-$machine-$(key "$(cat container/image/requirements.txt container/image/build-requirements.txt)")
    if [ ! -f "$dir/.complete" ]; then
        log "downloading wheels for CPython $version on $machine -> $dir"
        rm -rf "$dir"
        for minor in $(seq 17 39); do tags+=(--platform "manylinux_2_${minor}_$machine"); done
        python3 -m pip download --quiet --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
            --implementation cp --python-version "$version" --abi "$abi" --abi abi3 --abi none \
            "${tags[@]}" --platform "manylinux2014_$machine" --platform any \
            --dest "$dir" --requirement container/image/requirements.txt \
            --requirement container/image/build-requirements.txt
        touch "$dir/.complete"
    fi
    echo "$dir"
}

started=$(date +%s)
base=$PYTHON_IMAGE
if ! has_image "$base" && ! pull "$base"; then
    log "cannot pull $PYTHON_IMAGE: making a Debian base instead"
    base=$(debian_base)
fi
read -r version machine < <(base_python "$base")
wheels=$(wheelhouse "$version" "$machine")
[ "$machine" = "$(uname -m)" ] || { log "the base is $machine, this machine $(uname -m): ffmpeg.sh builds for this one"; exit 1; }
ffmpeg=$(container/image/ffmpeg.sh "$CACHE")
log "building $IMAGE with $ENGINE from $base (CPython $version, $machine)"
args=(-f container/Dockerfile --build-arg "PYTHON_IMAGE=$base" --build-arg "WHEELHOUSE=$wheels"
    --build-arg "FFMPEG=${ffmpeg#"$PWD"/}" -t "$IMAGE" .)
if [ "$ENGINE" = docker ]; then
    docker build "${args[@]}" >"$CACHE/build.log" 2>&1 || { tail -30 "$CACHE/build.log" >&2; exit 1; }
else
    buildah build --pull=never --layers "${args[@]}" >"$CACHE/build.log" 2>&1 || { tail -30 "$CACHE/build.log" >&2; exit 1; }
    # Every rebuild leaves the previous image and its build stage untagged (~0.5 GB each): drop
    # them, so the disk does not fill; the next rebuild reinstalls the wheels (~30 s) instead.
    buildah rmi --prune >/dev/null 2>&1 || true
fi
grep '^prune:' "$CACHE/build.log" >&2 || true
log "built $IMAGE in $(($(date +%s) - started)) s"
container/image/size.sh "$IMAGE"
