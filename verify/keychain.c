/* keychain.c - the signature side of key statements (keys.h): which statement
 * may follow which, the anchor's own signature, and the keyring that manifests
 * are checked against.
 *
 * One rule for "known" signers, used by every check here: a signature on a key
 * statement must be good, say purpose@swarmup=keys, and be made by a key that
 * the statements involved NAME (Key or Next) and carry in their Keyring. Any
 * other signer (a key that is only in a Keyring, or in none) rejects the whole
 * statement, even when the thresholds are met without it: a statement is
 * small, signed on purpose by a handful of keys, and a stranger's signature on
 * it is a sign that something is wrong (keys.h, docs/keys.md). A named key
 * that holds no authority for this step (the current Key once a Next is
 * committed, a Next of the new statement) may co-sign; it is simply not
 * counted. Thresholds count distinct primary keys (pgp.c reports a subkey's
 * signature as its primary's). */
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every fingerprint two statements can name: Key and Next of each. */
#define KC_PIN_MAX (4u * SW_KEYS_FPR_MAX)

struct kc_pins {
  size_t n;
  char fpr[KC_PIN_MAX][41];
};

static void pins_add(struct kc_pins *s, const char (*list)[41], size_t n) {
  for (size_t i = 0; i < n && s->n < KC_PIN_MAX; i++)
    if (!sw_keys_has((const char(*)[41])s->fpr, s->n, list[i])) memcpy(s->fpr[s->n++], list[i], 41);
}

/* Distinct good signers of v that are in list[0..n). pgp.c records at most
 * SW_THRESHOLD_MAX signers: beyond that a signer goes uncounted, which can
 * only refuse (no threshold is above SW_THRESHOLD_MAX). */
static unsigned count_in(const sw_pgp_verdict *v, const char (*list)[41], size_t n) {
  unsigned got = 0, lim = v->n_good < SW_THRESHOLD_MAX ? v->n_good : SW_THRESHOLD_MAX;
  for (unsigned i = 0; i < lim; i++)
    if (sw_keys_has(list, n, v->signer[i])) got++;
  return got;
}

/* Check sig over buf[0..len) with a private home made from ring[0..ring_len),
 * pinning pins: every signature good, by a pinned key, purpose keys. On SW_OK
 * *v is an accepted verdict (threshold 1: the caller counts its own sets). */
static sw_err kc_check(unsigned long long n, const uint8_t *ring, size_t ring_len, const struct kc_pins *pins,
                       const uint8_t *buf, size_t len, const uint8_t *sig, size_t sig_len, sw_pgp_verdict *v,
                       char *msg, size_t msglen) {
  sw_err rc = SW_OK;
  sw_pgp *p = NULL;
  char why[SW_MSG_MAX] = "";

  memset(v, 0, sizeof *v);
  if (sig == NULL || sig_len == 0) {
    rc = sw_fail(SW_ERR_KEYS_SIG, msg, msglen, "key statement %llu rejected: no signature", n);
    goto out;
  }
  rc = sw_pgp_open_keyring(&p, ring, ring_len, pins->fpr, pins->n, why, sizeof why);
  if (rc == SW_ERR_CONFIG) {
    /* The keyring itself is bad: not OpenPGP, secret material, or a named key missing. */
    rc = sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "key statement %llu rejected: Keyring: %s", n, why);
    goto out;
  }
  if (rc != SW_OK) {
    rc = sw_fail(rc, msg, msglen, "key statement %llu could not be checked: %s", n, why);
    goto out;
  }
  rc = sw_pgp_verify_mem(p, SW_PGP_PURPOSE_KEYS, sig, sig_len, buf, len, 1, v);
  if (rc != SW_OK) {
    rc = sw_fail(rc, msg, msglen, "key statement %llu could not be checked: %s", n, v->reason);
    v->accepted = 0;
    goto out;
  }
  if (!v->accepted) {
    rc = sw_fail(SW_ERR_KEYS_SIG, msg, msglen, "key statement %llu rejected: %s", n, v->reason);
    goto out;
  }
