/* test_clock_state.c - the state record (src/state.h): format 3 round trip, the
 * freshness fields and the key statement floor-version, and migration of
 * format 1 and 2 files. The directory and lock
 * I/O is tested by the cli tests; here only the record's encode/decode. */
#include "sw_test.h"

#include "fsutil.h"
#include "manifest.h"
#include "state.h"

static char msg[SW_MSG_MAX];

static sw_state_rec sample(void) {
  sw_state_rec r;
  memset(&r, 0, sizeof r);
  r.have = 1;
  r.format = 3;
  r.sequence = 42;
  r.floor_version = 7;
  SW_ASSERT_EQ_INT(sw_manifest_parse_time("2026-11-26T12:00:00Z", 20, &r.date), SW_OK);
  SW_ASSERT_EQ_INT(sw_manifest_parse_time("2026-12-26T12:00:00Z", 20, &r.expires), SW_OK);
  SW_ASSERT_EQ_INT(sw_manifest_parse_time("2026-11-27T08:30:00Z", 20, &r.last_check), SW_OK);
  r.latest_known_time = r.last_check;
  memset(r.manifest_sha256, 0x5a, 32);
  strcpy(r.version, "3.2.0");
  return r;
}

/* A body with its checksum line. */
static size_t with_sum(const char *body, char *out, size_t cap) {
  uint8_t sum[32];
  char hex[65];
  sw_sha256((const uint8_t *)body, strlen(body), sum);
  sw_hex(sum, 32, hex);
  return (size_t)snprintf(out, cap, "%schecksum %s\n", body, hex);
}

SW_TEST(format_3_round_trips_with_the_freshness_fields_and_floor_version) {
  sw_state_rec r = sample(), back;
  char buf[SW_STATE_MAX];
  size_t len = 0;
  SW_ASSERT_EQ_INT(sw_state_encode("p", "stable", &r, buf, sizeof buf, &len), SW_OK);
  SW_ASSERT_CONTAINS(buf, "swarmup-state 3\n");
  SW_ASSERT_CONTAINS(buf, "\nfloor-version 7\n");
  SW_ASSERT_CONTAINS(buf, "\nexpires 2026-12-26T12:00:00Z\n");
  SW_ASSERT_CONTAINS(buf, "\nlast-check 2026-11-27T08:30:00Z\n");
  SW_ASSERT_CONTAINS(buf, "\nlatest-known-time 2026-11-27T08:30:00Z\n");
  SW_ASSERT_CONTAINS(buf, "\nsequence 42\n"); /* tools/demo.sh greps these two */
  SW_ASSERT_CONTAINS(buf, "\nversion 3.2.0\n");
  SW_ASSERT_EQ_INT(sw_state_decode((const uint8_t *)buf, len, "p", "stable", &back, msg, sizeof msg), SW_OK);
  SW_ASSERT(memcmp(&r, &back, sizeof r) == 0);
}

SW_TEST(unknown_times_are_written_as_a_dash) {
  sw_state_rec r = sample(), back;
  char buf[SW_STATE_MAX];
  size_t len = 0;
  r.expires = SW_STATE_TIME_UNKNOWN;
  r.last_check = SW_STATE_TIME_UNKNOWN;
  SW_ASSERT_EQ_INT(sw_state_encode("p", "stable", &r, buf, sizeof buf, &len), SW_OK);
  SW_ASSERT_CONTAINS(buf, "\nexpires -\n");
  SW_ASSERT_CONTAINS(buf, "\nlast-check -\n");
  SW_ASSERT_EQ_INT(sw_state_decode((const uint8_t *)buf, len, "p", "stable", &back, msg, sizeof msg), SW_OK);
  SW_ASSERT(back.expires == SW_STATE_TIME_UNKNOWN && back.last_check == SW_STATE_TIME_UNKNOWN);
}

