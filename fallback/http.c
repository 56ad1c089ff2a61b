/* http.c - HTTPS GETs on libcurl's multi-socket API, driven by one libuv loop.
 *
 * Shape of curl's docs/examples/multi-uv.c: curl tells us which sockets to
 * watch (socket callback -> one uv_poll_t per socket) and when to call it
 * back (timer callback -> one uv_timer_t); libuv events go back into
 * curl_multi_socket_action(); finished transfers come out of
 * curl_multi_info_read().
 *
 * Completion is always delivered from a uv_idle_t ("reaper"), never from
 * inside a curl callback and never from sw_http_start(): a request that ends
 * (finished, failed, cancelled, over its cap) is only marked `finishing` with
 * its result; the reaper removes it from the multi handle, calls on_done once
 * and frees it. That makes sw_http_cancel() safe from any callback.
 *
 * curl_global_init() runs once, from the first sw_http_new(), guarded by a
 * plain static flag: the first sw_http_new() must not race with another
 * thread's (swarmup has one loop thread; tests create clients on it).
 * curl_global_cleanup() is never called (process lifetime).
 */
#include "http.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sw_limits.h"

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0xFFFFFFFF
#endif

#define SW_HTTP_USER_AGENT "swarmup/0.1"

typedef struct sw_http_sock sw_http_sock;

struct sw_http_sock {
  uv_poll_t poll;                 /* first: the close callback casts back */
  sw_http *h;
  curl_socket_t fd;
  sw_http_sock *prev, *next;      /* h->socks: to close leftovers in sw_http_free */
};

struct sw_http_req {
  sw_http *h;
  CURL *easy;
  char *url;
  uint64_t cap;                   /* min(max_bytes, range_len when ranged) */
  uint64_t range_start, range_len;
  uint64_t received;              /* body bytes handed to on_data */
  uint64_t deadline_ms;           /* CURLOPT_TIMEOUT_MS: the whole transfer must end by then */
  sw_http_data_fn on_data;
  sw_http_done_fn on_done;
  void *arg;
  bool in_multi;
  bool checked;                   /* status/Content-Range of the final response checked */
  bool finishing;                 /* result fixed; the reaper delivers it */
  sw_err err;
  long status;
  char msg[SW_MSG_MAX];
  char errbuf[CURL_ERROR_SIZE];
  sw_http_req *prev, *next;
};

struct sw_http {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer;
  uv_idle_t reaper;
  char *ca_file;
  long connect_timeout_ms, low_speed_bytes, low_speed_time_s;
  long max_redirects;
  uint64_t min_rate;
  sw_http_req *reqs;
  sw_http_sock *socks;
  int open_handles;               /* uv handles not yet through their close callback */
  int in_curl;                    /* depth of curl_multi_socket_action (user code may run) */
  bool free_requested;            /* sw_http_free() called inside curl: finish afterwards */
  bool freeing;
  bool *closed_flag;              /* fetch_mem: set when the last handle has closed */
};

static bool sw_http__global_done;

static void reaper_kick(sw_http *h);

/* ---------------------------------------------------------------- helpers */

