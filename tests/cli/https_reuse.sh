#!/usr/bin/env bash
# `swarmup fetch` reads the manifest, its signature and the payload over ONE
# TLS connection to the origin (one HTTPS client for the whole run, whose
# connection cache keeps the idle keep-alive connection): a real nginx (test CA
# made here) logs each request's $connection serial and $connection_requests.
# A fresh connection per request costs a TCP and a TLS handshake each, paid
# through the origin's queue when the client waits for its first payload byte.
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
K=$T/keys
SIZE=$((3 * 1024 * 1024 + 777))
sw_release "$T/rel" hello-1.0.tar.gz "$SIZE"
PKG=$T/rel/hello-1.0.tar.gz
N=$T/nginx
mkdir -p "$N/www"
cp "$PKG" "$N/www/"
sw_nginx "$N"
W=$N/www
CLOSED=$(sw_free_port)     # nothing listens here: the swarm's ports are "blocked"
CLOSED2=$(sw_free_port)
BLOCKED="$REL_MAGNET&tr=http%3A%2F%2F127.0.0.1%3A$CLOSED2%2Fannounce&x.pe=127.0.0.1:$CLOSED"
sw_signed_manifest "$W/hello.manifest" "Fallback=$U/hello-1.0.tar.gz"
sw_signed_manifest "$W/blocked.manifest" "Magnet=$BLOCKED" "Fallback=$U/hello-1.0.tar.gz" Sequence=11

F=(--trusted-key "$K/trusted.asc" --product hello "${SW_NET[@]}" --ca-file "$N/ca.pem" --seed-time 0 --json)

# run NAME CODE ARGS...: one fetch; its nginx log lines go to $T/NAME.access, its output to $T/NAME.log.
run() {
  local name=$1 code=$2 lines0 rc=0
  shift 2
  lines0=$(wc -l <"$N/access.log")
  "$SWARMUP" fetch "$@" >"$T/$name.log" 2>&1 || rc=$?
  # nginx logs a request when it has sent the last byte, which may be just after the client has it.
  sleep 0.3
  tail -n +"$((lines0 + 1))" "$N/access.log" >"$T/$name.access"
  ok "${name}_exits_$code" test "$rc" -eq "$code"
  [ "$rc" -eq "$code" ] || sed 's/^/   | /' "$T/$name.log" | tail -5
}
# The log line's fields from the end: ... "GET /x HTTP/1.1" CONNECTION N_ON_IT REQUEST_TIME
conns() { awk '{ print $(NF-2) }' "$T/$1.access" | sort -u | wc -l; }
served_on() { awk -v p="GET $2 HTTP" 'index($0, p) { print $(NF-2) }' "$T/$1.access"; }
same_conn() {
  local name=$1 c first=""
  shift
  for p in "$@"; do
    c=$(served_on "$name" "$p")
    [ "$(wc -w <<<"$c")" -eq 1 ] || { echo "   $p: served $(wc -w <<<"$c") times in $name" >&2; return 1; }
    [ -z "$first" ] && first=$c
    [ "$c" = "$first" ] || { sed 's/^/   | /' "$T/$name.access" >&2; return 1; }
  done
}

# 1. --no-swarm: manifest, signature and the whole file on one connection, in that order.
run nsw 0 --no-swarm --manifest "$U/hello.manifest" --state-dir "$T/c1" --out "$T/out1" "${F[@]}"
ok nsw_installs_exact_file cmp -s "$T/out1/hello-1.0.tar.gz" "$PKG"
ok nsw_manifest_sig_and_payload_on_one_connection \
  same_conn nsw /hello.manifest /hello.manifest.sig /hello-1.0.tar.gz
ok nsw_payload_is_the_connections_third_request \
  test "$(awk 'index($0, "GET /hello-1.0.tar.gz HTTP") { print $(NF-1) }' "$T/nsw.access")" = 3
echo "   fetch --no-swarm: $(wc -l <"$T/nsw.access") requests over $(conns nsw) TLS connection(s)"
ok nsw_makes_one_tls_connection test "$(conns nsw)" -eq 1

# 2. Already installed: the manifest and its signature on one connection; the run
#    ends before the update machine, and closes the client and its loop cleanly.
run utd 0 --no-swarm --manifest "$U/hello.manifest" --state-dir "$T/c1" --out "$T/out1" "${F[@]}"
ok utd_says_up_to_date grep -q '"event":"up-to-date"' "$T/utd.log"
ok utd_manifest_and_sig_on_one_connection same_conn utd /hello.manifest /hello.manifest.sig
ok utd_leaves_no_handle_open sh -c "! grep -q 'handles left open' '$T/utd.log'"

