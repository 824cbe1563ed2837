#!/usr/bin/env bash
# Install the Debian packages that building, running and testing need.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

build_pkgs=(build-essential pkg-config libzmq3-dev libsqlite3-dev libcjson-dev
            uuid-dev libmicrohttpd-dev libsodium-dev libcmocka-dev libcurl4-openssl-dev)
# docker-compose: tests/blackbox/test_compose.py validates docker-compose.yml
# with `docker-compose config` (no Docker daemon needed for that).
test_pkgs=(python3 python3-pytest python3-requests python3-zmq python3-yaml python3-jsonschema sqlite3 curl
           docker-compose python3-aiosmtpd openssl)
bench_pkgs=(wrk nginx-light)
# make fuzz: clang and the libFuzzer/sanitizer runtimes (only a Recommends
# of clang, so --no-install-recommends would leave them out).
fuzz_pkgs=(clang libclang-rt-dev)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
case "${1:-}" in
  --bench) want+=("${bench_pkgs[@]}") ;;
  --fuzz)  want+=("${fuzz_pkgs[@]}") ;;
  --all)   want+=("${bench_pkgs[@]}") ;;
esac

# The browser tests (tests/browser) drive Debian's Chromium with
# playwright-core from npm; nothing is downloaded by Playwright itself.
# A Chinese font (1.6 MB), so that the pages and printed quotations in
# Chinese show their script in the screenshots rather than empty boxes.
want+=(chromium fonts-wqy-microhei)

missing=()
for p in "${want[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# Node and npm may come from elsewhere (a nodesource nodejs carries its own
# npm and conflicts with Debian's npm package): only the commands matter.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The browser tests' npm packages, exactly as pinned in package-lock.json.
# A stamp holding the lock file's hash says whether node_modules is current.
browser_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
if [ -f "$browser_dir/package-lock.json" ]; then
  lock_sum=$(sha256sum "$browser_dir/package-lock.json" | cut -d' ' -f1)
  stamp="$browser_dir/node_modules/.deps-stamp"
  if [ "$(cat "$stamp" 2>/dev/null || true)" != "$lock_sum" ]; then
    echo "deps: npm ci in tests/browser" >&2
    (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$lock_sum" >"$stamp"
  fi
fi
