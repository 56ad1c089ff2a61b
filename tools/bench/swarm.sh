#!/usr/bin/env bash
# swarm.sh [BUILD_DIR] [OUT.md] - benchmark `swarmup fetch --no-fallback` against a minimal
# plain libtorrent client (tools/bench/lt_get.py) and aria2c, on loopback, from 1 and from 3
# local seeders, in the same run. A benchmark, not a test.
#
#   bash tools/bench/swarm.sh                 # BUILD_DIR defaults to build-bench (Release)
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2
#
# What it does (all on 127.0.0.1, TCP only, every process killed by PID at exit):
# - a random payload (SW_BENCH_MIB MiB, default 512), test keys (tests/lib/mkkeys.sh), the
#   hybrid torrent and magnet from `swarmup-publish make`, the payload signature by key A;
# - a v1-only torrent of the same file with the same piece size for aria2c (aria2 1.36
#   cannot join a hybrid swarm), announced to a local opentracker (tests/lib/tracker.sh),
#   because aria2c has no way to be given a peer;
# - seeders: `lt_get.py seed` processes (plain python libtorrent, lt_seed.py's settings),
#   each seeding BOTH torrents, so every downloader has the same seeders; seeder 1 first,
#   seeders 2 and 3 are added for the 3-seeder scenario (the tracker then lists 3);
# - per scenario a signed manifest whose magnet carries x.pe=127.0.0.1:PORT for each seeder;
# - rounds: one warm-up round, then SW_BENCH_RUNS (default 3) rounds; a round runs every
#   tool once, in turn (interleaved, so drift hits all tools alike). Each run gets fresh
#   state and output directories and is measured by tools/bench/memwatch.py (wall, CPU of
#   the process tree, peak RSS, peak anonymous memory, stdout timestamps). The SHA-256 of
#   every download is checked after the run (outside the timed region); a mismatch aborts;
# - the payload gate alone (tools/bench/sw_gate_bench, warm-up + runs) on the same file;
# - a markdown report to OUT.md (default docs/bench-swarm.md; "" only prints). Everything
#   below the line "<!-- notes -->" in an existing OUT.md is kept (hand-written analysis).
# Environment: SW_BENCH_MIB (default 512), SW_BENCH_RUNS (default 3), SW_BENCH_TOOLS (default
# "swarmup lt_torrent lt_magnet aria2c_none aria2c_falloc"; swarmup and lt_torrent are needed
# for the ratios), SW_BENCH_KEEP=DIR to
# keep the per-run results there (R.json, R.lines: timestamped stdout, R.trace: memwatch
# samples "seconds rss_anon_kib vmhwm_kib rchar wchar cpu_ticks"), SW_BENCH_WRAP="CMD ARGS" to
# run swarmup under a tool (e.g. "heaptrack -o /tmp/ht/sw"; its figures are then the tool's).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build-bench}" && pwd)
out_md=${2-$repo/docs/bench-swarm.md}
mib=${SW_BENCH_MIB:-512}
runs=${SW_BENCH_RUNS:-3}
PY=/usr/bin/python3
SWARMUP=$build/swarmup
PUBLISH=$build/tools/swarmup-publish
GATE=$build/tools/bench/sw_gate_bench
MW=("$PY" "$here/memwatch.py")
RUN_TIMEOUT=120 # seconds, per download

for x in "$SWARMUP" "$PUBLISH" "$GATE"; do
  [ -x "$x" ] || { echo "swarm.sh: $x not found; build $build first (Release)" >&2; exit 2; }
done
read -ra TOOLS <<<"${SW_BENCH_TOOLS:-swarmup lt_torrent lt_magnet aria2c_none aria2c_falloc}"
export SW_B_TOOLS="${TOOLS[*]}"
if [[ " ${TOOLS[*]} " == *" aria2c_"* ]]; then
  command -v aria2c >/dev/null || { echo "swarm.sh: aria2c not installed" >&2; exit 2; }
fi
command -v opentracker >/dev/null || { echo "swarm.sh: opentracker not installed" >&2; exit 2; }

BENCH=swarm.sh
# shellcheck disable=SC1091
. "$here/lib.sh"

# ---- payload, keys, torrents ---------------------------------------------------------
NAME=hello-1.0.tar.gz
REL=$T/rel
PKG=$REL/$NAME
SIZE=$((mib * 1024 * 1024))
mkdir -p "$REL" "$T/res"
log "making a $mib MiB payload, keys and torrents in $T"
head -c "$SIZE" /dev/urandom >"$PKG"
SHA=$(sha_of "$PKG")
bench_keys "$PKG"
"$PUBLISH" make --file "$PKG" --product hello --version 1.0 --sequence 1 \
  --fallback https://127.0.0.1:9/x --no-torrent-url >"$T/make.out"
