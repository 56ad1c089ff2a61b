#!/usr/bin/env bash
# savings.sh [BUILD_DIR] [OUT.md] - how much the publisher sends when N clients install a
# release through the swarm (with the HTTPS origin as fallback) versus everyone over HTTPS.
# A benchmark, not a test. Writes OUT.md (default docs/bench-savings.md; "" only prints) and a
# plot beside it (OUT.md with .png for .md), made with matplotlib (apt-get install
# python3-matplotlib; /usr/bin/python3).
#
#   bash tools/bench/savings.sh               # BUILD_DIR defaults to build-bench (Release)
#
# The setting (all on 127.0.0.1, TCP only, every process stopped by PID at exit):
# - a random release (SW_SAVINGS_MIB MiB, default 128) in the document root of a real nginx
#   (TLS, the test CA of tests/lib/nginx.sh): the publisher's HTTPS origin, the manifest's
#   Fallback. Its bytes are counted from nginx's access log ($body_bytes_sent of the file);
# - a local opentracker (tests/lib/tracker.sh) whitelisting the release's v1 and v2 hashes;
# - the publisher's seed: `swarmup seed --from` the origin's file, on a fixed port, started
#   for each swarm scenario and stopped after it, super-seeding (BEP 16) unless
#   SW_SAVINGS_SUPER_SEED=0; what it sent is its final `upload` event (payload bytes);
# - the torrent and magnet from `swarmup-publish make --tracker URL --peer 127.0.0.1:SEEDPORT`
#   (so the magnet carries tr= and x.pe=, as a publisher would ship it), a signed manifest;
# - scenarios, for N in SW_SAVINGS_NS (default "10 25"), each mode of SW_SAVINGS_MODES (default
#   "swarm prefer https") in turn:
#     swarm  N x `swarmup fetch --seed-time SW_SAVINGS_SEED_TIME (default 20)` (default seed
#            ratio 2.0), each with its own --state-dir and --out: the foreground default
#            (HTTPS joins after the swarm's 3 s head start, or sooner, when the swarm's rate
#            would not finish within it),
#     prefer the same with `--prefer-swarm` (background installs: the swarm alone for 30 s,
#            then HTTPS only if the swarm would not finish within 10 minutes); only for the N
#            in SW_SAVINGS_PREFER_NS (default: the largest N, to keep tools/bench/run short),
#     https  the same N clients with `--no-swarm` (everyone from the origin),
#   started in waves as real installs would be: SW_SAVINGS_WAVE (default 5) clients every
#   SW_SAVINGS_GAP (default 4) seconds. SW_SAVINGS_SEED_LIMIT=BYTES/s caps the publisher seed's
#   upload (default 0: unlimited; on loopback it is then as fast as any peer). Each client runs under tools/bench/memwatch.py (wall,
#   CPU incl. gpg, peak anon, timestamped --json events); a client still running
#   SW_SAVINGS_TIMEOUT (default 90) s after the last start gets SIGTERM and counts as failed;
#   its time to install is the time
#   from its spawn to its `installed` event. Every installed file's SHA-256 is checked.
# Publisher egress = the seed's upload + the origin's body bytes, divided by the release size.
# Environment: the SW_SAVINGS_* above, SW_BENCH_KEEP=DIR (keep the per-client results),
# SW_BENCH_SUMMARY=FILE (headline figures as JSON, for tools/bench/run).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build-bench}" && pwd)
out_md=${2-$repo/docs/bench-savings.md}
mib=${SW_SAVINGS_MIB:-128}
NS=${SW_SAVINGS_NS:-10 25}
MODES=${SW_SAVINGS_MODES:-swarm prefer https}
PREFER_NS=${SW_SAVINGS_PREFER_NS:-$(tr ' ' '\n' <<<"$NS" | grep . | sort -n | tail -1)}
WAVE=${SW_SAVINGS_WAVE:-5}
GAP=${SW_SAVINGS_GAP:-4}
SEED_TIME=${SW_SAVINGS_SEED_TIME:-20}
SEED_LIMIT=${SW_SAVINGS_SEED_LIMIT:-0} # the publisher seed's upload limit, bytes/s (0: none)
SUPER_SEED=${SW_SAVINGS_SUPER_SEED:-1} # 0: the publisher seed does not super-seed
PY=/usr/bin/python3
SWARMUP=$build/swarmup
PUBLISH=$build/tools/swarmup-publish
MW=("$PY" "$here/memwatch.py")
CLIENT_TIMEOUT=${SW_SAVINGS_TIMEOUT:-90} # seconds, per client (download + seeding)