static void req_finish(sw_http_req *r, sw_err err, long status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void req_finish(sw_http_req *r, sw_err err, long status, const char *fmt, ...) {
  va_list ap;
  if (r->finishing) return; /* the first result wins */
  r->finishing = true;
  r->err = err;
  r->status = status;
  r->msg[0] = '\0';
  if (fmt != NULL) {
    char tmp[SW_MSG_MAX];
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sw_fail(err, r->msg, sizeof r->msg, "%s", tmp); /* neutralises control bytes */
  }
  reaper_kick(r->h);
}

/* connect + low-speed time + bytes at min_rate, in ms, saturating. */
static uint64_t deadline_of(long connect_ms, long low_speed_s, uint64_t min_rate, uint64_t bytes) {
  const uint64_t cap = (uint64_t)INT64_MAX / 1000u;
  uint64_t ms = (uint64_t)connect_ms + (uint64_t)low_speed_s * 1000u, xfer;
  if (min_rate == 0) min_rate = SW_HTTP_MIN_RATE_DEFAULT;
  xfer = bytes / min_rate > cap / 1000u ? cap : bytes / min_rate * 1000u + (bytes % min_rate) * 1000u / min_rate;
  return xfer > cap - ms ? cap : ms + xfer;
}

uint64_t sw_http_deadline_ms(const sw_http_opts *o, uint64_t bytes) {
  long c = 10000, l = 30;
  uint64_t rate = SW_HTTP_MIN_RATE_DEFAULT;
  if (o != NULL) {
    if (o->connect_timeout_ms > 0) c = o->connect_timeout_ms;
    if (o->low_speed_time_s > 0) l = o->low_speed_time_s;
    if (o->min_rate > 0) rate = o->min_rate;
  }
  return deadline_of(c, l, rate, bytes);
}

/* Host part of url for messages; "?" when it cannot be parsed. */
static void url_host(const char *url, char *out, size_t outlen) {
  CURLU *u = curl_url();
  char *host = NULL;
  snprintf(out, outlen, "?");
  if (u == NULL) return;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
    snprintf(out, outlen, "%s", host);
  curl_free(host);
  curl_url_cleanup(u);
}

/* Strict decimal; false on empty, non-digit or overflow. Stops at end. */
static bool parse_u64(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  const uint8_t *s = *p;
  if (s >= end || *s < '0' || *s > '9') return false;
  while (s < end && *s >= '0' && *s <= '9') {
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
    s++;
  }
  *p = s;
  *out = v;
  return true;
}

static bool is_ows(uint8_t c) { return c == ' ' || c == '\t'; }

bool sw_http_parse_content_range(const uint8_t *buf, size_t len, uint64_t *first, uint64_t *last,
                                 uint64_t *total) {
  const uint8_t *p = buf, *end = buf + len;
  uint64_t f = 0, l = 0, t = UINT64_MAX;
  if (buf == NULL || len > SW_CONTENT_RANGE_MAX) return false;
  while (p < end && is_ows(*p)) p++;
  if (end - p < 6 || strncasecmp((const char *)p, "bytes", 5) != 0) return false;
  p += 5;
  if (!is_ows(*p)) return false;
  while (p < end && is_ows(*p)) p++;
  if (!parse_u64(&p, end, &f) || p >= end || *p++ != '-') return false;
  if (!parse_u64(&p, end, &l) || p >= end || *p++ != '/') return false;
  if (p < end && *p == '*') {
    p++;
  } else if (!parse_u64(&p, end, &t) || l >= t) {
    return false;
  }
  while (p < end && is_ows(*p)) p++;
  if (p != end || f > l) return false;
  *first = f;
  *last = l;
  *total = t;
  return true;
}

sw_err sw_http_check_response(long status, uint64_t range_start, uint64_t range_len, const uint8_t *cr,
                              size_t cr_len, char *msg, size_t msglen) {
  uint64_t first = 0, last = 0, total = 0;
  if (status < 200 || status > 299) return sw_fail(SW_ERR_HTTP, msg, msglen, "HTTP %ld", status);
  if (range_len == 0) {
    /* Partial content we did not ask for would be taken as the file's start. */
    if (status == 206) return sw_fail(SW_ERR_HTTP, msg, msglen, "HTTP 206 to a request without a range");
    if (msg != NULL && msglen > 0) msg[0] = '\0';
    return SW_OK;
  }
  if (range_start > UINT64_MAX - range_len)
    return sw_fail(SW_ERR_HTTP, msg, msglen, "range overflows");
  if (status != 206)
    return sw_fail(SW_ERR_HTTP, msg, msglen, "HTTP %ld instead of 206 to a range request", status);
  if (cr == NULL) return sw_fail(SW_ERR_HTTP, msg, msglen, "206 without Content-Range");
  if (!sw_http_parse_content_range(cr, cr_len, &first, &last, &total) || first != range_start ||
      last != range_start + range_len - 1)
    return sw_fail(SW_ERR_HTTP, msg, msglen,
                   "Content-Range does not match the range asked (%" PRIu64 "-%" PRIu64 ")", range_start,
                   range_start + range_len - 1);
  if (msg != NULL && msglen > 0) msg[0] = '\0';
  return SW_OK;
}

/* Status (and for ranges Content-Range) of the final response: true if fine,
 * else the request is finished with the reason. */
static bool req_check_response(sw_http_req *r) {
  long status = 0;
  char *eff = NULL, why[SW_MSG_MAX];
  struct curl_header *hd = NULL;
  const uint8_t *cr = NULL;
  size_t cr_len = 0;
  sw_err err;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &eff);
  if (eff == NULL) eff = r->url;
  r->status = status;
  if (r->range_len > 0 && curl_easy_header(r->easy, "Content-Range", 0, CURLH_HEADER, -1, &hd) == CURLHE_OK &&
      hd != NULL && hd->value != NULL) {
    cr = (const uint8_t *)hd->value;
    cr_len = strlen(hd->value);
  }
  err = sw_http_check_response(status, r->range_start, r->range_len, cr, cr_len, why, sizeof why);
  if (err != SW_OK) {
    req_finish(r, err, status, "%s from %s", why, eff);
    return false;
  }
  r->checked = true;
  return true;
}

