# testsum.sh - the counting behind tools/test.sh's stage headers and its final
# line (sourced, not run; tests/cli/test_runner_summary.sh feeds it real outputs).
#
# Each stage's output is read for its own summary:
#   ctest:           "N% tests passed, F tests failed out of T", skipped tests
#                    ("***Skipped", exit 77) taken out of the passed ones;
#   fuzz, valgrind:  the last "P passed, F failed" line.
# A stage that failed (non-zero exit) without a failure in its summary (it died
# before printing one, or its build failed) counts one failure more, so that
# the final line can never read as a pass when a stage did not.

SW_SUM_STAGES=()   # "NAME P F S" per stage run
SW_SUM_SKIPPED=()  # names of stages skipped by SW_SKIP_*

# sw_sum_ctest LOG: print "P F S" from a ctest output (0 0 0 if it has no summary).
sw_sum_ctest() {
  local line total failed skipped
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+$' "$1" | tail -1 || true)
  if [ -z "$line" ]; then echo "0 0 0"; return 0; fi
  total=${line##* out of }
  failed=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
  skipped=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*Skipped' "$1" || true)
  echo "$((total - failed - skipped)) $failed $skipped"
}

# sw_sum_plain LOG: print "P F 0" from the last "P passed, F failed" line (0 0 0 if none).
sw_sum_plain() {
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -1 || true)
  if [ -z "$line" ]; then echo "0 0 0"; return 0; fi
  echo "${line%% passed*} $(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line") 0"
}

# sw_sum_record NAME KIND RC LOG: count stage NAME's output LOG (KIND ctest or plain)
# that exited RC; print the stage's own one-line result.
sw_sum_record() {
  local name=$1 kind=$2 rc=$3 log=$4 p f s
  if [ "$kind" = ctest ]; then read -r p f s < <(sw_sum_ctest "$log"); else read -r p f s < <(sw_sum_plain "$log"); fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  SW_SUM_STAGES+=("$name $p $f $s")
  echo "-- $name: $p passed, $f failed, $s skipped$([ "$rc" -ne 0 ] && echo " (exit $rc)")"
}

# sw_sum_final: print the whole suite's line; return 0 only if nothing failed
# and at least one test passed.
sw_sum_final() {
  local st name p f s tp=0 tf=0 ts=0 parts=() verdict
  for st in "${SW_SUM_STAGES[@]+"${SW_SUM_STAGES[@]}"}"; do
    read -r name p f s <<<"$st"
    tp=$((tp + p)); tf=$((tf + f)); ts=$((ts + s))
    parts+=("$name $p/$((p + f + s))")
  done
  for name in "${SW_SUM_SKIPPED[@]+"${SW_SUM_SKIPPED[@]}"}"; do parts+=("$name not run"); done
  if [ "$tf" -eq 0 ] && [ "$tp" -gt 0 ]; then verdict=PASSED; else verdict=FAILED; fi
  local joined="" part
  for part in "${parts[@]+"${parts[@]}"}"; do joined+="${joined:+; }$part"; done
  echo "== whole suite $verdict: $tp passed, $tf failed, $ts skipped ($joined)"
  [ "$verdict" = PASSED ]
}
