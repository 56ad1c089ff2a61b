#!/usr/bin/env bash
# SIGKILL `swarmup fetch` at 20 random moments spread over its phases (manifest
# fetch, swarm download, HTTPS fallback, payload gate, install, state writes)
# and prove after every kill that:
#   - --out holds nothing, the old release, or the complete verified new file:
#     never a partial file, never another visible name (a hidden
#     ".NAME.swarmup-PID" is tolerated only if it is the complete new file);
#   - the state dir still reads (`swarmup check` does not call it corrupt);
#   - the same fetch run again exits 0 and installs exactly the package.
# The moments come from $RANDOM seeded with SW_CRASH_SEED (printed; set it to
# replay a failure). Everything on 127.0.0.1; every wait is bounded.
. "$(dirname "$0")/lib.sh" "$1"

SEED=${SW_CRASH_SEED:-$(( $(date +%s%N) % 32768 ))}
RANDOM=$SEED
echo "   crash seed: $SEED (replay with SW_CRASH_SEED=$SEED)"

sw_keys
K=$T/keys
NAME=hello-1.0.tar.gz
SIZE=$((64 * 1024 * 1024 + 12345))
sw_release "$T/rel" "$NAME" "$SIZE"
PKG=$T/rel/$NAME
head -c 1000000 /dev/urandom >"$T/old.bin"   # "the previous release" pre-placed in --out

N=$T/nginx
mkdir -p "$N/www" "$N/extra"
ln "$PKG" "$N/www/$NAME"
cat >"$N/extra/crash.conf" <<CONF
location /slowm/ { alias $N/www/; limit_rate 400; }
location /medium/ { alias $N/www/; limit_rate 16m; }
CONF
sw_nginx "$N"
CLOSED=$(sw_free_port)
BLOCKED="$REL_MAGNET&x.pe=127.0.0.1:$CLOSED"

# A rate-limited plain libtorrent seeder: the swarm phase lasts about 3 s.
mkdir -p "$T/seedsrc" && ln "$PKG" "$T/seedsrc/$NAME"
sw_lt_seed sw "$T/rel/$NAME.torrent" "$T/seedsrc" --upload-limit $((20 * 1024 * 1024))

# The manifests (sequence 10, key A). mfast is also served slowly by nginx.
sw_signed_manifest "$T/mfast" "Magnet=$REL_MAGNET" "Fallback=$U/$NAME"
cp "$T/mfast" "$N/www/hello.manifest" && cp "$T/mfast.sig" "$N/www/hello.manifest.sig"
sw_signed_manifest "$T/mhttps" "Magnet=$BLOCKED" "Fallback=$U/medium/$NAME"
sw_signed_manifest "$T/mswarm" "Magnet=$REL_MAGNET&x.pe=127.0.0.1:$LT_PORT" "Fallback=$U/$NAME"

F=(--trusted-key "$K/trusted.asc" --product hello "${SW_NET[@]}" --ca-file "$N/ca.pem" --seed-time 0 --json)

# killer.py LOG MODE ARG DELAY_MS TIMEOUT_S -- CMD...: run CMD (output to LOG),
# SIGKILL it DELAY_MS after the trigger: start | file (ARG exists) | log (ARG
# regex in LOG) | newinode (ARG appears or its inode changes) | never.
# Prints "killed A B" (seconds after start of the trigger and of the kill),
# "exited RC" or "timeout".
cat >"$T/killer.py" <<'PY'
import os, re, signal, subprocess, sys, time
log, mode, arg, delay, timeout = sys.argv[1:6]
cmd = sys.argv[7:]
delay, timeout = float(delay) / 1000.0, float(timeout)
def ino(p):
    try: return os.stat(p).st_ino
    except OSError: return None
ino0 = ino(arg) if mode == "newinode" else None
lf = open(log, "wb")
p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT)
t0 = time.monotonic(); trig = None
while True:
    rc = p.poll()
    if rc is not None:
        print("exited %d" % rc); sys.exit(0)
    now = time.monotonic()
    if now - t0 > timeout:
        p.kill(); p.wait(); print("timeout"); sys.exit(0)
    if trig is None:
        hit = (mode == "start" or (mode == "file" and os.path.exists(arg)) or
               (mode == "newinode" and ino(arg) not in (None, ino0)))
        if mode == "log":
            with open(log, "rb") as f:
                hit = re.search(arg.encode(), f.read()) is not None
        if hit: trig = now
    if trig is not None and now - trig >= delay:
        p.send_signal(signal.SIGKILL); p.wait()
        print("killed %.3f %.3f" % (trig - t0, now - t0)); sys.exit(0)
    time.sleep(0.002)
PY

served() { awk '$2 ~ /^20/ { s += $3 } END { print s + 0 }' "$N/access.log"; }

