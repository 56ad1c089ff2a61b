#!/usr/bin/env bash
# Key statements on the client (docs/keys.md): --trusted-keys anchors the chain,
# --keys-url walks it (a local directory, and https:// from a real nginx), the
# accepted statements are kept in the state dir, and manifests are judged by the
# newest statement's Key and Threshold. Every statement here is written by hand
# (printf) and signed with plain gpg, as a third party would.
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
sw_release "$T/rel" hello-1.0.tar.gz 20000

# stmt OUT VERSION "KEY FPRS" "NEXT FPRS" [extra lines...]: a statement by hand.
# THR, NTHR, DATE, EXP and PROD override Threshold, Next-Threshold, Date, Expires, Product.
stmt() {
  local out=$1 ver=$2 keys=$3 next=$4 k l
  shift 4
  {
    printf 'Format: swarmup-keys/1\nProduct: %s\nVersion: %s\nDate: %s\nExpires: %s\nThreshold: %s\n' \
      "${PROD:-hello}" "$ver" "${DATE:-$(sw_now)}" "${EXP:-$(sw_days 365)}" "${THR:-1}"
    for k in $keys; do printf 'Key: %s\n' "$k"; done
    for k in $next; do printf 'Next: %s\n' "$k"; done
    if [ -n "$next" ]; then printf 'Next-Threshold: %s\n' "${NTHR:-1}"; fi
    for l in "$@"; do printf '%s\n' "$l"; done
    # shellcheck disable=SC2086
    printf 'Keyring: %s\n' "$(gpg --batch --export $keys $next | base64 -w0)"
  } >"$out"
}

# ssign FILE FPR...: FILE.sig, one signature packet per key, each saying it signs keys.
ssign() {
  local f=$1 k args=()
  shift
  for k in "$@"; do args+=(-u "$k!"); done
  gpg --batch --yes --quiet --sig-notation purpose@swarmup=keys "${args[@]}" --detach-sign -o "$f.sig" "$f"
}

# man OUT "FPRS" [manifest fields...]: a manifest signed by each key in FPRS.
man() {
  local out=$1 k args=()
  for k in $2; do args+=(-u "$k!"); done
  shift 2
  sw_manifest "$out" "$@"
  gpg --batch --yes --quiet --armor --sig-notation purpose@swarmup=manifest "${args[@]}" --detach-sign -o "$out.sig" "$out"
}

# chk DIR MANIFEST [args...]: swarmup check with DIR/1.keys as the anchor, DIR/url as
# --keys-url and DIR/st as the state dir.
chk() {
  local d=$1 m=$2
  shift 2
  "$SWARMUP" check --trusted-keys "$d/1.keys" --keys-url "$d/url" --state-dir "$d/st" --product hello \
    --manifest "$m" "$@"
}

# fault SPEC CMD...: CMD with the fsutil test hook SWARMUP_FAULT=SPEC (it kills itself).
fault() {
  local f=$1
  shift
  (export SWARMUP_FAULT=$f; "$@")
}

# case_dir NAME: a fresh DIR with DIR/url.
case_dir() { D=$T/$1; mkdir -p "$D/url"; }

# --- rotation --------------------------------------------------------------------
case_dir rot
stmt "$D/1.keys" 1 "$A_FPR" "$B_FPR"
ssign "$D/1.keys" "$A_FPR"
man "$D/a10" "$A_FPR" Sequence=10
expect anchor_alone_accepts_manifest_by_its_key 100 "update available" -- chk "$D" "$D/a10"
stmt "$D/url/2.keys" 2 "$B_FPR" "$E_FPR"
ssign "$D/url/2.keys" "$B_FPR"
man "$D/a11" "$A_FPR" Sequence=11
man "$D/b11" "$B_FPR" Sequence=11
expect rotation_to_precommitted_key_is_followed_a_refused 3 "manifest rejected: signature: signature by untrusted key" -- chk "$D" "$D/a11"
expect rotation_to_precommitted_key_is_followed_b_accepted 100 "update available: hello 1.0 \(sequence 11" -- \
  chk "$D" "$D/b11"
expect rotation_holds_without_keys_url 3 "manifest rejected: signature: signature by untrusted key" -- \
  "$SWARMUP" check --trusted-keys "$D/1.keys" --state-dir "$D/st" --product hello --manifest "$D/a11"
ok accepted_statements_are_kept_in_state_dir cmp -s "$D/url/2.keys" "$D/st/hello/_keys/2.keys"
ok accepted_statements_are_kept_with_signature cmp -s "$D/url/2.keys.sig" "$D/st/hello/_keys/2.keys.sig"
ok anchor_is_kept_in_state_dir cmp -s "$D/1.keys" "$D/st/hello/_keys/1.keys"
ok current_names_the_newest grep -qx "version 2" "$D/st/hello/_keys/current"
ok current_has_the_newest_sha256 grep -qx "sha256 $(sha256sum "$D/url/2.keys" | cut -d' ' -f1)" \
  "$D/st/hello/_keys/current"

