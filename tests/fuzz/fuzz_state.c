/* fuzz_state.c - libFuzzer target for the state-file decoder
 * (sw_state_decode, src/state.h). The state file is ours, but it sits on disk
 * where a crash, a full disk or a hand edit can leave anything.
 *
 * The trailing SHA-256 would stop the fuzzer at the checksum line, so each
 * input is decoded twice: as it is, and with its checksum line replaced by a
 * correct one (everything up to the last "checksum " line is the body). An
 * accepted format 3 record must encode back to exactly the bytes decoded: the
 * decoder is strict, so there is one spelling of each record. A format 1 or 2
 * record (migrated) must encode to a format 3 file that decodes to the same
 * record. */
#include "fuzz_common.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "state.h"
#include "sw_err.h"
#include "sw_limits.h"

static const char product[] = "p", channel[] = "stable";

static void check_version(const char *s, size_t cap) {
  size_t n = strnlen(s, cap);
  CHECK(n < cap);
  for (size_t i = 0; i < n; i++) CHECK(s[i] >= 0x20 && s[i] < 0x7f);
}

static void decode(const uint8_t *buf, size_t len) {
  sw_state_rec rec, rec2;
  char msg[SW_MSG_MAX], *enc = NULL;
  size_t elen = 0;
  sw_err err;

  msg[0] = 0;
  err = sw_state_decode(buf, len, product, channel, &rec, msg, sizeof msg);
  if (err != SW_OK) {
    CHECK(err == SW_ERR_STATE_CORRUPT);
    check_msg(msg, sizeof msg);
    CHECK(rec.have == 0);
    return;
  }
  CHECK(rec.have == 1);
  CHECK(rec.format >= 1 && rec.format <= 3);
  CHECK(rec.format == 3 || rec.floor_version == 0);
  CHECK(rec.latest_known_time >= rec.date);
  CHECK(rec.last_check == SW_STATE_TIME_UNKNOWN || rec.latest_known_time >= rec.last_check);
  check_version(rec.version, sizeof rec.version);
  check_version(rec.installed_version, sizeof rec.installed_version);
  enc = malloc(SW_STATE_MAX);
  if (enc == NULL) return;
  CHECK(sw_state_encode(product, channel, &rec, enc, SW_STATE_MAX, &elen) == SW_OK);
  if (rec.format == 3) CHECK(elen == len && memcmp(enc, buf, len) == 0);
  CHECK(sw_state_decode((const uint8_t *)enc, elen, product, channel, &rec2, msg, sizeof msg) == SW_OK);
  CHECK(rec2.format == 3);
  rec2.format = rec.format; /* the one field that migration changes */
  CHECK(memcmp(&rec, &rec2, sizeof rec) == 0);
  free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char key[] = "checksum ";
  size_t body = 0;
  uint8_t sum[32], *fixed = NULL;
  char hex[65];

  if (size > SW_STATE_MAX) return 0; /* sw_state_load reads at most this much */
  decode(data, size);

  /* Body: up to the start of the last line that begins with "checksum ". */
  for (size_t i = 0; i + sizeof key - 1 <= size; i++)
    if ((i == 0 || data[i - 1] == '\n') && memcmp(data + i, key, sizeof key - 1) == 0) body = i;
  if (body == 0) body = size;
  fixed = malloc(body + sizeof key - 1 + 64 + 1 + 1);
  if (fixed == NULL) return 0;
  memcpy(fixed, data, body);
  sw_sha256(data, body, sum);
  sw_hex(sum, 32, hex);
  memcpy(fixed + body, key, sizeof key - 1);
  memcpy(fixed + body + sizeof key - 1, hex, 64);
  fixed[body + sizeof key - 1 + 64] = '\n';
  decode(fixed, body + sizeof key - 1 + 64 + 1);
  free(fixed);
  return 0;
}
