#include "release.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "fsutil.h"
#include "http.h"
#include "keystore.h"
#include "out.h"
#include "sw_limits.h"

/* A warning of the key walk: a line on stderr, or with --json a JSON object on stdout. */
static void sw__warn(void *arg, const char *text) {
  const sw_opts *o = arg;
  if (o->json) {
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", "warning");
    sw_json_str(&j, "product", o->product);
    sw_json_str(&j, "message", text);
    sw_json_end(&j);
  } else {
    fprintf(stderr, "swarmup: warning: %s\n", text);
  }
}

/* The trust from key statements: walk to the newest statement and judge its
 * expiry; open its Key as *fresh only when its Version is not `have` (the
 * expiry warning goes with an opening, not with every walk of a running seed). */
sw_err sw_release_keys_walk(const sw_opts *o, uint64_t have, uint64_t *version, unsigned *threshold,
                            sw_pgp **fresh, char *msg, size_t msglen) {
  sw_keys *k = NULL;
  sw_state *st = NULL;
  char w[SW_MSG_MAX], t[21];
  int64_t warn_in = -1;
  sw_err err;

  *fresh = NULL;
  k = calloc(1, sizeof *k);
  if (k == NULL) return sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
  if (o->state_dir) {
    err = sw_state_open(&st, o->state_dir, msg, msglen);
    if (err) goto out;
  }
  err = sw_keystore_newest(o, st, k, sw__warn, (void *)o, msg, msglen);
  if (err) goto out;
  err = sw_keystore_judge(k, sw_release_now(), &warn_in, msg, msglen);
  if (err) goto out;
  *version = k->version;
  *threshold = k->threshold;
  if (k->version == have) goto out;
  if (warn_in >= 0) {
    sw_manifest_format_time(k->expires, t);
    snprintf(w, sizeof w,
             "key statement %llu expires at %s (in %lld days); the publisher must publish statement %llu before then",
             (unsigned long long)k->version, t, (long long)(warn_in / 86400), (unsigned long long)k->version + 1);
    sw__warn((void *)o, w);
  }
  err = sw_keys_open_signers(k, fresh, msg, msglen);
out:
  sw_state_close(st);
  free(k);
  return err;
}

static sw_err sw__open_chain(sw_opts *o, sw_pgp **pgp, uint64_t *version, char *msg, size_t msglen) {
  uint64_t v = 0;
  unsigned thr = 0;
  sw_err err = sw_release_keys_walk(o, 0, &v, &thr, pgp, msg, msglen);
  if (err) return err;
  /* Every later user of o->threshold (manifest, package gate) follows the statement. */
  o->threshold = thr;
  if (version) *version = v;
  return SW_OK;
}

sw_err sw_release_open_keys(sw_opts *o, sw_pgp **pgp, char *msg, size_t msglen) {
  return sw_release_open_keys_at(o, pgp, NULL, msg, msglen);
}

sw_err sw_release_open_keys_at(sw_opts *o, sw_pgp **pgp, uint64_t *version, char *msg, size_t msglen) {
  sw_err err;
  if (version) *version = 0;
  err = sw_opts_check_trust(o, msg, msglen);
  if (err) return err;
  if (o->trusted_keys) return sw__open_chain(o, pgp, version, msg, msglen);
  if (o->n_trusted_key == 0)
    return sw_fail(SW_ERR_CONFIG, msg, msglen,
                   "no --trusted-key or --trusted-keys given: the publisher's public key is required");
  err = sw_pgp_open(pgp, (const char *const *)o->trusted_key, o->n_trusted_key, msg, msglen);
  if (err == SW_ERR_IO) err = SW_ERR_CONFIG; /* an unreadable key file is a configuration error */
  if (err) return err;
  /* A threshold no set of signatures could meet would refuse every manifest as
   * if it were forged: it is the configuration that is wrong, so say that. */
  if (o->threshold > sw_pgp_key_count(*pgp)) {
    size_t n = sw_pgp_key_count(*pgp);
    err = sw_fail(SW_ERR_CONFIG, msg, msglen,
                  "--threshold %llu needs at least %llu trusted keys, but --trusted-key gives %zu key%s",
                  (unsigned long long)o->threshold, (unsigned long long)o->threshold, n, n == 1 ? "" : "s");
    sw_pgp_free(*pgp);
    *pgp = NULL;
  }
  return err;
}

