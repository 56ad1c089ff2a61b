/* A piece source of swarmup fetch, as the scheduler sees it: the swarm
 * (fetch_swarm.c, libtorrent through torrent/) and HTTPS (fetch_https*.c,
 * Range requests through fallback/). The fetch command holds one of each and
 * drives them from the scheduler's decisions (scheduler.h, fetch_sched.c).
 *
 * Every byte from either source goes through libtorrent's v2 piece hashes
 * (HTTPS pieces are handed over with sw_swarm_add_piece), except in file
 * mode (no metadata, no Torrent URL, or --no-swarm), where the payload gate
 * alone checks the whole file. */
#ifndef SW_SOURCE_H
#define SW_SOURCE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sw_source_ops {
  const char *name;                                /* "swarm", "https" */
  /* Start fetching (why: shown in the events). Idempotent. */
  void (*start)(void *ctx, const char *why);
  /* Stop fetching; what was delivered stays. */
  void (*stop)(void *ctx);
  /* Fetch pieces [first, last] (HTTPS: one Range request; swarm: priority
   * back to normal). Returns 0 if taken, -1 if the source cannot now. */
  int (*want)(void *ctx, int first, int last);
  /* Observed payload rate in bytes/s, smoothed over ~2 s. */
  uint64_t (*rate)(void *ctx);
  /* Why it failed or was given up ("" while it has not). */
  const char *(*why_failed)(void *ctx);
} sw_source_ops;

typedef struct sw_source {
  const sw_source_ops *ops;
  void *ctx;
  int active;                                      /* started and not stopped */
} sw_source;

#endif
