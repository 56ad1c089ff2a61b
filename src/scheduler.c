/* The download scheduler's decisions (scheduler.h): pure functions of what the
 * fetch command observed, so that every rule is tested on synthetic rates. */
#include "scheduler.h"

#include <inttypes.h>
#include <stdio.h>

uint64_t sw_sched_head_start(const sw_sched_opts *o) {
  if (o->prefer_swarm && o->http_delay_ms < SW_SCHED_PREFER_DELAY_MS) return SW_SCHED_PREFER_DELAY_MS;
  return o->http_delay_ms;
}

/* ms the swarm needs for what is left at its rate (UINT64_MAX: never). */
static uint64_t swarm_eta_ms(const sw_sched_in *in) {
  if (in->remaining == 0) return 0;
  if (in->swarm_rate == 0) return UINT64_MAX;
  if (in->remaining > UINT64_MAX / 1000u) return in->remaining / in->swarm_rate * 1000u;
  return in->remaining * 1000u / in->swarm_rate;
}

int sw_sched_https_now(const sw_sched_opts *o, const sw_sched_in *in, char *why, size_t whylen) {
  uint64_t head = sw_sched_head_start(o), eta;
  int rate_known = in->rate_ms >= SW_SCHED_RATE_WINDOW_MS;
  if (whylen) why[0] = '\0';
  if (in->remaining == 0) return 0;
  eta = swarm_eta_ms(in);
  if (o->prefer_swarm) {
    /* Spare the origin: the whole head start for the swarm, then HTTPS only
     * for a swarm that is absent, below the floor or too slow to finish
     * within SW_SCHED_PREFER_ETA_MS. */
    if (in->elapsed_ms < head) return 0;
    if (!in->peer_connected) {
      snprintf(why, whylen, "no peer within the head start of %" PRIu64 " s (--prefer-swarm)", head / 1000u);
      return 1;
    }
    if (!rate_known) return 0;
    if (in->swarm_rate < o->floor_rate || eta > SW_SCHED_PREFER_ETA_MS) {
      snprintf(why, whylen, "the swarm's %" PRIu64 " B/s would not finish within %u s (--prefer-swarm)",
               in->swarm_rate, SW_SCHED_PREFER_ETA_MS / 1000u);
      return 1;
    }
    return 0;
  }
  if (!in->peer_connected) {
    /* A network that drops BitTorrent packets gives no error to wait for. */
    if (in->elapsed_ms >= SW_SCHED_CONNECT_GRACE_MS || in->elapsed_ms >= head) {
      snprintf(why, whylen, "no peer connected within %.1f s", (double)in->elapsed_ms / 1000.0);
      return 1;
    }
    return 0;
  }
  if (!in->have_metadata) {
    if (in->elapsed_ms >= head) {
      snprintf(why, whylen, "no metadata from the swarm within %.1f s", (double)in->elapsed_ms / 1000.0);
      return 1;
    }
    return 0;
  }
  if (!rate_known) {
    /* Peers, but no rate yet: the head start still bounds the wait. */
    if (in->elapsed_ms >= head && in->elapsed_ms >= SW_SCHED_RATE_WINDOW_MS + SW_SCHED_CONNECT_GRACE_MS) {
      snprintf(why, whylen, "the swarm delivered nothing measurable within %.1f s", (double)in->elapsed_ms / 1000.0);
      return 1;
    }
    return 0;
  }
  /* A swarm that finishes within the head start, or so soon that HTTPS
   * would gain nothing, is left alone: the origin serves nothing. */
  if (eta <= SW_SCHED_MIN_GAIN_MS) return 0;
  if (in->elapsed_ms < head && eta <= head - in->elapsed_ms) return 0;
  if (eta == UINT64_MAX)
    snprintf(why, whylen, "the swarm delivers nothing (%.1f s)", (double)in->elapsed_ms / 1000.0);
  else
    snprintf(why, whylen, "at %" PRIu64 " B/s the swarm needs %.1f s more", in->swarm_rate, (double)eta / 1000.0);
  return 1;
}

/* The last run of pieces whose state has none of the bits in `busy`, scanning
 * backwards from the end, at most max_bytes. */
static int pick_run(const uint8_t *state, int n, uint64_t piece_len, uint64_t size, uint64_t max_bytes, uint8_t busy,
                    int *first, int *last) {
  int i = n - 1;
  uint64_t span;
  while (i >= 0 && (state[i] & busy)) i--;
  if (i < 0) return 0;
  *last = i;
  span = (uint64_t)i * piece_len + piece_len > size ? size - (uint64_t)i * piece_len : piece_len;
  while (i - 1 >= 0 && !(state[i - 1] & busy) && span + piece_len <= max_bytes) {
    i--;
    span += piece_len; /* every piece but the last is piece_len bytes */
  }
  *first = i;
  return 1;
}

