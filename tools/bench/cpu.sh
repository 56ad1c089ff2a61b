#!/usr/bin/env bash
# cpu.sh [BUILD_DIR] [OUT.md] - CPU-seconds per GiB, stage by stage, of `swarmup fetch` on two
# paths: `--no-swarm` (HTTPS from a real nginx) and a swarm of one plain libtorrent seeder. A
# benchmark, not a test; on 127.0.0.1 only, every process stopped by PID at exit.
#
#   bash tools/bench/cpu.sh                 # BUILD_DIR defaults to build-bench (Release)
#
# Each run goes through tools/bench/memwatch.py, which counts the CPU of the whole process
# tree (it is a child subreaper, so the gpg that gpgme double-forks is counted too), and
# `swarmup fetch --json`, whose "installed" event carries the process's own figures by
# stage (docs/cpu.md says how each is measured):
#   cpu_loop_ms       the loop thread: sockets, TLS and libcurl, calls into libtorrent,
#                     the .part writes (HTTPS) or the copy of each verified piece (swarm)
#   cpu_gate_read_ms  the gate getting the bytes: pread of the .part or of the store file
#   cpu_gpgme_ms      gpgme pumping the bytes into gpg's pipe (the gate's thread, minus reading)
#   cpu_sha256_ms     our SHA-256 (OpenSSL EVP)
#   cpu_copy_ms       the digest thread besides SHA-256: the copy into --out (with --copy), writeback started
#   cpu_other_ms      the process's other threads: libtorrent's (hashing, disk I/O), libuv's
# and gpg (and every other child) is the tree's CPU minus the process's own (cpu_ms).
# One warm-up round, then SW_BENCH_RUNS (default 3) rounds; medians. Prints a markdown
# table; with OUT.md (default docs/cpu-bench.md; "" only prints) writes it there too.
# Environment: SW_BENCH_MIB (default 512), SW_BENCH_RUNS (default 3).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build-bench}" && pwd)
out_md=${2-$repo/docs/cpu-bench.md}
mib=${SW_BENCH_MIB:-512}
runs=${SW_BENCH_RUNS:-3}
PY=/usr/bin/python3
SWARMUP=$build/swarmup
PUBLISH=$build/tools/swarmup-publish
RUN_TIMEOUT=180

for x in "$SWARMUP" "$PUBLISH"; do
  [ -x "$x" ] || { echo "cpu.sh: $x not found; build $build first (Release)" >&2; exit 2; }
done

BENCH=cpu.sh
# shellcheck disable=SC1091
. "$here/lib.sh"

NAME=hello-1.0.tar.gz
N=$T/nginx
REL=$T/rel
SIZE=$((mib * 1024 * 1024))
mkdir -p "$N/www" "$REL" "$T/res"
SW_NGINX_OWNER=$$ sw_nginx_start "$N" 0 >/dev/null || die "nginx did not start"
URL=https://127.0.0.1:$(cat "$N/port")/$NAME
CA=$N/ca.pem
PKG=$REL/$NAME
log "making a $mib MiB payload, keys, torrent and manifests in $T"
head -c "$SIZE" /dev/urandom >"$PKG"
ln "$PKG" "$N/www/$NAME"
SHA=$(sha_of "$PKG")
bench_keys "$PKG"
"$PUBLISH" make --file "$PKG" --product hello --version 1.0 --sequence 1 --fallback "$URL" \
  --out-dir "$REL" --no-torrent-url >"$T/make.out"
MAG=$(sed -n 's/^magnet: *//p' "$T/make.out")
HYB=$PKG.torrent
[ -n "$MAG" ] && [ -s "$HYB" ] || die "swarmup-publish make gave no magnet/torrent"

"$PY" "$here/lt_get.py" seed --torrent "$HYB" --dir "$REL" --port-file "$T/seed.port" --timeout 900 \
  >"$T/seed.log" 2>&1 &
PIDS+=("$!")
wait_file "$T/seed.port" 300 || { cat "$T/seed.log" >&2; die "the seeder did not start"; }
bench_manifest "$T/https.manifest" "$MAG" "$URL"
bench_manifest "$T/swarm.manifest" "$MAG&x.pe=127.0.0.1:$(cat "$T/seed.port")" "$URL"
cat "$PKG" >/dev/null # into the page cache

