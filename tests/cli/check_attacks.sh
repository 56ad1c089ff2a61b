#!/usr/bin/env bash
# Every attack on the manifest is refused by `swarmup check` with exit 3 and
# its own one-line reason; the accepted cases are accepted. Real gpg keys.
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
sw_release "$T/rel" hello-1.0.tar.gz 100000
K=$T/keys
M=$T/m
mkdir -p "$M"

# chk STATE_NAME MANIFEST [more args]: check with key A pinned.
chk() {
  local st=$1 man=$2
  shift 2
  "$SWARMUP" check --manifest "$man" --trusted-key "$K/trusted.asc" --product hello --state-dir "$T/st/$st" "$@"
}
# signed NAME [fields...]: a manifest signed (armored) by key A.
signed() {
  local name=$1
  shift
  sw_manifest "$M/$name" "$@"
  gpg --homedir "$GNUPGHOME" --batch --yes --quiet --armor --sig-notation purpose@swarmup=manifest -u "$A_FPR!" --detach-sign -o "$M/$name.sig" "$M/$name"
}

# --- accepted ---------------------------------------------------------------
signed good
expect accepts_hand_written_manifest_signed_with_plain_gpg 100 "update available: hello 1.0 \(sequence 10" -- chk s1 "$M/good"
ok accepted_manifest_updates_state grep -q '^sequence 10$' "$T/st/s1/hello/stable/state"
ok accepted_manifest_is_kept test -f "$T/st/s1/hello/stable/manifests/10.manifest"
expect same_manifest_again_is_still_accepted 100 "sequence 10" -- chk s1 "$M/good"
expect plain_gpg_verifies_the_manifest 0 "Good signature" -- gpg --homedir "$GNUPGHOME" --verify "$M/good.sig" "$M/good"

sw_manifest "$M/sub"
sw_sign_manifest "$A_SUB_FPR" "$M/sub" "$M/sub.sig"
expect accepts_signature_by_subkey_of_trusted_key 100 "update available" -- chk sub "$M/sub"

sw_manifest "$M/bin"
sw_sign_manifest "$A_FPR" "$M/bin" "$M/bin.sig"
expect accepts_binary_detached_signature 100 "update available" -- chk bin "$M/bin"

expect json_output_is_one_object 100 '^\{"event":"check","status":"update-available".*"sequence":10' -- chk json "$M/good" --json

# --- signature attacks --------------------------------------------------------
cp "$M/good" "$M/flip"; cp "$M/good.sig" "$M/flip.sig"
sed -i 's/^Version: 1.0$/Version: 1.1/' "$M/flip"
expect rejects_one_byte_flipped_in_manifest 3 "manifest rejected: signature: .*bad signature" -- chk flip "$M/flip"

cp "$M/good" "$M/nosig"
expect rejects_missing_signature_file 3 "manifest rejected: no usable signature" -- chk nosig "$M/nosig"

signed other Sequence=11
cp "$M/good" "$M/swap"; cp "$M/other.sig" "$M/swap.sig"
expect rejects_signature_over_another_manifest 3 "manifest rejected: signature: .*bad signature" -- chk swap "$M/swap"

sw_manifest "$M/untr"; sw_sign_manifest "$B_FPR" "$M/untr" "$M/untr.sig"
expect rejects_signature_by_untrusted_key 3 "manifest rejected: signature: .*(untrusted|not pinned|unknown)" -- chk untr "$M/untr"

sw_manifest "$M/untrsub"; sw_sign_manifest "$B_SUB_FPR" "$M/untrsub" "$M/untrsub.sig"
expect rejects_signature_by_subkey_of_untrusted_key 3 "manifest rejected: signature: .*(untrusted|not pinned|unknown)" -- chk untrsub "$M/untrsub"

sw_manifest "$M/rev"; sw_sign_manifest "$R_FPR" "$M/rev" "$M/rev.sig"
expect rejects_signature_by_revoked_trusted_key 3 "manifest rejected: signature: .*revoked" -- \
  "$SWARMUP" check --manifest "$M/rev" --trusted-key "$K/revoked.asc" --product hello --state-dir "$T/st/rev"

sw_manifest "$M/exp"; sw_sign_manifest "$X_FPR" "$M/exp" "$M/exp.sig" --faked-system-time "$X_SIGN_TIME"
expect rejects_signature_by_expired_trusted_key 3 "manifest rejected: signature: .*expired" -- \
  "$SWARMUP" check --manifest "$M/exp" --trusted-key "$K/expired.asc" --product hello --state-dir "$T/st/exp"

