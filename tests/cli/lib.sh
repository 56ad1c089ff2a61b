# lib.sh - shared by the command-level tests (sourced, not run).
# Usage: . "$(dirname "$0")/lib.sh" "$1"   (the build directory)
set -euo pipefail
# The tests must not depend on the caller's environment. gpg's messages (which some
# tests match) are translated under another locale, and sort order is locale-dependent:
# pin the C locale. A umask of 002 (user private groups) would make every directory a
# test creates group-writable, which swarmup refuses for its state dir and --out: pin 022.
export LC_ALL=C
umask 022

SW_BUILD=$(cd "${1:?usage: test.sh BUILD_DIR}" && pwd)
SW_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SWARMUP=$SW_BUILD/swarmup
PUBLISH=$SW_BUILD/tools/swarmup-publish
T=$(mktemp -d /tmp/swt.XXXXXX)
PASS=0
FAIL=0
SW_CLEANUPS=()

sw_cleanup() {
  local c
  for c in "${SW_CLEANUPS[@]}"; do eval "$c" || true; done
  if [ -f "$T/keys/keys.env" ]; then
    # shellcheck disable=SC1091
    (. "$T/keys/keys.env"; gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1 || true; rm -rf "$GNUPGHOME")
  fi
  rm -rf "$T"
}
trap sw_cleanup EXIT

# Make the test keys (tests/lib/mkkeys.sh) and load their fingerprints.
sw_keys() {
  bash "$SW_SRC/tests/lib/mkkeys.sh" "$T/keys" >/dev/null
  # shellcheck disable=SC1091
  . "$T/keys/keys.env"
  export GNUPGHOME
}

# sw_sign FPR IN OUT [extra gpg args...]: detached binary signature by exactly
# that (sub)key, with no purpose@swarmup notation (swarmup refuses it as a
# manifest signature; as a package signature it stands for one made by another
# tool). Say what is signed with sw_sign_manifest / sw_sign_package.
sw_sign() {
  local fpr=$1 in=$2 out=$3
  shift 3
  gpg --homedir "$GNUPGHOME" --batch --yes --quiet "$@" -u "$fpr!" --detach-sign -o "$out" "$in" 2>"$T/sign.err" || {
    echo "sw_sign: gpg failed to sign $in:" >&2
    cat "$T/sign.err" >&2
    return 1
  }
}

# sw_sign_manifest / sw_sign_package / sw_sign_keys FPR IN OUT [extra gpg args...]:
# the same, carrying the hashed notation purpose@swarmup=manifest (package, keys)
# that swarmup requires (docs/manifest.md).
sw_sign_manifest() { sw_sign_purpose manifest "$@"; }
sw_sign_package() { sw_sign_purpose package "$@"; }
sw_sign_keys() { sw_sign_purpose keys "$@"; }
# sw_sign_purpose PURPOSE FPR IN OUT [extra gpg args...]
sw_sign_purpose() {
  local purpose=$1 fpr=$2 in=$3 out=$4
  shift 4
  sw_sign "$fpr" "$in" "$out" --sig-notation "purpose@swarmup=$purpose" "$@"
}

# sw_flip FILE OFFSET: flip the lowest bit of one byte in place.
sw_flip() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf %03o $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

sw_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
sw_days() { date -u -d "@$(( $(date +%s) + $1 * 86400 ))" +%Y-%m-%dT%H:%M:%SZ; }

