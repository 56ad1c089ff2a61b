#!/usr/bin/env bash
# demo.sh - swarmup end to end on this machine (loopback only), with a throwaway
# publisher key:
#   1. trust: publish a release (make + sign), check and verify it, then watch a
#      rollback, an expired manifest, a tampered manifest and package be refused;
#   2. the full update: a release fetched from the swarm (a `swarmup seed`
#      mirror); the same with the swarm's ports closed, fetched over HTTPS from
#      a real nginx; a swarm dying half way, finished over HTTPS; a tampered
#      HTTPS payload refused;
#   3. keys that change: the publisher ships statement 1 (its key, and a next key kept
#      apart), rotates to the next key; the client follows the chain and refuses the
#      dropped key's manifest and a statement the old key signed alone.
# Every server it starts is stopped at exit. It works in a fresh directory under
# /tmp and shows every path relative to it (./pub/...), in the commands and in
# their output alike.
# Usage: bash tools/demo.sh [--keep] [-v]   (installs what is missing and builds first)
#        SW_BUILD=DIR bash tools/demo.sh   (use an existing build)
#   --keep        keep the directory at the end (its path is printed) for a look around
#   -v, --verbose show the build's progress and gpg's own messages (else they go to
#                 build.log and gpg.log in the directory)
set -euo pipefail
KEEP=0
VERBOSE=0
for a in "$@"; do
  case $a in
    --keep) KEEP=1 ;;
    -v | --verbose) VERBOSE=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done
# The demo makes its directories with mkdir; under a umask of 002 they would be group-writable,
# which swarmup rightly refuses for a state dir or --out. A demo must not depend on the caller's umask.
umask 022
SRC=$(cd "$(dirname "$0")/.." && pwd)
WD=$(mktemp -d /tmp/swdemo.XXXXXX)
# quiet CMD...: run CMD with its output in LOG (shown with -v); on failure show LOG's end.
quiet() {
  local log=$1
  shift
  if [ "$VERBOSE" = 1 ]; then "$@"; return; fi
  "$@" >>"$log" 2>&1 || { local rc=$?; tail -20 "$log" >&2; return "$rc"; }
}
if [ -z "${SW_BUILD:-}" ]; then
  echo "building $SRC/build (installing what is missing first; progress in $WD/build.log)"
  quiet "$WD/build.log" bash "$SRC/tools/bootstrap.sh" "$SRC/build"
  SW_BUILD=$SRC/build
fi
SWARMUP=$SW_BUILD/swarmup
PUBLISH=$SW_BUILD/tools/swarmup-publish
export GNUPGHOME=$WD/offline-key
mkdir -m 700 "$GNUPGHOME"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$WD/nginx/nginx.pid" ] && bash "$SRC/tests/lib/nginx.sh" stop "$WD/nginx" >/dev/null 2>&1
  gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1 || true
  if [ "$KEEP" = 1 ]; then
    echo "kept the demo's directory: $WD (remove it with: rm -rf $WD)"
  else
    rm -rf "$WD"
  fi
}
trap cleanup EXIT
# Every path below is relative to the demo's directory, so that a command and
# its output name a file the same way.
cd "$WD"
W=.
echo "demo directory: $WD$([ "$KEEP" = 1 ] && echo " (kept at the end)")"
# gpgq ARGS...: gpg with its chatter (trustdb created, key marked ultimately trusted, ...) in gpg.log.
gpgq() { quiet "$WD/gpg.log" gpg "$@"; }

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B="" N=""; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
show() { printf '$ %s\n' "$*" | sed "s|$SW_BUILD/tools/||; s|$SW_BUILD/||"; }
run() { show "$@"; "$@"; }
# refused CODE command...: show that the command fails with exactly CODE.
refused() {
  local want=$1 rc=0
  shift
  show "$@"
  "$@" || rc=$?
  if [ "$rc" -ne "$want" ]; then echo "demo: expected exit $want, got $rc" >&2; exit 1; fi
  echo "(exit $rc, as expected)"
}
# available command...: a `swarmup check` that finds an update exits 100 (0: up to date).
available() {
  local rc=0
  show "$@"
  "$@" || rc=$?
  if [ "$rc" -ne 100 ]; then echo "demo: expected exit 100 (update available), got $rc" >&2; exit 1; fi
  echo "(exit 100: an update is available)"
}

