/* fuzz_http_range.c - libFuzzer target for what fallback/http.c reads from an
 * untrusted origin before a body byte is accepted: the Content-Range value
 * (sw_http_parse_content_range) and the status/range verdict built on it
 * (sw_http_check_response).
 *
 * Input: 8 bytes range_start, 8 bytes range_len (little-endian), 2 bytes
 * status (little-endian, so 0..65535 and 206 is reachable), then the
 * Content-Range value; fewer than 18 bytes: only the parser runs, on all of
 * it. Checks the headers' promises: an accepted value has FIRST <= LAST <
 * TOTAL and is exactly what it says (printed back and parsed again, it gives
 * the same numbers), parsing is deterministic, and the verdict is OK only for
 * a 2xx whole body that is not 206 or a 206 whose range is exactly the one
 * asked. */
#include "fuzz_common.h"
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "sw_err.h"
#include "sw_limits.h"

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static void check_parse(const uint8_t *buf, size_t len) {
  uint64_t f = 0, l = 0, t = 0, f2 = 0, l2 = 0, t2 = 0;
  char back[96];
  int n;
  int ok = sw_http_parse_content_range(buf, len, &f, &l, &t);
  CHECK(ok == (int)sw_http_parse_content_range(buf, len, &f2, &l2, &t2));
  if (!ok) return;
  CHECK(len <= SW_CONTENT_RANGE_MAX);
  CHECK(f == f2 && l == l2 && t == t2);
  CHECK(f <= l);
  CHECK(t == UINT64_MAX || l < t);
  /* No byte may be ignored: the value holds "bytes", digits, '-', '/', '*' and blanks only. */
  for (size_t i = 0; i < len; i++) {
    uint8_t c = buf[i];
    CHECK((c >= '0' && c <= '9') || c == '-' || c == '/' || c == '*' || c == ' ' || c == '\t' ||
          (c != 0 && strchr("bytesBYTES", c) != NULL));
  }
  if (t == UINT64_MAX)
    n = snprintf(back, sizeof back, "bytes %" PRIu64 "-%" PRIu64 "/*", f, l);
  else
    n = snprintf(back, sizeof back, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, f, l, t);
  CHECK(n > 0 && (size_t)n < sizeof back);
  CHECK(sw_http_parse_content_range((const uint8_t *)back, (size_t)n, &f2, &l2, &t2));
  CHECK(f == f2 && l == l2 && t == t2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char msg[SW_MSG_MAX];
  uint64_t start, rlen, f = 0, l = 0, t = 0;
  long status;
  const uint8_t *cr;
  size_t cr_len;
  sw_err err;

  if (size < 18) {
    check_parse(data, size);
    return 0;
  }
  start = le64(data);
  rlen = le64(data + 8);
  status = (long)(data[16] | (data[17] << 8));
  cr = data + 18;
  cr_len = size - 18;
  check_parse(cr, cr_len);

  msg[0] = 0;
  err = sw_http_check_response(status, start, rlen, cr, cr_len, msg, sizeof msg);
  if (err != SW_OK) {
    CHECK(err == SW_ERR_HTTP);
    check_msg(msg, sizeof msg);
  } else if (rlen == 0) {
    CHECK(status >= 200 && status <= 299 && status != 206);
  } else {
    CHECK(status == 206);
    CHECK(sw_http_parse_content_range(cr, cr_len, &f, &l, &t));
    CHECK(start <= UINT64_MAX - rlen);
    CHECK(f == start && l == start + rlen - 1);
  }
  /* Without a header a range request is never accepted. */
  if (rlen > 0) CHECK(sw_http_check_response(status, start, rlen, NULL, 0, msg, sizeof msg) == SW_ERR_HTTP);
  return 0;
}
