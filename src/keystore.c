#include "keystore_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "manifest.h"
#include "release.h"
#include "safedir.h"
#include "state.h"

/* ---- kept statements ------------------------------------------------------- */

typedef struct sw__ks_blob {
  uint8_t *buf, *sig;
  size_t len, sig_len;
} sw__ks_blob;

static void sw__ks_blob_free(sw__ks_blob *b) {
  free(b->buf);
  free(b->sig);
  memset(b, 0, sizeof *b);
}

/* Read kept N.keys (and .sig) from d; *found 0 when N.keys is not there. */
static sw_err sw__ks_read_kept(const sw_dir *d, uint64_t n, sw__ks_blob *b, int *found, char *msg, size_t msglen) {
  char name[48];
  sw_err err;
  *found = 0;
  memset(b, 0, sizeof *b);
  snprintf(name, sizeof name, "%" PRIu64 ".keys", n);
  if (d->fd < 0 || !sw_dir_has_file(d, name)) return SW_OK;
  err = sw_fs_read_at(d->fd, d->path, name, SW_KEYS_STMT_MAX, SW_ERR_STATE_CORRUPT, &b->buf, &b->len, msg, msglen);
  if (err) return err;
  snprintf(name, sizeof name, "%" PRIu64 ".keys.sig", n);
  err = sw_fs_read_at(d->fd, d->path, name, SW_MANIFEST_SIG_MAX, SW_ERR_STATE_CORRUPT, &b->sig, &b->sig_len, msg,
                      msglen);
  if (err) {
    sw__ks_blob_free(b);
    return err;
  }
  *found = 1;
  return SW_OK;
}

/* Keep N.keys.sig then N.keys (a statement file present means its signature is too). */
static sw_err sw__ks_keep(const sw_dir *d, const char *sub, const char *stem, const sw__ks_blob *b, char *msg,
                          size_t msglen) {
  char name[128];
  sw_dir fd;
  const sw_dir *at = d;
  sw_err err;
  sw_dir_init(&fd);
  if (sub) {
    err = sw_dir_open_sub(&fd, d, sub, 1, msg, msglen);
    if (err) return err;
    at = &fd;
  }
  snprintf(name, sizeof name, "%s.keys.sig", stem);
  err = sw_fs_write_atomic_at(at->fd, at->path, name, b->sig, b->sig_len, 0644, msg, msglen);
  if (err == SW_OK) {
    snprintf(name, sizeof name, "%s.keys", stem);
    err = sw_fs_write_atomic_at(at->fd, at->path, name, b->buf, b->len, 0644, msg, msglen);
  }
  sw_dir_close(&fd);
  return err;
}

/* Two different, validly signed statements N: keep both under forks/ and refuse. */
static sw_err sw__ks_fork(const sw_dir *d, uint64_t n, const sw__ks_blob *a, const sw__ks_blob *b, char *msg,
                          size_t msglen) {
  const sw__ks_blob *both[2] = {a, b};
  char stem[96], hex[65], inner[SW_MSG_MAX];
  uint8_t sha[32];
  if (d == NULL || d->fd < 0)
    return sw_fail(SW_ERR_KEYS_POLICY, msg, msglen, "fork: two different statements %" PRIu64 ", both validly signed",
                   n);
  for (int i = 0; i < 2; i++) {
    sw_sha256(both[i]->buf, both[i]->len, sha);
    sw_hex(sha, 32, hex);
    snprintf(stem, sizeof stem, "%" PRIu64 "-%s", n, hex);
    if (sw__ks_keep(d, "forks", stem, both[i], inner, sizeof inner) != SW_OK)
      return sw_fail(SW_ERR_KEYS_POLICY, msg, msglen,
                     "fork: two different statements %" PRIu64 ", both validly signed (could not keep them: %.200s)",
                     n, inner);
  }
  return sw_fail(SW_ERR_KEYS_POLICY, msg, msglen,
                 "fork: two different statements %" PRIu64 ", both validly signed (kept in %.300s/forks)", n, d->path);
}

/* ---- fetching ---------------------------------------------------------------- */

enum { SW__KS_GOT = 0, SW__KS_NONE = 1, SW__KS_FAILED = 2, SW__KS_REFUSED = 3 };