# Where did the kill land? Judged from what is on disk, not from the intent.
classify() {
  local s=$1 o=$2 store=$1/hello/stable/store/10
  if [ -n "$(find "$s" -name '.*.tmp.*' 2>/dev/null | head -1)" ]; then echo state-write
  elif [ -f "$o/$NAME" ] && cmp -s "$o/$NAME" "$PKG"; then
    if grep -qx "installed-sequence 10" "$s/hello/stable/state" 2>/dev/null; then echo after-record; else echo install; fi
  elif [ -f "$store/verified" ]; then echo install
  elif [ -f "$store/$NAME" ] && cmp -s "$store/$NAME" "$PKG"; then echo gate
  elif [ -f "$store/$NAME.part" ] && cmp -s "$store/$NAME.part" "$PKG"; then echo gate
  elif [ -e "$store/$NAME.part" ]; then echo https
  elif [ -d "$store" ]; then echo swarm
  else echo manifest
  fi
}

# --out after a kill: only NAME (old or new, complete) and possibly a hidden
# complete temp of our own naming; nothing else.
out_is_clean() {
  local o=$1 had_old=$2 p f
  [ -d "$o" ] || return 0
  for p in "$o"/* "$o"/.*; do
    f=${p##*/}
    case "$f" in
      .|..) ;;
      "*"|".*") [ ! -e "$p" ] || { echo "   unexpected file in --out: $f"; return 1; } ;;
      "$NAME")
        if cmp -s "$o/$f" "$PKG"; then :
        elif [ "$had_old" = 1 ] && cmp -s "$o/$f" "$T/old.bin"; then :
        else echo "   --out/$f is neither the old nor the complete new file ($(stat -c %s "$o/$f") bytes)"; return 1; fi ;;
      ".$NAME.swarmup-"*)
        cmp -s "$o/$f" "$PKG" || { echo "   hidden temp $f is not the complete new file"; return 1; }
        echo "   note: complete hidden temp $f left in --out" ;;
      *) echo "   unexpected file in --out: $f"; return 1 ;;
    esac
  done
}

# The state dir reads: `swarmup check` on a copy (so that the check's own
# recording does not change what the rerun finds) is not "corrupt" and exits 0.
state_reads() {
  local s=$1 m=$2 rc=0 out
  [ -d "$s" ] || return 0
  rm -rf "$T/chk" && cp -a "$s" "$T/chk"
  out=$("$SWARMUP" check --manifest "$m" --trusted-key "$K/trusted.asc" --product hello \
    --state-dir "$T/chk" 2>&1) || rc=$?
  rm -rf "$T/chk"
  if { [ "$rc" -ne 0 ] && [ "$rc" -ne 100 ]; } || grep -qi corrupt <<<"$out"; then echo "   check: exit $rc: $out"; return 1; fi
}

declare -A LANDED=()
GATE_REFETCH=""
STALE=0
RUNS=0
FAULT_OK=0

# crash_run ID MANIFEST_SRC MODE ARG DELAY_MS [extra fetch args...]
crash_run() {
  local id=$1 msrc=$2 mode=$3 arg=$4 delay=$5
  shift 5
  local s=$T/s$id o=$T/o$id had_old=0 res where rc=0 t0 t1
  rm -rf "$s" "$o"
  if [ $((RANDOM % 2)) = 1 ]; then mkdir -p "$o" && cp "$T/old.bin" "$o/$NAME" && had_old=1; fi
  [ "$mode" = newinode ] && arg=$o/$NAME
  [ "$mode" = file ] && arg=$s/$arg
  if [ "${PRE_CHECK:-0}" = 1 ]; then
    "$SWARMUP" check --manifest "$T/mfast" --trusted-key "$K/trusted.asc" --product hello --state-dir "$s" >/dev/null || [ $? = 100 ]
  fi
  res=$(env ${FAULT:+SWARMUP_FAULT=$FAULT} /usr/bin/python3 "$T/killer.py" "$T/run$id.log" "$mode" "$arg" "$delay" 60 -- \
    "$SWARMUP" fetch --manifest "$msrc" --state-dir "$s" --out "$o" "${F[@]}" "$@")
  where=$(classify "$s" "$o")
  RUNS=$((RUNS + 1))
  case "$res" in
    killed*|"exited -9") LANDED[$where]=$(( ${LANDED[$where]:-0} + 1 )) ;;
    *) where="not killed ($res)"; LANDED[missed]=$(( ${LANDED[missed]:-0} + 1 )) ;;
  esac
  [ -n "${FAULT:-}" ] && [ "$res" = "exited -9" ] && FAULT_OK=$((FAULT_OK + 1))
  printf '   run %-2s %-7s %-13s delay %4s ms old=%s: %s -> landed in %s\n' "$id" "$PHASE" "$mode" "$delay" \
    "$had_old" "$res" "$where"
  ok "run${id}_${PHASE}_out_never_partial" out_is_clean "$o" "$had_old"
  # the same manifest bytes as a local file (the slow URL serves mfast)
  case "$msrc" in https://*) local mlocal=$T/mfast ;; *) local mlocal=$msrc ;; esac
  ok "run${id}_${PHASE}_state_readable" state_reads "$s" "$mlocal"
  t0=$(date +%s.%N)
  local b0; b0=$(served)
  timeout -s KILL 90 "$SWARMUP" fetch --manifest "$msrc" --state-dir "$s" --out "$o" "${F[@]}" "$@" \
    >"$T/rerun$id.log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  [ "$rc" -ne 0 ] && tail -3 "$T/rerun$id.log" | sed 's/^/   | /'
  ok "run${id}_${PHASE}_rerun_completes" test "$rc" -eq 0
  ok "run${id}_${PHASE}_rerun_installs_exact_file" \
    sh -c "cmp -s '$o/$NAME' '$PKG' && [ \"\$(ls -A '$o')\" = '$NAME' ]"
  ok "run${id}_${PHASE}_rerun_records_install" grep -qx "installed-sequence 10" "$s/hello/stable/state"
  awk -v a="$t0" -v b="$t1" -v n=$(( $(served) - b0 )) 'BEGIN { printf "   rerun took %.1f s, %d bytes over HTTPS\n", b - a, n }'
  [ "$where" = gate ] && GATE_REFETCH+=" $(( $(served) - b0 ))"
  STALE=$(( STALE + $(find "$s" -name '.*.tmp.*' | wc -l) ))
  rm -rf "$s" "$o"
}

