/* http.h - HTTPS client on libcurl's multi-socket API, driven by a libuv loop
 * (the shape of curl's docs/examples/multi-uv.c: socket callbacks drive
 * uv_poll handles, the timer callback drives one uv_timer). No thread, no
 * curl_easy_perform. HTTPS only, redirects only to HTTPS, a hard cap on the
 * bytes accepted, a low-speed abort and an overall deadline per transfer.
 */
#ifndef SW_HTTP_H
#define SW_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sw_err.h"

typedef struct sw_http sw_http;
typedef struct sw_http_req sw_http_req;

typedef struct sw_http_opts {
  const char *ca_file;          /* PEM bundle for private CAs; NULL: the system store */
  long connect_timeout_ms;      /* 0: 10000 */
  long low_speed_bytes;         /* abort a transfer below this many bytes/s ... (0: 1024) */
  long low_speed_time_s;        /* ... for this long (0: 30) */
  int max_redirects;            /* 0: 5 */
  uint64_t min_rate;            /* bytes/s, 0: SW_HTTP_MIN_RATE_DEFAULT. Every transfer must end within
                                   connect_timeout + low_speed_time + its bytes / min_rate (its bytes:
                                   range_len, else max_bytes), else SW_ERR_HTTP_DEADLINE: a source that
                                   stays just above the low-speed limit cannot hold a client for hours */
} sw_http_opts;

#define SW_HTTP_MIN_RATE_DEFAULT 65536u /* 1 GiB: at most about 4.5 hours */

/* Create a client on loop. Returns SW_OK and *out, or an error with msg.
 * The first call runs curl_global_init() (guarded by a plain static flag, not
 * thread-safe): make the first sw_http_new() before other threads use libcurl. */
sw_err sw_http_new(sw_http **out, uv_loop_t *loop, const sw_http_opts *opts, char *msg, size_t msglen);

/* Cancel every transfer (their on_done runs with SW_ERR_CANCELLED, or with the
 * result already reached, before sw_http_free returns; when called from inside
 * on_data, as soon as libcurl returns), close the libuv handles and free h once
 * they are closed (the loop must run on). NULL: no-op. */
void sw_http_free(sw_http *h);

/* Called with each chunk of the body, in order; offset is the absolute file
 * offset (range_start + bytes so far). Return 0 to go on, nonzero to abort
 * the transfer (on_done then gets SW_ERR_CANCELLED). */
typedef int (*sw_http_data_fn)(void *arg, uint64_t offset, const uint8_t *buf, size_t len);
/* Called exactly once per started request, on the loop thread, unless
 * sw_http_start returned an error. msg is a one-line reason for errors
 * ("" on success); http_status is the final status (0 if none). The request
 * is freed after on_done returns. */
typedef void (*sw_http_done_fn)(void *arg, sw_err err, const char *msg, long http_status);

typedef struct sw_http_get {
  const char *url;              /* must start with https:// */
  uint64_t max_bytes;           /* hard cap on body bytes (> 0); more aborts with SW_ERR_HTTP_TOO_BIG,
                                   and bytes past the cap never reach on_data */
  uint64_t range_start;         /* with range_len > 0: request bytes [start, start+len) */
  uint64_t range_len;           /* 0: whole body; a 200 answer to a range request is an error, and
                                   the 206 must cover exactly [start, start+len) (Content-Range) */
  sw_http_data_fn on_data;
  sw_http_done_fn on_done;
  void *arg;
} sw_http_get;

/* Start a GET. On error on_done is never called. *out (may be NULL) lets the
 * caller cancel it with sw_http_cancel() until on_done runs. */
sw_err sw_http_start(sw_http *h, const sw_http_get *g, sw_http_req **out, char *msg, size_t msglen);

/* Abort r; its on_done runs (later, on the loop) with SW_ERR_CANCELLED.
 * Safe from any callback, including r's own on_data; no-op once r has a result. */
void sw_http_cancel(sw_http_req *r);

/* The overall deadline of a transfer of bytes bytes under opts (NULL: the
 * defaults), in milliseconds (saturates at INT64_MAX / 1000). */
uint64_t sw_http_deadline_ms(const sw_http_opts *opts, uint64_t bytes);

/* Parse an untrusted Content-Range value buf[0..len) (no NUL needed; over
 * SW_CONTENT_RANGE_MAX bytes is refused): "bytes FIRST-LAST/TOTAL" or
 * "bytes FIRST-LAST/" followed by a star for an unknown total (RFC 9110 14.4;
 * the unit case-insensitive, blanks around).
 * true and *first, *last, *total (UINT64_MAX for "*") only for exactly that
 * with FIRST <= LAST < TOTAL and no overflow; false for anything else.
 * Exposed for tests and fuzzing. */
bool sw_http_parse_content_range(const uint8_t *buf, size_t len, uint64_t *first, uint64_t *last,
                                 uint64_t *total);

/* The verdict on a final response to a request for [range_start,
 * range_start + range_len) (range_len 0: the whole body): its status and, for
 * a range, its untrusted Content-Range value cr[0..cr_len) (NULL: none).
 * SW_OK only for a 2xx to a whole-body request that is not 206, or a 206 whose
 * Content-Range is exactly the range asked; else SW_ERR_HTTP and the reason
 * in msg ("HTTP 404", "HTTP 200 instead of 206 to a range request", ...).
 * Exposed for tests and fuzzing. */
sw_err sw_http_check_response(long status, uint64_t range_start, uint64_t range_len, const uint8_t *cr,
                              size_t cr_len, char *msg, size_t msglen);

/* Convenience for the CLI: fetch url into a malloc'd buffer of at most max
 * bytes by running loop until the transfer ends, on a client of its own made
 * and freed here (so a fresh connection each call). Must not be called from a
 * loop callback. The caller frees *body. */
sw_err sw_http_fetch_mem(uv_loop_t *loop, const sw_http_opts *opts, const char *url, size_t max,
                         uint8_t **body, size_t *body_len, char *msg, size_t msglen);

/* The same on the existing client h: runs h's loop (UV_RUN_ONCE, so other
 * handles on it neither hold us nor are stopped) until this one transfer has
 * ended; h and its other transfers stay. h keeps the connection in its cache,
 * so the next request of h to the same origin reuses it (no new TCP and TLS
 * handshake). h's options apply (deadline, low-speed limit). Must not be called
 * from a callback of h's loop. Returns SW_OK and *body (malloc'd, the caller
 * frees it; an empty body is a 1-byte buffer with *body_len 0), or an error
 * with msg and *body NULL. */
sw_err sw_http_fetch_mem_on(sw_http *h, const char *url, size_t max, uint8_t **body, size_t *body_len, char *msg,
                            size_t msglen);

#endif