# --- who may sign a statement -----------------------------------------------------
case_dir old
stmt "$D/1.keys" 1 "$A_FPR" "$B_FPR"
ssign "$D/1.keys" "$A_FPR"
stmt "$D/url/2.keys" 2 "$A_FPR" ""
ssign "$D/url/2.keys" "$A_FPR"
man "$D/a10" "$A_FPR" Sequence=10
expect statement_signed_by_old_key_alone_is_refused 3 "key statement 2 rejected" -- chk "$D" "$D/a10"
ok refused_statement_is_not_kept test ! -e "$D/st/hello/_keys/2.keys"

case_dir unknown
stmt "$D/1.keys" 1 "$A_FPR" "$B_FPR"
ssign "$D/1.keys" "$A_FPR"
stmt "$D/url/2.keys" 2 "$B_FPR" ""
ssign "$D/url/2.keys" "$B_FPR" "$E_FPR"
man "$D/a10" "$A_FPR" Sequence=10
# Our choice (docs/keys.md): a signer from neither Keyring rejects the statement,
# even with the thresholds met by the others.
expect statement_with_an_unknown_signer_is_refused 3 "key statement 2 rejected" -- chk "$D" "$D/a10"

case_dir skip
stmt "$D/1.keys" 1 "$A_FPR" ""
ssign "$D/1.keys" "$A_FPR"
# Statement 3 where 2 is asked for: the chain has no gap.
stmt "$D/url/2.keys" 3 "$A_FPR" ""
ssign "$D/url/2.keys" "$A_FPR"
man "$D/a10" "$A_FPR" Sequence=10
expect skipped_version_is_refused 3 "key statement .*rejected" -- chk "$D" "$D/a10"

case_dir big
stmt "$D/1.keys" 1 "$A_FPR" ""
ssign "$D/1.keys" "$A_FPR"
head -c 70000 /dev/zero | tr '\0' 'a' >"$D/url/2.keys"
ssign "$D/url/2.keys" "$A_FPR"
man "$D/a10" "$A_FPR" Sequence=10
expect oversize_statement_is_refused 3 "key statement 2 rejected: .*65536-byte limit" -- chk "$D" "$D/a10"

case_dir fork
stmt "$D/1.keys" 1 "$A_FPR" ""
ssign "$D/1.keys" "$A_FPR"
stmt "$D/url/2.keys" 2 "$A_FPR" ""
ssign "$D/url/2.keys" "$A_FPR"
man "$D/a10" "$A_FPR" Sequence=10
expect fork_first_statement_2_accepted 100 "update available" -- chk "$D" "$D/a10"
cp "$D/url/2.keys" "$D/first.keys"
DATE=2026-01-01T00:00:00Z stmt "$D/url/2.keys" 2 "$A_FPR" ""
ssign "$D/url/2.keys" "$A_FPR"
expect fork_is_refused_and_kept_as_evidence 3 "fork: two different statements 2, both validly signed \(kept in .*forks" -- \
  chk "$D" "$D/a10"
ok fork_evidence_holds_both_statements test "$(find "$D/st/hello/_keys/forks" -name '2-*.keys' | wc -l)" = 2
ok fork_evidence_holds_the_first cmp -s "$D/first.keys" \
  "$D/st/hello/_keys/forks/2-$(sha256sum "$D/first.keys" | cut -d' ' -f1).keys"
ok fork_leaves_the_kept_chain cmp -s "$D/first.keys" "$D/st/hello/_keys/2.keys"

# An anchor with other bytes for a Version the client has kept is a fork too.
DATE=2026-01-01T00:00:00Z stmt "$T/other-1.keys" 1 "$A_FPR" ""
ssign "$T/other-1.keys" "$A_FPR"
expect anchor_with_other_bytes_for_a_kept_version_is_a_fork 3 "fork: two different statements 1" -- \
  "$SWARMUP" check --trusted-keys "$T/other-1.keys" --state-dir "$D/st" --product hello --manifest "$D/a10"

