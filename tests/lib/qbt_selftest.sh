#!/usr/bin/env bash
# qbt_selftest.sh - prove tests/lib/qbt.sh and tests/lib/tracker.sh work end to end with
# real peers (run by hand; not a ctest test):
#   1. qBittorrent seeds a 16 MiB hybrid torrent (added with skip_checking=false from a
#      complete file); a python-libtorrent peer downloads it from a magnet with btih +
#      btmh and x.pe=qBittorrent's BT port; sha256 must match.
#   2. a python-libtorrent seeder seeds; qBittorrent downloads it (.torrent + addPeers);
#      sha256 must match.
#   3. python seeder and python downloader find each other only through opentracker's
#      announce URL (no x.pe, no connect_peer); completes, sha256 must match.
# Everything on 127.0.0.1; every process stopped by PID on exit; every wait bounded.
# Usage: tests/lib/qbt_selftest.sh [SIZE_MIB]     exit 0 = all passed
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=qbt.sh
source "$HERE/qbt.sh"
# shellcheck source=tracker.sh
source "$HERE/tracker.sh"

PY=/usr/bin/python3     # Debian's: the one with libtorrent (pyenv's may lack it)
export SW_PYLIB=$HERE   # peer.py imports swexit (hard_exit) from here
SIZE_MIB=${1:-16}
W=$(mktemp -d /tmp/qbtst.XXXXXX)
PIDS=()
export SW_QBT_OWNER=$$ SW_TRACKER_OWNER=$$ SW_PEER_OWNER=$$

cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null; fi
  done
  sw_qbt_stop "$W/qbt"
  sw_qbt_stop "$W/qbt2"
  sw_tracker_stop "$W/trk"
  for p in "${PIDS[@]}"; do
    local i
    for i in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- the python-libtorrent peer -----------------------------------------------------------
cat > "$W/peer.py" <<'PYEOF'
import os, signal, sys, time
import libtorrent as lt
sys.path.insert(0, os.environ["SW_PYLIB"])
from swexit import hard_exit  # noqa: E402


def session():
    return lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True, "dht_bootstrap_nodes": "",
        "alert_mask": int(lt.alert.category_t.error_notification
                          | lt.alert.category_t.status_notification
                          | lt.alert.category_t.tracker_notification),
        "user_agent": "sw_selftest/1",
    })

def listening(ses, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if ses.is_listening() and ses.listen_port() != 0:
            return ses.listen_port()
        time.sleep(0.05)
    sys.exit("peer: not listening")

def add(ses, p, save):
    p.save_path = save
    p.flags &= ~lt.torrent_flags.auto_managed
    p.flags &= ~lt.torrent_flags.paused
    return ses.add_torrent(p)

def mk(src, out, tracker):
    # Hybrid (v1+v2): the default flags of libtorrent 2.0's create_torrent.
    fs = lt.file_storage()
    lt.add_files(fs, src)
    ct = lt.create_torrent(fs)
    if tracker:
        ct.add_tracker(tracker)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(src)))
    with open(out, "wb") as f:
        f.write(lt.bencode(ct.generate()))
    ih = lt.torrent_info(out).info_hashes()
    assert ih.has_v1() and ih.has_v2(), "not hybrid"
    print(str(ih.v1), str(ih.v2))

def seed(torrent, save, port_file):
    signal.signal(signal.SIGTERM, lambda *_: hard_exit(0))
    ses = session()
    p = lt.add_torrent_params(); p.ti = lt.torrent_info(torrent)
    h = add(ses, p, save)
    port = listening(ses)
    # Be a seed (checked) and, with a tracker, announced, before telling anyone the port:
    # a downloader announcing first would get no peers and not re-announce for minutes.
    want_tracker = len(list(p.ti.trackers())) > 0
    announced = False
    end = time.time() + 30
    while time.time() < end:
        for a in ses.pop_alerts():
            if isinstance(a, lt.tracker_reply_alert):
                announced = True
            elif isinstance(a, (lt.tracker_error_alert, lt.torrent_error_alert, lt.file_error_alert)):
                print("peer seed: %s" % a.message(), file=sys.stderr)
        if h.status().is_seeding and (announced or not want_tracker):
            break
        time.sleep(0.05)
    else:
        sys.exit("peer seed: not seeding/announced (state %s)" % h.status().state)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(port_file + ".tmp", port_file)
    owner = int(os.environ.get("SW_PEER_OWNER", "0"))
    while True:
        time.sleep(0.5)
        if owner:
            try:
                os.kill(owner, 0)    # the test is gone (killed before its cleanup): stop too
            except ProcessLookupError:
                hard_exit(0)
        for a in ses.pop_alerts():
            if isinstance(a, (lt.tracker_error_alert, lt.torrent_error_alert, lt.file_error_alert)):
                print("peer seed: %s" % a.message(), file=sys.stderr)