# run_one PATH RUN: PATH is https or swarm; RUN is w (warm-up) or 1..runs.
run_one() {
  local path=$1 run=$2 d=$T/run rc=0 base=$T/res/$1.$2
  rm -rf "$d"
  mkdir -p "$d/out" "$d/state"
  local cmd=("$SWARMUP" fetch --manifest "$T/$path.manifest" --trusted-key "$T/keys/trusted.asc" --product hello
    --state-dir "$d/state" --out "$d/out" --seed-time 0 --no-progress --json)
  case $path in
    https) cmd+=(--no-swarm --ca-file "$CA") ;;
    swarm) cmd+=(--listen 127.0.0.1:0 --no-dht --no-lsd --no-utp --no-fallback) ;;
  esac
  timeout -k 5 "$RUN_TIMEOUT" "$PY" "$here/memwatch.py" --result "$base.json" --lines "$base.lines" -- \
    "${cmd[@]}" 2>"$base.err" || rc=$?
  [ "$rc" -eq 0 ] || { tail -n 5 "$base.err" >&2; die "$path run $run failed ($rc)"; }
  [ "$(sha_of "$d/out/$NAME")" = "$SHA" ] || die "$path run $run: SHA-256 mismatch"
  log "$path run $run: $(grep -o '"cpu_ms".*' "$base.lines" | tr -d '}')"
  rm -rf "$d"
}

for r in w $(seq 1 "$runs"); do
  for p in https swarm; do run_one "$p" "$r"; done
done

export SW_C_RES=$T/res SW_C_RUNS=$runs SW_C_MIB=$mib
table=$("$PY" - <<'EOF'
import json, os, statistics

res, runs, mib = os.environ["SW_C_RES"], int(os.environ["SW_C_RUNS"]), int(os.environ["SW_C_MIB"])
STAGES = [("cpu_loop_ms", "loop thread: sockets, TLS, libcurl / libtorrent calls, .part writes"),
          ("cpu_gate_read_ms", "gate: reading the bytes (pread of the .part or the store file) into gpgme's buffer"),
          ("cpu_gpgme_ms", "gate: gpgme pumping them into gpg's pipe"),
          ("cpu_sha256_ms", "our SHA-256 (OpenSSL EVP)"),
          ("cpu_copy_ms", "the digest thread besides SHA-256: the copy into --out (only with --copy) and starting the writeback (sync_file_range)"),
          ("cpu_other_ms", "other threads: libtorrent's (hashing, disk I/O), libuv's pool"),
          ("gpg", "gpg (and every other child): tree CPU - process CPU"),
          ("tree", "whole process tree")]


def one(path, r):
    j = json.load(open("%s/%s.%s.json" % (res, path, r)))
    ev = None
    for line in open("%s/%s.%s.lines" % (res, path, r)):
        rest = line.partition(" ")[2].strip()
        if rest.startswith("{") and '"installed"' in rest:
            ev = json.loads(rest)
    out = {k: ev[k] / 1000.0 for k, _ in STAGES[:-2]}
    out["tree"] = j["cpu"]
    out["gpg"] = max(0.0, j["cpu"] - ev["cpu_ms"] / 1000.0)
    out["wall"] = j["wall"]
    return out


data = {p: [one(p, r) for r in range(1, runs + 1)] for p in ("https", "swarm")}
med = {p: {k: statistics.median(x[k] for x in data[p]) for k in data[p][0]} for p in data}
gib = mib / 1024.0
print("| stage | `--no-swarm` CPU s | per GiB | swarm (1 seeder) CPU s | per GiB |")
print("| --- | ---: | ---: | ---: | ---: |")
for k, label in STAGES:
    h, s = med["https"][k], med["swarm"][k]
    b = "**" if k == "tree" else ""
    print("| %s%s%s | %.2f | %.2f | %.2f | %.2f |" % (b, label, b, h, h / gib, s, s / gib))
print("| wall seconds | %.2f | | %.2f | |" % (med["https"]["wall"], med["swarm"]["wall"]))
EOF
)
report=$(
  echo "# CPU by stage (tools/bench/cpu.sh)"
  echo
  echo "Produced by \`tools/bench/cpu.sh\` on $(date -u +%Y-%m-%d): \`swarmup fetch\` of a ${mib} MiB random"
  echo "file in the page cache, \`--no-swarm\` from nginx (TLS 1.3) and from one plain libtorrent"
  echo "seeder over TCP, all on 127.0.0.1; medians of $runs runs after a warm-up. CPU:"
  echo "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores; load average"
  echo "$(cut -d' ' -f1-3 /proc/loadavg) at the end (a shared machine). nginx's and the seeder's CPU"
  echo "are not counted. How each figure is measured: [cpu.md](cpu.md)."
  echo
  echo "$table"
)
echo "$report"
if [ -n "$out_md" ]; then
  printf '%s\n' "$report" >"$out_md"
  log "written to $out_md"
fi
