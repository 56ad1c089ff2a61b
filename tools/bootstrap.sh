#!/usr/bin/env bash
# bootstrap.sh [BUILD_DIR] [cmake options...] - install what swarmup needs on
# Debian 12 (only the packages that are missing) and build it.
# Run as root (or with sudo available) on a fresh machine; later runs only build.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
shift || true

# curl: the test helpers (tests/lib/tracker.sh, qbt.sh) ask their servers with it.
# faketime: tests/cli/attack_clock.sh moves the clock of one run (libfaketime, no hook in swarmup).
# systemd: tests/cli/systemd_units.sh rates the units with systemd-analyze (offline; no
# systemd needs to run), which a minbase root lacks.
# nftables: tests/cli/firewall_drop.sh drops the swarm's packets in a network namespace, and
# tools/netlab's corporate firewall and packet loss; iptables: netlab's delay line's NFQUEUE
# rule (the kernel here has no nft queue); python3-matplotlib: netlab's plot.
PKGS=(build-essential cmake pkg-config git
      libgpgme-dev libcurl4-openssl-dev libuv1-dev libtorrent-rasterbar-dev libssl-dev
      gnupg openssl ca-certificates curl
      nginx python3 python3-libtorrent opentracker qbittorrent-nox strace iproute2 valgrind
      faketime systemd nftables iptables python3-matplotlib)
# shellcheck disable=SC1091
. "$SRC/tools/apt.sh"
# Debian's nginx package may start a system nginx on port 80; the tests never
# use it (they run their own on 127.0.0.1), so the system one is left alone.
sw_apt_install bootstrap "${PKGS[@]}"

cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
