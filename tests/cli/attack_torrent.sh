#!/usr/bin/env bash
# Unsigned parts of a .torrent and of resume data (issue 10, section 4).
#
# The signed manifest binds a .torrent only through its btmh, the SHA-256 of the
# info dictionary. Whoever serves the Torrent: URL (or writes the store) can add
# any top-level key and keep the btmh: announce, announce-list, url-list,
# httpseeds, nodes. Resume data can carry trackers, web seeds and peers too.
# swarmup must take trackers, web seeds, DHT nodes and peers only from the signed
# manifest. Each listener below (127.0.0.1, tests/lib/listeners.py) stands for an
# address the attacker chose; it records any TCP connection or UDP datagram, and
# the tests require that it saw none. Real nginx, real libtorrent, loopback only.
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
K=$T/keys
SIZE=$((3 * 1024 * 1024 + 4321))
sw_release "$T/rel" hello-1.0.tar.gz "$SIZE"
PKG=$T/rel/hello-1.0.tar.gz
TOR=$T/rel/hello-1.0.tar.gz.torrent
N=$T/nginx
mkdir -p "$N/www"
cp "$PKG" "$N/www/"
sw_nginx "$N"
DEAD=$(sw_free_port) # nothing listens here: the swarm fails at once and fetch goes to HTTPS
TAMPER=(/usr/bin/python3 "$SW_SRC/tests/lib/tamper_torrent.py")

# listen_start TAG NAME=tcp|udp...: listeners in the background (bounded: 300 s),
# stopped by PID at exit; sets P_NAME to each port. Contacts go to $T/TAG.contacts.
listen_start() {
  local tag=$1 pid name port
  shift
  /usr/bin/python3 "$SW_SRC/tests/lib/listeners.py" --ports-file "$T/$tag.ports" --log "$T/$tag.contacts" \
    --timeout 300 "$@" >"$T/$tag.listen.log" 2>&1 &
  pid=$!
  SW_CLEANUPS+=("kill $pid 2>/dev/null")
  eval "LISTEN_PID_$tag=$pid"
  sw_wait_for "$T/$tag.ports" '' 10 || return 1
  while read -r name port; do eval "P_$name=$port"; done <"$T/$tag.ports"
  : >>"$T/$tag.contacts"
}

# no_contact TAG NAME...: none of these listeners saw a connection or a datagram.
no_contact() {
  local tag=$1 name hits=0
  shift
  for name in "$@"; do
    if grep -q "^$name " "$T/$tag.contacts"; then
      hits=1
      grep "^$name " "$T/$tag.contacts" | head -3 | sed 's/^/   | contacted: /'
    fi
  done
  return "$hits"
}

# signed_only FILE: FILE is the release's torrent (same info-hashes as the one made
# by swarmup-publish) with no key but "info" and "piece layers".
signed_only() {
  /usr/bin/python3 - "$1" "$TOR" <<'PY'
import os, sys
import libtorrent as lt
kept, orig = (open(p, "rb").read() for p in sys.argv[1:3])
keys = sorted(lt.bdecode(kept).keys())
a, b = lt.torrent_info(lt.bdecode(kept)).info_hashes(), lt.torrent_info(lt.bdecode(orig)).info_hashes()
ok = keys == [b"info", b"piece layers"] and a.v1 == b.v1 and a.v2 == b.v2
if not ok:
    print("   | kept torrent has keys %s" % keys)
sys.stdout.flush()
os._exit(0 if ok else 1)
PY
}

F=(--trusted-key "$K/trusted.asc" --product hello --ca-file "$N/ca.pem" --json)

# ---- 1. fetch: the Torrent: URL's trackers and web seeds ----------------------------
# Trackers in announce-list (an HTTP and a UDP tier) and web seeds (url-list and
# httpseeds). The swarm is dead, so fetch downloads over HTTPS, takes the .torrent
# from the Torrent: URL (its btmh matches) and seeds the verified file with it.
listen_start a tr_http=tcp tr_udp=udp ws_url=tcp ws_http=tcp
"${TAMPER[@]}" "$TOR" "$N/www/a.torrent" \
  --announce-list "http://127.0.0.1:$P_tr_http/announce" --announce-list "udp://127.0.0.1:$P_tr_udp/announce" \
  --url-list "http://127.0.0.1:$P_ws_url/" --httpseeds "http://127.0.0.1:$P_ws_http/"