/* BASE/<n><suffix>, with or without a trailing slash on BASE. */
static int sw__ks_src(const char *base, uint64_t n, const char *suffix, char *out, size_t cap) {
  size_t bl = strlen(base);
  int k = snprintf(out, cap, "%s%s%" PRIu64 "%s", base, (bl && base[bl - 1] == '/') ? "" : "/", n, suffix);
  return (k < 0 || (size_t)k >= cap) ? -1 : 0;
}

static int sw__ks_is_404(const char *m) {
  const char *p = strstr(m, "HTTP 404");
  return p != NULL && !(p[8] >= '0' && p[8] <= '9');
}

/* Fetch BASE/n.keys and its .sig: SW__KS_GOT, SW__KS_NONE (404, or no such
 * file: the end of the chain), SW__KS_REFUSED (over its size limit: a
 * rejection of the statement, in msg) or SW__KS_FAILED (why in msg). */
static int sw__ks_fetch(const sw_opts *o, uint64_t n, sw__ks_blob *b, char *msg, size_t msglen) {
  char src[SW_URL_MAX + 48], inner[SW_MSG_MAX];
  sw_err err;
  int url = sw_release_is_url(o->keys_url);
  memset(b, 0, sizeof *b);
  if (sw__ks_src(o->keys_url, n, ".keys", src, sizeof src) != 0) {
    sw_fail(SW_ERR_USAGE, msg, msglen, "--keys-url is too long");
    return SW__KS_FAILED;
  }
  if (!url) {
    struct stat sb;
    if (stat(src, &sb) != 0 && errno == ENOENT) return SW__KS_NONE;
  }
  err = sw_release_get(o, src, SW_KEYS_STMT_MAX, SW_ERR_KEYS_SYNTAX, &b->buf, &b->len, inner, sizeof inner);
  if (err) {
    if (url && err == SW_ERR_HTTP && sw__ks_is_404(inner)) return SW__KS_NONE;
    if (err == SW_ERR_KEYS_SYNTAX) {
      sw_fail(err, msg, msglen, "key statement %" PRIu64 " rejected: %.300s", n, inner);
      return SW__KS_REFUSED;
    }
    sw_fail(err, msg, msglen, "%.300s: %.300s", src, inner);
    return SW__KS_FAILED;
  }
  sw__ks_src(o->keys_url, n, ".keys.sig", src, sizeof src);
  err = sw_release_get(o, src, SW_MANIFEST_SIG_MAX, SW_ERR_KEYS_SIG, &b->sig, &b->sig_len, inner, sizeof inner);
  if (err == SW_ERR_KEYS_SIG) {
    sw_fail(err, msg, msglen, "key statement %" PRIu64 " rejected: %.300s", n, inner);
    sw__ks_blob_free(b);
    return SW__KS_REFUSED;
  }
  if (err) {
    /* A statement without its signature is not published yet (or half
     * uploaded): the end of the chain for this run, with a word said. */
    sw_fail(err, msg, msglen, "%.300s: %.300s", src, inner);
    sw__ks_blob_free(b);
    return SW__KS_FAILED;
  }
  return SW__KS_GOT;
}

static sw_err sw__ks_read_anchor(const sw_opts *o, sw__ks_blob *b, char *msg, size_t msglen) {
  char sigpath[SW_DIR_PATH_MAX + 8], inner[SW_MSG_MAX];
  sw_err err;
  memset(b, 0, sizeof *b);
  if ((size_t)snprintf(sigpath, sizeof sigpath, "%s.sig", o->trusted_keys) >= sizeof sigpath)
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "--trusted-keys path too long");
  err = sw_fs_read_file(o->trusted_keys, SW_KEYS_STMT_MAX, SW_ERR_KEYS_SYNTAX, &b->buf, &b->len, inner, sizeof inner);
  if (err == SW_OK)
    err = sw_fs_read_file(sigpath, SW_MANIFEST_SIG_MAX, SW_ERR_KEYS_SIG, &b->sig, &b->sig_len, inner, sizeof inner);
  if (err) {
    sw__ks_blob_free(b);
    if (err == SW_ERR_IO) err = SW_ERR_CONFIG; /* an unreadable anchor is a configuration error */
    return sw_fail(err, msg, msglen, "--trusted-keys: %.400s", inner);
  }
  return SW_OK;
}

