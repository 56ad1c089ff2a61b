#include "seedrec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "manifest.h"

#define SW_SEEDREC_MAGIC "swarmup-seeding 1\n"

sw_err sw_seedrec_encode(const sw_seedrec *r, char *out, size_t cap, size_t *len) {
  char updated[21], sum_hex[65];
  uint8_t sum[32];
  size_t n;
  int k;
  if (r->n > SW_SEEDREC_RELEASES_MAX) return SW_ERR_INTERNAL;
  sw_manifest_format_time(r->updated, updated);
  k = snprintf(out, cap, SW_SEEDREC_MAGIC "pid %" PRIu64 "\nupdated %s\nrunning %d\n", r->pid, updated,
               r->running ? 1 : 0);
  if (k < 0 || (size_t)k >= cap) return SW_ERR_INTERNAL;
  n = (size_t)k;
  for (size_t i = 0; i < r->n; i++) {
    k = snprintf(out + n, cap - n, "release %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", r->rel[i].sequence,
                 r->rel[i].size, r->rel[i].uploaded, r->rel[i].peers);
    if (k < 0 || (size_t)k >= cap - n) return SW_ERR_INTERNAL;
    n += (size_t)k;
  }
  sw_sha256((const uint8_t *)out, n, sum);
  sw_hex(sum, 32, sum_hex);
  k = snprintf(out + n, cap - n, "checksum %s\n", sum_hex);
  if (k < 0 || (size_t)k >= cap - n) return SW_ERR_INTERNAL;
  *len = n + (size_t)k;
  return SW_OK;
}

/* The line at *p (without its '\n') into line; -1 if there is none or it is too long. */
static int sw__line(const char **p, const char *end, char *line, size_t cap) {
  const char *nl = memchr(*p, '\n', (size_t)(end - *p));
  size_t n;
  if (nl == NULL) return -1;
  n = (size_t)(nl - *p);
  if (n >= cap) return -1;
  memcpy(line, *p, n);
  line[n] = 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e) return -1;
  *p = nl + 1;
  return 0;
}

/* "KEY VALUE": the value, or NULL when the key differs. */
static const char *sw__val(const char *line, const char *key) {
  size_t k = strlen(key);
  return strncmp(line, key, k) == 0 && line[k] == ' ' ? line + k + 1 : NULL;
}

/* Four space-separated strict decimals. */
static int sw__four(const char *s, uint64_t v[4]) {
  for (int i = 0; i < 4; i++) {
    const char *e = i < 3 ? strchr(s, ' ') : s + strlen(s);
    if (e == NULL || sw_text_u64(s, (size_t)(e - s), &v[i]) != 0) return -1;
    s = e + (i < 3);
  }
  return 0;
}

sw_err sw_seedrec_decode(const uint8_t *buf, size_t len, sw_seedrec *r, char *msg, size_t msglen) {
  const char *p = (const char *)buf, *end = p + len, *sum_at, *v;
  char line[160];
  uint8_t want[32], got[32];
  size_t mlen = strlen(SW_SEEDREC_MAGIC);
  uint64_t running = 0;

  memset(r, 0, sizeof *r);
  if (len > SW_SEEDREC_MAX || len < mlen || memcmp(p, SW_SEEDREC_MAGIC, mlen) != 0) goto bad;
  p += mlen;
  if (sw__line(&p, end, line, sizeof line) || (v = sw__val(line, "pid")) == NULL ||
      sw_text_u64(v, strlen(v), &r->pid))
    goto bad;
  if (sw__line(&p, end, line, sizeof line) || (v = sw__val(line, "updated")) == NULL ||
      sw_manifest_parse_time(v, strlen(v), &r->updated) != SW_OK)
    goto bad;
  if (sw__line(&p, end, line, sizeof line) || (v = sw__val(line, "running")) == NULL ||
      sw_text_u64(v, strlen(v), &running) || running > 1)
    goto bad;
  r->running = (int)running;
  for (;;) {
    uint64_t f[4];
    sum_at = p;
    if (sw__line(&p, end, line, sizeof line)) goto bad;
    if ((v = sw__val(line, "release")) == NULL) break;
    if (r->n >= SW_SEEDREC_RELEASES_MAX || sw__four(v, f)) goto bad;
    r->rel[r->n].sequence = f[0];
    r->rel[r->n].size = f[1];
    r->rel[r->n].uploaded = f[2];
    r->rel[r->n].peers = f[3];
    r->n++;
  }
  if ((v = sw__val(line, "checksum")) == NULL || sw_text_unhex(v, strlen(v), want, 32) || p != end) goto bad;
  sw_sha256(buf, (size_t)(sum_at - (const char *)buf), got);
  if (memcmp(want, got, 32) != 0) goto bad;
  return SW_OK;
bad:
  memset(r, 0, sizeof *r);
  return sw_fail(SW_ERR_STATE_CORRUPT, msg, msglen, "seeding record is corrupt");
}

