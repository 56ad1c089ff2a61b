#!/usr/bin/env bash
# Attacks on --out and the --exec hook (issue 10, section 2 and 7): an --out
# another user owns or can write (a group-writable, a world-writable, a sticky
# /tmp-like dir, a dir under another user's dir), a bad --out found only after
# the download started, a racer that renames its own file over the installed
# one before the hook runs it, and unverified bytes in --out on a file system
# without O_TMPFILE (injected: SWARMUP_FAULT=no-o-tmpfile).
# Needs root (chown to nobody, a racer as nobody, a read-only tmpfs); 127.0.0.1 only; every wait bounded.
. "$(dirname "$0")/lib.sh" "$1"

if [ "$(id -u)" != 0 ]; then echo "attack_out.sh needs root (dirs owned by nobody)"; exit 1; fi
PY=/usr/bin/python3
NOBODY=$(id -u nobody)
# nobody must be able to reach the dirs below $T (mktemp made it 0700).
chmod 0755 "$T"

sw_keys
K=$T/keys
NAME=hello-1.0.sh
# The release is a shell script, so that a hook that runs it shows whose bytes ran.
mkdir -p "$T/rel"
{
  printf '#!/bin/sh\necho verified >"$SW_MARK"\nexit 0\n'
  head -c $((3 * 1024 * 1024)) /dev/urandom | base64 -w 76 | sed 's/^/# /'
} >"$T/rel/$NAME"
"$PUBLISH" make --file "$T/rel/$NAME" --product hello --version 1.0 --sequence 1 \
  --fallback "https://127.0.0.1:9/$NAME" --no-torrent-url >"$T/rel/make.out"
REL_FILE=$NAME
REL_SIZE=$(stat -c %s "$T/rel/$NAME")
REL_SHA=$(sha256sum "$T/rel/$NAME" | cut -d' ' -f1)
REL_MAGNET=$(sed -n 's/^magnet: *//p' "$T/rel/make.out")
sw_sign_package "$A_FPR" "$T/rel/$NAME" "$T/rel/$NAME.sig"
REL_PKGSIG=$(base64 -w0 "$T/rel/$NAME.sig")
printf '#!/bin/sh\necho pwned >"$SW_MARK"\n' >"$T/evil.sh"
EVIL_SHA=$(sha256sum "$T/evil.sh" | cut -d' ' -f1)

N=$T/nginx
mkdir -p "$N/www/tampered" "$N/extra"
cp "$T/rel/$NAME" "$N/www/"
cp "$T/rel/$NAME" "$N/www/tampered/" && sw_flip "$N/www/tampered/$NAME" 2000000
cat >"$N/extra/slow.conf" <<CONF
location /slow1m/ { alias $N/www/; limit_rate 1m; }
CONF
sw_nginx "$N"
export SW_MARK=$T/mark

# inotify through ctypes: "race DIR NAME SRC READY DONE" renames SRC over
# DIR/NAME the moment NAME appears there (moved or created); "watch DIR READY
# STOP OUT" opens every file created in (or moved into) DIR at once and, when STOP exists,
# writes "name size sha256" of what each held (read through the held fd).
cat >"$T/inotify.py" <<'PY'
import ctypes, hashlib, os, select, struct, sys, time
libc = ctypes.CDLL(None, use_errno=True)
IN_CREATE, IN_MOVED_TO = 0x100, 0x80
def out(path, text):
    with open(path, "w") as f:
        f.write(text); f.flush()
