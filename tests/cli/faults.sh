#!/usr/bin/env bash
# `swarmup fetch` under local faults: a full disk (state dir, --out), a file
# size limit (ulimit -f), a read-only state dir, a missing state dir under a
# read-only parent, an unusable trusted key, a manifest dated in the future,
# and two runs on one state dir. Each must fail with a clear message and the
# README's exit code, leave --out without a partial file and the state dir
# unchanged and readable; after the fault is gone a rerun completes.
# Needs root (tmpfs mounts); everything on 127.0.0.1; every wait is bounded.
. "$(dirname "$0")/lib.sh" "$1"

sw_need_caps "tmpfs mounts for a full disk and a read-only state dir" CAP_SYS_ADMIN

sw_keys
K=$T/keys
NAME=hello-1.0.tar.gz
SIZE=$((64 * 1024 * 1024 + 12345))
sw_release "$T/rel" "$NAME" "$SIZE"
PKG=$T/rel/$NAME
echo "old release" >"$T/old.bin"

N=$T/nginx
mkdir -p "$N/www" "$N/extra"
ln "$PKG" "$N/www/$NAME"
cat >"$N/extra/faults.conf" <<CONF
location /medium/ { alias $N/www/; limit_rate 16m; }
CONF
sw_nginx "$N"

sw_signed_manifest "$T/m" "Fallback=$U/$NAME"
sw_signed_manifest "$T/mslow" "Fallback=$U/medium/$NAME"
CK=(--trusted-key "$K/trusted.asc" --product hello)
F=("${CK[@]}" "${SW_NET[@]}" --ca-file "$N/ca.pem" --seed-time 0 --no-swarm)

# mount_tmpfs DIR SIZE [ro]: a tmpfs of our own, unmounted (bounded) at exit.
mount_tmpfs() {
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2,mode=0700${3:+,$3}" tmpfs "$1"
  SW_CLEANUPS+=("timeout 10 umount '$1' 2>/dev/null || umount -l '$1'")
}
# tree_sum DIR: names of everything under DIR and the content of every file
# but the lock (which holds the pid of the last run as information only).
tree_sum() {
  { (cd "$1" && find . | sort)
    (cd "$1" && find . -type f ! -name lock -print0 | sort -z | xargs -0 -r sha256sum); } | sha256sum | cut -d' ' -f1
}
state_ok() { # DIR [MANIFEST]: the state dir reads and says sequence 10 was accepted
  local out rc=0
  out=$("$SWARMUP" check --manifest "${2:-$T/m}" "${CK[@]}" --state-dir "$1" 2>&1) || rc=$?
  { [ "$rc" = 0 ] || [ "$rc" = 100 ]; } && ! grep -qi corrupt <<<"$out" && grep -qx "sequence 10" "$1/hello/stable/state"
}
only_old_in() { [ "$(ls -A "$1")" = "$NAME" ] && cmp -s "$1/$NAME" "$T/old.bin"; }
installed_in() { [ "$(ls -A "$1")" = "$NAME" ] && cmp -s "$1/$NAME" "$PKG"; }
no_tmp_left() { [ -z "$(find "$1" -name '.*.tmp.*' | head -1)" ]; }

# --- 1. the state dir's disk fills up while downloading -------------------------
S1=$T/full-state
mount_tmpfs "$S1" 20m
"$SWARMUP" check --manifest "$T/m" "${CK[@]}" --state-dir "$S1" >/dev/null || [ $? = 100 ]
before=$(sha256sum <"$S1/hello/stable/state")
mkdir -p "$T/out1" && cp "$T/old.bin" "$T/out1/$NAME"
expect disk_full_in_state_dir_is_io_error_exit_1 1 \
  "swarmup fetch: writing .*$NAME\.part: No space left on device" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$S1" --out "$T/out1" "${F[@]}"
ok disk_full_leaves_old_file_in_out only_old_in "$T/out1"
ok disk_full_leaves_state_file_unchanged test "$(sha256sum <"$S1/hello/stable/state")" = "$before"
ok disk_full_state_still_reads state_ok "$S1"
mount -o remount,size=160m "$S1"
rc=0; "$SWARMUP" fetch --manifest "$T/m" --state-dir "$S1" --out "$T/out1" "${F[@]}" --json >"$T/f1.log" 2>&1 || rc=$?
ok rerun_with_more_space_completes test "$rc" -eq 0
ok rerun_with_more_space_resumes grep -qE '"event":"https-resume".*at byte [1-9]' "$T/f1.log"
ok rerun_with_more_space_installs_exact_file installed_in "$T/out1"

# A full disk when a newer manifest is recorded: the old record stays whole.
sw_signed_manifest "$T/m11" "Fallback=$U/$NAME" Sequence=11 Version=1.1
head -c 200m /dev/zero >"$S1/filler" 2>/dev/null || true
before=$(tree_sum "$S1/hello")
expect full_disk_when_recording_state_is_io_error_exit_1 1 'No space left on device' -- \
  "$SWARMUP" fetch --manifest "$T/m11" --state-dir "$S1" --out "$T/out1" "${F[@]}"