step "The publisher makes an offline signing key (throwaway, for this demo)"
gpgq --batch --quiet --passphrase '' --quick-gen-key "Hello Publisher <release@hello.invalid>" ed25519 sign 2y
FPR=$(gpg --with-colons --list-keys 2>>"$WD/gpg.log" | awk -F: '/^fpr/ {print $10; exit}')
gpg --armor --export "$FPR" >"$W/hello-release-key.asc"
echo "key $FPR; clients pin hello-release-key.asc"

step "Online machine: make release 1.0 (hybrid torrent, magnet, unsigned draft)"
mkdir -p "$W/pub"
head -c 4194304 /dev/urandom >"$W/pub/hello-1.0.tar.gz"
run "$PUBLISH" make --file "$W/pub/hello-1.0.tar.gz" --product hello --version 1.0 --sequence 1 \
  --fallback https://updates.hello.invalid/hello-1.0.tar.gz --peer 127.0.0.1:6881

step "Offline machine: check the checklist and sign (--yes for the demo)"
run "$PUBLISH" sign --draft "$W/pub/hello-stable.manifest.draft" --file "$W/pub/hello-1.0.tar.gz" --key "$FPR" --yes
mkdir -p "$W/v1" && cp "$W/pub/hello-stable.manifest" "$W/pub/hello-stable.manifest.sig" "$W/v1/"
run gpg --verify "$W/pub/hello-stable.manifest.sig" "$W/pub/hello-stable.manifest"

step "Client: is there an update? (signature, product, freshness, rollback state)"
C=(--trusted-key "$W/hello-release-key.asc" --product hello --state-dir "$W/client-state")
available "$SWARMUP" check --manifest "$W/pub/hello-stable.manifest" "${C[@]}"
available "$SWARMUP" check --manifest "$W/pub/hello-stable.manifest" "${C[@]}" --json

step "Client: the payload gate on the package (size + SHA-256 + OpenPGP, one read)"
run "$SWARMUP" verify --manifest "$W/pub/hello-stable.manifest" --trusted-key "$W/hello-release-key.asc" --product hello "$W/pub/hello-1.0.tar.gz"

step "Publisher ships 1.1 (sequence 2); the client accepts it"
head -c 4194304 /dev/urandom >"$W/pub/hello-1.1.tar.gz"
"$PUBLISH" make --file "$W/pub/hello-1.1.tar.gz" --product hello --version 1.1 --sequence 2 \
  --fallback https://updates.hello.invalid/hello-1.1.tar.gz >/dev/null
"$PUBLISH" sign --draft "$W/pub/hello-stable.manifest.draft" --file "$W/pub/hello-1.1.tar.gz" --key "$FPR" --yes >/dev/null 2>&1
available "$SWARMUP" check --manifest "$W/pub/hello-stable.manifest" "${C[@]}"

step "Attack: replay the old, validly signed 1.0 manifest (rollback)"
refused 3 "$SWARMUP" check --manifest "$W/v1/hello-stable.manifest" "${C[@]}"

step "Attack: a validly signed manifest that has expired (freeze attack)"
sed -e "s/^Sequence: .*/Sequence: 3/" \
    -e "s/^Date: .*/Date: $(date -u -d '-40 days' +%Y-%m-%dT%H:%M:%SZ)/" \
    -e "s/^Expires: .*/Expires: $(date -u -d '-10 days' +%Y-%m-%dT%H:%M:%SZ)/" \
    "$W/pub/hello-stable.manifest" >"$W/expired.manifest"
gpg --batch --quiet --yes --armor --sig-notation purpose@swarmup=manifest -u "$FPR" --detach-sign -o "$W/expired.manifest.sig" "$W/expired.manifest"
refused 3 "$SWARMUP" check --manifest "$W/expired.manifest" "${C[@]}"

