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

sw_done