MAG=$(sed -n 's/^magnet: *//p' "$T/make.out")
HYB=$PKG.torrent
[ -n "$MAG" ] && [ -s "$HYB" ] || die "swarmup-publish make gave no magnet/torrent"

# The v1-only torrent for aria2c: same file, same piece size as the hybrid one. The
# tracker URL is not part of the info dict, so the hash is known before the tracker runs.
V1=$T/v1.torrent
V1HASH=$("$PY" - "$PKG" "$HYB" "$V1" <<'EOF'
import os, sys
import libtorrent as lt
path, hyb, out = sys.argv[1:4]
plen = lt.torrent_info(hyb).piece_length()
fs = lt.file_storage()
lt.add_files(fs, path)
ct = lt.create_torrent(fs, plen, flags=lt.create_torrent.v1_only)
ct.set_creator("tools/bench/swarm.sh")
lt.set_piece_hashes(ct, os.path.dirname(path))
open(out, "wb").write(lt.bencode(ct.generate()))
print(str(lt.torrent_info(out).info_hashes().v1))
EOF
)
mkdir -p "$T/tracker"
SW_TRACKER_OWNER=$$ sw_tracker_start "$T/tracker" "$V1HASH" >/dev/null
PIDS+=("$(cat "$T/tracker/tracker.pid")")
ANNOUNCE=$(cat "$T/tracker/announce")
"$PY" - "$V1" "$ANNOUNCE" <<'EOF'
import sys
import libtorrent as lt
f, url = sys.argv[1:3]
e = lt.bdecode(open(f, "rb").read())
e[b"announce"] = url.encode()
open(f, "wb").write(lt.bencode(e))
EOF

# How many seeders the tracker lists for the v1 torrent ("complete" count).
tracker_seeds() {
  local q
  q=$(sw_tracker__urlhash "$V1HASH")
  curl -s --max-time 2 "$ANNOUNCE?info_hash=$q&peer_id=-SW0000-benchchk0000&port=1&uploaded=0&downloaded=0&left=0&compact=1&event=stopped" |
    grep -ao 'completei[0-9]*e' | head -1 | tr -dc 0-9
}

SEED_PORTS=()
start_seeder() { # I
  local i=$1 t0=$SECONDS
  "$PY" "$here/lt_get.py" seed --torrent "$HYB" --torrent "$V1" --dir "$REL" \
    --port-file "$T/seed$i.port" --timeout 300 >"$T/seed$i.log" 2>&1 &
  PIDS+=("$!")
  SEEDER_PID[$i]=$!
}
declare -A SEEDER_PID
# CPU clock ticks (user + system) the running seeders have used so far: read around each
# run, so that a run's share of the seeders' work is known (the floor in the report).
seeders_ticks() { cpu_ticks "${SEEDER_PID[@]}"; }
await_seeders() { # N: seeders 1..N listening (after their check) and listed by the tracker
  local n=$1 i k
  for i in $(seq 1 "$n"); do
    wait_file "$T/seed$i.port" 300 || { cat "$T/seed$i.log" >&2; die "seeder $i did not start"; }
    SEED_PORTS[$i]=$(cat "$T/seed$i.port")
  done
  for k in $(seq 1 300); do
    [ "$(tracker_seeds || echo 0)" -ge "$n" ] 2>/dev/null && return 0
    sleep 0.1
  done
  die "the tracker does not list $n seeders"
}

