#!/usr/bin/env bash
# The README's two commands on a fresh machine, for real: a container from
# node:22-bookworm-slim (Debian bookworm with Node and npm, nothing else: no
# Chromium, no Redis, no nginx), the repository's committed HEAD copied in,
# then `npm ci && npm test` as root, on the host network so that apt-get and
# npm reach their archives. Prints how long it took; exits as npm test does.
#
#   scripts/fresh-machine-check.sh            # IMAGE=... to use another image
#
# Needs podman. A missing image is pulled; where Docker Hub is out of reach, the
# default one is built as a local stand-in by scripts/node-image-standin.sh (as
# the README container test does).
set -euo pipefail

IMAGE=${IMAGE:-docker.io/library/node:22-bookworm-slim}
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v podman >/dev/null || { echo "fresh-machine-check: podman is needed (apt-get install podman)" >&2; exit 1; }
if ! podman image exists "$IMAGE" && ! podman pull -q "$IMAGE" >/dev/null 2>&1; then
  [ "$IMAGE" = docker.io/library/node:22-bookworm-slim ] && bash "$root/scripts/node-image-standin.sh" "$root/Dockerfile" \
    || { echo "fresh-machine-check: no image $IMAGE, and it could not be pulled or built" >&2; exit 1; }
fi

# What a clone has: the committed tree, nothing built, no node_modules.
git -C "$root" archive --format=tar HEAD >"$work/repo.tar"
echo "fresh-machine-check: $(git -C "$root" rev-parse --short HEAD) in $IMAGE"
start=$(date +%s)
set +e
# runc where it is installed: this project's build machine refuses crun's cgroup set-up (as container-check notes).
runtime=()
[ -x /usr/sbin/runc ] && runtime=(--runtime /usr/sbin/runc)
# --privileged and a storage volume: the README container test runs podman itself, inside this
# container (nested containers need the capabilities, and their layers cannot sit on this
# container's own overlay).
mkdir -p "$work/containers"
podman "${runtime[@]}" run --rm --network host --privileged \
  --ulimit nofile=20000:20000 --ulimit nproc=8192:8192 \
  -v "$work/containers:/var/lib/containers" \
  -v "$work/repo.tar:/repo.tar:ro" "$IMAGE" \
  bash -c 'set -e; mkdir /app && cd /app && tar xf /repo.tar && npm ci --no-audit --no-fund && npm test'
status=$?
set -e
echo "fresh-machine-check: exit $status after $(( $(date +%s) - start )) s"
exit "$status"
