#!/usr/bin/env bash
# test.sh - install what is missing, build, and run the whole test suite:
#   1. ctest in a normal build (unit tests in C, command-level and integration
#      tests in shell against real gpg, nginx, libtorrent, qBittorrent, opentracker);
#   2. the same ctest suite under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. every libFuzzer target for SW_FUZZ_SECONDS (default 60) each;
#   4. the unit tests that do not depend on network timing under valgrind memcheck.
# SW_SKIP_ASAN=1, SW_SKIP_FUZZ=1, SW_SKIP_VALGRIND=1 skip a stage.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)

bash "$SRC/tools/bootstrap.sh" "$SRC/build"
(cd "$SRC/build" && ctest --output-on-failure -j2)

if [ "${SW_SKIP_ASAN:-0}" != 1 ]; then
  bash "$SRC/tools/bootstrap.sh" "$SRC/build-asan" -DSW_SANITIZE=ON
  # gpg, nginx and python are not instrumented; only our processes are.
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd "$SRC/build-asan" && ctest --output-on-failure -j2)
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi

if [ "${SW_SKIP_FUZZ:-0}" != 1 ]; then
  bash "$SRC/tools/fuzz.sh" "${SW_FUZZ_SECONDS:-60}"
fi

if [ "${SW_SKIP_VALGRIND:-0}" != 1 ]; then
  # test_http (a low-speed time bound) and test_swarm (libtorrent's threads and
  # timeouts) are too timing-bound for valgrind's 20-50x slowdown; they run
  # under ASan above.
  bash "$SRC/tools/valgrind.sh" "$SRC/build" test_manifest test_keys test_magnet test_policy test_pgp test_gate \
    test_pgp_armor test_install test_clock_state test_torrent_signed
fi
