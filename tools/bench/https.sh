#!/usr/bin/env bash
# https.sh [BUILD_DIR] [OUT.md] - benchmark swarmup's HTTPS fallback against curl and against
# what a user would otherwise run (`curl -o FILE URL && gpgv SIG FILE`), on loopback, from a
# real nginx (TLS 1.3, the throw-away test CA of tests/lib/nginx.sh). A benchmark, not a test.
#
#   bash tools/bench/https.sh                 # BUILD_DIR defaults to build-bench (Release)
#
# What it does (all on 127.0.0.1, every process stopped by PID at exit):
# - a random payload (SW_BENCH_MIB MiB, default 512) in nginx's document root, test keys
#   (tests/lib/mkkeys.sh), the torrent/magnet from `swarmup-publish make`, the payload
#   signature by key A, and two signed manifests (as tests/cli/lib.sh sw_manifest):
#     plain:   the magnet as made, Fallback = the nginx URL (used with --no-swarm)
#     blocked: the magnet plus tr= and x.pe= on closed 127.0.0.1 ports (the swarm's ports
#              are "blocked"), same Fallback; used WITHOUT --no-swarm;
# - rounds: one warm-up round, then SW_BENCH_RUNS (default 3); a round runs, in turn,
#     curl     `curl -sS --fail --cacert CA -o FILE URL` (to a file),
#     curlgpgv `bash -c 'curl ... -o FILE URL && gpgv --keyring K SIG FILE'`: the download
#              and the check a user would run by hand; K is the test publisher key that
#              swarmup trusts (keys/trusted.asc, dearmored), SIG the same detached payload
#              signature that the manifest carries,
#     noswarm  `swarmup fetch --no-swarm --seed-time 0 --out DIR --state-dir FRESH --json ...`,
#     blocked  `swarmup fetch --seed-time 0 ... --json` with the blocked magnet;
#   each measured by tools/bench/memwatch.py (wall, CPU of the process tree incl. gpg, peak
#   RSS, peak anon, timestamped stdout, 10 ms samples of /proc/PID/io). After each run the
#   SHA-256 of the file is checked (outside the timed region) and the one nginx access-log
#   line of the run is read: status 200, body bytes = the file size, $request_time;
# - the targets of issue 12, from the same rounds: noswarm at most 1.8x curl and at most
#   0.6x curl+gpgv (ratios of the medians; the round-by-round ratios are printed too);
# - a markdown report to OUT.md (default docs/bench-https.md; "" only prints). Everything
#   below the line "<!-- notes -->" in an existing OUT.md is kept.
# Environment: SW_BENCH_MIB (default 512), SW_BENCH_RUNS (default 3), SW_BENCH_KEEP=DIR to keep
# the per-run results, SW_BENCH_SUMMARY=FILE to also write the headline figures as JSON there
# (tools/bench/run uses it), SW_BENCH_WRAP="CMD ARGS" to run `swarmup fetch --no-swarm` under
# a tool (strace, heaptrack; its output outside SW_BENCH_KEEP, which is replaced at the end).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build-bench}" && pwd)
out_md=${2-$repo/docs/bench-https.md}
mib=${SW_BENCH_MIB:-512}
runs=${SW_BENCH_RUNS:-3}
PY=/usr/bin/python3
SWARMUP=$build/swarmup
PUBLISH=$build/tools/swarmup-publish
MW=("$PY" "$here/memwatch.py")
RUN_TIMEOUT=120 # seconds, per download

for x in "$SWARMUP" "$PUBLISH"; do
  [ -x "$x" ] || { echo "https.sh: $x not found; build $build first (Release)" >&2; exit 2; }
done
command -v nginx >/dev/null || { echo "https.sh: nginx not installed" >&2; exit 2; }
command -v curl >/dev/null || { echo "https.sh: curl not installed" >&2; exit 2; }

BENCH=https.sh
# shellcheck disable=SC1091
. "$here/lib.sh"

