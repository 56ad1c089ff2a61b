#!/usr/bin/env bash
# Freezes and clock rollback (issue 10, section 5): a withheld or expired
# manifest is reported as "stale" (exit 6, with since-when and valid-until),
# not as an outage; a clock set back before the latest known time (minus
# --max-clock-skew) is a clear error (exit 7), never a way around Expires;
# --max-validity caps a long Expires; a version 1 state file is migrated.
# The clock is moved with faketime (libfaketime, LD_PRELOAD): the binary under
# test has no clock hook of its own. Keys and signatures are made at the real
# time and the client is only ever run at the real time or later, so gpg never
# sees a key or signature from its future; "set back" means: a run at the real
# time after a run at a later fake time. Everything on 127.0.0.1.
. "$(dirname "$0")/lib.sh" "$1"

command -v faketime >/dev/null || { echo "attack_clock.sh needs faketime (tools/bootstrap.sh installs it)"; exit 1; }
sw_keys
K=$T/keys
sw_release "$T/rel" hello-1.0.tar.gz 50000
CK=(--trusted-key "$K/trusted.asc" --product hello)
# at OFFSET CMD...: run CMD with the clock moved by OFFSET (libfaketime syntax, e.g. +2d).
# The monotonic clock is left alone: libuv's timers keep working. In an ASan build the
# preloaded libfaketime comes before the ASan runtime, which ASan accepts only when told.
at() {
  local off=$1
  shift
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$off" "$@"
}
chk() { "$SWARMUP" check "${CK[@]}" "$@"; }
field() { sed -n "s/^$1 //p" "$2"; } # field NAME STATEFILE
epoch() { date -u -d "$1" +%s; }

# --- a clock set back does not revive an expired manifest -------------------------
sw_signed_manifest "$T/m1" "Date=$(sw_days 0)" "Expires=$(sw_days 1)"
S=$T/s1
expect accepted_while_valid 100 "update available" -- chk --manifest "$T/m1" --state-dir "$S"
expect expired_two_days_later_is_stale 6 "no fresh manifest since .*expired at" -- \
  at +2d "$SWARMUP" check "${CK[@]}" --manifest "$T/m1" --state-dir "$S"
expect clock_set_back_does_not_revive_an_expired_manifest 7 \
  "clock .* is behind the latest known time .* set back" -- chk --manifest "$T/m1" --state-dir "$S"
expect clock_set_back_is_refused_by_fetch_too 7 "set back" -- \
  "$SWARMUP" fetch "${CK[@]}" --manifest "$T/m1" --state-dir "$S" --out "$T/out1" --no-swarm --seed-time 0
ok clock_set_back_installs_nothing test ! -e "$T/out1/hello-1.0.tar.gz"

# --- the latest known time only moves forward --------------------------------------
sw_signed_manifest "$T/m2" "Date=$(sw_days 0)" "Expires=$(sw_days 30)"
S=$T/s2
F2=$S/hello/stable/state
expect check_at_real_time 100 "" -- chk --manifest "$T/m2" --state-dir "$S"
t0=$(epoch "$(field latest-known-time "$F2")" 2>/dev/null || echo 0)
ok latest_known_time_is_recorded test "$t0" -ge $(( $(date +%s) - 120 ))
expect check_ten_days_later 100 "" -- at +10d "$SWARMUP" check "${CK[@]}" --manifest "$T/m2" --state-dir "$S"
t1=$(epoch "$(field latest-known-time "$F2")" 2>/dev/null || echo 0)
ok latest_known_time_moved_with_the_clock test "$t1" -ge $(( t0 + 10 * 86400 - 120 ))
ok last_check_is_recorded test "$(field last-check "$F2")" = "$(field latest-known-time "$F2")"
expect latest_known_time_only_moves_forward 7 "is behind the latest known time" -- \
  chk --manifest "$T/m2" --state-dir "$S"
