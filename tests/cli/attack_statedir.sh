#!/usr/bin/env bash
# Attacks on the state dir and the store (issue 10, section 1): a state dir
# owned by another user or writable by others, symlinks planted where
# swarmup writes (the lock, a .part), a deleted state file, and a seeder that
# finds in its store a kept manifest or a .torrent it must not trust after a
# restart. Each is refused with a one-line message naming the path; the
# planted link's target is left untouched. The defaults (/var/lib/swarmup for
# root, XDG for a user) keep working.
# Needs root (chown to nobody, setpriv to nobody, a private mount namespace for
# /var/lib); skipped (exit 77) without those capabilities.
. "$(dirname "$0")/lib.sh" "$1"

sw_need_caps "chown to nobody, run as nobody, a private mount namespace for /var/lib" CAP_CHOWN CAP_SETUID CAP_SYS_ADMIN
unset SWARMUP_STATE_DIR

sw_keys
K=$T/keys
NAME=hello-1.0.tar.gz
SIZE=300000
mkdir -p "$T/rel"
head -c "$SIZE" /dev/urandom >"$T/rel/$NAME"
"$PUBLISH" make --file "$T/rel/$NAME" --product hello --version 1.0 --sequence 10 \
  --fallback "https://127.0.0.1:9/$NAME" --no-torrent-url --out-dir "$T/rel" >"$T/rel/make.out"
sw_sign_package "$A_FPR" "$T/rel/$NAME" "$T/rel/$NAME.sig"
REL_FILE=$NAME REL_SIZE=$SIZE REL_SHA=$(sha256sum "$T/rel/$NAME" | cut -d' ' -f1)
REL_MAGNET=$(sed -n 's/^magnet: *//p' "$T/rel/make.out") REL_PKGSIG=$(base64 -w0 "$T/rel/$NAME.sig")
sw_signed_manifest "$T/m"
sw_signed_manifest "$T/m5" Sequence=5
CK=(--trusted-key "$K/trusted.asc" --product hello)
F=("${CK[@]}" "${SW_NET[@]}" --seed-time 0 --no-swarm --https-retries 1)
NOBODY=$(id -u nobody)

chk() { "$SWARMUP" check --manifest "$T/m" "${CK[@]}" --state-dir "$@"; }
victim() { printf 'precious %s\n' "$1" >"$T/victim.$1"; }
victim_intact() { [ "$(cat "$T/victim.$1")" = "precious $1" ]; }

# --- the state dir itself ----------------------------------------------------------
# nobody made the dir (e.g. /tmp/x) and planted lock -> a root-owned file.
E1=$T/evil1
mkdir "$E1" && chown nobody "$E1"
victim 1
setpriv --reuid=nobody --regid=nogroup --clear-groups ln -s "$T/victim.1" "$E1/lock" 2>/dev/null ||
  { ln -s "$T/victim.1" "$E1/lock" && chown -h nobody "$E1/lock"; }
expect state_dir_owned_by_another_user_is_refused 2 \
  "unsafe directory $E1: owned by uid $NOBODY, not by uid 0 .*fix: chown 0 " -- chk "$E1"
ok state_dir_owned_by_another_user_lock_target_untouched victim_intact 1
ok state_dir_owned_by_another_user_nothing_written test -z "$(find "$E1" -mindepth 1 ! -name lock | head -1)"
expect fetch_into_state_dir_owned_by_another_user_is_refused 2 "unsafe directory $E1: owned by uid $NOBODY" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$E1" --out "$T/out1" "${F[@]}"
ok fetch_refused_lock_target_untouched victim_intact 1
ok fetch_refused_out_not_created test ! -e "$T/out1"

expect seed_into_state_dir_owned_by_another_user_is_refused 2 "unsafe directory $E1: owned by uid $NOBODY" -- \
  timeout 20 "$SWARMUP" seed --manifest "$T/m" "${CK[@]}" --state-dir "$E1" --listen 127.0.0.1:0 --no-dht --no-lsd
ok seed_refused_lock_target_untouched victim_intact 1

E2=$T/evil2
mkdir "$E2" && chmod 0770 "$E2"
expect state_dir_writable_by_group_is_refused 2 \
  "unsafe directory $E2: writable by group or others \(mode 0770\).*fix: chmod go-w " -- chk "$E2"
E2b=$T/evil2b
mkdir "$E2b" && chmod 0707 "$E2b"
expect state_dir_writable_by_others_is_refused 2 "unsafe directory $E2b: writable by group or others" -- chk "$E2b"