# sw_release DIR NAME SIZE: a random package DIR/NAME of SIZE bytes, its torrent
# and magnet (via swarmup-publish make), and the package signature by key A.
# Sets REL_FILE REL_SIZE REL_SHA REL_MAGNET REL_PKGSIG (base64).
sw_release() {
  local dir=$1 name=$2 size=$3
  mkdir -p "$dir"
  head -c "$size" /dev/urandom >"$dir/$name"
  "$PUBLISH" make --file "$dir/$name" --product hello --version 1.0 --sequence 1 \
    --fallback "https://127.0.0.1:9/$name" --no-torrent-url >"$dir/make.out"
  REL_FILE=$name
  REL_SIZE=$size
  REL_SHA=$(sha256sum "$dir/$name" | cut -d' ' -f1)
  REL_MAGNET=$(sed -n 's/^magnet: *//p' "$dir/make.out")
  sw_sign_package "$A_FPR" "$dir/$name" "$dir/$name.sig"
  REL_PKGSIG=$(base64 -w0 "$dir/$name.sig")
}

# sw_manifest OUT [Field=value ...]: write a manifest by hand from the release
# above; arguments override fields (Field= with an empty value drops it).
# Extra lines can be given as +LINE.
sw_manifest() {
  local out=$1
  shift
  local -A f=(
    [Format]=swarmup/1 [Product]=hello [Channel]=stable [Version]=1.0 [Sequence]=10
    [Date]=$(sw_now) [Expires]=$(sw_days 30) [File]=$REL_FILE [Size]=$REL_SIZE [SHA256]=$REL_SHA
    [Magnet]=$REL_MAGNET [Fallback]="https://127.0.0.1:9/$REL_FILE" [Signature]=$REL_PKGSIG
  )
  local order=(Format Product Channel Version Sequence Date Expires File Size SHA256 Magnet Fallback Signature)
  local extra=() a k
  for a in "$@"; do
    if [ "${a:0:1}" = + ]; then extra+=("${a:1}"); continue; fi
    k=${a%%=*}
    f[$k]=${a#*=}
    case " ${order[*]} " in *" $k "*) ;; *) order+=("$k") ;; esac
  done
  : >"$out"
  for k in "${order[@]}"; do
    [ -n "${f[$k]}" ] && printf '%s: %s\n' "$k" "${f[$k]}" >>"$out"
  done
  for a in "${extra[@]+"${extra[@]}"}"; do printf '%s\n' "$a" >>"$out"; done
}

# expect NAME CODE PATTERN -- command...: the command exits with CODE and its
# output (stdout+stderr) contains PATTERN (a grep -E regex; "" matches anything).
expect() {
  local name=$1 code=$2 pat=$3 rc=0 out
  shift 4
  out=$("$@" 2>&1) || rc=$?
  if [ "$rc" -ne "$code" ]; then
    echo "FAIL $name: exit $rc, expected $code"; printf '%s\n' "$out" | sed 's/^/   | /' | tail -6
    FAIL=$((FAIL + 1))
    return 0
  fi
  if [ -n "$pat" ] && ! grep -qE -- "$pat" <<<"$out"; then
    echo "FAIL $name: output lacks /$pat/"; printf '%s\n' "$out" | sed 's/^/   | /' | tail -6
    FAIL=$((FAIL + 1))
    return 0
  fi
  echo "ok   $name"
  [ -n "${SW_VERBOSE:-}" ] && printf '   > %s\n' "$out" | head -3
  PASS=$((PASS + 1))
}

# ok NAME CONDITION...: a plain assertion.
ok() {
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; PASS=$((PASS + 1)); else echo "FAIL $name"; FAIL=$((FAIL + 1)); fi
}

# sw_need_caps WHAT CAP...: skip this whole test (exit 77, which ctest reports as
# "Skipped", never as passed) unless we are root with every named capability in
# our effective set (e.g. CAP_SYS_ADMIN to mount a tmpfs or make a network namespace).
# An unprivileged container lacks them; a root VM and tools/fresh.sh have them, and
# there the test runs. WHAT says what the test needs them for.
sw_need_caps() {
  local what=$1 cap bit eff missing=()
  shift
  eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
  for cap in "$@"; do
    case $cap in
      CAP_CHOWN) bit=0 ;; CAP_DAC_OVERRIDE) bit=1 ;; CAP_SETUID) bit=7 ;;
      CAP_NET_ADMIN) bit=12 ;; CAP_SYS_ADMIN) bit=21 ;;
      *) echo "sw_need_caps: unknown capability $cap" >&2; exit 1 ;;
    esac
    [ "$(id -u)" = 0 ] && (( (16#$eff >> bit) & 1 )) || missing+=("$cap")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "SKIP $(basename "$0" .sh): needs root with ${missing[*]} ($what); this process (uid $(id -u), CapEff $eff) lacks it, as in an unprivileged container. It runs as root on a VM and in tools/fresh.sh."
  exit 77
}

sw_done() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ] && [ "$PASS" -gt 0 ]
}

