/* pgp.c - OpenPGP signature checks through gpgme against pinned keys only.
 *
 * Trust rules (the policy, written down rather than left to gpg):
 *  - The private home holds only the keys the caller pinned, so gpg's web of
 *    trust says nothing useful: the home uses `trust-model always` (which also
 *    stops gpg from building a trustdb on every call) and this file makes its
 *    own decision from the fingerprint, the key's flags and the hash algorithm.
 *    gpg's summary VALID/GREEN is never what makes a signature count.
 *  - A signature counts only if gpgme reports GPG_ERR_NO_ERROR, the summary has
 *    none of RED, KEY_REVOKED, KEY_EXPIRED, SIG_EXPIRED, KEY_MISSING,
 *    CRL_MISSING, CRL_TOO_OLD, BAD_POLICY, SYS_ERROR, the key usage is right,
 *    the hash is not MD5, SHA-1 or RIPEMD-160, and the signing (sub)key belongs
 *    to a pinned primary, can sign, and neither it nor the primary is revoked,
 *    expired, disabled or invalid *now* (a signature made before a revocation
 *    or expiry is still refused: we cannot tell when it was really made).
 *  - Any signature in the set that fails rejects the whole set. The count is of
 *    distinct pinned primaries, so a primary and its subkey count once.
 *  - Before gpg sees them, signature bytes must be nothing but v4 OpenPGP
 *    signature packets of class 0x00 (binary document), either raw or inside
 *    `-----BEGIN PGP SIGNATURE-----` armor. A clearsigned or inline-signed
 *    message handed over as a "detached signature" makes gpg verify the text
 *    embedded in it instead of our data; refusing every other packet type
 *    closes that door. A text-mode signature (0x01) binds a line-ending-
 *    canonicalised form rather than the exact bytes, so it is refused too.
 *  - Finally, gpg must report exactly as many signatures as there were packets.
 *  - gpg is given a one-pass signed message built around the data (see "the
 *    message gpg is given" below) rather than the detached form: same
 *    verdicts, and gpg hashes it 4x faster.
 */
#include "pgp_int.h"
#include "verify_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sw_err verify_data(sw_pgp *p, sw_pgp_purpose purpose, const uint8_t *sig, size_t sig_len, uint64_t size,
                          sw_pgp_read_fn rd, void *rd_arg, unsigned threshold, sw_pgp_verdict *v) {
  sw_err rc = SW_OK;
  gpgme_ctx_t ctx = NULL;
  gpgme_data_t md = NULL;
  gpgme_error_t e;
  gpgme_verify_result_t vr = NULL;
  struct gpgme_data_cbs in_cbs;
  struct sig_scan *sc = NULL;
  struct framer *f = NULL;
  uint8_t *bin = NULL;
  size_t bin_len = 0;
  unsigned n_packets, n_sigs = 0;
  int counted[SW_PGP_MAX_KEYS] = {0};
  char fprs[SW_PGP_SIGS_MAX][41];
  int reusable = 0;
  char emsg[SW_MSG_MAX];

  sc = malloc(sizeof *sc);
  f = malloc(sizeof *f);
  if (sc == NULL || f == NULL) {
    rc = sw_fail(SW_ERR_NOMEM, v->reason, sizeof v->reason, "out of memory");
    goto out;
  }
  n_packets = sw_pgp__precheck_signature(sig, sig_len, sc, &bin, &bin_len, v->reason, sizeof v->reason);
  if (n_packets == 0) goto out; /* rejected before gpg */
  if (sw_pgp__check_purpose(sc, purpose, v->reason, sizeof v->reason) != 0) goto out;
  v->reason[0] = '\0';
  rc = sw_pgp__take_ctx(p, &ctx, emsg, sizeof emsg);
  if (rc != SW_OK) {
    sw_fail(rc, v->reason, sizeof v->reason, "%s", emsg);
    goto out;
  }
  sw_pgp__framer_init(f, sc, bin, bin_len, size, rd, rd_arg);
  memset(&in_cbs, 0, sizeof in_cbs);
  in_cbs.read = sw_pgp__framer_read;
  /* gpgme does not copy the message into gpg's pipe: we do
   * (sw_pgp__verify_pumped), because gpgme 1.18 formats every byte it writes
   * for its trace log even with tracing off (docs/cpu.md). */
  e = gpgme_data_new_from_cbs(&md, &in_cbs, f);
  if (e) {
    rc = sw_fail(SW_ERR_PGP_ENGINE, v->reason, sizeof v->reason, "gpgme data: %s", gpgme_strerror(e));
    goto out;
  }
  /* No plaintext object: gpgme then runs `gpg --verify` on the message
   * instead of `--output -`, so gpg does not write the data back and gpgme
   * does not read and discard it: 0.8 CPU-seconds less per 512 MiB
   * (docs/cpu.md). gpg checks the one-pass message the same way; that it
   * read all of it is checked below (f->stage). */
  e = sw_pgp__verify_pumped(ctx, md, f);
  /* A verify that ran to its end leaves the context fit for the next one. */
  reusable = !e && !f->failed;
  vr = gpgme_op_verify_result(ctx);
  if (f->failed) {
    rc = sw_fail(SW_ERR_IO, v->reason, sizeof v->reason, "reading the signed data failed");
    goto out;
  }
  if (f->short_data) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "the signed data ended after %llu of %llu bytes",
            (unsigned long long)f->data_done, (unsigned long long)f->size);
    goto out;
  }
  if (e) {
    switch (gpg_err_code(e)) {
    case GPG_ERR_NO_DATA:
      sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "no signature found");
      break;
    case GPG_ERR_BAD_DATA:
    case GPG_ERR_INV_PACKET:
    case GPG_ERR_BAD_SIGNATURE:
      sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signature not accepted: %s",
              gpgme_strerror(e));
      break;
    default:
      rc = sw_fail(SW_ERR_PGP_ENGINE, v->reason, sizeof v->reason, "gpg verify failed: %s",
                   gpgme_strerror(e));
      break;
    }
    goto out;
  }
  if (f->stage != 3) {
    /* gpg stopped before the end of the message it was given. */
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "gpg did not read the whole signed data");
    goto out;
  }
  if (vr == NULL || vr->signatures == NULL) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "no signature found");
    goto out;
  }
  /* First what gpg reports of each signature, then the key behind each: a
   * key is listed on this same context, which ends the verify result. */
  for (gpgme_signature_t s = vr->signatures; s; s = s->next) {
    if (++n_sigs > n_packets) break;
    if (sw_pgp__judge_sig(ctx, s, v) != 0) goto out; /* vr may be gone */
    if (sw_pgp__check_purpose_gpg(s, purpose, v) != 0) goto out;
    if (!sw_pgp__is_hex40(s->fpr)) {
      sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason,
              "signature by key 0x%s: no full fingerprint reported", s->fpr ? s->fpr : "?");
      goto out;
    }
    memcpy(fprs[n_sigs - 1], s->fpr, 41);
  }
  vr = NULL;
  if (n_sigs != n_packets) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason,
            "gpg reported %s%u signatures for %u signature packets", n_sigs > n_packets ? "more than " : "",
            n_sigs > n_packets ? n_packets : n_sigs, n_packets);
    goto out;
  }
  for (unsigned i = 0; i < n_sigs; i++) {
    int idx = sw_pgp__check_signer(p, ctx, fprs[i], v);
    if (idx < 0) goto out;
    if (!counted[idx]) {
      counted[idx] = 1;
      if (v->n_good < SW_THRESHOLD_MAX) memcpy(v->signer[v->n_good], p->pinned[idx], 41);
      v->n_good++;
    }
  }
  if (v->n_good < threshold) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason,
            "%u distinct trusted signer%s, %u required", v->n_good, v->n_good == 1 ? "" : "s", threshold);
    goto out;
  }
  v->reason[0] = '\0';
  v->accepted = 1;
