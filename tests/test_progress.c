/* fetch's progress line (src/progress.h): the smoothed rate, the ETA, plurals. */
#include <string.h>

#include "progress.h"
#include "sw_test.h"

static void eta(uint64_t left, double rate, const char *want) {
  char out[32];
  sw_progress_eta(left, rate, out, sizeof out);
  SW_ASSERT_STREQ(out, want);
}

SW_TEST(eta_is_m_ss_under_an_hour_and_h_mm_ss_above) {
  eta(0, 1000, "0:00");
  eta(59000, 1000, "0:59");
  eta(3599000, 1000, "59:59");
  eta(3600000, 1000, "1:00:00");
  eta(120832ull * 1000, 1000, "33:33:52"); /* the "2013:52" */
  eta(64ull << 20, 256 * 1024, "4:16");
  eta(99ull * 3600 + 3599, 1, "99:59:59");
}

SW_TEST(eta_is_unknown_without_a_rate_or_beyond_99_hours) {
  eta(1000, 0, "--:--");
  eta(1000, 0.5, "--:--");
  eta(1000, -1, "--:--");
  eta(100ull * 3600, 1, "--:--");
}

SW_TEST(first_sample_is_taken_as_it_is) {
  double r = sw_progress_rate(-1, 262144, 1000);
  SW_ASSERT_EQ_INT((long long)r, 262144);
  SW_ASSERT_EQ_INT((long long)sw_progress_rate(r, 100, 0), 262144); /* no time: no change */
}

SW_TEST(a_tick_without_bytes_lowers_the_rate_a_little_never_halves_it) {
  double r = 262144;
  for (int i = 0; i < 5; i++) {
    double next = sw_progress_rate(r, 0, 1000);
    SW_ASSERT(next < r);
    if (next < 0.8 * r) SW_FAILF("tick %d: %.0f -> %.0f", i, r, next);
    r = next;
  }
  /* The old halving reached 8 B/s after 15 empty ticks; this is still in KiB/s. */
  for (int i = 0; i < 10; i++) r = sw_progress_rate(r, 0, 1000);
  SW_ASSERT(r > 1024);
}

SW_TEST(slow_origin_in_bursts_shows_its_average_rate) {
  /* 256 KiB/s arriving as 64 KiB every 250 ms, ticks of 1 s that sometimes see
   * 3 writes and sometimes 5: the rate stays near 256 KiB/s. */
  double r = -1;
  for (int t = 0; t < 60; t++) {
    uint64_t writes = (t % 2) ? 3 : 5;
    r = sw_progress_rate(r, writes * 65536, 1000);
    if (t > 5 && (r < 0.8 * 262144 || r > 1.2 * 262144)) SW_FAILF("tick %d: rate %.0f", t, r);
  }
}

SW_TEST(rate_follows_a_lasting_change_within_20_seconds) {
  double r = 1048576;
  for (int t = 0; t < 20; t++) r = sw_progress_rate(r, 262144, 1000); /* 1 MiB/s -> 256 KiB/s */
  SW_ASSERT(r < 1.1 * 262144);
}

static void line(const sw_progress *p, const char *want) {
  char out[256];
  sw_progress_line(p, out, sizeof out);
  SW_ASSERT_STREQ(out, want);
}

SW_TEST(one_peer_is_singular_other_counts_plural) {
  sw_progress p;
  memset(&p, 0, sizeof p);
  p.source = SW_PROGRESS_SWARM;
  p.size = 64ull << 20;
  p.done = 16ull << 20;
  p.rate = 1048576;
  p.peers = 1;
  line(&p, "[######..................]  25.0% 16.0 MiB/64.0 MiB 1.0 MiB/s 1 peer ETA 0:48");
  p.peers = 0;
  line(&p, "[######..................]  25.0% 16.0 MiB/64.0 MiB 1.0 MiB/s 0 peers ETA 0:48");
  p.peers = 3;
  line(&p, "[######..................]  25.0% 16.0 MiB/64.0 MiB 1.0 MiB/s 3 peers ETA 0:48");
  p.source = SW_PROGRESS_SEEDING;
  p.uploaded = 2048;
  p.upload_rate = 1024;
  p.peers = 1;
  line(&p, "seeding: 2.0 KiB uploaded, 1.0 KiB/s, 1 peer");
  p.peers = 2;
  line(&p, "seeding: 2.0 KiB uploaded, 1.0 KiB/s, 2 peers");
}

SW_TEST(https_line_with_a_slow_origin_has_an_h_mm_ss_eta) {
  sw_progress p;
  memset(&p, 0, sizeof p);
  p.source = SW_PROGRESS_HTTPS;
  p.size = 2ull << 30;
  p.done = 0;
  p.rate = 262144;
  line(&p, "[........................]   0.0% 0 B/2.00 GiB 256.0 KiB/s over HTTPS ETA 2:16:32");
}

SW_TEST(no_rate_yet_shows_zero_and_unknown_eta) {
  sw_progress p;
  memset(&p, 0, sizeof p);
  p.source = SW_PROGRESS_SWARM;
  p.size = 1024;
  p.rate = -1;
  line(&p, "[........................]   0.0% 0 B/1.0 KiB 0 B/s 0 peers ETA --:--");
  p.done = 4096; /* more than the size (a count from another run): capped at 100% */
  line(&p, "[########################] 100.0% 4.0 KiB/1.0 KiB 0 B/s 0 peers ETA --:--");
}