int sw_release_is_url(const char *s) { return strncasecmp(s, "https://", 8) == 0 || strstr(s, "://") != NULL; }

sw_err sw_release_get(const sw_opts *o, const char *src, size_t max, sw_err too_big_err, uint8_t **buf,
                      size_t *len, char *msg, size_t msglen) {
  return sw_release_get_on(NULL, o, src, max, too_big_err, buf, len, msg, msglen);
}

sw_err sw_release_get_on(sw_http *http, const sw_opts *o, const char *src, size_t max, sw_err too_big_err,
                         uint8_t **buf, size_t *len, char *msg, size_t msglen) {
  sw_err err;
  uv_loop_t loop;
  sw_http_opts hopts;
  if (!sw_release_is_url(src)) return sw_fs_read_file(src, max, too_big_err, buf, len, msg, msglen);
  if (strncasecmp(src, "https://", 8) != 0)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "refusing non-HTTPS URL %.200s", src);
  if (http != NULL) {
    err = sw_http_fetch_mem_on(http, src, max, buf, len, msg, msglen);
  } else {
    memset(&hopts, 0, sizeof hopts);
    hopts.ca_file = o->ca_file;
    if (uv_loop_init(&loop) != 0) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "uv_loop_init failed");
    err = sw_http_fetch_mem(&loop, &hopts, src, max, buf, len, msg, msglen);
    uv_run(&loop, UV_RUN_DEFAULT); /* let closing handles finish */
    uv_loop_close(&loop);
  }
  if (err == SW_ERR_HTTP_TOO_BIG) {
    char inner[SW_MSG_MAX];
    snprintf(inner, sizeof inner, "%s", msg ? msg : "");
    err = sw_fail(too_big_err, msg, msglen, "%.200s is over the %zu-byte limit (%s)", src, max, inner);
  }
  return err;
}

/* Check the signature over r->manifest, then parse exactly those bytes. */
static sw_err sw__release_verify(const sw_opts *o, sw_pgp *pgp, sw_release *r, char *msg, size_t msglen) {
  sw_err err;
  char inner[SW_MSG_MAX];
  sw_sha256(r->manifest, r->manifest_len, r->manifest_sha256);

  uint64_t t0 = uv_hrtime();
  err = sw_pgp_verify_mem(pgp, SW_PGP_PURPOSE_MANIFEST, r->sig, r->sig_len, r->manifest, r->manifest_len,
                          (unsigned)o->threshold, &r->pgp);
  r->verify_ms = (uv_hrtime() - t0) / 1000000u;
  if (err) {
    err = sw_fail(err, msg, msglen, "cannot check the manifest signature: %s", r->pgp.reason);
    return err;
  }
  if (!r->pgp.accepted) {
    err = sw_fail(SW_ERR_MANIFEST_SIG, msg, msglen, "manifest rejected: signature: %s", r->pgp.reason);
    return err;
  }

  /* Only now, and only these bytes, reach the parser. */
  r->m = calloc(1, sizeof *r->m);
  if (r->m == NULL) {
    err = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
    return err;
  }
  err = sw_manifest_parse(r->manifest, r->manifest_len, r->m, inner, sizeof inner);
  if (err) {
    err = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "manifest rejected: %s", inner);
    return err;
  }
  return SW_OK;
}

sw_err sw_release_load(const sw_opts *o, sw_pgp *pgp, sw_release *r, char *msg, size_t msglen) {
  return sw_release_load_on(NULL, o, pgp, r, msg, msglen);
}

