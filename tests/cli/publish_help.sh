#!/usr/bin/env bash
# swarmup-publish: each command's --help explains every flag it takes and lists
# the exit codes; `version` works like swarmup's; a flag of another command is
# refused; --piece-size takes the units swarmup takes.
. "$(dirname "$0")/lib.sh" "$1"

# documents CMD... -- FLAG...: CMD's help has an option line for each FLAG and the exit codes.
documents() {
  local cmd=() out f missing=()
  while [ "$1" != -- ]; do cmd+=("$1"); shift; done
  shift
  out=$("$PUBLISH" "${cmd[@]}" --help) || { echo "   ${cmd[*]} --help failed"; return 1; }
  for f in "$@"; do grep -qE -- "^  $f( |$)" <<<"$out" || missing+=("$f"); done
  grep -q "^exit status: 0 " <<<"$out" || missing+=("exit status")
  [ ${#missing[@]} -eq 0 ] || { echo "   ${cmd[*]} --help lacks: ${missing[*]}"; return 1; }
}
ok make_help_explains_every_flag documents make -- --file --product --channel --version --sequence --fallback \
  --tracker --peer --expires-days --out-dir --torrent-url --no-torrent-url --piece-size
ok sign_help_explains_every_flag documents sign -- --draft --file --key --homedir --yes --out-dir --name
ok keys_init_help_explains_every_flag documents keys init -- --product --key --threshold --next --next-threshold \
  --expires-days --out --homedir
ok keys_rotate_help_explains_every_flag documents keys rotate -- --from --key --drop --threshold --next \
  --next-threshold --sequence-floor --expires-days --out --homedir
ok keys_sign_help_explains_every_flag documents keys sign -- --draft --key --yes --homedir
expect sign_help_lists_exit_5 0 "5 PKG does not match the draft" -- "$PUBLISH" sign --help
expect help_command_gives_the_commands_help 0 "^usage: swarmup-publish make " -- "$PUBLISH" help make
expect help_keys_rotate_gives_its_help 0 "^usage: swarmup-publish keys rotate " -- "$PUBLISH" help keys rotate
expect top_help_lists_version_and_exit_codes 0 "version +print the version" -- "$PUBLISH" --help
expect top_help_points_to_the_man_page 0 "man swarmup-publish" -- "$PUBLISH" help

v=$("$SWARMUP" version | sed 's/^swarmup //')
expect version_command_matches_swarmups 0 "^swarmup-publish $v$" -- "$PUBLISH" version
expect dash_dash_version_too 0 "^swarmup-publish $v$" -- "$PUBLISH" --version
expect unknown_command_is_a_usage_error 2 "unknown command \"frobnicate\"" -- "$PUBLISH" frobnicate

# Flags belong to their command.
expect sign_flag_given_to_make_is_refused 2 "unknown option --key for make \(see swarmup-publish make --help\)" -- \
  "$PUBLISH" make --key ABC
expect make_flag_given_to_sign_is_refused 2 "unknown option --tracker for sign" -- "$PUBLISH" sign --tracker x

# --piece-size as people type it; one piece is "1 piece".
head -c 100000 /dev/urandom >"$T/p.bin"
M=(make --file "$T/p.bin" --product hello --version 1 --sequence 1 --fallback https://127.0.0.1:9/p.bin)
expect piece_size_takes_a_suffix 0 "1 piece of 262144 bytes\)" -- "$PUBLISH" "${M[@]}" --piece-size 256K
expect piece_size_in_bytes_still_works 0 "7 pieces of 16384 bytes\)" -- "$PUBLISH" "${M[@]}" --piece-size 16384
expect piece_size_with_unknown_unit_is_a_usage_error 2 '--piece-size "4X": unknown unit' -- \
  "$PUBLISH" "${M[@]}" --piece-size 4X
expect piece_size_not_a_power_of_two_is_a_usage_error 2 "not a power of two" -- "$PUBLISH" "${M[@]}" --piece-size 1000

sw_done
