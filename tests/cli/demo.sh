#!/usr/bin/env bash
# The README's demo runs to the end on this build (every refusal it shows is checked
# there); it is quiet (no build progress, no gpg chatter), names files the same way
# in its commands and in their output, and --keep keeps its directory.
. "$(dirname "$0")/lib.sh" "$1"
DEMO=$SW_SRC/tools/demo.sh

rc=0
out=$(SW_BUILD=$SW_BUILD bash "$DEMO" --keep 2>&1) || rc=$?
kept=$(sed -n 's/^kept the demo.s directory: \([^ ]*\) .*/\1/p' <<<"$out")
case $kept in /tmp/swdemo.*) SW_CLEANUPS+=("rm -rf '$kept'") ;; *) kept="" ;; esac
if [ "$rc" -ne 0 ]; then tail -20 <<<"$out"; fi
ok demo_runs_to_the_end test "$rc" = 0
ok demo_refuses_every_forgery grep -q "every forgery was refused" <<<"$out"
ok demo_client_state_says_sequence_2 grep -q "^sequence 2$" <<<"$out"
ok demo_check_exits_100_for_an_update grep -q "^(exit 100: an update is available)$" <<<"$out"
quiet_output() { ! grep -qE 'trustdb|ultimately trusted|revocation certificate|keybox|Building C|\[ *[0-9]+%\]' <<<"$out"; }
ok demo_is_quiet_by_default quiet_output
no_placeholder() { ! grep -qF '$W' <<<"$out"; }
ok demo_commands_show_no_placeholder_paths no_placeholder
ok demo_command_and_output_name_the_file_alike grep -qx 'ok: ./pub/hello-1.0.tar.gz is hello 1.0 (sequence 1), signed by [0-9A-F]*' <<<"$out"
ok demo_verify_command_names_the_same_path grep -q '^\$ swarmup verify .* \./pub/hello-1\.0\.tar\.gz$' <<<"$out"
ok keep_prints_the_kept_directory test -n "$kept"
ok kept_directory_holds_the_release test -f "$kept/pub/hello-stable.manifest" -a -f "$kept/installA/hello-2.0.tar.gz"
ok kept_directory_holds_the_gpg_chatter grep -q trustdb "$kept/gpg.log"
expect demo_help_names_keep 0 "--keep" -- bash "$DEMO" --help
expect demo_refuses_an_unknown_argument 2 "unknown argument --bogus" -- bash "$DEMO" --bogus

sw_done
