#!/usr/bin/env bash
# debcheck.sh - the Debian package end to end, on a Debian 12 machine, as root:
#   1. build: `dpkg-buildpackage -us -uc -b` in a temporary copy of the tree (the
#      checkout is not touched; no tests run in the package build), then lintian,
#      which must report no error;
#   2. install: `dpkg -i` (missing runtime dependencies from apt), then
#      /usr/bin/swarmup --version, the _swarmup user (sysusers.d), the state and
#      config dirs (tmpfiles.d), the units, man pages and example configs;
#   3. tools/demo.sh against the installed binaries (/usr/bin/swarmup and
#      /usr/bin/swarmup-publish, through SW_BUILD=a directory of links to them);
#   4. `dpkg --purge`, and nothing of the package is left: no file it shipped, no
#      state or config dir, no unit enablement. The _swarmup user stays, as Debian
#      keeps system users (docs/systemd.md).
# It installs what it needs with apt (tools/apt.sh) and refuses to run when a
# swarmup package is installed already (it would be replaced, then purged).
# Usage: bash tools/debcheck.sh [--keep DIR]   (--keep: copy the .deb files to DIR)
set -euo pipefail
umask 022
export LC_ALL=C
SRC=$(cd "$(dirname "$0")/.." && pwd)
KEEP=""
while [ $# -gt 0 ]; do
  case $1 in
    --keep) KEEP=${2:?--keep DIR}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "debcheck.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "debcheck.sh: run as root (it installs and purges a package)" >&2; exit 2; }
if dpkg-query -W -f='${Status}' swarmup 2>/dev/null | grep -q 'install ok'; then
  echo "debcheck.sh: a swarmup package is installed already; remove it first (this would replace and purge it)" >&2
  exit 2
fi
# shellcheck disable=SC1091
. "$SRC/tools/apt.sh"
BUILD_DEPS=(build-essential debhelper dpkg-dev fakeroot lintian git cmake pkg-config
            libgpgme-dev libcurl4-openssl-dev libuv1-dev libtorrent-rasterbar-dev libssl-dev)
# What tools/demo.sh runs besides swarmup: gpg, a real nginx with a CA made by
# openssl, python3-libtorrent as a plain peer.
DEMO_DEPS=(gnupg openssl ca-certificates curl nginx python3 python3-libtorrent)
sw_apt_install debcheck "${BUILD_DEPS[@]}" "${DEMO_DEPS[@]}"

