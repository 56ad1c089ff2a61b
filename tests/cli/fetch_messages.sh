#!/usr/bin/env bash
# What `swarmup fetch` says in text when sources fail: one clear line per source.
# An HTTPS source that fails says so once ("...; trying the next URL"); the last
# one is said by the final error, which names every source and why (before, each
# failure was printed twice, the second time inside the final error, and a dead
# Torrent URL added "could not get the torrent file" in the middle). A Torrent URL
# that gave nothing is said where it matters: "not seeding: ..." (--json still
# reports every event as it happens).
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
sw_release "$T/rel" hello-1.0.tar.gz 40000
K=$T/keys
D1=https://127.0.0.1:9/one/hello-1.0.tar.gz
D2=https://127.0.0.1:9/two/hello-1.0.tar.gz
F=(--trusted-key "$K/trusted.asc" --product hello --no-progress --seed-time 0)

# Two dead Fallback URLs (port 9: refused at once), no swarm.
sw_signed_manifest "$T/m1" "Fallback=$D1 $D2" "Torrent=https://127.0.0.1:9/hello.torrent"
rc=0
"$SWARMUP" fetch --manifest "$T/m1" --state-dir "$T/s1" --out "$T/o1" --no-swarm "${F[@]}" >"$T/f1.out" 2>"$T/f1.err" || rc=$?
ok every_source_failed_is_exit_4 [ "$rc" = 4 ]
ok first_url_is_said_once_before_the_end [ "$(grep -c "one/hello" "$T/f1.err")" = 2 ]
ok first_url_line_says_what_comes_next grep -q "one/hello-1.0.tar.gz: .*; trying the next URL" "$T/f1.err"
ok last_url_is_said_only_by_the_final_error [ "$(grep -c "two/hello" "$T/f1.err")" = 1 ]
ok final_error_names_both_urls grep -q "download failed on every source.*one/hello.*two/hello" "$T/f1.err"
ok no_torrent_warning_in_the_middle sh -c "! grep -q 'torrent file' '$T/f1.err'"

# --json keeps every event: both URLs' https-error events.
rc=0
"$SWARMUP" fetch --manifest "$T/m1" --state-dir "$T/s2" --out "$T/o2" --no-swarm "${F[@]}" --json >"$T/f2.out" 2>&1 || rc=$?
ok json_exit_4 [ "$rc" = 4 ]
ok json_has_an_event_per_url [ "$(grep -c '"event":"https-error"' "$T/f2.out")" -ge 2 ]

# One good URL after a dead one, the swarm on but with no peer, a dead Torrent URL:
# installed; the dead URL is said once; the torrent's absence is said where it
# matters (not seeding), once.
N=$T/nginx
mkdir -p "$N"
sw_nginx "$N"
cp "$T/rel/hello-1.0.tar.gz" "$N/www/"
U=https://127.0.0.1:$(cat "$N/port")
sw_signed_manifest "$T/m3" "Fallback=$D1 $U/hello-1.0.tar.gz" "Torrent=https://127.0.0.1:9/hello.torrent" \
  "Magnet=$REL_MAGNET&x.pe=127.0.0.1:9"
rc=0
"$SWARMUP" fetch --manifest "$T/m3" --state-dir "$T/s3" --out "$T/o3" --ca-file "$N/ca.pem" "${SW_NET[@]}" \
  --trusted-key "$K/trusted.asc" --product hello --no-progress --seed-time 5 >"$T/f3.out" 2>"$T/f3.err" || rc=$?
ok installed_from_the_second_url [ "$rc" = 0 ] && cmp -s "$T/o3/hello-1.0.tar.gz" "$T/rel/hello-1.0.tar.gz"
ok dead_url_said_once [ "$(grep -c "one/hello" "$T/f3.err")" = 1 ]
ok torrent_said_once_where_it_matters [ "$(grep -c "torrent" "$T/f3.err")" = 1 ]
ok torrent_line_is_the_not_seeding_line grep -q "not seeding: no torrent file for this release (Torrent URL: " "$T/f3.err"

# With the torrent at hand, fetch goes on sharing after the install: it says so
# plainly, with how long, on which port, and how to stop it.
cp "$T/rel/hello-1.0.tar.gz.torrent" "$N/www/"
sw_signed_manifest "$T/m4" "Fallback=$U/hello-1.0.tar.gz" "Torrent=$U/hello-1.0.tar.gz.torrent" \
  "Magnet=$REL_MAGNET&x.pe=127.0.0.1:9"
rc=0
"$SWARMUP" fetch --manifest "$T/m4" --state-dir "$T/s4" --out "$T/o4" --ca-file "$N/ca.pem" "${SW_NET[@]}" \
  --trusted-key "$K/trusted.asc" --product hello --no-progress --seed-time 2 >"$T/f4.out" 2>"$T/f4.err" || rc=$?
ok installed_then_shared [ "$rc" = 0 ]
ok sharing_is_said_plainly grep -qE "installed; now sharing it with other clients for up to 2 s( or until the ratio is reached)? on port [0-9]+ \(DHT off\): Ctrl-C stops sharing \(the install is done\), --seed-time 0 skips it" "$T/f4.err"

# -q: nothing but warnings and errors on stderr; the result line stays on stdout.
rc=0
"$SWARMUP" fetch -q --manifest "$T/m4" --state-dir "$T/s5" --out "$T/o5" --ca-file "$N/ca.pem" "${SW_NET[@]}" \
  --trusted-key "$K/trusted.asc" --product hello --seed-time 0 >"$T/f5.out" 2>"$T/f5.err" || rc=$?
ok quiet_installs [ "$rc" = 0 ]
ok quiet_says_nothing_on_stderr [ ! -s "$T/f5.err" ]
ok quiet_keeps_the_result_line grep -q "^installed " "$T/f5.out"
[ "$FAIL" = 0 ] || { echo "--- f1.err"; cat "$T/f1.err"; echo "--- f3.err"; cat "$T/f3.err"; echo "--- f4.err"; cat "$T/f4.err"; echo "--- f5.err"; cat "$T/f5.err"; }
sw_done
