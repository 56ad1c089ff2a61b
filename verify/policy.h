/* policy.h - freshness and rollback policy: is an authentic manifest also
 * the right one, for this product, now, and newer than what we accepted?
 * Pure function: no I/O, the caller passes the clock and the last state. */
#ifndef SW_POLICY_H
#define SW_POLICY_H

#include <stdint.h>

#include "manifest.h"
#include "sw_err.h"

typedef struct sw_policy_prev {
  int have;                       /* 0: nothing accepted yet for (product, channel) */
  uint64_t sequence;              /* last accepted Sequence */
  int64_t date;                   /* its Date */
  uint8_t manifest_sha256[32];    /* SHA-256 of its exact bytes */
  int64_t latest_known_time;      /* a time known to have passed (the state's, only moves forward) */
} sw_policy_prev;

typedef struct sw_policy {
  const char *product;            /* what the client was told to expect */
  const char *channel;
  int64_t now;                    /* seconds since the epoch */
  int64_t max_clock_skew;         /* how far Date may be in the future, and how far the clock may be
                                     behind the latest known time (default 3600) */
  int64_t max_validity;           /* client-side cap: a manifest is valid at most this long after its
                                     Date, whatever its Expires says (0: no cap) */
} sw_policy;

/* When a manifest of this Date and Expires stops being valid for this client:
 * Expires, or Date + max_validity when that is earlier. No overflow. */
int64_t sw_policy_valid_until(const sw_policy *p, int64_t date, int64_t expires);

/* The time freshness is judged at: the clock, or the latest known time when
 * the clock is behind it (by at most max_clock_skew, see below). */
int64_t sw_policy_effective_now(const sw_policy *p, const sw_policy_prev *prev);

/* A clock more than max_clock_skew before prev->latest_known_time was set back
 * (or is broken): SW_ERR_CLOCK with a one-line reason naming both times, e.g.
 *   "the clock (2026-11-26T12:00:00Z) is behind the latest known time
 *    2026-12-06T12:00:00Z by 10.0 days (more than --max-clock-skew 3600 s): was it set back?"
 * SW_OK when prev is NULL or has nothing. */
sw_err sw_policy_check_clock(const sw_policy *p, const sw_policy_prev *prev, char *msg, size_t msglen);

typedef enum sw_fresh {
  SW_FRESH_REJECTED = 0,          /* verdicts start rejected */
  SW_FRESH_NEWER,                 /* higher Sequence: accept and record */
  SW_FRESH_SAME                   /* same Sequence, byte-identical: up to date */
} sw_fresh;

/* Decide on manifest m whose exact bytes hash to manifest_sha256.
 * *verdict is set to SW_FRESH_REJECTED first, and to NEWER/SAME only when every
 * check passed. Checks, in order: product, channel, the clock against the
 * latest known time (SW_ERR_CLOCK), Date not in the future (against the clock),
 * not expired (Expires, capped by max_validity, against the effective now),
 * then sequence: rollback, equivocation, replay. Returns SW_OK with the
 * verdict; SW_ERR_CLOCK (above); SW_ERR_STALE when the manifest has expired,
 * with a reason such as
 *   "manifest expired at 2026-11-01T00:00:00Z (freeze attack?)"
 * (the caller tells "stale" from a plain rejection: it knows whether anything
 * was accepted before); or SW_ERR_MANIFEST_POLICY with a one-line reason, e.g.
 *   "sequence 41 is lower than accepted 42 (rollback)"
 *   "sequence 42 was already accepted with other content (equivocation)"
 *   "product is \"other\", expected \"hello\"". */
sw_err sw_policy_check(const sw_policy *p, const sw_manifest *m, const uint8_t manifest_sha256[32],
                       const sw_policy_prev *prev, sw_fresh *verdict, char *msg, size_t msglen);

#endif