sw_signed_manifest "$T/a.manifest" "Magnet=$REL_MAGNET&x.pe=127.0.0.1:$DEAD" "Fallback=$U/hello-1.0.tar.gz" \
  "Torrent=$U/a.torrent"
expect fetch_with_tampered_torrent_installs_and_seeds 0 '"event":"seeding"' -- \
  "$SWARMUP" fetch --manifest "$T/a.manifest" --state-dir "$T/ca" --out "$T/oa" "${F[@]}" "${SW_NET[@]}" \
  --seed-time 6 --seed-ratio 0
ok tampered_torrent_was_fetched_from_the_torrent_url grep -q ' 200 .*"GET /a.torrent ' "$N/access.log"
ok torrent_is_kept_in_the_store test -s "$T/ca/hello/stable/store/10/hello-1.0.tar.gz.torrent"
ok kept_torrent_file_holds_only_the_signed_part signed_only "$T/ca/hello/stable/store/10/hello-1.0.tar.gz.torrent"
ok installed_file_is_exact cmp -s "$T/oa/hello-1.0.tar.gz" "$PKG"
ok torrent_file_trackers_are_not_contacted no_contact a tr_http tr_udp
ok torrent_file_web_seeds_are_not_contacted no_contact a ws_url ws_http

# ---- 2. fetch with the DHT on: the Torrent: URL's nodes (and its plain announce) ------
# DHT on, bound to 127.0.0.1, and --no-dht-bootstrap: libtorrent's only route to
# the Internet (its router dht.libtorrent.org) is off, so the DHT can only reach
# nodes it is given. The .torrent gives one (a listener) and an "announce" tracker.
listen_start b dht=udp tr_ann=tcp
"${TAMPER[@]}" "$TOR" "$N/www/b.torrent" --announce "http://127.0.0.1:$P_tr_ann/announce" \
  --nodes "127.0.0.1:$P_dht"
sw_signed_manifest "$T/b.manifest" "Magnet=$REL_MAGNET&x.pe=127.0.0.1:$DEAD" "Fallback=$U/hello-1.0.tar.gz" \
  "Torrent=$U/b.torrent"
expect fetch_with_dht_and_tampered_torrent_installs_and_seeds 0 '"event":"seeding"' -- \
  "$SWARMUP" fetch --manifest "$T/b.manifest" --state-dir "$T/cb" --out "$T/ob" "${F[@]}" \
  --listen 127.0.0.1:0 --no-dht-bootstrap --no-lsd --no-utp --seed-time 6 --seed-ratio 0
ok dht_run_fetched_the_tampered_torrent grep -q ' 200 .*"GET /b.torrent ' "$N/access.log"
ok torrent_file_dht_nodes_are_not_contacted no_contact b dht
ok torrent_file_announce_is_not_contacted no_contact b tr_ann

# ---- 3. swarmup seed: a .torrent kept in the store by an earlier run --------------------
# fetch (no seeding) keeps the Torrent: URL's file in the store (today only its
# signed part); swarmup seed on the same state dir finds the verified release and
# seeds it with that file. The stored file is then replaced by the tampered one,
# as an older swarmup kept it (or as whoever can write the store leaves it), and
# the seeder is started twice: each start reloads the release from the store.
listen_start c tr_http=tcp tr_udp=udp ws_url=tcp
"${TAMPER[@]}" "$TOR" "$N/www/c.torrent" \
  --announce-list "http://127.0.0.1:$P_tr_http/announce" --announce-list "udp://127.0.0.1:$P_tr_udp/announce" \
  --url-list "http://127.0.0.1:$P_ws_url/"
sw_signed_manifest "$T/c.manifest" "Magnet=$REL_MAGNET&x.pe=127.0.0.1:$DEAD" "Fallback=$U/hello-1.0.tar.gz" \
  "Torrent=$U/c.torrent"
expect fetch_keeps_tampered_torrent_for_the_seeder 0 '"event":"installed"' -- \
  "$SWARMUP" fetch --manifest "$T/c.manifest" --state-dir "$T/cc" --out "$T/oc" "${F[@]}" "${SW_NET[@]}" \
  --seed-time 0