case_dir thr
THR=2 stmt "$D/1.keys" 1 "$A_FPR $E_FPR" ""
ssign "$D/1.keys" "$A_FPR" "$E_FPR"
man "$D/a10" "$A_FPR" Sequence=10
man "$D/ae10" "$A_FPR $E_FPR" Sequence=10
expect threshold_two_one_signer_refused_for_manifest 3 "manifest rejected" -- chk "$D" "$D/a10"
expect threshold_two_two_signers_accepted_for_manifest 100 "update available" -- chk "$D" "$D/ae10"
THR=2 stmt "$D/url/2.keys" 2 "$A_FPR $E_FPR" ""
ssign "$D/url/2.keys" "$A_FPR"
expect threshold_two_one_signer_refused 3 "key statement 2 rejected" -- chk "$D" "$D/ae10"
ssign "$D/url/2.keys" "$A_FPR" "$E_FPR"
expect threshold_two_two_signers_accepted 100 "update available: hello 1.0 \\(sequence 10" -- chk "$D" "$D/ae10"
ok threshold_two_statement_kept grep -qx "version 2" "$D/st/hello/_keys/current"

# --- recovery from a stolen key ----------------------------------------------------
case_dir stolen
stmt "$D/1.keys" 1 "$A_FPR" "$B_FPR"
ssign "$D/1.keys" "$A_FPR"
man "$D/max" "$A_FPR" Sequence=18446744073709551615 Version=6.6.6
man "$D/a11" "$A_FPR" Sequence=11 Version=1.1
expect stolen_key_max_sequence_is_accepted 100 "sequence 18446744073709551615" -- chk "$D" "$D/max"
expect stolen_key_max_sequence_then_refuses_11 3 "manifest rejected: .*rollback" -- chk "$D" "$D/a11"
stmt "$D/url/2.keys" 2 "$B_FPR" "$E_FPR" "Sequence-Floor: stable=10"
ssign "$D/url/2.keys" "$B_FPR"
man "$D/b11" "$B_FPR" Sequence=11 Version=1.1
expect stolen_key_max_sequence_is_undone_by_sequence_floor 100 "update available: hello 1.1 \(sequence 11" -- \
  chk "$D" "$D/b11"
ok sequence_floor_is_recorded_in_current grep -qx "floor stable 10 2" "$D/st/hello/_keys/current"
ok sequence_floor_is_marked_applied grep -qx "floor-version 2" "$D/st/hello/stable/state"
man "$D/b11again" "$B_FPR" Sequence=11 Version=1.1.1
expect sequence_floor_is_applied_once 3 "manifest rejected" -- chk "$D" "$D/b11again"

# A crash after a statement is kept but before `current` names it, then one after
# the statement is accepted but before the channel's state took its floor: the
# next runs finish both, and the floor is applied exactly once.
case_dir crash
stmt "$D/1.keys" 1 "$A_FPR" "$B_FPR"
ssign "$D/1.keys" "$A_FPR"
man "$D/max" "$A_FPR" Sequence=18446744073709551615 Version=6.6.6
expect crash_setup_stolen_max_sequence 100 "sequence 18446744073709551615" -- chk "$D" "$D/max"
stmt "$D/url/2.keys" 2 "$B_FPR" "" "Sequence-Floor: stable=10"
ssign "$D/url/2.keys" "$B_FPR"
man "$D/b11" "$B_FPR" Sequence=11 Version=1.1
expect crash_before_current_is_written 137 "" -- fault before-rename:current chk "$D" "$D/b11"
ok crash_before_current_leaves_the_old_chain grep -qx "version 1" "$D/st/hello/_keys/current"
expect crash_before_floor_is_saved 137 "" -- fault before-rename:state chk "$D" "$D/b11"
ok crash_before_floor_statement_is_accepted grep -qx "floor stable 10 2" "$D/st/hello/_keys/current"
ok crash_before_floor_state_keeps_old_floor_version grep -qx "floor-version 0" "$D/st/hello/stable/state"
expect crash_then_floor_is_applied_at_next_load 100 "update available: hello 1.1 \(sequence 11" -- chk "$D" "$D/b11"

# --- revocation and expiry ---------------------------------------------------------
case_dir revoke
stmt "$D/1.keys" 1 "$A_FPR" "$B_FPR"
ssign "$D/1.keys" "$A_FPR"
stmt "$D/url/2.keys" 2 "" "$B_FPR"
ssign "$D/url/2.keys" "$B_FPR"
man "$D/a10" "$A_FPR" Sequence=10
man "$D/b10" "$B_FPR" Sequence=10
expect revocation_to_no_keys_refuses_every_manifest 3 "the publisher revoked all keys of hello" -- chk "$D" "$D/a10"
expect revocation_to_no_keys_refuses_next_key_manifest 3 "the publisher revoked all keys of hello" -- chk "$D" "$D/b10"
stmt "$D/url/3.keys" 3 "$B_FPR" ""
ssign "$D/url/3.keys" "$B_FPR"
expect revocation_is_lifted_by_a_statement_of_the_next_keys 100 "update available" -- chk "$D" "$D/b10"

