/* The download scheduler (scheduler.h, not sched.h: that name is the system
 * header pthread.h includes): which source fetches which piece, decided from
 * observed rates. Pure decision logic (no libuv, no I/O, no clock of its own):
 * the fetch command feeds it the elapsed time, the swarm's state and the
 * pieces' states, and does what it says. The rules are documented in
 * docs/fetch-sources.md and tested in tests/test_sched.c.
 *
 *  1. Head start: the swarm alone for --http-delay (default 3 s; with
 *     --prefer-swarm at least SW_SCHED_PREFER_DELAY_MS).
 *  2. Silent firewall: no peer connected within SW_SCHED_CONNECT_GRACE_MS:
 *     HTTPS starts at once, the swarm keeps trying (not with --prefer-swarm).
 *  3. Slow swarm: once the swarm has SW_SCHED_RATE_WINDOW_MS of rate samples,
 *     if at its observed rate it would not finish within the head start (and
 *     not within SW_SCHED_MIN_GAIN_MS either), HTTPS starts.
 *     Peers but no metadata yet: no payload can flow, so no rate rule
 *     applies; HTTPS waits for the head start (a peer that connected is
 *     worth its metadata: without it HTTPS would take the whole file).
 *  4. --prefer-swarm: HTTPS only after the head start, and only if the swarm
 *     would not finish within SW_SCHED_PREFER_ETA_MS at its observed rate
 *     (or its rate is below the stall floor).
 *  5. HTTPS takes runs of missing pieces from the end backwards, never a piece
 *     that is had or assigned; a piece in the swarm's queue only in the
 *     endgame (nothing else left). */
#ifndef SW_SCHED_H
#define SW_SCHED_H

#include <stddef.h>
#include <stdint.h>

#define SW_SCHED_CONNECT_GRACE_MS 1000u   /* no peer by then: a silent firewall, HTTPS now */
#define SW_SCHED_RATE_WINDOW_MS 1000u     /* rate samples needed before a rate counts */
#define SW_SCHED_MIN_GAIN_MS 2000u        /* a swarm finishing sooner than this is not helped */
#define SW_SCHED_PREFER_DELAY_MS 30000u   /* --prefer-swarm's head start at least */
#define SW_SCHED_PREFER_ETA_MS 600000u    /* --prefer-swarm: a swarm finishing within 10 min is waited for */

/* Per-piece state bits (uint8_t per piece). */
enum {
  SW_SCHED_HAVE = 1,     /* verified (or handed over and not failed) */
  SW_SCHED_HTTPS = 2,    /* assigned to an HTTPS request */
  SW_SCHED_QUEUED = 4    /* the swarm is downloading it (partial blocks, requests out) */
};

typedef struct sw_sched_opts {
  uint64_t http_delay_ms;  /* --http-delay */
  int prefer_swarm;        /* --prefer-swarm */
  uint64_t floor_rate;     /* --stall-rate: bytes/s below which the swarm is not waited for */
} sw_sched_opts;

typedef struct sw_sched_in {
  uint64_t elapsed_ms;     /* since the download started */
  int peer_connected;      /* a peer has connected (ever) */
  uint64_t rate_ms;        /* how long the swarm's rate has been observed (0: not yet) */
  uint64_t swarm_rate;     /* bytes/s, smoothed */
  uint64_t remaining;      /* bytes of the file not yet had */
  int have_metadata;       /* the swarm's torrent has its metadata (pieces can flow) */
} sw_sched_in;

/* The swarm's head start in ms under these options. */
uint64_t sw_sched_head_start(const sw_sched_opts *o);

/* 1 if HTTPS should run now (and a short reason in why[whylen], "" if not);
 * 0 while the swarm is left alone. */
int sw_sched_https_now(const sw_sched_opts *o, const sw_sched_in *in, char *why, size_t whylen);

