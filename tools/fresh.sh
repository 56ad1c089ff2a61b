#!/usr/bin/env bash
# fresh.sh - run the README's two commands as a new user would, on a fresh Debian 12:
# a minimal root made now (debootstrap --variant=minbase bookworm, from the apt sources
# this machine is configured with), the repository cloned in (committed files only, no
# build outputs), /proc, /sys and /dev mounted, and then, under `env -i` with only HOME,
# PATH and TERM:
#     bash tools/demo.sh   and   bash tools/test.sh
# and then the Debian package end to end (bash tools/debcheck.sh: build, lintian,
# dpkg -i, the demo against /usr/bin, purge). All must pass; the exit status is 0 only then. A test the suite skips for lack of a
# privilege also fails this run: in the fresh root everything must run.
#
# Everything runs in a mount and PID namespace of its own (unshare): every mount is made
# there and is gone with it, and when the run ends (success, failure, timeout or Ctrl-C)
# the kernel kills every process it started inside (nginx, gpg-agent, libtorrent peers,
# ...). The root directory is removed afterwards unless --keep.
#
# Usage: sudo bash tools/fresh.sh [--keep] [--dir DIR] [--demo-only] [--timeout MIN] [--env VAR=VALUE]...
#   --keep          keep the root (DIR/root) and the logs for a look afterwards
#   --dir DIR       work here (default: a new /var/tmp/swfresh.XXXXXX)
#   --demo-only     run only the demo (quick check of the install steps)
#   --no-package    skip the Debian package check (debcheck.sh)
#   --timeout MIN   bound on the whole run inside the root (default 80)
#   --env VAR=VAL   pass one more variable into the clean environment (e.g.
#                   SW_SKIP_VALGRIND=1 for a quicker check by hand; CI passes none)
# Needs root with CAP_SYS_ADMIN (debootstrap, mounts, namespaces) and the network
# access to the apt archive that the machine's apt itself uses.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
KEEP=0 DIR="" DEMO_ONLY=0 PACKAGE=1 TIMEOUT_MIN=80 EXTRA_ENV=()
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --keep) KEEP=1 ;;
    --dir) DIR=${2:?--dir needs a directory}; shift ;;
    --demo-only) DEMO_ONLY=1 ;;
    --no-package) PACKAGE=0 ;;
    --timeout) TIMEOUT_MIN=${2:?--timeout needs minutes}; shift ;;
    --env) [[ ${2:-} == [A-Za-z_]*=* ]] || { echo "fresh.sh: --env needs VAR=VALUE" >&2; exit 2; }
           EXTRA_ENV+=("$2"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fresh.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $TIMEOUT_MIN =~ ^[1-9][0-9]*$ ]] || { echo "fresh.sh: --timeout needs a whole number of minutes" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "fresh.sh: needs root (debootstrap, mounts, namespaces)" >&2; exit 2; }

log() { printf '[fresh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# shellcheck disable=SC1091
. "$SRC/tools/apt.sh"
sw_apt_install fresh debootstrap git util-linux

# --- the archive this machine's apt uses for bookworm -------------------------------------
# deb822 (.sources: "URIs:" and "Suites:" in one paragraph) or one-line ("deb [opts] URI SUITE").
mirror_of_host() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
      { uri = ""; deb = 0; suite = 0; on = 1
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:.*(^|[ \t])deb([ \t]|$)/) deb = 1
          if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
          if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) suite = 1
          if ($i ~ /^Enabled:[ \t]*no/) on = 0
        }
        if (deb && suite && on && uri != "") { print uri; exit }
      }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n -E 's/^deb[ \t]+(\[[^]]*\][ \t]+)?([^ \t]+)[ \t]+bookworm[ \t].*/\2/p' "$f"
  done
}
MIRROR=$(mirror_of_host | head -1)
[ -n "$MIRROR" ] || { echo "fresh.sh: no 'bookworm' deb source in this machine's apt configuration" >&2; exit 2; }

[ -n "$DIR" ] || DIR=$(mktemp -d /var/tmp/swfresh.XXXXXX)
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
ROOT=$DIR/root
[ ! -e "$ROOT" ] || { echo "fresh.sh: $ROOT exists; give an empty --dir" >&2; exit 2; }

# Nothing may stay mounted under ROOT when it is removed (an rm -rf through a bind mount
# of /dev would reach the host's): the namespace takes its mounts with it, and this
# checks that it did before anything is deleted.
mounted_under_root() { awk -v r="$ROOT" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo; }
cleanup() {
  local rc=$? m
  m=$(mounted_under_root)
  if [ -n "$m" ]; then
    log "still mounted under $ROOT (unmounting): $m"
    umount -R -l "$ROOT" 2>/dev/null || true
  fi
  if [ "$KEEP" = 1 ]; then
    log "kept $DIR (root: $ROOT)"
  elif [ -z "$(mounted_under_root)" ]; then
    rm -rf "$DIR"
  else
    log "not removing $DIR: something is still mounted under it"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. a minimal Debian 12 root ---------------------------------------------------------
t0=$SECONDS
log "debootstrap --variant=minbase bookworm $ROOT $MIRROR"
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$DIR/debootstrap.log" 2>&1 ||
  { tail -20 "$DIR/debootstrap.log" >&2; echo "fresh.sh: debootstrap failed (log above)" >&2; exit 1; }
log "root made in $((SECONDS - t0)) s"

# The root reaches the archive the way this machine does: its apt sources (the main
# archive, updates and security, as configured here, replacing debootstrap's one line),
# the keyrings they name, and the Acquire settings (proxies, a snapshot's dates).
cp /etc/apt/sources.list "$ROOT/etc/apt/sources.list" 2>/dev/null || : >"$ROOT/etc/apt/sources.list"
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] && cp "$f" "$ROOT/etc/apt/sources.list.d/"
done
for k in $(sed -n -E 's/^Signed-By:[ \t]*(\/[^ \t]+).*/\1/p; s/.*signed-by=(\/[^] \t]+).*/\1/p' \
             /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | sort -u); do
  [ -f "$k" ] && [ ! -e "$ROOT$k" ] && { mkdir -p "$ROOT$(dirname "$k")"; cp "$k" "$ROOT$k"; }
