#!/usr/bin/env bash
# The client timer's hand-over to the seeding daemon (docs/systemd.md), without
# systemd as PID 1: the commands the units run, each with its own state dir.
#   swarmup-update@hello.service: swarmup fetch --config hello.conf (root: its
#     state dir and --out are root's), seed-time 0;
#   swarmup-seed.service: swarmup seed --config seed.conf (user _swarmup: its own
#     state dir), whose section names the client's --out as `from`.
# The daemon polls before the client has installed (nothing to adopt: refused,
# retried at the next poll), then adopts the installed file through the payload
# gate into its own store and seeds it. A file in `from` that is not the release,
# or a symlink there, is refused and nothing of it is kept. `swarmup status` on
# the daemon's state dir shows the release seeded, the bytes a peer took and the
# ratio, "stopped" after SIGTERM, and the count carried over a restart.
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
K=$T/keys
SIZE=3000000
sw_release "$T/rel" hello-1.0.tar.gz "$SIZE"
N=$T/ng
mkdir -p "$N/www" "$N/extra"
cp "$T/rel/hello-1.0.tar.gz" "$N/www/"
sw_nginx "$N"
sw_signed_manifest "$T/m1" "Fallback=$U/hello-1.0.tar.gz"
OUT=$T/opt/hello
mkdir -p "$T/opt"

# The daemon's config (docs/examples/seed.conf's shape).
seedconf() {
  cat >"$1" <<CONF
keep = 2
poll = 2
[hello]
manifest = $T/m1
trusted-key = $K/trusted.asc
product = hello
from = $2
CONF
}
seedconf "$T/seed.conf" "$OUT"
SP=$(sw_free_port)
start_daemon() {
  "$SWARMUP" seed --config "$T/seed.conf" --state-dir "$T/daemon" --listen "127.0.0.1:$SP" --no-dht --no-lsd \
    --no-utp --json >>"$T/seed.log" 2>&1 &
  DPID=$!
  SW_CLEANUPS+=("kill -9 $DPID 2>/dev/null")
}
start_daemon
ok daemon_polls_before_the_install_and_refuses sw_wait_for "$T/seed.log" '"event":"rejected".*could not check' 30
ok nothing_adopted_before_the_install test ! -e "$T/daemon/hello/stable/store/10/verified"

# The update run (what swarmup-update@hello.service runs), then the daemon's next poll.
expect client_update_installs 0 "" -- "$SWARMUP" fetch --manifest "$T/m1" --trusted-key "$K/trusted.asc" \
  --product hello --state-dir "$T/client" --out "$OUT" --ca-file "$N/ca.pem" --no-swarm --seed-time 0
ok daemon_adopts_the_installed_release sw_wait_for "$T/seed.log" '"event":"seeding".*"sequence":10.*adopted from' 30
ok release_was_gated_before_it_was_seeded grep -q '"event":"verified".*"sequence":10' "$T/seed.log"
ok adopted_copy_is_in_the_daemons_own_store cmp -s "$T/daemon/hello/stable/store/10/hello-1.0.tar.gz" "$OUT/hello-1.0.tar.gz"

# status: the daemon's record, a peer's download, the ratio.
js() {
  "$SWARMUP" status --state-dir "$T/daemon" --json >"$T/st.json" || true
  /usr/bin/python3 - "$T/st.json" "$1" <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ch = [o for o in objs if o["type"] == "channel"]
rel = [o for o in objs if o["type"] == "release"]
su = [o for o in objs if o["type"] == "summary"][0]
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
PY
}
wait_js() { # wait_js SECONDS EXPR
  local n=$(( $1 * 2 ))
  while [ "$n" -gt 0 ]; do js "$2" && return 0; sleep 0.5; n=$((n - 1)); done
  cat "$T/st.json" >&2
  return 1
}
ok status_shows_the_daemon_seeding_release_10 wait_js 15 \
  'ch[0]["seeder"] == "running" and len(rel) == 1 and rel[0]["sequence"] == 10 and rel[0]["seeding"] and rel[0]["size"] == '"$SIZE"
mkdir -p "$T/get"
expect a_peer_downloads_the_release_from_the_daemon 0 "" -- \
  /usr/bin/python3 "$SW_SRC/tests/lib/lt_seed.py" get --torrent "$T/rel/hello-1.0.tar.gz.torrent" --dir "$T/get" \
  --peer "127.0.0.1:$SP" --timeout 60
ok peer_copy_is_exact cmp -s "$T/get/hello-1.0.tar.gz" "$T/rel/hello-1.0.tar.gz"
ok status_counts_the_bytes_sent_and_the_ratio wait_js 20 \
  'rel[0]["uploaded"] >= '"$SIZE"' and rel[0]["ratio"] >= 1.0 and ch[0]["uploaded"] >= '"$SIZE"' and ch[0]["ratio"] >= 1.0'
expect status_text_names_the_seeder_and_the_ratio 0 "seeding +running .*#10: [0-9.]+ MiB sent, ratio [1-9]" -- \
  sh -c "'$SWARMUP' status --state-dir '$T/daemon' | tr '\n' ' '"
"$SWARMUP" status --state-dir "$T/daemon" | sed 's/^/   | /'
kill -TERM "$DPID"
rc=0; wait "$DPID" || rc=$?
ok daemon_stops_cleanly test "$rc" -eq 0
ok status_says_stopped_and_keeps_the_count js \
  'ch[0]["seeder"] == "stopped" and not rel[0]["seeding"] and rel[0]["uploaded"] >= '"$SIZE"
start_daemon
ok restarted_daemon_seeds_from_its_store sw_wait_for "$T/seed.log" '"event":"seeding".*"sequence":10.*verified earlier' 30
ok count_is_carried_over_a_restart wait_js 15 \
  'ch[0]["seeder"] == "running" and rel[0]["uploaded"] >= '"$SIZE"
kill -TERM "$DPID"
wait "$DPID" || true

# A `from` that holds something else at the release's name: refused, nothing kept.
bad() { # bad NAME: a daemon adopting from $T/NAME, which the caller filled
  seedconf "$T/$1.conf" "$T/$1"
  "$SWARMUP" seed --config "$T/$1.conf" --state-dir "$T/d-$1" "${SW_NET[@]}" --json >"$T/$1.log" 2>&1 &
  BPID=$!
  SW_CLEANUPS+=("kill -9 $BPID 2>/dev/null")
}
mkdir -p "$T/tampered" "$T/linked"
cp "$OUT/hello-1.0.tar.gz" "$T/tampered/" && sw_flip "$T/tampered/hello-1.0.tar.gz" 1234567
bad tampered
ok tampered_file_in_from_is_refused_by_the_gate sw_wait_for "$T/tampered.log" '"event":"rejected".*payload rejected' 30
kill "$BPID"
wait "$BPID" 2>/dev/null || true
ok tampered_bytes_are_not_kept test ! -e "$T/d-tampered/hello/stable/store/10/hello-1.0.tar.gz" -a \
  ! -e "$T/d-tampered/hello/stable/store/10/verified"
ln -s "$OUT/hello-1.0.tar.gz" "$T/linked/hello-1.0.tar.gz"
bad linked
ok symlink_in_from_is_not_followed sw_wait_for "$T/linked.log" '"event":"rejected".*could not check' 30
kill "$BPID"
wait "$BPID" 2>/dev/null || true
ok nothing_adopted_through_a_symlink test ! -e "$T/d-linked/hello/stable/store/10/verified"
sw_done
