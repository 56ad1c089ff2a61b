#!/usr/bin/env bash
# qbt.sh - run a real qbittorrent-nox (Debian 12: 4.5.2, libtorrent 2.0.8) headless on
# 127.0.0.1 for interop tests, and drive it through its Web API (tests only).
#
# Source it:  source tests/lib/qbt.sh
#   sw_qbt_start DIR                          fresh profile in DIR; start; wait until ready (20 s)
#   sw_qbt_stop DIR                           SIGTERM by PID, 10 s, then SIGKILL
#   sw_qbt_add DIR TORRENT SAVEPATH [SKIP]    add a .torrent (SKIP: skip_checking, default false)
#   sw_qbt_wait_complete DIR HASH TIMEOUT_S   wait until that torrent is complete (seeding)
#   sw_qbt_add_peer DIR HASH HOST:PORT        make qBittorrent dial a peer (no tracker/DHT needed)
#   sw_qbt_info DIR                           raw JSON of /api/v2/torrents/info
#   sw_qbt_id HASH                            the id qBittorrent uses for HASH (see below)
#
# HASH: a hybrid/v2 torrent is known to qBittorrent by its v2 info-hash (SHA-256) cut to
# 40 hex digits; a v1-only torrent by its v1 hash. Pass either the full 64-hex v2 hash or
# a 40-hex id; it is cut and lower-cased here.
#
# start writes, under DIR (nothing outside DIR):
#   bt_port, webui_port   the ports it listens on (127.0.0.1 only, TCP only)
#   qbt.pid               the PID of qbittorrent-nox (started without -d: -d forks, PID lost)
#   stdout.log            its stdout/stderr
#   downloads/            default save path
#   qBittorrent/config/qBittorrent.conf, qBittorrent/data/logs/qbittorrent.log
#
# The configuration is written BEFORE the first start, every time: with an empty profile
# qbittorrent-nox listens on every interface with DHT/LSD/UPnP/NAT-PMP on and fetches a
# geolocation database (traffic off loopback). See /work/shared/reference/qbittorrent-interop.md.
#
# If SW_QBT_OWNER is set to a PID, a watchdog stops qbittorrent once that process is gone,
# so a test killed before its cleanup does not leave it running. Every wait is bounded.

SW_QBT_PY=/usr/bin/python3

sw_qbt__die() { echo "qbt.sh: $*" >&2; return 1; }

# Print a port that is free on 127.0.0.1 now, outside the ephemeral range (freeport.py says why).
sw_qbt__free_port() { "$SW_QBT_PY" "$(dirname "${BASH_SOURCE[0]}")/freeport.py"; }

sw_qbt__alive() {
  local pid=$1 state
  kill -0 "$pid" 2>/dev/null || return 1
  # A zombie (not reaped by whoever inherited it) is dead for our purpose.
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$state" != Z ]
}

# The id qBittorrent uses: first 40 hex digits, lower case.
sw_qbt_id() {
  local h
  h=$(printf '%s' "${1:-}" | tr 'A-F' 'a-f')
  case "$h" in *[!0-9a-f]*|'') sw_qbt__die "not a hex hash: '${1:-}'"; return 1 ;; esac
  [ "${#h}" -ge 40 ] || { sw_qbt__die "hash too short: '$1'"; return 1; }
  printf '%s\n' "${h:0:40}"
}

sw_qbt__url() {
  local dir=$1 wp
  wp=$(cat "$dir/webui_port" 2>/dev/null) || { sw_qbt__die "no webui_port in $dir (not started?)"; return 1; }
  printf 'http://127.0.0.1:%s\n' "$wp"
}