W=$(mktemp -d /tmp/swdeb.XXXXXX)
INSTALLED=0
PASS=0
FAIL=0
purge() {
  local _ out
  for _ in $(seq 60); do
    out=$(dpkg --purge swarmup 2>&1) && return 0
    grep -q lock <<<"$out" || { echo "$out" | sed 's/^/   dpkg: /'; return 1; }
    sleep 5
  done
  return 1
}
cleanup() {
  # A failure half way must not leave the package on the machine.
  if [ "$INSTALLED" = 1 ]; then purge >/dev/null 2>&1 || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
ok() {
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; PASS=$((PASS + 1)); else echo "FAIL $name"; FAIL=$((FAIL + 1)); fi
}
stage() { printf '\n== %s\n' "$*"; }

stage "build the package in a copy of the tree ($W/swarmup-0)"
mkdir "$W/swarmup-0"
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
  # Tracked and untracked-but-not-ignored files: what a clean clone plus local edits holds.
  (cd "$SRC" && git ls-files -z -co --exclude-standard) | (cd "$SRC" && tar --null -T - -cf -) | tar -xf - -C "$W/swarmup-0"
else
  tar -C "$SRC" --exclude=./build --exclude=./.git -cf - . | tar -xf - -C "$W/swarmup-0"
fi
rm -rf "$W/swarmup-0/build"
rc=0
(cd "$W/swarmup-0" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$W/build.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || tail -30 "$W/build.log"
ok package_builds test "$rc" -eq 0
DEB=$(ls "$W"/swarmup_*_*.deb 2>/dev/null | head -1)
ok deb_exists test -n "$DEB" -a -f "$DEB"
[ -n "$DEB" ] || { echo "debcheck: no package; see above"; exit 1; }
ok tests_did_not_run_in_the_package_build sh -c "! grep -qE 'ctest|Test project' '$W/build.log'"
[ -n "$KEEP" ] && mkdir -p "$KEEP" && cp "$W"/*.deb "$KEEP/"
dpkg-deb -c "$DEB" | awk '{print $6}' >"$W/contents"
for f in ./usr/bin/swarmup ./usr/bin/swarmup-publish ./usr/share/man/man1/swarmup.1.gz \
  ./usr/share/man/man1/swarmup-publish.1.gz ./lib/systemd/system/swarmup-seed.service \
  ./lib/systemd/system/swarmup-update@.service ./lib/systemd/system/swarmup-update@.timer \
  ./usr/lib/sysusers.d/swarmup.conf ./usr/lib/tmpfiles.d/swarmup.conf \
  ./usr/share/doc/swarmup/examples/seed.conf ./usr/share/doc/swarmup/examples/hello.conf \
  ./usr/share/doc/swarmup/systemd.md.gz; do
  ok "package_ships_${f#./}" grep -qxF "$f" "$W/contents"
done
lintian --allow-root --fail-on error --display-level '>=warning' "$DEB" >"$W/lintian.log" 2>&1 && rc=0 || rc=$?
sed 's/^/   lintian: /' "$W/lintian.log"
ok lintian_reports_no_errors test "$rc" -eq 0

stage "install it"
INSTALLED=1
# dpkg does not wait for its lock (an apt run elsewhere on the machine): retry for up to 5 minutes.
for _ in $(seq 60); do
  rc=0
  dpkg -i "$DEB" >"$W/install.log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] && grep -q 'lock' "$W/install.log" && { sleep 5; continue; }
  break
done
if [ "$rc" -ne 0 ]; then
  # Runtime dependencies the machine lacks: apt brings them and configures the package.
  DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 \
    >>"$W/install.log" 2>&1 || true
fi
dpkg-query -W -f='${Status}' swarmup 2>/dev/null | grep -q 'install ok installed' || sed 's/^/   dpkg: /' "$W/install.log"
ok package_is_installed sh -c "dpkg-query -W -f='\${Status}' swarmup | grep -q 'install ok installed'"
ver=$(/usr/bin/swarmup --version 2>&1 || true)
echo "   /usr/bin/swarmup --version: $ver"
ok installed_swarmup_prints_its_version sh -c "echo '$ver' | grep -qE '^swarmup [0-9]+\\.[0-9]+'"
ok installed_publish_runs sh -c "/usr/bin/swarmup-publish --help >/dev/null 2>&1"
ok seeder_user_exists sh -c "getent passwd _swarmup >/dev/null"
ok seeder_user_has_no_shell sh -c "getent passwd _swarmup | grep -q ':/usr/sbin/nologin$'"
ok client_state_dir_is_root_0700 sh -c "[ \"\$(stat -c %U:%a /var/lib/swarmup)\" = root:700 ]"
ok config_dir_exists test -d /etc/swarmup
ok man_page_is_installed sh -c "man -w swarmup >/dev/null 2>&1 || test -f /usr/share/man/man1/swarmup.1.gz"
ok status_runs_on_the_fresh_client_state sh -c "/usr/bin/swarmup status | grep -q 'no product checked yet'"
if command -v systemd-analyze >/dev/null; then
  s=$(systemd-analyze security --offline=true --no-pager /lib/systemd/system/swarmup-seed.service 2>&1 |
    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' || true)
  echo "   installed swarmup-seed.service: exposure ${s:-?}"
  ok installed_seed_unit_is_rated_2_0_or_lower awk -v s="$s" 'BEGIN { exit !(s != "" && s + 0 <= 2.0) }'
fi

stage "the demo against the installed binaries"
mkdir -p "$W/bin/tools"
ln -s /usr/bin/swarmup "$W/bin/swarmup"
ln -s /usr/bin/swarmup-publish "$W/bin/tools/swarmup-publish"
rc=0
SW_BUILD=$W/bin bash "$SRC/tools/demo.sh" >"$W/demo.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || tail -30 "$W/demo.log"
ok demo_passes_with_the_installed_binaries test "$rc" -eq 0
echo "   demo: $(grep -c '^\$ ' "$W/demo.log" || true) commands shown, log in the build dir until exit"

stage "purge it"
dpkg -L swarmup >"$W/files" 2>/dev/null || true
# State the services would have made, so that purge has something to remove.
mkdir -p /var/lib/swarmup-seed && chmod 700 /var/lib/swarmup-seed && touch /var/lib/swarmup-seed/known /var/lib/swarmup/known
INSTALLED=0
ok package_purges purge
ok package_is_gone sh -c "! dpkg-query -W -f='\${Status}' swarmup 2>/dev/null | grep -q 'ok'"
left=()
while IFS= read -r f; do
  [ -z "$f" ] && continue
  # Shared directories (/usr, /usr/bin, /lib/systemd/system, ...) stay; files and our own dirs go.
  # (/lib is a link to usr/lib on a merged-/usr system: a directory all the same.)
  if [ -d "$f" ]; then
    case $f in */swarmup | */swarmup/*) left+=("$f") ;; esac
  elif [ -e "$f" ] || [ -L "$f" ]; then
    left+=("$f")
  fi
done <"$W/files"
for d in /var/lib/swarmup /var/lib/swarmup-seed /var/lib/private/swarmup-seed /etc/swarmup /usr/share/doc/swarmup; do
  [ -e "$d" ] && left+=("$d")
done
while IFS= read -r f; do left+=("$f"); done < <(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
  -name '*swarmup*' 2>/dev/null)
[ ${#left[@]} -eq 0 ] || printf '   left after purge: %s\n' "${left[@]}"
ok nothing_is_left_after_purge test ${#left[@]} -eq 0
getent passwd _swarmup >/dev/null && echo "   the _swarmup user stays (Debian keeps system users; docs/systemd.md)"

printf '\ndebcheck: %d passed, %d failed\n' "$PASS" "$FAIL"
[ "$FAIL" -eq 0 ]