ok full_disk_keeps_old_state_record test "$(tree_sum "$S1/hello")" = "$before"
ok full_disk_leaves_no_temp_file no_tmp_left "$S1"
ok full_disk_when_recording_state_still_reads state_ok "$S1"
ok full_disk_when_recording_leaves_out_alone installed_in "$T/out1"
rm -f "$S1/filler"

# The same from the swarm (swarm only): a local disk error, exit 1, naming the cause.
mkdir -p "$T/seedsrc" && ln "$PKG" "$T/seedsrc/$NAME"
sw_lt_seed sw "$T/rel/$NAME.torrent" "$T/seedsrc"
sw_signed_manifest "$T/mswarm" "Magnet=$REL_MAGNET&x.pe=127.0.0.1:$LT_PORT" "Fallback=$U/$NAME"
FS=("${CK[@]}" "${SW_NET[@]}" --ca-file "$N/ca.pem" --seed-time 0)
S1b=$T/full-state-swarm
mount_tmpfs "$S1b" 20m
"$SWARMUP" check --manifest "$T/mswarm" "${CK[@]}" --state-dir "$S1b" >/dev/null || [ $? = 100 ]
before=$(sha256sum <"$S1b/hello/stable/state")
expect disk_full_from_swarm_is_io_error_exit_1 1 'No space left on device' -- \
  timeout -s KILL 60 "$SWARMUP" fetch --manifest "$T/mswarm" --state-dir "$S1b" --out "$T/out1b" "${FS[@]}" --no-fallback
ok disk_full_from_swarm_out_not_created test ! -e "$T/out1b"
ok disk_full_from_swarm_state_unchanged test "$(sha256sum <"$S1b/hello/stable/state")" = "$before"
mount -o remount,size=160m "$S1b"
expect rerun_from_swarm_with_more_space_completes 0 "installed $T/out1b/$NAME" -- \
  timeout -s KILL 60 "$SWARMUP" fetch --manifest "$T/mswarm" --state-dir "$S1b" --out "$T/out1b" "${FS[@]}" --no-fallback
ok rerun_from_swarm_with_more_space_installs_exact_file installed_in "$T/out1b"

# --- 2. a file size limit (ulimit -f): a clear error, not death by SIGXFSZ ---------
mkdir -p "$T/out2" && cp "$T/old.bin" "$T/out2/$NAME"
rc=0
(ulimit -f $((8 * 1024 * 2)); exec "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s2" --out "$T/out2" "${F[@]}") \
  >"$T/f2.log" 2>&1 || rc=$?
echo "   under ulimit -f 8 MiB: exit $rc: $(tail -1 "$T/f2.log")"
ok file_size_limit_is_not_death_by_sigxfsz test "$rc" -ne $((128 + 25))
ok file_size_limit_is_io_error_exit_1 test "$rc" -eq 1
ok file_size_limit_names_the_file grep -qE "$NAME\.part: File too large" "$T/f2.log"
ok file_size_limit_leaves_old_file_in_out only_old_in "$T/out2"
ok file_size_limit_state_still_reads state_ok "$T/s2"
expect rerun_without_size_limit_completes 0 "installed $T/out2/$NAME" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s2" --out "$T/out2" "${F[@]}"
ok rerun_without_size_limit_installs_exact_file installed_in "$T/out2"

# --- 3. --out on a full disk: exit 1, nothing (partial or hidden) left in --out ----
O3=$T/full-out
mount_tmpfs "$O3" 20m
cp "$T/old.bin" "$O3/$NAME"
expect full_out_is_io_error_exit_1 1 'No space left on device' -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s3" --out "$O3" "${F[@]}"
ok full_out_keeps_only_the_old_file only_old_in "$O3"
used=$(df -k --output=used "$O3" | tail -1 | tr -d ' ')
ok full_out_space_is_given_back test "$used" -lt 1024
ok full_out_state_still_reads state_ok "$T/s3"
mount -o remount,size=160m "$O3"
expect rerun_with_room_in_out_completes 0 "installed $O3/$NAME" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s3" --out "$O3" "${F[@]}"
ok rerun_with_room_in_out_installs_exact_file installed_in "$O3"

# --- 4. a read-only state dir; a missing state dir under a read-only parent --------
S4=$T/ro-state
mount_tmpfs "$S4" 4m
"$SWARMUP" check --manifest "$T/m" "${CK[@]}" --state-dir "$S4" >/dev/null || [ $? = 100 ]
mount -o remount,ro "$S4"
before=$(tree_sum "$S4")
expect read_only_state_dir_is_io_error_exit_1 1 "swarmup fetch: state dir $S4: Read-only file system" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$S4" --out "$T/out4" "${F[@]}"
ok read_only_state_dir_unchanged test "$(tree_sum "$S4")" = "$before"
ok read_only_state_dir_out_not_created test ! -e "$T/out4"
expect read_only_state_dir_check_is_exit_1 1 "Read-only file system" -- \
  "$SWARMUP" check --manifest "$T/m" "${CK[@]}" --state-dir "$S4"