def get(src, save, timeout):
    signal.signal(signal.SIGTERM, lambda *_: hard_exit(1))
    ses = session()
    if src.startswith("magnet:"):
        p = lt.parse_magnet_uri(src)
    else:
        p = lt.add_torrent_params(); p.ti = lt.torrent_info(src)
    h = add(ses, p, save)
    listening(ses)
    end = time.time() + timeout
    while time.time() < end:
        for a in ses.pop_alerts():
            if isinstance(a, (lt.tracker_error_alert, lt.torrent_error_alert, lt.file_error_alert)):
                print("peer get: %s" % a.message(), file=sys.stderr)
        st = h.status()
        if st.is_seeding:
            print(h.torrent_file().files().file_path(0))
            hard_exit(0)
        if st.errc.value() != 0:
            print("peer get: error %s" % st.errc.message(), file=sys.stderr)
            hard_exit(1)
        time.sleep(0.1)
    st = h.status()
    print("peer get: timeout: state %s, %d bytes done, %d peers" % (st.state, st.total_wanted_done, st.num_peers),
          file=sys.stderr)
    hard_exit(1)

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "mk":
        mk(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "")
    elif cmd == "seed":
        seed(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "get":
        get(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit("usage: peer.py mk SRC OUT [TRACKER] | seed T DIR PORTFILE | get T|MAGNET DIR TIMEOUT")
PYEOF

# Start `peer.py seed` in the background; wait (bounded) for its port file; print the port
# into $SEED_PORT. Not in $(...): its PID must reach PIDS in this shell for the cleanup.
start_seed() {
  local torrent=$1 dir=$2 pf=$3 i pid
  rm -f "$pf"
  "$PY" "$W/peer.py" seed "$torrent" "$dir" "$pf" </dev/null >>"$W/seed.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for i in $(seq 1 300); do           # 300 x 0.1 s = 30 s
    [ -s "$pf" ] && { SEED_PORT=$(cat "$pf"); return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "seeder did not start:" >&2; tail -n 5 "$W/seed.log" >&2
  return 1
}

# Run `peer.py get` bounded; $1 = torrent or magnet, $2 = dir.
run_get() {
  timeout -k 5 90 "$PY" "$W/peer.py" get "$1" "$2" 60 </dev/null 2>>"$W/get.log"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---- data -------------------------------------------------------------------------------
T0=$(now)
mkdir -p "$W/src" "$W/qseed" "$W/pget1" "$W/qget" "$W/pseed" "$W/pget3" "$W/pseed3"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$W/src/payload.bin" || fail "no data"
WANT=$(sha "$W/src/payload.bin")
read -r V1 V2 < <("$PY" "$W/peer.py" mk "$W/src/payload.bin" "$W/plain.torrent") || fail "mk torrent"
[ "${#V1}" = 40 ] && [ "${#V2}" = 64 ] || fail "bad hashes '$V1' '$V2'"
echo "torrent: ${SIZE_MIB} MiB hybrid, v1 $V1, v2 $V2"

# ---- 1. qBittorrent seeds, python downloads from a magnet with x.pe -------------------------
t=$(now)
sw_qbt_start "$W/qbt" || fail "qbittorrent did not start"
BT=$(cat "$W/qbt/bt_port")
echo "qbittorrent: bt port $BT, webui $(cat "$W/qbt/webui_port"), started in $(since "$t") s"
t=$(now)
cp "$W/src/payload.bin" "$W/qseed/" || fail cp
sw_qbt_add "$W/qbt" "$W/plain.torrent" "$W/qseed" false || fail "qbt add (seed)"
sw_qbt_wait_complete "$W/qbt" "$V2" 60 || fail "qbittorrent did not check the complete file as a seed"
# The hash forms qBittorrent reports: its id is the v2 hash cut to 40 hex digits.
sw_qbt_info "$W/qbt" | "$PY" -c '
import json, sys
t = [x for x in json.load(sys.stdin) if x["infohash_v1"] == sys.argv[1]]
assert len(t) == 1, "torrent not listed by its v1 hash"
t = t[0]
assert t["hash"] == sys.argv[2][:40], "id %s is not the cut v2 hash" % t["hash"]
assert t["infohash_v2"] == sys.argv[2], "infohash_v2 %s" % t["infohash_v2"]
' "$V1" "$V2" || fail "qBittorrent reports unexpected hash forms"
echo "1. qbittorrent checked and seeds ($(since "$t") s)"
t=$(now)
MAGNET="magnet:?xt=urn:btih:$V1&xt=urn:btmh:1220$V2&x.pe=127.0.0.1:$BT"
got=$(run_get "$MAGNET" "$W/pget1") || { tail -n 5 "$W/get.log" >&2; fail "1. python could not download from qbittorrent"; }
[ "$(sha "$W/pget1/$got")" = "$WANT" ] || fail "1. sha256 mismatch"
echo "PASS 1. python <- qbittorrent via magnet x.pe: $(since "$t") s"

# ---- 2. python seeds, qBittorrent downloads (addPeers) -----------------------------------
t=$(now)
cp "$W/src/payload.bin" "$W/pseed/" || fail cp
start_seed "$W/plain.torrent" "$W/pseed" "$W/seed2.port" || fail "2. python seeder"
SPORT=$SEED_PORT
# The first qBittorrent already has this torrent (it would refuse it again): use a second one.
sw_qbt_stop "$W/qbt"
sw_qbt_start "$W/qbt2" || fail "qbittorrent did not start (2)"
sw_qbt_add "$W/qbt2" "$W/plain.torrent" "$W/qget" false || fail "2. qbt add"
sw_qbt_add_peer "$W/qbt2" "$V2" "127.0.0.1:$SPORT" || fail "2. qbt addPeers"
sw_qbt_wait_complete "$W/qbt2" "$V2" 60 || fail "2. qbittorrent did not complete"
[ "$(sha "$W/qget/payload.bin")" = "$WANT" ] || fail "2. sha256 mismatch"
echo "PASS 2. qbittorrent <- python via addPeers: $(since "$t") s"

# ---- 3. python seeder + python downloader via opentracker only --------------------------
t=$(now)
# The info-hashes do not depend on the announce URL (it is outside the info dict), so the
# whitelist can be written before the torrent naming the tracker exists: libtorrent announces
# a hybrid torrent under both its v1 hash and its v2 hash cut to 20 bytes.
# Not in $(...): the tracker stays a child of this shell (reaped here, not left a zombie).
sw_tracker_start "$W/trk" "$V1" "${V2:0:40}" >/dev/null || fail "3. tracker start"
ANN=$(cat "$W/trk/announce")
read -r T1 T2 < <("$PY" "$W/peer.py" mk "$W/src/payload.bin" "$W/tracked.torrent" "$ANN") || fail "mk tracked"
[ "$T1" = "$V1" ] && [ "$T2" = "$V2" ] || fail "3. announce URL changed the info-hashes?"
cp "$W/src/payload.bin" "$W/pseed3/" || fail cp
start_seed "$W/tracked.torrent" "$W/pseed3" "$W/seed3.port" || fail "3. python seeder (tracker)"
got=$(run_get "$W/tracked.torrent" "$W/pget3") || { tail -n 5 "$W/get.log" >&2; fail "3. download via tracker"; }
[ "$(sha "$W/pget3/$got")" = "$WANT" ] || fail "3. sha256 mismatch"
# The tracker saw the swarm: a scrape of the v1 hash counts the seeder (and the finished
# downloader, until it stopped) as complete.
SCRAPE=$(curl -s --max-time 5 "${ANN%/announce}/scrape?info_hash=$(sw_tracker__urlhash "$V1")")
printf '%s' "$SCRAPE" | grep -q '8:completei[1-9]' || fail "3. tracker scrape shows no seed: $SCRAPE"
echo "PASS 3. python <- python via opentracker $ANN: $(since "$t") s"

echo "ALL PASS in $(since "$T0") s"
exit 0