out:
  sw_pgp_free(p);
  return rc;
}

sw_err sw_keys_open_signers(const sw_keys *k, sw_pgp **out, char *msg, size_t msglen) {
  sw_err rc = SW_OK;
  char why[SW_MSG_MAX] = "";

  if (out == NULL || k == NULL) return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_keys_open_signers: bad arguments");
  *out = NULL;
  if (k->n_key == 0)
    return sw_fail(SW_ERR_KEYS_POLICY, msg, msglen, "the publisher revoked all keys of %s", k->product);
  /* Key only: a Next key is in the Keyring too but signs no manifest until a
   * later statement names it as Key. */
  rc = sw_pgp_open_keyring(out, k->keyring, k->keyring_len, (const char(*)[41])k->key, k->n_key, why, sizeof why);
  if (rc == SW_ERR_CONFIG)
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "key statement %llu: Keyring: %s", (unsigned long long)k->version,
                   why);
  if (rc != SW_OK) return sw_fail(rc, msg, msglen, "key statement %llu: %s", (unsigned long long)k->version, why);
  return SW_OK;
}

/* Threshold distinct keys of k's own Key signed it (v: the verdict of kc_check). */
static sw_err own_keys_signed(const sw_keys *k, const sw_pgp_verdict *v, char *msg, size_t msglen) {
  unsigned got = count_in(v, (const char(*)[41])k->key, k->n_key);
  if (got >= k->threshold) return SW_OK;
  return sw_fail(SW_ERR_KEYS_SIG, msg, msglen,
                 "key statement %llu rejected: signed by %u of its own %zu keys, %u required",
                 (unsigned long long)k->version, got, k->n_key, k->threshold);
}

