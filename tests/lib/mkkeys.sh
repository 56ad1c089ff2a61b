#!/usr/bin/env bash
# mkkeys.sh OUTDIR - make the OpenPGP test keys that the unit and CLI tests use.
#
# All keys are ed25519, unprotected, made with `gpg --batch` in a private signer
# home. Sockets live in the home and have a 108-byte limit, so the home is
# always a short `mktemp -d /tmp/swk.XXXXXX` directory; OUTDIR/gnupg is a
# symlink to it and OUTDIR/keys.env names it as GNUPGHOME=...
#
# Outputs in OUTDIR:
#   keys.env            shell-sourceable KEY=VALUE lines:
#                       GNUPGHOME A_FPR A_SUB_FPR E_FPR B_FPR B_SUB_FPR R_FPR X_FPR X_SIGN_TIME
#   trusted.asc         A "Swarmup Test Publisher <a@test.invalid>": primary (sign,cert) + signing subkey
#   second.asc          E, a second trusted publisher (primary only)
#   untrusted.asc       B, never pinned by tests, primary + signing subkey
#   revoked.asc         R with its revocation (the signer home keeps R unrevoked so it can still sign)
#   expired.asc         X, created 2020-01-01 with a 1-year expiry: expired now
#   untrusted-secret.asc B's SECRET key export (for tests that a secret key file is refused)
#
# Signing (detached, binary; add --armor for armored):
#   . OUTDIR/keys.env
#   gpg --homedir "$GNUPGHOME" --batch --yes -u "$A_FPR!"     --detach-sign -o F.sig F   # A primary
#   gpg --homedir "$GNUPGHOME" --batch --yes -u "$A_SUB_FPR!" --detach-sign -o F.sig F   # A subkey
#   ... same with E_FPR, B_FPR, B_SUB_FPR, R_FPR;
#   gpg --homedir "$GNUPGHOME" --batch --yes --faked-system-time "$X_SIGN_TIME" -u "$X_FPR!" --detach-sign ...
# The `!` makes gpg use exactly that (sub)key instead of picking one. swarmup
# also wants each signature to say what it signs: add
# `--sig-notation purpose@swarmup=manifest` (or =package, =keys) as needed.
#
# Clean up when done:
#   gpgconf --homedir "$GNUPGHOME" --kill all; rm -rf "$GNUPGHOME" OUTDIR
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)

GNUPGHOME=$(mktemp -d /tmp/swk.XXXXXX)
export GNUPGHOME
chmod 700 "$GNUPGHOME"
rm -f "$out/gnupg"
ln -s "$GNUPGHOME" "$out/gnupg"
revhome=""
cleanup() {
  gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1 || true
  if [ -n "$revhome" ]; then
    gpgconf --homedir "$revhome" --kill all >/dev/null 2>&1 || true
    rm -rf "$revhome"
  fi
}
trap cleanup EXIT

# No network, ever: these homes only hold local test keys.
cat >"$GNUPGHOME/gpg.conf" <<'EOF'
no-greeting
disable-dirmngr
no-auto-key-retrieve
no-auto-key-import
auto-key-locate local
trust-model always
EOF

g() { gpg --homedir "$GNUPGHOME" --batch --quiet "$@"; }

# gen NAME EMAIL WITH_SUBKEY [extra gpg args...] -> prints the primary fingerprint
gen() {
  local name=$1 email=$2 sub=$3 expire=$4
  shift 4
  {
    echo "%no-protection"
    echo "Key-Type: eddsa"
    echo "Key-Curve: ed25519"
    echo "Key-Usage: sign"
    if [ "$sub" = 1 ]; then
      echo "Subkey-Type: eddsa"
      echo "Subkey-Curve: ed25519"
      echo "Subkey-Usage: sign"
    fi
    echo "Name-Real: $name"
    echo "Name-Email: $email"
    echo "Expire-Date: $expire"
    echo "%commit"
  } | g "$@" --gen-key 2>"$GNUPGHOME/gen.err" || {
    # Say why (a test that fails here would otherwise end without a word).
    echo "mkkeys.sh: gpg --gen-key failed for $email:" >&2
    cat "$GNUPGHOME/gen.err" >&2
    exit 1
  }
  g --with-colons --list-keys "<$email>" | awk -F: '$1=="fpr"{print $10; exit}'
}
# second fingerprint (first subkey) of the key with EMAIL
subfpr() {
  g --with-colons --list-keys "<$1>" | awk -F: '$1=="fpr"{n++; if(n==2){print $10; exit}}'
}

A_FPR=$(gen "Swarmup Test Publisher" a@test.invalid 1 0)
A_SUB_FPR=$(subfpr a@test.invalid)
E_FPR=$(gen "Swarmup Second Publisher" e@test.invalid 0 0)
B_FPR=$(gen "Swarmup Untrusted" b@test.invalid 1 0)
B_SUB_FPR=$(subfpr b@test.invalid)
R_FPR=$(gen "Swarmup Revoked" r@test.invalid 0 0)
X_SIGN_TIME='20200102T000000!'
X_FPR=$(gen "Swarmup Expired" x@test.invalid 0 1y --faked-system-time '20200101T000000!')

g --armor --export "$A_FPR" >"$out/trusted.asc"
g --armor --export "$E_FPR" >"$out/second.asc"
g --armor --export "$B_FPR" >"$out/untrusted.asc"
g --armor --export "$X_FPR" >"$out/expired.asc"
g --armor --export-secret-keys "$B_FPR" >"$out/untrusted-secret.asc"

# gpg refuses to sign with a revoked key, so the revocation goes into a
# throw-away home and only the exported public key carries it.
revhome=$(mktemp -d /tmp/swk.XXXXXX)
chmod 700 "$revhome"
# (no trust-model always here: gpg then wants a trustdb to record the revocation)
grep -v "^trust-model" "$GNUPGHOME/gpg.conf" >"$revhome/gpg.conf"
g --export "$R_FPR" | gpg --homedir "$revhome" --batch --quiet --import 2>/dev/null
# gpg writes the certificate with a leading ':' guard on the armor line.
sed 's/^:-----BEGIN/-----BEGIN/' "$GNUPGHOME/openpgp-revocs.d/$R_FPR.rev" |
  gpg --homedir "$revhome" --batch --quiet --import 2>/dev/null
gpg --homedir "$revhome" --batch --quiet --armor --export "$R_FPR" >"$out/revoked.asc"
if ! gpg --homedir "$revhome" --batch --with-colons --list-keys "$R_FPR" | grep -q '^pub:r:'; then
  echo "mkkeys.sh: revocation of R did not take" >&2
  exit 1
fi

for v in A_FPR A_SUB_FPR E_FPR B_FPR B_SUB_FPR R_FPR X_FPR; do
  if ! [[ ${!v} =~ ^[0-9A-F]{40}$ ]]; then
    echo "mkkeys.sh: bad $v '${!v}'" >&2
    exit 1
  fi
done

{
  echo "GNUPGHOME=$GNUPGHOME"
  echo "A_FPR=$A_FPR"
  echo "A_SUB_FPR=$A_SUB_FPR"
  echo "E_FPR=$E_FPR"
  echo "B_FPR=$B_FPR"
  echo "B_SUB_FPR=$B_SUB_FPR"
  echo "R_FPR=$R_FPR"
  echo "X_FPR=$X_FPR"
  echo "X_SIGN_TIME='$X_SIGN_TIME'"
} >"$out/keys.env"
