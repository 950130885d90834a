#!/usr/bin/env bash
# A LOCAL STAND-IN for every `FROM node:<tag>` of a Dockerfile whose tag names
# Debian bookworm (node:22-bookworm-slim), for a machine that has podman but no
# Docker Hub: a minimal Debian bookworm root (debootstrap, from the mirror this
# machine's apt already uses) plus this machine's own node and npm (so the Node
# version inside is this machine's, whatever the tag says), its CA bundle, and
# a `node` user with uid 1000 as in the official images. Built once per
# machine, then reused; a present image (pulled or built) is left alone.
# Derived from the project's shared tools/container-check, which builds the
# same stand-in for its smoke test.
#
#   scripts/node-image-standin.sh [Dockerfile]     # as root; needs podman and debootstrap
set -euo pipefail

DOCKERFILE=${1:-Dockerfile}
# This machine's sandbox refuses crun's cgroup set-up: runc works (container-check).
PODMAN=("${PODMAN_BINARY:-podman}" --runtime "${RUNC_BINARY:-/usr/sbin/runc}")
say() { printf 'node-image-standin: %s\n' "$*" >&2; }

debian_mirror() {
  local uri
  uri=$(grep -hE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
  [ -n "$uri" ] || uri=$(grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
  printf '%s' "${uri:-http://deb.debian.org/debian}"
}

build_standin() {
  local image=$1 root log
  root=$(mktemp -d)
  log=$(mktemp)
  say "building a local stand-in for $image (Debian bookworm + this machine's node $(node --version)), once per machine"
  "${DEBOOTSTRAP_BINARY:-debootstrap}" --variant=minbase bookworm "$root" "$(debian_mirror)" >"$log" 2>&1 \
    || { tail -20 "$log" >&2; rm -rf "$root"; say "debootstrap failed (log: $log)"; return 1; }
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/usr/local/etc" "$root/etc/ssl/certs"
  cp "$(readlink -f "$(command -v node)")" "$root/usr/local/bin/node"
  cp -a "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\naudit=false\nfund=false\nupdate-notifier=false\n' >"$root/usr/local/etc/npmrc"
  chroot "$root" /bin/sh -c 'groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node' >>"$log" 2>&1
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | "${PODMAN[@]}" import \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' - "$image" >>"$log" 2>&1 \
    || { tail -20 "$log" >&2; rm -rf "$root"; say "podman import failed (log: $log)"; return 1; }
  rm -rf "$root" "$log"
}

# The FROM images, skipping --platform flags; stage names are not images.
bases=$(grep -iE '^[[:space:]]*FROM[[:space:]]' "$DOCKERFILE" | sed -E 's/^[[:space:]]*[Ff][Rr][Oo][Mm][[:space:]]+(--[^[:space:]]+[[:space:]]+)*//' | awk '{print $1}' | sort -u)
# One builder at a time on this machine: a second run waits, then finds the image.
lock_dir=/run/lock; [ -d "$lock_dir" ] || lock_dir=/tmp
exec 9>"$lock_dir/genesys-bff-node-standin.lock"
flock 9
for base in $bases; do
  case "$base" in
    node:*bookworm*|docker.io/library/node:*bookworm*)
      full=docker.io/library/${base#docker.io/library/}
      "${PODMAN[@]}" image exists "$full" || build_standin "$full" ;;
    node:*|docker.io/library/node:*)
      say "$base is not a Debian bookworm tag: no stand-in can be built for it here"; exit 1 ;;
  esac
done