/* STATE/<product>/<channel>, checked; never made here. */
static sw_err sw__chan(const sw_dir *root, const char *product, const char *channel, sw_dir *d, char *msg,
                       size_t msglen) {
  const char *names[3] = {product, channel, NULL};
  sw_dir_init(d);
  if (!sw_manifest_name_ok(product, strlen(product)) || !sw_manifest_name_ok(channel, strlen(channel)))
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "invalid product or channel name");
  return sw_dir_open_chain(d, root, names, 0, msg, msglen);
}

sw_err sw_seedrec_write(const sw_dir *root, const char *product, const char *channel, const sw_seedrec *r, char *msg,
                        size_t msglen) {
  char text[SW_SEEDREC_MAX];
  size_t len = 0;
  sw_dir d;
  sw_err err;
  if (sw_seedrec_encode(r, text, sizeof text, &len) != SW_OK)
    return sw_fail(SW_ERR_INTERNAL, msg, msglen, "seeding record does not fit");
  err = sw__chan(root, product, channel, &d, msg, msglen);
  if (err == SW_OK && d.fd < 0) err = sw_fail(SW_ERR_IO, msg, msglen, "%s/%s/%s: missing", root->path, product, channel);
  if (err == SW_OK)
    err = sw_fs_write_atomic_at(d.fd, d.path, SW_SEEDREC_NAME, (const uint8_t *)text, len, 0600, msg, msglen);
  sw_dir_close(&d);
  return err;
}

sw_err sw_seedrec_read(const sw_dir *root, const char *product, const char *channel, int *have, sw_seedrec *r,
                       char *msg, size_t msglen) {
  uint8_t *buf = NULL;
  size_t len = 0;
  struct stat st;
  sw_dir d;
  sw_err err;
  *have = 0;
  memset(r, 0, sizeof *r);
  err = sw__chan(root, product, channel, &d, msg, msglen);
  if (err || d.fd < 0) goto out;
  if (!sw_dir_has_file(&d, SW_SEEDREC_NAME)) {
    if (!(fstatat(d.fd, SW_SEEDREC_NAME, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT))
      err = sw_fail(SW_ERR_STATE_CORRUPT, msg, msglen, "%s/%s is not a regular file", d.path, SW_SEEDREC_NAME);
    goto out;
  }
  err = sw_fs_read_at(d.fd, d.path, SW_SEEDREC_NAME, SW_SEEDREC_MAX, SW_ERR_STATE_CORRUPT, &buf, &len, msg, msglen);
  if (err == SW_OK) err = sw_seedrec_decode(buf, len, r, msg, msglen);
  if (err == SW_OK) *have = 1;
out:
  free(buf);
  sw_dir_close(&d);
  return err;
}

uint64_t sw_seedrec_uploaded(const sw_seedrec *r, uint64_t sequence) {
  for (size_t i = 0; i < r->n; i++)
    if (r->rel[i].sequence == sequence) return r->rel[i].uploaded;
  return 0;
}
