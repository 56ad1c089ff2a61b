#include "progress.h"

#include <inttypes.h>
#include <stdio.h>

#include "fetch_int.h"

double sw_progress_rate(double prev, uint64_t dbytes, uint64_t dt_ms) {
  double inst, w;
  if (dt_ms == 0) return prev;
  inst = (double)dbytes * 1000.0 / (double)dt_ms;
  if (prev < 0) return inst;
  w = (double)dt_ms / ((double)SW_PROGRESS_TAU_MS + (double)dt_ms);
  return prev + (inst - prev) * w;
}

void sw_progress_eta(uint64_t left_bytes, double rate, char *out, size_t cap) {
  uint64_t s;
  if (rate < 1 || (double)left_bytes / rate > 99.0 * 3600 + 3599) {
    snprintf(out, cap, "--:--");
    return;
  }
  s = (uint64_t)((double)left_bytes / rate + 0.5);
  if (s >= 3600)
    snprintf(out, cap, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 3600, s / 60 % 60, s % 60);
  else
    snprintf(out, cap, "%" PRIu64 ":%02" PRIu64, s / 60, s % 60);
}

static const char *sw__peers(int n) { return n == 1 ? "peer" : "peers"; }

void sw_progress_line(const sw_progress *p, char *out, size_t cap) {
  char a[32], b[32], rate[32], eta[32], bar[25];
  double frac;
  int fill;
  if (p->source == SW_PROGRESS_SEEDING) {
    sw__fetch_fmt_bytes(p->uploaded, a, sizeof a);
    sw__fetch_fmt_bytes(p->upload_rate > 0 ? (uint64_t)p->upload_rate : 0, rate, sizeof rate);
    snprintf(out, cap, "seeding: %s uploaded, %s/s, %d %s", a, rate, p->peers, sw__peers(p->peers));
    return;
  }
  frac = p->size ? (double)p->done / (double)p->size : 0;
  if (frac > 1) frac = 1;
  fill = (int)(frac * 24);
  for (int i = 0; i < 24; i++) bar[i] = i < fill ? '#' : '.';
  bar[24] = 0;
  sw__fetch_fmt_bytes(p->done, a, sizeof a);
  sw__fetch_fmt_bytes(p->size, b, sizeof b);
  sw__fetch_fmt_bytes(p->rate > 0 ? (uint64_t)p->rate : 0, rate, sizeof rate);
  sw_progress_eta(p->size > p->done ? p->size - p->done : 0, p->rate, eta, sizeof eta);
  if (p->source == SW_PROGRESS_HTTPS)
    snprintf(out, cap, "[%s] %5.1f%% %s/%s %s/s over HTTPS ETA %s", bar, frac * 100, a, b, rate, eta);
  else if (p->source == SW_PROGRESS_BOTH)
    snprintf(out, cap, "[%s] %5.1f%% %s/%s %s/s %d %s + HTTPS ETA %s", bar, frac * 100, a, b, rate, p->peers,
             sw__peers(p->peers), eta);
  else
    snprintf(out, cap, "[%s] %5.1f%% %s/%s %s/s %d %s ETA %s", bar, frac * 100, a, b, rate, p->peers,
             sw__peers(p->peers), eta);
}