def main():
    mode, d = sys.argv[1], sys.argv[2]
    fd = libc.inotify_init1(os.O_NONBLOCK)
    if fd < 0 or libc.inotify_add_watch(fd, d.encode(), IN_CREATE | IN_MOVED_TO) < 0:
        print("inotify failed", ctypes.get_errno(), flush=True); os._exit(1)
    end = time.time() + 120
    if mode == "race":
        name, src, ready, done = sys.argv[3:7]
        out(ready, "ready\n")
    else:
        ready, stop, report = sys.argv[3:6]
        held = []
        out(ready, "ready\n")
    while time.time() < end:
        if mode == "watch" and os.path.exists(stop):
            break
        r, _, _ = select.select([fd], [], [], 0.05)
        if not r:
            continue
        buf = os.read(fd, 65536)
        i = 0
        while i < len(buf):
            wd, mask, cookie, ln = struct.unpack_from("iIII", buf, i)
            ev = buf[i + 16:i + 16 + ln].rstrip(b"\0").decode()
            i += 16 + ln
            if mode == "race" and ev == name:
                try:
                    os.rename(src, os.path.join(d, name))
                    out(done, "swapped\n")
                except OSError as e:
                    out(done, "failed %s\n" % e)
                print("race: swapped", flush=True)
                os._exit(0)
            if mode == "watch" and mask & (IN_CREATE | IN_MOVED_TO):
                try:
                    held.append((ev, os.open(os.path.join(d, ev), os.O_RDONLY)))
                except OSError:
                    held.append((ev, -1))
    if mode == "watch":
        lines = []
        for ev, f in held:
            if f < 0:
                lines.append("%s gone-before-open -\n" % ev); continue
            h, n = hashlib.sha256(), 0
            os.lseek(f, 0, 0)
            while True:
                b = os.read(f, 1 << 20)
                if not b: break
                h.update(b); n += len(b)
            lines.append("%s %d %s\n" % (ev, n, h.hexdigest()))
        out(report, "".join(lines))
    sys.stdout.flush()
    os._exit(0)
main()
PY

# A peer that records every connection (it never speaks BitTorrent).
"$PY" -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
log = open(sys.argv[2], "a")
end = time.time() + 300
s.settimeout(0.5)
conns = []
while time.time() < end:
    try:
        c, a = s.accept(); conns.append(c); log.write("connection\n"); log.flush()
    except socket.timeout:
        pass
' "$T/peer.port" "$T/peer.log" &
SW_CLEANUPS+=("kill $! 2>/dev/null")
sw_wait_for "$T/peer.port" '^[0-9]+$' 10
: >>"$T/peer.log"
PEER="$REL_MAGNET&x.pe=127.0.0.1:$(cat "$T/peer.port")"

sw_signed_manifest "$T/m" "Fallback=$U/$NAME"
sw_signed_manifest "$T/mpeer" "Magnet=$PEER" "Fallback=$U/$NAME"
sw_signed_manifest "$T/mtampered" "Fallback=$U/slow1m/tampered/$NAME"
F=(--trusted-key "$K/trusted.asc" --product hello "${SW_NET[@]}" --ca-file "$N/ca.pem" --seed-time 0)
requests() { grep -c "$NAME" "$N/access.log" || true; }
nothing_in() { [ -z "$(ls -A "$1")" ]; }

# start_racer ID DIR NAME SRC [setpriv args...]: a racer in the background.
start_racer() {
  local id=$1 dir=$2 name=$3 src=$4
  shift 4
  rm -f "$RDV/$id.ready" "$RDV/$id.done"
  "$@" "$PY" "$T/inotify.py" race "$dir" "$name" "$src" "$RDV/$id.ready" "$RDV/$id.done" >"$RDV/$id.log" 2>&1 &
  SW_CLEANUPS+=("kill $! 2>/dev/null")
  sw_wait_for "$RDV/$id.ready" ready 10
}
RDV=$T/rendezvous # where a racer running as nobody can say it is ready
mkdir "$RDV" && chown nobody "$RDV"
AS_NOBODY=(setpriv --reuid="$NOBODY" --regid="$(id -g nobody)" --clear-groups)