id=0
# 1. manifest fetch (the manifest and its signature trickle out of nginx at 400 B/s).
PHASE=manifest
for _ in 1 2 3; do id=$((id + 1)); crash_run $id "$U/slowm/hello.manifest" start - $((100 + RANDOM % 2200)) --no-swarm; done
# 2. swarm: 64 MiB from a seeder capped at 20 MiB/s, killed after the metadata arrived.
PHASE=swarm
#    --http-delay 60: the swarm alone. With its default head start the scheduler brings HTTPS
#    in beside this 20 MiB/s seeder after ~1.3 s, and the phase ended before kills 2.5-3 s in.
for _ in 1 2 3 4; do id=$((id + 1)); crash_run $id "$T/mswarm" log '"event":"metadata"' $((RANDOM % 3000)) --http-delay 60; done
# 3. HTTPS fallback: the magnet's peer is a closed port, nginx sends 16 MiB/s.
PHASE=https
for _ in 1 2 3 4; do id=$((id + 1)); crash_run $id "$T/mhttps" file "hello/stable/store/10/$NAME.part" $((RANDOM % 3500)); done
# 4. the gate: it streams while the download runs and ends just after the last
#    byte (then the .part is renamed and the store marked verified): kill soon
#    after the .part appears on a fast origin.
PHASE=gate
for _ in 1 2 3 4; do id=$((id + 1)); crash_run $id "$T/mfast" file "hello/stable/store/10/$NAME.part" $((30 + RANDOM % 300)) --no-swarm; done
# 5. install: the new file got its name in --out; the marker and state are being written.
PHASE=install
for _ in 1 2; do id=$((id + 1)); crash_run $id "$T/mfast" newinode - $((RANDOM % 4)) --no-swarm; done
id=$((id + 1)); crash_run $id "$T/mfast" log '"event":"installed"' $((RANDOM % 20)) --no-swarm
# 6. state writes: SWARMUP_FAULT=before-rename kills the process at its first
#    atomic write, after the temp file was synced: on a fresh state dir that is
#    the manifest record; after a `check` recorded it, the store's verified marker.
PHASE=fault
id=$((id + 1)); FAULT=before-rename crash_run $id "$T/mfast" never - 0 --no-swarm
id=$((id + 1)); FAULT=before-rename PRE_CHECK=1 crash_run $id "$T/mfast" never - 0 --no-swarm
#    ... and the state write after the install (the file is in --out, the state does not say so yet).
id=$((id + 1)); FAULT=before-rename:state PRE_CHECK=1 crash_run $id "$T/mfast" never - 0 --no-swarm
ok fault_injection_fired_every_time test "$FAULT_OK" -eq 3

echo "   kills landed (seed $SEED, $RUNS runs):"
for k in manifest swarm https gate install state-write after-record missed; do
  printf '     %-13s %s\n' "$k" "${LANDED[$k]:-0}"
done
# (At most 6 of the 21: the gate got faster in issue 12 and HTTPS now joins the swarm, so a
# kill aimed at the gate or the install lands after the end more often; 5 was seen once.)
ok most_kills_landed_before_the_end test $(( ${LANDED[missed]:-0} + ${LANDED[after-record]:-0} )) -le 6
# The gate streams while the download runs, so a kill "in the gate" often lands
# while bytes still arrive: count the download and the gate together.
ok kills_landed_in_download_and_gate test $(( ${LANDED[swarm]:-0} + ${LANDED[https]:-0} + ${LANDED[gate]:-0} )) -ge 8
echo "   reruns after a kill in the gate fetched again over HTTPS (bytes):${GATE_REFETCH:- none}"
echo "   temp files (.NAME.tmp.PID) still in the state dirs after the reruns: $STALE"
echo "   nginx served $(served) bytes in all"
sw_done
