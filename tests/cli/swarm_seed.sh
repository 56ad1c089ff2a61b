#!/usr/bin/env bash
# swarmup seed for mirror operators: seeds only what passed the gate, serves a
# plain libtorrent peer, picks up a new manifest on its next poll, drops
# releases beyond --keep, reloads on SIGHUP and stops cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
K=$T/keys

# release N: package, torrent (no tracker), package signature; a python seeder for it.
mkrel() {
  local n=$1
  mkdir -p "$T/r$n"
  head -c $((6 * 1024 * 1024 + n)) /dev/urandom >"$T/r$n/hello-$n.tar.gz"
  "$PUBLISH" make --file "$T/r$n/hello-$n.tar.gz" --product hello --version "$n.0" --sequence "$n" \
    --fallback "https://127.0.0.1:9/hello-$n.tar.gz" --no-torrent-url --out-dir "$T/r$n" >"$T/r$n/make.out"
  sw_sign_package "$A_FPR" "$T/r$n/hello-$n.tar.gz" "$T/r$n/pkg.sig"
}
# manifest for release N (with the python seeder's port as x.pe) into $T/www/hello.manifest, atomically.
publish() {
  local n=$1 port=$2 mag
  mag=$(sed -n 's/^magnet: *//p' "$T/r$n/make.out")
  REL_FILE=hello-$n.tar.gz REL_SIZE=$(stat -c %s "$T/r$n/hello-$n.tar.gz")
  REL_SHA=$(sha256sum "$T/r$n/hello-$n.tar.gz" | cut -d' ' -f1)
  REL_MAGNET="$mag&x.pe=127.0.0.1:$port" REL_PKGSIG=$(base64 -w0 "$T/r$n/pkg.sig")
  mkdir -p "$T/www"
  sw_signed_manifest "$T/www/new.manifest" "Sequence=$n" "Version=$n.0"
  mv "$T/www/new.manifest.sig" "$T/www/hello.manifest.sig"
  mv "$T/www/new.manifest" "$T/www/hello.manifest"
}

mkrel 1
sw_lt_seed src1 "$T/r1/hello-1.tar.gz.torrent" "$T/r1"
publish 1 "$LT_PORT"

SP=$(sw_free_port)
cat >"$T/seed.conf" <<CONF
# global
keep = 1
poll = 2
[hello]
manifest = $T/www/hello.manifest
trusted-key = $K/trusted.asc
product = hello
CONF
"$SWARMUP" seed --config "$T/seed.conf" --state-dir "$T/st" --listen "127.0.0.1:$SP" --no-dht --no-lsd --no-utp \
  --json >"$T/seed.log" 2>&1 &
SEEDPID=$!
SW_CLEANUPS+=("kill -9 $SEEDPID 2>/dev/null")
ok seed_downloads_verifies_and_seeds_release_1 sw_wait_for "$T/seed.log" '"event":"seeding".*"sequence":1' 60
ok release_1_was_gated_before_seeding awk '/"event":"verified".*"sequence":1/ { if (!v) v = NR }
  /"event":"seeding".*"sequence":1/ { if (!s) s = NR } END { exit !(v && s && v < s) }' "$T/seed.log"
kill "$LT_PID_src1"
mkdir -p "$T/get1"
expect plain_libtorrent_peer_downloads_release_1_from_seed 0 "" -- \
  /usr/bin/python3 "$SW_SRC/tests/lib/lt_seed.py" get --torrent "$T/r1/hello-1.tar.gz.torrent" --dir "$T/get1" \
  --peer "127.0.0.1:$SP" --timeout 60
ok peer_copy_of_release_1_is_exact cmp -s "$T/get1/hello-1.tar.gz" "$T/r1/hello-1.tar.gz"

# Release 2 appears; the seeder picks it up on its next poll and drops release 1 (--keep 1).
mkrel 2
sw_lt_seed src2 "$T/r2/hello-2.tar.gz.torrent" "$T/r2"
publish 2 "$LT_PORT"
ok seed_picks_up_new_manifest_on_next_poll sw_wait_for "$T/seed.log" '"event":"seeding".*"sequence":2' 60
ok seed_removes_release_beyond_keep sw_wait_for "$T/seed.log" '"event":"removed".*"sequence":1' 10
ok removed_release_is_gone_from_store test ! -e "$T/st/hello/stable/store/1"
kill "$LT_PID_src2"
mkdir -p "$T/get2"
expect plain_libtorrent_peer_downloads_release_2_from_seed 0 "" -- \
  /usr/bin/python3 "$SW_SRC/tests/lib/lt_seed.py" get --torrent "$T/r2/hello-2.tar.gz.torrent" --dir "$T/get2" \
  --peer "127.0.0.1:$SP" --timeout 60
ok peer_copy_of_release_2_is_exact cmp -s "$T/get2/hello-2.tar.gz" "$T/r2/hello-2.tar.gz"

# A replayed older manifest is refused by the seeder too.
cp "$T/www/hello.manifest" "$T/m2" && cp "$T/www/hello.manifest.sig" "$T/m2.sig"
publish 1 1
ok seed_refuses_rollback sw_wait_for "$T/seed.log" '"event":"rejected".*rollback' 15
cp "$T/m2" "$T/www/hello.manifest" && cp "$T/m2.sig" "$T/www/hello.manifest.sig"

