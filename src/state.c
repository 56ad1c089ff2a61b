#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "keystore.h"
#include "manifest.h"
#include "safedir.h"

struct sw_state {
  sw_dir root;   /* the checked state dir; every file below is opened relative to it */
  int lock_fd;
};

/* ROOT/known: one "product/channel" line for every pair that has had a state
 * file, so that a state file gone missing is noticed (see sw_state_load). */
#define SW_STATE_KNOWN "known"
#define SW_STATE_KNOWN_MAGIC "swarmup-known 1\n"

#define SW_STATE_MAGIC "swarmup-state 3\n"
#define SW_STATE_MAGIC_V2 "swarmup-state 2\n" /* before floor-version; still read */
#define SW_STATE_MAGIC_V1 "swarmup-state 1\n" /* before the freshness fields; still read */

sw_err sw_state_default_dir(char *out, size_t cap) {
  const char *env = getenv("SWARMUP_STATE_DIR");
  const char *xdg = getenv("XDG_STATE_HOME");
  const char *home = getenv("HOME");
  int n;
  if (env && *env) n = snprintf(out, cap, "%s", env);
  else if (geteuid() == 0) n = snprintf(out, cap, "/var/lib/swarmup");
  else if (xdg && xdg[0] == '/') n = snprintf(out, cap, "%s/swarmup", xdg);
  else if (home && home[0] == '/') n = snprintf(out, cap, "%s/.local/state/swarmup", home);
  else return SW_ERR_CONFIG;
  return (n < 0 || (size_t)n >= cap) ? SW_ERR_CONFIG : SW_OK;
}

/* Width of the pid written into the lock: always this many bytes, so that the
 * lock file is overwritten in place and never truncated. */
#define SW_LOCK_PID_WIDTH 20

sw_err sw_state_open(sw_state **out, const char *dir, char *msg, size_t msglen) {
  sw_err err = SW_ERR_IO;
  sw_state *s = NULL;
  char pidbuf[SW_LOCK_PID_WIDTH + 2], inner[SW_MSG_MAX];
  int n;

  *out = NULL;
  s = calloc(1, sizeof *s);
  if (s == NULL) return sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
  s->lock_fd = -1;
  sw_dir_init(&s->root);
  err = sw_dir_open_root(&s->root, dir, 1, msg, msglen);
  if (err) goto out;
  /* Never through a symlink, never truncated: a link planted here while the
   * dir was someone else's must not make us write into its target. */
  s->lock_fd = sw_dir_open_own_file(&s->root, "lock", O_RDWR | O_CREAT, 0600, inner, sizeof inner);
  if (s->lock_fd < 0) {
    if (errno == ELOOP || errno == EPERM) err = sw_fail(SW_ERR_IO, msg, msglen, "lock %s", inner);
    else err = sw_fail(SW_ERR_IO, msg, msglen, "state dir %s: %s", dir, strerror(errno));
    goto out;
  }
  if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      char holder[SW_LOCK_PID_WIDTH + 2] = "?";
      ssize_t r = pread(s->lock_fd, holder, sizeof holder - 1, 0);
      if (r > 0) {
        holder[r] = 0;
        holder[strcspn(holder, " \n")] = 0;
      }
      err = sw_fail(SW_ERR_LOCKED, msg, msglen,
                    "state dir %s is in use by another swarmup (pid %s); try again when it ends", dir,
                    holder);
    } else {
      err = sw_fail(SW_ERR_IO, msg, msglen, "lock %s/lock: %s", s->root.path, strerror(errno));
    }
    goto out;
  }
  /* The pid is informational only (the flock is the lock): a fixed-width
   * field overwritten in place. */
  n = snprintf(pidbuf, sizeof pidbuf, "%-*ld\n", SW_LOCK_PID_WIDTH, (long)getpid());
  if (pwrite(s->lock_fd, pidbuf, (size_t)n, 0) != n) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "write %s/lock: %s", s->root.path, strerror(errno));
    goto out;
  }
  *out = s;
  s = NULL;
  err = SW_OK;
out:
  sw_state_close(s);
  return err;
}

void sw_state_close(sw_state *s) {
  if (s == NULL) return;
  if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock */
  sw_dir_close(&s->root);
  free(s);
}

const sw_dir *sw_state_root(const sw_state *s) { return &s->root; }