for x in "$SWARMUP" "$PUBLISH"; do
  [ -x "$x" ] || { echo "savings.sh: $x not found; build $build first (Release)" >&2; exit 2; }
done
for x in nginx opentracker; do
  command -v "$x" >/dev/null || { echo "savings.sh: $x not installed" >&2; exit 2; }
done
for m in $MODES; do
  case $m in swarm | prefer | https) ;; *) echo "savings.sh: unknown mode $m in SW_SAVINGS_MODES (swarm prefer https)" >&2; exit 2 ;; esac
done
"$PY" -c 'import matplotlib' 2>/dev/null ||
  { echo "savings.sh: no matplotlib for $PY (apt-get install -y python3-matplotlib)" >&2; exit 2; }

BENCH=savings.sh
# shellcheck disable=SC1091
. "$here/lib.sh"

# ---- origin, keys, tracker, torrent, publisher seed, manifest ----------------------------
NAME=hello-1.0.tar.gz
N=$T/nginx
SIZE=$((mib * 1024 * 1024))
mkdir -p "$N/www" "$T/res" "$T/rel" "$T/tracker"
SW_NGINX_OWNER=$$ sw_nginx_start "$N" 0 >/dev/null || die "nginx did not start"
PIDS+=("$(cat "$N/nginx.pid")")
URL=https://127.0.0.1:$(cat "$N/port")/$NAME
CA=$N/ca.pem
PKG=$N/www/$NAME
log "making a $mib MiB release, keys, tracker and the publisher's seed in $T"
head -c "$SIZE" /dev/urandom >"$PKG"
SHA=$(sha_of "$PKG")
bench_keys "$PKG"
# The info-hashes first (the tracker must whitelist them before it runs); the torrent is
# reproducible and trackers/peers are not in the info dict, so the second make keeps them.
"$PUBLISH" make --file "$PKG" --product hello --version 1.0 --sequence 1 --fallback "$URL" \
  --out-dir "$T/rel" --no-torrent-url >"$T/make0.out"
MAG0=$(sed -n 's/^magnet: *//p' "$T/make0.out")
V2=$(sed -n 's/.*xt=urn:btmh:1220\([0-9a-f]\{40\}\).*/\1/p' <<<"$MAG0")
V1=$(sed -n 's/.*xt=urn:btih:\([0-9a-f]\{40\}\).*/\1/p' <<<"$MAG0")
[ -n "$V1" ] && [ -n "$V2" ] || die "no v1/v2 hash in the magnet: $MAG0"
SW_TRACKER_OWNER=$$ sw_tracker_start "$T/tracker" "$V2" "$V1" >/dev/null || die "opentracker did not start"
PIDS+=("$(cat "$T/tracker/tracker.pid")")
ANNOUNCE=$(cat "$T/tracker/announce")
SEED_PORT=$(free_port)
"$PUBLISH" make --file "$PKG" --product hello --version 1.0 --sequence 1 --fallback "$URL" \
  --tracker "$ANNOUNCE" --peer "127.0.0.1:$SEED_PORT" --out-dir "$T/rel" --no-torrent-url >"$T/make.out"
MAG=$(sed -n 's/^magnet: *//p' "$T/make.out")
TORRENT=$T/rel/$NAME.torrent
[ -s "$TORRENT" ] || die "swarmup-publish make wrote no torrent"
case $MAG in *"xt=urn:btih:$V1"*"tr="*"x.pe="*) ;; *) die "unexpected magnet: $MAG" ;; esac


bench_manifest "$T/m" "$MAG" "$URL"