/* ------------------------------------------------------- curl callbacks */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userp) {
  sw_http_req *r = userp;
  size_t n = size * nmemb;
  if (r->finishing || r->h->free_requested || r->h->freeing) return CURL_WRITEFUNC_ERROR;
  if (!r->checked && !req_check_response(r)) return CURL_WRITEFUNC_ERROR;
  /* The endless-data defence: bytes past the cap are never handed out. */
  if ((uint64_t)n > r->cap - r->received) {
    req_finish(r, SW_ERR_HTTP_TOO_BIG, r->status,
               "response from %s larger than %" PRIu64 " bytes", r->url, r->cap);
    return CURL_WRITEFUNC_ERROR;
  }
  if (n == 0) return 0;
  uint64_t off = r->range_start + r->received;
  r->received += n;
  if (r->on_data != NULL && r->on_data(r->arg, off, (const uint8_t *)ptr, n) != 0)
    req_finish(r, SW_ERR_CANCELLED, r->status, "cancelled");
  /* on_data may have cancelled r or freed the client: stop this transfer then. */
  if (r->finishing || r->h->free_requested) return CURL_WRITEFUNC_ERROR;
  return n;
}

static bool is_tls_error(CURLcode c) {
  switch (c) {
  case CURLE_PEER_FAILED_VERIFICATION: /* also CURLE_SSL_CACERT */
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
    return true;
  default:
    return false;
  }
}

