#!/usr/bin/env bash
# bootstrap.sh [BUILD_DIR] [cmake options...] - install what swarmup needs on
# Debian 12 (only the packages that are missing) and build it.
# Run as root (or with sudo available) on a fresh machine; later runs only build.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
shift || true

PKGS=(build-essential cmake pkg-config git
      libgpgme-dev libcurl4-openssl-dev libuv1-dev libtorrent-rasterbar-dev libssl-dev
      gnupg openssl ca-certificates
      nginx python3 python3-libtorrent opentracker qbittorrent-nox strace iproute2 valgrind)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's nginx package may start a system nginx on port 80; the tests never
  # use it (they run their own on 127.0.0.1), so leave the system one alone.
fi

cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