# ---- nginx, payload, keys, manifests -----------------------------------------------------
NAME=hello-1.0.tar.gz
N=$T/nginx
SIZE=$((mib * 1024 * 1024))
mkdir -p "$N/www" "$T/res" "$T/rel"
SW_NGINX_OWNER=$$ sw_nginx_start "$N" 0 >/dev/null || die "nginx did not start"
URL=https://127.0.0.1:$(cat "$N/port")/$NAME
CA=$N/ca.pem
log "making a $mib MiB payload, keys and manifests in $T"
PKG=$N/www/$NAME
head -c "$SIZE" /dev/urandom >"$PKG"
SHA=$(sha_of "$PKG")
bench_keys "$PKG"
"$PUBLISH" make --file "$PKG" --product hello --version 1.0 --sequence 1 --fallback "$URL" \
  --out-dir "$T/rel" --no-torrent-url >"$T/make.out"
MAG=$(sed -n 's/^magnet: *//p' "$T/make.out")
[ -n "$MAG" ] || die "swarmup-publish make gave no magnet"
CLOSED_PE=$(free_port)
CLOSED_TR=$(free_port)
BLOCKED_MAG="$MAG&tr=http%3A%2F%2F127.0.0.1%3A$CLOSED_TR%2Fannounce&x.pe=127.0.0.1:$CLOSED_PE"

bench_manifest "$T/plain.manifest" "$MAG" "$URL"
# gpgv's keyring: the key swarmup trusts (--trusted-key), binary, as tools/bench/gate.sh does.
mkdir -m 700 "$T/gpgv"
gpg --dearmor <"$T/keys/trusted.asc" >"$T/trusted.gpg"
bench_manifest "$T/blocked.manifest" "$BLOCKED_MAG" "$URL"
cat "$PKG" >/dev/null # into the page cache

# CPU clock ticks (user + system) nginx's workers have used so far (the master's children):
# read around each run, so that each run's share of nginx's work is known (the floor below).
nginx_ticks() {
  local m
  m=$(cat "$N/nginx.pid")
  # shellcheck disable=SC2046
  cpu_ticks $(cat "/proc/$m/task/$m/children" 2>/dev/null)
}