# ---- one run of one tool -----------------------------------------------------------------
# run_one SCEN TOOL RUN: RUN is w (warm-up) or 1..runs. Writes $T/res/SCEN/TOOL.RUN.json
# (+ .lines: timestamped stdout) and checks the SHA-256 of the download afterwards.
run_one() {
  local scen=$1 tool=$2 run=$3 d=$T/run res got file rc=0 ap dp
  local base=$T/res/$scen/$tool.$run attempt ticks0
  mkdir -p "$T/res/$scen"
  rm -rf "$d"
  mkdir -p "$d/out" "$d/state"
  case $tool in
    swarmup)
      cmd=(${SW_BENCH_WRAP:-} "$SWARMUP" fetch --manifest "$T/$scen.manifest" --trusted-key "$T/keys/trusted.asc" --product hello
        --state-dir "$d/state" --out "$d/out" --listen 127.0.0.1:0 --no-dht --no-lsd --no-utp
        --no-fallback --seed-time 0 --no-progress --json)
      file=$d/out/$NAME ;;
    lt_torrent)
      cmd=("$PY" "$here/lt_get.py" get --torrent "$HYB" --dir "$d/out" --timeout "$RUN_TIMEOUT")
      for p in "${PEERS[@]}"; do cmd+=(--peer "$p"); done
      file=$d/out/$NAME ;;
    lt_magnet)
      cmd=("$PY" "$here/lt_get.py" get --magnet "$SCEN_MAG" --dir "$d/out" --timeout "$RUN_TIMEOUT")
      file=$d/out/$NAME ;;
    aria2c_none | aria2c_falloc)
      ap=$(free_port)
      dp=$(free_port)
      cmd=(aria2c --dir="$d/out" --interface=127.0.0.1 --disable-ipv6=true --enable-dht=false
        --enable-dht6=false --enable-peer-exchange=false --bt-enable-lpd=false --listen-port="$ap"
        --dht-listen-port="$dp" --seed-time=0 --check-integrity=false --file-allocation="${tool#aria2c_}"
        --bt-save-metadata=false --auto-save-interval=0 --summary-interval=0 --console-log-level=warn
        --bt-stop-timeout="$RUN_TIMEOUT" --no-conf=true "$V1")
      file=$d/out/$NAME ;;
    *) die "unknown tool $tool" ;;
  esac
  # Plain libtorrent 2.0.8 now and then drops a hybrid torrent whose peers are all honest
  # ("v1 and v2 hashes do not describe the same data", arvidn/libtorrent#6394; swarmup's
  # wrapper restarts the torrent itself, torrent/swarm.cpp). A baseline run that hits it
  # measures nothing: it is run again (up to 5 attempts: with 3 seeders it hit 3 in a row), and the log says so.
  for attempt in 1 2 3 4 5; do
    rc=0
    ticks0=$(seeders_ticks)
    timeout -k 5 "$((RUN_TIMEOUT + 10))" "${MW[@]}" --result "$base.json" --lines "$base.lines" --trace "$base.trace" -- "${cmd[@]}" \
      2>"$base.err" || rc=$?
    echo $(($(seeders_ticks) - ticks0)) >"$base.seeders"
    # Once (00:01, s3, lt_magnet) plain libtorrent exited 0 from a magnet with a file whose
    # SHA-256 was wrong: the same hybrid-torrent trouble, without the message. Run again too.
    if [ "$rc" -eq 0 ] && [ "$attempt" -lt 5 ] && [[ $tool == lt_* ]] && [ -f "$file" ] &&
      [ "$(sha_of "$file")" != "$SHA" ]; then
      log "$scen $tool run $run: plain libtorrent finished with a wrong SHA-256; running it again"
      rm -rf "$d"
      mkdir -p "$d/out" "$d/state"
      continue
    fi
    [ "$rc" -ne 0 ] && [ "$attempt" -lt 5 ] && [[ $tool == lt_* ]] &&
      grep -q 'v1 and v2 hashes do not describe the same data' "$base.err" || break
    log "$scen $tool run $run: libtorrent's hybrid-torrent error (arvidn/libtorrent#6394); running it again"
    rm -rf "$d"
    mkdir -p "$d/out" "$d/state"
  done
  # plain libtorrent from a magnet (not a target's baseline) hit it in 5 of 5 attempts once
  # (2026-12-08 03:00, 3 seeders): that run is reported as n/a instead of ending the bench.
  if [ "$rc" -ne 0 ] && [ "$tool" = lt_magnet ] && grep -q 'v1 and v2 hashes do not describe the same data' "$base.err"; then
    log "$scen $tool run $run: libtorrent#6394 in every attempt; reported as n/a"
    echo '{"failed": "libtorrent#6394 in 5 of 5 attempts"}' >"$base.json"
    rm -rf "$d"
    return 0
  fi
  [ "$rc" -eq 0 ] || { tail -n 5 "$base.err" "$base.lines" >&2 || true; die "$tool run $run ($scen) failed ($rc)"; }
  [ -f "$file" ] || die "$tool run $run ($scen): no $file"
  got=$(sha_of "$file")
  [ "$got" = "$SHA" ] || die "$tool run $run ($scen): SHA-256 mismatch"
  log "$scen $tool run $run: $(tr -d '\n' <"$base.json" | sed 's/"cmd": "[^"]*", //')"
  rm -rf "$d"
}

