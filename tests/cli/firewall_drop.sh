#!/usr/bin/env bash
# A firewall that silently DROPs BitTorrent packets (not REJECT: no error ever
# comes back) must not hold the download: with no peer connected within a
# second, HTTPS starts while the swarm keeps trying (issue 12). The whole test
# runs in a network namespace it makes (its own loopback, no other interface,
# so no route out), with nginx, a libtorrent seeder and a dead tracker inside
# and nft dropping the seeder's and the tracker's ports.
set -euo pipefail
BUILD=${1:?usage: firewall_drop.sh BUILD_DIR}
if [ -z "${SW_FW_NETNS:-}" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null || ! command -v ip >/dev/null; then
    echo "SKIP firewall_drop: needs root, ip (iproute2) and nft (nftables) to make a network namespace with a DROP rule"
    exit 77
  fi
  NS=swfw-$$
  if ! ip netns add "$NS" 2>/dev/null; then
    echo "SKIP firewall_drop: cannot make a network namespace here (no CAP_SYS_ADMIN/CAP_NET_ADMIN, as in an unprivileged container)"
    exit 77
  fi
  # Everything started inside dies with the namespace: our processes only (they are in it).
  fw_cleanup() {
    local p
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
  }
  trap fw_cleanup EXIT INT TERM
  ip -n "$NS" link set lo up
  rc=0
  SW_FW_NETNS=$NS ip netns exec "$NS" bash "$0" "$BUILD" || rc=$?
  exit "$rc"
fi

# ---- inside the namespace ----
. "$(dirname "$0")/lib.sh" "$BUILD"
sw_keys
K=$T/keys
SIZE=$((16 * 1024 * 1024 + 4321))
sw_release "$T/rel" hello-1.0.tar.gz "$SIZE"
PKG=$T/rel/hello-1.0.tar.gz
N=$T/nginx
mkdir -p "$N/www"
cp "$PKG" "$PKG.torrent" "$N/www/"
sw_nginx "$N"
mkdir -p "$T/seedsrc" && cp "$PKG" "$T/seedsrc/"
sw_lt_seed s1 "$T/rel/hello-1.0.tar.gz.torrent" "$T/seedsrc"
TRP=$(sw_free_port)
# A tracker that would answer if it got the packets (a plain TCP listener).
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); time.sleep(120)' "$TRP" &
SW_CLEANUPS+=("kill $! 2>/dev/null")

# The silent firewall: the swarm's packets vanish (fw_open lifts it).
fw_drop() {
  nft add table inet swfw
  nft add chain inet swfw out '{ type filter hook output priority 0; policy accept; }'
  nft add rule inet swfw out tcp dport "{ $LT_PORT, $TRP }" drop
  nft add rule inet swfw out udp dport "{ $LT_PORT, $TRP }" drop
}
fw_open() { nft delete table inet swfw 2>/dev/null || true; }
fw_drop
ok swarm_port_is_silently_dropped sh -c "! timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$LT_PORT' 2>/dev/null"

MAG="$REL_MAGNET&tr=http%3A%2F%2F127.0.0.1%3A$TRP%2Fannounce&x.pe=127.0.0.1:$LT_PORT"
sw_signed_manifest "$T/m1" "Magnet=$MAG" "Fallback=$U/hello-1.0.tar.gz"
F=(--trusted-key "$K/trusted.asc" --product hello "${SW_NET[@]}" --ca-file "$N/ca.pem" --seed-time 0 --json)
rc=0
"$SWARMUP" fetch --manifest "$T/m1" --state-dir "$T/c1" --out "$T/out1" "${F[@]}" >"$T/f1.log" 2>&1 || rc=$?
ok dropped_swarm_installs_over_https test "$rc" -eq 0 -a -f "$T/out1/hello-1.0.tar.gz"
ok dropped_swarm_install_is_exact cmp -s "$T/out1/hello-1.0.tar.gz" "$PKG"
first=$(grep -o '"event":"https-first-byte","elapsed_ms":[0-9]*' "$T/f1.log" | grep -o '[0-9]*$' || echo 99999)
echo "   swarm dropped: first HTTPS byte after ${first} ms"
ok first_https_byte_within_3_s_of_start test "$first" -lt 3000
ok swarm_delivered_nothing grep -q '"event":"installed".*"swarm_bytes":0,' "$T/f1.log"
ok https_started_without_waiting_for_the_swarm_timeout grep -q '"event":"fallback","message":"adding HTTPS after [0-2]\.[0-9] s: no peer' "$T/f1.log"