step "Attack: a mirror tampers with the manifest (points Fallback elsewhere)"
sed 's|^Fallback: .*|Fallback: https://evil.invalid/hello-1.1.tar.gz|' "$W/pub/hello-stable.manifest" >"$W/tampered.manifest"
cp "$W/pub/hello-stable.manifest.sig" "$W/tampered.manifest.sig"
refused 3 "$SWARMUP" check --manifest "$W/tampered.manifest" "${C[@]}"

step "Attack: a tampered package (one byte changed)"
cp "$W/pub/hello-1.1.tar.gz" "$W/evil.tar.gz"
b=$(od -An -tu1 -j 1000 -N1 "$W/evil.tar.gz" | tr -d ' ')
printf "\\$(printf %03o $((b ^ 1)))" | dd of="$W/evil.tar.gz" bs=1 seek=1000 conv=notrunc status=none
refused 5 "$SWARMUP" verify --manifest "$W/pub/hello-stable.manifest" --trusted-key "$W/hello-release-key.asc" --product hello "$W/evil.tar.gz"

step "Part 1 done: every forgery was refused, and the client state still says sequence 2"
grep -E '^(sequence|version) ' "$W/client-state/hello/stable/state"

# ---- Part 2: the full update on loopback --------------------------------------------------
freeport() { /usr/bin/python3 "$SRC/tests/lib/freeport.py"; }  # outside the ephemeral range: see there
waitfor() { local n=$(( $3 * 10 )); until grep -qE -- "$2" "$1" 2>/dev/null; do n=$((n-1)); [ $n -gt 0 ] || { echo "demo: timeout waiting for $2" >&2; exit 1; }; sleep 0.1; done; }
NET=(--listen 127.0.0.1:0 --no-dht --no-lsd --no-utp)

step "An HTTPS origin (a real nginx on 127.0.0.1 with a CA made now) and release 2.0"
mkdir -p "$W/nginx/www"
bash "$SRC/tests/lib/nginx.sh" start "$WD/nginx" 0 >/dev/null
ORIGIN=https://127.0.0.1:$(cat "$W/nginx/port")
head -c $((32 * 1024 * 1024)) /dev/urandom >"$W/pub/hello-2.0.tar.gz"
cp "$W/pub/hello-2.0.tar.gz" "$W/nginx/www/"
SEEDPORT=$(freeport)
run "$PUBLISH" make --file "$W/pub/hello-2.0.tar.gz" --product hello --version 2.0 --sequence 3 \
  --fallback "$ORIGIN/hello-2.0.tar.gz" --peer "127.0.0.1:$SEEDPORT"
cp "$W/pub/hello-2.0.tar.gz.torrent" "$W/nginx/www/"
"$PUBLISH" sign --draft "$W/pub/hello-stable.manifest.draft" --file "$W/pub/hello-2.0.tar.gz" --key "$FPR" --yes >/dev/null 2>&1
M=$W/pub/hello-stable.manifest
echo "signed $M: the magnet names the mirror 127.0.0.1:$SEEDPORT, Fallback names $ORIGIN"

step "A mirror: swarmup seed adopts the file (it must pass the gate) and seeds it"
"$SWARMUP" seed --manifest "$M" --trusted-key "$W/hello-release-key.asc" --product hello --from "$W/pub/hello-2.0.tar.gz" \
  --state-dir "$W/mirror" --listen "127.0.0.1:$SEEDPORT" --no-dht --no-lsd --no-utp >"$W/mirror.log" 2>&1 &
MIRROR=$!
PIDS+=("$MIRROR")
waitfor "$W/mirror.log" "#3: seeding" 60
sed 's/^/  mirror| /' "$W/mirror.log"

F=(--manifest "$M" --trusted-key "$W/hello-release-key.asc" --product hello --ca-file "$W/nginx/ca.pem" "${NET[@]}" --seed-time 0)
step "Client A fetches 2.0: from the swarm"
run "$SWARMUP" fetch "${F[@]}" --state-dir "$W/clientA" --out "$W/installA"

