/* pubkeys_sign.c - `swarmup-publish keys sign` on the offline machine: a
 * checklist (what changes, who must sign under the rules the client applies,
 * whether the given keys can), confirmation, then one signature packet per
 * key with purpose@swarmup=keys (pubgpg.h), checked as the client would
 * before it is kept. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "manifest.h"
#include "pgp.h"
#include "pubgpg.h"
#include "pubkeys.h"
#include "pubutil.h"

/* Check what gpg just wrote as the client's verifier (pgp.h) would: every
 * packet good, by one of the given keys (exported again from the gpg home:
 * the fingerprint binds the key, so it is the statement's key), each with
 * purpose@swarmup=keys, and every given key among the signers. The rules
 * were judged on that key set before signing; this catches gpg signing with
 * something else (a wrong subkey, no notation). */
static int self_check(const char *homedir, const char *draft, const char *sig_path, const char (*signers)[41],
                      size_t n_signers) {
  char msg[SW_MSG_MAX];
  uint8_t *data = NULL, *sig = NULL, *ring = NULL;
  size_t data_len = 0, sig_len = 0, ring_len = 0;
  sw_pgp *p = NULL;
  sw_pgp_verdict *v = NULL;
  int rc = 1;
  sw_err err;
  ring = malloc(SW_KEYS_KEYRING_MAX);
  v = calloc(1, sizeof *v);
  if (ring == NULL || v == NULL) {
    rc = sw__pub_die(1, "out of memory");
    goto out;
  }
  rc = sw__pub_keys_export(homedir, signers, n_signers, ring, SW_KEYS_KEYRING_MAX, &ring_len);
  if (rc) goto out;
  rc = 1;
  err = sw_fs_read_file(draft, SW_KEYS_STMT_MAX, SW_ERR_IO, &data, &data_len, msg, sizeof msg);
  if (!err) err = sw_fs_read_file(sig_path, SW_MANIFEST_SIG_MAX, SW_ERR_IO, &sig, &sig_len, msg, sizeof msg);
  if (!err) err = sw_pgp_open_keyring(&p, ring, ring_len, signers, n_signers, msg, sizeof msg);
  if (err) {
    rc = sw__pub_die(1, "checking the signature: %s", msg);
    goto out;
  }
  err = sw_pgp_verify_mem(p, SW_PGP_PURPOSE_KEYS, sig, sig_len, data, data_len, (unsigned)n_signers, v);
  if (err || !v->accepted) {
    rc = sw__pub_die(1, "the signature gpg wrote does not verify as a key statement signature: %s", v->reason);
    goto out;
  }
  rc = 0;
out:
  sw_pgp_free(p);
  free(ring);
  free(data);
  free(sig);
  free(v);
  return rc;
}

/* One signing rule: need distinct signers among set[0..n). */
typedef struct sign_rule {
  const char (*set)[41];
  size_t n;
  unsigned need;
  char what[96];
} sign_rule;

static unsigned rule_met(const sign_rule *r, const char (*signers)[41], size_t n_signers) {
  unsigned c = 0;
  for (size_t i = 0; i < n_signers; i++) c += (unsigned)sw_keys_has(r->set, r->n, signers[i]);
  return c;
}

static void print_key(const char *mark, const char *fpr, const sw__pub_ring_list *a, const sw__pub_ring_list *b,
                      const char *note) {
  const sw__pub_ring_key *r = sw__pub_keys_ring_find(a, fpr);
  if (r == NULL && b) r = sw__pub_keys_ring_find(b, fpr);
  fprintf(stderr, "                %s %s  %s%s\n", mark, fpr, r && r->uid[0] ? r->uid : "", note);
}

