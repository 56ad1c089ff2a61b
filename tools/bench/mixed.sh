#!/usr/bin/env bash
# mixed.sh [BUILD_DIR] [OUT.md] - benchmark `swarmup fetch` from a slow swarm and an HTTPS
# origin at once against HTTPS alone (`swarmup fetch --no-swarm` and curl), on loopback, in
# the same run. A benchmark, not a test.
#
#   bash tools/bench/mixed.sh                 # BUILD_DIR defaults to build-bench (Release)
#
# What it does (all on 127.0.0.1, TCP only, every process stopped by PID at exit):
# - a random payload (SW_BENCH_MIB MiB, default 512) in the document root of a real nginx
#   (TLS, tests/lib/nginx.sh's throw-away CA), test keys (tests/lib/mkkeys.sh), the hybrid
#   torrent and magnet from `swarmup-publish make`, the payload signature by key A;
# - a slow swarm: SW_BENCH_SEEDERS (default 2) plain libtorrent seeders (`lt_get.py seed
#   --upload-limit`), SW_BENCH_SWARM_BPS bytes/s in all (default 5000000: 5 MB/s), split
#   evenly; a signed manifest whose magnet carries x.pe=127.0.0.1:PORT for each and whose
#   Fallback is the nginx URL;
# - rounds: one warm-up round, then SW_BENCH_RUNS (default 3); a round runs, in turn,
#     curl     `curl -sS --fail --cacert CA -o FILE URL` (HTTPS alone, no check),
#     noswarm  `swarmup fetch --no-swarm ...` (HTTPS alone, gate and install),
#     mixed    `swarmup fetch ...` with the swarm and the origin (its defaults: the
#              swarm's head start, then HTTPS for what the swarm does not deliver);
#   each measured by tools/bench/memwatch.py (wall, CPU of the process tree incl. gpg, peak
#   RSS, peak anon). The SHA-256 of every download is checked after its run; the bytes nginx
#   served in the run are summed from its access log (every line, 200 or 206);
# - a markdown report to OUT.md (default docs/bench-mixed.md; "" only prints): wall times,
#   the ratios of mixed to noswarm and to curl round by round, and where the bytes came from
#   (fetch --json's "installed" event: swarm_bytes, https_bytes; nginx's count). Everything
#   below the line "<!-- notes -->" in an existing OUT.md is kept.
# Environment: SW_BENCH_MIB, SW_BENCH_RUNS, SW_BENCH_SEEDERS, SW_BENCH_SWARM_BPS (above),
# SW_BENCH_MIXED_ARGS (more `swarmup fetch` options for the mixed runs, e.g. "--http-delay 1"),
# SW_BENCH_KEEP=DIR to keep the per-run results, SW_BENCH_SUMMARY=FILE to also write the
# headline figures as JSON there (tools/bench/run uses it).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build-bench}" && pwd)
out_md=${2-$repo/docs/bench-mixed.md}
mib=${SW_BENCH_MIB:-512}
runs=${SW_BENCH_RUNS:-3}
nseed=${SW_BENCH_SEEDERS:-2}
swarm_bps=${SW_BENCH_SWARM_BPS:-5000000}
read -ra MIXED_ARGS <<<"${SW_BENCH_MIXED_ARGS:-}"
PY=/usr/bin/python3
SWARMUP=$build/swarmup
PUBLISH=$build/tools/swarmup-publish
MW=("$PY" "$here/memwatch.py")
RUN_TIMEOUT=300 # seconds, per download (a mixed run that waits for the swarm alone is slow)

for x in "$SWARMUP" "$PUBLISH"; do
  [ -x "$x" ] || { echo "mixed.sh: $x not found; build $build first (Release)" >&2; exit 2; }
done
command -v nginx >/dev/null || { echo "mixed.sh: nginx not installed" >&2; exit 2; }
command -v curl >/dev/null || { echo "mixed.sh: curl not installed" >&2; exit 2; }

BENCH=mixed.sh
# shellcheck disable=SC1091
. "$here/lib.sh"

# ---- nginx, payload, keys, seeders, manifest ----------------------------------------------
NAME=hello-1.0.tar.gz
N=$T/nginx
SIZE=$((mib * 1024 * 1024))
mkdir -p "$N/www" "$T/res" "$T/rel"
SW_NGINX_OWNER=$$ sw_nginx_start "$N" 0 >/dev/null || die "nginx did not start"
URL=https://127.0.0.1:$(cat "$N/port")/$NAME
CA=$N/ca.pem
log "making a $mib MiB payload, keys and the torrent in $T"
PKG=$N/www/$NAME
head -c "$SIZE" /dev/urandom >"$PKG"
SHA=$(sha_of "$PKG")
bench_keys "$PKG"
"$PUBLISH" make --file "$PKG" --product hello --version 1.0 --sequence 1 --fallback "$URL" \
  --out-dir "$T/rel" --no-torrent-url >"$T/make.out"
