#!/usr/bin/env bash
# Put napi-rs's GCC cross toolchain for glibc 2.17 where
# `napi build --use-napi-cross --target TRIPLE` looks for it
# (~/.napi-rs/cross-toolchain/<@napi-rs/cross-toolchain version>/TRIPLE), so
# that the build does not depend on a toolchain package of exactly that
# version being on the registry: the one of that version, else the newest.
#
#   bash scripts/napi-cross-toolchain.sh x86_64-unknown-linux-gnu|aarch64-unknown-linux-gnu
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: napi-cross-toolchain.sh TRIPLE}
case "$target" in
  x86_64-unknown-linux-gnu) arch=x86_64 ;;
  aarch64-unknown-linux-gnu) arch=aarch64 ;;
  *) echo "napi-cross-toolchain: no glibc 2.17 toolchain for $target" >&2; exit 2 ;;
esac
case "$(uname -m)" in
  x86_64) host=x64 ;;
  aarch64 | arm64) host=arm64 ;;
  *) echo "napi-cross-toolchain: the toolchains run on x86_64 and aarch64 hosts, not $(uname -m)" >&2; exit 2 ;;
esac
version=$(node -p "require('@napi-rs/cross-toolchain/package.json').version")
dest="$HOME/.napi-rs/cross-toolchain/$version/$target"
if [ -f "$dest/package.json" ]; then
  echo "napi-cross-toolchain: $dest is there"
  exit 0
fi
package="@napi-rs/cross-toolchain-$host-target-$arch"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tgz=$(cd "$work" && { npm pack --silent "$package@$version" 2>/dev/null || npm pack --silent "$package"; } | tail -1)
tar -xzf "$work/$tgz" -C "$work"
mkdir -p "$dest"
tar -xJf "$work/package/$target.tar.xz" -C "$dest"
echo "napi-cross-toolchain: $package ($tgz) unpacked into $dest"
