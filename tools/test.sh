#!/usr/bin/env bash
# test.sh - install what is missing, build, and run the whole test suite with
# ctest: once in a normal build and once under AddressSanitizer +
# UndefinedBehaviorSanitizer (skip that with SW_SKIP_ASAN=1).
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
fi