int sw_sched_pick(const uint8_t *state, int num_pieces, uint64_t piece_len, uint64_t size, uint64_t max_bytes,
                  int *first, int *last, int *endgame) {
  *endgame = 0;
  if (num_pieces <= 0 || piece_len == 0) return 0;
  if (pick_run(state, num_pieces, piece_len, size, max_bytes, SW_SCHED_HAVE | SW_SCHED_HTTPS | SW_SCHED_QUEUED, first,
               last))
    return 1;
  /* Endgame: everything left is in the swarm's queue; HTTPS races it. */
  if (pick_run(state, num_pieces, piece_len, size, max_bytes, SW_SCHED_HAVE | SW_SCHED_HTTPS, first, last)) {
    *endgame = 1;
    return 1;
  }
  return 0;
}

uint64_t sw_sched_span(uint64_t https_rate, uint64_t min_bytes, uint64_t max_bytes) {
  uint64_t b = SW_SCHED_SPAN_FIRST;
  if (https_rate > 0)
    b = https_rate > UINT64_MAX / SW_SCHED_SPAN_MS ? UINT64_MAX : https_rate * SW_SCHED_SPAN_MS / 1000u;
  if (b > max_bytes) b = max_bytes;
  if (b < min_bytes) b = min_bytes;
  return b;
}

int sw_sched_share(int left, uint64_t https_rate, uint64_t swarm_rate) {
  uint64_t k;
  if (left <= 0) return 0;
  if (https_rate == 0 || swarm_rate == 0) return left;
  /* Rates of a few GB/s times a million pieces fit in 64 bits; beyond, all. */
  if (https_rate > UINT64_MAX / (uint64_t)left || https_rate > UINT64_MAX - swarm_rate) return left;
  k = ((uint64_t)left * https_rate + https_rate + swarm_rate - 1) / (https_rate + swarm_rate);
  return k < 1 ? 1 : (int)k;
}

int sw_sched_yield(const uint8_t *state, int pos, int last) {
  int keep = pos;
  for (int i = pos + 1; i <= last; i++) {
    if (state[i] & (SW_SCHED_HAVE | SW_SCHED_QUEUED)) break;
    keep = i;
  }
  return keep;
}

int sw_sched_in_order(int num_peers, int num_seeds, int https_pieces) {
  if (https_pieces) return 1;
  return num_peers > 0 && num_seeds >= num_peers;
}

void sw_sched_assign(uint8_t *state, int first, int last) {
  for (int i = first; i <= last; i++) state[i] |= SW_SCHED_HTTPS;
}

void sw_sched_give_back(uint8_t *state, int first, int last) {
  for (int i = first; i <= last; i++) state[i] &= (uint8_t)~SW_SCHED_HTTPS;
}

#define SW_SCHED_RATE_SPAN_MS 2000u

void sw_sched_rate_add(sw_sched_rate *r, uint64_t now_ms, uint64_t total_bytes) {
  if (r->n == 0) r->t_first = now_ms;
  r->s[r->head].t = now_ms;
  r->s[r->head].bytes = total_bytes;
  r->head = (r->head + 1) % SW_SCHED_RATE_SAMPLES;
  if (r->n < SW_SCHED_RATE_SAMPLES) r->n++;
}

uint64_t sw_sched_rate_get(const sw_sched_rate *r) {
  int newest, oldest = -1;
  uint64_t dt, db;
  if (r->n < 2) return 0;
  newest = (r->head + SW_SCHED_RATE_SAMPLES - 1) % SW_SCHED_RATE_SAMPLES;
  /* The oldest sample still within the span (or the one just before it). */
  for (int k = 1; k < r->n; k++) {
    int i = (newest + SW_SCHED_RATE_SAMPLES - k) % SW_SCHED_RATE_SAMPLES;
    oldest = i;
    if (r->s[newest].t - r->s[i].t >= SW_SCHED_RATE_SPAN_MS) break;
  }
  dt = r->s[newest].t - r->s[oldest].t;
  if (dt == 0) return 0;
  db = r->s[newest].bytes > r->s[oldest].bytes ? r->s[newest].bytes - r->s[oldest].bytes : 0;
  return db * 1000u / dt;
}

uint64_t sw_sched_rate_span(const sw_sched_rate *r) {
  int newest;
  if (r->n == 0) return 0;
  newest = (r->head + SW_SCHED_RATE_SAMPLES - 1) % SW_SCHED_RATE_SAMPLES;
  return r->s[newest].t - r->t_first;
}