step "The swarm's ports are closed (mirror stopped): client B gets it over HTTPS at once"
kill "$MIRROR"; wait "$MIRROR" 2>/dev/null || true
run "$SWARMUP" fetch "${F[@]}" --state-dir "$W/clientB" --out "$W/installB"

step "A seeder dies half way: client C keeps the swarm's pieces and finishes over HTTPS"
/usr/bin/python3 "$SRC/tests/lib/lt_seed.py" seed --torrent "$W/pub/hello-2.0.tar.gz.torrent" --dir "$W/pub" \
  --port "$SEEDPORT" --port-file "$W/slow.port" --upload-limit $((8 * 1024 * 1024)) >/dev/null 2>&1 &
SLOW=$!
PIDS+=("$SLOW")
waitfor "$W/slow.port" '^[0-9]+$' 20
"$SWARMUP" fetch "${F[@]}" --state-dir "$W/clientC" --out "$W/installC" --json >"$W/clientC.log" 2>&1 &
CPID=$!
PIDS+=("$CPID")
n=300
until grep '"event":"progress"' "$W/clientC.log" | tail -1 | grep -qE '"bytes":(1[6-9]|[2-9][0-9])[0-9]{6}'; do
  n=$((n-1)); [ $n -gt 0 ] || break; sleep 0.1
done
echo "(killing the only seeder at $(grep '"event":"progress"' "$W/clientC.log" | tail -1 | grep -o '"bytes":[0-9]*' | cut -d: -f2) bytes)"
kill "$SLOW"
wait "$CPID"
grep -E '"event":"(fallback|https-pieces|installed)"' "$W/clientC.log" | sed 's/^/  client C| /'

step "Attack: the HTTPS origin serves a tampered file (and the swarm is closed)"
b=$(od -An -tu1 -j 5000000 -N1 "$W/nginx/www/hello-2.0.tar.gz" | tr -d ' ')
printf "\\$(printf %03o $((b ^ 1)))" | dd of="$W/nginx/www/hello-2.0.tar.gz" bs=1 seek=5000000 conv=notrunc status=none
mkdir -p "$W/installD" && echo "1.1 still installed here" >"$W/installD/hello-2.0.tar.gz"
refused 5 "$SWARMUP" fetch "${F[@]}" --state-dir "$W/clientD" --out "$W/installD"
echo "--out still holds: $(cat "$W/installD/hello-2.0.tar.gz")"

step "Done: A, B and C installed exactly the signed 2.0; D refused the tampered bytes"
sha256sum "$W/pub/hello-2.0.tar.gz" "$W/installA/hello-2.0.tar.gz" "$W/installB/hello-2.0.tar.gz" "$W/installC/hello-2.0.tar.gz" 
for c in A B C; do cmp -s "$W/pub/hello-2.0.tar.gz" "$W/install$c/hello-2.0.tar.gz" || { echo "demo: client $c differs" >&2; exit 1; }; done
echo "all verified"

# ---- Part 3: keys that change (docs/keys.md) ------------------------------------------------
step "Part 3: the publisher makes a next key, kept apart (another token or safe), and commits to it"
gpgq --batch --quiet --passphrase '' --quick-gen-key "Hello Next Key <next@hello.invalid>" ed25519 sign 2y
gpgq --batch --quiet --passphrase '' --quick-gen-key "Hello Key After Next <after@hello.invalid>" ed25519 sign 3y
NEXT=$(gpg --with-colons --list-keys next@hello.invalid 2>>"$WD/gpg.log" | awk -F: '/^fpr/ {print $10; exit}')
AFTER=$(gpg --with-colons --list-keys after@hello.invalid 2>>"$WD/gpg.log" | awk -F: '/^fpr/ {print $10; exit}')
run "$PUBLISH" keys init --product hello --key "$FPR" --next "$NEXT" --expires-days 365 --out "$W/pub/hello.keys"
run "$PUBLISH" keys sign --draft "$W/pub/hello.keys/1.keys" --key "$FPR" --yes
mkdir -p "$W/app" && cp "$W/pub/hello.keys/1.keys" "$W/app/hello.keys" && cp "$W/pub/hello.keys/1.keys.sig" "$W/app/hello.keys.sig"
echo "the application ships statement 1 as its anchor: $W/app/hello.keys (+ .sig)"