sw_manifest "$M/sha1"; sw_sign_manifest "$A_FPR" "$M/sha1" "$M/sha1.sig" --digest-algo SHA1 --allow-weak-digest-algos
expect rejects_sha1_digest 3 "manifest rejected: signature: .*SHA-?1" -- chk sha1 "$M/sha1"

sw_manifest "$M/clear"
gpg --homedir "$GNUPGHOME" --batch --yes --quiet -u "$A_FPR!" --clearsign -o "$M/clear.sig" "$M/clear"
expect rejects_clearsigned_file_as_signature 3 "manifest rejected: signature: .*clearsign" -- chk clear "$M/clear"

sw_manifest "$M/inline"
gpg --homedir "$GNUPGHOME" --batch --yes --quiet -u "$A_FPR!" --sign -o "$M/inline.sig" "$M/inline"
expect rejects_inline_signed_file_as_signature 3 "manifest rejected: signature: " -- chk inline "$M/inline"

cp "$M/good" "$M/append"; cp "$M/good.sig" "$M/append.sig"
printf 'X-Extra: appended after signing\n' >>"$M/append"
expect rejects_bytes_appended_after_signing 3 "manifest rejected: signature: .*bad signature" -- chk append "$M/append"

sw_manifest "$M/thr"; sw_sign_manifest "$A_FPR" "$M/thr" "$M/thr.sig"
expect rejects_threshold_two_with_one_signer 3 "manifest rejected: signature: .*1 distinct trusted signer, 2 required" -- \
  "$SWARMUP" check --manifest "$M/thr" --trusted-key "$K/trusted.asc" --trusted-key "$K/second.asc" \
  --threshold 2 --product hello --state-dir "$T/st/thr"
sw_sign_manifest "$E_FPR" "$M/thr" "$M/thr.e.sig"
cat "$M/thr.sig" "$M/thr.e.sig" >"$M/thr2.sig"
expect accepts_threshold_two_with_two_signers 100 "update available" -- \
  "$SWARMUP" check --manifest "$M/thr" --manifest-sig "$M/thr2.sig" --trusted-key "$K/trusted.asc" \
  --trusted-key "$K/second.asc" --threshold 2 --product hello --state-dir "$T/st/thr"

# --- freshness and rollback ------------------------------------------------------
signed seq20 Sequence=20
signed seq19 Sequence=19
expect accepts_newer_sequence 100 "sequence 20" -- chk roll "$M/seq20"
expect rejects_rollback_to_lower_sequence 3 "manifest rejected: sequence 19 is lower than accepted 20 \(rollback\)" -- chk roll "$M/seq19"
signed seq20b Sequence=20 Version=1.0b
expect rejects_same_sequence_other_content 3 "manifest rejected: .*equivocation" -- chk roll "$M/seq20b"
expect same_sequence_same_bytes_is_up_to_date 100 "sequence 20" -- chk roll "$M/seq20"
signed olddate Sequence=21 "Date=$(sw_days -2)"
expect rejects_older_date_with_higher_sequence 3 "manifest rejected: .*older" -- chk roll "$M/olddate"
ok rejected_manifest_leaves_state_alone grep -q '^sequence 20$' "$T/st/roll/hello/stable/state"

signed expired "Date=$(sw_days -40)" "Expires=$(sw_days -10)"
expect rejects_expired_manifest 3 "manifest rejected: .*expired" -- chk expired "$M/expired"
signed future "Date=$(sw_days 3)" "Expires=$(sw_days 30)"
expect rejects_date_far_in_future 3 "manifest rejected: .*future" -- chk future "$M/future"
signed prod Product=other
expect rejects_wrong_product 3 'manifest rejected: product is "other", expected "hello"' -- chk prod "$M/prod"
signed chan Channel=beta
expect rejects_wrong_channel 3 'manifest rejected: channel is "beta", expected "stable"' -- chk chan "$M/chan"
expect accepts_other_channel_when_asked 100 "update available" -- chk chan "$M/chan" --channel beta

