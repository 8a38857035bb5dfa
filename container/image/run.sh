#!/usr/bin/env bash
# Run the task image as ECS runs it, without a container engine: container/image/run.sh IMAGE [NAME=VALUE ...]
#
# The image's own entrypoint, working directory and environment (from its config, plus the NAME=VALUE
# pairs: what the task definition and the state machine's override give it), as the image's user,
# which must not be root, on the image's file system mounted read-only, with a fresh tmpfs on /tmp
# (ECS: ReadonlyRootFilesystem + a /tmp volume), in its own mount and PID namespaces. The network is
# the host's, so a local AWS on 127.0.0.1 is reachable as on ECS's awsvpc the real endpoints are.
# Exits with the entrypoint's exit code; a docker engine, when one answers, runs it the same way.
#
# What this does not reproduce: the OCI runtime's seccomp profile and dropped capabilities, cgroup
# CPU and memory limits, Fargate's network and the awslogs driver. Needs root (mounts, chroot).
set -euo pipefail
image=$1
shift
export BUILDAH_ISOLATION=chroot

if command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; then
    env_args=()
    for pair in "$@"; do env_args+=(--env "$pair"); done
    exec docker run --rm --read-only --tmpfs /tmp --network host "${env_args[@]}" "$image"
fi

config=$(buildah inspect --type image "$image")
# config_field KEY...: the image config's values of KEY... (lists one item a line, concatenated)
config_field() {
    python3 -c '
import json, sys
config = json.loads(sys.argv[1])["OCIv1"]["config"]
for key in sys.argv[2:]:
    value = config.get(key) or []
    print(*(value if isinstance(value, list) else [value]), sep="\n")
' "$config" "$@"
}
user=$(config_field User)
workdir=$(config_field WorkingDir)
mapfile -t image_env < <(config_field Env)
mapfile -t entrypoint < <(config_field Entrypoint Cmd)
case "$user" in
    "" | 0 | 0:* | root | root:*) echo "run.sh: the image runs as root ($user); ECS would too, the task must not" >&2; exit 125 ;;
esac
uid=${user%%:*}
gid=${user#*:}
[ "$gid" = "$user" ] && gid=$uid

ctr=$(buildah from --pull=never --quiet "$image")
trap 'buildah umount "$ctr" >/dev/null 2>&1; buildah rm "$ctr" >/dev/null 2>&1' EXIT
root=$(buildah mount "$ctr")

# In new mount and PID namespaces: nothing mounted here outlives the run or is seen by the host.
set +e
unshare --mount --pid --fork --kill-child --propagation private -- /bin/sh -euc '
    root=$1 uid=$2 gid=$3 workdir=$4
    shift 4
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
    mount -o remount,bind,ro "$root"
    exec chroot --userspec="$uid:$gid" --groups="$gid" "$root" /usr/bin/env -i -C "${workdir:-/}" "$@"
' run "$root" "$uid" "$gid" "$workdir" "${image_env[@]}" "$@" "${entrypoint[@]}"
status=$?
exit $status