/* Map a finished transfer's CURLcode to our result. */
static void req_complete(sw_http_req *r, CURLcode res) {
  char *eff = NULL, host[256];
  const char *why;
  size_t wl;
  if (r->finishing) return; /* already decided (cap, cancel, bad status) */
  curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &eff);
  if (eff == NULL) eff = r->url;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
  wl = strlen(r->errbuf);
  while (wl > 0 && (r->errbuf[wl - 1] == '\n' || r->errbuf[wl - 1] == '\r')) r->errbuf[--wl] = '\0';
  why = wl > 0 ? r->errbuf : curl_easy_strerror(res);

  if (res == CURLE_OK) {
    if (!r->checked && !req_check_response(r)) return; /* e.g. 404 with an empty body */
    if (r->range_len > 0 && r->received != r->range_len) {
      req_finish(r, SW_ERR_HTTP, r->status, "short range from %s: %" PRIu64 " of %" PRIu64 " bytes",
                 eff, r->received, r->range_len);
      return;
    }
    req_finish(r, SW_OK, r->status, NULL);
    return;
  }
  if (is_tls_error(res)) {
    url_host(eff, host, sizeof host);
    req_finish(r, SW_ERR_TLS, r->status, "TLS: %s (host %s)", why, host);
  } else if (res == CURLE_UNSUPPORTED_PROTOCOL) {
    req_finish(r, SW_ERR_HTTP, r->status, "redirect to a non-HTTPS URL refused: %s", eff);
  } else if (res == CURLE_FILESIZE_EXCEEDED) {
    /* The headers came: a wrong status (404 page, 200 to a range) is the better reason. */
    if (!r->checked && !req_check_response(r)) return;
    req_finish(r, SW_ERR_HTTP_TOO_BIG, r->status, "response from %s larger than %" PRIu64 " bytes",
               eff, r->cap);
  } else if (res == CURLE_OPERATION_TIMEDOUT) {
    curl_off_t connected = 0, total_us = 0;
    curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &connected);
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    /* The same CURLcode for the low-speed abort and for CURLOPT_TIMEOUT: the
     * elapsed time tells them apart (the low-speed one always comes earlier). */
    if (connected > 0 && total_us >= 0 && (uint64_t)total_us / 1000u + 100u >= r->deadline_ms)
      req_finish(r, SW_ERR_HTTP_DEADLINE, r->status,
                 "%s: no end within the transfer's deadline of %" PRIu64 " s (%" PRIu64 " of %" PRIu64
                 " bytes; below %" PRIu64 " bytes/s on average)",
                 eff, r->deadline_ms / 1000u, r->received, r->cap, r->h->min_rate);
    else if (connected > 0)
      req_finish(r, SW_ERR_HTTP_SLOW, r->status, "%s: %s", eff, why);
    else
      req_finish(r, SW_ERR_HTTP, r->status, "connect to %s timed out: %s", eff, why);
  } else if (res == CURLE_HTTP_RETURNED_ERROR) {
    req_finish(r, SW_ERR_HTTP, r->status, "HTTP %ld from %s", r->status, eff);
  } else {
    req_finish(r, SW_ERR_HTTP, r->status, "HTTPS GET %s failed: %s", eff, why);
  }
}

static void check_multi_info(sw_http *h) {
  CURLMsg *m;
  int left = 0;
  while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
    sw_http_req *r = NULL;
    if (m->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    if (r != NULL) req_complete(r, m->data.result);
  }
}

static void teardown(sw_http *h);

/* Every entry into curl that may run user callbacks goes through here. */
static void socket_action(sw_http *h, curl_socket_t fd, int flags) {
  int running = 0;
  h->in_curl++;
  curl_multi_socket_action(h->multi, fd, flags, &running);
  h->in_curl--;
  if (h->free_requested && h->in_curl == 0) {
    teardown(h);
    return;
  }
  check_multi_info(h);
}

static void maybe_release(sw_http *h) {
  if (!h->freeing || h->open_handles > 0) return;
  if (h->closed_flag != NULL) *h->closed_flag = true;
  free(h->ca_file);
  free(h);
}

static void handle_closed(uv_handle_t *hd) {
  sw_http *h = hd->data;
  h->open_handles--;
  maybe_release(h);
}

static void sock_closed(uv_handle_t *hd) {
  sw_http_sock *s = (sw_http_sock *)hd;
  sw_http *h = s->h;
  free(s);
  h->open_handles--;
  maybe_release(h);
}