sw_qbt__write_conf() {
  local dir=$1 bt=$2 web=$3
  mkdir -p "$dir/qBittorrent/config" "$dir/downloads" || return 1
  # Quoted here-document + printf: the INI keys contain single backslashes.
  {
    printf '%s\n' '[LegalNotice]' 'Accepted=true' ''
    printf '%s\n' '[Network]' 'PortForwardingEnabled=false' ''
    printf '%s\n' '[BitTorrent]'
    printf '%s\n' \
      "Session\\Port=$bt" \
      'Session\InterfaceAddress=127.0.0.1' \
      'Session\DHTEnabled=false' \
      'Session\LSDEnabled=false' \
      'Session\PeXEnabled=false' \
      'Session\BTProtocol=TCP' \
      'Session\MultiConnectionsPerIp=true' \
      'Session\IPFilteringEnabled=false' \
      'Session\QueueingSystemEnabled=false' \
      'Session\AddTrackersEnabled=false' \
      'Session\GlobalMaxRatio=-1' \
      "Session\\DefaultSavePath=$dir/downloads" \
      'Session\AddTorrentPaused=false' \
      'Session\TempPathEnabled=false' \
      ''
    printf '%s\n' '[Preferences]'
    printf '%s\n' \
      'Connection\ResolvePeerCountries=false' \
      'WebUI\Enabled=true' \
      'WebUI\Address=127.0.0.1' \
      "WebUI\\Port=$web" \
      'WebUI\UseUPnP=false' \
      'WebUI\LocalHostAuth=false' \
      ''
  } > "$dir/qBittorrent/config/qBittorrent.conf"
}

# Start qbittorrent-nox with a fresh profile in DIR. Returns 0 once the WebUI answers and
# the log says it listens on the BitTorrent port.
sw_qbt_start() {
  local dir=${1:-} bt web pid i log url
  [ -n "$dir" ] || { sw_qbt__die "usage: sw_qbt_start DIR"; return 2; }
  command -v qbittorrent-nox >/dev/null || { sw_qbt__die "qbittorrent-nox not installed"; return 1; }
  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd) || return 1
  if [ -f "$dir/qbt.pid" ] && sw_qbt__alive "$(cat "$dir/qbt.pid")"; then
    # A second start on the same profile would only hand its arguments to the running one.
    sw_qbt__die "already running in $dir (pid $(cat "$dir/qbt.pid"))"; return 1
  fi
  log="$dir/qBittorrent/data/logs/qbittorrent.log"
  # A picked port can be taken between the pick and qBittorrent's bind: retry a few times.
  for _ in 1 2 3 4 5; do
    # Fresh profile every attempt: no state from an earlier run.
    rm -rf "$dir/qBittorrent"
    bt=$(sw_qbt__free_port) && web=$(sw_qbt__free_port) || return 1
    [ "$bt" = "$web" ] && continue
    sw_qbt__write_conf "$dir" "$bt" "$web" || return 1
    echo "$bt" > "$dir/bt_port"
    echo "$web" > "$dir/webui_port"
    url="http://127.0.0.1:$web"
    qbittorrent-nox --profile="$dir" </dev/null >"$dir/stdout.log" 2>&1 &
    pid=$!
    echo "$pid" > "$dir/qbt.pid"
    local web_ok=0 bt_ok=0 bt_fail=0
    for i in $(seq 1 200); do       # 200 x 0.1 s = 20 s
      sw_qbt__alive "$pid" || break
      [ "$web_ok" = 1 ] || { curl -s -f --max-time 2 -o /dev/null "$url/api/v2/app/version" && web_ok=1; }
      if [ "$bt_ok" = 0 ] && [ -f "$log" ]; then
        grep -q "Port: \"TCP/$bt\"\$" "$log" && bt_ok=1
        grep -q "Failed to listen on IP.*TCP/$bt\"" "$log" && bt_fail=1
      fi
      [ "$web_ok" = 1 ] && [ "$bt_ok" = 1 ] && break
      [ "$bt_fail" = 1 ] && break
      sleep 0.1
    done
    if [ "$web_ok" = 1 ] && [ "$bt_ok" = 1 ]; then
      if [ -n "${SW_QBT_OWNER:-}" ]; then
        ( trap '' HUP
          while kill -0 "$SW_QBT_OWNER" 2>/dev/null && sw_qbt__alive "$pid"; do sleep 1; done
          if sw_qbt__alive "$pid"; then
            kill -TERM "$pid" 2>/dev/null
            for i in 1 2 3 4 5 6 7 8 9 10; do sw_qbt__alive "$pid" || break; sleep 1; done
            sw_qbt__alive "$pid" && kill -KILL "$pid" 2>/dev/null
          fi ) </dev/null >/dev/null 2>&1 &
      fi
      return 0
    fi
    # Not ready: stop this attempt; retry only if a port was taken (bind race).
    sw_qbt_stop "$dir"
    if [ "$bt_fail" = 0 ] && [ "$web_ok" = 1 ]; then break; fi
    if [ "$bt_fail" = 0 ] && ! grep -qi 'address already in use\|could not bind\|Couldn.t bind\|Unable to bind' \
         "$dir/stdout.log" "$log" 2>/dev/null; then
      break
    fi
  done
  sw_qbt__die "qbittorrent-nox did not become ready in $dir:"
  tail -n 5 "$dir/stdout.log" "$log" >&2 2>/dev/null
  return 1
}