# --prefer-swarm (a background install) waits its longer head start (30 s) instead.
sw_signed_manifest "$T/m2" "Magnet=$MAG" "Fallback=$U/hello-1.0.tar.gz"
rc=0
"$SWARMUP" fetch --manifest "$T/m2" --state-dir "$T/c2" --out "$T/out2" "${F[@]}" --prefer-swarm \
  >"$T/f2.log" 2>&1 || rc=$?
first=$(grep -o '"event":"https-first-byte","elapsed_ms":[0-9]*' "$T/f2.log" | grep -o '[0-9]*$' || echo 0)
echo "   --prefer-swarm: first HTTPS byte after ${first} ms"
ok prefer_swarm_installs test "$rc" -eq 0 -a -f "$T/out2/hello-1.0.tar.gz"
ok prefer_swarm_waits_its_head_start test "$first" -ge 30000

# With a Torrent URL the dropped swarm does not need a peer for its metadata:
# the .torrent (checked against the manifest) gives it, HTTPS fills pieces
# handed to libtorrent while the swarm keeps trying.
sw_signed_manifest "$T/m3" "Magnet=$MAG" "Fallback=$U/hello-1.0.tar.gz" "Torrent=$U/hello-1.0.tar.gz.torrent"
rc=0
"$SWARMUP" fetch --manifest "$T/m3" --state-dir "$T/c3" --out "$T/out3" "${F[@]}" >"$T/f3.log" 2>&1 || rc=$?
first=$(grep -o '"event":"https-first-byte","elapsed_ms":[0-9]*' "$T/f3.log" | grep -o '[0-9]*$' || echo 99999)
echo "   swarm dropped, Torrent URL: first HTTPS byte after ${first} ms"
ok dropped_swarm_with_torrent_url_installs test "$rc" -eq 0
ok dropped_swarm_with_torrent_url_install_is_exact cmp -s "$T/out3/hello-1.0.tar.gz" "$PKG"
ok dropped_swarm_metadata_came_from_the_torrent_url grep -q '"event":"metadata","message":"metadata from https://' "$T/f3.log"
ok dropped_swarm_with_torrent_url_pieces_mode grep -q '"event":"https-pieces"' "$T/f3.log"
ok dropped_swarm_with_torrent_url_first_byte_within_3_s test "$first" -lt 3000

# Every HTTPS source dead, and the firewall lifted after 2 s: HTTPS joined after
# 1 s and failed at once; the swarm was not given up for it and finishes alone.
sw_signed_manifest "$T/m4" "Magnet=$MAG" "Fallback=https://127.0.0.1:$(sw_free_port)/hello-1.0.tar.gz"
(sleep 2; fw_open) &
OPENER=$!
rc=0
"$SWARMUP" fetch --manifest "$T/m4" --state-dir "$T/c4" --out "$T/out4" "${F[@]}" >"$T/f4.log" 2>&1 || rc=$?
wait "$OPENER" || true
ok swarm_goes_on_when_every_url_failed test "$rc" -eq 0
ok swarm_goes_on_install_is_exact cmp -s "$T/out4/hello-1.0.tar.gz" "$PKG"
ok swarm_goes_on_https_had_failed grep -q '"event":"https-error"' "$T/f4.log"
ok swarm_goes_on_swarm_delivered_it grep -q '"event":"installed".*"https_bytes":0,' "$T/f4.log"
sw_done