case_dir expired
DATE=$(sw_days -10) EXP=$(sw_days -1) stmt "$D/1.keys" 1 "$A_FPR" ""
ssign "$D/1.keys" "$A_FPR"
man "$D/a10" "$A_FPR" Sequence=10
expect expired_newest_statement_refuses_manifests 3 \
  "key statement 1 expired at [0-9T:-]+Z; the publisher must publish statement 2" -- chk "$D" "$D/a10"
stmt "$D/url/2.keys" 2 "$A_FPR" ""
ssign "$D/url/2.keys" "$A_FPR"
expect expired_intermediate_statement_does_not_stop_the_walk 100 "update available" -- chk "$D" "$D/a10"

case_dir warn
EXP=$(sw_days 20) stmt "$D/1.keys" 1 "$A_FPR" ""
ssign "$D/1.keys" "$A_FPR"
man "$D/a10" "$A_FPR" Sequence=10
expect warning_20_days_before_expiry 100 "warning: key statement 1 expires at .* \(in (19|20) days\)" -- chk "$D" "$D/a10"
expect warning_20_days_before_expiry_json 100 '"event":"warning".*key statement 1 expires' -- chk "$D" "$D/a10" --json
case_dir nowarn
EXP=$(sw_days 40) stmt "$D/1.keys" 1 "$A_FPR" ""
ssign "$D/1.keys" "$A_FPR"
man "$D/a10" "$A_FPR" Sequence=10
out=$(chk "$D" "$D/a10" 2>&1) || true
ok no_warning_40_days_before_expiry test -z "$(grep warning <<<"$out")"

# --- the walk ------------------------------------------------------------------------
case_dir cap
stmt "$D/1.keys" 1 "$A_FPR" ""
ssign "$D/1.keys" "$A_FPR"
for n in $(seq 2 33); do
  stmt "$D/url/$n.keys" "$n" "$A_FPR" ""
  ssign "$D/url/$n.keys" "$A_FPR"
done
# 34 hands over to E: a manifest by E is good only under the newest.
stmt "$D/url/34.keys" 34 "$E_FPR" ""
ssign "$D/url/34.keys" "$A_FPR" "$E_FPR"
man "$D/e10" "$E_FPR" Sequence=10
capmsg="key statements: walked 32 and more follow; run again to continue"
expect walk_cap_refuses_the_manifest_for_this_run 3 "$capmsg" -- chk "$D" "$D/e10"
ok walk_cap_keeps_what_it_walked grep -qx "version 33" "$D/st/hello/_keys/current"
expect walk_goes_on_at_the_next_run_under_the_newest 100 "update available: hello 1.0 \\(sequence 10" -- chk "$D" "$D/e10"
ok walk_reached_the_end grep -qx "version 34" "$D/st/hello/_keys/current"
expect walk_cap_refuses_verify_which_keeps_no_place 3 "$capmsg" -- \
  "$SWARMUP" verify --trusted-keys "$D/1.keys" --keys-url "$D/url" --product hello --manifest "$D/e10" \
  "$T/rel/hello-1.0.tar.gz"

# An application update ships a newer anchor (3) than the kept chain (1): with
# --keys-url the walk goes 1 -> 2 -> 3, so statement 2's Sequence-Floor is taken.
case_dir jump
stmt "$D/1.keys" 1 "$A_FPR" "$B_FPR"
ssign "$D/1.keys" "$A_FPR"
man "$D/max" "$A_FPR" Sequence=18446744073709551615 Version=6.6.6
expect jump_setup_stolen_max_sequence 100 "sequence 18446744073709551615" -- chk "$D" "$D/max"
stmt "$D/url/2.keys" 2 "$B_FPR" "$E_FPR" "Sequence-Floor: stable=10"
ssign "$D/url/2.keys" "$B_FPR"
stmt "$D/url/3.keys" 3 "$B_FPR" "$E_FPR"
ssign "$D/url/3.keys" "$E_FPR" "$B_FPR"
cp "$D/url/3.keys" "$D/3.keys"
cp "$D/url/3.keys.sig" "$D/3.keys.sig"
man "$D/b11" "$B_FPR" Sequence=11 Version=1.1
expect newer_anchor_is_reached_by_the_walk_taking_floors_between 100 "update available: hello 1.1 \\(sequence 11" -- \
  "$SWARMUP" check --trusted-keys "$D/3.keys" --keys-url "$D/url" --state-dir "$D/st" --product hello --manifest "$D/b11"
ok newer_anchor_walk_records_the_floor_between grep -qx "floor stable 10 2" "$D/st/hello/_keys/current"

