#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...] - build the libFuzzer targets (clang, ASan +
# UBSan, build-fuzz/) and run each for SECONDS (default 60) on a scratch copy
# of its seed corpus tests/fuzz/corpus/TARGET (the repository's corpus is
# never modified). TARGET is manifest, keys, magnet, config, torrent, state, sigpkt,
# pgp_diff, resume or http_range (default: all). A crash, leak, timeout or out-of-memory
# fails the target; its input is kept in build-fuzz/fuzz-artifacts/TARGET/. One summary line per
# target, then "N passed, N failed". Exit status 0 only if all passed.
# Environment: SW_FUZZ_BUILD (build dir, default build-fuzz), SW_FUZZ_ARGS
# (more libFuzzer flags, e.g. "-jobs=2 -workers=2" or "-dict=FILE").
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER=${1:-60}
shift || true
case "$SECONDS_PER" in '' | *[!0-9]*) echo "usage: fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(manifest keys magnet config torrent state sigpkt pgp_diff resume http_range)
BUILD=${SW_FUZZ_BUILD:-$SRC/build-fuzz}

# Largest input worth trying per target: a little over the parser's own limit,
# so the "over the limit" path is reached too.
max_len() {
  case "$1" in
    manifest) echo 70000 ;;  # SW_MANIFEST_MAX 65536
    keys) echo 70000 ;;      # SW_KEYS_STMT_MAX 65536
    magnet) echo 8192 ;;     # one manifest line, SW_MANIFEST_LINE_MAX 4096
    config) echo 70000 ;;    # SW_CONFIG_MAX 65536
    torrent) echo 65536 ;;   # single-file torrents are small; libtorrent's decoder is the cost
    state) echo 8400 ;;      # SW_STATE_MAX 8192
    sigpkt) echo 66000 ;;    # 8 size bytes + SW_MANIFEST_SIG_MAX 65536
    http_range) echo 300 ;;  # 18 bytes of range and status + SW_CONTENT_RANGE_MAX 256
    pgp_diff) echo 2048 ;;   # the mutator's choices; a mutant takes a few dozen bytes
    resume) echo 65536 ;;    # our resume files are ~1 KiB (the 64 MiB cap is for the disk read)
    *) echo "fuzz.sh: unknown target $1" >&2; exit 2 ;;
  esac
}
for t in "${TARGETS[@]}"; do max_len "$t" >/dev/null; done

# clang and its sanitizer/libFuzzer runtimes (Debian 12: clang-14).
# shellcheck disable=SC1091
. "$SRC/tools/apt.sh"
sw_apt_install fuzz.sh clang libclang-rt-14-dev

# -O2 -g: fast enough to fuzz, symbols for the stacks. The library dependencies
# come from tools/bootstrap.sh (run it once on a fresh machine).
if ! CC=clang CXX=clang++ cmake -S "$SRC" -B "$BUILD" -DSW_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null; then
  echo "fuzz.sh: cmake failed (on a fresh machine run tools/bootstrap.sh first)" >&2
  exit 1
fi
cmake --build "$BUILD" -j"$(nproc)" --target fuzz_all >/dev/null

# Sanitizer reports are findings: stop at the first one. Leak checking is on
# by default in libFuzzer (-detect_leaks=1).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

WORK=$(mktemp -d /tmp/swfuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0
for t in "${TARGETS[@]}"; do
  bin=$BUILD/tests/fuzz/fuzz_$t
  corpus=$WORK/$t
  arts=$BUILD/fuzz-artifacts/$t
  log=$BUILD/fuzz-artifacts/$t.log
  mkdir -p "$corpus" "$arts"
  [ -d "$SRC/tests/fuzz/corpus/$t" ] && cp -r "$SRC/tests/fuzz/corpus/$t/." "$corpus/"
  dict=()
  [ -f "$SRC/tests/fuzz/corpus/$t.dict" ] && dict=(-dict="$SRC/tests/fuzz/corpus/$t.dict")
  rc=0
  # shellcheck disable=SC2086 # SW_FUZZ_ARGS is a list of flags
  "$bin" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
    -print_final_stats=1 -artifact_prefix="$arts/" "${dict[@]}" ${SW_FUZZ_ARGS:-} "$corpus" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  units=$(find "$corpus" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    echo "ok   fuzz_$t: ${execs:-?} execs (${rate:-?}/s) in ${SECONDS_PER}s, cov ${cov:-?}, ft ${ft:-?}, corpus $units"
  else
    failed=$((failed + 1))
    what=$(grep -m1 -oE 'check failed: .*|ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer): [^ ]*( [^ ]*)?|runtime error: .*|timeout after [0-9]+ seconds|out-of-memory' "$log" || echo "exit $rc")
    input=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
    echo "FAIL fuzz_$t: $what; input ${input:-in $arts/}; log $log"
    # What the target printed about it (a finding's mutant, a sanitizer's stack) and the
    # input in base64: a CI run's build directory is gone afterwards, its output is not.
    grep -m1 -A30 -E 'FINDING|==[0-9]+==ERROR|runtime error' "$log" | head -40 | sed 's/^/   | /' || true
    [ -n "$input" ] && [ -f "$input" ] && echo "   input (base64): $(base64 -w0 "$input" | head -c 8000)"
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
