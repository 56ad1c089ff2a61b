# tools/bench/lib.sh - sourced by the benchmark scripts (https.sh, swarm.sh, savings.sh):
# the scratch directory $T, the PIDS array of processes stopped at exit, and small helpers.
# Set BENCH (the script's name, for messages), repo and PY before sourcing it.
#
# At exit (or on INT/TERM) every PID in PIDS gets SIGTERM, then SIGKILL after 1 s; nginx
# and opentracker started with tests/lib/{nginx,tracker}.sh under $T/nginx and $T/tracker
# are stopped by their PID files; gpg agents of $T/keys are stopped; with SW_BENCH_KEEP=DIR
# the per-run results in $T/res are copied there; then $T is removed.

T=$(mktemp -d "/tmp/sw-${BENCH%.sh}.XXXXXX")
PIDS=()
bench_cleanup() {
  local p i
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do
    for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ -f "$T/nginx/nginx.pid" ]; then sw_nginx_stop "$T/nginx" >/dev/null 2>&1 || true; fi
  if [ -f "$T/tracker/tracker.pid" ]; then sw_tracker_stop "$T/tracker" >/dev/null 2>&1 || true; fi
  if [ -f "$T/keys/keys.env" ]; then
    # shellcheck disable=SC1091
    (. "$T/keys/keys.env"; gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1 || true; rm -rf "$GNUPGHOME")
  fi
  if [ -n "${SW_BENCH_KEEP:-}" ] && [ -d "$T/res" ]; then
    rm -rf "$SW_BENCH_KEEP"
    cp -r "$T/res" "$SW_BENCH_KEEP"
  fi
  rm -rf "$T"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck disable=SC1091
. "$repo/tests/lib/nginx.sh"
# shellcheck disable=SC1091
. "$repo/tests/lib/tracker.sh"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { echo "$BENCH: $*" >&2; exit 1; }
free_port() {
  "$PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
sha_of() { openssl dgst -sha256 -r "$1" | cut -d' ' -f1; }
now() { date +%s.%N; }
# CPU clock ticks (user + system) the processes PID... have used so far (0 for one that is
# gone): read around a run to know a server's share of the work (the CPU floors).
cpu_ticks() {
  local p t s=0
  for p in "$@"; do
    t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    s=$((s + t))
  done
  echo "$s"
}
json_field() { # FILE KEY -> the value
  "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
wait_file() { # FILE SECONDS: until FILE is not empty
  local n=$(($2 * 10))
  while [ ! -s "$1" ]; do
    n=$((n - 1))
    [ "$n" -gt 0 ] || return 1
    sleep 0.1
  done
}

# bench_keys PKG: test keys in $T/keys (tests/lib/mkkeys.sh; GNUPGHOME exported) and PKG's
# detached signature by key A, base64 in PKGSIG.
bench_keys() {
  bash "$repo/tests/lib/mkkeys.sh" "$T/keys" >/dev/null
  # shellcheck disable=SC1091
  . "$T/keys/keys.env"
  export GNUPGHOME
  # SHA-256, as swarmup-publish signs (tools/pubgpg.c); gpg's own default for this key is SHA-512.
  gpg --homedir "$GNUPGHOME" --batch --yes --quiet --sig-notation purpose@swarmup=package -u "$A_FPR!" \
    --digest-algo SHA256 --detach-sign -o "$T/pkg.sig" "$1"
  PKGSIG=$(base64 -w0 "$T/pkg.sig")
}

# bench_manifest OUT MAGNET FALLBACK: the manifest of hello 1.0 (sequence 1; $NAME, $SIZE,
# $SHA, $PKGSIG), as in tests/cli/lib.sh, and OUT.sig by key A.
bench_manifest() {
  {
    echo "Format: swarmup/1"
    echo "Product: hello"
    echo "Channel: stable"
    echo "Version: 1.0"
    echo "Sequence: 1"
    echo "Date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "Expires: $(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)"
    echo "File: $NAME"
    echo "Size: $SIZE"
    echo "SHA256: $SHA"
    echo "Magnet: $2"
    echo "Fallback: $3"
    echo "Signature: $PKGSIG"
  } >"$1"
  gpg --homedir "$GNUPGHOME" --batch --yes --quiet --armor --sig-notation purpose@swarmup=manifest -u "$A_FPR!" \
    --digest-algo SHA256 --detach-sign -o "$1.sig" "$1"
}

# bench_notes OUT_MD: the hand-written part of an existing OUT_MD (from its line
# "<!-- notes -->" to the end), or that marker alone.
bench_notes() {
  if [ -n "$1" ] && [ -f "$1" ] && grep -q '^<!-- notes -->$' "$1"; then
    sed -n '/^<!-- notes -->$/,$p' "$1"
  else
    echo "<!-- notes -->"
  fi
}

# bench_publish OUT_MD DOC [WHAT]: print DOC and, with OUT_MD, write it there.
bench_publish() {
  echo "$2"
  if [ -n "$1" ]; then
    printf '%s\n' "$2" >"$1"
    log "written to $1${3:+ and $3}"
  fi
}
