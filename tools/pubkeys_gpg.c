/* pubkeys_gpg.c - the gpg home side of `swarmup-publish keys` (pubkeys.h):
 * export the Key and Next primaries as a Keyring, list a Keyring back through
 * gpg (fingerprints, validity, expiry, first user ID) and check that it holds
 * exactly the statement's keys, none revoked or expired. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "pubgpg.h"
#include "pubkeys.h"
#include "pubutil.h"

/* `gpg --export` of exactly these primary keys, minimal (no third-party
 * certifications: the client needs only the keys and their self-signatures),
 * into k->keyring. */
int sw__pub_keys_export(const char *homedir, const char (*fprs)[41], size_t n, uint8_t *buf, size_t cap,
                        size_t *len) {
  const char *argv[16 + 2 * SW_KEYS_FPR_MAX];
  int a = sw_pub_gpg_argv(argv, homedir), r;
  argv[a++] = "--export-options";
  argv[a++] = "export-minimal";
  argv[a++] = "--export";
  for (size_t i = 0; i < n; i++) argv[a++] = fprs[i];
  argv[a] = NULL;
  r = sw_pub_gpg_run(argv, NULL, 0, buf, cap, len);
  if (r == -2)
    return sw__pub_die(2, "the exported keys are larger than the Keyring limit (%u bytes)", SW_KEYS_KEYRING_MAX);
  if (r != 0) return sw__pub_die(1, "gpg --export failed");
  return 0;
}

int sw__pub_keys_export_ring(const char *homedir, const char (*fprs)[41], size_t n, sw_keys *k) {
  return sw__pub_keys_export(homedir, fprs, n, k->keyring, sizeof k->keyring, &k->keyring_len);
}

/* List the primary keys in ring[0..len) as gpg reads them (--with-colons,
 * show-only: nothing is imported). */
int sw__pub_keys_list(const char *homedir, const uint8_t *ring, size_t len, sw__pub_ring_list *out) {
  const char *argv[16];
  int a = 0, r, want_fpr = 0;
  char *text = NULL, *line = NULL, *save = NULL;
  size_t text_len = 0, cap = 1 << 20;
  int rc = 1;
  sw__pub_ring_key *cur = NULL;
  memset(out, 0, sizeof *out);
  a = sw_pub_gpg_argv(argv, homedir);
  argv[a++] = "--with-colons";
  argv[a++] = "--fixed-list-mode";
  argv[a++] = "--import-options";
  argv[a++] = "show-only";
  argv[a++] = "--dry-run";
  argv[a++] = "--import";
  argv[a] = NULL;
  text = malloc(cap + 1);
  if (text == NULL) return sw__pub_die(1, "out of memory");
  r = sw_pub_gpg_run(argv, ring, len, (uint8_t *)text, cap, &text_len);
  if (r != 0) {
    rc = sw__pub_die(1, "gpg could not read the Keyring");
    goto out;
  }
  text[text_len] = 0;
  for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    /* Fields: 1 type, 2 validity, 7 expiry (seconds), 10 fingerprint or user ID. */
    char *f[12] = {0}, *p = line;
    for (int i = 0; i < 12 && p; i++) {
      f[i] = p;
      p = strchr(p, ':');
      if (p) *p++ = 0;
    }
    if (!strcmp(f[0], "pub")) {
      if (out->n >= sizeof out->k / sizeof out->k[0]) {
        rc = sw__pub_die(2, "the Keyring holds more than %zu keys", sizeof out->k / sizeof out->k[0]);
        goto out;
      }
      cur = &out->k[out->n++];
      cur->validity = f[1] ? f[1][0] : 0;
      cur->expires = f[6] && f[6][0] ? strtoll(f[6], NULL, 10) : 0;
      want_fpr = 1;
    } else if (!strcmp(f[0], "sub")) {
      want_fpr = 0; /* a subkey's fpr line follows: not a primary */
    } else if (!strcmp(f[0], "fpr") && want_fpr && cur && f[9]) {
      snprintf(cur->fpr, sizeof cur->fpr, "%s", f[9]);
      want_fpr = 0;
    } else if (!strcmp(f[0], "uid") && cur && !cur->uid[0] && f[9]) {
      /* A user ID is text from the key: show only printable ASCII. */
      size_t o = 0;
      for (const char *s = f[9]; *s && o + 1 < sizeof cur->uid; s++)
        cur->uid[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
      cur->uid[o] = 0;
    }
  }
  rc = 0;
out:
  free(text);
  return rc;
}

const sw__pub_ring_key *sw__pub_keys_ring_find(const sw__pub_ring_list *rl, const char *fpr) {
  for (size_t i = 0; i < rl->n; i++)
    if (!strcmp(rl->k[i].fpr, fpr)) return &rl->k[i];
  return NULL;
}

/* The Keyring of k must hold exactly its Key and Next primaries, none revoked
 * or expired: the client checks signatures against nothing else. */
int sw__pub_keys_check_ring(const char *homedir, const sw_keys *k, sw__pub_ring_list *rl) {
  /* gpg exported nothing (no key matched) or the Keyring is empty: gpg would
   * refuse to read it, and every fingerprint below is then missing. */
  int rc = k->keyring_len ? sw__pub_keys_list(homedir, k->keyring, k->keyring_len, rl) : 0;
  if (rc) return rc;
  if (k->keyring_len == 0) memset(rl, 0, sizeof *rl);
  for (size_t i = 0; i < k->n_key + k->n_next; i++) {
    const char *f = i < k->n_key ? k->key[i] : k->next[i - k->n_key];
    const sw__pub_ring_key *r = sw__pub_keys_ring_find(rl, f);
    if (r == NULL)
      return sw__pub_die(2,
                         "%s is not the fingerprint of a primary key in %s (a subkey, or a key this gpg home lacks?)",
                         f, homedir ? homedir : "the gpg home");
    if (r->validity == 'r') return sw__pub_die(2, "key %s is revoked", f);
    if (r->validity == 'e') return sw__pub_die(2, "key %s has expired", f);
    if (r->expires && r->expires < k->expires) {
      char when[21];
      sw_manifest_format_time(r->expires, when);
      fprintf(stderr, "swarmup-publish: warning: key %s expires at %s, before the statement does\n", f, when);
    }
  }
  for (size_t i = 0; i < rl->n; i++)
    if (!sw_keys_has(k->key, k->n_key, rl->k[i].fpr) && !sw_keys_has(k->next, k->n_next, rl->k[i].fpr))
      return sw__pub_die(2, "the Keyring holds key %s, which is neither a Key nor a Next", rl->k[i].fpr);
  return 0;
}