sw_err sw_release_load_on(sw_http *http, const sw_opts *o, sw_pgp *pgp, sw_release *r, char *msg, size_t msglen) {
  sw_err err = SW_ERR_INTERNAL;
  char sigsrc[SW_URL_MAX + 8], inner[SW_MSG_MAX];

  memset(r, 0, sizeof *r);
  if (o->manifest == NULL) return sw_fail(SW_ERR_USAGE, msg, msglen, "--manifest is required");
  if (o->manifest_sig) snprintf(sigsrc, sizeof sigsrc, "%s", o->manifest_sig);
  else if ((size_t)snprintf(sigsrc, sizeof sigsrc, "%s.sig", o->manifest) >= sizeof sigsrc)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "manifest source name too long");

  /* One read of the manifest: these bytes are verified, hashed and parsed. */
  err = sw_release_get_on(http, o, o->manifest, SW_MANIFEST_MAX, SW_ERR_MANIFEST_SYNTAX, &r->manifest,
                          &r->manifest_len, inner, sizeof inner);
  if (err == SW_ERR_MANIFEST_SYNTAX) {
    err = sw_fail(err, msg, msglen, "manifest rejected: %s", inner);
    goto out;
  }
  if (err) {
    err = sw_fail(err, msg, msglen, "cannot read manifest: %s", inner);
    goto out;
  }
  err = sw_release_get_on(http, o, sigsrc, SW_MANIFEST_SIG_MAX, SW_ERR_MANIFEST_SIG, &r->sig, &r->sig_len, inner,
                          sizeof inner);
  if (err == SW_ERR_IO || err == SW_ERR_HTTP || err == SW_ERR_MANIFEST_SIG) {
    /* No signature is a rejection of the manifest, not a transport problem. */
    err = sw_fail(SW_ERR_MANIFEST_SIG, msg, msglen, "manifest rejected: no usable signature: %s", inner);
    goto out;
  }
  if (err) {
    err = sw_fail(err, msg, msglen, "cannot read manifest signature: %s", inner);
    goto out;
  }
  err = sw__release_verify(o, pgp, r, msg, msglen);
  if (err) goto out;
  err = SW_OK;
out:
  if (err) {
    free(r->m);
    r->m = NULL;
  }
  return err;
}

int64_t sw_release_now(void) { return (int64_t)time(NULL); }

/* The policy's view of the state. */
static void sw__policy_of(const sw_opts *o, const sw_state_rec *rec, int64_t now, sw_policy *pol,
                          sw_policy_prev *prev) {
  memset(prev, 0, sizeof *prev);
  prev->have = rec->have;
  prev->sequence = rec->sequence;
  prev->date = rec->date;
  prev->latest_known_time = rec->latest_known_time;
  memcpy(prev->manifest_sha256, rec->manifest_sha256, 32);
  memset(pol, 0, sizeof *pol);
  pol->product = o->product;
  pol->channel = o->channel;
  pol->now = now;
  pol->max_clock_skew = (int64_t)o->max_clock_skew;
  pol->max_validity = (int64_t)o->max_validity;
}

static int64_t sw__max64(int64_t a, int64_t b) { return a > b ? a : b; }

sw_err sw_release_check_fresh(const sw_opts *o, sw_state *st, const sw_release *r, sw_fresh *fresh,
                              sw_state_rec *rec, char *msg, size_t msglen) {
  sw_policy pol;
  sw_policy_prev prev;
  char inner[SW_MSG_MAX];
  int64_t now = sw_release_now();
  sw_err err;

  *fresh = SW_FRESH_REJECTED;
  err = sw_state_load(st, o->product, o->channel, rec, msg, msglen);
  if (err) return err;
  sw__policy_of(o, rec, now, &pol, &prev);
  err = sw_policy_check(&pol, r->m, r->manifest_sha256, &prev, fresh, inner, sizeof inner);
  if (err == SW_ERR_STALE) {
    /* Stale when the accepted manifest itself has expired (offered again, or
     * its validity passed); an expired *other* manifest next to a valid
     * accepted one is a plain rejection. */
    sw_release_stale_info info;
    int same = rec->have && r->m->sequence == rec->sequence &&
               memcmp(r->manifest_sha256, rec->manifest_sha256, 32) == 0;
    if (rec->have) sw_release_stale_info_of(o, rec, now, &info);
    if (same || (rec->have && info.expired)) return sw_release_stale(o, st, rec, err, inner, msg, msglen);
    return sw_fail(SW_ERR_MANIFEST_POLICY, msg, msglen, "manifest rejected: %s", inner);
  }
  if (err == SW_ERR_CLOCK) return sw_fail(err, msg, msglen, "%s", inner);
  if (err) return sw_fail(err, msg, msglen, "manifest rejected: %s", inner);
  if (*fresh != SW_FRESH_NEWER && *fresh != SW_FRESH_SAME)
    return sw_fail(SW_ERR_MANIFEST_POLICY, msg, msglen, "manifest rejected: policy gave no verdict");
  /* A successful check: note its clock; the latest known time only moves forward. */
  rec->last_check = now;
  rec->latest_known_time = sw__max64(rec->have ? rec->latest_known_time : now, sw__max64(now, r->m->date));
  if (*fresh == SW_FRESH_SAME) rec->expires = r->m->expires; /* fills what a format 1 record lacked */
  return SW_OK;
}

