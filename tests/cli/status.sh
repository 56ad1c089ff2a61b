#!/usr/bin/env bash
# swarmup status: what a state dir records, read-only: a state dir that does not
# exist yet, an empty one, after a fetch (installed, accepted, last check, valid
# until, store size), after the accepted manifest expired (stale, exit 6, with
# faketime as in attack_clock.sh), a corrupt state file (exit 1) and an unsafe
# state dir (exit 2), the key statement in use. --json is parsed with python3. The seeder's record
# (seeding, uploaded, ratio) is tested in handover.sh.
. "$(dirname "$0")/lib.sh" "$1"

command -v faketime >/dev/null || { echo "status.sh needs faketime (tools/bootstrap.sh installs it)"; exit 1; }
sw_keys
K=$T/keys
at() {
  local off=$1
  shift
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$off" "$@"
}
# js FILE PYTHON-EXPR: evaluate EXPR with `ch` (the channel objects), `rel` (the
# release objects) and `su` (the summary) from the --json output in FILE.
js() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ch = [o for o in objs if o["type"] == "channel"]
rel = [o for o in objs if o["type"] == "release"]
su = [o for o in objs if o["type"] == "summary"]
assert len(su) == 1 and objs[-1] is su[0], "one summary, last"
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
PY
}
st() { "$SWARMUP" status "$@"; }

# --- nothing yet ---------------------------------------------------------------------
expect missing_state_dir_is_not_an_error 0 "does not exist yet" -- st --state-dir "$T/none"
st --state-dir "$T/none" --json >"$T/j0" || true
ok missing_state_dir_json_says_so js "$T/j0" 'su[0]["exists"] is False and su[0]["channels"] == 0 and su[0]["exit"] == 0'
ok status_does_not_create_the_state_dir test ! -e "$T/none"
mkdir -m 700 "$T/empty"
expect empty_state_dir_has_no_channels 0 "no product checked yet" -- st --state-dir "$T/empty"
ok status_takes_no_lock_and_writes_nothing test -z "$(ls -A "$T/empty")"

# --- after a fetch -----------------------------------------------------------------
sw_release "$T/rel" hello-1.0.tar.gz 300000
N=$T/ng
mkdir -p "$N/www" "$N/extra"
cp "$T/rel/hello-1.0.tar.gz" "$N/www/"
sw_nginx "$N"
EXP=$(sw_days 30)
sw_signed_manifest "$T/m1" "Fallback=$U/hello-1.0.tar.gz" "Expires=$EXP"
S=$T/s
expect fetch_installs_release 0 "" -- "$SWARMUP" fetch --manifest "$T/m1" --trusted-key "$K/trusted.asc" \
  --product hello --state-dir "$S" --out "$T/out" --ca-file "$N/ca.pem" --no-swarm --seed-time 0
before=$(cd "$S" && find . -type f -exec sha256sum {} + | sort)
expect status_after_fetch_shows_installed_release 0 "installed +1\.0 \(sequence 10\)" -- st --state-dir "$S"
expect status_shows_valid_until_the_expires 0 "valid until $EXP" -- st --state-dir "$S"
expect status_shows_no_key_statement_with_pinned_keys 0 "no key statement" -- st --state-dir "$S"
st --state-dir "$S" --json >"$T/j1"
ok json_channel_after_fetch js "$T/j1" 'len(ch) == 1 and ch[0]["product"] == "hello" and ch[0]["channel"] == "stable"
  and ch[0]["installed_sequence"] == 10 and ch[0]["installed_version"] == "1.0" and ch[0]["sequence"] == 10
  and ch[0]["stale"] is False and ch[0]["valid_until"] == "'"$EXP"'" and ch[0]["last_check"] is not None
  and ch[0]["keys_version"] is None and ch[0]["seeder"] == "none" and su[0]["exit"] == 0'