# Stop the qbittorrent-nox of DIR by its PID; TERM, then KILL after 10 s.
sw_qbt_stop() {
  local dir=${1:-} pid i
  [ -n "$dir" ] || { sw_qbt__die "usage: sw_qbt_stop DIR"; return 2; }
  [ -f "$dir/qbt.pid" ] || return 0
  pid=$(cat "$dir/qbt.pid")
  case "$pid" in ''|*[!0-9]*) sw_qbt__die "bad pid file $dir/qbt.pid"; return 1 ;; esac
  if sw_qbt__alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 100); do sw_qbt__alive "$pid" || break; sleep 0.1; done
    if sw_qbt__alive "$pid"; then kill -KILL "$pid" 2>/dev/null; sleep 0.2; fi
  fi
  rm -f "$dir/qbt.pid"
  return 0
}

# Add a .torrent file. qBittorrent answers "Ok." and adds in the background: poll after.
sw_qbt_add() {
  local dir=${1:-} torrent=${2:-} save=${3:-} skip=${4:-false} url out
  [ -n "$dir" ] && [ -n "$torrent" ] && [ -n "$save" ] || {
    sw_qbt__die "usage: sw_qbt_add DIR TORRENT SAVEPATH [skip_checking=true|false]"; return 2; }
  case "$skip" in true|false) ;; *) sw_qbt__die "skip_checking must be true or false"; return 2 ;; esac
  [ -r "$torrent" ] || { sw_qbt__die "cannot read $torrent"; return 1; }
  url=$(sw_qbt__url "$dir") || return 1
  mkdir -p "$save" || return 1
  save=$(cd "$save" && pwd) || return 1
  # --form-string: a path with ';' or ',' must not be parsed as curl -F options.
  out=$(curl -s -S --max-time 10 -F "torrents=@$torrent;type=application/x-bittorrent" \
          --form-string "savepath=$save" --form-string "skip_checking=$skip" \
          --form-string "paused=false" --form-string "autoTMM=false" \
          "$url/api/v2/torrents/add") || { sw_qbt__die "add: request failed"; return 1; }
  [ "$out" = "Ok." ] || { sw_qbt__die "add: qBittorrent answered '$out'"; return 1; }
}

# Raw JSON of torrents/info (all torrents).
sw_qbt_info() {
  local dir=${1:-} url
  [ -n "$dir" ] || { sw_qbt__die "usage: sw_qbt_info DIR"; return 2; }
  url=$(sw_qbt__url "$dir") || return 1
  curl -s -S -f --max-time 5 "$url/api/v2/torrents/info"
}

# Print "state progress" of torrent ID, or "absent".
sw_qbt__state() {
  local dir=$1 id=$2 url
  url=$(sw_qbt__url "$dir") || return 1
  curl -s -f --max-time 5 "$url/api/v2/torrents/info?hashes=$id" | "$SW_QBT_PY" -c '
import json, sys
try:
    a = json.load(sys.stdin)
except Exception:
    print("noanswer"); sys.exit(0)
want = sys.argv[1]
for t in a:
    ids = {t.get("hash", ""), t.get("infohash_v1", ""), (t.get("infohash_v2", "") or "")[:40]}
    if want in ids:
        print(t.get("state", "?"), repr(float(t.get("progress", 0))), t.get("downloaded", 0), t.get("num_seeds", 0), t.get("num_leechs", 0))
        sys.exit(0)
print("absent")' "$id"
}