# ---- one run of one tool -----------------------------------------------------------------
# run_one TOOL RUN: RUN is w (warm-up) or 1..runs. Writes $T/res/TOOL.RUN.json (+ .lines,
# .trace, .access: the nginx access-log line of this run, .nginx: nginx's CPU ticks in it).
run_one() {
  local tool=$1 run=$2 d=$T/run rc=0 got lines0 nl
  local base=$T/res/$tool.$run
  rm -rf "$d"
  mkdir -p "$d/out" "$d/state"
  local F=(--trusted-key "$T/keys/trusted.asc" --product hello --state-dir "$d/state" --out "$d/out"
    --ca-file "$CA" --seed-time 0 --no-progress --json)
  case $tool in
    curl) cmd=(curl -sS --fail --cacert "$CA" -o "$d/out/$NAME"
      -w '%{time_connect} %{time_appconnect} %{time_starttransfer} %{time_total}\n' "$URL") ;;
    curlgpgv) cmd=(bash -c 'curl -sS --fail --cacert "$1" -o "$2" "$3" && gpgv --homedir "$4" --keyring "$5" "$6" "$2"'
      curlgpgv "$CA" "$d/out/$NAME" "$URL" "$T/gpgv" "$T/trusted.gpg" "$T/pkg.sig") ;;
    noswarm) cmd=(${SW_BENCH_WRAP:-} "$SWARMUP" fetch --manifest "$T/plain.manifest" --no-swarm "${F[@]}") ;;
    blocked) cmd=("$SWARMUP" fetch --manifest "$T/blocked.manifest" --listen 127.0.0.1:0 --no-dht --no-lsd
      --no-utp "${F[@]}") ;;
    *) die "unknown tool $tool" ;;
  esac
  lines0=$(wc -l <"$N/access.log")
  local nt0
  nt0=$(nginx_ticks)
  timeout -k 5 "$((RUN_TIMEOUT + 10))" "${MW[@]}" --result "$base.json" --lines "$base.lines" \
    --trace "$base.trace" -- "${cmd[@]}" 2>"$base.err" || rc=$?
  [ "$rc" -eq 0 ] || { tail -n 5 "$base.err" "$base.lines" >&2 || true; die "$tool run $run failed ($rc)"; }
  [ -f "$d/out/$NAME" ] || die "$tool run $run: no $d/out/$NAME"
  got=$(sha_of "$d/out/$NAME")
  [ "$got" = "$SHA" ] || die "$tool run $run: SHA-256 mismatch"
  # nginx writes the log line when the response is done: wait for it (bounded).
  for _ in $(seq 1 50); do
    nl=$(wc -l <"$N/access.log")
    [ "$nl" -gt "$lines0" ] && break
    sleep 0.1
  done
  tail -n +"$((lines0 + 1))" "$N/access.log" >"$base.access"
  echo $(($(nginx_ticks) - nt0)) >"$base.nginx"
  [ "$(wc -l <"$base.access")" -eq 1 ] || die "$tool run $run: expected one request, nginx logged: $(cat "$base.access")"
  awk -v s="$SIZE" '$2 == 200 && $3 == s { ok = 1 } END { exit !ok }' "$base.access" ||
    die "$tool run $run: not one whole 200 response: $(cat "$base.access")"
  log "$tool run $run: $(tr -d '\n' <"$base.json" | sed 's/"cmd": "[^"]*", //') nginx: $(awk '{ print $NF }' "$base.access") s"
  rm -rf "$d"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$SECONDS
for r in w $(seq 1 "$runs"); do
  for tool in curl curlgpgv noswarm blocked; do run_one "$tool" "$r"; done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
log "all runs done in $((SECONDS - T_START)) s"

# ---- report --------------------------------------------------------------------------------
export SW_B_CLK_TCK
SW_B_CLK_TCK=$(getconf CLK_TCK)
export SW_B_DATE SW_B_CPU SW_B_NPROC SW_B_VERS SW_B_MIB="$mib" SW_B_RUNS="$runs" SW_B_ELAPSED=$((SECONDS - T_START))
export SW_B_LOAD="$LOAD0 before, $LOAD1 after" SW_B_SUMMARY=${SW_BENCH_SUMMARY:-}
SW_B_DATE=$(date -u +%Y-%m-%d)
SW_B_CPU=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
SW_B_NPROC=$(nproc)
SW_B_VERS="$("$SWARMUP" --version | head -1); $(curl --version | head -1 | cut -d' ' -f1-5); $(nginx -v 2>&1 | sed 's/^nginx version: //'); $(gpg --version | head -1); $(uname -sr)"
report=$("$PY" - "$T/res" <<'EOF'
import json, os, statistics, sys

res = sys.argv[1]
mib = int(os.environ["SW_B_MIB"])
runs = int(os.environ["SW_B_RUNS"])
size = mib << 20
WMARK = 64 << 10  # bytes written before we call it "the first HTTPS bytes arrived"


def load(tool, r):
    b = "%s/%s.%s" % (res, tool, r)
    with open(b + ".json") as f:
        j = json.load(f)
    ev, first = {}, {}
    with open(b + ".lines") as f:
        for line in f:
            t, _, rest = line.partition(" ")
            t = float(t)
            rest = rest.strip()
            if rest.startswith("{"):
                try:
                    o = json.loads(rest)
                except ValueError:
                    continue
                name = o.get("event")
                ev.setdefault(name, t)
                if name == "fallback":
                    j["fallback_msg"] = o.get("message", "")
                if name == "progress" and o.get("https_bytes", 0) > 0:
                    first.setdefault("https_progress", t)
                if name == "installed":
                    j["installed_ev"] = o
            elif tool == "curl" and rest:
                c = rest.split()
                j["curl"] = dict(zip(("connect", "tls", "first_byte", "total"), map(float, c)))
    j["ev"] = ev
    j.update(first)
    # first sample at which the process had written WMARK bytes (the .part file or curl's -o).
    # Not for curlgpgv: the traced process is its bash, which is credited with curl's writes
    # only when it reaps curl, at the end of the download.
    w0 = None
    with open(b + ".trace") if tool != "curlgpgv" else open(os.devnull) as f:
        for line in f:
            p = line.split()
            if p[4] == "-":
                continue
            w = int(p[4])
            if w0 is None:
                w0 = w
            elif w - w0 >= WMARK:
                j["t_written"] = float(p[0])
                break
    with open(b + ".access") as f:
        a = f.read().split()
    j["nginx_s"] = float(a[-1])
    with open(b + ".nginx") as f:
        j["nginx_cpu"] = int(f.read().strip()) / float(os.environ["SW_B_CLK_TCK"])
    return j


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def f(x, fmt="%.2f"):
    return "n/a" if x is None else fmt % x


TOOLS = ("curl", "curlgpgv", "noswarm", "blocked")
D = {t: [load(t, r) for r in range(1, runs + 1)] for t in TOOLS}
for t in ("noswarm", "blocked"):
    for j in D[t]:
        ie = j.get("installed_ev") or {}
        if ie.get("https_bytes") != size or ie.get("swarm_bytes") != 0:
            sys.exit("https.sh: %s: installed event does not say %d bytes over HTTPS: %s" % (t, size, ie))
cw = med(j["wall"] for j in D["curl"])
LABEL = {
    "curl": "`curl --cacert CA -o FILE URL`",
    "curlgpgv": "`curl --cacert CA -o FILE URL && gpgv --keyring K SIG FILE` (what a user would run)",
    "noswarm": "`swarmup fetch --no-swarm` (manifest check, download, streaming gate, install)",
    "blocked": "`swarmup fetch`, swarm ports closed (x.pe + tr on closed ports)",
}
gw = med(j["wall"] for j in D["curlgpgv"])
print("| tool | median wall s | MiB/s | ratio to curl | ratio to curl + gpgv | download only s (nginx $request_time) | download MiB/s | CPU s | CPU s per GiB | peak RSS MiB | peak anon MiB |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
summ = {}
for t in TOOLS:
    d = D[t]
    w = med(j["wall"] for j in d)
    n = med(j["nginx_s"] for j in d)
    # memwatch samples the command itself: for curl + gpgv that is bash, not curl or gpgv
    # (their peak RSS does come from wait4), so no anon figure there.
    anon = "-" if t == "curlgpgv" else "%.1f" % (med(j["peak_anon_kib"] for j in d) / 1024)
    print("| %s | %.2f | %.0f | %.2fx | %.2fx | %.2f | %.0f | %.2f | %.2f | %.0f | %s |" % (
        LABEL[t], w, mib / w, w / cw, w / gw, n, mib / n if n else 0, med(j["cpu"] for j in d),
        med(j["cpu"] for j in d) * 1024 / mib, med(j["peak_rss_kib"] for j in d) / 1024, anon))
    summ[t] = {"wall": w, "nginx_s": n, "cpu": med(j["cpu"] for j in d),
               "peak_rss_mib": med(j["peak_rss_kib"] for j in d) / 1024,
               "peak_anon_mib": med(j["peak_anon_kib"] for j in d) / 1024}
print()
nw = summ["noswarm"]["wall"]
rc = [a["wall"] / b["wall"] for a, b in zip(D["noswarm"], D["curl"])]
rg = [a["wall"] / b["wall"] for a, b in zip(D["noswarm"], D["curlgpgv"])]
print("**Targets (issue 12), from the medians of these rounds:** `swarmup fetch --no-swarm` (download,")
print("gate, install) at most 1.8x curl alone: **%s (%.2fx)**; at most 0.6x what a user would otherwise" % (
    "met" if nw <= 1.8 * cw else "not met", nw / cw))
print("run, `curl -o FILE URL && gpgv SIG FILE`: **%s (%.2fx)**. Round by round (the same round," % (
    "met" if nw <= 0.6 * gw else "not met", nw / gw))
print("so the same load): to curl %s; to curl + gpgv %s." % (
    ", ".join("%.2fx" % x for x in rc), ", ".join("%.2fx" % x for x in rg)))
gv = med(b["wall"] - a["wall"] for a, b in zip(D["curl"], D["curlgpgv"]))
print("curl + gpgv took %.2f s more than curl alone (median of the rounds' differences): gpgv's" % gv)
print("check of the whole file after the download, which swarmup's gate does while it downloads.")
print()
# The CPU floor: on N cores no run can take less wall time than all the CPU it and nginx
# spent, divided by N (every core busy throughout). nginx's share is its workers' CPU
# ticks read around the run (CLK_TCK, so +-0.01 s).
ncpu = int(os.environ["SW_B_NPROC"])
fl = [(j["cpu"] + j["nginx_cpu"]) / ncpu for j in D["noswarm"]]
flm = med(fl)
print("**CPU floor of `--no-swarm` on these %d cores** ((swarmup's process tree + nginx's workers) / %d," % (ncpu, ncpu))
print("each run's own CPU): %s s (median %.2f; nginx %s CPU-s). The targets in the same rounds:" % (
    ", ".join("%.2f" % x for x in fl), flm, ", ".join("%.2f" % j["nginx_cpu"] for j in D["noswarm"])))
print("1.8x curl = %s s, 0.6x curl + gpgv = %s s; a target below the floor cannot be met by" % (
    ", ".join("%.2f" % (1.8 * j["wall"]) for j in D["curl"]), ", ".join("%.2f" % (0.6 * j["wall"]) for j in D["curlgpgv"])))
print("this CPU work on this machine, whatever the order it is done in. curl's own runs: %s CPU-s" % (
    ", ".join("%.2f" % j["cpu"] for j in D["curl"])))
print("plus nginx %s." % ", ".join("%.2f" % j["nginx_cpu"] for j in D["curl"]))
print()
summ["noswarm"]["floor"] = flm
summ["noswarm"]["nginx_cpu"] = med(j["nginx_cpu"] for j in D["noswarm"])
summ["curl"]["nginx_cpu"] = med(j["nginx_cpu"] for j in D["curl"])
print("Where the time goes (medians, seconds since the process was spawned). \"HTTPS request\"")
print("is swarmup's `fallback` event (\"switching to HTTPS after ...\", emitted just before the")
print("request is issued; with `--no-swarm` at once after the manifest check); for curl it is")
print("its `%{time_appconnect}` (TLS handshake done, from curl's own start). \"first 64 KiB written\"")
print("is the first 10 ms memwatch sample at which")
print("the process had write()n 64 KiB (curl's -o file, swarmup's .part file in the store).")
print("\"download only\" is nginx's `$request_time` for the run's GET (from reading the request to")
print("handing the last byte to the socket): the same measure for both tools; swarmup's")
print("`progress` events come once a second, too coarse to time the last byte. \"last byte\" is")
print("the first-64-KiB mark plus that download time; \"after the last byte\" is the rest of the")
print("wall time: the payload gate's tail (the gate streams while downloading: SHA-256 and gpg")
print("read the verified prefix of the .part, then it is copied into --out), the atomic install")
print("and the exit.")
print()
print("curl + gpgv runs under one bash, whose written bytes are counted only when curl exits:")
print("its row has no first-64-KiB mark, and \"after the last byte\" (gpgv) is its wall time")
print("minus curl's first-64-KiB mark and nginx's download time.")
print()
print("| tool | HTTPS request | first 64 KiB written | first `progress` with HTTPS bytes | download only | last byte | installed event | exit | after the last byte |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
cfw = med(j.get("t_written") for j in D["curl"])
for j in D["curlgpgv"]:
    if cfw is not None:
        j["t_last_est"] = cfw + j["nginx_s"]
for t in TOOLS:
    d = D[t]
    if t == "curl":
        req = med(j["curl"]["tls"] for j in d)
        prog = inst = None
    elif t == "curlgpgv":
        req = prog = inst = None
    else:
        req = med(j["ev"].get("fallback") for j in d)
        prog = med(j.get("https_progress") for j in d)
        inst = med(j["ev"].get("installed") for j in d)
    fw = med(j.get("t_written") for j in d)
    n = med(j["nginx_s"] for j in d)
    if t == "curlgpgv":
        last = med(j.get("t_last_est") for j in d)
        after = med((j["wall"] - j["t_last_est"]) if j.get("t_last_est") is not None else None for j in d)
    else:
        last = med((j["t_written"] + j["nginx_s"]) if j.get("t_written") is not None else None for j in d)
        after = med((j["wall"] - j["t_written"] - j["nginx_s"]) if j.get("t_written") is not None else None for j in d)
    nocheck = t in ("curl", "curlgpgv")
    print("| %s | %s | %s | %s | %.2f | %s | %s | %.2f | %s |" % (
        t, f(req, "%.3f") if t != "curlgpgv" else "-", f(fw, "%.3f") if t != "curlgpgv" else "-",
        f(prog) if not nocheck else "-", n, f(last), f(inst) if not nocheck else "-",
        med(j["wall"] for j in d), f(after)))
summ["noswarm"]["after_last_byte"] = med(j["wall"] - j["t_written"] - j["nginx_s"] for j in D["noswarm"] if j.get("t_written") is not None)
print()
bf = med(j["ev"].get("fallback") for j in D["blocked"])
bw = med(j.get("t_written") for j in D["blocked"])
bp = med(j.get("https_progress") for j in D["blocked"])
print("**Blocked swarm** (the magnet's peer and tracker on closed 127.0.0.1 ports, so every")
print("connection is refused at once): the `fallback` event came %s s after the spawn (median;" % f(bf, "%.3f"))
print("message: \"%s\"), the first 64 KiB from nginx were written at %s s, the first" % (
    D["blocked"][0].get("fallback_msg", "?"), f(bw, "%.3f")))
print("`progress` event counting HTTPS bytes (1 s tick) at %s s. **Target: first HTTPS byte < 2 s" % f(bp))
print("after the process start: %s.**" % ("met" if bw is not None and bw < 2 else "not met"))
summ["blocked"]["fallback_event"] = bf
summ["blocked"]["first_bytes"] = bw
summ["ratio"] = nw / cw
summ["ratio_curlgpgv"] = nw / gw
summ["ratio_rounds"] = rc
summ["ratio_curlgpgv_rounds"] = rg
print()
print("All runs (wall s; nginx $request_time s):")
print()
for t in TOOLS:
    print("- %s: %s" % (t, ", ".join("%.2f (%.2f)" % (j["wall"], j["nginx_s"]) for j in D[t])))
if os.environ.get("SW_B_SUMMARY"):
    summ["mib"] = mib
    summ["runs"] = runs
    with open(os.environ["SW_B_SUMMARY"], "w") as fh:
        json.dump(summ, fh)
EOF
)

notes=$(bench_notes "$out_md")
doc=$(
  echo "# HTTPS fallback benchmark"
  echo
  echo "Produced by \`tools/bench/https.sh\` on $SW_B_DATE ($SW_B_ELAPSED s for the runs; load average $SW_B_LOAD)."
  echo "Machine: $SW_B_CPU, $SW_B_NPROC cores. $SW_B_VERS."
  echo
  echo "A ${SW_B_MIB} MiB random file in the page cache, served by a real nginx (TLS, the test CA"
  echo "of tests/lib/nginx.sh, one worker, \`sendfile on\`) on 127.0.0.1. One warm-up round, then"
  echo "$SW_B_RUNS rounds, each running curl, curl + gpgv (\`bash -c 'curl -o FILE URL && gpgv"
  echo "--keyring K SIG FILE'\`, K the publisher key swarmup trusts, SIG the payload signature"
  echo "the manifest carries), \`swarmup fetch --no-swarm\` and \`swarmup fetch\` with a blocked"
  echo "swarm in turn; medians of the $SW_B_RUNS. Every run writes to fresh"
  echo "directories (a fresh --state-dir for swarmup) and is measured by tools/bench/memwatch.py:"
  echo "wall time from the spawn to the exit, CPU (user+system) of the process and everything"
  echo "it started (gpg included), peak RSS, peak anonymous memory (RssAnon, 10 ms samples)."
  echo "Every download's SHA-256 was checked after its run, and nginx's access log shows exactly"
  echo "one 200 response of the whole file per run. swarmup's wall time includes the manifest"
  echo "check (gpg), the download, the payload gate (size, SHA-256 and the gpg signature, which"
  echo "streams while the file downloads) and the atomic install into --out; curl only"
  echo "downloads; curl + gpgv downloads, then checks the signature (no size or SHA-256 check,"
  echo "no atomic install)."
  echo
  echo "$report"
  echo
  echo "$notes"
)
bench_publish "$out_md" "$doc"