# SIGHUP reloads the config; the verified release is seeded again from the store.
lines=$(wc -l <"$T/seed.log")
kill -HUP "$SEEDPID"
ok sighup_reloads_config sw_wait_for "$T/seed.log" '"event":"reload"' 10
ok after_reload_release_2_is_seeded_again sh -c "sleep 3; tail -n +$((lines + 1)) '$T/seed.log' | grep -q '\"event\":\"seeding\".*\"sequence\":2'"

# SIGTERM: a clean stop, bounded.
kill -TERM "$SEEDPID"
rc=0
for _ in $(seq 1 100); do kill -0 "$SEEDPID" 2>/dev/null || break; sleep 0.1; done
wait "$SEEDPID" || rc=$?
ok sigterm_stops_the_seeder_cleanly test "$rc" -eq 0

# --from with a file that is not the release: refused by the gate, never seeded.
head -c 1000 /dev/urandom >"$T/notit.tar.gz"
"$SWARMUP" seed --manifest "$T/www/hello.manifest" --trusted-key "$K/trusted.asc" --product hello --from "$T/notit.tar.gz" \
  --state-dir "$T/st2" "${SW_NET[@]}" --json >"$T/seed2.log" 2>&1 &
P2=$!
SW_CLEANUPS+=("kill -9 $P2 2>/dev/null")
ok seed_refuses_adopted_file_that_fails_gate sw_wait_for "$T/seed2.log" '"event":"rejected".*payload rejected' 30
ok nothing_seeded_after_rejection sh -c "! grep -q '\"event\":\"seeding\"' '$T/seed2.log'"
ok rejected_bytes_not_kept test ! -e "$T/st2/hello/stable/store/2/verified"
kill "$P2"
expect seed_has_help 0 "usage: swarmup seed" -- "$SWARMUP" seed --help

# A publisher's first seed: --from the release file. A client installs from it
# alone, and the seed reports what it sent at its stop: one copy.
SP3=$(sw_free_port)
publish 2 "$SP3"
"$SWARMUP" seed --manifest "$T/www/hello.manifest" --trusted-key "$K/trusted.asc" --product hello \
  --from "$T/r2/hello-2.tar.gz" --state-dir "$T/st3" --listen "127.0.0.1:$SP3" --no-dht --no-lsd \
  --no-utp --json >"$T/seed3.log" 2>&1 &
P3=$!
SW_CLEANUPS+=("kill -9 $P3 2>/dev/null")
ok publisher_seeds_adopted_file sw_wait_for "$T/seed3.log" '"event":"seeding".*"sequence":2' 30
expect client_installs_from_publisher_seed 0 '"event":"installed"' -- \
  timeout 90 "$SWARMUP" fetch --manifest "$T/www/hello.manifest" --trusted-key "$K/trusted.asc" --product hello \
  --state-dir "$T/f3" --out "$T/o3" "${SW_NET[@]}" --no-fallback --seed-time 0 --json
ok publisher_seeded_copy_is_exact cmp -s "$T/o3/hello-2.tar.gz" "$T/r2/hello-2.tar.gz"
kill -TERM "$P3"
wait "$P3" || true
ok seed_reports_final_upload grep -q '"event":"upload".*"sequence":2.*"final":1' "$T/seed3.log"
up=$(sed -n 's/.*"event":"upload".*"uploaded":\([0-9]*\).*"final":1.*/\1/p' "$T/seed3.log" | tail -1)
ok seed_sent_one_copy_to_one_client test "${up:-0}" -ge "$REL_SIZE" -a "${up:-0}" -lt $((REL_SIZE * 3 / 2))

# --super-seed: a new leecher is shown a couple of pieces, not the whole file
# (the plain seed above showed them all). A port of its own: the one the plain seed
# just closed may linger for a moment.
SP4=$(sw_free_port)
"$SWARMUP" seed --manifest "$T/www/hello.manifest" --trusted-key "$K/trusted.asc" --product hello \
  --from "$T/r2/hello-2.tar.gz" --super-seed --state-dir "$T/st4" --listen "127.0.0.1:$SP4" --no-dht --no-lsd \
  --no-utp --json >"$T/seed4.log" 2>&1 &
P4=$!
SW_CLEANUPS+=("kill -9 $P4 2>/dev/null")
ok super_seeding_publisher_seeds_adopted_file sw_wait_for "$T/seed4.log" '"event":"seeding".*"sequence":2' 30
mkdir -p "$T/peek"
peek=$(/usr/bin/python3 "$SW_SRC/tests/lib/lt_seed.py" peek --torrent "$T/r2/hello-2.tar.gz.torrent" --dir "$T/peek" \
  --peer "127.0.0.1:$SP4" --timeout 45) || peek="none seen"
ok super_seed_announces_few_pieces sh -c '[ "$1" -le 2 ] && [ "$2" -gt 4 ]' peek $peek 2>/dev/null
kill -TERM "$P4"
wait "$P4" || true

sw_done