# The walked statement of the anchor's Version with other bytes than the anchor: a fork.
case_dir jumpfork
stmt "$D/1.keys" 1 "$A_FPR" "$B_FPR"
ssign "$D/1.keys" "$A_FPR"
man "$D/a10" "$A_FPR" Sequence=10
expect jumpfork_setup 100 "update available" -- chk "$D" "$D/a10"
stmt "$D/url/2.keys" 2 "$B_FPR" ""
ssign "$D/url/2.keys" "$B_FPR"
stmt "$D/url/3.keys" 3 "$B_FPR" ""
ssign "$D/url/3.keys" "$B_FPR"
DATE=$(sw_days -1) stmt "$D/3.keys" 3 "$B_FPR" ""
ssign "$D/3.keys" "$B_FPR"
man "$D/b11" "$B_FPR" Sequence=11
expect newer_anchor_other_than_the_walked_statement_is_a_fork 3 "fork: two different statements 3" -- \
  "$SWARMUP" check --trusted-keys "$D/3.keys" --keys-url "$D/url" --state-dir "$D/st" --product hello --manifest "$D/b11"

# A re-anchor after the next keys were lost (docs/keys.md): the new anchor 3 is not
# signed by the chain, the server serves it too; the walk cannot reach it, so the
# anchor starts the chain (as before walking to newer anchors) with a warning.
case_dir reanchor
stmt "$D/1.keys" 1 "$A_FPR" "$B_FPR"
ssign "$D/1.keys" "$A_FPR"
stmt "$D/url/2.keys" 2 "$B_FPR" ""
ssign "$D/url/2.keys" "$B_FPR"
man "$D/b10" "$B_FPR" Sequence=10
expect reanchor_setup 100 "update available" -- chk "$D" "$D/b10"
stmt "$D/3.keys" 3 "$E_FPR" ""
ssign "$D/3.keys" "$E_FPR"
cp "$D/3.keys" "$D/url/3.keys"
cp "$D/3.keys.sig" "$D/url/3.keys.sig"
man "$D/e11" "$E_FPR" Sequence=11
expect reanchor_not_signed_by_the_chain_starts_it 100 "newer --trusted-keys anchor \\(statement 3\\) starts the chain" -- \
  "$SWARMUP" check --trusted-keys "$D/3.keys" --keys-url "$D/url" --state-dir "$D/st" --product hello --manifest "$D/e11"
ok reanchor_is_current grep -qx "version 3" "$D/st/hello/_keys/current"

# Without --keys-url (and when the walk cannot reach it) the newer anchor starts
# the chain; its own Sequence-Floor counts (docs/keys.md: it repeats the floors
# clients may not have walked).
for how in nourl unreachable; do
  case_dir "jump$how"
  stmt "$D/1.keys" 1 "$A_FPR" "$B_FPR"
  ssign "$D/1.keys" "$A_FPR"
  man "$D/max" "$A_FPR" Sequence=18446744073709551615 Version=6.6.6
  "$SWARMUP" check --trusted-keys "$D/1.keys" --state-dir "$D/st" --product hello --manifest "$D/max" >/dev/null 2>&1 || [ $? = 100 ]
  stmt "$D/3.keys" 3 "$B_FPR" "" "Sequence-Floor: stable=10"
  ssign "$D/3.keys" "$B_FPR"
  man "$D/b11" "$B_FPR" Sequence=11 Version=1.1
  urlarg=()
  if [ "$how" = unreachable ]; then urlarg=(--keys-url "$D/url"); fi
  expect "newer_anchor_${how}_starts_the_chain_with_its_own_floor" 100 "update available: hello 1.1 \\(sequence 11" -- \
    "$SWARMUP" check --trusted-keys "$D/3.keys" "${urlarg[@]}" --state-dir "$D/st" --product hello --manifest "$D/b11"
  ok "newer_anchor_${how}_floor_is_recorded" grep -qx "floor stable 10 3" "$D/st/hello/_keys/current"
done

# A floor is never dropped: statements 2..65 name 1024 channels (the limit);
# statement 66 with one more is refused, its floor is not lost silently.
case_dir floors
stmt "$D/1.keys" 1 "$A_FPR" ""
ssign "$D/1.keys" "$A_FPR"
for n in $(seq 2 65); do
  fl="Sequence-Floor:"
  for c in $(seq $(((n - 2) * 16 + 1)) $(((n - 1) * 16))); do fl="$fl c$c=0"; done
  stmt "$D/url/$n.keys" "$n" "$A_FPR" "" "$fl"
  ssign "$D/url/$n.keys" "$A_FPR"
done
stmt "$D/url/66.keys" 66 "$A_FPR" "" "Sequence-Floor: stable=10"
ssign "$D/url/66.keys" "$A_FPR"
man "$D/a10" "$A_FPR" Sequence=10
chk "$D" "$D/a10" >/dev/null 2>&1 || true
chk "$D" "$D/a10" >/dev/null 2>&1 || true
expect statement_over_the_floor_limit_is_refused 3 "key statement 66 refused: its Sequence-Floor would make more than 1024 channels" -- \
  chk "$D" "$D/a10"