/* Open STATE/<product>/<channel> (creating it if create; with create 0 a
 * missing one gives SW_OK and out->fd == -1). Every level is checked. */
static sw_err sw__pc_dir(const sw_state *s, const char *product, const char *channel, int create, sw_dir *out,
                         char *msg, size_t msglen) {
  const char *names[3];
  sw_dir_init(out);
  /* These names become path components: check them here too, whatever the caller did. */
  if (!sw_manifest_name_ok(product, strlen(product)) || !sw_manifest_name_ok(channel, strlen(channel)))
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "invalid product or channel name");
  names[0] = product;
  names[1] = channel;
  names[2] = NULL;
  return sw_dir_open_chain(out, &s->root, names, create, msg, msglen);
}

/* Is "product/channel" in ROOT/known? A missing registry is an empty one
 * (a state dir from before it existed, or a new one). */
static sw_err sw__known_has(const sw_state *s, const char *product, const char *channel, int *has, char *msg,
                            size_t msglen) {
  uint8_t *buf = NULL;
  size_t len = 0, mlen = strlen(SW_STATE_KNOWN_MAGIC), plen = strlen(product), clen = strlen(channel);
  const char *p, *end;
  sw_err err;

  *has = 0;
  if (!sw_dir_has_file(&s->root, SW_STATE_KNOWN)) {
    struct stat st;
    if (fstatat(s->root.fd, SW_STATE_KNOWN, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) return SW_OK;
    return sw_fail(SW_ERR_STATE_CORRUPT, msg, msglen, "%s/%s is not a regular file", s->root.path, SW_STATE_KNOWN);
  }
  err = sw_fs_read_at(s->root.fd, s->root.path, SW_STATE_KNOWN, SW_STATE_KNOWN_MAX, SW_ERR_STATE_CORRUPT, &buf, &len,
                      msg, msglen);
  if (err) goto out;
  err = sw_fail(SW_ERR_STATE_CORRUPT, msg, msglen, "%s/%s is corrupt", s->root.path, SW_STATE_KNOWN);
  if (len < mlen || memcmp(buf, SW_STATE_KNOWN_MAGIC, mlen) != 0) goto out;
  p = (const char *)buf + mlen;
  end = (const char *)buf + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p)), *slash;
    if (nl == NULL) goto out;
    slash = memchr(p, '/', (size_t)(nl - p));
    if (slash == NULL || !sw_manifest_name_ok(p, (size_t)(slash - p)) ||
        !sw_manifest_name_ok(slash + 1, (size_t)(nl - slash - 1)))
      goto out;
    if ((size_t)(slash - p) == plen && memcmp(p, product, plen) == 0 && (size_t)(nl - slash - 1) == clen &&
        memcmp(slash + 1, channel, clen) == 0)
      *has = 1;
    p = nl + 1;
  }
  err = SW_OK;
out:
  free(buf);
  return err;
}

/* Add "product/channel" to ROOT/known (atomically; under the lock). */
static sw_err sw__known_add(const sw_state *s, const char *product, const char *channel, char *msg, size_t msglen) {
  uint8_t *old = NULL, *text = NULL;
  size_t len = 0, n;
  sw_err err;
  if (sw_dir_has_file(&s->root, SW_STATE_KNOWN)) {
    err = sw_fs_read_at(s->root.fd, s->root.path, SW_STATE_KNOWN, SW_STATE_KNOWN_MAX, SW_ERR_STATE_CORRUPT, &old,
                        &len, msg, msglen);
    if (err) return err;
  }
  n = (len ? len : strlen(SW_STATE_KNOWN_MAGIC)) + strlen(product) + strlen(channel) + 2;
  if (n > SW_STATE_KNOWN_MAX) {
    free(old);
    return sw_fail(SW_ERR_STATE_CORRUPT, msg, msglen, "%s/%s would be over the %u-byte limit", s->root.path,
                   SW_STATE_KNOWN, SW_STATE_KNOWN_MAX);
  }
  text = malloc(n + 1);
  if (text == NULL) {
    free(old);
    return sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
  }
  if (len) memcpy(text, old, len);
  else len = (size_t)snprintf((char *)text, n + 1, "%s", SW_STATE_KNOWN_MAGIC);
  snprintf((char *)text + len, n + 1 - len, "%s/%s\n", product, channel);
  err = sw_fs_write_atomic_at(s->root.fd, s->root.path, SW_STATE_KNOWN, text, n, 0600, msg, msglen);
  free(old);
  free(text);
  return err;
}