P5=$T/ro-parent
mount_tmpfs "$P5" 1m ro
expect missing_state_dir_under_read_only_parent_exit_1 1 "mkdir $P5/state: Read-only file system" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$P5/state" --out "$T/out5" "${F[@]}"
ok missing_state_dir_not_created test ! -e "$P5/state" -a ! -e "$T/out5"

# --- 5. an unusable trusted key: exit 2, the state dir untouched --------------------
S6=$T/s6
"$SWARMUP" check --manifest "$T/m" "${CK[@]}" --state-dir "$S6" >/dev/null || [ $? = 100 ]
before=$(tree_sum "$S6")
mkdir -p "$T/keydir"
head -c 3000 /dev/urandom >"$T/garbage.asc"
printf -- '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5Cg==\n-----END PGP PUBLIC KEY BLOCK-----\n' >"$T/badarmor.asc"
# fetch6 KEY-OPTIONS...: an HTTPS-only fetch into S6 with these key options.
fetch6() { "$SWARMUP" fetch --manifest "$T/m" "$@" --state-dir "$S6" --out "$T/out6" --seed-time 0 --no-swarm; }
expect trusted_key_directory_is_config_error_exit_2 2 "trusted key $T/keydir: not a regular file" -- \
  fetch6 --trusted-key "$T/keydir" --product hello
expect missing_trusted_key_is_config_error_exit_2 2 "trusted key $T/nokey.asc: No such file or directory" -- \
  fetch6 --trusted-key "$T/nokey.asc" --product hello
expect garbage_trusted_key_is_config_error_exit_2 2 "trusted key $T/garbage.asc" -- \
  fetch6 --trusted-key "$T/garbage.asc" --product hello
expect bad_armor_trusted_key_is_config_error_exit_2 2 "trusted key $T/badarmor.asc" -- \
  fetch6 --trusted-key "$T/badarmor.asc" --product hello
expect second_key_unusable_is_still_exit_2 2 "trusted key $T/nokey.asc" -- \
  fetch6 "${CK[@]}" --trusted-key "$T/nokey.asc"
ok bad_trusted_keys_leave_state_unchanged test "$(tree_sum "$S6")" = "$before"
ok bad_trusted_keys_leave_out_alone test ! -e "$T/out6"

# --- 6. our clock is 2 days behind the manifest's Date (signed by the trusted key) --
sw_signed_manifest "$T/mfuture" "Fallback=$U/$NAME" Sequence=11 "Date=$(sw_days 2)"
before=$(tree_sum "$S6")
expect future_date_is_rejected_exit_3 3 \
  "swarmup fetch: manifest rejected: Date .* is .* in the future \(clock skew limit 3600 s\)" -- \
  "$SWARMUP" fetch --manifest "$T/mfuture" --state-dir "$S6" --out "$T/out6" "${F[@]}"
ok future_date_leaves_state_unchanged test "$(tree_sum "$S6")" = "$before"
ok future_date_leaves_out_alone test ! -e "$T/out6"
ok future_date_state_still_says_10 state_ok "$S6"

# --- 7. two runs on one state dir: the second refuses; the first is unharmed --------
S7=$T/s7
"$SWARMUP" fetch --manifest "$T/mslow" --state-dir "$S7" --out "$T/out7" "${F[@]}" >"$T/f7.log" 2>&1 &
FP=$!
SW_CLEANUPS+=("kill -9 $FP 2>/dev/null")
for _ in $(seq 1 100); do [ -s "$S7/hello/stable/store/10/$NAME.part" ] && break; sleep 0.1; done
ok first_run_is_downloading test -s "$S7/hello/stable/store/10/$NAME.part"
expect second_fetch_refuses_while_first_runs 1 \
  "swarmup fetch: state dir $S7 is in use by another swarmup \(pid $FP\); try again when it ends" -- \
  "$SWARMUP" fetch --manifest "$T/mslow" --state-dir "$S7" --out "$T/out7b" "${F[@]}"
expect check_refuses_while_fetch_runs 1 "in use by another swarmup \(pid $FP\)" -- \
  "$SWARMUP" check --manifest "$T/m" "${CK[@]}" --state-dir "$S7"
ok refused_fetch_touched_no_out test ! -e "$T/out7b"
rc=0
for _ in $(seq 1 600); do kill -0 "$FP" 2>/dev/null || break; sleep 0.1; done
wait "$FP" || rc=$?
ok first_fetch_completes test "$rc" -eq 0
ok first_fetch_installs_exact_file installed_in "$T/out7"
ok state_reads_after_concurrent_runs state_ok "$S7" "$T/mslow"
ok state_records_the_install grep -qx "installed-sequence 10" "$S7/hello/stable/state"

sw_done