ok floors_up_to_the_limit_are_all_kept test "$(grep -c '^floor' "$D/st/hello/_keys/current")" = 1024
ok floor_over_the_limit_statement_is_not_kept test ! -e "$D/st/hello/_keys/66.keys"

# Fingerprints as gpg prints them, and in lower case.
case_dir case
lower=$(tr 'A-F' 'a-f' <<<"$B_FPR")
stmt "$D/1.keys" 1 "$(tr 'A-F' 'a-f' <<<"$A_FPR")" "$lower"
ssign "$D/1.keys" "$A_FPR"
stmt "$D/url/2.keys" 2 "$B_FPR" ""
ssign "$D/url/2.keys" "$B_FPR"
man "$D/b10" "$B_FPR" Sequence=10
expect uppercase_and_lowercase_fingerprints_both_work 100 "update available" -- chk "$D" "$D/b10"

# --- https, and a trailing slash -------------------------------------------------------
N=$T/nginx
mkdir -p "$N"
sw_nginx "$N"
mkdir -p "$N/www/hello.keys"
cp "$T/rot/url/"* "$N/www/hello.keys/"
D=$T/rot
hk() {
  rm -rf "$T/https-st"
  "$SWARMUP" check --trusted-keys "$D/1.keys" --keys-url "$1" --state-dir "$T/https-st" --product hello \
    --manifest "$D/b11" --ca-file "$N/ca.pem"
}
expect keys_url_https_without_trailing_slash 100 "update available: hello 1.0 \(sequence 11" -- hk "$U/hello.keys"
expect keys_url_https_with_trailing_slash 100 "update available: hello 1.0 \(sequence 11" -- hk "$U/hello.keys/"
ok keys_url_https_walk_stopped_at_404 grep -q ' 404 .*"GET /hello.keys/3.keys ' "$N/access.log"
rm -rf "$T/slash-st"
expect keys_url_with_and_without_trailing_slash 100 "update available" -- \
  "$SWARMUP" check --trusted-keys "$D/1.keys" --keys-url "$D/url/" --state-dir "$T/slash-st" --product hello \
  --manifest "$D/b11"
expect keys_url_unreachable_warns_and_goes_on 100 "warning: key statements could not be fetched" -- \
  "$SWARMUP" check --trusted-keys "$D/1.keys" --keys-url "https://127.0.0.1:9/none" --state-dir "$T/slash-st" \
  --product hello --manifest "$D/b11"

# --- usage ---------------------------------------------------------------------------
expect trusted_key_and_trusted_keys_together_is_usage_error 2 "exclude each other" -- \
  "$SWARMUP" check --trusted-keys "$D/1.keys" --trusted-key "$T/keys/trusted.asc" --product hello --manifest "$D/b11"
expect threshold_with_trusted_keys_is_usage_error 2 "--threshold is not taken" -- \
  "$SWARMUP" check --trusted-keys "$D/1.keys" --threshold 2 --product hello --manifest "$D/b11"
expect keys_url_without_trusted_keys_is_usage_error 2 "--keys-url needs --trusted-keys" -- \
  "$SWARMUP" check --trusted-key "$T/keys/trusted.asc" --keys-url "$D/url" --product hello --manifest "$D/b11"
expect keys_url_over_plain_http_is_usage_error 2 "refusing non-HTTPS --keys-url" -- \
  "$SWARMUP" check --trusted-keys "$D/1.keys" --keys-url "http://127.0.0.1:9/k" --product hello --manifest "$D/b11"
cp "$D/1.keys" "$T/nosig.keys"
expect anchor_without_signature_is_refused 2 "trusted-keys" -- \
  "$SWARMUP" check --trusted-keys "$T/nosig.keys" --product hello --manifest "$D/b11" --state-dir "$T/nosig-st"
expect verify_follows_the_chain_in_memory 3 "manifest rejected" -- \
  "$SWARMUP" verify --trusted-keys "$D/1.keys" --keys-url "$D/url" --product hello --manifest "$D/a11" \
  "$T/rel/hello-1.0.tar.gz"
# The package gate follows the newest statement too: after A -> B, a package signed
# by A is refused, one signed by B passes.
gpg --batch --yes --quiet --sig-notation purpose@swarmup=package -u "$B_FPR!" --detach-sign \
  -o "$T/rel/pkg-b.sig" "$T/rel/hello-1.0.tar.gz"
man "$T/rot/b12" "$B_FPR" Sequence=12 "Signature=$(base64 -w0 "$T/rel/pkg-b.sig")"
vf() {
  "$SWARMUP" verify --trusted-keys "$T/rot/1.keys" --keys-url "$T/rot/url" --product hello --manifest "$1" \
    "$T/rel/hello-1.0.tar.gz"
}
expect package_gate_follows_the_newest_statement_b_accepted 0 "ok: .* is hello 1.0 \(sequence 12\), signed by $B_FPR" -- \
  vf "$T/rot/b12"