out:
  if (!v->accepted && v->reason[0] == '\0')
    snprintf(v->reason, sizeof v->reason, "signature not accepted");
  gpgme_data_release(md);
  if (reusable)
    sw_pgp__give_ctx(p, ctx);
  else
    gpgme_release(ctx);
  free(bin);
  free(f);
  free(sc);
  return rc;
}

static sw_err verdict_init(sw_pgp *p, sw_pgp_purpose purpose, const uint8_t *sig, unsigned threshold,
                           sw_pgp_verdict *v) {
  if (v == NULL) return SW_ERR_USAGE;
  memset(v, 0, sizeof *v);
  if (p == NULL || (sig == NULL))
    return sw_fail(SW_ERR_USAGE, v->reason, sizeof v->reason, "sw_pgp_verify: bad arguments");
  if (purpose != SW_PGP_PURPOSE_MANIFEST && purpose != SW_PGP_PURPOSE_KEYS && purpose != SW_PGP_PURPOSE_PACKAGE)
    return sw_fail(SW_ERR_USAGE, v->reason, sizeof v->reason, "sw_pgp_verify: unknown purpose %d",
                   (int)purpose);
  if (threshold < 1 || threshold > SW_THRESHOLD_MAX)
    return sw_fail(SW_ERR_USAGE, v->reason, sizeof v->reason, "threshold %u is not in 1..%u", threshold,
                   SW_THRESHOLD_MAX);
  return SW_OK;
}

struct mem_src {
  const uint8_t *d;
  size_t len, pos;
};

static ssize_t mem_read(void *arg, uint8_t *buf, size_t len) {
  struct mem_src *m = arg;
  size_t n = m->len - m->pos;
  if (n > len) n = len;
  if (n) memcpy(buf, m->d + m->pos, n);
  m->pos += n;
  return (ssize_t)n;
}

sw_err sw_pgp_verify_mem(sw_pgp *p, sw_pgp_purpose purpose, const uint8_t *sig, size_t sig_len,
                         const uint8_t *data, size_t data_len, unsigned threshold, sw_pgp_verdict *v) {
  sw_err rc;
  struct mem_src m = {data, data_len, 0};
  static const uint8_t empty[1] = {0};
  rc = verdict_init(p, purpose, sig ? sig : empty, threshold, v);
  if (rc != SW_OK) return rc;
  if (data == NULL && data_len > 0)
    return sw_fail(SW_ERR_USAGE, v->reason, sizeof v->reason, "sw_pgp_verify_mem: NULL data");
  return verify_data(p, purpose, sig ? sig : empty, sig ? sig_len : 0, (uint64_t)data_len, mem_read, &m,
                     threshold, v);
}

sw_err sw_pgp_verify_stream(sw_pgp *p, sw_pgp_purpose purpose, const uint8_t *sig, size_t sig_len,
                            uint64_t size, sw_pgp_read_fn rd, void *rd_arg, unsigned threshold,
                            sw_pgp_verdict *v) {
  sw_err rc;
  static const uint8_t empty[1] = {0};
  rc = verdict_init(p, purpose, sig ? sig : empty, threshold, v);
  if (rc != SW_OK) return rc;
  if (rd == NULL) return sw_fail(SW_ERR_USAGE, v->reason, sizeof v->reason, "sw_pgp_verify_stream: no reader");
  rc = verify_data(p, purpose, sig ? sig : empty, sig ? sig_len : 0, size, rd, rd_arg, threshold, v);
  if (rc != SW_OK) {
    v->accepted = 0;
    v->n_good = 0;
  }
  return rc;
}