# sw_nginx DIR: a real nginx (tests/lib/nginx.sh: test CA, TLS on 127.0.0.1) serving
# DIR/www, with DIR/extra/*.conf as extra locations; stopped at exit. Sets U to its
# https:// base URL.
sw_nginx() {
  # shellcheck disable=SC1091
  . "$SW_SRC/tests/lib/nginx.sh"
  SW_NGINX_OWNER=$$ sw_nginx_start "$1" 0 >/dev/null
  SW_CLEANUPS+=("sw_nginx_stop '$1' >/dev/null 2>&1")
  U=https://127.0.0.1:$(cat "$1/port")
}

# --- swarm helpers ---------------------------------------------------------------

# Options every swarmup swarm process gets in tests: loopback only, TCP only,
# no DHT/LSD/UPnP/NAT-PMP.
SW_NET=(--listen 127.0.0.1:0 --no-dht --no-lsd --no-utp)

sw_free_port() { /usr/bin/python3 "$SW_SRC/tests/lib/freeport.py"; }

# sw_wait_for FILE REGEX SECONDS: wait until FILE has a line matching REGEX.
sw_wait_for() {
  local file=$1 re=$2 n=$(( $3 * 10 ))
  while [ "$n" -gt 0 ]; do
    grep -qE -- "$re" "$file" 2>/dev/null && return 0
    sleep 0.1
    n=$((n - 1))
  done
  echo "timeout waiting for /$re/ in $file" >&2
  tail -5 "$file" >&2 || true
  return 1
}

# sw_lt_seed NAME TORRENT DIR [args...]: a plain python-libtorrent seeder in the
# background; sets LT_PORT to its port. Killed at exit.
sw_lt_seed() {
  local name=$1 torrent=$2 dir=$3 pid
  shift 3
  rm -f "$T/$name.port"
  /usr/bin/python3 "$SW_SRC/tests/lib/lt_seed.py" seed --torrent "$torrent" --dir "$dir" \
    --port-file "$T/$name.port" "$@" >"$T/$name.log" 2>&1 &
  pid=$!
  SW_CLEANUPS+=("kill $pid 2>/dev/null")
  eval "LT_PID_$name=$pid"
  sw_wait_for "$T/$name.port" '^[0-9]+$' 20
  LT_PORT=$(cat "$T/$name.port")
}

# sw_signed_manifest OUT [fields...]: a manifest by key A with its armored signature.
sw_signed_manifest() {
  local out=$1
  shift
  sw_manifest "$out" "$@"
  gpg --homedir "$GNUPGHOME" --batch --yes --quiet --armor --sig-notation purpose@swarmup=manifest -u "$A_FPR!" \
    --detach-sign -o "$out.sig" "$out"
}

# The v2 hash cut to 20 bytes and the v1 hash, as opentracker's whitelist wants them.
sw_tracker_hashes() {
  local magnet=$1 v2 v1
  v2=$(sed -n 's/.*xt=urn:btmh:1220\([0-9a-f]\{40\}\).*/\1/p' <<<"$magnet")
  v1=$(sed -n 's/.*xt=urn:btih:\([0-9a-f]\{40\}\).*/\1/p' <<<"$magnet")
  echo "$v2 $v1"
}