/* A record time: "-" when unknown, else YYYY-MM-DDTHH:MM:SSZ. */
static void sw__fmt_time(int64_t t, char out[21]) {
  if (t == SW_STATE_TIME_UNKNOWN) snprintf(out, 21, "-");
  else sw_manifest_format_time(t, out);
}

sw_err sw_state_encode(const char *product, const char *channel, const sw_state_rec *rec, char *out,
                       size_t cap, size_t *len) {
  char hash_hex[65], date[21], expires[21], last[21], latest[21], sum_hex[65];
  uint8_t sum[32];
  int n;
  sw_hex(rec->manifest_sha256, 32, hash_hex);
  sw_manifest_format_time(rec->date, date);
  sw__fmt_time(rec->expires, expires);
  sw__fmt_time(rec->last_check, last);
  sw_manifest_format_time(rec->latest_known_time, latest);
  n = snprintf(out, cap,
               SW_STATE_MAGIC
               "product %s\n"
               "channel %s\n"
               "sequence %" PRIu64 "\n"
               "date %s\n"
               "expires %s\n"
               "manifest-sha256 %s\n"
               "version %s\n"
               "installed-sequence %" PRIu64 "\n"
               "installed-version %s\n"
               "last-check %s\n"
               "latest-known-time %s\n"
               "floor-version %" PRIu64 "\n",
               product, channel, rec->sequence, date, expires, hash_hex, rec->version, rec->installed_sequence,
               rec->installed_version, last, latest, rec->floor_version);
  if (n < 0 || (size_t)n + 80 >= cap) return SW_ERR_INTERNAL;
  sw_sha256((const uint8_t *)out, (size_t)n, sum);
  sw_hex(sum, 32, sum_hex);
  n += snprintf(out + n, cap - (size_t)n, "checksum %s\n", sum_hex);
  *len = (size_t)n;
  return SW_OK;
}

/* Take "key value\n" at *p; value must be printable ASCII (may be empty). */
static int sw__take(const char **p, const char *end, const char *key, char *val, size_t cap) {
  size_t klen = strlen(key), i = 0;
  const char *q = *p;
  if ((size_t)(end - q) < klen + 1 || memcmp(q, key, klen) != 0 || q[klen] != ' ') return -1;
  q += klen + 1;
  while (q < end && *q != '\n') {
    if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e || i + 1 >= cap) return -1;
    val[i++] = *q++;
  }
  if (q >= end) return -1;
  val[i] = 0;
  *p = q + 1;
  return 0;
}


/* A record time: "-" (only where unknown_ok) or a strict UTC time. */
static int sw__time(const char *s, int unknown_ok, int64_t *out) {
  if (unknown_ok && strcmp(s, "-") == 0) {
    *out = SW_STATE_TIME_UNKNOWN;
    return 0;
  }
  return sw_manifest_parse_time(s, strlen(s), out) == SW_OK ? 0 : -1;
}

