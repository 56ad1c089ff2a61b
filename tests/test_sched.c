/* The scheduler's decisions (src/sched.c) on synthetic rates. */
#include <string.h>

#include "scheduler.h"

#include "sw_test.h"

#define MIB (1024u * 1024u)

static sw_sched_opts fg(void) {
  sw_sched_opts o = {3000, 0, 16384};
  return o;
}

static int now(const sw_sched_opts *o, uint64_t elapsed, int peer, uint64_t rate_ms, uint64_t rate, uint64_t left) {
  sw_sched_in in = {elapsed, peer, rate_ms, rate, left, 1};
  char why[200];
  return sw_sched_https_now(o, &in, why, sizeof why);
}

SW_TEST(swarm_alone_during_the_head_start_while_peers_connect) {
  sw_sched_opts o = fg();
  /* A peer connected at once, no rate yet: HTTPS waits. */
  SW_ASSERT_EQ_INT(now(&o, 500, 1, 0, 0, 100 * MIB), 0);
  SW_ASSERT_EQ_INT(now(&o, 1500, 1, 500, 0, 100 * MIB), 0);
  SW_ASSERT_EQ_INT(now(&o, 2900, 1, 900, 0, 100 * MIB), 0);
  /* A swarm that finishes within the head start is left alone. */
  SW_ASSERT_EQ_INT(now(&o, 1000, 1, 1000, 100 * MIB, 150 * MIB), 0);
}

SW_TEST(no_peer_within_one_second_starts_https_at_once) {
  sw_sched_opts o = fg();
  SW_ASSERT_EQ_INT(now(&o, 999, 0, 0, 0, 100 * MIB), 0);
  SW_ASSERT_EQ_INT(now(&o, 1000, 0, 0, 0, 100 * MIB), 1);
  /* Even with a long head start. */
  o.http_delay_ms = 60000;
  SW_ASSERT_EQ_INT(now(&o, 1000, 0, 0, 0, 100 * MIB), 1);
}

SW_TEST(a_peer_without_metadata_yet_is_given_the_head_start) {
  sw_sched_opts o = fg();
  sw_sched_in in = {2000, 1, 1500, 0, 100 * MIB, 0};
  char why[200];
  SW_ASSERT_EQ_INT(sw_sched_https_now(&o, &in, why, sizeof why), 0);
  in.elapsed_ms = 3000;
  SW_ASSERT_EQ_INT(sw_sched_https_now(&o, &in, why, sizeof why), 1);
  SW_ASSERT(strstr(why, "metadata") != NULL);
}

SW_TEST(slow_swarm_projected_to_miss_the_head_start_gets_https_early) {
  sw_sched_opts o = fg();
  /* 1 MiB/s for 100 MiB: 100 s, far beyond the 3 s head start: at 1 s, not 3 s. */
  SW_ASSERT_EQ_INT(now(&o, 1000, 1, 1000, MIB, 100 * MIB), 1);
  /* Zero rate after a second of samples: the same. */
  SW_ASSERT_EQ_INT(now(&o, 1200, 1, 1000, 0, 100 * MIB), 1);
}

SW_TEST(fast_swarm_never_asks_https) {
  sw_sched_opts o = fg();
  uint64_t left = 256 * MIB, rate = 200 * MIB;
  /* Simulate 100 ms ticks of a 200 MiB/s swarm over 256 MiB. */
  for (uint64_t t = 0; left > 0; t += 100) {
    SW_ASSERT_EQ_INT(now(&o, t, 1, t, t >= 100 ? rate : 0, left), 0);
    left = left > rate / 10 ? left - rate / 10 : 0;
  }
  /* After the head start a swarm about to finish is not helped either. */
  SW_ASSERT_EQ_INT(now(&o, 10000, 1, 9000, 10 * MIB, 15 * MIB), 0);
}

SW_TEST(after_the_head_start_a_swarm_that_needs_long_gets_https) {
  sw_sched_opts o = fg();
  SW_ASSERT_EQ_INT(now(&o, 3500, 1, 2500, 10 * MIB, 100 * MIB), 1);
  /* No rate yet at all after the head start (peers, nothing measurable). */
  SW_ASSERT_EQ_INT(now(&o, 3000, 1, 0, 0, 100 * MIB), 1);
}