sw_err sw_release_record(sw_state *st, const sw_release *r, sw_state_rec *rec, char *msg, size_t msglen) {
  sw_err err = sw_state_keep_manifest(st, r->m->product, r->m->channel, r->m->sequence, r->manifest,
                                      r->manifest_len, r->sig, r->sig_len, msg, msglen);
  if (err) return err;
  rec->have = 1;
  rec->sequence = r->m->sequence;
  rec->date = r->m->date;
  rec->expires = r->m->expires;
  memcpy(rec->manifest_sha256, r->manifest_sha256, 32);
  snprintf(rec->version, sizeof rec->version, "%s", r->m->version);
  /* sw_release_check_fresh noted the check; keep the record's invariant whatever the caller did. */
  if (rec->latest_known_time < rec->date) rec->latest_known_time = rec->date;
  return sw_state_save(st, r->m->product, r->m->channel, rec, msg, msglen);
}

void sw_release_note_saved(sw_state *st, const sw_opts *o, const sw_state_rec *rec, const char *command) {
  char m[SW_MSG_MAX];
  if (sw_state_save(st, o->product, o->channel, rec, m, sizeof m) != SW_OK)
    fprintf(stderr, "swarmup %s: warning: this check was not recorded (%s); the latest known time did not move\n",
            command, m);
}

void sw_release_stale_info_of(const sw_opts *o, const sw_state_rec *rec, int64_t now, sw_release_stale_info *info) {
  sw_policy pol;
  sw_policy_prev prev;
  sw__policy_of(o, rec, now, &pol, &prev);
  info->since = rec->last_check;
  info->valid_until = rec->expires == SW_STATE_TIME_UNKNOWN
                          ? SW_STATE_TIME_UNKNOWN
                          : sw_policy_valid_until(&pol, rec->date, rec->expires);
  info->expired = info->valid_until != SW_STATE_TIME_UNKNOWN &&
                  info->valid_until <= sw_policy_effective_now(&pol, &prev);
}

static void sw__fmt_known(int64_t t, char out[21]) {
  if (t == SW_STATE_TIME_UNKNOWN) snprintf(out, 21, "unknown");
  else sw_manifest_format_time(t, out);
}

sw_err sw_release_stale(const sw_opts *o, sw_state *st, sw_state_rec *rec, sw_err cause, const char *cause_msg,
                        char *msg, size_t msglen) {
  char why[SW_MSG_MAX], inner[SW_MSG_MAX], since[21], until[21];
  sw_release_stale_info info;
  sw_policy pol;
  sw_policy_prev prev;
  int64_t now = sw_release_now();
  sw_err err;

  snprintf(why, sizeof why, "%s", cause_msg ? cause_msg : ""); /* cause_msg may be msg */
  if (!rec->have) {
    if (cause == SW_ERR_STALE) return sw_fail(SW_ERR_MANIFEST_POLICY, msg, msglen, "manifest rejected: %s", why);
    return sw_fail(cause, msg, msglen, "%s", why);
  }
  /* A clock set back says nothing true about expiry: that is the error then. */
  sw__policy_of(o, rec, now, &pol, &prev);
  err = sw_policy_check_clock(&pol, &prev, inner, sizeof inner);
  if (err) return sw_fail(err, msg, msglen, "%s (and no fresh manifest: %.200s)", inner, why);
  sw_release_stale_info_of(o, rec, now, &info);
  if (info.expired && info.valid_until > rec->latest_known_time) {
    /* Seen expired by this clock: from now on a clock set back before that
     * (beyond the skew) is refused, instead of reviving the manifest. Bounded
     * by a signed Expires, so a clock set far forward cannot push it further. */
    rec->latest_known_time = info.valid_until;
    /* Best effort, like any note of a check: the stale report matters more. */
    if (sw_state_save(st, o->product, o->channel, rec, inner, sizeof inner) != SW_OK)
      fprintf(stderr, "swarmup: warning: the expiry seen was not recorded (%s)\n", inner);
  }
  sw__fmt_known(info.since, since);
  sw__fmt_known(info.valid_until, until);
  return sw_fail(SW_ERR_STALE, msg, msglen,
                 "stale: no fresh manifest since %s (%.300s); the last accepted, sequence %llu (version %.64s), %s %s",
                 since, why, (unsigned long long)rec->sequence, rec->version,
                 info.expired ? "expired at" : "is valid until", until);
}