expect package_gate_follows_the_newest_statement_a_refused 5 "payload rejected" -- vf "$T/rot/b11"

# fetch too: the manifest and the package under B, over HTTPS from nginx.
cp "$T/rel/hello-1.0.tar.gz" "$N/www/"
man "$T/rot/b13" "$B_FPR" Sequence=13 "Signature=$(base64 -w0 "$T/rel/pkg-b.sig")" \
  "Fallback=$U/hello-1.0.tar.gz"
mkdir -p "$T/fetch-out"
chmod 755 "$T/fetch-out"
expect fetch_follows_the_newest_statement 0 "installed" -- \
  "$SWARMUP" fetch --trusted-keys "$T/rot/1.keys" --keys-url "$U/hello.keys" --product hello \
  --manifest "$T/rot/b13" --state-dir "$T/fetch-st" --out "$T/fetch-out" --no-swarm --ca-file "$N/ca.pem" --seed-time 0
ok fetch_installed_the_package cmp -s "$T/rel/hello-1.0.tar.gz" "$T/fetch-out/hello-1.0.tar.gz"

# seed takes them in its config sections; it walks when it starts.
cat >"$T/seed-thr.conf" <<CONF
[hello]
manifest = $T/rot/b11
trusted-keys = $T/rot/1.keys
threshold = 2
product = hello
CONF
expect seed_section_with_trusted_keys_and_threshold_is_usage_error 2 "threshold is not taken" -- \
  "$SWARMUP" seed --config "$T/seed-thr.conf" --state-dir "$T/seed-st" --listen 127.0.0.1:0 --no-dht --no-lsd
cat >"$T/seed-rev.conf" <<CONF
[hello]
manifest = $T/revoke/a10
trusted-keys = $T/revoke/1.keys
keys-url = $T/revoke/url
product = hello
CONF
mkdir -p "$T/revoke-only"
cp "$T/revoke/url/2.keys" "$T/revoke/url/2.keys.sig" "$T/revoke-only/"
sed -i "s|keys-url = .*|keys-url = $T/revoke-only|" "$T/seed-rev.conf"
expect seed_section_walks_at_start_and_follows_revocation 3 "revoked all keys of hello" -- \
  "$SWARMUP" seed --config "$T/seed-rev.conf" --state-dir "$T/seed-st" --listen 127.0.0.1:0 --no-dht --no-lsd

# One flow through swarmup-publish (keys init, rotate, sign): the client follows it.
P=$T/pubflow/hello.keys
PH=(--homedir "$GNUPGHOME")
"$PUBLISH" keys init --product hello --key "$A_FPR" --next "$B_FPR" --expires-days 365 "${PH[@]}" --out "$P" >/dev/null
"$PUBLISH" keys sign --draft "$P/1.keys" --key "$A_FPR" "${PH[@]}" --yes >/dev/null
mkdir -p "$T/pubflow/app"
cp "$P/1.keys" "$P/1.keys.sig" "$T/pubflow/app/"
pc() {
  "$SWARMUP" check --trusted-keys "$T/pubflow/app/1.keys" --keys-url "$P" --state-dir "$T/pubflow/st" \
    --product hello --manifest "$1"
}
expect publish_flow_anchor_accepts_stolen_max_sequence 100 "sequence 18446744073709551615" -- pc "$T/stolen/max"
"$PUBLISH" keys rotate --from "$P/1.keys" --key "$B_FPR" --drop "$A_FPR" --sequence-floor stable=10 \
  --expires-days 90 "${PH[@]}" >/dev/null
"$PUBLISH" keys sign --draft "$P/2.keys" --key "$B_FPR" "${PH[@]}" --yes >/dev/null
expect publish_flow_rotation_and_floor_are_followed 100 "update available: hello 1.1 \(sequence 11" -- \
  pc "$T/stolen/b11"
expect publish_flow_old_key_refused_after_rotation 3 "manifest rejected: signature: signature by untrusted key" -- pc "$T/rot/a11"

# A running seed follows a rotation: a polled manifest refused by its signature
# makes it walk the key statements again; the next poll accepts under B.
case_dir seedrot
stmt "$D/1.keys" 1 "$A_FPR" "$B_FPR"
ssign "$D/1.keys" "$A_FPR"
man "$D/b11" "$B_FPR" Sequence=11
"$SWARMUP" seed --manifest "$D/b11" --trusted-keys "$D/1.keys" --keys-url "$D/url" --product hello \
  --state-dir "$D/st" --listen 127.0.0.1:0 --no-dht --no-lsd --no-utp --poll 1 --json >"$D/seed.log" 2>&1 &