# Peers the tracker lists now ("complete"/"incomplete"), for the log: stale peers of an
# earlier scenario would show here.
tracker_counts() {
  local q
  q=$(sw_tracker__urlhash "$V1")
  curl -s --max-time 2 "$ANNOUNCE?info_hash=$q&peer_id=-SW0000-benchchk0000&port=1&uploaded=0&downloaded=0&left=0&compact=1&event=stopped" |
    grep -ao 'complete\(i[0-9]*e\|d\)\|incompletei[0-9]*e' | tr '\n' ' ' || true
}
# The publisher's seed, one per swarm scenario: `swarmup seed --from` the release file (it
# passes the gate, its torrent is made again and must match the signed btmh), on SEED_PORT
# (the magnet's x.pe), super-seeding unless SW_SAVINGS_SUPER_SEED=0. What it sent comes from
# its last `upload` event at SIGTERM (libtorrent's payload count).
pubseed_start() { # DIR
  local d=$1 args=()
  rm -rf "$d"
  mkdir -p "$d"
  [ "$SUPER_SEED" != 0 ] && args+=(--super-seed)
  [ "$SEED_LIMIT" != 0 ] && args+=(--upload-limit "$(((SEED_LIMIT + 1023) / 1024))")
  "$SWARMUP" seed --manifest "$T/m" --trusted-key "$T/keys/trusted.asc" --product hello --from "$PKG" \
    --state-dir "$d/state" --listen "127.0.0.1:$SEED_PORT" --no-dht --no-lsd --no-utp --json --no-progress \
    "${args[@]}" >"$d/log" 2>&1 &
  SEED_PID=$!
  PIDS+=("$SEED_PID")
  for _ in $(seq 1 600); do # gate + torrent done and seeding (60 s at most)
    grep -q '"event":"seeding"' "$d/log" 2>/dev/null && return 0
    kill -0 "$SEED_PID" 2>/dev/null || { cat "$d/log" >&2; die "the publisher's seed died"; }
    sleep 0.1
  done
  die "the publisher's seed is not seeding after 60 s"
}
pubseed_stop() { # DIR: stops it (in this shell, to wait for it); SEED_SENT = the payload bytes it sent
  local d=$1
  kill -TERM "$SEED_PID" 2>/dev/null || true
  wait "$SEED_PID" 2>/dev/null || true
  cp "$d/log" "$T/res/pubseed.$(date +%s).log" 2>/dev/null || true
  SEED_SENT=$(sed -n 's/.*"event":"upload".*"uploaded":\([0-9]*\).*"final":1.*/\1/p' "$d/log" | tail -1)
  [ -n "$SEED_SENT" ] || die "the publisher's seed reported no final upload event"
}

