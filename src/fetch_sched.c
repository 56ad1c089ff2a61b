/* swarmup fetch: the two piece sources behind source.h (the swarm, HTTPS) and
 * the scheduler's tick, which feeds the scheduler (scheduler.h) what the
 * sources observed and starts HTTPS beside the swarm when its rules say so:
 * no peer within a second, a swarm too slow for the head start, or the head
 * start over. The rules themselves are in scheduler.c (docs/fetch-sources.md). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fetch_int.h"

/* ---- the swarm as a source ---------------------------------------------------- */

static void swarm_start(void *ctx, const char *why) {
  (void)ctx;
  (void)why; /* the session and its torrent start with the command */
}

static void swarm_stop(void *ctx) {
  (void)ctx; /* the torrent stays: it checks HTTPS's pieces and seeds afterwards */
}

/* Pieces given back by HTTPS: the swarm may fetch them again. */
static int swarm_want(void *ctx, int first, int last) {
  fetch *f = ctx;
  if (f->sw.t == NULL || !f->sw.have_metadata) return -1;
  return sw_swarm_piece_priority(f->sw.t, first, last, 1, NULL, 0) == SW_OK ? 0 : -1;
}

static uint64_t swarm_rate(void *ctx) {
  fetch *f = ctx;
  return sw_sched_rate_get(&f->sw.rate);
}

static const char *swarm_why(void *ctx) {
  fetch *f = ctx;
  return f->sw.swarm_why;
}

static const sw_source_ops swarm_ops = {"swarm", swarm_start, swarm_stop, swarm_want, swarm_rate, swarm_why};

/* ---- HTTPS as a source ---------------------------------------------------------- */

static void https_start(void *ctx, const char *why) { sw__fetch_https_alongside(ctx, why); }

static void https_stop(void *ctx) { sw__fetch_https_stop(ctx); }

/* HTTPS picks its own ranges (fetch_https.c asks sw_sched_pick); a range is
 * not pushed onto it. */
static int https_want(void *ctx, int first, int last) {
  (void)ctx;
  (void)first;
  (void)last;
  return -1;
}

static uint64_t https_rate(void *ctx) {
  fetch *f = ctx;
  return sw_sched_rate_get(&f->https.rate);
}

static const char *https_why(void *ctx) {
  fetch *f = ctx;
  return f->https.url_err;
}

static const sw_source_ops https_ops = {"https", https_start, https_stop, https_want, https_rate, https_why};

/* ---- the tick --------------------------------------------------------------------- */

static void on_sched_tick(uv_timer_t *h) {
  fetch *f = h->data;
  sw_sched_opts so;
  sw_sched_in in;
  char why[256];
  uint64_t now = sw__fetch_now_ms(f), done;
  /* Once HTTPS ran (alongside, or after the swarm was given up) the scheduler
   * has decided: the Fallback URLs are each tried once a run. */
  if (f->phase != PH_DOWNLOAD || f->switched || f->o.no_fallback || f->https.http == NULL) {
    uv_timer_stop(h);
    return;
  }
  /* The status callback comes once a second: ask now, so that a peer that
   * connected a moment ago is not taken for a silent firewall, and the rate
   * is known a second after the first peer, not two. */
  sw__fetch_swarm_sample(f, now);
  memset(&so, 0, sizeof so);
  so.http_delay_ms = f->o.http_delay * 1000u;
  so.prefer_swarm = f->o.prefer_swarm;
  so.floor_rate = f->o.stall_rate;
  memset(&in, 0, sizeof in);
  /* From the moment the swarm could connect, not from the start of the
   * download: starting libtorrent's session is our own time, not the
   * network's silence (on a loaded machine under ASan it took a good part of
   * the 1 s connect grace, and a reachable seeder was taken for a firewall). */
  in.elapsed_ms = now - f->t_sched;
  in.peer_connected = f->sw.peers_ever;
  in.rate_ms = sw_sched_rate_span(&f->sw.rate);
  in.swarm_rate = f->src_swarm.ops->rate(f->src_swarm.ctx);
  done = f->sw.have_metadata ? f->sw.last.bytes_done : 0;
  in.remaining = f->r.m->size > done ? f->r.m->size - done : 0;
  in.have_metadata = f->sw.have_metadata;
  if (!sw_sched_https_now(&so, &in, why, sizeof why)) return;
  uv_timer_stop(h);
  f->src_https.ops->start(f->src_https.ctx, why);
  f->src_https.active = f->https.active;
}

void sw__fetch_sched_init(fetch *f) {
  f->src_swarm.ops = &swarm_ops;
  f->src_swarm.ctx = f;
  f->src_https.ops = &https_ops;
  f->src_https.ctx = f;
}

void sw__fetch_sched_start(fetch *f) {
  f->src_swarm.active = 1;
  f->t_sched = sw__fetch_now_ms(f);
  if (f->o.no_fallback || f->https.http == NULL) return;
  uv_timer_start(&f->sched_tick, on_sched_tick, SW_SCHED_TICK_MS, SW_SCHED_TICK_MS);
}
