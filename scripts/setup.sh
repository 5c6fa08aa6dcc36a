#!/usr/bin/env bash
# Set up dynamo-consistency on a Debian machine: system packages (XRootD
# server and client with their security plugins and openssl, for the tests
# of servers that require authentication, gfal2, MariaDB, Chromium for the page tests, zsh and
# script (bsdutils) for the tests of completion and of the terminal), npm
# packages, the native module and the TypeScript build. With --example, run
# the check on the bundled example site afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential pkg-config
  xrootd-server xrootd-client libxrootd-client-dev xrootd-plugins openssl
  gfal2-util-scripts gfal2-plugin-file gfal2-plugin-xrootd python-is-python3
  mariadb-server mariadb-client
  chromium time
  zsh bsdutils
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# a lock written against a registry that mirrors one platform lacks the
# others' optional packages; put them back so that npm ci accepts it
node scripts/lockfile-platforms.mjs
npm ci --no-audit --no-fund
npm run build

if [ "${1:-}" = "--example" ]; then
  npm run --silent example
fi
