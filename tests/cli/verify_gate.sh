#!/usr/bin/env bash
# `swarmup verify`: the payload gate on local files accepts exactly the signed
# release and refuses every altered copy with exit 5.
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
sw_release "$T/rel" hello-1.0.tar.gz 300000
K=$T/keys
sw_manifest "$T/hello.manifest"
sw_sign_manifest "$A_FPR" "$T/hello.manifest" "$T/hello.manifest.sig"
P=$T/rel/hello-1.0.tar.gz

v() { "$SWARMUP" verify --manifest "$T/hello.manifest" --trusted-key "$K/trusted.asc" --product hello "$@"; }

expect gate_accepts_the_signed_file 0 "^ok: .*hello-1.0.tar.gz is hello 1.0 \(sequence 10\), signed by $A_FPR" -- v "$P"

cp "$P" "$T/flip"
sw_flip "$T/flip" 150000
ok flip_changed_the_copy sh -c "! cmp -s '$P' '$T/flip'"
expect gate_rejects_one_flipped_byte 5 "payload rejected: .*flip: SHA-256 mismatch" -- v "$T/flip"

head -c 299999 "$P" >"$T/trunc"
expect gate_rejects_truncated_file 5 "payload rejected: .*trunc: size 299999 differs" -- v "$T/trunc"

cp "$P" "$T/ext"; printf 'x' >>"$T/ext"
expect gate_rejects_extended_file 5 "payload rejected: .*ext: size 300001 differs" -- v "$T/ext"

# A manifest whose Signature field is by another (untrusted) key, size and hash right.
sw_sign_package "$B_FPR" "$P" "$T/b.sig"
sw_manifest "$T/other.manifest" "Signature=$(base64 -w0 "$T/b.sig")"
sw_sign_manifest "$A_FPR" "$T/other.manifest" "$T/other.manifest.sig"
expect gate_rejects_file_signed_by_other_key 5 "payload rejected: .*untrusted key" -- \
  "$SWARMUP" verify --manifest "$T/other.manifest" --trusted-key "$K/trusted.asc" --product hello "$P"

# The same file under another name is still the release (whitelisting by content).
cp "$P" "$T/renamed.bin"
expect gate_accepts_renamed_copy 0 "^ok: " -- v "$T/renamed.bin"

expect gate_reports_each_file_and_fails_if_one_is_bad 5 "payload rejected: .*trunc" -- v "$P" "$T/trunc"
expect gate_json_event_per_file 0 '^\{"event":"verify","file":".*hello-1.0.tar.gz","accepted":true' -- v --json "$P"
expect verify_needs_a_file 2 "no FILE to verify" -- v
expect verify_has_help 0 "usage: swarmup verify" -- "$SWARMUP" verify --help

# A forged manifest (signed by the untrusted key) is refused before any file is read.
sw_sign_manifest "$B_FPR" "$T/hello.manifest" "$T/forged.sig"
expect verify_refuses_forged_manifest 3 "manifest rejected: signature" -- \
  "$SWARMUP" verify --manifest "$T/hello.manifest" --manifest-sig "$T/forged.sig" --trusted-key "$K/trusted.asc" --product hello "$P"

sw_done