sw_err sw_release_unavailable(const sw_opts *o, sw_state **st, sw_state_rec *rec, sw_err err, char *msg,
                              size_t msglen) {
  char state_msg[SW_MSG_MAX];
  sw_state *own = NULL;
  /* Only "could not be had": a rejection (signature, syntax) says so already. */
  if (err != SW_ERR_IO && err != SW_ERR_HTTP && err != SW_ERR_TLS && err != SW_ERR_HTTP_SLOW &&
      err != SW_ERR_DOWNLOAD)
    return err;
  if (*st == NULL) {
    /* No state dir: nothing was accepted, and an outage should not create one. */
    if (access(o->state_dir, F_OK) != 0) return err;
    if (sw_state_open(&own, o->state_dir, state_msg, sizeof state_msg) != SW_OK) return err;
    *st = own;
  }
  if (sw_state_load(*st, o->product, o->channel, rec, state_msg, sizeof state_msg) != SW_OK) return err;
  return sw_release_stale(o, *st, rec, err, msg, msg, msglen);
}

void sw_release_free(sw_release *r) {
  if (r == NULL) return;
  free(r->manifest);
  free(r->sig);
  free(r->m);
  memset(r, 0, sizeof *r);
}

/* ---- the same, without blocking the loop: bytes over the loop's HTTPS
 * client, signature check and parsing on the thread pool. ------------------ */

struct sw_release_job {
  uv_loop_t *loop;
  sw_http *http;
  const sw_opts *o;
  sw_pgp *pgp;
  sw_release *r;
  sw_release_done_fn done;
  void *arg;
  uv_work_t work;
  int stage;               /* 0: manifest, 1: signature, 2: verifying */
  uint8_t *buf;
  size_t len, max;
  sw_err err;
  char sigsrc[SW_URL_MAX + 8];
  char msg[SW_MSG_MAX];
};

static void sw__job_finish(sw_release_job *j, sw_err err, const char *msg) {
  if (err) {
    free(j->r->m);
    j->r->m = NULL;
  }
  j->done(j->arg, err, msg);
  free(j->buf);
  free(j);
}

static void sw__job_work(uv_work_t *w) {
  sw_release_job *j = w->data;
  j->err = sw__release_verify(j->o, j->pgp, j->r, j->msg, sizeof j->msg);
}

static void sw__job_after(uv_work_t *w, int status) {
  sw_release_job *j = w->data;
  if (status == UV_ECANCELED) j->err = sw_fail(SW_ERR_CANCELLED, j->msg, sizeof j->msg, "cancelled");
  sw__job_finish(j, j->err, j->msg);
}

static void sw__job_next(sw_release_job *j);

/* One source has been read (or failed). */
static void sw__job_got(sw_release_job *j, sw_err err, const char *msg) {
  char text[SW_MSG_MAX];
  if (j->stage == 0) {
    if (err == SW_ERR_HTTP_TOO_BIG || err == SW_ERR_MANIFEST_SYNTAX) {
      snprintf(text, sizeof text, "manifest rejected: %s is over the %u-byte limit", j->o->manifest, SW_MANIFEST_MAX);
      sw__job_finish(j, SW_ERR_MANIFEST_SYNTAX, text);
      return;
    }
    if (err) {
      snprintf(text, sizeof text, "cannot read manifest: %s", msg);
      sw__job_finish(j, err, text);
      return;
    }
    j->r->manifest = j->buf;
    j->r->manifest_len = j->len;
  } else {
    if (err == SW_ERR_IO || err == SW_ERR_HTTP || err == SW_ERR_HTTP_TOO_BIG || err == SW_ERR_MANIFEST_SIG) {
      snprintf(text, sizeof text, "manifest rejected: no usable signature: %s", msg);
      sw__job_finish(j, SW_ERR_MANIFEST_SIG, text);
      return;
    }
    if (err) {
      snprintf(text, sizeof text, "cannot read manifest signature: %s", msg);
      sw__job_finish(j, err, text);
      return;
    }
    j->r->sig = j->buf;
    j->r->sig_len = j->len;
  }
  j->buf = NULL;
  j->len = 0;
  j->stage++;
  sw__job_next(j);
}