SW_TEST(format_1_file_is_migrated) {
  static const char v1[] = "swarmup-state 1\nproduct p\nchannel stable\nsequence 42\n"
                           "date 2026-11-26T12:00:00Z\n"
                           "manifest-sha256 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n"
                           "version 3.2.0\ninstalled-sequence 0\ninstalled-version \n";
  char buf[SW_STATE_MAX], enc[SW_STATE_MAX];
  size_t len = with_sum(v1, buf, sizeof buf), elen = 0;
  sw_state_rec r, back;
  SW_ASSERT_EQ_INT(sw_state_decode((const uint8_t *)buf, len, "p", "stable", &r, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(r.format, 1);
  SW_ASSERT_EQ_INT(r.sequence, 42);
  SW_ASSERT(r.expires == SW_STATE_TIME_UNKNOWN && r.last_check == SW_STATE_TIME_UNKNOWN);
  SW_ASSERT_EQ_INT(r.latest_known_time, r.date); /* the one time known to have passed */
  SW_ASSERT_EQ_INT(sw_state_encode("p", "stable", &r, enc, sizeof enc, &elen), SW_OK);
  SW_ASSERT_CONTAINS(enc, "swarmup-state 3\n");
  SW_ASSERT_EQ_INT(sw_state_decode((const uint8_t *)enc, elen, "p", "stable", &back, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(back.format, 3);
  back.format = 1;
  SW_ASSERT(memcmp(&r, &back, sizeof r) == 0);
}

SW_TEST(format_1_with_a_bad_checksum_is_corrupt) {
  static const char v1[] = "swarmup-state 1\nproduct p\nchannel stable\nsequence 42\n"
                           "date 2026-11-26T12:00:00Z\n"
                           "manifest-sha256 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n"
                           "version 3.2.0\ninstalled-sequence 0\ninstalled-version \n";
  char buf[SW_STATE_MAX];
  size_t len = with_sum(v1, buf, sizeof buf);
  sw_state_rec r;
  buf[len - 2] ^= 1; /* the checksum's last digit */
  SW_ASSERT_EQ_INT(sw_state_decode((const uint8_t *)buf, len, "p", "stable", &r, msg, sizeof msg),
                   SW_ERR_STATE_CORRUPT);
  SW_ASSERT_EQ_INT(r.have, 0);
}

SW_TEST(latest_known_time_below_date_or_last_check_is_corrupt) {
  sw_state_rec r = sample(), back;
  char buf[SW_STATE_MAX];
  size_t len = 0;
  r.latest_known_time = r.date - 1;
  r.last_check = SW_STATE_TIME_UNKNOWN;
  SW_ASSERT_EQ_INT(sw_state_encode("p", "stable", &r, buf, sizeof buf, &len), SW_OK);
  SW_ASSERT_EQ_INT(sw_state_decode((const uint8_t *)buf, len, "p", "stable", &back, msg, sizeof msg),
                   SW_ERR_STATE_CORRUPT);
  r = sample();
  r.latest_known_time = r.last_check - 1;
  SW_ASSERT_EQ_INT(sw_state_encode("p", "stable", &r, buf, sizeof buf, &len), SW_OK);
  SW_ASSERT_EQ_INT(sw_state_decode((const uint8_t *)buf, len, "p", "stable", &back, msg, sizeof msg),
                   SW_ERR_STATE_CORRUPT);
}

SW_TEST(format_2_without_its_new_fields_is_corrupt) {
  static const char v2[] = "swarmup-state 2\nproduct p\nchannel stable\nsequence 42\n"
                           "date 2026-11-26T12:00:00Z\n"
                           "manifest-sha256 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n"
                           "version 3.2.0\ninstalled-sequence 0\ninstalled-version \n";
  char buf[SW_STATE_MAX];
  size_t len = with_sum(v2, buf, sizeof buf);
  sw_state_rec r;
  SW_ASSERT_EQ_INT(sw_state_decode((const uint8_t *)buf, len, "p", "stable", &r, msg, sizeof msg),
                   SW_ERR_STATE_CORRUPT);
}

SW_TEST(unknown_latest_known_time_is_corrupt) {
  sw_state_rec r = sample(), back;
  char buf[SW_STATE_MAX], *at;
  size_t len = 0;
  SW_ASSERT_EQ_INT(sw_state_encode("p", "stable", &r, buf, sizeof buf, &len), SW_OK);
  at = strstr(buf, "\nchecksum ");
  SW_ASSERT(at != NULL);
  *at = 0;
  at = strstr(buf, "latest-known-time ");
  SW_ASSERT(at != NULL);
  strcpy(at, "latest-known-time -\n");
  {
    char body[SW_STATE_MAX];
    snprintf(body, sizeof body, "%s", buf);
    len = with_sum(body, buf, sizeof buf);
  }
  SW_ASSERT_EQ_INT(sw_state_decode((const uint8_t *)buf, len, "p", "stable", &back, msg, sizeof msg),
                   SW_ERR_STATE_CORRUPT);
}

SW_TEST(format_2_file_loads_with_floor_version_0_and_migrates) {
  static const char v2[] = "swarmup-state 2\nproduct p\nchannel stable\nsequence 42\n"
                           "date 2026-11-26T12:00:00Z\nexpires -\n"
                           "manifest-sha256 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n"
                           "version 3.2.0\ninstalled-sequence 0\ninstalled-version \n"
                           "last-check -\nlatest-known-time 2026-11-26T12:00:00Z\n";
  char buf[SW_STATE_MAX], enc[SW_STATE_MAX];
  size_t len = with_sum(v2, buf, sizeof buf), elen = 0;
  sw_state_rec r, back;
  SW_ASSERT_EQ_INT(sw_state_decode((const uint8_t *)buf, len, "p", "stable", &r, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(r.format, 2);
  SW_ASSERT_EQ_INT(r.floor_version, 0);
  SW_ASSERT_EQ_INT(sw_state_encode("p", "stable", &r, enc, sizeof enc, &elen), SW_OK);
  SW_ASSERT_CONTAINS(enc, "\nfloor-version 0\n");
  SW_ASSERT_EQ_INT(sw_state_decode((const uint8_t *)enc, elen, "p", "stable", &back, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(back.format, 3);
  back.format = 2;
  SW_ASSERT(memcmp(&r, &back, sizeof r) == 0);
}

SW_TEST(format_3_without_floor_version_is_corrupt) {
  static const char v3[] = "swarmup-state 3\nproduct p\nchannel stable\nsequence 42\n"
                           "date 2026-11-26T12:00:00Z\nexpires -\n"
                           "manifest-sha256 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n"
                           "version 3.2.0\ninstalled-sequence 0\ninstalled-version \n"
                           "last-check -\nlatest-known-time 2026-11-26T12:00:00Z\n";
  char buf[SW_STATE_MAX];
  size_t len = with_sum(v3, buf, sizeof buf);
  sw_state_rec r;
  SW_ASSERT_EQ_INT(sw_state_decode((const uint8_t *)buf, len, "p", "stable", &r, msg, sizeof msg),
                   SW_ERR_STATE_CORRUPT);
}
