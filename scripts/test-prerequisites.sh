#!/usr/bin/env bash
# The first step of `npm test`: the tests drive real programs from Debian
# (curl for the README's curl quick start, Chromium for the browser tests, redis-server and nginx for the scale-out
# test, redis-tools for a local Redis Cluster, haproxy to check the HAProxy configuration in deploy/, prometheus for
# promtool to check the alert rules and Prometheus configuration; podman, runc,
# podman-compose, debootstrap and iproute2 to run the README's container
# commands; dbus-daemon and python3-gi for a desktop notification server that
# clicks Chromium's notifications, test/support/desktopNotifications.ts). Whatever is missing is installed with apt-get, as root or through
# passwordless sudo; with everything present this does nothing at all. Where
# it cannot install (no root, no sudo, no apt-get) it stops at once, naming
# each missing package and the command that installs it: tests that could
# not run never count as passed.
#
# It looks for each program where the tests do, so the same variables move it:
# CURL_BINARY, CHROMIUM_PATH, REDIS_SERVER, REDIS_CLI, NGINX_BINARY, HAPROXY_BINARY, PROMTOOL_BINARY, PODMAN_BINARY,
# RUNC_BINARY, PODMAN_COMPOSE_BINARY, DEBOOTSTRAP_BINARY, IP_BINARY, DBUS_DAEMON, PYTHON3_GI.
set -euo pipefail

packages=(curl chromium redis-server redis-tools nginx haproxy prometheus podman runc podman-compose debootstrap iproute2 dbus-daemon python3-gi)
binaries=("${CURL_BINARY:-/usr/bin/curl}" "${CHROMIUM_PATH:-/usr/bin/chromium}" "${REDIS_SERVER:-/usr/bin/redis-server}" "${REDIS_CLI:-/usr/bin/redis-cli}" "${NGINX_BINARY:-/usr/sbin/nginx}" "${HAPROXY_BINARY:-/usr/sbin/haproxy}" "${PROMTOOL_BINARY:-/usr/bin/promtool}"
  "${PODMAN_BINARY:-/usr/bin/podman}" "${RUNC_BINARY:-/usr/sbin/runc}" "${PODMAN_COMPOSE_BINARY:-/usr/bin/podman-compose}"
  "${DEBOOTSTRAP_BINARY:-/usr/sbin/debootstrap}" "${IP_BINARY:-/sbin/ip}" "${DBUS_DAEMON:-/usr/bin/dbus-daemon}"
  "${PYTHON3_GI:-/usr/lib/python3/dist-packages/gi}")

missing=()
for i in "${!packages[@]}"; do
  [ -x "${binaries[$i]}" ] || missing+=("${packages[$i]}")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

install="apt-get install -y --no-install-recommends ${missing[*]}"
refuse() {
  echo "npm test needs Debian packages that are missing: ${missing[*]}." >&2
  echo "$1 Install them, then run npm test again:" >&2
  echo "  sudo apt-get update && sudo $install" >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || refuse "This machine has no apt-get, so they cannot be installed for you."
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  refuse "Installing them needs root or passwordless sudo, and this user has neither."
fi

echo "npm test: installing ${missing[*]} from Debian (the tests run real curl, Chromium, Redis, nginx, HAProxy, promtool and podman)"
# No service may start during the install (nginx and haproxy would try to take port 80, prometheus 9090): the tests start their own.
policy=/usr/sbin/policy-rc.d
added_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null && "${as_root[@]}" chmod 755 "$policy" && added_policy=true
fi
cleanup() { if $added_policy; then "${as_root[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

apt_install() { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }
# The package lists are refreshed only when a package is not found in them.
if ! apt_install; then
  "${as_root[@]}" apt-get update
  apt_install
fi

for i in "${!packages[@]}"; do
  [ -x "${binaries[$i]}" ] || { echo "npm test: ${packages[$i]} was installed but ${binaries[$i]} is still missing" >&2; exit 1; }
done