t2=$(epoch "$(field latest-known-time "$F2")" 2>/dev/null || echo 0)
ok refused_clock_leaves_latest_known_time test "$t2" = "$t1"
# Within --max-clock-skew behind it is accepted, and the latest known time stays put.
expect clock_within_skew_behind_is_accepted 100 "" -- \
  at +$((10 * 86400 - 1800)) "$SWARMUP" check "${CK[@]}" --manifest "$T/m2" --state-dir "$S"
t3=$(epoch "$(field latest-known-time "$F2")" 2>/dev/null || echo 0)
ok latest_known_time_never_moves_back test "$t3" = "$t1"
expect larger_skew_allows_a_larger_step_back 100 "" -- \
  chk --manifest "$T/m2" --state-dir "$S" --max-clock-skew 1000000

# --- a withheld manifest is reported stale, not as an outage -----------------------
N=$T/nginx
mkdir -p "$N/www"
sw_nginx "$N"
sw_signed_manifest "$N/www/hello.manifest" "Date=$(sw_days 0)" "Expires=$(sw_days 7)"
E7=$(sed -n 's/^Expires: //p' "$N/www/hello.manifest")
S=$T/s3
R=(--manifest "$U/hello.manifest" --ca-file "$N/ca.pem" --state-dir "$S")
expect good_check_over_https 100 "update available" -- chk "${R[@]}"
LC=$(field last-check "$S/hello/stable/state")
mv "$N/www/hello.manifest" "$N/www/withheld"
expect withheld_manifest_is_reported_stale_not_as_an_outage 6 \
  "stale: no fresh manifest since $LC .*HTTP 404.*sequence 10 .*valid until $E7" -- chk "${R[@]}"
out=$(chk "${R[@]}" --json 2>&1) || true
ok withheld_json_status_is_stale grep -q '"status":"stale"' <<<"$out"
ok withheld_json_says_since_when grep -q "\"no_fresh_since\":\"$LC\"" <<<"$out"
ok withheld_json_says_valid_until grep -q "\"valid_until\":\"$E7\"" <<<"$out"
ok withheld_json_says_not_expired grep -q '"expired":false' <<<"$out"
ok withheld_json_exit_is_6 grep -q '"exit":6' <<<"$out"
expect withheld_manifest_fetch_is_stale 6 "stale: no fresh manifest since $LC" -- \
  "$SWARMUP" fetch "${CK[@]}" "${R[@]}" --out "$T/out3" --no-swarm --seed-time 0
out=$("$SWARMUP" fetch "${CK[@]}" "${R[@]}" --out "$T/out3" --no-swarm --seed-time 0 --json 2>&1) || true
ok withheld_fetch_json_status_is_stale grep -q '"status":"stale".*"valid_until":"'"$E7"'"' <<<"$out"
expect unknown_product_404_is_still_an_outage 4 "HTTP 404" -- chk "${R[@]/$S/$T/s3-empty}"
mv "$N/www/withheld" "$N/www/hello.manifest"
expect manifest_back_is_fresh_again 100 "" -- chk "${R[@]}"

# --- the accepted manifest has expired ----------------------------------------------
S=$T/s4
sw_signed_manifest "$T/m4" "Date=$(sw_days 0)" "Expires=$(sw_days 1)"
E1=$(sed -n 's/^Expires: //p' "$T/m4")
expect accepted_before_expiry 100 "" -- chk --manifest "$T/m4" --state-dir "$S"
expect expired_accepted_manifest_is_reported_stale 6 "stale: .*manifest expired at $E1" -- \
  at +3d "$SWARMUP" check "${CK[@]}" --manifest "$T/m4" --state-dir "$S"
out=$(at +3d "$SWARMUP" check "${CK[@]}" --manifest "$T/m4" --state-dir "$S" --json 2>&1) || true
ok expired_json_status_is_stale grep -q '"status":"stale"' <<<"$out"
ok expired_json_says_expired grep -q '"expired":true' <<<"$out"
ok expired_json_says_valid_until grep -q "\"valid_until\":\"$E1\"" <<<"$out"
expect expired_accepted_manifest_fetch_is_stale 6 "stale: " -- \
  at +3d "$SWARMUP" fetch "${CK[@]}" --manifest "$T/m4" --state-dir "$S" --out "$T/out4" --no-swarm --seed-time 0