MAG=$(sed -n 's/^magnet: *//p' "$T/make.out")
HYB=$(ls "$T"/rel/*.torrent 2>/dev/null | head -1)
[ -n "$MAG" ] && [ -s "$HYB" ] || die "swarmup-publish make gave no magnet/torrent"

per_seed=$((swarm_bps / nseed))
SCEN_MAG=$MAG
for i in $(seq 1 "$nseed"); do
  "$PY" "$here/lt_get.py" seed --torrent "$HYB" --dir "$N/www" --port-file "$T/seed$i.port" \
    --upload-limit "$per_seed" --timeout 300 >"$T/seed$i.log" 2>&1 &
  PIDS+=("$!")
done
for i in $(seq 1 "$nseed"); do
  wait_file "$T/seed$i.port" 300 || { cat "$T/seed$i.log" >&2; die "seeder $i did not start"; }
  SCEN_MAG+="&x.pe=127.0.0.1:$(cat "$T/seed$i.port")"
done
log "$nseed seeders ready, $per_seed bytes/s each"
bench_manifest "$T/mixed.manifest" "$SCEN_MAG" "$URL"
cat "$PKG" >/dev/null # into the page cache

# ---- one run of one tool -----------------------------------------------------------------
# run_one TOOL RUN: RUN is w (warm-up) or 1..runs. Writes $T/res/TOOL.RUN.json (+ .lines,
# .access: the nginx access-log lines of this run).
run_one() {
  local tool=$1 run=$2 d=$T/run rc=0 got lines0
  local base=$T/res/$tool.$run
  rm -rf "$d"
  mkdir -p "$d/out" "$d/state"
  local F=(--manifest "$T/mixed.manifest" --trusted-key "$T/keys/trusted.asc" --product hello
    --state-dir "$d/state" --out "$d/out" --ca-file "$CA" --seed-time 0 --no-progress --json)
  case $tool in
    curl) cmd=(curl -sS --fail --cacert "$CA" -o "$d/out/$NAME" "$URL") ;;
    noswarm) cmd=("$SWARMUP" fetch --no-swarm "${F[@]}") ;;
    mixed) cmd=("$SWARMUP" fetch --listen 127.0.0.1:0 --no-dht --no-lsd --no-utp "${F[@]}"
      "${MIXED_ARGS[@]+"${MIXED_ARGS[@]}"}") ;;
    *) die "unknown tool $tool" ;;
  esac
  lines0=$(wc -l <"$N/access.log")
  timeout -k 5 "$((RUN_TIMEOUT + 10))" "${MW[@]}" --result "$base.json" --lines "$base.lines" \
    -- "${cmd[@]}" 2>"$base.err" || rc=$?
  [ "$rc" -eq 0 ] || { tail -n 5 "$base.err" "$base.lines" >&2 || true; die "$tool run $run failed ($rc)"; }
  [ -f "$d/out/$NAME" ] || die "$tool run $run: no $d/out/$NAME"
  got=$(sha_of "$d/out/$NAME")
  [ "$got" = "$SHA" ] || die "$tool run $run: SHA-256 mismatch"
  sleep 0.3 # nginx writes a line when its response is done (a cancelled Range request too)
  tail -n +"$((lines0 + 1))" "$N/access.log" >"$base.access"
  log "$tool run $run: $(tr -d '\n' <"$base.json" | sed 's/"cmd": "[^"]*", //') nginx bytes: $(awk '{ s += $3 } END { print s + 0 }' "$base.access")"
  rm -rf "$d"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$SECONDS
for r in w $(seq 1 "$runs"); do
  for tool in curl noswarm mixed; do run_one "$tool" "$r"; done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
log "all runs done in $((SECONDS - T_START)) s"

# ---- report --------------------------------------------------------------------------------
export SW_B_MIB=$mib SW_B_RUNS=$runs SW_B_SIZE=$SIZE SW_B_SUMMARY=${SW_BENCH_SUMMARY:-}
report=$("$PY" - "$T/res" <<'EOF'
import json, os, statistics, sys

res = sys.argv[1]
runs = int(os.environ["SW_B_RUNS"])
mib = int(os.environ["SW_B_MIB"])
size = int(os.environ["SW_B_SIZE"])
TOOLS = ("curl", "noswarm", "mixed")
LABEL = {"curl": "curl from nginx (HTTPS alone, no check)",
         "noswarm": "`swarmup fetch --no-swarm` (HTTPS alone, gate, install)",
         "mixed": "`swarmup fetch`, slow swarm + HTTPS origin (gate, install)"}


def load(tool, r):
    with open("%s/%s.%d.json" % (res, tool, r)) as f:
        j = json.load(f)
    j["nginx_bytes"] = 0
    with open("%s/%s.%d.access" % (res, tool, r)) as f:
        for line in f:
            p = line.split()
            if len(p) > 2 and p[2].isdigit():
                j["nginx_bytes"] += int(p[2])
    j["inst"] = {}
    j["first_https"] = None
    try:
        with open("%s/%s.%d.lines" % (res, tool, r)) as f:
            for line in f:
                t, _, rest = line.partition(" ")
                try:
                    o = json.loads(rest)
                except ValueError:
                    continue
                if o.get("event") == "installed":
                    j["inst"] = o
                elif o.get("event") == "https-first-byte" and j["first_https"] is None:
                    j["first_https"] = float(t)
    except OSError:
        pass
    return j


data = {t: [load(t, r) for r in range(1, runs + 1)] for t in TOOLS}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


w = {t: med(j["wall"] for j in data[t]) for t in TOOLS}
print("| tool | median wall s | MiB/s | CPU s | peak RSS MiB | peak anon MiB | from the swarm MiB | from HTTPS MiB | nginx sent MiB |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for t in TOOLS:
    d = data[t]
    sb = med(j["inst"].get("swarm_bytes") for j in d)
    hb = med(j["inst"].get("https_bytes") for j in d)
    print("| %s | %.2f | %.0f | %.2f | %.0f | %.1f | %s | %s | %.1f |" % (
        LABEL[t], w[t], mib / w[t], med(j["cpu"] for j in d), med(j["peak_rss_kib"] for j in d) / 1024,
        med(j["peak_anon_kib"] for j in d) / 1024, "-" if sb is None else "%.1f" % (sb / 2**20),
        "-" if hb is None else "%.1f" % (hb / 2**20), med(j["nginx_bytes"] for j in d) / 2**20))
print()
rm = [a["wall"] / b["wall"] for a, b in zip(data["mixed"], data["noswarm"])]
rc = [a["wall"] / b["wall"] for a, b in zip(data["mixed"], data["curl"])]
print("Ratios round by round (the same round, so the same load): mixed / `--no-swarm` %s (median %.2fx);"
      % (", ".join("%.2fx" % x for x in rm), statistics.median(rm)))
print("mixed / curl %s (median %.2fx)." % (", ".join("%.2fx" % x for x in rc), statistics.median(rc)))
fh = med(j["first_https"] for j in data["mixed"])
share = [j["inst"].get("swarm_bytes", 0) / size for j in data["mixed"]]
print("In the mixed runs the swarm delivered %s of the file and nginx sent %s of it (median %.0f%% / %.0f%%);"
      % (", ".join("%.0f%%" % (100 * x) for x in share),
         ", ".join("%.0f%%" % (100 * j["nginx_bytes"] / size) for j in data["mixed"]),
         100 * statistics.median(share), 100 * med(j["nginx_bytes"] / size for j in data["mixed"])))
print("the first HTTPS byte came %s s after the start (median)." % ("n/a" if fh is None else "%.2f" % fh))
print()
print("All runs (wall s):")
print()
for t in TOOLS:
    print("- %s: %s" % (t, ", ".join("%.2f" % j["wall"] for j in data[t])))
if os.environ.get("SW_B_SUMMARY"):
    with open(os.environ["SW_B_SUMMARY"], "w") as f:
        json.dump({"mib": mib, "wall": w, "ratio_noswarm": statistics.median(rm), "ratio_curl": statistics.median(rc),
                   "swarm_share": statistics.median(share),
                   "nginx_share": med(j["nginx_bytes"] / size for j in data["mixed"]),
                   "peak_anon_mib": med(j["peak_anon_kib"] for j in data["mixed"]) / 1024}, f)
EOF
)

notes=$(bench_notes "$out_md")
doc=$(
  echo "# Mixed sources benchmark: a slow swarm and an HTTPS origin"
  echo
  echo "Produced by \`tools/bench/mixed.sh\` on $(date -u +%Y-%m-%d) ($((SECONDS - T_START)) s of runs; load"
  echo "average $LOAD0 at the start, $LOAD1 at the end). Machine: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo),"
  echo "$(nproc) cores; $("$SWARMUP" --version | head -1); $(nginx -v 2>&1); $(curl --version | head -1 | cut -d' ' -f1-2)."
  echo
  echo "A ${mib} MiB random file in the page cache, served by nginx over HTTPS on 127.0.0.1 and"
  echo "seeded by $nseed plain libtorrent seeders (\`tools/bench/lt_get.py seed\`) capped at"
  echo "$swarm_bps bytes/s in all. One warm-up round, then $runs rounds, each running curl,"
  echo "\`swarmup fetch --no-swarm\` and \`swarmup fetch\` (the swarm and the origin) in turn;"
  echo "medians of the $runs. Wall time is from the spawn to the exit; \`swarmup fetch\` includes the"
  echo "manifest check, the download, the payload gate and the install; curl only downloads."
  echo "Every download's SHA-256 was checked after its run. Mixed runs:"
  echo "\`swarmup fetch --listen 127.0.0.1:0 --no-dht --no-lsd --no-utp --seed-time 0 --json${MIXED_ARGS[*]:+ ${MIXED_ARGS[*]}}\`."
  echo
  echo "$report"
  echo
  echo "$notes"
)
bench_publish "$out_md" "$doc"
