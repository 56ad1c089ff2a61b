#!/usr/bin/env bash
# One download, two sources at once (issue 12): a slow swarm (one seeder capped
# at 2 MiB/s) and a real nginx. HTTPS joins early and takes pieces from the end
# backwards; both sources deliver, the origin serves strictly less than the
# file and nothing twice, and the result is seeded afterwards. Then a swarm
# that never gives metadata, with a Torrent URL: the .torrent gives it and
# HTTPS goes on in pieces mode beside the swarm.
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
K=$T/keys
SIZE=$((24 * 1024 * 1024 + 777))
sw_release "$T/rel" hello-1.0.tar.gz "$SIZE"
PKG=$T/rel/hello-1.0.tar.gz
N=$T/nginx
mkdir -p "$N/www"
cp "$PKG" "$PKG.torrent" "$N/www/"
sw_nginx "$N"
served() { awk -v f="$1" '$0 ~ f && $2 ~ /^20/ { s += $3 } END { print s + 0 }' "$N/access.log"; }
F=(--trusted-key "$K/trusted.asc" --product hello --listen 127.0.0.1:0 --no-dht --no-lsd --no-utp
   --ca-file "$N/ca.pem" --json)

# 1. A seeder capped at 2 MiB/s and the origin, at once.
mkdir -p "$T/seedsrc" && cp "$PKG" "$T/seedsrc/"
sw_lt_seed s1 "$T/rel/hello-1.0.tar.gz.torrent" "$T/seedsrc" --upload-limit $((2 * 1024 * 1024))
sw_signed_manifest "$T/m1" "Magnet=$REL_MAGNET&x.pe=127.0.0.1:$LT_PORT" "Fallback=$U/hello-1.0.tar.gz"
P1=$(sw_free_port)
before=$(served 'GET /hello-1.0.tar.gz ')
"$SWARMUP" fetch --manifest "$T/m1" --state-dir "$T/c1" --out "$T/out1" "${F[@]/127.0.0.1:0/127.0.0.1:$P1}" \
  --seed-time 120 >"$T/f1.log" 2>&1 &
FP=$!
SW_CLEANUPS+=("kill $FP 2>/dev/null")
ok slow_swarm_and_origin_install sw_wait_for "$T/f1.log" '"event":"installed"' 60
ok mixed_install_is_exact cmp -s "$T/out1/hello-1.0.tar.gz" "$PKG"
inst=$(grep '"event":"installed"' "$T/f1.log" || true)
sb=$(grep -o '"swarm_bytes":[0-9]*' <<<"$inst" | grep -o '[0-9]*$' || echo 0)
hb=$(grep -o '"https_bytes":[0-9]*' <<<"$inst" | grep -o '[0-9]*$' || echo 0)
got=$(( $(served 'GET /hello-1.0.tar.gz ') - before ))
echo "   swarm delivered $sb, HTTPS $hb, nginx served $got of $SIZE bytes"
# (Why HTTPS joined, and the swarm's first peer: what a failure here needs.)
grep -m1 -E '"event":"fallback"' "$T/f1.log" | sed 's/^/   /' || true
grep -m1 -E '"event":"peer' "$T/f1.log" | sed 's/^/   /' || true
ok https_joined_beside_the_swarm grep -q '"event":"fallback","message":"adding HTTPS after' "$T/f1.log"
ok both_sources_delivered test "${sb:-0}" -gt 0 -a "${hb:-0}" -gt 0
ok summary_adds_up_to_the_file test $((sb + hb)) -eq "$SIZE"
ok origin_served_strictly_less_than_the_file test "$got" -lt "$SIZE"
ok origin_served_only_what_the_swarm_did_not test "$got" -le $((SIZE - sb + 1024 * 1024))
ok https_took_pieces_from_the_end grep -qE '"bytes=[0-9]+-'"$((SIZE - 1))"'" "GET /hello-1.0.tar.gz' "$N/access.log"

# ... and it is seeded: with the capped seeder gone, a second client gets the
# whole file from the first one alone (no fallback).
ok first_client_seeds sw_wait_for "$T/f1.log" '"event":"seeding"' 20
kill "$LT_PID_s1" 2>/dev/null || true
sw_signed_manifest "$T/m1b" "Magnet=$REL_MAGNET&x.pe=127.0.0.1:$P1"
expect second_client_gets_it_from_the_first 0 '"event":"installed".*"https_bytes":0' -- \
  "$SWARMUP" fetch --manifest "$T/m1b" --state-dir "$T/c1b" --out "$T/out1b" "${F[@]}" --seed-time 0 --no-fallback
ok seeded_copy_is_exact cmp -s "$T/out1b/hello-1.0.tar.gz" "$PKG"
kill "$FP" 2>/dev/null || true
wait "$FP" 2>/dev/null || true

# 2. A peer that accepts connections and never answers (no metadata ever), and
# a Torrent URL: after the head start HTTPS fetches the .torrent, the swarm's
# torrent gets its metadata from it and HTTPS fills pieces handed to libtorrent.
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
conns = []
end = time.time() + 120
while time.time() < end:
    s.settimeout(1)
    try: conns.append(s.accept()[0])
    except socket.timeout: pass
' "$T/hole.port" &
SW_CLEANUPS+=("kill $! 2>/dev/null")
sw_wait_for "$T/hole.port" '^[0-9]+$' 10
sw_signed_manifest "$T/m2" "Magnet=$REL_MAGNET&x.pe=127.0.0.1:$(cat "$T/hole.port")" "Fallback=$U/hello-1.0.tar.gz" \
  "Torrent=$U/hello-1.0.tar.gz.torrent"
rc=0
"$SWARMUP" fetch --manifest "$T/m2" --state-dir "$T/c2" --out "$T/out2" "${F[@]}" --seed-time 0 >"$T/f2.log" 2>&1 || rc=$?
ok no_metadata_swarm_installs_with_torrent_url test "$rc" -eq 0
ok torrent_url_install_is_exact cmp -s "$T/out2/hello-1.0.tar.gz" "$PKG"
ok metadata_came_from_the_torrent_url grep -q '"event":"metadata","message":"metadata from https://' "$T/f2.log"
ok https_went_on_in_pieces_mode grep -q '"event":"https-pieces"' "$T/f2.log"
ok no_part_file_was_used test ! -e "$T/c2/hello/stable/store/10/hello-1.0.tar.gz.part"
sw_done
