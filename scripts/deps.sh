#!/usr/bin/env bash
# Install the Debian packages that building, running and testing need.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

build_pkgs=(build-essential pkg-config libzmq3-dev libsqlite3-dev libcjson-dev
            uuid-dev libmicrohttpd-dev libsodium-dev libcmocka-dev)
# docker-compose: tests/blackbox/test_compose.py validates docker-compose.yml
# with `docker-compose config` (no Docker daemon needed for that).
test_pkgs=(python3 python3-pytest python3-requests python3-zmq python3-yaml python3-jsonschema sqlite3 curl
           docker-compose)
bench_pkgs=(wrk nginx-light)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
case "${1:-}" in
  --bench) want+=("${bench_pkgs[@]}") ;;
  --all)   want+=("${bench_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