done
for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
  [ -f "$f" ] && grep -qE '^[[:space:]]*Acquire' "$f" && cp "$f" "$ROOT${f}"
done
# What debian-installer writes on every machine and debootstrap does not.
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
echo swfresh >"$ROOT/etc/hostname"
# The root is a chroot, not a booted system: no init runs its services. Keep package
# scripts from starting daemons (nginx on port 80 would land in this machine's network
# namespace); the tests start every server they use themselves, on their own ports.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"

# --- 2. the repository, as a clone: committed files only, no build outputs -----------------
if [ -n "$(git -C "$SRC" status --porcelain --untracked-files=no)" ]; then
  log "note: $SRC has uncommitted changes; the fresh root gets the committed HEAD only"
fi
git clone --quiet --no-hardlinks "$SRC" "$ROOT/root/swarmup"
log "cloned $(git -C "$ROOT/root/swarmup" log -1 --format='%h %s' | cut -c1-80)"

# --- 3. the two commands, in a namespace of their own, under a clean environment -----------
CMDS='cd /root/swarmup && rc=0 && echo "== bash tools/demo.sh" && { bash tools/demo.sh || rc=$?; } && echo "== demo: exit $rc" && echo "$rc" >/root/demo.rc'
[ "$DEMO_ONLY" = 1 ] || CMDS+=' && rc=0 && echo "== bash tools/test.sh" && { bash tools/test.sh || rc=$?; } && echo "== tests: exit $rc" && echo "$rc" >/root/tests.rc'
[ "$DEMO_ONLY" = 1 ] || [ "$PACKAGE" = 0 ] || CMDS+=' && rc=0 && echo "== bash tools/debcheck.sh" && { bash tools/debcheck.sh || rc=$?; } && echo "== package: exit $rc" && echo "$rc" >/root/package.rc'
CLEAN_ENV=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "TERM=${TERM:-xterm}" "${EXTRA_ENV[@]}")

# Inside the new namespaces (this script's PID 1 there): mount, chroot, run, unmount.
# The mount namespace is private, so nothing mounted here propagates to the host.
INNER='set -u
R=$1; shift
# On a real system / is a mount point (unshare --propagation and the like need one): here too.
mount --bind "$R" "$R"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount --rbind /dev "$R/dev"
mount --make-rslave "$R/dev"
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$R/run"
timeout --kill-after=30 "$TIMEOUT_S" chroot "$R" /usr/bin/env -i "$@"
rc=$?
umount -R "$R" 2>/dev/null || umount -R -l "$R"
exit $rc'
log "running the README's commands in $ROOT under env -i (bounded to $TIMEOUT_MIN min)"
t1=$SECONDS
rc=0
TIMEOUT_S=$((TIMEOUT_MIN * 60)) unshare --mount --pid --fork --kill-child --propagation private \
  bash -c "$INNER" inner "$ROOT" "${CLEAN_ENV[@]}" bash -c "$CMDS" 2>&1 | tee "$DIR/run.log" || rc=$?
log "ran for $((SECONDS - t1)) s (exit $rc)"

demo_rc=$(cat "$ROOT/root/demo.rc" 2>/dev/null || echo "did not finish")
fail=0
echo "fresh.sh: demo (bash tools/demo.sh): exit $demo_rc"
[ "$demo_rc" = 0 ] || fail=1
if [ "$DEMO_ONLY" = 0 ]; then
  tests_rc=$(cat "$ROOT/root/tests.rc" 2>/dev/null || echo "did not run or finish")
  echo "fresh.sh: tests (bash tools/test.sh): exit $tests_rc"
  [ "$tests_rc" = 0 ] || fail=1
  if [ "$PACKAGE" = 1 ]; then
    package_rc=$(cat "$ROOT/root/package.rc" 2>/dev/null || echo "did not run or finish")
    echo "fresh.sh: package (bash tools/debcheck.sh): exit $package_rc"
    [ "$package_rc" = 0 ] || fail=1
  fi
  # Privileges are all there in the fresh root: a test that skipped itself is a failure here.
  if grep -qE '\*\*\*Skipped|^SKIP ' "$DIR/run.log"; then
    echo "fresh.sh: a test skipped itself in the fresh root:" >&2
    grep -E '\*\*\*Skipped|^SKIP ' "$DIR/run.log" | head -5 >&2
    fail=1
  fi
fi
[ "$rc" = 0 ] || [ "$fail" = 1 ] || { echo "fresh.sh: the run inside the root ended with exit $rc" >&2; fail=1; }
[ "$KEEP" = 1 ] && echo "fresh.sh: logs: $DIR/run.log, $DIR/debootstrap.log"
if [ "$fail" = 0 ]; then
  if [ "$DEMO_ONLY" = 1 ]; then echo "fresh.sh: the demo passed on a fresh Debian 12 root (tests not run: --demo-only)"
  else echo "fresh.sh: both of the README's commands passed on a fresh Debian 12 root$([ "$PACKAGE" = 1 ] && echo ', and the package check')"; fi
fi
exit "$fail"