sw_err sw_state_decode(const uint8_t *buf, size_t len, const char *product, const char *channel,
                       sw_state_rec *rec, char *msg, size_t msglen) {
  const char *p = (const char *)buf, *end = p + len, *sum_at;
  char v[SW_VERSION_MAX + 80];
  uint8_t want[32], got[32];
  size_t mlen = strlen(SW_STATE_MAGIC);
  int format;

  memset(rec, 0, sizeof *rec);
  /* All magics have the same length; the version is the only difference. */
  if (len < mlen) goto bad;
  if (memcmp(p, SW_STATE_MAGIC, mlen) == 0) format = 3;
  else if (memcmp(p, SW_STATE_MAGIC_V2, mlen) == 0) format = 2;
  else if (memcmp(p, SW_STATE_MAGIC_V1, mlen) == 0) format = 1;
  else goto bad;
  p += mlen;
  rec->format = format;
  rec->expires = SW_STATE_TIME_UNKNOWN;
  rec->last_check = SW_STATE_TIME_UNKNOWN;
  if (sw__take(&p, end, "product", v, sizeof v) || strcmp(v, product) != 0) goto bad;
  if (sw__take(&p, end, "channel", v, sizeof v) || strcmp(v, channel) != 0) goto bad;
  if (sw__take(&p, end, "sequence", v, sizeof v) || sw_text_u64(v, strlen(v), &rec->sequence)) goto bad;
  if (sw__take(&p, end, "date", v, sizeof v) || sw__time(v, 0, &rec->date)) goto bad;
  if (format >= 2 && (sw__take(&p, end, "expires", v, sizeof v) || sw__time(v, 1, &rec->expires))) goto bad;
  if (sw__take(&p, end, "manifest-sha256", v, sizeof v) ||
      sw_text_unhex(v, strlen(v), rec->manifest_sha256, 32))
    goto bad;
  if (sw__take(&p, end, "version", v, sizeof v) || strlen(v) > SW_VERSION_MAX) goto bad;
  memcpy(rec->version, v, strlen(v) + 1);
  if (sw__take(&p, end, "installed-sequence", v, sizeof v) ||
      sw_text_u64(v, strlen(v), &rec->installed_sequence))
    goto bad;
  if (sw__take(&p, end, "installed-version", v, sizeof v) || strlen(v) > SW_VERSION_MAX) goto bad;
  memcpy(rec->installed_version, v, strlen(v) + 1);
  if (format >= 2) {
    if (sw__take(&p, end, "last-check", v, sizeof v) || sw__time(v, 1, &rec->last_check)) goto bad;
    if (sw__take(&p, end, "latest-known-time", v, sizeof v) || sw__time(v, 0, &rec->latest_known_time)) goto bad;
    /* The latest known time is a maximum that includes these: anything else was not written by us. */
    if (rec->latest_known_time < rec->date) goto bad;
    if (rec->last_check != SW_STATE_TIME_UNKNOWN && rec->latest_known_time < rec->last_check) goto bad;
  } else {
    /* Migrating format 1: the accepted Date is the one time known to have passed. */
    rec->latest_known_time = rec->date;
  }
  if (format >= 3 &&
      (sw__take(&p, end, "floor-version", v, sizeof v) || sw_text_u64(v, strlen(v), &rec->floor_version)))
    goto bad;
  sum_at = p;
  if (sw__take(&p, end, "checksum", v, sizeof v) || sw_text_unhex(v, strlen(v), want, 32) || p != end) goto bad;
  sw_sha256(buf, (size_t)(sum_at - (const char *)buf), got);
  if (memcmp(want, got, 32) != 0) goto bad;
  rec->have = 1;
  return SW_OK;
bad:
  memset(rec, 0, sizeof *rec);
  return sw_fail(SW_ERR_STATE_CORRUPT, msg, msglen,
                 "state file for %s/%s is corrupt; refusing to guess (move it away to start over, "
                 "which drops rollback protection for this product)",
                 product, channel);
}

/* A key statement's Sequence-Floor newer than the one this record applied
 * last (keystore.h): applied in memory; durable with the next save, and
 * applied again by the next load until then (so a crash loses nothing). */
static sw_err sw__apply_floor(const sw_state *s, const char *product, const char *channel, sw_state_rec *rec,
                              char *msg, size_t msglen) {
  uint64_t floor = 0, version = 0;
  int has = 0;
  sw_err err = sw_keystore_floor_of(s, product, channel, &has, &floor, &version, msg, msglen);
  if (err || !has || version <= rec->floor_version) return err;
  /* Nothing accepted yet: nothing to lower, but the floor counts as applied,
   * or a later load would lower what this channel accepts from now on. */
  if (rec->have) {
    rec->sequence = floor;
    if (rec->installed_sequence > floor) rec->installed_sequence = floor;
  }
  rec->floor_version = version;
  return SW_OK;
}