step "Client: trust starts at the anchor and follows the publisher's statements"
K=(--trusted-keys "$W/app/hello.keys" --keys-url "$W/pub/hello.keys" --product hello --state-dir "$W/client-keys")
available "$SWARMUP" check --manifest "$W/pub/hello-stable.manifest" "${K[@]}"

step "The publisher rotates to its pre-committed next key: statement 2 drops the old key and commits to another"
run "$PUBLISH" keys rotate --from "$W/pub/hello.keys/1.keys" --key "$NEXT" --drop "$FPR" --next "$AFTER" --expires-days 365
run "$PUBLISH" keys sign --draft "$W/pub/hello.keys/2.keys" --key "$NEXT" --yes

step "Release 2.1 (sequence 4), signed by the new key: the client walks to statement 2 and accepts it"
head -c 1048576 /dev/urandom >"$W/pub/hello-2.1.tar.gz"
"$PUBLISH" make --file "$W/pub/hello-2.1.tar.gz" --product hello --version 2.1 --sequence 4 \
  --fallback https://updates.hello.invalid/hello-2.1.tar.gz >/dev/null
"$PUBLISH" sign --draft "$W/pub/hello-stable.manifest.draft" --file "$W/pub/hello-2.1.tar.gz" --key "$NEXT" --yes >/dev/null 2>&1
available "$SWARMUP" check --manifest "$W/pub/hello-stable.manifest" "${K[@]}"
run "$SWARMUP" verify --manifest "$W/pub/hello-stable.manifest" --trusted-keys "$W/app/hello.keys" \
  --keys-url "$W/pub/hello.keys" --product hello "$W/pub/hello-2.1.tar.gz"
ls "$W/client-keys/hello/_keys" | sed 's/^/  kept: /'

step "Attack: the old key, now dropped, signs a manifest (as a thief of it would)"
sed "s/^Sequence: .*/Sequence: 5/" "$W/pub/hello-stable.manifest" >"$W/old-key.manifest"
gpg --batch --quiet --yes --sig-notation purpose@swarmup=manifest -u "$FPR!" --detach-sign -o "$W/old-key.manifest.sig" "$W/old-key.manifest"
refused 3 "$SWARMUP" check --manifest "$W/old-key.manifest" "${K[@]}"

step "Attack: the old key signs a statement 3 naming a key of the thief's: only the committed next key may rotate"
gpgq --batch --quiet --passphrase '' --quick-gen-key "Thief <thief@evil.invalid>" ed25519 sign 1y
THIEF=$(gpg --with-colons --list-keys thief@evil.invalid 2>>"$WD/gpg.log" | awk -F: '/^fpr/ {print $10; exit}')
mkdir -p "$W/evil.keys" && cp "$W/pub/hello.keys/"[12].keys* "$W/evil.keys/"
"$PUBLISH" keys rotate --from "$W/evil.keys/2.keys" --key "$THIEF" --drop "$NEXT" --expires-days 365 >/dev/null
gpg --batch --quiet --yes --sig-notation purpose@swarmup=keys -u "$FPR!" -u "$THIEF!" --detach-sign -o "$W/evil.keys/3.keys.sig" "$W/evil.keys/3.keys"
K2=(--trusted-keys "$W/app/hello.keys" --keys-url "$W/evil.keys" --product hello --state-dir "$W/client-keys")
refused 3 "$SWARMUP" check --manifest "$W/pub/hello-stable.manifest" "${K2[@]}"
echo "Part 3 done: the client followed the rotation and refused the old key and the thief's statement"