# 3. --no-fallback still reads an https:// manifest (the client is freed after it).
run nfb 0 --no-fallback --manifest "$U/hello.manifest" --state-dir "$T/c1" --out "$T/out1" "${F[@]}"
ok nfb_says_up_to_date grep -q '"event":"up-to-date"' "$T/nfb.log"
ok nfb_leaves_no_handle_open sh -c "! grep -q 'handles left open' '$T/nfb.log'"

# 4. A blocked swarm: HTTPS joins a second later (no peer connected) and its
#    request finds the manifest's connection still open.
run blk 0 --manifest "$U/blocked.manifest" --state-dir "$T/c4" --out "$T/out4" "${F[@]}"
ok blk_installs_exact_file cmp -s "$T/out4/hello-1.0.tar.gz" "$PKG"
ok blk_https_joined_after_no_peer grep -q '"event":"fallback"' "$T/blk.log"
ok blk_manifest_sig_and_payload_on_one_connection \
  same_conn blk /blocked.manifest /blocked.manifest.sig /hello-1.0.tar.gz

# 5. The Torrent URL is asked for when the swarm starts, not when HTTPS joins.
#    The magnet alone (no peer, no tracker; DHT and LSD off): nothing fails, no
#    peer ever connects, and the scheduler adds HTTPS beside the swarm after its
#    1 s no-peer rule, a second after the .torrent was asked for.
#    - a Torrent URL answered by a file that is not the signed torrent: the
#      --json warning comes BEFORE HTTPS joins (asked at the join, it came
#      after), then file mode installs;
#    - the right .torrent: HTTPS starts on pieces with its metadata at the join,
#      the .torrent asked for before the payload, on the manifest's connection.
cp "$PKG" "$W/not-a.torrent"
cp "$T/rel/hello-1.0.tar.gz.torrent" "$W/hello.torrent"
sw_signed_manifest "$W/badt.manifest" "Magnet=$REL_MAGNET" "Fallback=$U/hello-1.0.tar.gz" \
  "Torrent=$U/not-a.torrent" Sequence=12
sw_signed_manifest "$W/goodt.manifest" "Magnet=$REL_MAGNET" "Fallback=$U/hello-1.0.tar.gz" \
  "Torrent=$U/hello.torrent" Sequence=13
run badt 0 --manifest "$U/badt.manifest" --state-dir "$T/c5" --out "$T/out5" "${F[@]}"
ok badt_installs_exact_file cmp -s "$T/out5/hello-1.0.tar.gz" "$PKG"
warn_line=$(grep -n '"event":"warning".*torrent file' "$T/badt.log" | head -1 | cut -d: -f1)
fb_line=$(grep -n '"event":"fallback"' "$T/badt.log" | head -1 | cut -d: -f1)
echo "   bad Torrent URL: warning on output line ${warn_line:-none}, HTTPS joined on line ${fb_line:-none}"
ok badt_https_joined_beside_the_swarm grep -q '"event":"fallback","message":"adding HTTPS' "$T/badt.log"
ok torrent_url_is_asked_before_https_joins test "${warn_line:-999999}" -lt "${fb_line:-0}"
run goodt 0 --manifest "$U/goodt.manifest" --state-dir "$T/c6" --out "$T/out6" "${F[@]}"
ok goodt_installs_exact_file cmp -s "$T/out6/hello-1.0.tar.gz" "$PKG"
ok goodt_https_on_pieces_with_the_torrents_metadata \
  grep -q '"event":"metadata","message":"metadata from https://' "$T/goodt.log"
grep -q '"event":"metadata","message":"metadata from https://' "$T/goodt.log" ||
  grep -v '"event":"progress"' "$T/goodt.log" | cut -c1-250 | sed 's/^/   | /'
# (the first request for that path: the payload now comes in several Ranges)
nth() { awk -v p="GET $2 HTTP" 'index($0, p) { print $(NF-1); exit }' "$T/$1.access"; }
ok goodt_torrent_asked_before_the_payload test "$(nth goodt /hello.torrent)" -lt "$(nth goodt /hello-1.0.tar.gz)"
ok goodt_torrent_and_payload_on_the_manifests_connection \
  same_conn goodt /goodt.manifest /goodt.manifest.sig /hello.torrent

sw_done