# Does qBittorrent's BT port answer a plaintext BitTorrent handshake for HASH40 (hex)?
# Measured here: after a recheck (skip_checking=false) the WebUI reports the torrent
# stalledUP/progress 1 about 0.7-0.9 s BEFORE qBittorrent accepts peers for it (until then
# it resets every incoming connection), and a libtorrent peer whose first connection is reset
# backs off for about a minute. So "complete" below also means "answers a handshake".
sw_qbt__handshake_ok() {
  "$SW_QBT_PY" - "$1" "$2" <<'PYEOF'
import os, socket, sys
s = socket.socket(); s.settimeout(2)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"\x13BitTorrent protocol" + bytes(8) + bytes.fromhex(sys.argv[2])
              + b"-SW0000-" + os.urandom(6).hex().encode())
    d = b""
    while len(d) < 48:
        c = s.recv(68 - len(d))
        if not c:
            break
        d += c
    sys.exit(0 if d[:20] == b"\x13BitTorrent protocol" and len(d) >= 48 else 1)
except OSError:
    sys.exit(1)
finally:
    s.close()
PYEOF
}

# Wait until the torrent is complete: state uploading/stalledUP/forcedUP/queuedUP/pausedUP
# and progress 1, and qBittorrent answers a handshake for it on its BT port (see above).
# Fails at once on state error/missingFiles. Prints progress on failure.
sw_qbt_wait_complete() {
  local dir=${1:-} hash=${2:-} timeout=${3:-60} id end st state prog
  [ -n "$dir" ] && [ -n "$hash" ] || { sw_qbt__die "usage: sw_qbt_wait_complete DIR HASH TIMEOUT_S"; return 2; }
  id=$(sw_qbt_id "$hash") || return 2
  end=$(( $(date +%s) + timeout ))
  st=""
  while [ "$(date +%s)" -lt "$end" ]; do
    if [ -f "$dir/qbt.pid" ] && ! sw_qbt__alive "$(cat "$dir/qbt.pid")"; then
      sw_qbt__die "qbittorrent-nox is gone"; break
    fi
    st=$(sw_qbt__state "$dir" "$id")
    read -r state prog _ <<<"$st"
    case "$state" in
      uploading|stalledUP|forcedUP|queuedUP|pausedUP)
        if [ "$prog" = "1.0" ]; then
          # pausedUP accepts no peers: complete is all a caller can ask of it.
          [ "$state" = pausedUP ] && return 0
          sw_qbt__handshake_ok "$(cat "$dir/bt_port")" "$id" && return 0
          st="$st (complete, but no handshake answered yet)"
        fi ;;
      error|missingFiles)
        break ;;
    esac
    sleep 0.2
  done
  sw_qbt__die "torrent $id not complete after ${timeout}s: state progress downloaded seeds leechs = ${st:-none}"
  return 1
}

# Make qBittorrent dial HOST:PORT for torrent HASH.
sw_qbt_add_peer() {
  local dir=${1:-} hash=${2:-} peer=${3:-} id url code i
  [ -n "$dir" ] && [ -n "$hash" ] && [ -n "$peer" ] || {
    sw_qbt__die "usage: sw_qbt_add_peer DIR HASH HOST:PORT"; return 2; }
  id=$(sw_qbt_id "$hash") || return 2
  url=$(sw_qbt__url "$dir") || return 1
  # torrents/add returns before the torrent exists, and addPeers silently skips an unknown
  # id (HTTP 200 all the same): wait until qBittorrent lists it, else fail.
  for i in $(seq 1 50); do          # 50 x 0.2 s = 10 s
    case "$(sw_qbt__state "$dir" "$id")" in absent|noanswer|'') ;; *) break ;; esac
    [ "$i" = 50 ] && { sw_qbt__die "addPeers: no torrent $id in qBittorrent"; return 1; }
    sleep 0.2
  done
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
           --data-urlencode "hashes=$id" --data-urlencode "peers=$peer" \
           "$url/api/v2/torrents/addPeers") || { sw_qbt__die "addPeers: request failed"; return 1; }
  [ "$code" = 200 ] || { sw_qbt__die "addPeers: HTTP $code (bad peer?)"; return 1; }
}