bench_scenario() { # N seeders
  local n=$1 scen=s$1 i r tool
  PEERS=()
  SCEN_MAG=$MAG
  for i in $(seq 1 "$n"); do
    PEERS+=("127.0.0.1:${SEED_PORTS[$i]}")
    SCEN_MAG+="&x.pe=127.0.0.1:${SEED_PORTS[$i]}"
  done
  # The manifest as in tests/cli/lib.sh (sw_manifest), signed by A.
  bench_manifest "$T/$scen.manifest" "$SCEN_MAG" "https://127.0.0.1:9/x"
  for r in w $(seq 1 "$runs"); do
    for tool in "${TOOLS[@]}"; do run_one "$scen" "$tool" "$r"; done
  done
}

T_START=$SECONDS
declare -a SEED_PORTS
start_seeder 1
await_seeders 1
log "seeder 1 ready (port ${SEED_PORTS[1]}, $((SECONDS - T_START)) s)"
bench_scenario 1
start_seeder 2
start_seeder 3
await_seeders 3
log "seeders 2, 3 ready (ports ${SEED_PORTS[2]} ${SEED_PORTS[3]})"
bench_scenario 3

# ---- the payload gate alone ------------------------------------------------------------
mkdir -p "$T/res/gate"
for r in w $(seq 1 "$runs"); do
  "${MW[@]}" --result "$T/res/gate/gate.$r.json" -- "$GATE" --key "$T/keys/trusted.asc" --sig "$T/pkg.sig" \
    --sha256 "$SHA" --size "$SIZE" "$PKG" 2>"$T/res/gate/gate.$r.err" || die "sw_gate_bench failed"
  # What the gate's copy into --out costs by itself: the same 32 KiB writes into a new file.
  "${MW[@]}" --result "$T/res/gate/copy.$r.json" -- dd if="$PKG" of="$T/copy" bs=32k status=none ||
    die "dd failed"
  rm -f "$T/copy"
done
for p in "${SEEDER_PID[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
log "all runs done in $((SECONDS - T_START)) s"