SW_TEST(prefer_swarm_waits_the_longer_head_start) {
  sw_sched_opts o = fg();
  o.prefer_swarm = 1;
  SW_ASSERT_EQ_INT((int)sw_sched_head_start(&o), (int)SW_SCHED_PREFER_DELAY_MS);
  /* No peer within 1 s: still waiting (background install). */
  SW_ASSERT_EQ_INT(now(&o, 1000, 0, 0, 0, 100 * MIB), 0);
  SW_ASSERT_EQ_INT(now(&o, 29999, 0, 0, 0, 100 * MIB), 0);
  SW_ASSERT_EQ_INT(now(&o, 30000, 0, 0, 0, 100 * MIB), 1);
  /* Slow but finishing within 10 min: the origin is spared. */
  SW_ASSERT_EQ_INT(now(&o, 31000, 1, 30000, MIB, 100 * MIB), 0);
  /* Would take over 10 min: HTTPS. */
  SW_ASSERT_EQ_INT(now(&o, 31000, 1, 30000, 100 * 1024, 100 * MIB), 1);
  /* Below the floor: HTTPS. */
  SW_ASSERT_EQ_INT(now(&o, 31000, 1, 30000, 1000, 100 * 1024), 1);
  /* A longer --http-delay stays. */
  o.http_delay_ms = 90000;
  SW_ASSERT_EQ_INT((int)sw_sched_head_start(&o), 90000);
}

SW_TEST(https_takes_ranges_from_the_end_backwards) {
  uint8_t st[10] = {0};
  int first = -1, last = -1, eg = -1;
  /* 10 pieces of 1 MiB, the last 0.5 MiB; 3 MiB a request. */
  SW_ASSERT_EQ_INT(sw_sched_pick(st, 10, MIB, 9 * MIB + MIB / 2, 3 * MIB, &first, &last, &eg), 1);
  SW_ASSERT_EQ_INT(first, 7);
  SW_ASSERT_EQ_INT(last, 9);
  SW_ASSERT_EQ_INT(eg, 0);
  sw_sched_assign(st, first, last);
  SW_ASSERT_EQ_INT(sw_sched_pick(st, 10, MIB, 9 * MIB + MIB / 2, 3 * MIB, &first, &last, &eg), 1);
  SW_ASSERT_EQ_INT(first, 4);
  SW_ASSERT_EQ_INT(last, 6);
}

SW_TEST(https_never_takes_a_piece_that_is_had_or_assigned_or_queued) {
  uint8_t st[8] = {SW_SCHED_HAVE, 0, 0, SW_SCHED_QUEUED, 0, SW_SCHED_HAVE, SW_SCHED_HTTPS, SW_SCHED_HAVE};
  int first = -1, last = -1, eg = -1;
  SW_ASSERT_EQ_INT(sw_sched_pick(st, 8, MIB, 8 * MIB, 16 * MIB, &first, &last, &eg), 1);
  SW_ASSERT_EQ_INT(first, 4); /* a run stops at a busy piece */
  SW_ASSERT_EQ_INT(last, 4);
  st[4] = SW_SCHED_HTTPS;
  SW_ASSERT_EQ_INT(sw_sched_pick(st, 8, MIB, 8 * MIB, 16 * MIB, &first, &last, &eg), 1);
  SW_ASSERT_EQ_INT(first, 1);
  SW_ASSERT_EQ_INT(last, 2);
  SW_ASSERT_EQ_INT(eg, 0);
}

SW_TEST(endgame_only_when_nothing_else_is_left) {
  uint8_t st[4] = {SW_SCHED_HAVE, SW_SCHED_QUEUED, SW_SCHED_HTTPS, SW_SCHED_HAVE};
  int first = -1, last = -1, eg = -1;
  SW_ASSERT_EQ_INT(sw_sched_pick(st, 4, MIB, 4 * MIB, 16 * MIB, &first, &last, &eg), 1);
  SW_ASSERT_EQ_INT(eg, 1);
  SW_ASSERT_EQ_INT(first, 1);
  SW_ASSERT_EQ_INT(last, 1);
  st[1] = SW_SCHED_HAVE;
  SW_ASSERT_EQ_INT(sw_sched_pick(st, 4, MIB, 4 * MIB, 16 * MIB, &first, &last, &eg), 0);
}

SW_TEST(a_failed_https_range_is_given_back) {
  uint8_t st[6] = {0};
  int first = -1, last = -1, eg = -1;
  SW_ASSERT_EQ_INT(sw_sched_pick(st, 6, MIB, 6 * MIB, 2 * MIB, &first, &last, &eg), 1);
  sw_sched_assign(st, first, last);
  SW_ASSERT_EQ_INT(st[4] & SW_SCHED_HTTPS, SW_SCHED_HTTPS);
  st[5] |= SW_SCHED_HAVE; /* one piece arrived before the request failed */
  sw_sched_give_back(st, first, last);
  SW_ASSERT_EQ_INT(st[4], 0);
  SW_ASSERT_EQ_INT(st[5], SW_SCHED_HAVE);
  /* The next pick takes the piece that was given back again. */
  SW_ASSERT_EQ_INT(sw_sched_pick(st, 6, MIB, 6 * MIB, 2 * MIB, &first, &last, &eg), 1);
  SW_ASSERT_EQ_INT(last, 4);
  SW_ASSERT_EQ_INT(first, 3);
}

