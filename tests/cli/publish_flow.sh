#!/usr/bin/env bash
# swarmup-publish make (online) + sign (offline) produce a release that plain
# gpg and swarmup both accept; sign refuses a package that is not the draft's.
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
K=$T/keys
mkdir -p "$T/pub"
head -c 1000000 /dev/urandom >"$T/pub/hello-2.0.tar.gz"
P=$T/pub/hello-2.0.tar.gz

expect make_writes_torrent_and_draft 0 "^draft: " -- \
  "$PUBLISH" make --file "$P" --product hello --channel stable --version 2.0 --sequence 7 \
  --fallback https://origin.test.invalid/hello/hello-2.0.tar.gz --fallback https://mirror.test.invalid/hello-2.0.tar.gz \
  --tracker http://127.0.0.1:6969/announce --peer 127.0.0.1:6881 --expires-days 10
D=$T/pub/hello-stable.manifest.draft
ok draft_exists test -f "$D"
ok draft_has_no_signature_yet sh -c "! grep -q '^Signature:' '$D'"
ok draft_names_torrent_beside_package grep -qx 'Torrent: https://origin.test.invalid/hello/hello-2.0.tar.gz.torrent' "$D"
ok draft_magnet_is_hybrid grep -qE '^Magnet: magnet:\?xt=urn:btmh:1220[0-9a-f]{64}&xt=urn:btih:[0-9a-f]{40}&dn=hello-2.0.tar.gz&tr=http://127.0.0.1:6969/announce&x.pe=127.0.0.1:6881$' "$D"

# The torrent is hybrid and its hashes are the magnet's (checked with python3-libtorrent).
BTMH=$(sed -n 's/^Magnet: magnet:?xt=urn:btmh:1220\([0-9a-f]*\).*/\1/p' "$D")
BTIH=$(sed -n 's/^Magnet: .*xt=urn:btih:\([0-9a-f]*\).*/\1/p' "$D")
LT=$(/usr/bin/python3 -c 'import sys, libtorrent as lt
ti = lt.torrent_info(sys.argv[1]); h = ti.info_hashes()
print(str(h.v2), str(h.v1), ti.num_files(), ti.files().file_name(0), ti.total_size())' "$P.torrent")
expect torrent_hashes_match_magnet 0 "^$BTMH $BTIH 1 hello-2.0.tar.gz 1000000$" -- echo "$LT"

# sign refuses a package that differs from the draft.
head -c 1000000 /dev/urandom >"$T/other.tar.gz"
expect sign_refuses_package_not_matching_draft 5 "does not match the draft" -- \
  "$PUBLISH" sign --draft "$D" --file "$T/other.tar.gz" --key "$A_FPR" --homedir "$GNUPGHOME" --yes
expect sign_without_confirmation_signs_nothing 1 "not signed" -- \
  sh -c "echo no | '$PUBLISH' sign --draft '$D' --file '$P' --key '$A_FPR' --homedir '$GNUPGHOME'"
ok nothing_signed_after_refusal test ! -e "$T/pub/hello-stable.manifest"
expect sign_shows_checklist_and_signs 0 "Sequence 7" -- \
  sh -c "echo yes | '$PUBLISH' sign --draft '$D' --file '$P' --key '$A_FPR' --homedir '$GNUPGHOME'"
MAN=$T/pub/hello-stable.manifest
ok signed_manifest_and_signature_exist test -f "$MAN" -a -f "$MAN.sig"
expect plain_gpg_verifies_published_manifest 0 "Good signature" -- gpg --homedir "$GNUPGHOME" --verify "$MAN.sig" "$MAN"
grep '^Signature: ' "$MAN" | cut -d' ' -f2 | base64 -d >"$T/pkg.sig"
expect plain_gpg_verifies_package_signature 0 "Good signature" -- gpg --homedir "$GNUPGHOME" --verify "$T/pkg.sig" "$P"
expect swarmup_check_accepts_published_release 100 "update available: hello 2.0 \(sequence 7" -- \
  "$SWARMUP" check --manifest "$MAN" --trusted-key "$K/trusted.asc" --product hello --state-dir "$T/st"
expect swarmup_verify_accepts_published_package 0 "^ok: " -- \
  "$SWARMUP" verify --manifest "$MAN" --trusted-key "$K/trusted.asc" --product hello "$P"
expect sign_refuses_already_signed_manifest 2 "already has a Signature" -- \
  "$PUBLISH" sign --draft "$MAN" --file "$P" --key "$A_FPR" --homedir "$GNUPGHOME" --yes
expect make_refuses_http_fallback 2 "would be rejected" -- \
  "$PUBLISH" make --file "$P" --product hello --version 2.0 --sequence 8 --fallback http://origin.test.invalid/x --out-dir "$T"
expect publish_has_help 0 "usage: swarmup-publish make" -- "$PUBLISH" --help

# cmake --install puts both programs in bin/.
expect cmake_install_puts_programs_in_bin 0 "" -- cmake --install "$SW_BUILD" --prefix "$T/prefix"
ok installed_swarmup test -x "$T/prefix/bin/swarmup"
ok installed_swarmup_publish test -x "$T/prefix/bin/swarmup-publish"

sw_done