# ---- report --------------------------------------------------------------------------------
export SW_B_DATE SW_B_CPU SW_B_NPROC SW_B_VERS SW_B_MIB="$mib" SW_B_RUNS="$runs" SW_B_ELAPSED=$((SECONDS - T_START))
export SW_B_CLK_TCK
SW_B_CLK_TCK=$(getconf CLK_TCK)
SW_B_DATE=$(date -u +%Y-%m-%d)
SW_B_CPU=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
SW_B_NPROC=$(nproc)
SW_B_VERS="$("$SWARMUP" --version | head -1); libtorrent $("$PY" -c 'import libtorrent as lt; print(lt.__version__)') (python3-libtorrent, also what swarmup links); $(aria2c --version 2>/dev/null | head -1 || echo "aria2c not installed"); $(gpg --version | head -1); $(uname -sr)"
report=$("$PY" - "$T/res" <<'EOF'
import glob, json, os, statistics, sys

res = sys.argv[1]
mib = int(os.environ["SW_B_MIB"])
runs = int(os.environ["SW_B_RUNS"])
LABEL = {
    "swarmup": "`swarmup fetch --no-fallback` (magnet + x.pe, gate, install)",
    "lt_torrent": "plain libtorrent, .torrent file (lt_get.py)",
    "lt_magnet": "plain libtorrent, magnet + x.pe (lt_get.py)",
    "aria2c_none": "aria2c, v1-only torrent, --file-allocation=none",
    "aria2c_falloc": "aria2c, v1-only torrent, --file-allocation=falloc",
}
ORDER = [t for t in os.environ["SW_B_TOOLS"].split() if t in LABEL]


def load(scen, tool):
    out = []
    for r in range(1, runs + 1):
        with open("%s/%s/%s.%d.json" % (res, scen, tool, r)) as f:
            j = json.load(f)
        if j.get("failed"):  # lt_magnet: libtorrent#6394 in every attempt (run_one)
            continue
        ev = {}
        try:
            with open("%s/%s/%s.%d.lines" % (res, scen, tool, r)) as f:
                for line in f:
                    t, _, rest = line.partition(" ")
                    rest = rest.strip()
                    if rest.startswith("{"):
                        try:
                            o = json.loads(rest)
                        except ValueError:
                            continue
                        name = o.get("event")
                        if name == "peer-disconnected" and "finished" in str(o.get("reason", "")):
                            name = "swarm-finished"
                    else:
                        name = rest.split(" ")[0]
                    if name and name not in ev:
                        ev[name] = float(t)
        except OSError:
            pass
        j["ev"] = ev
        try:
            with open("%s/%s/%s.%d.seeders" % (res, scen, tool, r)) as f:
                j["seeders_cpu"] = int(f.read().strip()) / float(os.environ["SW_B_CLK_TCK"])
        except (OSError, ValueError):
            j["seeders_cpu"] = None
        out.append(j)
    return out


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def f(x, fmt="%.2f"):
    return "n/a" if x is None else fmt % x


scens = [("s1", 1), ("s3", 3)]
data = {s: {t: load(s, t) for t in ORDER} for s, _ in scens}
print("| tool | seeders | median wall s | MiB/s | ratio to plain libtorrent | ratio to aria2c | CPU s | CPU s per GiB | peak RSS MiB | peak anon MiB | peak file pages MiB |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for s, n in scens:
    lt_w = med(j["wall"] for j in data[s]["lt_torrent"])
    ar = [med(j["wall"] for j in data[s][t]) for t in ("aria2c_none", "aria2c_falloc") if t in ORDER]
    ar_w = min(ar) if ar else None
    for t in ORDER:
        d = data[s][t]
        if not d:
            print("| %s | %d | n/a (libtorrent#6394 in every attempt) | | | | | | | | |" % (LABEL[t], n))
            continue
        w = med(j["wall"] for j in d)
        cpu = med(j["cpu"] for j in d)
        print("| %s | %d | %.2f | %.0f | %.2fx | %s | %.2f | %.2f | %.0f | %.1f | %.0f |" % (
            LABEL[t], n, w, mib / w, w / lt_w, "n/a" if ar_w is None else "%.2fx" % (w / ar_w), cpu, cpu * 1024 / mib,
            med(j["peak_rss_kib"] for j in d) / 1024, med(j["peak_anon_kib"] for j in d) / 1024,
            med(j.get("peak_file_kib", 0) for j in d) / 1024))
print()
cores = int(os.environ["SW_B_NPROC"])
print("The CPU floor: on %d cores a download can end no sooner than (its own CPU + the seeders'" % cores)
print("CPU during that run) / %d, since the seeders run on the same cores (nothing else is" % cores)
print("counted: the tracker, the kernel's own threads). Medians of the same runs; the last column")
print("is what the floor alone allows against plain libtorrent's measured wall time.")
print()
print("| tool | seeders | wall s | own CPU s | seeders' CPU s | floor s | wall / floor | floor / plain libtorrent's wall |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for s, n in scens:
    lt_w = med(j["wall"] for j in data[s]["lt_torrent"])
    for t in ORDER:
        d = data[s][t]
        if not d:
            continue
        fl = med((j["cpu"] + j["seeders_cpu"]) / cores if j.get("seeders_cpu") is not None else None for j in d)
        print("| %s | %d | %.2f | %.2f | %s | %s | %s | %s |" % (
            LABEL[t], n, med(j["wall"] for j in d), med(j["cpu"] for j in d), f(med(j.get("seeders_cpu") for j in d)),
            f(fl), "n/a" if fl is None else "%.2fx" % (med(j["wall"] for j in d) / fl),
            "n/a" if fl is None else "%.2fx" % (fl / lt_w)))
print()
print("Where the time goes (medians of the same runs, seconds since the process was spawned,")
print("from the timestamped stdout of each run: swarmup's `--json` events, lt_get.py's milestone")
print("lines). swarmup's \"download done\" is its first `peer-disconnected` event with reason")
print("\"torrent finished\"; \"gate start\" is the first 10 ms sample at which swarmup had read()")
print("more than 4 MiB (the gate reads the file; the download leaves the read counter flat).")
print()
print("| tool | seeders | first peer | metadata | download done | gate start | installed | exit | after download | download part vs plain libtorrent |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for s, n in scens:
    lt_w = med(j["wall"] for j in data[s]["lt_torrent"])
    for t, peer_ev, meta_ev, done_ev in (("swarmup", "peer-connected", "metadata", "swarm-finished"),
                                         ("lt_torrent", "peer", None, "finished"),
                                         ("lt_magnet", "peer", "metadata", "finished")):
        if t not in ORDER or not data[s][t]:
            continue
        d = data[s][t]
        pe = med(j["ev"].get(peer_ev) for j in d)
        me = med(j["ev"].get(meta_ev) for j in d) if meta_ev else None
        dl = med(j["ev"].get(done_ev) for j in d)
        gs = med(j.get("t_read_mark") for j in d) if t == "swarmup" else None
        ins = med(j["ev"].get("installed") for j in d) if t == "swarmup" else None
        w = med(j["wall"] for j in d)
        after = med((j["wall"] - j["ev"][done_ev]) if done_ev in j["ev"] else None for j in d)
        print("| %s | %d | %s | %s | %s | %s | %s | %.2f | %s | %s |" % (
            LABEL[t], n, f(pe), "(in .torrent)" if meta_ev is None else f(me), f(dl),
            f(gs) if t == "swarmup" else "-", f(ins) if t == "swarmup" else "-", w, f(after),
            "n/a" if dl is None else "%.2fx" % (dl / lt_w)))
print()
g = []
for r in range(1, runs + 1):
    with open("%s/gate/gate.%d.json" % (res, r)) as fh:
        g.append(json.load(fh))
gw = med(j["wall"] for j in g)
print("The payload gate alone on the same file (`tools/bench/sw_gate_bench`: size + SHA-256 +")
print("gpg signature in one pass, no copy): median %.2f s (%.0f MiB/s), CPU %.2f s (gpg included)," % (
    gw, mib / gw, med(j["cpu"] for j in g)))
print("peak anon %.1f MiB." % (med(j["peak_anon_kib"] for j in g) / 1024))
c = []
for r in range(1, runs + 1):
    with open("%s/gate/copy.%d.json" % (res, r)) as fh:
        c.append(json.load(fh))
print("Copying the file (page cache to a new file, `dd bs=32k`, what the gate's copy with --copy")
print("or across file systems costs by itself): median")
print("%.2f s, CPU %.2f s." % (med(j["wall"] for j in c), med(j["cpu"] for j in c)))
print()
print("All runs (wall s):")
print()
for s, n in scens:
    for t in ORDER:
        print("- %d seeder(s), %s: %s" % (n, t, ", ".join("%.2f" % j["wall"] for j in data[s][t]) or "n/a"))
print()
print("Ratio of `swarmup fetch` to plain libtorrent (.torrent) round by round (same round, so the")
print("same load): " + "; ".join("%d seeder(s): %s" % (n, ", ".join(
    "%.2fx" % (a["wall"] / b["wall"]) for a, b in zip(data[s]["swarmup"], data[s]["lt_torrent"])))
    for s, n in scens) + ".")
EOF
)

notes=$(bench_notes "$out_md")
doc=$(
  echo "# Swarm download benchmark"
  echo
  echo "Produced by \`tools/bench/swarm.sh\` on $SW_B_DATE ($SW_B_ELAPSED s for the whole run)."
  echo "Machine: $SW_B_CPU, $SW_B_NPROC cores. $SW_B_VERS."
  echo
  echo "A ${SW_B_MIB} MiB random file in the page cache, seeded on 127.0.0.1 over TCP by 1 and then"
  echo "3 plain libtorrent seeders (\`tools/bench/lt_get.py seed\`, the settings of"
  echo "tests/lib/lt_seed.py), each seeding the hybrid torrent made by \`swarmup-publish make\`"
  echo "and a v1-only torrent of the same file (same piece size) for aria2c, which cannot join a"
  echo "hybrid swarm and finds the seeders through a local opentracker. Every downloader gets"
  echo "fresh directories each run and uses the same seeders. One warm-up round, then"
  echo "$SW_B_RUNS rounds, each running every tool once in turn; medians of the $SW_B_RUNS."
  echo "Wall time is from the spawn to the exit of the process; CPU is user+system of the"
  echo "process and everything it started (gpg included); peak RSS counts file pages that"
  echo "libtorrent 2.0's mmap disk I/O maps (about the file size; shown apart as peak file"
  echo "pages, RssFile), peak anon is the process's own private anonymous memory (RssAnon,"
  echo "sampled every 10 ms; the figure a memory limit must hold). Every download's SHA-256 was checked"
  echo "after its run. \`swarmup fetch\` time includes the manifest check, the metadata"
  echo "exchange (it only has the magnet), the download, the payload gate (SHA-256 + gpg"
  echo "signature over the file) and the atomic install (a hard link of the store's file into"
  echo "--out, both on one file system here: no copy); the plain"
  echo "libtorrent client exits as soon as libtorrent reports the torrent finished."
  echo
  echo "$report"
  echo
  echo "$notes"
)
bench_publish "$out_md" "$doc"
