#!/usr/bin/env bash
# `swarmup check` tells "update available" (exit 100, as dnf check-update) from
# "up to date" (exit 0) by its exit status alone, in text and --json; the
# release is installed over HTTPS from a real nginx in between.
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
K=$T/keys
sw_release "$T/rel" hello-1.0.tar.gz 300000
N=$T/nginx
mkdir -p "$N/www"
cp "$T/rel/hello-1.0.tar.gz" "$N/www/"
sw_nginx "$N"
sw_signed_manifest "$T/m10" "Fallback=$U/hello-1.0.tar.gz"
C=(--trusted-key "$K/trusted.asc" --product hello --state-dir "$T/st" --ca-file "$N/ca.pem")

expect check_with_nothing_installed_exits_100 100 "^update available: hello 1.0 \(sequence 10" -- \
  "$SWARMUP" check --manifest "$T/m10" "${C[@]}"
expect check_json_update_available_exits_100 100 '"status":"update-available"' -- \
  "$SWARMUP" check --manifest "$T/m10" "${C[@]}" --json
expect fetch_installs_the_release 0 "installed" -- \
  "$SWARMUP" fetch --manifest "$T/m10" "${C[@]}" --out "$T/out" --no-swarm --seed-time 0
expect check_after_install_is_up_to_date_exit_0 0 "^up to date: hello 1.0 \(sequence 10\)" -- \
  "$SWARMUP" check --manifest "$T/m10" "${C[@]}"
expect check_json_up_to_date_exits_0 0 '"status":"up-to-date"' -- \
  "$SWARMUP" check --manifest "$T/m10" "${C[@]}" --json
sw_signed_manifest "$T/m11" Sequence=11 Version=1.1 "Fallback=$U/hello-1.0.tar.gz"
expect newer_release_exits_100_again 100 "^update available: hello 1.1" -- \
  "$SWARMUP" check --manifest "$T/m11" "${C[@]}"
# A rejection keeps its own code: a script's `case $?` never mistakes it for either.
sw_signed_manifest "$T/m9" Sequence=9 "Fallback=$U/hello-1.0.tar.gz"
expect rollback_is_3_not_0_or_100 3 "rollback" -- "$SWARMUP" check --manifest "$T/m9" "${C[@]}"
expect help_documents_exit_100 0 "100 update available" -- "$SWARMUP" check --help

# -q: the exit status is the whole answer; -v: the details.
expect quiet_check_says_nothing_and_exits_100 100 "" -- "$SWARMUP" check -q --manifest "$T/m11" "${C[@]}"
out=$("$SWARMUP" check -q --manifest "$T/m11" "${C[@]}" 2>&1) || true
ok quiet_check_output_is_empty test -z "$out"
expect quiet_check_still_reports_a_rejection 3 "rollback" -- "$SWARMUP" check -q --manifest "$T/m9" "${C[@]}"
expect verbose_check_names_the_signer 100 "signed by $A_FPR" -- "$SWARMUP" check -v --manifest "$T/m11" "${C[@]}"
expect verbose_check_names_the_installed_release 100 "installed: 1.0 \(sequence 10\)" -- \
  "$SWARMUP" check --verbose --manifest "$T/m11" "${C[@]}"
expect quiet_and_verbose_exclude_each_other 2 "exclude each other" -- "$SWARMUP" check -q -v --manifest "$T/m11" "${C[@]}"
out=$("$SWARMUP" verify -q --manifest "$T/m10" --trusted-key "$K/trusted.asc" --product hello "$T/rel/hello-1.0.tar.gz" 2>&1) || true
ok quiet_verify_of_a_good_file_prints_nothing test -z "$out"
printf 'quiet = true\nmax-clock-skew = 2h\n' >"$T/q.conf"
expect quiet_and_a_duration_from_the_config_file 100 "" -- \
  "$SWARMUP" check --config "$T/q.conf" --manifest "$T/m11" "${C[@]}"
expect duration_with_unknown_unit_is_a_usage_error 2 'max-clock-skew: "1y": unknown unit' -- \
  "$SWARMUP" check --max-clock-skew 1y --manifest "$T/m11" "${C[@]}"

sw_done
