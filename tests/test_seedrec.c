/* test_seedrec.c - the seeder's record (src/seedrec.h) that `swarmup status`
 * reads: round trip with the maximum number of releases, and the strict
 * decoder (checksum, order of the lines, numbers, trailing bytes). */
#include "sw_test.h"

#include "fsutil.h"
#include "seedrec.h"
#include "sw_limits.h"

static char msg[SW_MSG_MAX];

static sw_seedrec sample(size_t n) {
  sw_seedrec r;
  memset(&r, 0, sizeof r);
  r.pid = 4242;
  r.updated = 1796558400; /* 2026-12-06T12:00:00Z */
  r.running = 1;
  r.n = n;
  for (size_t i = 0; i < n; i++) {
    r.rel[i].sequence = 10 + i;
    r.rel[i].size = UINT64_MAX - i;
    r.rel[i].uploaded = UINT64_MAX;
    r.rel[i].peers = i;
  }
  return r;
}

SW_TEST(record_with_the_most_releases_round_trips_within_its_limit) {
  char buf[SW_SEEDREC_MAX];
  size_t len = 0;
  sw_seedrec in = sample(SW_SEEDREC_RELEASES_MAX), out;
  SW_ASSERT_EQ_INT(sw_seedrec_encode(&in, buf, sizeof buf, &len), SW_OK);
  SW_ASSERT(len <= SW_SEEDREC_MAX);
  SW_ASSERT_EQ_INT(sw_seedrec_decode((const uint8_t *)buf, len, &out, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(out.pid, 4242);
  SW_ASSERT_EQ_INT(out.updated, 1796558400);
  SW_ASSERT_EQ_INT(out.running, 1);
  SW_ASSERT_EQ_INT(out.n, SW_SEEDREC_RELEASES_MAX);
  SW_ASSERT(memcmp(in.rel, out.rel, sizeof in.rel) == 0);
  SW_ASSERT(sw_seedrec_uploaded(&out, 11) == UINT64_MAX);
  SW_ASSERT_EQ_INT(sw_seedrec_uploaded(&out, 9), 0);
}

SW_TEST(record_without_releases_round_trips) {
  char buf[SW_SEEDREC_MAX];
  size_t len = 0;
  sw_seedrec in = sample(0), out;
  in.running = 0;
  SW_ASSERT_EQ_INT(sw_seedrec_encode(&in, buf, sizeof buf, &len), SW_OK);
  SW_ASSERT_EQ_INT(sw_seedrec_decode((const uint8_t *)buf, len, &out, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(out.running, 0);
  SW_ASSERT_EQ_INT(out.n, 0);
}

SW_TEST(any_flipped_byte_or_trailing_byte_is_corrupt) {
  char buf[SW_SEEDREC_MAX + 1];
  size_t len = 0;
  sw_seedrec in = sample(3), out;
  SW_ASSERT_EQ_INT(sw_seedrec_encode(&in, buf, sizeof buf, &len), SW_OK);
  for (size_t i = 0; i < len; i++) {
    buf[i] ^= 1;
    SW_ASSERT_EQ_INT(sw_seedrec_decode((const uint8_t *)buf, len, &out, msg, sizeof msg), SW_ERR_STATE_CORRUPT);
    buf[i] ^= 1;
  }
  buf[len] = '\n';
  SW_ASSERT_EQ_INT(sw_seedrec_decode((const uint8_t *)buf, len + 1, &out, msg, sizeof msg), SW_ERR_STATE_CORRUPT);
  SW_ASSERT_EQ_INT(sw_seedrec_decode((const uint8_t *)buf, len - 1, &out, msg, sizeof msg), SW_ERR_STATE_CORRUPT);
  SW_ASSERT_EQ_INT(out.n, 0); /* nothing half-decoded is left */
}

/* A body with a good checksum line: only the grammar can refuse it. */
static size_t with_sum(const char *body, char *out, size_t cap) {
  uint8_t sum[32];
  char hex[65];
  sw_sha256((const uint8_t *)body, strlen(body), sum);
  sw_hex(sum, 32, hex);
  return (size_t)snprintf(out, cap, "%schecksum %s\n", body, hex);
}

SW_TEST(well_summed_records_with_bad_fields_are_corrupt) {
  static const char *const bad[] = {
      "swarmup-seeding 1\npid 1\nupdated 2026-12-06T12:00:00Z\nrunning 2\n",
      "swarmup-seeding 1\npid 01\nupdated 2026-12-06T12:00:00Z\nrunning 1\n",
      "swarmup-seeding 1\nupdated 2026-12-06T12:00:00Z\npid 1\nrunning 1\n",
      "swarmup-seeding 1\npid 1\nupdated yesterday\nrunning 1\n",
      "swarmup-seeding 1\npid 1\nupdated 2026-12-06T12:00:00Z\nrunning 1\nrelease 1 2 3\n",
      "swarmup-seeding 1\npid 1\nupdated 2026-12-06T12:00:00Z\nrunning 1\nrelease 1 2 3 4 5\n",
      "swarmup-seeding 1\npid 1\nupdated 2026-12-06T12:00:00Z\nrunning 1\nrelease 1 2 18446744073709551616 4\n",
      "swarmup-seeding 2\npid 1\nupdated 2026-12-06T12:00:00Z\nrunning 1\n",
  };
  char buf[512];
  sw_seedrec out;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t len = with_sum(bad[i], buf, sizeof buf);
    if (sw_seedrec_decode((const uint8_t *)buf, len, &out, msg, sizeof msg) != SW_ERR_STATE_CORRUPT)
      SW_FAILF("accepted: %s", bad[i]);
  }
  /* The same grammar with good fields is accepted (the cases above fail for their field). */
  size_t len = with_sum("swarmup-seeding 1\npid 1\nupdated 2026-12-06T12:00:00Z\nrunning 1\nrelease 1 2 3 4\n", buf,
                        sizeof buf);
  SW_ASSERT_EQ_INT(sw_seedrec_decode((const uint8_t *)buf, len, &out, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(out.rel[0].peers, 4);
}