static int sw__job_data(void *arg, uint64_t offset, const uint8_t *data, size_t len) {
  sw_release_job *j = arg;
  uint8_t *nb;
  (void)offset;
  if (j->len + len > j->max) return 1; /* the cap is also enforced by the client */
  nb = realloc(j->buf, j->len + len + 1);
  if (nb == NULL) return 1;
  j->buf = nb;
  memcpy(j->buf + j->len, data, len);
  j->len += len;
  j->buf[j->len] = 0;
  return 0;
}

static void sw__job_http_done(void *arg, sw_err err, const char *msg, long status) {
  sw_release_job *j = arg;
  (void)status;
  if (err == SW_OK && j->buf == NULL) {
    j->buf = malloc(1); /* an empty body is still a buffer */
    if (j->buf == NULL) err = SW_ERR_NOMEM;
  }
  sw__job_got(j, err, msg);
}

static void sw__job_next(sw_release_job *j) {
  const char *src = j->stage == 0 ? j->o->manifest : j->sigsrc;
  char msg[SW_MSG_MAX];
  sw_err err;
  if (j->stage == 2) {
    j->work.data = j;
    if (uv_queue_work(j->loop, &j->work, sw__job_work, sw__job_after) != 0)
      sw__job_finish(j, SW_ERR_INTERNAL, "cannot queue the signature check");
    return;
  }
  j->max = j->stage == 0 ? SW_MANIFEST_MAX : SW_MANIFEST_SIG_MAX;
  if (!sw_release_is_url(src)) {
    /* A local file of at most 64 KiB: one short read. */
    err = sw_fs_read_file(src, j->max, SW_ERR_HTTP_TOO_BIG, &j->buf, &j->len, msg, sizeof msg);
    sw__job_got(j, err, msg);
    return;
  }
  if (strncasecmp(src, "https://", 8) != 0) {
    snprintf(msg, sizeof msg, "refusing non-HTTPS URL %.200s", src);
    sw__job_finish(j, SW_ERR_USAGE, msg);
    return;
  }
  {
    sw_http_get g;
    memset(&g, 0, sizeof g);
    g.url = src;
    g.max_bytes = j->max;
    g.on_data = sw__job_data;
    g.on_done = sw__job_http_done;
    g.arg = j;
    err = sw_http_start(j->http, &g, NULL, msg, sizeof msg);
    if (err) sw__job_got(j, err, msg);
  }
}

sw_err sw_release_load_async(uv_loop_t *loop, sw_http *http, const sw_opts *o, sw_pgp *pgp, sw_release *r,
                             sw_release_done_fn done, void *arg, char *msg, size_t msglen) {
  sw_release_job *j;
  memset(r, 0, sizeof *r);
  if (o->manifest == NULL) return sw_fail(SW_ERR_USAGE, msg, msglen, "--manifest is required");
  j = calloc(1, sizeof *j);
  if (j == NULL) return sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
  j->loop = loop;
  j->http = http;
  j->o = o;
  j->pgp = pgp;
  j->r = r;
  j->done = done;
  j->arg = arg;
  if (o->manifest_sig) snprintf(j->sigsrc, sizeof j->sigsrc, "%s", o->manifest_sig);
  else if ((size_t)snprintf(j->sigsrc, sizeof j->sigsrc, "%s.sig", o->manifest) >= sizeof j->sigsrc) {
    free(j);
    return sw_fail(SW_ERR_USAGE, msg, msglen, "manifest source name too long");
  }
  sw__job_next(j);
  return SW_OK;
}