SW_TEST(https_requests_hold_a_few_seconds_at_the_observed_rate) {
  uint64_t piece = 256u * 1024u, max = 4 * MIB;
  /* No rate yet: the first request's size. */
  SW_ASSERT_EQ_INT(sw_sched_span(0, piece, max), SW_SCHED_SPAN_FIRST);
  /* A crowded origin (31 KiB/s to this client): 4 s of it, not 4 MiB. */
  SW_ASSERT_EQ_INT(sw_sched_span(31 * 1024, 16 * 1024, max), 124u * 1024u);
  /* Never under one piece, never over the cap, even at absurd rates. */
  SW_ASSERT_EQ_INT(sw_sched_span(1000, piece, max), piece);
  SW_ASSERT_EQ_INT(sw_sched_span(100 * MIB, piece, max), max);
  SW_ASSERT_EQ_INT(sw_sched_span(UINT64_MAX, piece, max), max);
}

SW_TEST(https_takes_its_rate_share_of_what_is_left) {
  /* 100 pieces left, HTTPS 4 MB/s beside a 6 MB/s swarm: 40 for HTTPS. */
  SW_ASSERT_EQ_INT(sw_sched_share(100, 4000000, 6000000), 40);
  /* Rounded up, never nothing. */
  SW_ASSERT_EQ_INT(sw_sched_share(3, 1000, 1000000), 1);
  SW_ASSERT_EQ_INT(sw_sched_share(101, 1, 1), 51);
  /* A swarm that delivers nothing, or an HTTPS rate not known yet: all. */
  SW_ASSERT_EQ_INT(sw_sched_share(100, 4000000, 0), 100);
  SW_ASSERT_EQ_INT(sw_sched_share(100, 0, 6000000), 100);
  SW_ASSERT_EQ_INT(sw_sched_share(0, 1, 1), 0);
  SW_ASSERT_EQ_INT(sw_sched_share(1 << 20, UINT64_MAX / 2, UINT64_MAX / 2), 1 << 20);
}

SW_TEST(https_stops_before_the_first_piece_the_swarm_took_in_its_range) {
  uint8_t st[10] = {0};
  /* HTTPS fetches 2..9 and is at 4; the swarm finished 7 and queued 6. */
  st[2] = st[3] = st[4] = SW_SCHED_HAVE;
  for (int i = 5; i <= 9; i++) st[i] |= SW_SCHED_HTTPS;
  st[6] |= SW_SCHED_QUEUED;
  st[7] |= SW_SCHED_HAVE;
  SW_ASSERT_EQ_INT(sw_sched_yield(st, 4, 9), 5);
  /* The very next piece taken: HTTPS ends with the one it is on. */
  st[5] |= SW_SCHED_QUEUED;
  SW_ASSERT_EQ_INT(sw_sched_yield(st, 4, 9), 4);
  /* Nothing of the range taken: the whole range stays. */
  memset(st, 0, sizeof st);
  SW_ASSERT_EQ_INT(sw_sched_yield(st, 1, 9), 9);
}

SW_TEST(pieces_in_file_order_only_with_seeds_alone_or_https_pieces) {
  SW_ASSERT_EQ_INT(sw_sched_in_order(0, 0, 0), 0);  /* nobody connected yet: rarest first */
  SW_ASSERT_EQ_INT(sw_sched_in_order(1, 1, 0), 1);  /* one seed */
  SW_ASSERT_EQ_INT(sw_sched_in_order(3, 3, 0), 1);  /* three seeds */
  SW_ASSERT_EQ_INT(sw_sched_in_order(4, 3, 0), 0);  /* a downloader among them */
  SW_ASSERT_EQ_INT(sw_sched_in_order(2, 0, 0), 0);  /* downloaders (or a super-seed, which shows no bitfield) */
  SW_ASSERT_EQ_INT(sw_sched_in_order(2, 0, 1), 1);  /* HTTPS takes the end: the swarm comes from the start */
  SW_ASSERT_EQ_INT(sw_sched_in_order(0, 0, 1), 1);
}

SW_TEST(rate_is_smoothed_over_about_two_seconds) {
  sw_sched_rate r = {0};
  SW_ASSERT_EQ_INT(sw_sched_rate_get(&r), 0);
  for (uint64_t t = 0; t <= 5000; t += 250) sw_sched_rate_add(&r, 1000 + t, t * 1000); /* 1 MB/s */
  SW_ASSERT_EQ_INT(sw_sched_rate_get(&r), 1000000);
  SW_ASSERT_EQ_INT(sw_sched_rate_span(&r), 5000);
  /* It stops: after 2 s of no growth the rate is 0. */
  for (uint64_t t = 5250; t <= 7250; t += 250) sw_sched_rate_add(&r, 1000 + t, 5000 * 1000);
  SW_ASSERT_EQ_INT(sw_sched_rate_get(&r), 0);
}