# A used directory under a good state dir: the product dir opened up to everyone.
E3=$T/s3
chk "$E3" >/dev/null || [ $? = 100 ]
chmod 0777 "$E3/hello"
expect product_dir_writable_by_others_is_refused 2 "unsafe directory $E3/hello: writable by group or others" -- chk "$E3"
chmod 0700 "$E3/hello"
chown nobody "$E3/hello/stable"
expect channel_dir_owned_by_another_user_is_refused 2 "unsafe directory $E3/hello/stable: owned by uid $NOBODY" -- \
  chk "$E3"
chown root "$E3/hello/stable"
# A parent of the state dir that others may write (not sticky): the dir could be swapped.
mkdir -p "$T/openparent/st" && chmod 0777 "$T/openparent"
expect state_dir_under_writable_parent_is_refused 2 "unsafe directory $T/openparent: writable by group or others" -- \
  chk "$T/openparent/st"
chmod 0755 "$T/openparent"

# --- planted symlinks in a dir that is ours now (planted while it was not) ----------
S4=$T/s4
mkdir -m 0700 "$S4"
victim 4
ln -s "$T/victim.4" "$S4/lock"
expect planted_lock_symlink_is_not_followed 1 "lock $S4/lock: .*(symbolic link|Too many levels)" -- chk "$S4"
ok planted_lock_symlink_target_untouched victim_intact 4

# The lock is written in place, never truncated (a hard link or a file we were
# tricked into using as the lock keeps its length).
S4b=$T/s4b
mkdir -m 0700 "$S4b"
head -c 4096 /dev/zero | tr '\0' x >"$S4b/lock"
expect check_with_long_lock_file_works 100 "update available" -- chk "$S4b"
ok lock_file_is_never_truncated test "$(stat -c %s "$S4b/lock")" = 4096
ok lock_file_holds_the_pid_in_place grep -qE '^[0-9]+ +$' <(head -1 "$S4b/lock")

S5=$T/s5
chk "$S5" >/dev/null || [ $? = 100 ]
mkdir -m 0700 -p "$S5/hello/stable/store/10"
head -c $((SIZE + 4096)) /dev/urandom >"$T/victim.5"
cp "$T/victim.5" "$T/victim.5.orig"
ln -s "$T/victim.5" "$S5/hello/stable/store/10/$NAME.part"
expect planted_part_symlink_does_not_truncate_target 1 "$NAME.part: .*(symbolic link|Too many levels)" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$S5" --out "$T/out5" "${F[@]}"
ok planted_part_symlink_target_untouched cmp -s "$T/victim.5" "$T/victim.5.orig"
rm "$S5/hello/stable/store/10/$NAME.part"
chown nobody "$S5/hello/stable/store/10"
expect store_dir_owned_by_another_user_is_refused 2 \
  "unsafe directory $S5/hello/stable/store/10: owned by uid $NOBODY" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$S5" --out "$T/out5" "${F[@]}"
ok store_dir_owned_by_another_user_out_not_created test ! -e "$T/out5"

# --- a deleted state file is not "nothing accepted yet" ------------------------------
S6=$T/s6
expect first_check_accepts_sequence_10 100 "sequence 10" -- chk "$S6"
rm "$S6/hello/stable/state"
expect deleted_state_file_is_an_error_not_sequence_0 1 \
  "state file $S6/hello/stable/state is missing, but an earlier run recorded one" -- \
  "$SWARMUP" check --manifest "$T/m5" "${CK[@]}" --state-dir "$S6"
rm -rf "$S6/hello"
expect deleted_product_dir_is_an_error_not_sequence_0 1 "is missing, but an earlier run recorded one" -- \
  "$SWARMUP" check --manifest "$T/m5" "${CK[@]}" --state-dir "$S6"
# A state dir from before STATE/known existed: the pair is registered when its state is read.
S6a=$T/s6a
chk "$S6a" >/dev/null || [ $? = 100 ]
rm "$S6a/known"
chk "$S6a" >/dev/null || [ $? = 100 ]
rm "$S6a/hello/stable/state"
expect deleted_state_file_of_older_state_dir_is_an_error 1 "is missing, but an earlier run recorded one" -- \
  "$SWARMUP" check --manifest "$T/m5" "${CK[@]}" --state-dir "$S6a"
S6b=$T/s6b
chk "$S6b" >/dev/null || [ $? = 100 ]
: >"$S6b/hello/stable/state"
expect empty_state_file_is_an_error_not_sequence_0 1 "corrupt" -- \
  "$SWARMUP" check --manifest "$T/m5" "${CK[@]}" --state-dir "$S6b"