SEED_PID=$!
SW_CLEANUPS+=("kill $SEED_PID 2>/dev/null")
ok seed_refuses_manifest_of_a_key_not_yet_announced sw_wait_for "$D/seed.log" '"event":"rejected".*signature' 20
stmt "$D/url/2.keys" 2 "$B_FPR" ""
ssign "$D/url/2.keys" "$B_FPR"
ok seed_walks_again_after_a_refused_signature sw_wait_for "$D/seed.log" '"event":"keys"' 20
ok seed_follows_the_rotation_at_the_next_poll sw_wait_for "$D/seed.log" '"event":"release".*"sequence":11' 20
ok seed_kept_the_new_statement cmp -s "$D/url/2.keys" "$D/st/hello/_keys/2.keys"
kill "$SEED_PID" 2>/dev/null || true
wait "$SEED_PID" 2>/dev/null || true

# A running seed notices a key dropped while it runs (the review's proof of
# concept): it walks the key statements at every poll, so A's manifest after B
# published statement 2 without A is refused, with no "rejected" signature
# refusal needed to set off the walk.
case_dir seeddrop
stmt "$D/1.keys" 1 "$A_FPR" "$B_FPR"
ssign "$D/1.keys" "$A_FPR"
man "$D/a10" "$A_FPR" Sequence=10
cp "$D/a10" "$D/cur"
cp "$D/a10.sig" "$D/cur.sig"
"$SWARMUP" seed --manifest "$D/cur" --trusted-keys "$D/1.keys" --keys-url "$D/url" --product hello \
  --state-dir "$D/st" --listen 127.0.0.1:0 --no-dht --no-lsd --no-utp --poll 1 --json >"$D/seed.log" 2>&1 &
SEED_PID=$!
SW_CLEANUPS+=("kill $SEED_PID 2>/dev/null")
ok running_seed_takes_sequence_10_of_key_a sw_wait_for "$D/seed.log" '"event":"release".*"sequence":10' 20
stmt "$D/url/2.keys" 2 "$B_FPR" ""
ssign "$D/url/2.keys" "$B_FPR"
ok running_seed_follows_statement_2_at_the_next_poll sw_wait_for "$D/seed.log" '"event":"keys".*statement 2' 20
man "$D/a12" "$A_FPR" Sequence=12 Version=6.6.6
cp "$D/a12.sig" "$D/cur.sig.new"
cp "$D/a12" "$D/cur"
mv "$D/cur.sig.new" "$D/cur.sig"
ok running_seed_refuses_manifest_of_key_dropped_while_it_ran \
  sw_wait_for "$D/seed.log" '"event":"rejected".*signature by untrusted key' 20
sleep 2 # two more polls: a later one must not take it either
no_release_12() { ! grep -q '"event":"release".*"sequence":12' "$D/seed.log"; }
ok running_seed_starts_no_release_for_the_dropped_keys_manifest no_release_12
kill "$SEED_PID" 2>/dev/null || true
wait "$SEED_PID" 2>/dev/null || true

# The newest statement expires while the seed runs: the next polls refuse with
# the statement's message, and a later manifest of its key is not taken.
case_dir seedexp
EXP=$(date -u -d "@$(($(date +%s) + 12))" +%Y-%m-%dT%H:%M:%SZ) stmt "$D/1.keys" 1 "$A_FPR" ""
ssign "$D/1.keys" "$A_FPR"
man "$D/a10" "$A_FPR" Sequence=10
man "$D/a11" "$A_FPR" Sequence=11
cp "$D/a10" "$D/cur"
cp "$D/a10.sig" "$D/cur.sig"
"$SWARMUP" seed --manifest "$D/cur" --trusted-keys "$D/1.keys" --keys-url "$D/url" --product hello \
  --state-dir "$D/st" --listen 127.0.0.1:0 --no-dht --no-lsd --no-utp --poll 1 --json >"$D/seed.log" 2>&1 &
SEED_PID=$!
SW_CLEANUPS+=("kill $SEED_PID 2>/dev/null")
ok running_seed_takes_sequence_10_before_expiry sw_wait_for "$D/seed.log" '"event":"release".*"sequence":10' 10
ok running_seed_refuses_polls_once_the_newest_statement_expired \
  sw_wait_for "$D/seed.log" '"event":"rejected".*key statement 1 expired at .*must publish statement 2' 30
cp "$D/a11.sig" "$D/cur.sig.new"
cp "$D/a11" "$D/cur"
mv "$D/cur.sig.new" "$D/cur.sig"
sleep 3
no_release_11() { ! grep -q '"event":"release".*"sequence":11' "$D/seed.log"; }
ok running_seed_starts_no_release_under_an_expired_statement no_release_11
kill "$SEED_PID" 2>/dev/null || true
wait "$SEED_PID" 2>/dev/null || true

sw_done