sw_err sw_state_load(sw_state *s, const char *product, const char *channel, sw_state_rec *rec,
                     char *msg, size_t msglen) {
  char path[SW_DIR_PATH_MAX + 16];
  uint8_t *buf = NULL;
  size_t len = 0;
  sw_dir d;
  sw_err err;
  int has = 0;

  memset(rec, 0, sizeof *rec);
  err = sw__pc_dir(s, product, channel, 0, &d, msg, msglen);
  if (err) return err;
  snprintf(path, sizeof path, "%s/%s/%s/state", s->root.path, product, channel);
  if (d.fd < 0 || !sw_dir_has_file(&d, "state")) {
    struct stat st;
    if (d.fd >= 0 && !(fstatat(d.fd, "state", &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)) {
      err = sw_fail(SW_ERR_STATE_CORRUPT, msg, msglen, "%s is not a regular file; refusing to guess", path);
      goto out;
    }
    /* No state file: nothing accepted yet, unless a run before us wrote one. */
    err = sw__known_has(s, product, channel, &has, msg, msglen);
    if (err == SW_OK && has)
      err = sw_fail(SW_ERR_STATE_MISSING, msg, msglen,
                    "state file %s is missing, but an earlier run recorded one; refusing to start over from "
                    "sequence 0 (to start over on purpose, remove the line \"%s/%s\" from %s/%s)",
                    path, product, channel, s->root.path, SW_STATE_KNOWN);
    goto out;
  }
  err = sw_fs_read_at(d.fd, d.path, "state", SW_STATE_MAX, SW_ERR_STATE_CORRUPT, &buf, &len, msg, msglen);
  if (err == SW_OK) err = sw_state_decode(buf, len, product, channel, rec, msg, msglen);
  if (err == SW_OK && sw__known_has(s, product, channel, &has, NULL, 0) == SW_OK && !has) {
    /* A state file from before STATE/known existed: register it now, so that
     * losing it from here on is noticed. Best effort (a read-only state dir
     * must still be readable); sw_state_save tries again. */
    (void)sw__known_add(s, product, channel, NULL, 0);
  }
  if (err == SW_ERR_STATE_CORRUPT) {
    char inner[SW_MSG_MAX];
    snprintf(inner, sizeof inner, "%s", msg ? msg : "");
    err = sw_fail(err, msg, msglen, "%s (%s)", inner, path);
  }
out:
  if (err == SW_OK) err = sw__apply_floor(s, product, channel, rec, msg, msglen);
  sw_dir_close(&d);
  free(buf);
  return err;
}

sw_err sw_state_save(sw_state *s, const char *product, const char *channel, const sw_state_rec *rec,
                     char *msg, size_t msglen) {
  char text[SW_STATE_MAX];
  size_t len = 0;
  sw_dir d;
  int has = 0;
  sw_err err;
  if (sw_state_encode(product, channel, rec, text, sizeof text, &len) != SW_OK)
    return sw_fail(SW_ERR_INTERNAL, msg, msglen, "state record does not fit");
  err = sw__pc_dir(s, product, channel, 1, &d, msg, msglen);
  if (err) return err;
  err = sw_fs_write_atomic_at(d.fd, d.path, "state", (const uint8_t *)text, len, 0600, msg, msglen);
  sw_dir_close(&d);
  if (err) return err;
  /* Registered after the file exists: a crash in between leaves a state file
   * that is not yet registered (registered on the next save), never a
   * registered one that was never written. */
  err = sw__known_has(s, product, channel, &has, msg, msglen);
  if (err == SW_OK && !has) err = sw__known_add(s, product, channel, msg, msglen);
  return err;
}

sw_err sw_state_keep_manifest(sw_state *s, const char *product, const char *channel, uint64_t sequence,
                              const uint8_t *manifest, size_t manifest_len, const uint8_t *sig,
                              size_t sig_len, char *msg, size_t msglen) {
  char name[64];
  sw_dir d, md;
  sw_err err = sw__pc_dir(s, product, channel, 1, &d, msg, msglen);
  if (err) return err;
  err = sw_dir_open_sub(&md, &d, "manifests", 1, msg, msglen);
  sw_dir_close(&d);
  if (err) return err;
  /* The signature first: a manifest file present means its signature is too. */
  snprintf(name, sizeof name, "%" PRIu64 ".manifest.sig", sequence);
  err = sw_fs_write_atomic_at(md.fd, md.path, name, sig, sig_len, 0644, msg, msglen);
  if (err == SW_OK) {
    snprintf(name, sizeof name, "%" PRIu64 ".manifest", sequence);
    err = sw_fs_write_atomic_at(md.fd, md.path, name, manifest, manifest_len, 0644, msg, msglen);
  }
  sw_dir_close(&md);
  return err;
}