/* The next range of pieces for HTTPS: the last run of pieces that are neither
 * had, assigned nor queued, from the end of the file backwards, at most
 * max_bytes (at least one piece). If there is none, the endgame: the same
 * over pieces only queued at the swarm (*endgame = 1). Pieces are piece_len
 * bytes, the last one what is left of size. Returns 1 and [*first, *last],
 * 0 when every piece is had or assigned. */
int sw_sched_pick(const uint8_t *state, int num_pieces, uint64_t piece_len, uint64_t size, uint64_t max_bytes,
                  int *first, int *last, int *endgame);

/* The size of HTTPS's next Range request beside the swarm: SW_SCHED_SPAN_MS of
 * HTTPS at its observed rate (SW_SCHED_SPAN_FIRST before it has one), within
 * [min_bytes, max_bytes]. The swarm asks for the pieces HTTPS holds once it
 * has nothing else to fetch, and what a request still has in flight when the
 * swarm got the same pieces first is fetched twice: a crowded origin gets
 * short requests, a fast one long ones (one round trip between them). */
#define SW_SCHED_SPAN_MS 4000u
#define SW_SCHED_SPAN_FIRST (1u << 20)
uint64_t sw_sched_span(uint64_t https_rate, uint64_t min_bytes, uint64_t max_bytes);

/* How many of the `left` pieces still to come HTTPS takes beside a swarm
 * delivering swarm_rate, so that both sources end together: left * h / (h + s),
 * rounded up, at least one; all of them while either rate is unknown (the
 * request size bounds that). The swarm walks the file in order towards
 * HTTPS's runs and takes, once there, what HTTPS has not yet delivered: a run
 * longer than this share is fetched twice at its start. */
int sw_sched_share(int left, uint64_t https_rate, uint64_t swarm_rate);

/* The swarm finished a piece inside HTTPS's request [.., last], which has
 * delivered up to piece pos: the last piece HTTPS keeps is the one before the
 * first in (pos, last] that the swarm had or queued (state bits as for
 * sw_sched_pick); pos itself when that is the very next. */
int sw_sched_yield(const uint8_t *state, int pos, int last);

/* The order libtorrent picks the swarm's pieces in: 1 for file order
 * (sequential), 0 for rarest first. In order while HTTPS fetches pieces (it
 * takes runs from the end, the swarm comes from the start: they meet once),
 * and while every connected peer is a seed (num_peers > 0, all of them
 * num_seeds). Rarest first keeps the pieces of downloaders diverse so that
 * they can trade; a seed has every piece, so with seeds alone the order only
 * decides how soon the payload gate, which reads the file in order, can check
 * it: in file order the gate follows the download and ends with it, instead
 * of checking most of the file after the last piece (docs/bench-swarm.md).
 * A downloader that connects brings rarest first back. */
int sw_sched_in_order(int num_peers, int num_seeds, int https_pieces);

/* Mark [first, last] assigned to HTTPS; give them back (a failed request:
 * the swarm may fetch them again) unless they were had meanwhile. */
void sw_sched_assign(uint8_t *state, int first, int last);
void sw_sched_give_back(uint8_t *state, int first, int last);

/* A smoothed rate from cumulative byte counts: feed (now_ms, total bytes);
 * the rate is over the last ~2 s of samples. */
#define SW_SCHED_RATE_SAMPLES 8
typedef struct sw_sched_rate {
  struct { uint64_t t, bytes; } s[SW_SCHED_RATE_SAMPLES];
  int n, head;
  uint64_t t_first;        /* first sample's time */
} sw_sched_rate;

void sw_sched_rate_add(sw_sched_rate *r, uint64_t now_ms, uint64_t total_bytes);
/* bytes/s over the samples of the last ~2 s; 0 with fewer than two samples. */
uint64_t sw_sched_rate_get(const sw_sched_rate *r);
/* how long samples have been taken, in ms (0: none). */
uint64_t sw_sched_rate_span(const sw_sched_rate *r);

#endif
