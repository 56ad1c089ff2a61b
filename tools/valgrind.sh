#!/usr/bin/env bash
# valgrind.sh BUILD_DIR [TEST_BINARY_NAME...] - run every unit test binary
# (BUILD_DIR/tests/test_*) under valgrind memcheck. Use a plain build (not
# -DSW_SANITIZE=ON, not -DSW_FUZZ=ON: ASan and valgrind do not mix), e.g.
#   cmake -S . -B build-vg -DCMAKE_BUILD_TYPE=Debug && cmake --build build-vg -j2
#   tools/valgrind.sh build-vg
#
# The harness (tests/sw_test.h) forks one child per test. valgrind follows a
# fork by itself (the child is the same program, still on the synthetic CPU),
# and a child that ends with an error or a definite leak exits with
# --error-exitcode, which the harness counts as that test failing. Programs
# the tests exec (gpg, nginx, python) are not traced (--trace-children=no).
# Prints a line per binary and ends with "N passed, N failed" (tests); logs in
# BUILD_DIR/valgrind/. Environment: SW_VALGRIND_SUPP (a suppressions file),
# SW_TEST_TIMEOUT (per test, default here 1800 s: valgrind is ~20-50x slower).
set -uo pipefail
if [ $# -lt 1 ] || [ ! -d "$1/tests" ]; then
  echo "usage: valgrind.sh BUILD_DIR [test_NAME...]" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd)
shift
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
if grep -q -- '-fsanitize' "$BUILD/CMakeCache.txt" 2>/dev/null ||
   grep -Eq 'SW_(SANITIZE|FUZZ):BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  echo "valgrind.sh: $BUILD is a sanitizer build; use a plain one" >&2
  exit 2
fi
export SW_TEST_TIMEOUT=${SW_TEST_TIMEOUT:-1800}
LOGS=$BUILD/valgrind
mkdir -p "$LOGS"
VG=(valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --trace-children=no --child-silent-after-fork=no
    --num-callers=30 --track-origins=yes)
[ -n "${SW_VALGRIND_SUPP:-}" ] && VG+=(--suppressions="$SW_VALGRIND_SUPP")

bins=()
if [ $# -gt 0 ]; then
  for n in "$@"; do bins+=("$BUILD/tests/$n"); done
else
  for b in "$BUILD"/tests/test_*; do [ -f "$b" ] && [ -x "$b" ] && bins+=("$b"); done
fi
[ ${#bins[@]} -gt 0 ] || { echo "valgrind.sh: no test binaries in $BUILD/tests" >&2; exit 2; }

passed=0
failed=0
for b in "${bins[@]}"; do
  name=$(basename "$b")
  log=$LOGS/$name.log
  # Tests find their data through paths compiled in; run from the build dir like ctest.
  (cd "$BUILD/tests" && "${VG[@]}" "$b") >"$log" 2>&1
  rc=$?
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
  p=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' <<<"$summary")
  f=$(sed -n 's/.* \([0-9]*\) failed$/\1/p' <<<"$summary")
  p=${p:-0}
  f=${f:-0}
  # A binary that died before its summary, or whose own process had errors, is one more failure.
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=$((f + 1)); fi
  passed=$((passed + p))
  failed=$((failed + f))
  errs=$(grep -cE '==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|Source and destination)|definitely lost in' "$log")
  if [ "$f" -eq 0 ]; then
    echo "ok   $name: $p passed under valgrind"
  else
    echo "FAIL $name: $p passed, $f failed, $errs valgrind error reports; log $log"
    grep -E '^FAIL ' "$log" | sed 's/^/       /'
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