# --- syntax (signed by the trusted key: syntax is checked after the signature) --------
sw_manifest "$M/big" "+X-Pad: $(head -c 3000 /dev/zero | tr '\0' a)"
for _ in $(seq 1 22); do printf 'X-Pad: %s\n' "$(head -c 3000 /dev/zero | tr '\0' a)" >>"$M/big"; done
gpg --homedir "$GNUPGHOME" --batch --yes --quiet --armor --sig-notation purpose@swarmup=manifest -u "$A_FPR!" --detach-sign -o "$M/big.sig" "$M/big"
expect rejects_oversize_manifest 3 "manifest rejected: .*65536" -- chk big "$M/big"
signed dup "+Sequence: 11"
expect rejects_duplicate_field 3 "manifest rejected: line 14: duplicate field Sequence" -- chk dup "$M/dup"
signed unk "+Foo: bar"
expect rejects_unknown_field 3 "manifest rejected: line 14: unknown field" -- chk unk "$M/unk"
signed xf "+X-Note: ignored"
expect accepts_x_field 100 "update available" -- chk xf "$M/xf"
signed dotdot File=../x
expect rejects_file_with_dotdot 3 'manifest rejected: .*File' -- chk dotdot "$M/dotdot"
signed abs File=/etc/passwd
expect rejects_file_absolute_path 3 'manifest rejected: .*File' -- chk abs "$M/abs"
signed hidden File=.hidden
expect rejects_hidden_file 3 'manifest rejected: .*File' -- chk hidden "$M/hidden"
signed httpfb Fallback=http://127.0.0.1:9/x
expect rejects_http_fallback 3 'manifest rejected: .*https' -- chk httpfb "$M/httpfb"
signed nobtmh "Magnet=magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567"
expect rejects_magnet_without_btmh 3 'manifest rejected: .*btmh' -- chk nobtmh "$M/nobtmh"
signed missing SHA256=
expect rejects_missing_field 3 'manifest rejected: missing field SHA256' -- chk missing "$M/missing"

# --- state: crash safety, corruption, lock -------------------------------------------
signed seq30 Sequence=30
rc=0; SWARMUP_FAULT=before-rename chk roll "$M/seq30" >/dev/null 2>&1 || rc=$?
ok crash_before_rename_kills_the_run test "$rc" -eq 137
ok crash_before_rename_keeps_old_state grep -q '^sequence 20$' "$T/st/roll/hello/stable/state"
expect state_still_readable_after_crash 3 "sequence 19 is lower than accepted 20" -- chk roll "$M/seq19"
expect rerun_after_crash_completes 100 "sequence 30" -- chk roll "$M/seq30"
ok rerun_after_crash_recorded grep -q '^sequence 30$' "$T/st/roll/hello/stable/state"

cp -r "$T/st/roll" "$T/st/corrupt"
sed -i 's/^sequence 30$/sequence 3/' "$T/st/corrupt/hello/stable/state"
expect corrupt_state_is_an_error_not_a_reset 1 "state file for hello/stable is corrupt" -- chk corrupt "$M/seq19"

mkdir -p "$T/st/locked"
flock "$T/st/locked/lock" sleep 5 &
LOCKPID=$!
SW_CLEANUPS+=("kill $LOCKPID 2>/dev/null")
sleep 0.3
expect second_run_on_same_state_dir_refuses_clearly 1 "in use by another swarmup" -- chk locked "$M/good"
kill "$LOCKPID" 2>/dev/null || true
wait "$LOCKPID" 2>/dev/null || true

# --- usage and configuration --------------------------------------------------------
expect missing_product_is_usage_error 2 "--product is required" -- \
  "$SWARMUP" check --manifest "$M/good" --trusted-key "$K/trusted.asc"
expect unreadable_trusted_key_is_config_error 2 "" -- \
  "$SWARMUP" check --manifest "$M/good" --trusted-key "$T/nonexistent.asc" --product hello --state-dir "$T/st/x"
expect secret_key_as_trusted_key_is_refused 2 "secret" -- \
  "$SWARMUP" check --manifest "$M/good" --trusted-key "$K/untrusted-secret.asc" --product hello --state-dir "$T/st/x"
cat >"$T/conf" <<CONF
# swarmup config
manifest = $M/good
trusted-key = $K/trusted.asc
product = hello
state-dir = $T/st/conf
CONF
expect config_file_supplies_options 100 "update available" -- "$SWARMUP" check --config "$T/conf"
expect flags_override_config 3 'product is "hello", expected "other"' -- "$SWARMUP" check --config "$T/conf" --product other
printf 'bogus = 1\n' >"$T/badconf"
expect config_unknown_key_is_config_error 2 'line 1: unknown key "bogus"' -- "$SWARMUP" check --config "$T/badconf"
expect check_has_help 0 "usage: swarmup check" -- "$SWARMUP" check --help

sw_done