# --- 1. an --out owned by another user, with that user racing the hook ----------
# The attack as filed: root runs --exec sh on DIR owned by nobody; nobody
# renames its own script over the installed file the moment it appears.
D1=$T/o-nobody
mkdir "$D1" && chown nobody "$D1" && chmod 0755 "$D1"
cp "$T/evil.sh" "$D1/.evil" && chown nobody "$D1/.evil"
start_racer r1 "$D1" "$NAME" "$D1/.evil" "${AS_NOBODY[@]}"
rm -f "$SW_MARK"
before=$(requests)
expect out_dir_owned_by_another_user_is_refused 2 "--out $D1 is owned by uid $NOBODY" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s1" --out "$D1" "${F[@]}" --no-swarm --exec sh
[ -e "$SW_MARK" ] && echo "   the hook ran a script that wrote: $(cat "$SW_MARK")"
ok owned_by_another_user_hook_never_ran_the_attackers_file test ! -e "$SW_MARK"
ok owned_by_another_user_nothing_installed test ! -e "$D1/$NAME"
ok owned_by_another_user_nothing_downloaded test "$(requests)" -eq "$before"

# A dir of ours under a dir of another user: that user can rename ours away.
D1b=$T/nob-parent
mkdir -p "$D1b/out" && chown nobody "$D1b"
expect out_dir_under_another_users_dir_is_refused 2 "$D1b is owned by uid $NOBODY" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s1b" --out "$D1b/out" "${F[@]}" --no-swarm
ok under_another_users_dir_nothing_installed nothing_in "$D1b/out"
expect missing_out_under_another_users_dir_is_not_made 2 "$D1b is owned by uid $NOBODY" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s1b" --out "$D1b/new/out" "${F[@]}" --no-swarm
ok missing_out_under_another_users_dir_made_nothing test ! -e "$D1b/new"

# --- 2. writable by group or others --------------------------------------------
before=$(requests)
D2=$T/o-group
mkdir "$D2" && chmod 0775 "$D2"
expect out_dir_writable_by_group_is_refused 2 "--out $D2 is writable by group" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s2" --out "$D2" "${F[@]}" --no-swarm
D2b=$T/o-others
mkdir "$D2b" && chmod 0757 "$D2b"
expect out_dir_writable_by_others_is_refused 2 "--out $D2b is writable by others" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s2" --out "$D2b" "${F[@]}" --no-swarm
ok group_writable_out_dir_nothing_installed nothing_in "$D2"
ok others_writable_out_dir_nothing_installed nothing_in "$D2b"
ok writable_out_dirs_nothing_downloaded test "$(requests)" -eq "$before"

# --- 3. sticky like /tmp --------------------------------------------------------
D3=$T/o-sticky
mkdir "$D3" && chmod 1777 "$D3"
expect sticky_tmp_out_dir_is_refused 2 "--out $D3 is writable by .*sticky" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s3" --out "$D3" "${F[@]}" --no-swarm
ok sticky_out_dir_nothing_installed nothing_in "$D3"
# /tmp itself is refused as --out, but is fine above a dir of ours (our mktemp dirs).
[ -e "/tmp/$NAME" ] || SW_CLEANUPS+=("rm -f '/tmp/$NAME'") # should the old code install there
expect tmp_itself_is_refused_as_out 2 "--out /tmp is writable by" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s3" --out /tmp "${F[@]}" --no-swarm
ok tmp_itself_got_nothing test ! -e "/tmp/$NAME"

# --- 4. a bad --out is found before any download starts -------------------------
echo "not a dir" >"$T/o-file"
: >"$T/peer.log"; before=$(requests)
expect bad_out_is_refused_before_any_download 2 "--out $T/o-file is not a directory" -- \
  "$SWARMUP" fetch --manifest "$T/mpeer" --state-dir "$T/s4" --out "$T/o-file" "${F[@]}" --swarm-timeout 2
sleep 1 # a connection the client made would be logged by now
ok bad_out_no_swarm_peer_connection test ! -s "$T/peer.log"
ok bad_out_no_https_request test "$(requests)" -eq "$before"
: >"$T/peer.log"; before=$(requests)
expect out_under_a_file_is_refused_before_any_download 2 "not a directory" -- \
  "$SWARMUP" fetch --manifest "$T/mpeer" --state-dir "$T/s4" --out "$T/o-file/sub" "${F[@]}" --swarm-timeout 2
sleep 1
ok out_under_a_file_no_swarm_peer_connection test ! -s "$T/peer.log"
ok out_under_a_file_no_https_request test "$(requests)" -eq "$before"