static void sock_close(sw_http_sock *s) {
  sw_http *h = s->h;
  if (s->prev) s->prev->next = s->next; else h->socks = s->next;
  if (s->next) s->next->prev = s->prev;
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static void poll_cb(uv_poll_t *p, int status, int events) {
  sw_http_sock *s = (sw_http_sock *)p;
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  socket_action(s->h, s->fd, flags);
}

static void timer_cb(uv_timer_t *t) {
  socket_action(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  sw_http *h = userp;
  sw_http_sock *s = socketp;
  int events = 0;
  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    if (s != NULL) {
      if (!h->freeing) curl_multi_assign(h->multi, fd, NULL);
      sock_close(s);
    }
    return 0;
  }
  if (h->freeing) return 0; /* inside curl_multi_cleanup: nothing new to watch */
  if (s == NULL) {
    s = calloc(1, sizeof *s);
    if (s == NULL) return -1; /* curl fails the transfer */
    if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
      free(s);
      return -1;
    }
    s->h = h;
    s->fd = fd;
    s->next = h->socks;
    if (h->socks) h->socks->prev = s;
    h->socks = s;
    h->open_handles++;
    curl_multi_assign(h->multi, fd, s);
  }
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
  uv_poll_start(&s->poll, events, poll_cb);
  return 0;
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  sw_http *h = userp;
  (void)multi;
  if (h->freeing) return 0;
  if (timeout_ms < 0)
    uv_timer_stop(&h->timer);
  else /* 0 means "as soon as possible": the next loop iteration, not now. */
    uv_timer_start(&h->timer, timer_cb, (uint64_t)timeout_ms, 0);
  return 0;
}

/* ---------------------------------------------------------------- reaper */

static void req_unlink(sw_http_req *r) {
  sw_http *h = r->h;
  if (r->prev) r->prev->next = r->next; else h->reqs = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = NULL;
}

static void req_release(sw_http_req *r) {
  if (r->easy != NULL) {
    if (r->in_multi) curl_multi_remove_handle(r->h->multi, r->easy);
    curl_easy_cleanup(r->easy);
  }
  free(r->url);
  free(r);
}

/* Deliver one finishing request: out of curl, on_done, freed. */
static void req_deliver(sw_http_req *r) {
  sw_http_done_fn done = r->on_done;
  void *arg = r->arg;
  sw_err err = r->err;
  long status = r->status;
  char msg[SW_MSG_MAX];
  memcpy(msg, r->msg, sizeof msg);
  req_unlink(r);
  req_release(r);
  /* After the free: on_done may start, cancel or free anything. */
  if (done != NULL) done(arg, err, msg, status);
}

static void reaper_cb(uv_idle_t *idle) {
  sw_http *h = idle->data;
  for (;;) {
    sw_http_req *r = h->reqs;
    if (h->freeing || h->free_requested) return;
    while (r != NULL && !r->finishing) r = r->next;
    if (r == NULL) break;
    req_deliver(r);
  }
  uv_idle_stop(&h->reaper);
}

static void teardown(sw_http *h) {
  h->free_requested = false;
  h->freeing = true;
  /* Every request still here gets its on_done now: cancelled unless it
   * already had a result waiting for the reaper. */
  while (h->reqs != NULL) {
    sw_http_req *r = h->reqs;
    if (!r->finishing) {
      r->finishing = true;
      r->err = SW_ERR_CANCELLED;
      snprintf(r->msg, sizeof r->msg, "cancelled");
    }
    req_deliver(r);
  }
  curl_multi_cleanup(h->multi); /* may report CURL_POLL_REMOVE for open sockets */
  h->multi = NULL;
  while (h->socks != NULL) sock_close(h->socks);
  uv_idle_stop(&h->reaper);
  uv_close((uv_handle_t *)&h->reaper, handle_closed);
  uv_timer_stop(&h->timer);
  uv_close((uv_handle_t *)&h->timer, handle_closed);
}

/* ------------------------------------------------------------ public API */