/* ---- the newest statement ---------------------------------------------------- */

/* The anchor starts the kept chain (nothing kept, or a jump to a newer anchor):
 * kept, and its own floors recorded in `current`. */
static sw_err sw__ks_start_at_anchor(const sw_dir *d, const char *product, sw__ks_cur *cur, const sw_keys *anc,
                                     const sw__ks_blob *anchor, char *msg, size_t msglen) {
  sw__ks_blob kept;
  char stem[32];
  uint8_t sha[32];
  int found = 0;
  sw_err err;
  err = sw__ks_read_kept(d, anc->version, &kept, &found, msg, msglen);
  if (err) return err;
  if (found && (kept.len != anchor->len || memcmp(kept.buf, anchor->buf, anchor->len) != 0)) {
    err = sw__ks_fork(d, anc->version, &kept, anchor, msg, msglen);
    sw__ks_blob_free(&kept);
    return err;
  }
  sw__ks_blob_free(&kept);
  sw_sha256(anchor->buf, anchor->len, sha);
  err = sw__ks_accept_or_refuse(cur, anc, sha, msg, msglen);
  if (err) return err;
  snprintf(stem, sizeof stem, "%" PRIu64, anc->version);
  err = sw__ks_keep(d, NULL, stem, anchor, msg, msglen);
  if (err) return err;
  return sw__ks_save_cur(d, product, cur, msg, msglen);
}

