#!/usr/bin/env bash
# Interop with a standard client that speaks hybrid torrents (Debian's
# qbittorrent-nox, libtorrent 2.0), both directions, on 127.0.0.1:
# swarmup fetch downloads from a swarm where only qBittorrent seeds, and
# qBittorrent downloads from `swarmup seed`.
. "$(dirname "$0")/lib.sh" "$1"
# shellcheck disable=SC1091
. "$SW_SRC/tests/lib/qbt.sh"

sw_keys
K=$T/keys
sw_release "$T/rel" hello-1.0.tar.gz $((16 * 1024 * 1024 + 4321))
V2=$(sed -n 's/.*xt=urn:btmh:1220\([0-9a-f]\{64\}\).*/\1/p' <<<"$REL_MAGNET")

# 1. qBittorrent seeds (it checks the file itself: skip_checking=false); swarmup fetches.
mkdir -p "$T/qa"
SW_QBT_OWNER=$$ sw_qbt_start "$T/qa"
SW_CLEANUPS+=("sw_qbt_stop '$T/qa' >/dev/null 2>&1")
sw_qbt_add "$T/qa" "$T/rel/hello-1.0.tar.gz.torrent" "$T/rel" false
ok qbittorrent_checks_and_seeds_the_hybrid_torrent sw_qbt_wait_complete "$T/qa" "$V2" 60
QP=$(cat "$T/qa/bt_port")
sw_signed_manifest "$T/hello.manifest" "Magnet=$REL_MAGNET&x.pe=127.0.0.1:$QP"
expect fetch_downloads_from_qbittorrent_only 0 '"event":"installed".*"https_bytes":0' -- \
  "$SWARMUP" fetch --manifest "$T/hello.manifest" --trusted-key "$K/trusted.asc" --product hello \
  --state-dir "$T/c" --out "$T/out" "${SW_NET[@]}" --no-fallback --seed-time 0 --json
ok fetched_file_matches cmp -s "$T/out/hello-1.0.tar.gz" "$T/rel/hello-1.0.tar.gz"
sw_qbt_stop "$T/qa" >/dev/null 2>&1

# 2. swarmup seed seeds (adopting the file through its gate); qBittorrent downloads.
SP=$(sw_free_port)
"$SWARMUP" seed --manifest "$T/hello.manifest" --trusted-key "$K/trusted.asc" --product hello \
  --from "$T/rel/hello-1.0.tar.gz" --state-dir "$T/s" --listen "127.0.0.1:$SP" --no-dht --no-lsd --no-utp \
  --json >"$T/seed.log" 2>&1 &
SW_CLEANUPS+=("kill $! 2>/dev/null")
ok swarmup_seed_is_seeding sw_wait_for "$T/seed.log" '"event":"seeding"' 60
mkdir -p "$T/qb" "$T/qb-dl"
SW_QBT_OWNER=$$ sw_qbt_start "$T/qb"
SW_CLEANUPS+=("sw_qbt_stop '$T/qb' >/dev/null 2>&1")
sw_qbt_add "$T/qb" "$T/rel/hello-1.0.tar.gz.torrent" "$T/qb-dl" false
sw_qbt_add_peer "$T/qb" "$V2" "127.0.0.1:$SP"
ok qbittorrent_downloads_from_swarmup_seed sw_qbt_wait_complete "$T/qb" "$V2" 90
ok qbittorrent_copy_matches cmp -s "$T/qb-dl/hello-1.0.tar.gz" "$T/rel/hello-1.0.tar.gz"

sw_done