sw_err sw_http_new(sw_http **out, uv_loop_t *loop, const sw_http_opts *opts, char *msg, size_t msglen) {
  sw_http *h = NULL;
  sw_err err = SW_OK;
  if (out == NULL || loop == NULL) return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_http_new: NULL argument");
  *out = NULL;
  if (!sw_http__global_done) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      return sw_fail(SW_ERR_INTERNAL, msg, msglen, "curl_global_init failed");
    sw_http__global_done = true;
  }
  h = calloc(1, sizeof *h);
  if (h == NULL) return sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
  h->loop = loop;
  h->connect_timeout_ms = 10000;
  h->low_speed_bytes = 1024;
  h->low_speed_time_s = 30;
  h->max_redirects = 5;
  h->min_rate = SW_HTTP_MIN_RATE_DEFAULT;
  if (opts != NULL) {
    if (opts->min_rate > 0) h->min_rate = opts->min_rate;
    if (opts->connect_timeout_ms > 0) h->connect_timeout_ms = opts->connect_timeout_ms;
    if (opts->low_speed_bytes > 0) h->low_speed_bytes = opts->low_speed_bytes;
    if (opts->low_speed_time_s > 0) h->low_speed_time_s = opts->low_speed_time_s;
    if (opts->max_redirects > 0) h->max_redirects = opts->max_redirects;
    if (opts->ca_file != NULL) {
      h->ca_file = strdup(opts->ca_file);
      if (h->ca_file == NULL) {
        err = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
        goto out;
      }
    }
  }
  h->multi = curl_multi_init();
  if (h->multi == NULL) {
    err = sw_fail(SW_ERR_INTERNAL, msg, msglen, "curl_multi_init failed");
    goto out;
  }
  curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
  curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
  curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
  curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
  /* Both handles are initialised last: nothing can fail after them, so the
   * error path never has to wait for a close callback. */
  uv_timer_init(loop, &h->timer);
  h->timer.data = h;
  uv_idle_init(loop, &h->reaper);
  h->reaper.data = h;
  h->open_handles = 2;
  *out = h;
  h = NULL;
out:
  if (h != NULL) {
    if (h->multi) curl_multi_cleanup(h->multi);
    free(h->ca_file);
    free(h);
  }
  return err;
}

void sw_http_free(sw_http *h) {
  if (h == NULL || h->freeing || h->free_requested) return;
  if (h->in_curl > 0) {
    /* Called from on_data: curl forbids multi cleanup inside its callbacks;
     * socket_action() finishes the job when curl returns. */
    h->free_requested = true;
    return;
  }
  teardown(h);
}

static void reaper_kick(sw_http *h) {
  if (!h->freeing) uv_idle_start(&h->reaper, reaper_cb);
}

sw_err sw_http_start(sw_http *h, const sw_http_get *g, sw_http_req **out, char *msg, size_t msglen) {
  sw_http_req *r = NULL;
  sw_err err = SW_OK;
  size_t ulen;
  CURLcode c = CURLE_OK;
  if (out != NULL) *out = NULL;
  if (h == NULL || g == NULL || g->url == NULL || g->on_done == NULL)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_http_start: missing argument");
  if (h->freeing || h->free_requested)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_http_start: client is being freed");
  ulen = strlen(g->url);
  if (ulen < 8 || strncasecmp(g->url, "https://", 8) != 0)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "refusing non-HTTPS URL %.200s", g->url);
  if (ulen > SW_URL_MAX)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "URL longer than %u bytes", SW_URL_MAX);
  if (g->max_bytes == 0)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_http_start: max_bytes must be set");
  if (g->range_len > 0 && g->range_start > UINT64_MAX - g->range_len)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_http_start: range overflows");

  r = calloc(1, sizeof *r);
  if (r == NULL) return sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
  r->h = h;
  r->url = strdup(g->url);
  r->easy = curl_easy_init();
  if (r->url == NULL || r->easy == NULL) {
    err = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
    goto out;
  }
  r->range_start = g->range_len > 0 ? g->range_start : 0;
  r->range_len = g->range_len;
  r->cap = g->max_bytes;
  if (r->range_len > 0 && r->range_len < r->cap) r->cap = r->range_len;
  r->on_data = g->on_data;
  r->on_done = g->on_done;
  r->arg = g->arg;
  r->deadline_ms = deadline_of(h->connect_timeout_ms, h->low_speed_time_s, h->min_rate, r->cap);

  CURL *e = r->easy;
