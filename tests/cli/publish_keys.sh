#!/usr/bin/env bash
# swarmup-publish keys init|rotate|sign: statements that parse, a Keyring of
# exactly the named keys, signatures that plain gpg checks and that carry
# purpose@swarmup=keys, and a sign that refuses a key set the client would.
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
D=$T/pub/hello.keys
H=(--homedir "$GNUPGHOME")
# Fields of a statement, without the long Keyring line.
fields() { grep -v '^Keyring: ' "$1"; }
# Primary fingerprints in a statement's Keyring, as plain gpg reads them.
ring_fprs() {
  sed -n 's/^Keyring: //p' "$1" | base64 -d |
    gpg --homedir "$GNUPGHOME" --batch --with-colons --import-options show-only --dry-run --import 2>/dev/null |
    awk -F: '$1=="pub"{p=1; next} $1=="fpr"&&p{print $10; p=0} $1=="sub"{p=0}' | sort | tr '\n' ' '
}
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }

for c in init rotate sign; do
  expect "keys_${c}_has_help" 0 "usage: swarmup-publish keys $c" -- "$PUBLISH" keys "$c" --help
done
expect publish_help_lists_keys_commands 0 "swarmup-publish keys rotate" -- "$PUBLISH" --help

# init: A signs manifests, B is the pre-committed next key.
expect init_refuses_bad_fingerprint 2 "not a 40-hex" -- \
  "$PUBLISH" keys init --product hello --key "${A_FPR:0:39}" --expires-days 365 "${H[@]}" --out "$D"
expect init_refuses_subkey_fingerprint 2 "not the fingerprint of a primary key" -- \
  "$PUBLISH" keys init --product hello --key "$A_SUB_FPR" --expires-days 365 "${H[@]}" --out "$D"
expect init_refuses_key_not_in_home 2 "not the fingerprint of a primary key" -- \
  "$PUBLISH" keys init --product hello --key 0123456789ABCDEF0123456789ABCDEF01234567 --expires-days 365 "${H[@]}" --out "$D"
expect init_requires_expiry 2 "expires-days" -- "$PUBLISH" keys init --product hello --key "$A_FPR" "${H[@]}" --out "$D"
expect init_refuses_threshold_above_key_count 2 "threshold 2 is more than" -- \
  "$PUBLISH" keys init --product hello --key "$A_FPR" --threshold 2 --expires-days 365 "${H[@]}" --out "$D"
ok nothing_written_after_refusals test ! -e "$D/1.keys"
# Lower-case fingerprints are accepted and written in upper case, as gpg prints them.
expect init_writes_statement_1 0 "^wrote: .*1.keys" -- \
  "$PUBLISH" keys init --product hello --key "${A_FPR,,}" --next "$B_FPR" --expires-days 365 "${H[@]}" --out "$D"
S1=$D/1.keys
ok init_statement_has_version_1_threshold_1_key_a_next_b sh -c "grep -qx 'Version: 1' '$S1' &&
  grep -qx 'Threshold: 1' '$S1' && grep -qx 'Key: $A_FPR' '$S1' && grep -qx 'Next: $B_FPR' '$S1' && grep -qx 'Next-Threshold: 1' '$S1'"
ok init_statement_fields_in_order test "$(fields "$S1" | cut -d: -f1 | tr '\n' ' ')" = \
  "Format Product Version Date Expires Threshold Key Next Next-Threshold "
ok init_keyring_holds_exactly_key_and_next test "$(ring_fprs "$S1")" = "$(sorted "$A_FPR" "$B_FPR")"
ok init_expires_365_days_after_date test \
  $(( $(date -u -d "$(sed -n 's/^Expires: //p' "$S1")" +%s) - $(date -u -d "$(sed -n 's/^Date: //p' "$S1")" +%s) )) -eq $((365 * 86400))
expect init_refuses_to_overwrite_statement 1 "already exists" -- \
  "$PUBLISH" keys init --product hello --key "$A_FPR" --expires-days 365 "${H[@]}" --out "$D"
# The default directory is P.keys in the current directory.
expect init_defaults_to_product_dot_keys 0 "" -- \
  sh -c "cd '$T' && '$PUBLISH' keys init --product other --key '$E_FPR' --expires-days 30 --homedir '$GNUPGHOME'"
ok init_default_out_is_product_dot_keys test -f "$T/other.keys/1.keys"

# sign statement 1 (the anchor) with A: plain gpg sees A's good signature and the notation.
expect sign_anchor_says_it_is_the_anchor 0 "the anchor" -- \
  "$PUBLISH" keys sign --draft "$S1" --key "$A_FPR" "${H[@]}" --yes