# --- the defaults keep working ---------------------------------------------------------
# root: /var/lib/swarmup, in a private mount namespace over a fresh /var/lib.
expect default_state_dir_still_works_for_root 100 "update available: hello 1.0 \(sequence 10" -- \
  unshare -m --propagation private sh -c 'mount -t tmpfs -o mode=0755 tmpfs /var/lib || exit 1; "$@"; rc=$?
    test "$(stat -c %a:%u /var/lib/swarmup)" = 700:0 && test -f /var/lib/swarmup/hello/stable/state && exit $rc' \
  sh "$SWARMUP" check --manifest "$T/m" "${CK[@]}"
# a user: $XDG_STATE_HOME/swarmup, made by the user.
UH=$(mktemp -d /tmp/swt-home.XXXXXX)
SW_CLEANUPS+=("rm -rf '$UH'")
cp "$T/m" "$T/m.sig" "$K/trusted.asc" "$UH/"
chown -R nobody "$UH"
# nobody may not reach the build (a fresh clone as root lives in /root, 0700): a copy it can run.
UB=$(mktemp -d /tmp/swt-bin.XXXXXX)
SW_CLEANUPS+=("rm -rf '$UB'")
chmod 755 "$UB"
cp "$SWARMUP" "$UB/swarmup"
expect default_state_dir_still_works_for_user 100 "update available: hello 1.0 \(sequence 10" -- \
  setpriv --reuid=nobody --regid=nogroup --clear-groups env -u XDG_STATE_HOME HOME="$UH" TMPDIR=/tmp \
  "$UB/swarmup" check --manifest "$UH/m" --trusted-key "$UH/trusted.asc" --product hello
ok user_default_state_dir_is_private test "$(stat -c %a:%u "$UH/.local/state/swarmup")" = "700:$NOBODY"

# --- the seeder re-checks its store after a restart ----------------------------------
SD=$T/seedstate
seed_run() { # LOG TRUSTED-KEY [more]: the seeder in the background; sets SEEDPID
  local log=$1 key=$2
  shift 2
  "$SWARMUP" seed --manifest "$T/m" --trusted-key "$key" --product hello --state-dir "$SD" \
    --listen "127.0.0.1:0" --no-dht --no-lsd --no-utp --poll 3600 --json "$@" >"$log" 2>&1 &
  SEEDPID=$!
  SW_CLEANUPS+=("kill -9 $SEEDPID 2>/dev/null")
}
seed_stop() { kill "$SEEDPID" 2>/dev/null || true; wait "$SEEDPID" 2>/dev/null || true; }
seed_run "$T/seed1.log" "$K/trusted.asc" --from "$T/rel/$NAME"
ok seeder_adopts_and_seeds_release sw_wait_for "$T/seed1.log" '"event":"seeding".*"sequence":10' 60
seed_stop
STORE=$SD/hello/stable/store/10
ok seeder_kept_a_torrent_in_the_store test -s "$STORE/$NAME.torrent"
seed_run "$T/seed2.log" "$K/trusted.asc"
ok seeder_reseeds_verified_store_after_restart sw_wait_for "$T/seed2.log" \
  '"event":"seeding".*"sequence":10.*verified earlier' 30
seed_stop

# The trust changed (key A dropped for key E): what A signed is not seeded any more.
seed_run "$T/seed3.log" "$K/second.asc"
ok seeder_refuses_store_manifest_not_signed_by_current_trust sw_wait_for "$T/seed3.log" \
  '"event":"refused".*"sequence":10.*kept manifest.*signature' 30
sleep 1
ok seeder_did_not_seed_under_old_trust bash -c "! grep -q '\"event\":\"seeding\"' '$T/seed3.log'"
seed_stop

# The stored .torrent swapped for one of another file (same name and size): not the signed btmh.
mkdir -p "$T/other"
head -c "$SIZE" /dev/urandom >"$T/other/$NAME"
"$PUBLISH" make --file "$T/other/$NAME" --product hello --version 1.0 --sequence 10 \
  --fallback "https://127.0.0.1:9/$NAME" --no-torrent-url --out-dir "$T/other" >/dev/null
cp "$T/other/$NAME.torrent" "$STORE/$NAME.torrent"
seed_run "$T/seed4.log" "$K/trusted.asc"
ok seeder_refuses_torrent_not_matching_btmh sw_wait_for "$T/seed4.log" \
  '"event":"refused".*"sequence":10.*torrent.*btmh' 30
sleep 1
ok seeder_did_not_seed_the_swapped_torrent bash -c "! grep -q '\"event\":\"seeding\"' '$T/seed4.log'"
seed_stop

sw_done
