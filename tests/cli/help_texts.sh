#!/usr/bin/env bash
# What --help says is true: it points to what is installed (the man pages), and
# the key formats it names are the ones that work.
. "$(dirname "$0")/lib.sh" "$1"

expect usage_points_to_the_man_pages 0 "man swarmup, man swarmup-publish" -- "$SWARMUP" --help
out=$("$SWARMUP" --help; for c in check verify fetch seed; do "$SWARMUP" "$c" --help; done)
ok help_names_no_docs_file_that_is_not_installed sh -c "! grep -q 'docs/' <<'EOT'
$out
EOT"
ok trusted_key_help_says_armored_or_binary grep -q -- "--trusted-key FILE .*(armored or binary)" <<<"$out"
ok man_page_is_installed_by_cmake grep -q "docs/man/swarmup.1" "$SW_SRC/CMakeLists.txt"

# The claim checked: a binary (unarmored) key file is taken like an armored one.
sw_keys
K=$T/keys
sw_release "$T/rel" hello-1.0.tar.gz 20000
sw_signed_manifest "$T/m"
gpg --homedir "$GNUPGHOME" --batch --export "$A_FPR" >"$T/trusted.gpg"
ok binary_key_file_is_not_armored sh -c "! grep -q 'BEGIN PGP' '$T/trusted.gpg'"
expect binary_trusted_key_is_accepted 100 "update available" -- \
  "$SWARMUP" check --manifest "$T/m" --trusted-key "$T/trusted.gpg" --product hello --state-dir "$T/st"

sw_done
