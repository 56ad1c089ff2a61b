#!/usr/bin/env bash
# demo.sh - swarmup end to end on this machine, with a throwaway publisher key:
#   publish a release (make + sign), check and verify it, then watch a rollback,
#   an expired manifest, a tampered manifest and a tampered package be refused.
# Usage: bash tools/demo.sh            (installs what is missing and builds first)
#        SW_BUILD=DIR bash tools/demo.sh   (use an existing build)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${SW_BUILD:-}" ]; then
  bash "$SRC/tools/bootstrap.sh" "$SRC/build"
  SW_BUILD=$SRC/build
fi
SWARMUP=$SW_BUILD/swarmup
PUBLISH=$SW_BUILD/tools/swarmup-publish
W=$(mktemp -d /tmp/swdemo.XXXXXX)
export GNUPGHOME=$W/offline-key
mkdir -m 700 "$GNUPGHOME"
cleanup() { gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup EXIT

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B="" N=""; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
run() { printf '$ %s\n' "$*" | sed "s|$W|\$W|g; s|$SW_BUILD/tools/||; s|$SW_BUILD/||"; "$@"; }
# refused CODE command...: show that the command fails with exactly CODE.
refused() {
  local want=$1 rc=0
  shift
  printf '$ %s\n' "$*" | sed "s|$W|\$W|g; s|$SW_BUILD/tools/||; s|$SW_BUILD/||"
  "$@" || rc=$?
  if [ "$rc" -ne "$want" ]; then echo "demo: expected exit $want, got $rc" >&2; exit 1; fi
  echo "(exit $rc, as expected)"
}

step "The publisher makes an offline signing key (throwaway, for this demo)"
gpg --batch --quiet --passphrase '' --quick-gen-key "Hello Publisher <release@hello.invalid>" ed25519 sign 1y
FPR=$(gpg --with-colons --list-keys | awk -F: '/^fpr/ {print $10; exit}')
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
run "$SWARMUP" check --manifest "$W/pub/hello-stable.manifest" "${C[@]}"
run "$SWARMUP" check --manifest "$W/pub/hello-stable.manifest" "${C[@]}" --json

step "Client: the payload gate on the package (size + SHA-256 + OpenPGP, one read)"
run "$SWARMUP" verify --manifest "$W/pub/hello-stable.manifest" --trusted-key "$W/hello-release-key.asc" --product hello "$W/pub/hello-1.0.tar.gz"

step "Publisher ships 1.1 (sequence 2); the client accepts it"
head -c 4194304 /dev/urandom >"$W/pub/hello-1.1.tar.gz"
"$PUBLISH" make --file "$W/pub/hello-1.1.tar.gz" --product hello --version 1.1 --sequence 2 \
  --fallback https://updates.hello.invalid/hello-1.1.tar.gz >/dev/null
"$PUBLISH" sign --draft "$W/pub/hello-stable.manifest.draft" --file "$W/pub/hello-1.1.tar.gz" --key "$FPR" --yes >/dev/null 2>&1
run "$SWARMUP" check --manifest "$W/pub/hello-stable.manifest" "${C[@]}"

step "Attack: replay the old, validly signed 1.0 manifest (rollback)"
refused 3 "$SWARMUP" check --manifest "$W/v1/hello-stable.manifest" "${C[@]}"

step "Attack: a validly signed manifest that has expired (freeze attack)"
sed -e "s/^Sequence: .*/Sequence: 3/" \
    -e "s/^Date: .*/Date: $(date -u -d '-40 days' +%Y-%m-%dT%H:%M:%SZ)/" \
    -e "s/^Expires: .*/Expires: $(date -u -d '-10 days' +%Y-%m-%dT%H:%M:%SZ)/" \
    "$W/pub/hello-stable.manifest" >"$W/expired.manifest"
gpg --batch --quiet --yes --armor -u "$FPR" --detach-sign -o "$W/expired.manifest.sig" "$W/expired.manifest"
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

step "Done: every forgery was refused, and the client state still says sequence 2"
grep -E '^(sequence|version) ' "$W/client-state/hello/stable/state"