sw_err sw_keys_verify_next(const sw_keys *cur, const uint8_t *buf, size_t len, const uint8_t *sig, size_t sig_len,
                           sw_keys *out, char *msg, size_t msglen) {
  sw_err rc = SW_OK;
  struct kc_pins *pins = NULL;
  sw_pgp_verdict *v = NULL;
  uint8_t *ring = NULL;
  const char(*auth)[41] = NULL;
  size_t n_auth = 0;
  unsigned need = 0, got = 0;
  unsigned long long n = 0, c = 0;
  char why[SW_MSG_MAX] = "";

  if (cur == NULL || out == NULL || (buf == NULL && len > 0))
    return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_keys_verify_next: bad arguments");
  c = (unsigned long long)cur->version;
  if (cur->version == UINT64_MAX)
    return sw_fail(SW_ERR_KEYS_POLICY, msg, msglen, "key statement %llu is the last version: nothing can follow it", c);
  n = c + 1;
  rc = sw_keys_parse(buf, len, out, why, sizeof why);
  if (rc != SW_OK) {
    rc = sw_fail(rc, msg, msglen, "key statement %llu rejected: %s", n, why);
    goto out;
  }
  /* Cheap, signature-free checks first: they need no gpg. */
  if (strcmp(out->product, cur->product) != 0) {
    rc = sw_fail(SW_ERR_KEYS_POLICY, msg, msglen, "key statement %llu rejected: product %s is not %s", n,
                 out->product, cur->product);
    goto out;
  }
  if (out->version != cur->version + 1) {
    rc = sw_fail(SW_ERR_KEYS_POLICY, msg, msglen, "key statement %llu rejected: version %llu does not follow %llu", n,
                 (unsigned long long)out->version, c);
    goto out;
  }
  /* Rotation authority: the pre-committed Next keys when there are any (a
   * thief of the current keys cannot rotate), else the current Key. */
  if (cur->n_next > 0) {
    auth = (const char(*)[41])cur->next;
    n_auth = cur->n_next;
    need = cur->next_threshold;
  } else {
    auth = (const char(*)[41])cur->key;
    n_auth = cur->n_key;
    need = cur->threshold;
  }
  if (n_auth == 0) {
    rc = sw_fail(SW_ERR_KEYS_POLICY, msg, msglen,
                 "key statement %llu rejected: statement %llu revoked all keys of %s and committed no next key, so "
                 "nothing can follow it",
                 n, c, cur->product);
    goto out;
  }
  pins = calloc(1, sizeof *pins);
  v = calloc(1, sizeof *v);
  ring = malloc(cur->keyring_len + out->keyring_len + 1);
  if (pins == NULL || v == NULL || ring == NULL) {
    rc = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
    goto out;
  }
  pins_add(pins, (const char(*)[41])cur->key, cur->n_key);
  pins_add(pins, (const char(*)[41])cur->next, cur->n_next);
  pins_add(pins, (const char(*)[41])out->key, out->n_key);
  pins_add(pins, (const char(*)[41])out->next, out->n_next);
  /* One home from both keyrings: the signers that count come from cur's (its
   * Key or Next) and from the new statement's (its own Key). A key in both is
   * merged by gpg; a copy in the new keyring cannot alter a key without its
   * owner's self-signatures. */
  memcpy(ring, cur->keyring, cur->keyring_len);
  memcpy(ring + cur->keyring_len, out->keyring, out->keyring_len);
  rc = kc_check(n, ring, cur->keyring_len + out->keyring_len, pins, buf, len, sig, sig_len, v, msg, msglen);
  if (rc != SW_OK) goto out;
  got = count_in(v, auth, n_auth);
  if (got < need) {
    rc = sw_fail(SW_ERR_KEYS_SIG, msg, msglen,
                 "key statement %llu rejected: signed by %u of the %zu %s of statement %llu, %u required", n, got,
                 n_auth, cur->n_next > 0 ? "pre-committed next keys" : "keys", c, need);
    goto out;
  }
  /* Its own keys must sign too: a statement names only keys whose holders
   * agreed. None when it names no Key (a rotation to null). */
  if (out->n_key > 0) rc = own_keys_signed(out, v, msg, msglen);
out:
  free(ring);
  free(v);
  free(pins);
  return rc;
}

sw_err sw_keys_verify_anchor(const uint8_t *buf, size_t len, const uint8_t *sig, size_t sig_len, sw_keys *out,
                             char *msg, size_t msglen) {
  sw_err rc = SW_OK;
  struct kc_pins *pins = NULL;
  sw_pgp_verdict *v = NULL;
  unsigned long long n = 0;
  char why[SW_MSG_MAX] = "";

  if (out == NULL || (buf == NULL && len > 0))
    return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_keys_verify_anchor: bad arguments");
  rc = sw_keys_parse(buf, len, out, why, sizeof why);
  if (rc != SW_OK) {
    rc = sw_fail(rc, msg, msglen, "anchor key statement rejected: %s", why);
    goto out;
  }
  n = (unsigned long long)out->version;
  /* Nothing could sign it, so nothing would show it is the publisher's. */
  if (out->n_key == 0) {
    rc = sw_fail(SW_ERR_KEYS_POLICY, msg, msglen, "key statement %llu rejected: an anchor must name at least one Key",
                 n);
    goto out;
  }
  pins = calloc(1, sizeof *pins);
  v = calloc(1, sizeof *v);
  if (pins == NULL || v == NULL) {
    rc = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
    goto out;
  }
  pins_add(pins, (const char(*)[41])out->key, out->n_key);
  pins_add(pins, (const char(*)[41])out->next, out->n_next);
  rc = kc_check(n, out->keyring, out->keyring_len, pins, buf, len, sig, sig_len, v, msg, msglen);
  if (rc != SW_OK) goto out;
  rc = own_keys_signed(out, v, msg, msglen);
out:
  free(v);
  free(pins);
  return rc;
}
