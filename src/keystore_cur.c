/* keystore_cur.c - the `current` record of the key-statement store:
 * STATE/<product>/_keys/current, its strict encoding with a self-hash, the
 * acceptance of a statement into it (with its sequence floors) and the floor a
 * channel takes at its next load (keystore.h). */
#include "keystore_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "manifest.h"

/* ---- the `current` record ---------------------------------------------------- */

static sw_err sw__ks_encode(const char *product, const sw__ks_cur *c, char *out, size_t cap, size_t *len) {
  char hex[65];
  uint8_t sum[32];
  size_t n;
  int k;
  sw_hex(c->sha256, 32, hex);
  k = snprintf(out, cap, SW_KS_MAGIC "product %s\nversion %" PRIu64 "\nsha256 %s\n", product, c->version, hex);
  if (k < 0 || (size_t)k >= cap) return SW_ERR_INTERNAL;
  n = (size_t)k;
  for (size_t i = 0; i < c->n_floor; i++) {
    k = snprintf(out + n, cap - n, "floor %s %" PRIu64 " %" PRIu64 "\n", c->floor[i].channel, c->floor[i].sequence,
                 c->floor[i].version);
    if (k < 0 || (size_t)k >= cap - n) return SW_ERR_INTERNAL;
    n += (size_t)k;
  }
  sw_sha256((const uint8_t *)out, n, sum);
  sw_hex(sum, 32, hex);
  k = snprintf(out + n, cap - n, "checksum %s\n", hex);
  if (k < 0 || (size_t)k >= cap - n) return SW_ERR_INTERNAL;
  *len = n + (size_t)k;
  return SW_OK;
}

/* Split the next line at *p into words (at most 4); -1 on anything odd. */
static int sw__ks_words(const char **p, const char *end, const char *w[4], size_t wl[4], size_t *nw) {
  const char *nl = memchr(*p, '\n', (size_t)(end - *p)), *q = *p;
  *nw = 0;
  if (nl == NULL) return -1;
  while (q < nl) {
    const char *sp = memchr(q, ' ', (size_t)(nl - q));
    const char *we = sp ? sp : nl;
    if (we == q || *nw == 4) return -1;
    for (const char *c = q; c < we; c++)
      if ((unsigned char)*c <= 0x20 || (unsigned char)*c > 0x7e) return -1;
    w[*nw] = q;
    wl[*nw] = (size_t)(we - q);
    (*nw)++;
    q = sp ? sp + 1 : nl;
    if (sp && q == nl) return -1; /* trailing space */
  }
  *p = nl + 1;
  return 0;
}

static int sw__ks_is(const char *w, size_t n, const char *lit) { return strlen(lit) == n && memcmp(w, lit, n) == 0; }

static sw_err sw__ks_decode(const uint8_t *buf, size_t len, const char *product, sw__ks_cur *c, const char *where,
                            char *msg, size_t msglen) {
  const char *p = (const char *)buf, *end = p + len, *sum_at, *w[4];
  size_t wl[4], nw, mlen = strlen(SW_KS_MAGIC);
  uint8_t want[32], got[32];

  memset(c, 0, sizeof *c);
  if (len < mlen || memcmp(p, SW_KS_MAGIC, mlen) != 0) goto bad;
  p += mlen;
  if (sw__ks_words(&p, end, w, wl, &nw) || nw != 2 || !sw__ks_is(w[0], wl[0], "product") ||
      !sw__ks_is(w[1], wl[1], product))
    goto bad;
  if (sw__ks_words(&p, end, w, wl, &nw) || nw != 2 || !sw__ks_is(w[0], wl[0], "version") ||
      sw_text_u64(w[1], wl[1], &c->version) || c->version == 0)
    goto bad;
  if (sw__ks_words(&p, end, w, wl, &nw) || nw != 2 || !sw__ks_is(w[0], wl[0], "sha256") ||
      sw_text_unhex(w[1], wl[1], c->sha256, 32))
    goto bad;
  for (;;) {
    const char *line = p;
    if (sw__ks_words(&p, end, w, wl, &nw)) goto bad;
    if (nw == 2 && sw__ks_is(w[0], wl[0], "checksum")) {
      sum_at = line;
      if (sw_text_unhex(w[1], wl[1], want, 32) || p != end) goto bad;
      break;
    }
    if (nw != 4 || !sw__ks_is(w[0], wl[0], "floor") || c->n_floor >= SW_KEYSTORE_FLOORS_MAX ||
        wl[1] > SW_CHANNEL_MAX || !sw_manifest_name_ok(w[1], wl[1]))
      goto bad;
    memcpy(c->floor[c->n_floor].channel, w[1], wl[1]);
    c->floor[c->n_floor].channel[wl[1]] = 0;
    if (sw_text_u64(w[2], wl[2], &c->floor[c->n_floor].sequence) ||
        sw_text_u64(w[3], wl[3], &c->floor[c->n_floor].version) || c->floor[c->n_floor].version > c->version)
      goto bad;
    c->n_floor++;
  }
  sw_sha256(buf, (size_t)(sum_at - (const char *)buf), got);
  if (memcmp(want, got, 32) != 0) goto bad;
  c->have = 1;
  return SW_OK;
bad:
  memset(c, 0, sizeof *c);
  return sw_fail(SW_ERR_STATE_CORRUPT, msg, msglen,
                 "%s is corrupt; refusing to guess (moving the directory away starts the chain again from "
                 "--trusted-keys and forgets its sequence floors)",
                 where);
}

/* Open STATE/<product>/_keys (created if create; with create 0 a missing one
 * gives fd -1). */
