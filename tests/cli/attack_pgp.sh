#!/usr/bin/env bash
# Armored signatures that gpg refuses are refused by swarmup too, and those
# gpg accepts are accepted: swarmup decodes the armor itself (gpg is handed the
# binary packets), so it must make gpg's checks. Each case runs both
# `gpg --verify` (on the detached form, in the signer's home) and swarmup on
# the manifest signature (exit 3). (A manifest's package Signature field is a
# binary packet by format: armor never reaches the gate there.)
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
K=$T/keys
sw_release "$T/rel" hello-1.0.tar.gz 100000
P=$T/rel/hello-1.0.tar.gz
sw_manifest "$T/m"
gpg --homedir "$GNUPGHOME" --batch --yes --quiet --armor --sig-notation purpose@swarmup=manifest -u "$A_FPR!" --detach-sign -o "$T/m.asc" "$T/m"

gpg_ok() { gpg --homedir "$GNUPGHOME" --batch --verify "$1" "$2" >/dev/null 2>&1; }
gpg_refuses() { ! gpg_ok "$@"; }
check() { "$SWARMUP" verify --manifest "$T/m" --manifest-sig "$1" --trusted-key "$K/trusted.asc" --product hello "$P"; }

# edit_crc IN OUT SED: apply SED to the CRC-24 line (the line starting with '=') only.
edit_crc() { sed -E "/^=/$3" "$1" >"$2"; }

# --- the manifest signature --------------------------------------------------------
ok gpg_accepts_the_armored_manifest_signature gpg_ok "$T/m.asc" "$T/m"
expect armored_manifest_signature_is_accepted 0 "" -- check "$T/m.asc"

crc=$(grep -E '^=' "$T/m.asc")
# One character of the CRC-24 changed (A<->B keeps it base64).
case ${crc:4:1} in A) c=B ;; *) c=A ;; esac
edit_crc "$T/m.asc" "$T/m.badcrc" "s/^(=...)./\\1$c/"
ok crc_line_was_changed sh -c "! cmp -s '$T/m.asc' '$T/m.badcrc'"
ok gpg_refuses_armored_signature_with_wrong_crc24 gpg_refuses "$T/m.badcrc" "$T/m"
expect armored_signature_with_wrong_crc24_is_refused 3 "manifest rejected: .*CRC-24" -- check "$T/m.badcrc"

edit_crc "$T/m.asc" "$T/m.shortcrc" "s/^(=...)./\\1/"
ok gpg_refuses_armored_signature_with_malformed_crc24 gpg_refuses "$T/m.shortcrc" "$T/m"
expect armored_signature_with_malformed_crc24_is_refused 3 "manifest rejected: .*CRC-24" -- check "$T/m.shortcrc"

# No CRC-24 line at all: gpg 2.2 accepts it when the data ends in '=' padding,
# and refuses it when the signature is a multiple of 3 bytes (nothing stops its
# decoder before the END line, which it decodes as data). swarmup does the
# same. Notations of growing length give signatures of each length mod 3.
seen_ok=0 seen_refused=0
for v in 1 12 123 1234; do
  gpg --homedir "$GNUPGHOME" --batch --yes --quiet --armor -u "$A_FPR!" --sig-notation purpose@swarmup=manifest --sig-notation "n@test.invalid=$v" \
    --detach-sign -o "$T/n$v.asc" "$T/m"
  grep -vE '^=' "$T/n$v.asc" >"$T/n$v.nocrc"
  # the signature's length: its armor body (after the blank line, before the CRC-24), decoded
  len=$(sed -n '/^$/,/^=/p' "$T/n$v.asc" | grep -vE '^(=|$)' | base64 -d | wc -c)
  if [ $((len % 3)) -ne 0 ]; then
    seen_ok=1
    ok "gpg_accepts_signature_without_crc24_ending_in_padding_$v" gpg_ok "$T/n$v.nocrc" "$T/m"
    expect "armored_signature_without_crc24_is_accepted_as_gpg_does_$v" 0 "" -- check "$T/n$v.nocrc"
  else
    seen_refused=1
    ok "gpg_refuses_signature_with_neither_crc24_nor_padding_$v" gpg_refuses "$T/n$v.nocrc" "$T/m"
    expect "armored_signature_with_neither_crc24_nor_padding_is_refused_$v" 3 \
      "manifest rejected: .*neither padding nor a CRC-24" -- check "$T/n$v.nocrc"
  fi
done
ok both_kinds_of_signature_without_crc24_were_tried test "$seen_ok$seen_refused" = 11

# A header line without ": " (gpg: "invalid armor header").
sed '1a Comment:x' "$T/m.asc" >"$T/m.badhdr"
ok gpg_refuses_invalid_armor_header gpg_refuses "$T/m.badhdr" "$T/m"
expect armor_with_invalid_header_line_is_refused 3 "manifest rejected: .*armor header" -- check "$T/m.badhdr"

# --- signatures say what they sign (purpose@swarmup, docs/manifest.md) -------------
# A manifest signature without the notation: gpg calls it good, swarmup refuses it.
sw_sign "$A_FPR" "$T/m" "$T/m.nopurpose.sig"
ok gpg_accepts_the_notationless_manifest_signature gpg_ok "$T/m.nopurpose.sig" "$T/m"
expect manifest_signature_without_purpose_is_refused 3 \
  "manifest rejected: .*has no purpose@swarmup notation \(a manifest signature needs purpose@swarmup=manifest\)" -- \
  check "$T/m.nopurpose.sig"

# The attack of issue 11: a package whose bytes are a manifest, signed by the
# publisher as a package, offered as the manifest's signature.
cp "$T/m" "$T/m-as-package.tar.gz"
sw_sign_package "$A_FPR" "$T/m-as-package.tar.gz" "$T/m.pkg.sig"
expect package_signature_is_not_a_manifest_signature 3 \
  "manifest rejected: .*is a package signature \(purpose@swarmup=package\), not a manifest signature" -- \
  check "$T/m.pkg.sig"

# A key statement signature over the package, in the manifest's Signature field.
sw_sign_keys "$A_FPR" "$P" "$T/p.keys.sig"
sw_manifest "$T/mk" "Signature=$(base64 -w0 "$T/p.keys.sig")"
sw_sign_manifest "$A_FPR" "$T/mk" "$T/mk.sig"
expect keys_signature_is_not_a_package_signature 5 \
  "payload rejected: .*is a key statement signature \(purpose@swarmup=keys\), not a package signature" -- \
  "$SWARMUP" verify --manifest "$T/mk" --trusted-key "$K/trusted.asc" --product hello "$P"

# A package signed by another tool (no notation) is still a package signature.
sw_sign "$A_FPR" "$P" "$T/p.plain.sig"
sw_manifest "$T/mp" "Signature=$(base64 -w0 "$T/p.plain.sig")"
sw_sign_manifest "$A_FPR" "$T/mp" "$T/mp.sig"
expect notationless_package_signature_is_accepted 0 "^ok: .*signed by $A_FPR" -- \
  "$SWARMUP" verify --manifest "$T/mp" --trusted-key "$K/trusted.asc" --product hello "$P"

sw_done
