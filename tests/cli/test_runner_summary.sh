#!/usr/bin/env bash
# tools/test.sh's counting (tools/testsum.sh), fed the outputs of real stages:
# ctest on a small project with passing, failing, skipped (exit 77) and missing
# tests, and tools/valgrind.sh on one unit test binary. The final line is the
# whole suite's, never the last stage's "N passed, 0 failed".
. "$(dirname "$0")/lib.sh" "$1"
# shellcheck disable=SC1091
. "$SW_SRC/tools/testsum.sh"

# --- ctest's own summary --------------------------------------------------------------
P=$T/proj
mkdir -p "$P"
cat >"$P/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.13)
project(t NONE)
enable_testing()
add_test(NAME ok1 COMMAND true)
add_test(NAME ok2 COMMAND true)
add_test(NAME ok3 COMMAND true)
add_test(NAME bad COMMAND false)
add_test(NAME skip COMMAND sh -c "exit 77")
set_tests_properties(skip PROPERTIES SKIP_RETURN_CODE 77)
add_test(NAME missing COMMAND /nonexistent/x)
CM
cmake -S "$P" -B "$P/b" >/dev/null
rc=0
(cd "$P/b" && ctest --output-on-failure) >"$T/ctest.out" 2>&1 || rc=$?
ok ctest_with_failures_exits_non_zero test "$rc" -ne 0
ok ctest_counts_passed_failed_skipped test "$(sw_sum_ctest "$T/ctest.out")" = "3 2 1"
cat >"$P/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.13)
project(t NONE)
enable_testing()
add_test(NAME ok1 COMMAND true)
add_test(NAME skip COMMAND sh -c "exit 77")
set_tests_properties(skip PROPERTIES SKIP_RETURN_CODE 77)
CM
cmake -S "$P" -B "$P/b" >/dev/null
(cd "$P/b" && ctest --output-on-failure) >"$T/ctest-ok.out" 2>&1
ok skipped_test_is_not_counted_as_passed test "$(sw_sum_ctest "$T/ctest-ok.out")" = "1 0 1"
printf 'Errors while building\n' >"$T/nosummary.out"
ok output_without_summary_counts_nothing test "$(sw_sum_ctest "$T/nosummary.out")" = "0 0 0"

# --- "P passed, F failed" stages (fuzz.sh, valgrind.sh) -------------------------------------
if command -v valgrind >/dev/null && ! grep -qE 'SW_(SANITIZE|FUZZ):BOOL=ON' "$SW_BUILD/CMakeCache.txt"; then
  bash "$SW_SRC/tools/valgrind.sh" "$SW_BUILD" test_magnet >"$T/vg.out" 2>&1
  n=$(grep -c '^SW_TEST(' "$SW_SRC/tests/test_magnet.c")
  ok valgrind_stage_counts_its_tests test "$(sw_sum_plain "$T/vg.out")" = "$n 0 0"
else
  # Under a sanitizer build valgrind.sh refuses to run (exit 2, no counts): one failure.
  rc=0
  bash "$SW_SRC/tools/valgrind.sh" "$SW_BUILD" test_magnet >"$T/vg.out" 2>&1 || rc=$?
  ok valgrind_refusal_is_exit_2 test "$rc" = 2
fi
printf 'ok   fuzz_manifest: ...\nFAIL fuzz_keys: crash\n9 passed, 1 failed\n' >"$T/fuzz.out"
ok plain_summary_takes_the_last_counts test "$(sw_sum_plain "$T/fuzz.out")" = "9 1 0"

# --- stages and the final line ---------------------------------------------------------------
frc=0
(
  SW_SUM_STAGES=() SW_SUM_SKIPPED=()
  sw_sum_record ctest ctest 0 "$T/ctest-ok.out"
  sw_sum_record ctest-asan ctest 8 "$T/ctest.out"
  SW_SUM_SKIPPED+=(fuzz)
  sw_sum_record valgrind plain 0 "$T/vg.out"
  sw_sum_final
) >"$T/final.out" || frc=$?
last=$(tail -1 "$T/final.out")
ok final_line_is_the_whole_suites grep -qE '^== whole suite FAILED: [0-9]+ passed, 2 failed, 2 skipped \(ctest 1/2; ctest-asan 3/6; valgrind [0-9]+/[0-9]+; fuzz not run\)$' <<<"$last"
not_a_stage_count() { ! grep -qE '^[0-9]+ passed, [0-9]+ failed$' <<<"$1"; }
ok final_line_is_not_a_stage_count not_a_stage_count "$last"
ok a_failed_stage_makes_the_suite_fail test "$frc" -ne 0
ok each_stage_prints_its_counts grep -qx -- "-- ctest-asan: 3 passed, 2 failed, 1 skipped (exit 8)" "$T/final.out"
(
  SW_SUM_STAGES=() SW_SUM_SKIPPED=()
  sw_sum_record ctest ctest 2 "$T/nosummary.out" >/dev/null
  sw_sum_final
) >"$T/died.out" || true
ok stage_that_died_without_counts_is_one_failure grep -q "^== whole suite FAILED: 0 passed, 1 failed" "$T/died.out"
rc=0
(SW_SUM_STAGES=("ctest 40 0 2" "valgrind 200 0 0") SW_SUM_SKIPPED=(); sw_sum_final) >"$T/pass.out" || rc=$?
ok all_passing_suite_passes test "$rc" = 0
ok passing_line_adds_every_stage grep -qx "== whole suite PASSED: 240 passed, 0 failed, 2 skipped (ctest 40/42; valgrind 200/200)" "$T/pass.out"
# No line of ours may look like a skip to tools/fresh.sh's check.
ok summary_lines_do_not_look_like_a_skipped_test sh -c "! grep -qE '\\*\\*\\*Skipped|^SKIP ' '$T/final.out' '$T/pass.out'"

# --- test.sh itself: a header per stage, and the final line is its last word ---------------
ok test_sh_prints_a_header_per_stage grep -q 'echo "== stage $I/$N: $name' "$SW_SRC/tools/test.sh"
ok test_sh_ends_with_the_suite_line test "$(grep -v '^\s*$' "$SW_SRC/tools/test.sh" | tail -1)" = sw_sum_final
ok test_sh_parses bash -n "$SW_SRC/tools/test.sh"

sw_done