int sw__pub_keys_sign(sw__pub_keys_opts *o) {
  char dir[2048], prev_path[2300], sig_path[4200], when[21], expires[21];
  char signers[SW_KEYS_FPR_MAX][41];
  const char *signer_ptr[SW_KEYS_FPR_MAX];
  size_t n_signers = 0, n_rules = 0;
  sw_keys *k = NULL, *prev = NULL;
  sw__pub_ring_list *rl = NULL, *prl = NULL;
  sign_rule rules[2];
  int64_t now = (int64_t)time(NULL);
  int rc = 1, have_prev = 0, ok = 1;
  struct stat st;

  if (o->draft == NULL || o->n_key == 0)
    return sw__pub_die(2, "keys sign needs --draft and --key (see keys sign --help)");
  for (size_t i = 0; i < o->n_key; i++) {
    rc = sw__pub_keys_add_fpr(signers, &n_signers, o->key[i], "--key");
    if (rc) return rc;
  }
  k = calloc(1, sizeof *k);
  prev = calloc(1, sizeof *prev);
  rl = calloc(1, sizeof *rl);
  prl = calloc(1, sizeof *prl);
  if (k == NULL || prev == NULL || rl == NULL || prl == NULL) {
    rc = sw__pub_die(1, "out of memory");
    goto out;
  }
  rc = sw__pub_keys_read(o->draft, k);
  if (rc) goto out;
  if (k->expires <= now) {
    sw_manifest_format_time(k->expires, when);
    rc = sw__pub_die(2, "the draft expired at %s: make a fresh one", when);
    goto out;
  }
  rc = sw__pub_keys_check_ring(o->homedir, k, rl);
  if (rc) goto out;
  sw__pub_dir_of(o->draft, dir, sizeof dir);
  if (k->version > 1) {
    snprintf(prev_path, sizeof prev_path, "%s/%" PRIu64 ".keys", dir, k->version - 1);
    if (stat(prev_path, &st) == 0) {
      rc = sw__pub_keys_read(prev_path, prev);
      if (rc) goto out;
      if (prev->version != k->version - 1 || strcmp(prev->product, k->product) != 0) {
        rc = sw__pub_die(2, "%s is statement %" PRIu64 " of %s, not the predecessor of this draft", prev_path,
                         prev->version, prev->product);
        goto out;
      }
      rc = sw__pub_keys_list(o->homedir, prev->keyring, prev->keyring_len, prl);
      if (rc) goto out;
      have_prev = 1;
    }
  }

  /* The rules the client applies (verify/keys.h, sw_keys_verify_next). */
  if (have_prev && prev->n_next > 0) {
    rules[n_rules] = (sign_rule){prev->next, prev->n_next, prev->next_threshold, ""};
    snprintf(rules[n_rules++].what, sizeof rules[0].what, "of the Next keys of statement %" PRIu64, prev->version);
  } else if (have_prev) {
    rules[n_rules] = (sign_rule){prev->key, prev->n_key, prev->threshold, ""};
    snprintf(rules[n_rules++].what, sizeof rules[0].what, "of the Key keys of statement %" PRIu64, prev->version);
  }
  if (k->n_key > 0) {
    rules[n_rules] = (sign_rule){k->key, k->n_key, k->threshold, ""};
    snprintf(rules[n_rules++].what, sizeof rules[0].what, "of its own Key keys");
  }

  sw_manifest_format_time(k->date, when);
  sw_manifest_format_time(k->expires, expires);
  fprintf(stderr, "About to sign key statement %s:\n", o->draft);
  fprintf(stderr, "  [ ] Product     %s\n", k->product);
  if (k->version == 1)
    fprintf(stderr, "  [ ] Version     1: the anchor (shipped with the application, trusted as installed)\n");
  else if (have_prev)
    fprintf(stderr, "  [ ] Version     %" PRIu64 ", follows %s\n", k->version, prev_path);
  else
    fprintf(stderr,
            "  [ ] Version     %" PRIu64 "; WARNING: %s is not beside the draft, so neither the changes nor\n"
            "                  the rule of statement %" PRIu64 " can be shown: only its own rule is checked\n",
            k->version, prev_path, k->version - 1);
  fprintf(stderr, "  [ ] Date        %s, Expires %s (%" PRId64 " days from now)\n", when, expires,
          (k->expires - now) / 86400);
  if (k->n_key == 0)
    fprintf(stderr, "  [ ] Key         NONE: every manifest of %s will be refused (the product is frozen until a\n"
                    "                  later statement, signed by the Next keys, names new keys)\n",
            k->product);
  else
  {
    char was[32] = "";
    if (have_prev && prev->threshold != k->threshold) snprintf(was, sizeof was, " (CHANGED, was %u)", prev->threshold);
    fprintf(stderr, "  [ ] Key         Threshold %u%s: that many of these must sign each manifest:\n", k->threshold,
            was);
  }
  for (size_t i = 0; i < k->n_key; i++) {
    int added = k->version == 1 || (have_prev && !sw_keys_has(prev->key, prev->n_key, k->key[i]));
    print_key(added ? "+" : have_prev ? "=" : " ", k->key[i], rl, NULL, added ? "  (added)" : "");
  }
  if (have_prev) {
    int any = 0;
    for (size_t i = 0; i < prev->n_key; i++)
      if (!sw_keys_has(k->key, k->n_key, prev->key[i])) {
        if (!any) fprintf(stderr, "  [ ] Dropped     no longer trusted for manifests:\n");
        any = 1;
        print_key("-", prev->key[i], prl, rl, "  (dropped)");
      }
    if (!any) fprintf(stderr, "  [ ] Dropped     none\n");
  }
  if (k->n_next == 0)
    fprintf(stderr, "  [ ] Next        none: statement %" PRIu64 " will need %u of the Key keys above\n",
            k->version + 1, k->threshold);
  else
    fprintf(stderr,
            "  [ ] Next        Next-Threshold %u: that many of these must sign statement %" PRIu64
            " (the Key keys alone cannot):\n",
            k->next_threshold, k->version + 1);
  for (size_t i = 0; i < k->n_next; i++) print_key(" ", k->next[i], rl, NULL, "");
  if (k->n_floor == 0) fprintf(stderr, "  [ ] Floors      none (no channel's accepted sequence changes)\n");
  for (size_t i = 0; i < k->n_floor; i++)
    fprintf(stderr, "  [ ] Floor       %s=%" PRIu64 ": every client's accepted sequence of %s becomes %" PRIu64
                    ", even downwards\n",
            k->floor[i].channel, k->floor[i].sequence, k->floor[i].channel, k->floor[i].sequence);
  fprintf(stderr, "  [ ] Must sign   (good signatures from distinct keys, purpose@swarmup=keys)\n");
  for (size_t i = 0; i < n_rules; i++) {
    unsigned got = rule_met(&rules[i], (const char(*)[41])signers, n_signers);
    fprintf(stderr, "                %u %s: %s by the keys given (%u of them)\n", rules[i].need, rules[i].what,
            got >= rules[i].need ? "met" : "NOT MET", got);
    if (got < rules[i].need) ok = 0;
  }
  if (n_rules == 0) fprintf(stderr, "                nothing (no own Key and no previous statement here)\n");
  fprintf(stderr, "  [ ] Signing as\n");
  for (size_t i = 0; i < n_signers; i++) print_key(" ", signers[i], rl, have_prev ? prl : NULL, "");

  /* Clients reject a statement with a signature by a key in neither
   * statement's Keyring, so such a key must not sign. */
  for (size_t i = 0; i < n_signers; i++) {
    int known = sw_keys_has(k->key, k->n_key, signers[i]) || sw_keys_has(k->next, k->n_next, signers[i]) ||
                (have_prev && (sw_keys_has(prev->key, prev->n_key, signers[i]) ||
                               sw_keys_has(prev->next, prev->n_next, signers[i])));
    if (!known) {
      rc = sw__pub_die(2, "not signing: %s is in neither this statement nor its predecessor; clients would reject the "
                       "statement",
                       signers[i]);
      goto out;
    }
  }
  if (!ok) {
    rc = sw__pub_die(2,
                     "not signing: the keys given do not meet the rules above (clients would reject statement %" PRIu64
                     "); add the keys marked NOT MET",
                     k->version);
    goto out;
  }
  if (!o->yes) {
    rc = sw__pub_confirm("Sign this key statement?");
    if (rc) goto out;
  }
  for (size_t i = 0; i < n_signers; i++) signer_ptr[i] = signers[i];
  snprintf(sig_path, sizeof sig_path, "%s.sig", o->draft);
  if (sw_pub_gpg_sign(o->homedir, signer_ptr, n_signers, "keys", o->draft, sig_path, 1) != 0) {
    rc = sw__pub_die(1, "gpg could not sign %s", o->draft);
    goto out;
  }
  rc = self_check(o->homedir, o->draft, sig_path, (const char(*)[41])signers, n_signers);
  if (rc) {
    unlink(sig_path); /* never leave a signature the client would refuse */
    goto out;
  }
  printf("signed:   %s\n", sig_path);
  printf("publish %s and %s as BASE/%" PRIu64 ".keys and BASE/%" PRIu64 ".keys.sig; anyone can check them with\n"
         "  gpg --verify %s %s\n",
         o->draft, sig_path, k->version, k->version, sig_path, o->draft);
  rc = 0;
out:
  free(k);
  free(prev);
  free(rl);
  free(prl);
  return rc;
}