sw_err sw_keystore_newest(const sw_opts *o, sw_state *st, sw_keys *newest, sw_keystore_warn_fn warn,
                          void *warn_arg, char *msg, size_t msglen) {
  sw_err err = SW_ERR_INTERNAL;
  sw__ks_blob anchor, kept, got, prev;
  sw__ks_cur *cur = NULL;
  sw_keys *anc = NULL, *tmp = NULL, *before = NULL;
  sw_dir d;
  uint8_t sha[32];
  char inner[SW_MSG_MAX];
  int found = 0, from_anchor = 0, catch_up = 0;
  unsigned steps = 0;

  memset(&anchor, 0, sizeof anchor);
  memset(&kept, 0, sizeof kept);
  memset(&got, 0, sizeof got);
  memset(&prev, 0, sizeof prev);
  sw_dir_init(&d);
  anc = calloc(1, sizeof *anc);
  tmp = calloc(1, sizeof *tmp);
  before = calloc(1, sizeof *before);
  cur = calloc(1, sizeof *cur);
  if (anc == NULL || tmp == NULL || before == NULL || cur == NULL) {
    err = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
    goto out;
  }

  /* 1. The anchor, trusted as installed; its own signature is still checked. */
  err = sw__ks_read_anchor(o, &anchor, msg, msglen);
  if (err) goto out;
  err = sw_keys_verify_anchor(anchor.buf, anchor.len, anchor.sig, anchor.sig_len, anc, msg, msglen);
  if (err) goto out;
  if (strcmp(anc->product, o->product) != 0) {
    err = sw_fail(SW_ERR_KEYS_POLICY, msg, msglen, "key statement %" PRIu64 " (--trusted-keys) is for %s, not %s",
                  anc->version, anc->product, o->product);
    goto out;
  }

  /* 2. The kept chain, and where the anchor stands in it. */
  if (st) {
    err = sw__ks_dir(st, o->product, 1, &d, msg, msglen);
    if (err) goto out;
    err = sw__ks_load_cur(&d, o->product, cur, msg, msglen);
    if (err) goto out;
  }
  /* An anchor newer than the kept chain, with --keys-url: the walk goes from
   * the kept chain up to it, so the floors of the statements in between are
   * taken, and the walked statement of its Version must be the anchor. */
  catch_up = cur->have && anc->version > cur->version && o->keys_url != NULL;
  if (cur->have && (anc->version <= cur->version || catch_up)) {
    if (!catch_up) {
      /* The kept one of the anchor's Version must be the anchor. */
      err = sw__ks_read_kept(&d, anc->version, &kept, &found, msg, msglen);
      if (err) goto out;
      if (found && (kept.len != anchor.len || memcmp(kept.buf, anchor.buf, anchor.len) != 0)) {
        err = sw__ks_fork(&d, anc->version, &kept, &anchor, msg, msglen);
        goto out;
      }
      sw__ks_blob_free(&kept);
    }
    /* The newest kept statement, as kept (checked against `current`). */
    err = sw__ks_read_kept(&d, cur->version, &kept, &found, msg, msglen);
    if (err) goto out;
    sw_sha256(kept.buf, kept.len, sha);
    if (!found || memcmp(sha, cur->sha256, 32) != 0) {
      err = sw_fail(SW_ERR_STATE_CORRUPT, msg, msglen,
                    "%s/%" PRIu64 ".keys is missing or is not the statement %s/current names; refusing to guess",
                    d.path, cur->version, d.path);
      goto out;
    }
    err = sw_keys_parse(kept.buf, kept.len, newest, inner, sizeof inner);
    if (err || strcmp(newest->product, o->product) != 0 || newest->version != cur->version) {
      err = sw_fail(SW_ERR_STATE_CORRUPT, msg, msglen, "%s/%" PRIu64 ".keys does not parse as kept: %.200s", d.path,
                    cur->version, err ? inner : "other product or version");
      goto out;
    }
    prev = kept; /* the newest, for the fork check below */
    memset(&kept, 0, sizeof kept);
  } else {
    /* Nothing kept, or (without --keys-url) an anchor newer than the chain:
     * the anchor starts it. The floors of statements in between are not seen
     * (docs/keys.md: a newer anchor repeats them); its own are recorded. */
    *newest = *anc;
    from_anchor = 1;
    if (st) {
      err = sw__ks_start_at_anchor(&d, o->product, cur, anc, &anchor, msg, msglen);
      if (err) goto out;
    }
    prev = anchor;
    memset(&anchor, 0, sizeof anchor);
  }

  if (o->keys_url == NULL) {
    err = SW_OK;
    goto out;
  }

  /* 3. The newest, reached by an earlier walk, is fetched again: other bytes
   * that the one before it validly signed are a fork. */
  if (st && !from_anchor && newest->version > anc->version) {
    sw__ks_blob older;
    err = sw__ks_read_kept(&d, newest->version - 1, &older, &found, msg, msglen);
    if (err) goto out;
    if (found && sw_keys_parse(older.buf, older.len, before, inner, sizeof inner) == SW_OK) {
      int r = sw__ks_fetch(o, newest->version, &got, inner, sizeof inner);
      steps++;
      if (r == SW__KS_GOT && (got.len != prev.len || memcmp(got.buf, prev.buf, prev.len) != 0) &&
          sw_keys_verify_next(before, got.buf, got.len, got.sig, got.sig_len, tmp, inner, sizeof inner) == SW_OK) {
        err = sw__ks_fork(&d, newest->version, &prev, &got, msg, msglen);
        sw__ks_blob_free(&older);
        goto out;
      }
      sw__ks_blob_free(&got);
    }
    sw__ks_blob_free(&older);
  }

  /* 4. The walk: N+1 until the server has none, at most SW_KEYS_WALK_MAX fetches. */
  for (;;) {
    int r;
    if (steps >= SW_KEYS_WALK_MAX) {
      /* The statement reached may already be superseded: judging a manifest
       * under it could accept a revoked key. What was walked is kept. */
      err = sw_fail(SW_ERR_KEYS_POLICY, msg, msglen,
                    "key statements: walked %u and more follow; run again to continue (check and fetch keep "
                    "their place in the state dir; verify, which keeps none, needs a newer --trusted-keys anchor); "
                    "now at statement %" PRIu64,
                    SW_KEYS_WALK_MAX, newest->version);
      goto out;
    }
    if (newest->version == UINT64_MAX) break;
    r = sw__ks_fetch(o, newest->version + 1, &got, inner, sizeof inner);
    steps++;
    if (r == SW__KS_NONE && !catch_up) break;
    if (r == SW__KS_REFUSED && !catch_up) {
      err = sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "%s", inner);
      goto out;
    }
    if (r == SW__KS_FAILED) {
      char w[SW_MSG_MAX];
      snprintf(w, sizeof w, "key statements could not be fetched (%.300s); going on with statement %" PRIu64, inner,
               newest->version);
      if (warn) warn(warn_arg, w);
      if (!catch_up) break;
    }
    if (r == SW__KS_GOT) {
      err = sw_keys_verify_next(newest, got.buf, got.len, got.sig, got.sig_len, tmp, msg, msglen);
      if (err && !catch_up) goto out;
      if (err) {
        snprintf(inner, sizeof inner, "%s", msg);
        sw__ks_blob_free(&got);
        err = SW_OK;
        r = SW__KS_REFUSED;
      }
    }
    if (r == SW__KS_REFUSED) {
      /* On the way to a newer anchor: the anchor is trusted as installed (a
       * re-anchor after the next keys were stolen is not signed by the chain). */
      char w[SW_MSG_MAX];
      snprintf(w, sizeof w, "%.300s; the newer --trusted-keys anchor (statement %" PRIu64 ") starts the chain", inner,
               anc->version);
      if (warn) warn(warn_arg, w);
    }
    if (r != SW__KS_GOT) {
      /* The walk cannot reach the newer anchor: it starts the chain (as
       * without --keys-url), and the walk goes on from it (a failed fetch has
       * been reported: stop there). */
      err = sw__ks_start_at_anchor(&d, o->product, cur, anc, &anchor, msg, msglen);
      if (err) goto out;
      *newest = *anc;
      sw__ks_blob_free(&prev);
      prev = anchor;
      memset(&anchor, 0, sizeof anchor);
      catch_up = 0;
      if (r == SW__KS_FAILED) break;
      continue;
    }
    if (catch_up && tmp->version == anc->version) {
      if (got.len != anchor.len || memcmp(got.buf, anchor.buf, anchor.len) != 0) {
        err = sw__ks_fork(&d, anc->version, &got, &anchor, msg, msglen);
        goto out;
      }
      catch_up = 0;
    }
    if (st) {
      char stem[32];
      /* An orphan from a crash (kept, `current` not yet moved), or one of a
       * fork: other bytes for this Version are a fork. */
      err = sw__ks_read_kept(&d, tmp->version, &kept, &found, msg, msglen);
      if (err) goto out;
      if (found && (kept.len != got.len || memcmp(kept.buf, got.buf, got.len) != 0)) {
        sw_keys *ko = before; /* reuse: was the orphan validly signed too? */
        if (sw_keys_verify_next(newest, kept.buf, kept.len, kept.sig, kept.sig_len, ko, inner, sizeof inner) ==
            SW_OK) {
          err = sw__ks_fork(&d, tmp->version, &kept, &got, msg, msglen);
          goto out;
        }
      }
      sw__ks_blob_free(&kept);
      /* Refused before it is kept when its floors do not fit. */
      sw_sha256(got.buf, got.len, sha);
      err = sw__ks_accept_or_refuse(cur, tmp, sha, msg, msglen);
      if (err) goto out;
      snprintf(stem, sizeof stem, "%" PRIu64, tmp->version);
      err = sw__ks_keep(&d, NULL, stem, &got, msg, msglen);
      if (err) goto out;
      err = sw__ks_save_cur(&d, o->product, cur, msg, msglen);
      if (err) goto out;
    }
    *newest = *tmp;
    sw__ks_blob_free(&prev);
    prev = got;
    memset(&got, 0, sizeof got);
  }
  err = SW_OK;
out:
  sw__ks_blob_free(&anchor);
  sw__ks_blob_free(&kept);
  sw__ks_blob_free(&got);
  sw__ks_blob_free(&prev);
  sw_dir_close(&d);
  free(anc);
  free(tmp);
  free(before);
  free(cur);
  return err;
}

sw_err sw_keystore_judge(const sw_keys *newest, int64_t now, int64_t *warn_in, char *msg, size_t msglen) {
  char t[21];
  *warn_in = -1;
  if (newest->expires <= now) {
    sw_manifest_format_time(newest->expires, t);
    return sw_fail(SW_ERR_KEYS_POLICY, msg, msglen,
                   "key statement %" PRIu64 " expired at %s; the publisher must publish statement %" PRIu64,
                   newest->version, t, newest->version + 1);
  }
  if (newest->expires - now < (int64_t)SW_KEYSTORE_WARN_DAYS * 86400) *warn_in = newest->expires - now;
  return SW_OK;
}
