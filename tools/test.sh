#!/usr/bin/env bash
# test.sh - install what is missing, build, and run the whole test suite:
#   1. ctest in a normal build (unit tests in C, command-level and integration
#      tests in shell against real gpg, nginx, libtorrent, qBittorrent, opentracker);
#   2. the same ctest suite under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. every libFuzzer target for SW_FUZZ_SECONDS (default 60) each;
#   4. the unit tests that do not depend on network timing under valgrind memcheck.
# SW_SKIP_ASAN=1, SW_SKIP_FUZZ=1, SW_SKIP_VALGRIND=1 skip a stage.
# Each stage starts with a header and ends with its own counts; every stage runs
# even when one before failed, and the last line is the whole suite's verdict and
# counts (tools/testsum.sh). Stage outputs are kept in build/test-logs/.
# Exit status 0 only if every stage passed.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC1091
. "$SRC/tools/testsum.sh"
LOGS=$SRC/build/test-logs
mkdir -p "$LOGS"
N=4
I=0

# stage NAME KIND COMMAND...: a header, the command's output (also kept in
# LOGS/NAME.log), then the stage's counts.
stage() {
  local name=$1 kind=$2 rc=0
  shift 2
  I=$((I + 1))
  echo
  echo "== stage $I/$N: $name ($(date +%H:%M:%S))"
  "$@" 2>&1 | tee "$LOGS/$name.log" || rc=$?
  sw_sum_record "$name" "$kind" "$rc" "$LOGS/$name.log"
}
skipped() { I=$((I + 1)); echo; echo "== stage $I/$N: $1: not run ($2=1)"; SW_SUM_SKIPPED+=("$1"); }

normal() {
  echo "building build/ (installing what is missing first)..."
  bash "$SRC/tools/bootstrap.sh" "$SRC/build" >"$LOGS/build.log" 2>&1 || { tail -20 "$LOGS/build.log"; return 1; }
  (cd "$SRC/build" && ctest --output-on-failure -j2)
}
asan() {
  echo "building build-asan/ with -DSW_SANITIZE=ON..."
  bash "$SRC/tools/bootstrap.sh" "$SRC/build-asan" -DSW_SANITIZE=ON >"$LOGS/build-asan.log" 2>&1 ||
    { tail -20 "$LOGS/build-asan.log"; return 1; }
  # gpg, nginx and python are not instrumented; only our processes are.
  # One test at a time: instrumented, our processes run 2-3x slower, and beside
  # another test on 2 cores a swarm test's local seeder was not connected
  # within the scheduler's 1 s grace in three clean CIs of 2026-12-07 (each a
  # different test, each overlapping a heavy one: cli_demo, cli_crash_kill,
  # cli_keys_chain, test_pgp_diff), so HTTPS took the whole file and the swarm
  # half of the test never ran. The stage takes ~6 minutes longer.
  (cd "$SRC/build-asan" &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j1)
}
fuzz() { bash "$SRC/tools/fuzz.sh" "${SW_FUZZ_SECONDS:-60}"; }
# test_http (a low-speed time bound) and test_swarm (libtorrent's threads and
# timeouts) are too timing-bound for valgrind's 20-50x slowdown; they run
# under ASan above.
vg() {
  bash "$SRC/tools/valgrind.sh" "$SRC/build" test_manifest test_keys test_keychain test_magnet test_policy test_pgp \
    test_gate test_pgp_armor test_install test_clock_state test_keystore test_torrent_signed test_units test_opts \
    test_progress
}

stage ctest ctest normal
if [ "${SW_SKIP_ASAN:-0}" != 1 ]; then stage ctest-asan ctest asan; else skipped ctest-asan SW_SKIP_ASAN; fi
if [ "${SW_SKIP_FUZZ:-0}" != 1 ]; then stage fuzz plain fuzz; else skipped fuzz SW_SKIP_FUZZ; fi
if [ "${SW_SKIP_VALGRIND:-0}" != 1 ]; then stage valgrind plain vg; else skipped valgrind SW_SKIP_VALGRIND; fi
echo
sw_sum_final
