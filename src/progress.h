/* progress.h - the pure parts of fetch's progress line: a smoothed rate, the
 * ETA and the line itself, apart from the loop and the terminal so that they
 * can be tested (tests/test_progress.c). */
#ifndef SW_PROGRESS_H
#define SW_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

/* Seconds over which the rate is averaged: long enough that bursts (a whole
 * piece arriving at once, curl's write sizes) do not swing it, short enough to
 * follow a switch from the swarm to HTTPS. */
#define SW_PROGRESS_TAU_MS 5000u

/* The smoothed rate (bytes/s) after dbytes more arrived in dt_ms: an average
 * weighted by time (dt / (tau + dt)), so that a tick without new bytes lowers
 * it a little, never halves it; prev < 0 (no rate yet) takes the first
 * sample as it is. dt_ms 0 leaves prev unchanged. */
double sw_progress_rate(double prev, uint64_t dbytes, uint64_t dt_ms);

/* The time left as m:ss under an hour, else h:mm:ss ("--:--" when unknown: a
 * rate under 1 B/s, or more than 99 hours). */
void sw_progress_eta(uint64_t left_bytes, double rate, char *out, size_t cap);

typedef enum sw_progress_source {
  SW_PROGRESS_SWARM = 1,
  SW_PROGRESS_HTTPS = 2,
  SW_PROGRESS_SEEDING = 3,
  SW_PROGRESS_BOTH = 4 /* the swarm and HTTPS at once */
} sw_progress_source;

typedef struct sw_progress {
  sw_progress_source source;
  uint64_t done, size;   /* bytes of the file we have, of all */
  double rate;           /* bytes/s, smoothed */
  int peers;
  uint64_t uploaded;     /* seeding */
  double upload_rate;
} sw_progress;

/* The progress line without the terminal's carriage return and erase. */
void sw_progress_line(const sw_progress *p, char *out, size_t cap);

#endif