sw_err sw__ks_dir(const sw_state *st, const char *product, int create, sw_dir *d, char *msg, size_t msglen) {
  const char *names[3] = {product, SW_KS_DIR, NULL};
  sw_dir_init(d);
  if (!sw_manifest_name_ok(product, strlen(product)))
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "invalid product name");
  return sw_dir_open_chain(d, sw_state_root(st), names, create, msg, msglen);
}

sw_err sw__ks_load_cur(const sw_dir *d, const char *product, sw__ks_cur *c, char *msg, size_t msglen) {
  char where[SW_DIR_PATH_MAX + 16];
  uint8_t *buf = NULL;
  size_t len = 0;
  sw_err err;
  struct stat sb;
  memset(c, 0, sizeof *c);
  if (d->fd < 0) return SW_OK;
  snprintf(where, sizeof where, "%s/%s", d->path, SW_KS_CURRENT);
  if (!sw_dir_has_file(d, SW_KS_CURRENT)) {
    if (fstatat(d->fd, SW_KS_CURRENT, &sb, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) return SW_OK;
    return sw_fail(SW_ERR_STATE_CORRUPT, msg, msglen, "%s is not a regular file; refusing to guess", where);
  }
  err = sw_fs_read_at(d->fd, d->path, SW_KS_CURRENT, SW_KS_CURRENT_MAX, SW_ERR_STATE_CORRUPT, &buf, &len, msg,
                      msglen);
  if (err == SW_OK) err = sw__ks_decode(buf, len, product, c, where, msg, msglen);
  free(buf);
  return err;
}

sw_err sw__ks_save_cur(const sw_dir *d, const char *product, const sw__ks_cur *c, char *msg, size_t msglen) {
  char *text = NULL;
  size_t len = 0;
  sw_err err;
  text = malloc(SW_KS_CURRENT_MAX);
  if (text == NULL) return sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
  if (sw__ks_encode(product, c, text, SW_KS_CURRENT_MAX, &len) != SW_OK)
    err = sw_fail(SW_ERR_INTERNAL, msg, msglen, "key state record does not fit");
  else
    err = sw_fs_write_atomic_at(d->fd, d->path, SW_KS_CURRENT, (const uint8_t *)text, len, 0600, msg, msglen);
  free(text);
  return err;
}

/* Accepting statement k (its sha) makes it the newest, with its floors over the
 * older ones. A floor is never dropped: one no channel has taken yet would be
 * lost, so a statement that would need more than SW_KEYSTORE_FLOORS_MAX
 * channels is refused (-1, c unchanged). */
static int sw__ks_accept(sw__ks_cur *c, const sw_keys *k, const uint8_t sha[32]) {
  size_t fresh = 0;
  for (size_t i = 0; i < k->n_floor; i++) {
    size_t j;
    for (j = 0; j < c->n_floor; j++)
      if (strcmp(c->floor[j].channel, k->floor[i].channel) == 0) break;
    if (j == c->n_floor) fresh++;
  }
  if (c->n_floor + fresh > SW_KEYSTORE_FLOORS_MAX) return -1;
  c->have = 1;
  c->version = k->version;
  memcpy(c->sha256, sha, 32);
  for (size_t i = 0; i < k->n_floor; i++) {
    size_t j;
    for (j = 0; j < c->n_floor; j++)
      if (strcmp(c->floor[j].channel, k->floor[i].channel) == 0) break;
    if (j == c->n_floor) c->n_floor++;
    snprintf(c->floor[j].channel, sizeof c->floor[j].channel, "%s", k->floor[i].channel);
    c->floor[j].sequence = k->floor[i].sequence;
    c->floor[j].version = k->version;
  }
  return 0;
}

sw_err sw__ks_accept_or_refuse(sw__ks_cur *c, const sw_keys *k, const uint8_t sha[32], char *msg, size_t msglen) {
  if (sw__ks_accept(c, k, sha) == 0) return SW_OK;
  return sw_fail(SW_ERR_KEYS_POLICY, msg, msglen,
                 "key statement %" PRIu64 " refused: its Sequence-Floor would make more than %u channels with a "
                 "floor (the client's limit)",
                 k->version, SW_KEYSTORE_FLOORS_MAX);
}

sw_err sw_keystore_floor_of(const sw_state *st, const char *product, const char *channel, int *has,
                            uint64_t *sequence, uint64_t *version, char *msg, size_t msglen) {
  sw_dir d;
  sw__ks_cur *c = NULL;
  sw_err err;
  *has = 0;
  err = sw__ks_dir(st, product, 0, &d, msg, msglen);
  if (err) goto out;
  c = calloc(1, sizeof *c);
  if (c == NULL) {
    err = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
    goto out;
  }
  err = sw__ks_load_cur(&d, product, c, msg, msglen);
  if (err) goto out;
  for (size_t i = 0; i < c->n_floor; i++)
    if (strcmp(c->floor[i].channel, channel) == 0) {
      *has = 1;
      *sequence = c->floor[i].sequence;
      *version = c->floor[i].version;
    }
out:
  free(c);
  sw_dir_close(&d);
  return err;
}

sw_err sw_keystore_current_of(const sw_dir *root, const char *product, int *have, uint64_t *version, char *msg,
                              size_t msglen) {
  const char *names[3] = {product, SW_KS_DIR, NULL};
  sw__ks_cur *c = NULL;
  sw_dir d;
  sw_err err;
  *have = 0;
  *version = 0;
  err = sw_dir_open_chain(&d, root, names, 0, msg, msglen);
  if (err) return err;
  c = calloc(1, sizeof *c); /* large: every floor */
  if (c == NULL) err = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
  else err = sw__ks_load_cur(&d, product, c, msg, msglen);
  if (err == SW_OK && c->have) {
    *have = 1;
    *version = c->version;
  }
  free(c);
  sw_dir_close(&d);
  return err;
}
