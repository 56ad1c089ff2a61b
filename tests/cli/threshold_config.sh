#!/usr/bin/env bash
# --threshold larger than the number of pinned keys can never be met: it is a
# configuration error (exit 2, one line that says why), for every command that
# takes it, not "manifest rejected". Keys are counted, not files.
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
K=$T/keys
sw_release "$T/rel" hello-1.0.tar.gz 20000
sw_signed_manifest "$T/m"
ONE=(--trusted-key "$K/trusted.asc" --product hello --threshold 2)
WHY="--threshold 2 needs at least 2 trusted keys, but --trusted-key gives 1 key$"

# one_line NAME CODE PATTERN -- command...: like expect, and the output is exactly one line.
one_line() {
  local name=$1 code=$2 pat=$3 out rc=0
  shift 4
  out=$("$@" 2>&1) || rc=$?
  if [ "$rc" -eq "$code" ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -qE -- "$pat" <<<"$out"; then
    echo "ok   $name"; PASS=$((PASS + 1))
  else
    echo "FAIL $name: exit $rc (expected $code)"; sed 's/^/   | /' <<<"$out" | tail -6; FAIL=$((FAIL + 1))
  fi
}

one_line check_threshold_above_key_count_is_a_configuration_error 2 "^swarmup check: .*$WHY" -- \
  "$SWARMUP" check --manifest "$T/m" "${ONE[@]}" --state-dir "$T/st1"
ok refused_threshold_records_nothing test ! -e "$T/st1/hello"
one_line verify_threshold_above_key_count_is_a_configuration_error 2 "^swarmup verify: .*$WHY" -- \
  "$SWARMUP" verify --manifest "$T/m" "${ONE[@]}" "$T/rel/hello-1.0.tar.gz"
one_line fetch_threshold_above_key_count_is_a_configuration_error 2 "^swarmup fetch: .*$WHY" -- \
  "$SWARMUP" fetch --manifest "$T/m" "${ONE[@]}" --state-dir "$T/st2" --out "$T/out" --no-swarm
ok refused_fetch_created_no_out test ! -e "$T/out"
printf 'trusted-key = %s\nproduct = hello\nthreshold = 3\n' "$K/trusted.asc" >"$T/conf"
one_line threshold_from_config_file_is_checked_too 2 "--threshold 3 needs at least 3 trusted keys" -- \
  "$SWARMUP" check --config "$T/conf" --manifest "$T/m" --state-dir "$T/st3"
one_line json_reports_it_as_a_configuration_error 2 '"error":"CONFIG"' -- \
  "$SWARMUP" check --manifest "$T/m" "${ONE[@]}" --state-dir "$T/st4" --json
# Two keys in one file meet a threshold of 2 as a configuration; one signature is then a rejection.
cat "$K/trusted.asc" "$K/second.asc" >"$T/both.asc"
expect two_keys_in_one_file_allow_threshold_two 3 "1 distinct trusted signer, 2 required" -- \
  "$SWARMUP" check --manifest "$T/m" --trusted-key "$T/both.asc" --product hello --threshold 2 --state-dir "$T/st5"

sw_done