ok sign_writes_signature_beside_statement test -s "$S1.sig"
gpg --homedir "$GNUPGHOME" --batch --verify --status-fd 1 "$S1.sig" "$S1" >"$T/v1.status" 2>/dev/null || true
ok plain_gpg_shows_goodsig_by_a sh -c "grep -q '^\[GNUPG:\] GOODSIG ' '$T/v1.status' &&
  grep -qE '^\[GNUPG:\] VALIDSIG .* $A_FPR\$' '$T/v1.status'"
ok plain_gpg_shows_purpose_keys_notation sh -c "grep -qx '\[GNUPG:\] NOTATION_NAME purpose@swarmup' '$T/v1.status' &&
  grep -qx '\[GNUPG:\] NOTATION_DATA keys' '$T/v1.status'"
ok anchor_signature_has_one_packet test "$(grep -c '^\[GNUPG:\] GOODSIG ' "$T/v1.status")" -eq 1

# rotate to B, committing E as the next key, resetting stable to 10.
expect rotate_refuses_drop_of_unknown_key 2 "not a Key of statement 1" -- \
  "$PUBLISH" keys rotate --from "$S1" --drop "$E_FPR" --expires-days 90 "${H[@]}"
expect rotate_refuses_bad_floor 2 "sequence-floor" -- \
  "$PUBLISH" keys rotate --from "$S1" --key "$B_FPR" --sequence-floor stable --expires-days 90 "${H[@]}"
expect rotate_refuses_floor_the_parser_rejects 2 "would be rejected" -- \
  "$PUBLISH" keys rotate --from "$S1" --key "$B_FPR" --sequence-floor stable=x --expires-days 90 "${H[@]}"
ok rotate_refusals_write_nothing test ! -e "$D/2.keys"
expect rotate_writes_draft_2 0 "^wrote: .*2.keys" -- \
  "$PUBLISH" keys rotate --from "$S1" --key "$B_FPR" --drop "$A_FPR" --next "$E_FPR" --sequence-floor stable=10 \
  --expires-days 90 "${H[@]}"
S2=$D/2.keys
ok rotate_draft_has_version_2_key_b_next_e_floor sh -c "grep -qx 'Version: 2' '$S2' && grep -qx 'Key: $B_FPR' '$S2' &&
  grep -qx 'Next: $E_FPR' '$S2' && grep -qx 'Next-Threshold: 1' '$S2' && grep -qx 'Sequence-Floor: stable=10' '$S2'"
ok rotate_drop_removes_key_a sh -c "! grep -qx 'Key: $A_FPR' '$S2'"
ok rotate_keyring_reexported_for_b_and_e test "$(ring_fprs "$S2")" = "$(sorted "$B_FPR" "$E_FPR")"

# sign 2: A alone is refused (1 named Next B: A cannot rotate); B meets both rules.
expect sign_by_a_alone_refused_when_previous_named_next_b 2 "do not meet the rules" -- \
  "$PUBLISH" keys sign --draft "$S2" --key "$A_FPR" "${H[@]}" --yes
ok refused_sign_writes_no_signature test ! -e "$S2.sig"
expect sign_checklist_shows_added_and_dropped 1 "\+ $B_FPR .*added" -- \
  sh -c "echo no | '$PUBLISH' keys sign --draft '$S2' --key '$B_FPR' --homedir '$GNUPGHOME'"
expect sign_checklist_names_who_must_sign 1 "1 of the Next keys of statement 1: met" -- \
  sh -c "echo no | '$PUBLISH' keys sign --draft '$S2' --key '$B_FPR' --homedir '$GNUPGHOME'"
expect sign_checklist_shows_floor 1 "stable=10: every client's accepted sequence" -- \
  sh -c "echo no | '$PUBLISH' keys sign --draft '$S2' --key '$B_FPR' --homedir '$GNUPGHOME'"
ok sign_without_confirmation_writes_no_signature test ! -e "$S2.sig"
expect sign_by_b_meets_next_of_1_and_own_key_of_2 0 "gpg --verify .*2.keys.sig .*2.keys" -- \
  "$PUBLISH" keys sign --draft "$S2" --key "$B_FPR" "${H[@]}" --yes
gpg --homedir "$GNUPGHOME" --batch --verify --status-fd 1 "$S2.sig" "$S2" >"$T/v2.status" 2>/dev/null || true
ok plain_gpg_shows_goodsig_by_b_with_notation sh -c "grep -qE '^\[GNUPG:\] VALIDSIG .* $B_FPR\$' '$T/v2.status' &&
  grep -qx '\[GNUPG:\] NOTATION_DATA keys' '$T/v2.status'"