# ---- one scenario --------------------------------------------------------------------------
# scenario MODE N: MODE swarm, prefer or https. Results in $T/res/MODE-N/: c$i.json (memwatch),
# c$i.lines (timestamped events), c$i.start (spawn offset s), scen.json (publisher counts).
scenario() {
  local mode=$1 n=$2 i d rs nfail lines0 up0 pup0 up1 pup1 t0 deadline alive got tstart
  local R=$T/res/$mode-$n CP=()
  mkdir -p "$R"
  log "scenario $mode N=$n: tracker lists: $(tracker_counts); load $(cut -d' ' -f1-3 /proc/loadavg)"
  up0=0
  [ "$mode" != https ] && pubseed_start "$T/pubseed"
  lines0=$(wc -l <"$N/access.log")
  tstart=$(now)
  for i in $(seq 1 "$n"); do
    d=$T/c/$i
    rm -rf "$d"
    mkdir -p "$d/out" "$d/state"
    local cmd=("$SWARMUP" fetch --manifest "$T/m" --trusted-key "$T/keys/trusted.asc" --product hello
      --state-dir "$d/state" --out "$d/out" --ca-file "$CA" --json --no-progress)
    if [ "$mode" != https ]; then
      cmd+=(--listen 127.0.0.1:0 --no-dht --no-lsd --no-utp --seed-time "$SEED_TIME")
      [ "$mode" = prefer ] && cmd+=(--prefer-swarm)
    else
      cmd+=(--no-swarm --seed-time 0)
    fi
    awk -v a="$tstart" -v b="$(now)" 'BEGIN { printf "%.3f\n", b - a }' >"$R/c$i.start"
    "${MW[@]}" --result "$R/c$i.json" --lines "$R/c$i.lines" -- "${cmd[@]}" 2>"$R/c$i.err" &
    CP+=("$!")
    PIDS+=("$!")
    if [ $((i % WAVE)) -eq 0 ] && [ "$i" -lt "$n" ]; then sleep "$GAP"; fi
  done
  # A client still running CLIENT_TIMEOUT s after the last start is hung: SIGTERM to the
  # swarmup under its memwatch (by parent PID), so that memwatch records it and its events;
  # SIGKILL to both 10 s later.
  deadline=$((SECONDS + CLIENT_TIMEOUT))
  local termed=0
  while :; do
    alive=0
    for i in "${CP[@]}"; do kill -0 "$i" 2>/dev/null && alive=$((alive + 1)); done
    [ "$alive" -eq 0 ] && break
    if [ "$SECONDS" -ge "$deadline" ] && [ "$termed" = 0 ]; then
      log "$mode N=$n: $alive clients still running after ${CLIENT_TIMEOUT} s: SIGTERM"
      for i in "${CP[@]}"; do kill -0 "$i" 2>/dev/null && pkill -TERM -P "$i" 2>/dev/null; done
      termed=1
    elif [ "$SECONDS" -ge $((deadline + 10)) ]; then
      for i in "${CP[@]}"; do pkill -KILL -P "$i" 2>/dev/null; kill -KILL "$i" 2>/dev/null; done
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  for i in $(seq 1 "$n"); do [ -s "$R/c$i.json" ] || echo '{"rc": "killed"}' >"$R/c$i.json"; done
  t0=$(now)
  for i in "${CP[@]}"; do wait "$i" || true; done
  sleep 0.3 # the last access-log lines
  up1=0
  if [ "$mode" != https ]; then
    pubseed_stop "$T/pubseed"
    up1=$SEED_SENT
  fi
  pup1=$up1
  pup0=$up0
  tail -n +"$((lines0 + 1))" "$N/access.log" >"$R/access.log"
  # A client that exited 0 installed exactly the release; one that failed installed nothing
  # (it is counted and reported as failed, with its error: a benchmark reports, it does not
  # hide failures).
  nfail=0
  for i in $(seq 1 "$n"); do
    rs=$(json_field "$R/c$i.json" rc 2>/dev/null || echo killed)
    [ "$rs" != 0 ] && ! grep -q '"event":"error"' "$R/c$i.lines" 2>/dev/null && [ "$termed" = 1 ] && rs="$rs (hung: SIGTERM after ${CLIENT_TIMEOUT} s)"
    if [ "$rs" = 0 ]; then
      got=$(sha_of "$T/c/$i/out/$NAME")
      [ "$got" = "$SHA" ] || die "$mode N=$n: client $i installed a file with SHA-256 $got, not $SHA"
    else
      nfail=$((nfail + 1))
      echo "$rs" >"$R/c$i.failed"
      [ ! -e "$T/c/$i/out/$NAME" ] || die "$mode N=$n: client $i failed ($rs) but left $NAME in --out"
      log "$mode N=$n: client $i FAILED (exit $rs): $(grep -o '"event":"error".*' "$R/c$i.lines" | cut -c1-300)"
    fi
  done
  rm -rf "$T/c"
  awk -v a="$tstart" -v b="$t0" -v up="$((up1 - up0))" -v pup="$((pup1 - pup0))" -v mode="$mode" -v n="$n" \
    -v l="$(cut -d' ' -f1-3 /proc/loadavg)" \
    'BEGIN { printf "{\"mode\": \"%s\", \"n\": %d, \"seed_upload\": %d, \"seed_payload_upload\": %d, \"elapsed\": %.2f, \"load\": \"%s\"}\n", mode, n, up, pup, b - a, l }' \
    >"$R/scen.json"
  log "scenario $mode N=$n: done in $(awk -v a="$tstart" -v b="$t0" 'BEGIN { printf "%.1f", b - a }') s; seed sent $(((up1 - up0) >> 20)) MiB, origin $(awk '{ s += $3 } END { printf "%d", s / 1048576 }' "$R/access.log") MiB; $((n - nfail)) installed (SHA-256 ok), $nfail failed"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$SECONDS
for n in $NS; do
  for mode in $MODES; do
    if [ "$mode" = prefer ] && ! grep -qw -- "$n" <<<"$PREFER_NS"; then continue; fi
    scenario "$mode" "$n"
  done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
log "all scenarios done in $((SECONDS - T_START)) s"

# ---- report + plot -----------------------------------------------------------------------
export SW_B_DATE SW_B_CPU SW_B_NPROC SW_B_VERS SW_B_MIB="$mib" SW_B_NS="$NS" SW_B_WAVE="$WAVE" SW_B_GAP="$GAP"
export SW_B_SEED_TIME="$SEED_TIME" SW_B_ELAPSED=$((SECONDS - T_START)) SW_B_LOAD="$LOAD0 before, $LOAD1 after"
export SW_B_SUMMARY=${SW_BENCH_SUMMARY:-} SW_B_NAME=$NAME SW_B_MODES="$MODES" SW_B_PREFER_NS="$PREFER_NS"
SW_B_DATE=$(date -u +%Y-%m-%d)
SW_B_CPU=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
SW_B_NPROC=$(nproc)
SW_B_VERS="$("$SWARMUP" --version | head -1); libtorrent $("$PY" -c 'import libtorrent as lt; print(lt.__version__)'); $(nginx -v 2>&1 | sed 's/^nginx version: //'); opentracker (Debian); $(uname -sr)"
png=""
if [ -n "$out_md" ]; then png=${out_md%.md}.png; else png=$T/savings.png; fi
report=$("$PY" "$here/savings_report.py" "$T/res" "$png")

notes=$(bench_notes "$out_md")
and_list() { # A B C -> "A, B and C"
  local out="" i=0
  for x in "$@"; do
    i=$((i + 1))
    if [ "$i" = 1 ]; then out=$x; elif [ "$i" = "$#" ]; then out+=" and $x"; else out+=", $x"; fi
  done
  echo "$out"
}
doc=$(
  echo "# Origin savings benchmark"
  echo
  echo "Produced by \`tools/bench/savings.sh\` on $SW_B_DATE ($SW_B_ELAPSED s for the scenarios; load average $SW_B_LOAD)."
  echo "Machine: $SW_B_CPU, $SW_B_NPROC cores. $SW_B_VERS."
  echo
  echo "What a publisher sends when N machines install one ${SW_B_MIB} MiB release. On 127.0.0.1"
  echo "(TCP only): the publisher's HTTPS origin (a real nginx, TLS, test CA; the manifest's"
  echo "\`Fallback\`), the publisher's seed (\`swarmup seed --from FILE$([ "$SUPER_SEED" != 0 ] && echo " --super-seed")\`,"
  if [ "$SEED_LIMIT" = 0 ]; then echo "unlimited upload; started for each swarm scenario), a local opentracker, and a magnet from \`swarmup-publish make --tracker"
  else echo "upload limited to $((SEED_LIMIT / 1024)) KiB/s; started for each swarm scenario), a local opentracker, and a magnet from \`swarmup-publish make --tracker"; fi
  echo "URL --peer SEED\` (tr= and x.pe=). N \`swarmup fetch\` clients, each with its own"
  echo "--state-dir and --out, are started in waves of $SW_B_WAVE every $SW_B_GAP s, in each mode of"
  echo "SW_SAVINGS_MODES ($MODES):"
  for m in $MODES; do
    case $m in
      swarm) echo "- **swarm**, the foreground default: the swarm gets a 3 s head start, and HTTPS joins beside"
        echo "  it as soon as the swarm's observed rate would not finish the file within it;" ;;
      prefer) echo "- **prefer**, \`--prefer-swarm\` (the background mode): the swarm alone for 30 s, then HTTPS"
        echo "  only if the swarm would not finish within 10 minutes; run for N = $(and_list $PREFER_NS) only"
        echo "  (SW_SAVINGS_PREFER_NS; to keep \`tools/bench/run\` within its time);" ;;
      https) echo "- **https**, HTTPS only: the same clients with \`--no-swarm\`;" ;;
    esac
  done
  echo "in the swarm modes each client seeds for \`--seed-time $SW_B_SEED_TIME\` s after installing"
  echo "(default \`--seed-ratio 2\`)."
  echo "**Publisher egress** = the seed's upload (its last \`upload\` event: libtorrent's payload"
  echo "count) + the origin's \`\$body_bytes_sent\` for the file (TLS framing not counted),"
  echo "divided by the release size. **Time to install** = from a client's spawn to its"
  echo "\`installed\` event (manifest check, download, payload gate, atomic install); p95 is the"
  echo "nearest-rank 95th percentile. Every installed file's SHA-256 was checked."
  echo
  echo "![publisher egress and install times]($(basename "$png"))"
  echo
  echo "$report"
  echo
  echo "$notes"
)
bench_publish "$out_md" "$doc" "$png"
