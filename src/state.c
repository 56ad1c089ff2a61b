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
#include "manifest.h"

struct sw_state {
  char dir[2048];
  int lock_fd;
};

#define SW_STATE_MAGIC "swarmup-state 2\n"
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

sw_err sw_state_open(sw_state **out, const char *dir, char *msg, size_t msglen) {
  sw_err err = SW_ERR_IO;
  sw_state *s = NULL;
  char path[2300], pidbuf[32];
  int n;

  *out = NULL;
  if (strlen(dir) >= sizeof s->dir) return sw_fail(SW_ERR_CONFIG, msg, msglen, "state dir path too long");
  err = sw_fs_mkdirs(dir, 0700, msg, msglen);
  if (err) goto out;
  s = calloc(1, sizeof *s);
  if (s == NULL) {
    err = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
    goto out;
  }
  s->lock_fd = -1;
  snprintf(s->dir, sizeof s->dir, "%s", dir);
  snprintf(path, sizeof path, "%s/lock", dir);
  s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->lock_fd < 0) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "state dir %s: %s", dir, strerror(errno));
    goto out;
  }
  if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      char holder[32] = "?";
      ssize_t r = pread(s->lock_fd, holder, sizeof holder - 1, 0);
      if (r > 0) {
        holder[r] = 0;
        holder[strcspn(holder, "\n")] = 0;
      }
      err = sw_fail(SW_ERR_LOCKED, msg, msglen,
                    "state dir %s is in use by another swarmup (pid %s); try again when it ends", dir,
                    holder);
    } else {
      err = sw_fail(SW_ERR_IO, msg, msglen, "lock %s: %s", path, strerror(errno));
    }
    goto out;
  }
  /* The pid is informational only (the flock is the lock). */
  n = snprintf(pidbuf, sizeof pidbuf, "%ld\n", (long)getpid());
  if (ftruncate(s->lock_fd, 0) != 0 || pwrite(s->lock_fd, pidbuf, (size_t)n, 0) != n) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "write %s: %s", path, strerror(errno));
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
  free(s);
}

static sw_err sw__pc_dir(const sw_state *s, const char *product, const char *channel, char *out,
                         size_t cap, char *msg, size_t msglen) {
  /* These names become path components: check them here too, whatever the caller did. */
  if (!sw_manifest_name_ok(product, strlen(product)) || !sw_manifest_name_ok(channel, strlen(channel)))
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "invalid product or channel name");
  if ((size_t)snprintf(out, cap, "%s/%s/%s", s->dir, product, channel) >= cap)
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "state path too long");
  return SW_OK;
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
               "latest-known-time %s\n",
               product, channel, rec->sequence, date, expires, hash_hex, rec->version, rec->installed_sequence,
               rec->installed_version, last, latest);
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

static int sw__u64(const char *s, uint64_t *out) {
  uint64_t v = 0;
  if (*s == 0 || (s[0] == '0' && s[1] != 0)) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) return -1;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = v;
  return 0;
}