ok json_store_size_counts_the_release js "$T/j1" 'ch[0]["store_releases"] == 1 and ch[0]["store_bytes"] >= 300000'
expect status_filters_by_product 0 "no product checked yet" -- st --state-dir "$S" --product other
expect status_refuses_a_bad_name 2 "take names" -- st --state-dir "$S" --product ../x
after=$(cd "$S" && find . -type f -exec sha256sum {} + | sort)
ok status_leaves_the_state_dir_unchanged test "$before" = "$after"

# --- the key statement in use ---------------------------------------------------------
# A statement written by hand and signed with plain gpg (as in keys_chain.sh), Version 3.
{
  printf 'Format: swarmup-keys/1\nProduct: hello\nVersion: 3\nDate: %s\nExpires: %s\nThreshold: 1\nKey: %s\n' \
    "$(sw_now)" "$(sw_days 365)" "$A_FPR"
  printf 'Keyring: %s\n' "$(gpg --batch --export "$A_FPR" | base64 -w0)"
} >"$T/3.keys"
gpg --batch --yes --quiet --sig-notation purpose@swarmup=keys -u "$A_FPR!" --detach-sign -o "$T/3.keys.sig" "$T/3.keys"
# (check's exit code for "update available" is 0 before issue 14's paper cuts, 100 after.)
"$SWARMUP" check --manifest "$T/m1" --trusted-keys "$T/3.keys" --product hello --state-dir "$T/sk" >"$T/ck.log" 2>&1 || true
ok check_with_a_key_statement_accepts grep -q "update available" "$T/ck.log"
expect status_names_the_key_statement 0 "key statement 3" -- st --state-dir "$T/sk"
st --state-dir "$T/sk" --json >"$T/jk"
ok json_keys_version js "$T/jk" 'ch[0]["keys_version"] == 3 and ch[0]["installed_sequence"] == 0 and ch[0]["accepted"]'

# --- stale: the accepted manifest has expired ------------------------------------------
expect status_forty_days_later_is_stale 6 "expired at $EXP: STALE" -- at +40d "$SWARMUP" status --state-dir "$S"
at +40d "$SWARMUP" status --state-dir "$S" --json >"$T/j2" || true
ok json_stale_channel js "$T/j2" 'ch[0]["stale"] is True and su[0]["stale"] == 1 and su[0]["exit"] == 6'
expect max_validity_makes_it_stale_sooner 6 "STALE" -- at +2d "$SWARMUP" status --state-dir "$S" --max-validity 86400
expect still_fresh_a_day_later 0 "valid until" -- at +1d "$SWARMUP" status --state-dir "$S"
after=$(cd "$S" && find . -type f -exec sha256sum {} + | sort)
ok stale_status_records_nothing test "$before" = "$after"

# --- broken and unsafe state -------------------------------------------------------
cp -a "$S" "$T/bad"
sw_flip "$T/bad/hello/stable/state" 40
expect corrupt_state_file_is_exit_1 1 "corrupt" -- st --state-dir "$T/bad"
st --state-dir "$T/bad" --json >"$T/j3" || true
ok json_corrupt_channel_has_error js "$T/j3" 'ch[0]["error"] == "STATE_CORRUPT" and su[0]["errors"] == 1 and su[0]["exit"] == 1'
rm "$T/bad/hello/stable/state"
expect missing_state_file_listed_in_known_is_exit_1 1 "missing" -- st --state-dir "$T/bad"
cp -a "$S" "$T/open"
chmod g+w "$T/open"
expect group_writable_state_dir_is_refused 2 "unsafe directory" -- st --state-dir "$T/open"
chmod g-w "$T/open"
ln -s "$T/s/hello/stable" "$T/open/hello/beta"
st --state-dir "$T/open" >"$T/open.out"
ok symlinked_channel_is_not_followed sh -c "grep -q '^hello/stable' '$T/open.out' && ! grep -q beta '$T/open.out'"
expect status_has_help 0 "usage: swarmup status" -- "$SWARMUP" help status
sw_done
