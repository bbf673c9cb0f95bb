#!/usr/bin/env bash
# Installs the Debian 12 packages rt-broker needs to build, run and test, skipping those already
# installed. Run as root. Usage: deploy/install-deps.sh [--with-tests]
set -euo pipefail
build_pkgs=(build-essential cmake pkg-config libhiredis-dev libevent-dev libwebsockets-dev
    libuv1-dev libpq-dev libjansson-dev libjwt-dev libssl-dev)
run_pkgs=(redis-server redis-tools postgresql-15 postgresql-client-15 curl openssl)
test_pkgs=(libcmocka-dev nodejs npm node-typescript haproxy procps docker-compose python3-yaml chromium clang-format git)
want=("${build_pkgs[@]}" "${run_pkgs[@]}")
[ "${1:-}" = --with-tests ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
    # a newer Node.js from elsewhere (node on PATH) is fine: only fetch Debian's when absent
    if [ "$p" = nodejs ] || [ "$p" = npm ]; then
        command -v "${p/nodejs/node}" >/dev/null 2>&1 && continue
    fi
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: everything is installed"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing ${missing[*]}; run as root" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's redis-server and postgresql packages start system services; we run our own servers
# on other ports, so leave theirs alone (or absent, in containers without an init system).