static int sw__unhex(const char *s, uint8_t *out, size_t n) {
  if (strlen(s) != 2 * n) return -1;
  for (size_t i = 0; i < 2 * n; i++) {
    int c = s[i], v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else return -1;
    if (i % 2 == 0) out[i / 2] = (uint8_t)(v << 4);
    else out[i / 2] |= (uint8_t)v;
  }
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
  /* Both magics have the same length; the version is the only difference. */
  if (len < mlen) goto bad;
  if (memcmp(p, SW_STATE_MAGIC, mlen) == 0) format = 2;
  else if (memcmp(p, SW_STATE_MAGIC_V1, mlen) == 0) format = 1;
  else goto bad;
  p += mlen;
  rec->format = format;
  rec->expires = SW_STATE_TIME_UNKNOWN;
  rec->last_check = SW_STATE_TIME_UNKNOWN;
  if (sw__take(&p, end, "product", v, sizeof v) || strcmp(v, product) != 0) goto bad;
  if (sw__take(&p, end, "channel", v, sizeof v) || strcmp(v, channel) != 0) goto bad;
  if (sw__take(&p, end, "sequence", v, sizeof v) || sw__u64(v, &rec->sequence)) goto bad;
  if (sw__take(&p, end, "date", v, sizeof v) || sw__time(v, 0, &rec->date)) goto bad;
  if (format >= 2 && (sw__take(&p, end, "expires", v, sizeof v) || sw__time(v, 1, &rec->expires))) goto bad;
  if (sw__take(&p, end, "manifest-sha256", v, sizeof v) || sw__unhex(v, rec->manifest_sha256, 32)) goto bad;
  if (sw__take(&p, end, "version", v, sizeof v) || strlen(v) > SW_VERSION_MAX) goto bad;
  memcpy(rec->version, v, strlen(v) + 1);
  if (sw__take(&p, end, "installed-sequence", v, sizeof v) || sw__u64(v, &rec->installed_sequence)) goto bad;
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
  sum_at = p;
  if (sw__take(&p, end, "checksum", v, sizeof v) || sw__unhex(v, want, 32) || p != end) goto bad;
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

sw_err sw_state_load(sw_state *s, const char *product, const char *channel, sw_state_rec *rec,
                     char *msg, size_t msglen) {
  char dir[2300], path[2400];
  uint8_t *buf = NULL;
  size_t len = 0;
  sw_err err;

  memset(rec, 0, sizeof *rec);
  err = sw__pc_dir(s, product, channel, dir, sizeof dir, msg, msglen);
  if (err) return err;
  snprintf(path, sizeof path, "%s/state", dir);
  if (access(path, F_OK) != 0 && errno == ENOENT) return SW_OK; /* nothing accepted yet */
  err = sw_fs_read_file(path, SW_STATE_MAX, SW_ERR_STATE_CORRUPT, &buf, &len, msg, msglen);
  if (err == SW_OK) err = sw_state_decode(buf, len, product, channel, rec, msg, msglen);
  if (err == SW_ERR_STATE_CORRUPT) {
    char inner[SW_MSG_MAX];
    snprintf(inner, sizeof inner, "%s", msg ? msg : "");
    err = sw_fail(err, msg, msglen, "%s (%s)", inner, path);
  }
  free(buf);
  return err;
}

sw_err sw_state_save(sw_state *s, const char *product, const char *channel, const sw_state_rec *rec,
                     char *msg, size_t msglen) {
  char dir[2300], text[SW_STATE_MAX];
  size_t len = 0;
  sw_err err = sw__pc_dir(s, product, channel, dir, sizeof dir, msg, msglen);
  if (err) return err;
  if (sw_state_encode(product, channel, rec, text, sizeof text, &len) != SW_OK)
    return sw_fail(SW_ERR_INTERNAL, msg, msglen, "state record does not fit");
  err = sw_fs_mkdirs(dir, 0700, msg, msglen);
  if (err) return err;
  return sw_fs_write_atomic(dir, "state", (const uint8_t *)text, len, 0600, msg, msglen);
}

sw_err sw_state_keep_manifest(sw_state *s, const char *product, const char *channel, uint64_t sequence,
                              const uint8_t *manifest, size_t manifest_len, const uint8_t *sig,
                              size_t sig_len, char *msg, size_t msglen) {
  char dir[2400], name[64];
  sw_err err = sw__pc_dir(s, product, channel, dir, sizeof dir - 16, msg, msglen);
  if (err) return err;
  strcat(dir, "/manifests");
  err = sw_fs_mkdirs(dir, 0700, msg, msglen);
  if (err) return err;
  /* The signature first: a manifest file present means its signature is too. */
  snprintf(name, sizeof name, "%" PRIu64 ".manifest.sig", sequence);
  err = sw_fs_write_atomic(dir, name, sig, sig_len, 0644, msg, msglen);
  if (err) return err;
  snprintf(name, sizeof name, "%" PRIu64 ".manifest", sequence);
  return sw_fs_write_atomic(dir, name, manifest, manifest_len, 0644, msg, msglen);
}
