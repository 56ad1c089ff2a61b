#!/usr/bin/env bash
# tracker.sh - run Debian's opentracker on 127.0.0.1 for tests (tests only).
#
# Source it:  source tests/lib/tracker.sh
#   sw_tracker_start DIR HASH_HEX40...   whitelist the hashes, start, wait until ready (10 s);
#                                        prints the announce URL
#   sw_tracker_stop DIR                  SIGTERM by PID, 5 s, then SIGKILL
#
# start writes, under DIR:
#   port            the TCP (HTTP) and UDP port, both bound to 127.0.0.1 only
#   announce        http://127.0.0.1:PORT/announce
#   tracker.pid     the PID of opentracker (it does not fork)
#   tracker.log     its stdout/stderr
#   root/whitelist  the whitelist (root/ is its chroot)
#
# What was found about Debian 12's opentracker (checked here, as root):
# - It is built with WANT_ACCESSLIST_WHITE: it tracks ONLY info-hashes in the whitelist
#   (one 40-hex-digit hash a line); others get "Requested download is not authorized".
#   For a hybrid torrent whitelist both the v1 hash and the v2 (SHA-256) hash cut to 20
#   bytes: libtorrent announces a hybrid torrent under both.
# - Started as root it chroot()s to -d DIR, then setuid()s to -u USER (default "nobody").
#   It refuses to keep root ("Still running with root privileges?!" and exits), so -u root
#   is not an option. The whitelist (-w) is opened AFTER the chroot and the privilege drop,
#   by nobody, relative to the chroot: with -d on a mktemp -d directory (0700 root) nobody
#   cannot read it ("Can't open accesslist file") and every hash is refused. Hence: a
#   0755 subdirectory DIR/root as the chroot, a 0644 whitelist in it, `-w /whitelist`.
# - With no -i/-p/-P it binds 0.0.0.0:6969 TCP and UDP. Here -i 127.0.0.1 comes first
#   and -p/-P bind to it, so nothing listens on other interfaces.
# - The whitelist is loaded by a separate thread: readiness is checked with an announce
#   of the first hash (event=stopped, so no peer is added) that is not refused.
#
# If SW_TRACKER_OWNER is set to a PID, a watchdog stops the tracker once that process is
# gone, so a test killed before its cleanup does not leave it running.

SW_TRACKER_PY=/usr/bin/python3

sw_tracker__die() { echo "tracker.sh: $*" >&2; return 1; }

sw_tracker__free_port() {
  # A port free for both TCP and UDP on 127.0.0.1 now, outside the ephemeral range.
  "$SW_TRACKER_PY" "$(dirname "${BASH_SOURCE[0]}")/freeport.py"
}

sw_tracker__alive() {
  local pid=$1 state
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$state" != Z ]
}

# %XX-escape the 20 bytes of a 40-hex hash, for an announce query.
sw_tracker__urlhash() {
  local h=$1 i out=""
  for ((i = 0; i < 40; i += 2)); do out+="%${h:i:2}"; done
  printf '%s\n' "$out"
}

sw_tracker_start() {
  local dir=${1:-} h port pid i first ans user=nobody
  [ -n "$dir" ] && [ $# -ge 2 ] || { sw_tracker__die "usage: sw_tracker_start DIR HASH_HEX40..."; return 2; }
  shift
  command -v opentracker >/dev/null || { sw_tracker__die "opentracker not installed"; return 1; }
  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd) || return 1
  if [ -f "$dir/tracker.pid" ] && sw_tracker__alive "$(cat "$dir/tracker.pid")"; then
    sw_tracker__die "already running in $dir (pid $(cat "$dir/tracker.pid"))"; return 1
  fi
  mkdir -p "$dir/root" && chmod 0755 "$dir/root" || return 1
  : > "$dir/root/whitelist.tmp" || return 1
  for h in "$@"; do
    h=$(printf '%s' "$h" | tr 'A-F' 'a-f')
    case "$h" in *[!0-9a-f]*) sw_tracker__die "not a hex hash: $h"; return 2 ;; esac
    [ "${#h}" = 40 ] || { sw_tracker__die "hash must be 40 hex digits (cut a v2 hash): $h"; return 2; }
    echo "$h" >> "$dir/root/whitelist.tmp"
    [ -n "${first:-}" ] || first=$h
  done
  chmod 0644 "$dir/root/whitelist.tmp" && mv -f "$dir/root/whitelist.tmp" "$dir/root/whitelist" || return 1
  # Not root (untested here): it cannot chroot/setuid; name our own user for -u.
  [ "$(id -u)" = 0 ] || user=$(id -un)
  for _ in 1 2 3 4 5; do
    port=$(sw_tracker__free_port)
    [ -n "$port" ] || { sw_tracker__die "no free port"; return 1; }
    opentracker -i 127.0.0.1 -p "$port" -P "$port" -d "$dir/root" -u "$user" -w /whitelist \
      </dev/null >"$dir/tracker.log" 2>&1 &
    pid=$!
    echo "$pid" > "$dir/tracker.pid"
    for i in $(seq 1 100); do       # 100 x 0.1 s = 10 s
      sw_tracker__alive "$pid" || break
      ans=$(curl -s --max-time 2 "http://127.0.0.1:$port/announce?info_hash=$(sw_tracker__urlhash "$first")&peer_id=-SW0000-selfcheck000&port=1&uploaded=0&downloaded=0&left=0&compact=1&event=stopped" 2>/dev/null)
      if [ -n "$ans" ] && ! printf '%s' "$ans" | grep -q 'not authorized'; then
        echo "$port" > "$dir/port"
        echo "http://127.0.0.1:$port/announce" > "$dir/announce"
        if [ -n "${SW_TRACKER_OWNER:-}" ]; then
          ( trap '' HUP
            while kill -0 "$SW_TRACKER_OWNER" 2>/dev/null && sw_tracker__alive "$pid"; do sleep 1; done
            sw_tracker__alive "$pid" && kill -TERM "$pid" 2>/dev/null
            sleep 2; sw_tracker__alive "$pid" && kill -KILL "$pid" 2>/dev/null ) </dev/null >/dev/null 2>&1 &
        fi
        cat "$dir/announce"
        return 0
      fi
      sleep 0.1
    done
    sw_tracker_stop "$dir"
    # Retry only a bind race on the port we picked.
    grep -qi 'bind\|in use' "$dir/tracker.log" 2>/dev/null || break
  done
  sw_tracker__die "opentracker did not become ready in $dir (last answer: ${ans:-none}):"
  tail -n 5 "$dir/tracker.log" >&2 2>/dev/null
  return 1
}

sw_tracker_stop() {
  local dir=${1:-} pid i
  [ -n "$dir" ] || { sw_tracker__die "usage: sw_tracker_stop DIR"; return 2; }
  [ -f "$dir/tracker.pid" ] || return 0
  pid=$(cat "$dir/tracker.pid")
  case "$pid" in ''|*[!0-9]*) sw_tracker__die "bad pid file $dir/tracker.pid"; return 1 ;; esac
  if sw_tracker__alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 50); do sw_tracker__alive "$pid" || break; sleep 0.1; done
    if sw_tracker__alive "$pid"; then kill -KILL "$pid" 2>/dev/null; sleep 0.2; fi
  fi
  rm -f "$dir/tracker.pid"
  return 0
}