ok fetch_without_seeding_contacted_nobody no_contact c tr_http tr_udp ws_url
cp "$N/www/c.torrent" "$T/cc/hello/stable/store/10/hello-1.0.tar.gz.torrent"
for run in 1 2; do
  "$SWARMUP" seed --manifest "$T/c.manifest" --state-dir "$T/cc" "${F[@]}" "${SW_NET[@]}" --poll 600 \
    >"$T/seed$run.log" 2>&1 &
  SPID=$!
  SW_CLEANUPS+=("kill -9 $SPID 2>/dev/null")
  ok "seeder_run_${run}_seeds_the_release_from_the_store" \
    sw_wait_for "$T/seed$run.log" '"event":"seeding".*verified earlier' 30
  sleep 5 # libtorrent announces at once when a torrent starts; give it time to
  kill -TERM "$SPID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
done
ok seeder_ignores_torrent_file_trackers no_contact c tr_http tr_udp
ok seeder_ignores_torrent_file_web_seeds no_contact c ws_url

# ---- 4. resume data in the store ---------------------------------------------------------
# Resume data for this torrent (right info-hashes) that names trackers, web seeds
# and peers, and renames the file out of the store. fetch downloads from a real
# seeder (the magnet's x.pe, rate-limited so the download lasts a few seconds).
listen_start d tr=tcp ws=tcp peer=tcp
mkdir -p "$T/seeddir"
cp "$PKG" "$T/seeddir/"
sw_lt_seed src "$TOR" "$T/seeddir" --upload-limit $((768 * 1024))
read -r V2 V1 < <(sed -n 's/.*xt=urn:btmh:1220\([0-9a-f]\{64\}\).*xt=urn:btih:\([0-9a-f]\{40\}\).*/\1 \2/p' \
  <<<"$REL_MAGNET")
mkdir -p "$T/cd/hello/stable/store/10"
chmod -R go-rwx "$T/cd"
/usr/bin/python3 - "$T/cd/hello/stable/store/10/resume.dat" "$V1" "$V2" "$P_tr" "$P_ws" "$P_peer" "$T/elsewhere" <<'PY'
import os, socket, struct, sys
import libtorrent as lt
out, v1, v2, ptr, pws, ppeer, elsewhere = sys.argv[1:]
rd = {
    b"file-format": b"libtorrent resume file", b"file-version": 1,
    b"info-hash": bytes.fromhex(v1), b"info-hash2": bytes.fromhex(v2),
    b"trackers": [[("http://127.0.0.1:%s/announce" % ptr).encode()]],
    b"url-list": [("http://127.0.0.1:%s/" % pws).encode()],
    b"httpseeds": [("http://127.0.0.1:%s/h" % pws).encode()],
    b"peers": socket.inet_aton("127.0.0.1") + struct.pack(">H", int(ppeer)),
    b"mapped_files": [(elsewhere + "/hello-1.0.tar.gz").encode()],
    b"save_path": elsewhere.encode(),
}
with open(out, "wb") as f:
    f.write(lt.bencode(rd))
sys.stdout.flush()
os._exit(0)
PY
sw_signed_manifest "$T/d.manifest" "Magnet=$REL_MAGNET&x.pe=127.0.0.1:$LT_PORT" "Fallback=$U/hello-1.0.tar.gz"
expect fetch_with_planted_resume_data_installs 0 '"event":"installed"' -- \
  "$SWARMUP" fetch --manifest "$T/d.manifest" --state-dir "$T/cd" --out "$T/od" "${F[@]}" "${SW_NET[@]}" \
  --seed-time 3 --seed-ratio 0 --no-fallback
ok resume_data_download_is_exact cmp -s "$T/od/hello-1.0.tar.gz" "$PKG"
ok resume_data_trackers_are_not_contacted no_contact d tr
ok resume_data_web_seeds_are_not_contacted no_contact d ws
ok resume_data_peers_are_not_contacted no_contact d peer
ok resume_data_cannot_move_the_download test ! -e "$T/elsewhere"
kill "$LT_PID_src" 2>/dev/null || true

sw_done