#define SETOPT(opt, val) do { if (c == CURLE_OK) c = curl_easy_setopt(e, opt, val); } while (0)
  SETOPT(CURLOPT_URL, r->url);
  SETOPT(CURLOPT_PRIVATE, (void *)r);
  SETOPT(CURLOPT_ERRORBUFFER, r->errbuf);
  SETOPT(CURLOPT_PROTOCOLS_STR, "https");
  SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
  SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
  SETOPT(CURLOPT_MAXREDIRS, h->max_redirects);
  /* What decides whether libcurl may hand this request a cached connection
   * (verification, the TLS version, the CA file, the proxy) comes from the
   * client only, never from the request: every request of one client can reuse
   * its idle keep-alive connection to an origin (sw_http_fetch_mem_on). */
  SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
  SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  if (h->ca_file != NULL) SETOPT(CURLOPT_CAINFO, h->ca_file);
  /* Proxies: libcurl's default honours https_proxy/no_proxy; nothing set here. */
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
  SETOPT(CURLOPT_LOW_SPEED_LIMIT, h->low_speed_bytes);
  SETOPT(CURLOPT_LOW_SPEED_TIME, h->low_speed_time_s);
  /* The slow-retrieval defence the low-speed limit alone is not: 1 GiB just
   * above 10 KiB/s takes 29 hours; with a deadline it ends on time. */
  SETOPT(CURLOPT_TIMEOUT_MS, (long)(r->deadline_ms > (uint64_t)LONG_MAX ? (uint64_t)LONG_MAX : r->deadline_ms));
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  /* First line of defence against a declared oversize body; write_cb counts the rest. */
  SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(r->cap > (uint64_t)INT64_MAX ? INT64_MAX : r->cap));
  /* Identity only: we count and hash raw bytes. */
  SETOPT(CURLOPT_ACCEPT_ENCODING, (char *)NULL);
  SETOPT(CURLOPT_HTTP_CONTENT_DECODING, 0L);
  SETOPT(CURLOPT_USERAGENT, SW_HTTP_USER_AGENT);
  /* Large reads: fewer write callbacks and pwrite()s for a 512 MiB payload. */
  SETOPT(CURLOPT_BUFFERSIZE, 512L * 1024L);
  SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
  SETOPT(CURLOPT_WRITEDATA, (void *)r);
  if (r->range_len > 0) {
    char range[64];
    snprintf(range, sizeof range, "%" PRIu64 "-%" PRIu64, r->range_start,
             r->range_start + r->range_len - 1);
    SETOPT(CURLOPT_RANGE, range); /* libcurl copies the string */
  }
#undef SETOPT
  if (c != CURLE_OK) {
    err = sw_fail(SW_ERR_INTERNAL, msg, msglen, "libcurl option: %s", curl_easy_strerror(c));
    goto out;
  }
  /* Only calls the timer callback (which just arms the uv timer): on_done
   * cannot run before we return. */
  if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
    err = sw_fail(SW_ERR_INTERNAL, msg, msglen, "curl_multi_add_handle failed");
    goto out;
  }
  r->in_multi = true;
  r->next = h->reqs;
  if (h->reqs) h->reqs->prev = r;
  h->reqs = r;
  if (out != NULL) *out = r;
  r = NULL;
out:
  if (r != NULL) req_release(r);
  return err;
}

void sw_http_cancel(sw_http_req *r) {
  if (r == NULL || r->finishing) return;
  req_finish(r, SW_ERR_CANCELLED, r->status, "cancelled");
}

/* ------------------------------------------------------------ fetch_mem */

typedef struct {
  uint8_t *buf;
  size_t len, cap, max;
  bool done;
  sw_err err;
  char msg[SW_MSG_MAX];
} sw_http_membuf;

