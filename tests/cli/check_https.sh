#!/usr/bin/env bash
# `swarmup check` and `verify` read the manifest and its signature over HTTPS from
# a real nginx (test CA made here), refuse plain http://, an untrusted
# certificate and an oversize body, and treat a missing .sig as a rejection.
. "$(dirname "$0")/lib.sh" "$1"

sw_keys
sw_release "$T/rel" hello-1.0.tar.gz 50000
K=$T/keys
N=$T/nginx
mkdir -p "$N"
sw_nginx "$N"
PORT=$(cat "$N/port")
HPORT=$(cat "$N/http_port")
W=$N/www
sw_manifest "$W/hello.manifest"
gpg --homedir "$GNUPGHOME" --batch --yes --quiet --armor --sig-notation purpose@swarmup=manifest -u "$A_FPR!" --detach-sign -o "$W/hello.manifest.sig" "$W/hello.manifest"
cp "$W/hello.manifest" "$W/nosig.manifest"
head -c 70000 /dev/zero | tr '\0' 'a' >"$W/huge.manifest"
cp "$W/hello.manifest.sig" "$W/huge.manifest.sig"

c() { "$SWARMUP" check --trusted-key "$K/trusted.asc" --product hello --state-dir "$T/st" "$@"; }

expect check_reads_manifest_over_https 100 "update available: hello 1.0" -- c --manifest "$U/hello.manifest" --ca-file "$N/ca.pem"
ok https_fetch_also_fetched_sig grep -q "GET /hello.manifest.sig" "$N/access.log"
# These transport failures are exit 4 with nothing accepted before (empty state dir); with an
# accepted manifest they are "stale", exit 6 (tests/cli/attack_clock.sh).
expect check_refuses_untrusted_certificate 4 "TLS" -- c --manifest "$U/hello.manifest" --state-dir "$T/st-none"
expect check_refuses_plain_http_manifest 2 "non-HTTPS" -- c --manifest "http://127.0.0.1:$HPORT/hello.manifest" --ca-file "$N/ca.pem"
ok plain_http_was_never_contacted sh -c "! grep -q ' $HPORT ' '$N/access.log'"
expect check_refuses_redirect_to_http 4 "" -- \
  c --manifest "$U/redirect-http/hello.manifest" --ca-file "$N/ca.pem" --state-dir "$T/st-none"
expect check_missing_remote_signature_is_rejection 3 "manifest rejected: no usable signature" -- \
  c --manifest "$U/nosig.manifest" --ca-file "$N/ca.pem"
expect check_refuses_oversize_remote_manifest 3 "manifest rejected: .*65536-byte limit" -- \
  c --manifest "$U/huge.manifest" --ca-file "$N/ca.pem"
# With nothing accepted before, a 404 is an outage (with an accepted manifest it is "stale": attack_clock.sh).
expect check_missing_remote_manifest_is_download_failure 4 "404" -- \
  c --manifest "$U/none.manifest" --ca-file "$N/ca.pem" --state-dir "$T/st-none"
expect check_manifest_sig_from_other_url 100 "" -- \
  c --manifest "$U/nosig.manifest" --manifest-sig "$U/hello.manifest.sig" --ca-file "$N/ca.pem"
expect verify_reads_manifest_over_https 0 "^ok: " -- \
  "$SWARMUP" verify --manifest "$U/hello.manifest" --ca-file "$N/ca.pem" --trusted-key "$K/trusted.asc" --product hello "$T/rel/hello-1.0.tar.gz"

sw_done
