/* pgp_judge.c - whether one signature gpg reports counts: our own decision from the
 * status, summary, hash algorithm and the pinned key behind it (rules in pgp.c). */
#include "pgp_int.h"
#include "verify_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------- verification ---------- */

static void fmt_date(long t, char out[32]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
    snprintf(out, 32, "an unknown date");
    return;
  }
  strftime(out, 32, "%Y-%m-%d", &tm);
}

static const char *hash_name(gpgme_hash_algo_t h) {
  switch (h) {
  case GPGME_MD_MD5: return "MD5";
  case GPGME_MD_SHA1: return "SHA1";
  case GPGME_MD_RMD160: return "RIPEMD160";
  default: return gpgme_hash_algo_name(h) ? gpgme_hash_algo_name(h) : "an unknown hash";
  }
}

gpgme_error_t sw_pgp__get_key(gpgme_ctx_t ctx, const char *fpr, gpgme_key_t *r_key) {
  gpgme_key_t result = NULL, key = NULL;
  gpgme_error_t e;
  *r_key = NULL;
  e = gpgme_op_keylist_start(ctx, fpr, 0);
  if (!e) e = gpgme_op_keylist_next(ctx, &result);
  while (!e) {
    e = gpgme_op_keylist_next(ctx, &key);
    if (gpgme_err_code(e) == GPG_ERR_EOF) {
      e = 0;
      break;
    }
    if (e) break;
    /* The same fingerprint twice is one key listed twice (as gpgme_get_key). */
    int same = result->subkeys && result->subkeys->fpr && key->subkeys && key->subkeys->fpr &&
               strcmp(result->subkeys->fpr, key->subkeys->fpr) == 0;
    gpgme_key_unref(key);
    key = NULL;
    if (!same) e = gpg_error(GPG_ERR_AMBIGUOUS_NAME);
  }
  (void)gpgme_op_keylist_end(ctx);
  if (e) {
    gpgme_key_unref(result);
    return e;
  }
  *r_key = result;
  return 0;
}

int sw_pgp__check_signer(sw_pgp *p, gpgme_ctx_t ctx, const char *fpr, sw_pgp_verdict *v) {
  gpgme_key_t key = NULL;
  gpgme_subkey_t sk = NULL, primary = NULL;
  gpgme_error_t e;
  int idx = -1;
  char date[32];

  e = sw_pgp__get_key(ctx, fpr, &key);
  if (e || key == NULL || key->subkeys == NULL) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signature by untrusted key 0x%s", fpr);
    goto out;
  }
  primary = key->subkeys;
  for (sk = key->subkeys; sk; sk = sk->next)
    if (sk->fpr && strcmp(sk->fpr, fpr) == 0) break;
  if (sk == NULL || !sw_pgp__is_hex40(primary->fpr) || sw_pgp__pinned_index(p, primary->fpr) < 0) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signature by untrusted key 0x%s", fpr);
    goto out;
  }
  if (key->revoked || primary->revoked || sk->revoked) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s is revoked", fpr);
    goto out;
  }
  if (key->expired || primary->expired || sk->expired) {
    fmt_date(sk->expired ? sk->expires : primary->expires, date);
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s expired on %s", fpr, date);
    goto out;
  }
  if (key->disabled || key->invalid || primary->invalid || sk->invalid || primary->disabled || sk->disabled) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s is invalid or disabled", fpr);
    goto out;
  }
  if (!sk->can_sign) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "key 0x%s is not a signing key", fpr);
    goto out;
  }
  /* Small RSA/DSA keys are as weak as the hashes we refuse. */
  if ((sk->pubkey_algo == GPGME_PK_RSA || sk->pubkey_algo == GPGME_PK_RSA_S ||
       sk->pubkey_algo == GPGME_PK_DSA) &&
      sk->length < 2048) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s is only %u bits", fpr,
            sk->length);
    goto out;
  }
  idx = sw_pgp__pinned_index(p, primary->fpr);
out:
  gpgme_key_unref(key);
  return idx;
}

static const gpgme_sigsum_t SW_BAD_SUMMARY =
    GPGME_SIGSUM_RED | GPGME_SIGSUM_KEY_REVOKED | GPGME_SIGSUM_KEY_EXPIRED | GPGME_SIGSUM_SIG_EXPIRED |
    GPGME_SIGSUM_KEY_MISSING | GPGME_SIGSUM_CRL_MISSING | GPGME_SIGSUM_CRL_TOO_OLD |
    GPGME_SIGSUM_BAD_POLICY | GPGME_SIGSUM_SYS_ERROR;

int sw_pgp__judge_sig(gpgme_ctx_t ctx, gpgme_signature_t s, sw_pgp_verdict *v) {
  char fpr[48];
  char date[32];
  gpgme_key_t key = NULL;
  long exp = 0;

  /* A copy: listing a key below ends the result s points into. */
  snprintf(fpr, sizeof fpr, "%s", s->fpr ? s->fpr : "?");
  /* Hash first: a weak hash is refused whatever gpg thought of it. */
  if (s->hash_algo == GPGME_MD_MD5 || s->hash_algo == GPGME_MD_SHA1 || s->hash_algo == GPGME_MD_RMD160) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason,
            "signature by key 0x%s uses %s, which is not accepted", fpr, hash_name(s->hash_algo));
    return -1;
  }
  switch (gpg_err_code(s->status)) {
  case GPG_ERR_NO_ERROR:
    break;
  case GPG_ERR_BAD_SIGNATURE:
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "bad signature from key 0x%s", fpr);
    return -1;
  case GPG_ERR_NO_PUBKEY:
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signature by untrusted key 0x%s", fpr);
    return -1;
  case GPG_ERR_CERT_REVOKED:
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s is revoked", fpr);
    return -1;
  case GPG_ERR_KEY_EXPIRED:
    if (sw_pgp__is_hex40(fpr) && sw_pgp__get_key(ctx, fpr, &key) == 0 && key) {
      for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next)
        if (sk->expired && (exp == 0 || sk->fpr == NULL || strcmp(sk->fpr, fpr) == 0)) exp = sk->expires;
      gpgme_key_unref(key);
    }
    fmt_date(exp, date);
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s expired on %s", fpr, date);
    return -1;
  case GPG_ERR_SIG_EXPIRED:
    fmt_date((long)s->exp_timestamp, date);
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signature by key 0x%s expired on %s", fpr,
            date);
    return -1;
  default:
    /* Fail closed on every status we do not know to be good. */
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signature by key 0x%s not accepted: %s", fpr,
            gpgme_strerror(s->status));
    return -1;
  }
  if (s->summary & SW_BAD_SUMMARY) {
    if (s->summary & GPGME_SIGSUM_KEY_REVOKED)
      sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s is revoked", fpr);
    else if (s->summary & GPGME_SIGSUM_KEY_EXPIRED)
      sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s has expired", fpr);
    else
      sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason,
              "signature by key 0x%s not accepted (gpg summary 0x%x)", fpr, (unsigned)s->summary);
    return -1;
  }
  if (s->wrong_key_usage) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "key 0x%s is not allowed to sign", fpr);
    return -1;
  }
  return 0;
}