static int mem_data(void *arg, uint64_t offset, const uint8_t *buf, size_t len) {
  sw_http_membuf *m = arg;
  (void)offset;
  if (len > m->max - m->len) return 1; /* cannot happen: max_bytes == max */
  if (m->len + len > m->cap) {
    size_t ncap = m->cap ? m->cap : 16384;
    while (ncap < m->len + len) ncap = ncap > m->max / 2 ? m->max : ncap * 2;
    uint8_t *nb = realloc(m->buf, ncap);
    if (nb == NULL) {
      m->err = SW_ERR_NOMEM;
      return 1;
    }
    m->buf = nb;
    m->cap = ncap;
  }
  memcpy(m->buf + m->len, buf, len);
  m->len += len;
  return 0;
}

static void mem_done(void *arg, sw_err err, const char *msg, long status) {
  sw_http_membuf *m = arg;
  (void)status;
  m->done = true;
  if (m->err == SW_OK) { /* keep an earlier NOMEM from mem_data */
    m->err = err;
    snprintf(m->msg, sizeof m->msg, "%s", msg);
  } else {
    snprintf(m->msg, sizeof m->msg, "out of memory");
  }
}

/* Run loop one iteration at a time until *flag: UV_RUN_ONCE, not DEFAULT,
 * because other handles on this loop (a torrent session, the fetch's timers)
 * must not keep us here once our part is done. false if the loop ran dry first. */
static bool run_until(uv_loop_t *loop, const bool *flag) {
  while (!*flag) {
    if (uv_run(loop, UV_RUN_ONCE) == 0 && !*flag) return false;
  }
  return true;
}

sw_err sw_http_fetch_mem_on(sw_http *h, const char *url, size_t max, uint8_t **body, size_t *body_len, char *msg,
                            size_t msglen) {
  sw_http_membuf m;
  sw_http_get g;
  sw_http_req *req = NULL;
  sw_err err;
  memset(&m, 0, sizeof m);
  memset(&g, 0, sizeof g);
  if (h == NULL || body == NULL || body_len == NULL || max == 0)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_http_fetch_mem_on: bad argument");
  *body = NULL;
  *body_len = 0;
  m.max = max;
  g.url = url;
  g.max_bytes = max;
  g.on_data = mem_data;
  g.on_done = mem_done;
  g.arg = &m;
  err = sw_http_start(h, &g, &req, msg, msglen);
  if (err != SW_OK) return err; /* on_done is never called */
  if (!run_until(h->loop, &m.done)) {
    /* Cannot happen while curl waits on a socket or its timer; if it does, the
     * request must not outlive m (this frame): cancel it, and the reaper (an
     * active idle handle) delivers its on_done on the next iteration. */
    sw_http_cancel(req);
    run_until(h->loop, &m.done);
    if (m.err == SW_ERR_CANCELLED) {
      m.err = SW_ERR_INTERNAL;
      snprintf(m.msg, sizeof m.msg, "loop stopped before the transfer ended");
    }
  }
  if (m.err != SW_OK) {
    err = sw_fail(m.err, msg, msglen, "%s", m.msg);
  } else {
    if (m.buf == NULL) m.buf = malloc(1); /* an empty body is still a buffer */
    if (m.buf == NULL) {
      err = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
    } else {
      *body = m.buf;
      *body_len = m.len;
      m.buf = NULL;
      err = SW_OK;
      if (msg != NULL && msglen > 0) msg[0] = '\0';
    }
  }
  free(m.buf);
  return err;
}

sw_err sw_http_fetch_mem(uv_loop_t *loop, const sw_http_opts *opts, const char *url, size_t max,
                         uint8_t **body, size_t *body_len, char *msg, size_t msglen) {
  sw_http *h = NULL;
  bool closed = false;
  sw_err err;
  if (body == NULL || body_len == NULL || max == 0)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_http_fetch_mem: bad argument");
  *body = NULL;
  *body_len = 0;
  err = sw_http_new(&h, loop, opts, msg, msglen);
  if (err != SW_OK) return err;
  h->closed_flag = &closed;
  err = sw_http_fetch_mem_on(h, url, max, body, body_len, msg, msglen);
  sw_http_free(h);
  run_until(loop, &closed);
  return err;
}