# A key in neither statement must not sign: clients would reject the whole statement.
expect sign_refuses_key_unknown_to_both_statements 2 "in neither this statement nor its predecessor" -- \
  "$PUBLISH" keys sign --draft "$S2" --key "$B_FPR" --key "$R_FPR" "${H[@]}" --yes
expect sign_refuses_bad_fingerprint 2 "not a 40-hex" -- \
  "$PUBLISH" keys sign --draft "$S2" --key "not-a-fingerprint" "${H[@]}" --yes

# Without N-1.keys beside the draft, sign says it can check only the statement's own rule.
mkdir -p "$T/alone" && cp "$S2" "$T/alone/2.keys"
expect sign_without_previous_statement_warns 0 "WARNING: .*1.keys is not beside the draft" -- \
  "$PUBLISH" keys sign --draft "$T/alone/2.keys" --key "$B_FPR" "${H[@]}" --yes

# Two signers: 3 drops B for A and E with Threshold 2; E (Next of 2) and A sign it.
expect rotate_with_threshold_2 0 "^wrote: .*3.keys" -- \
  "$PUBLISH" keys rotate --from "$S2" --key "$A_FPR" --key "$E_FPR" --drop "$B_FPR" --threshold 2 --expires-days 90 "${H[@]}"
S3=$D/3.keys
ok rotate_without_next_writes_no_next sh -c "! grep -q '^Next' '$S3' && ! grep -q '^Sequence-Floor' '$S3'"
expect sign_with_one_of_two_refused 2 "NOT MET" -- "$PUBLISH" keys sign --draft "$S3" --key "$E_FPR" "${H[@]}" --yes
expect sign_with_two_signers 0 "^signed: " -- \
  "$PUBLISH" keys sign --draft "$S3" --key "$E_FPR" --key "$A_FPR" "${H[@]}" --yes
gpg --homedir "$GNUPGHOME" --batch --verify --status-fd 1 "$S3.sig" "$S3" >"$T/v3.status" 2>/dev/null || true
ok two_signers_give_two_good_packets test "$(grep -c '^\[GNUPG:\] GOODSIG ' "$T/v3.status")" -eq 2
ok both_packets_carry_purpose_keys test "$(grep -cx '\[GNUPG:\] NOTATION_DATA keys' "$T/v3.status")" -eq 2

ok threshold_change_is_shown sh -c "echo no | '$PUBLISH' keys sign --draft '$S3' --key '$E_FPR' --key '$A_FPR' \
  --homedir '$GNUPGHOME' 2>&1 | grep -q 'Threshold 2 (CHANGED, was 1)'"

# Rotation to no keys (revocation): the checklist says the product freezes; 3's two keys must sign.
expect rotate_to_no_keys_with_next 0 "^wrote: .*/4-null.keys" -- \
  "$PUBLISH" keys rotate --from "$S3" --drop "$A_FPR" --drop "$E_FPR" --next "$B_FPR" --expires-days 90 \
  --out "$D/4-null.keys" "${H[@]}"
ok rotate_to_no_keys_writes_no_key_line sh -c "! grep -q '^Key: ' '$D/4-null.keys' && grep -qx 'Version: 4' '$D/4-null.keys'"
expect rotate_refuses_no_key_and_no_next 2 "no Key and no Next" -- \
  "$PUBLISH" keys rotate --from "$S3" --drop "$A_FPR" --drop "$E_FPR" --expires-days 90 --out "$T/x4.keys" "${H[@]}"
cp "$D/4-null.keys" "$D/4.keys"
expect sign_no_keys_checklist_says_frozen 1 "Key +NONE: every manifest of hello will be refused" -- \
  sh -c "echo no | '$PUBLISH' keys sign --draft '$D/4.keys' --key '$A_FPR' --key '$E_FPR' --homedir '$GNUPGHOME'"
expect sign_no_keys_needs_previous_threshold 2 "2 of the Key keys of statement 3: NOT MET" -- \
  "$PUBLISH" keys sign --draft "$D/4.keys" --key "$A_FPR" "${H[@]}" --yes

expect rotate_refuses_misnamed_statement 2 "should be named 3.keys" -- \
  sh -c "cp '$S3' '$T/x.keys' && '$PUBLISH' keys rotate --from '$T/x.keys' --expires-days 9 --homedir '$GNUPGHOME'"
expect keys_unknown_subcommand_is_usage_error 2 "init, rotate or sign" -- "$PUBLISH" keys frobnicate
expect keys_option_of_other_subcommand_refused 2 "unknown option --drop" -- \
  "$PUBLISH" keys init --product hello --key "$A_FPR" --drop "$A_FPR" --expires-days 9 "${H[@]}"

sw_done