# A safe --out we cannot write (a read-only file system) is found before the download too.
D4=$T/o-ro
mkdir "$D4" && mount -t tmpfs -o size=1m,mode=0755,ro tmpfs "$D4"
SW_CLEANUPS+=("timeout 10 umount '$D4' 2>/dev/null || umount -l '$D4'")
: >"$T/peer.log"; before=$(requests)
expect unwritable_out_is_refused_before_any_download 1 "cannot write in $D4: Read-only file system" -- \
  "$SWARMUP" fetch --manifest "$T/mpeer" --state-dir "$T/s4" --out "$D4" "${F[@]}" --swarm-timeout 2
sleep 1
ok unwritable_out_no_swarm_peer_connection test ! -s "$T/peer.log"
ok unwritable_out_no_https_request test "$(requests)" -eq "$before"

# A safe --out that does not exist yet is made (0755) and used.
expect missing_safe_out_is_made 0 "installed $T/o-new/sub/$NAME" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s4b" --out "$T/o-new/sub" "${F[@]}" --no-swarm
ok missing_safe_out_is_exact cmp -s "$T/o-new/sub/$NAME" "$T/rel/$NAME"

# --- 5. the hook runs on the verified inode --------------------------------------
# A racer (root: the dir is safe, so only root could) renames a script over the
# installed file the moment it appears; the hook waits until it did, then proves
# that what it got through SWARMUP_FILE_FD is the verified file.
D5=$T/o-race
mkdir "$D5" && chmod 0755 "$D5"
cp "$T/evil.sh" "$D5/.evil"
start_racer r5 "$D5" "$NAME" "$D5/.evil"
cat >"$T/hook.sh" <<'HOOK'
i=0
while [ ! -e "$SW_SWAPPED" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
{
  echo "path $(sha256sum <"$1" | cut -d' ' -f1)"
  echo "fd ${SWARMUP_FILE_FD:-unset}"
  echo "sha ${SWARMUP_SHA256:-unset}"
  echo "file ${SWARMUP_FILE:-unset}"
  echo "fdsum $(sha256sum <"/dev/fd/${SWARMUP_FILE_FD:-99}" | cut -d' ' -f1)"
  if [ -z "${SWARMUP_FILE_FD:-}" ] || ! [ -e "/dev/fd/$SWARMUP_FILE_FD" ]; then echo "fdmode none"
  elif (echo x >&"$SWARMUP_FILE_FD") 2>/dev/null; then echo "fdmode writable"; else echo "fdmode read-only"; fi
} >"$SW_HOOKLOG"
exec sh "/dev/fd/${SWARMUP_FILE_FD:-99}"
HOOK
rm -f "$SW_MARK"
export SW_SWAPPED=$RDV/r5.done SW_HOOKLOG=$T/hook.log
expect hook_gets_verified_fd_and_sha256 0 "exec: .*exited with status 0" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s5" --out "$D5" "${F[@]}" --no-swarm --exec "sh $T/hook.sh"
cat "$T/hook.log" 2>/dev/null | sed 's/^/   hook: /'
ok race_swapped_the_path_under_the_hook grep -qx "path $EVIL_SHA" "$T/hook.log"
ok hook_sha256_env_is_the_verified_sha grep -qx "sha $REL_SHA" "$T/hook.log"
ok hook_fd_holds_the_verified_bytes grep -qx "fdsum $REL_SHA" "$T/hook.log"
ok hook_fd_is_read_only grep -qx "fdmode read-only" "$T/hook.log"
ok hook_file_env_is_the_path grep -qx "file $D5/$NAME" "$T/hook.log"
ok hook_ran_the_verified_script_not_the_racers grep -qx verified "$SW_MARK"

# --- 6. no unverified bytes in --out where O_TMPFILE is refused ------------------
# SWARMUP_FAULT=no-o-tmpfile makes O_TMPFILE in --out fail as on a file system
# without it (--copy: the copy path, not the hard link of section 7). A watcher
# holds every file created in --out; a tampered payload (rejected by the gate)
# must never have had a name there.
watch_out() {
  rm -f "$T/w.ready" "$T/w.stop" "$T/w.report"
  "$PY" "$T/inotify.py" watch "$1" "$T/w.ready" "$T/w.stop" "$T/w.report" >"$T/w.log" 2>&1 &
  WPID=$!
  SW_CLEANUPS+=("kill $WPID 2>/dev/null")
  sw_wait_for "$T/w.ready" ready 10
}
stop_watch() { touch "$T/w.stop"; wait "$WPID" || true; sed 's/^/   created in --out: /' "$T/w.report"; }
D6=$T/o-notmpfile
mkdir "$D6" && chmod 0755 "$D6"
export SWARMUP_FAULT=no-o-tmpfile
watch_out "$D6"
expect tampered_payload_without_o_tmpfile_is_rejected 5 "payload rejected" -- \
  "$SWARMUP" fetch --manifest "$T/mtampered" --state-dir "$T/s6" --out "$D6" "${F[@]}" --no-swarm --copy
stop_watch
ok no_unverified_bytes_in_out_without_o_tmpfile test ! -s "$T/w.report"
ok no_unverified_bytes_out_left_empty nothing_in "$D6"

watch_out "$D6"
expect install_without_o_tmpfile_copies_from_the_store 0 "installed $D6/$NAME" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s6b" --out "$D6" "${F[@]}" --no-swarm --copy
stop_watch
unset SWARMUP_FAULT
ok install_without_o_tmpfile_is_exact cmp -s "$D6/$NAME" "$T/rel/$NAME"
ok install_without_o_tmpfile_named_only_verified_bytes \
  awk -v s="$REL_SHA" -v n="$REL_SIZE" 'NF != 3 || $2 != n || $3 != s { bad = 1 } END { exit bad || NR == 0 }' "$T/w.report"
ok install_without_o_tmpfile_leaves_no_temp test "$(ls -A "$D6")" = "$NAME"
ok copy_install_is_not_the_stores_file sh -c "[ \"\$(stat -c %i '$D6/$NAME')\" != \
  \"\$(stat -c %i '$T'/s6b/*/*/store/*/'$NAME')\" ]"

# --- 7. the same with the default hard link of the store's file ----------------
# The gate makes no copy; the store's file is linked into --out only after the
# gate accepted it. A tampered payload must never have had a name there, and
# every name the watcher saw held the verified bytes.
D7=$T/o-link
mkdir "$D7" && chmod 0755 "$D7"
watch_out "$D7"
expect tampered_payload_linked_install_is_rejected 5 "payload rejected" -- \
  "$SWARMUP" fetch --manifest "$T/mtampered" --state-dir "$T/s7" --out "$D7" "${F[@]}" --no-swarm
stop_watch
ok no_unverified_bytes_in_out_with_link test ! -s "$T/w.report"
ok no_unverified_bytes_linked_out_left_empty nothing_in "$D7"
watch_out "$D7"
expect linked_install_installs 0 "installed $D7/$NAME" -- \
  "$SWARMUP" fetch --manifest "$T/m" --state-dir "$T/s7b" --out "$D7" "${F[@]}" --no-swarm
stop_watch
ok linked_install_is_exact cmp -s "$D7/$NAME" "$T/rel/$NAME"
# The hidden link lives only between link, fsync and rename: it may be gone
# before the watcher opens it; the name it becomes must hold the verified bytes.
ok linked_install_named_only_verified_bytes \
  awk -v s="$REL_SHA" -v n="$REL_SIZE" -v f="$NAME" '$1 == f && $2 == n && $3 == s { seen = 1; next }
    $1 ~ /^\..*\.swarmup-[0-9]+$/ && $2 == "gone-before-open" { next }
    NF != 3 || $2 != n || $3 != s { bad = 1 } END { exit bad || !seen }' "$T/w.report"
ok linked_install_leaves_no_temp test "$(ls -A "$D7")" = "$NAME"
ok linked_install_is_the_stores_file sh -c "[ \"\$(stat -c %i '$D7/$NAME')\" = \
  \"\$(stat -c %i '$T'/s7b/*/*/store/*/'$NAME')\" ]"

sw_done