ok expired_fetch_installs_nothing test ! -e "$T/out4/hello-1.0.tar.gz"
# An expired *other* manifest next to a still valid accepted one is a plain rejection (exit 3).
sw_signed_manifest "$T/m4b" Sequence=11 "Date=$(sw_days 0)" "Expires=$(sw_days 1)"
expect accepted_valid_for_a_month 100 "" -- chk --manifest "$T/m2" --state-dir "$T/s4b"
expect expired_other_manifest_beside_a_valid_one_is_a_rejection 3 "manifest rejected: manifest expired" -- \
  at +3d "$SWARMUP" check "${CK[@]}" --manifest "$T/m4b" --state-dir "$T/s4b"
# Without any accepted manifest, an expired one is a plain rejection (exit 3), as before.
expect expired_without_state_is_a_rejection 3 "manifest rejected: manifest expired" -- \
  at +3d "$SWARMUP" check "${CK[@]}" --manifest "$T/m4" --state-dir "$T/s4-empty"

# --- --max-validity caps a long Expires ----------------------------------------------
sw_signed_manifest "$T/m5" "Date=$(sw_days -2)" "Expires=$(sw_days 365)"
expect max_validity_caps_a_long_expiry 3 "manifest rejected: .*--max-validity 86400 s" -- \
  chk --manifest "$T/m5" --state-dir "$T/s5" --max-validity 86400
ok max_validity_refusal_leaves_no_state test ! -e "$T/s5/hello/stable/state"
expect max_validity_longer_than_age_accepts 100 "update available" -- \
  chk --manifest "$T/m5" --state-dir "$T/s5" --max-validity 604800
printf 'max-validity = 86400\n' >"$T/cfg"
expect max_validity_from_config_turns_it_stale 6 "stale: .*--max-validity" -- \
  chk --manifest "$T/m5" --state-dir "$T/s5" --config "$T/cfg"

# --- an old (version 1) state file is migrated ---------------------------------------
sw_signed_manifest "$T/m6" Sequence=10
S=$T/s6
mkdir -p "$S/hello/stable"
chmod 700 "$S" "$S/hello" "$S/hello/stable"
H6=$(sha256sum "$T/m6" | cut -d' ' -f1)
body="swarmup-state 1
product hello
channel stable
sequence 10
date $(sed -n 's/^Date: //p' "$T/m6")
manifest-sha256 $H6
version 1.0
installed-sequence 0
installed-version 
"
printf '%schecksum %s\n' "$body" "$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)" >"$S/hello/stable/state"
chmod 600 "$S/hello/stable/state"
expect old_state_file_is_migrated 100 "update available: hello 1.0 \(sequence 10" -- chk --manifest "$T/m6" --state-dir "$S"
ok migrated_state_is_version_3 test "$(head -1 "$S/hello/stable/state")" = "swarmup-state 3"
ok migrated_state_keeps_the_sequence grep -qx "sequence 10" "$S/hello/stable/state"
ok migrated_state_has_expires grep -qx "expires $(sed -n 's/^Expires: //p' "$T/m6")" "$S/hello/stable/state"
ok migrated_state_has_latest_known_time grep -q "^latest-known-time 2" "$S/hello/stable/state"
sw_signed_manifest "$T/m6old" Sequence=9
expect migrated_state_still_refuses_rollback 3 "rollback" -- chk --manifest "$T/m6old" --state-dir "$S"
# A version 1 file with a bad checksum is still corrupt, not migrated.
printf '%schecksum %064d\n' "$body" 0 >"$S/hello/stable/state"
expect corrupt_old_state_file_is_refused 1 "corrupt" -- chk --manifest "$T/m6" --state-dir "$S"

sw_done
