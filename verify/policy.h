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
} sw_policy_prev;

typedef struct sw_policy {
  const char *product;            /* what the client was told to expect */
  const char *channel;
  int64_t now;                    /* seconds since the epoch */
  int64_t max_clock_skew;         /* how far Date may be in the future (default 3600) */
} sw_policy;

typedef enum sw_fresh {
  SW_FRESH_REJECTED = 0,          /* verdicts start rejected */
  SW_FRESH_NEWER,                 /* higher Sequence: accept and record */
  SW_FRESH_SAME                   /* same Sequence, byte-identical: up to date */
} sw_fresh;

/* Decide on manifest m whose exact bytes hash to manifest_sha256.
 * *verdict is set to SW_FRESH_REJECTED first, and to NEWER/SAME only when every
 * check passed. Returns SW_OK with the verdict, or SW_ERR_MANIFEST_POLICY with a
 * one-line reason in msg, e.g.
 *   "sequence 41 is lower than accepted 42 (rollback)"
 *   "sequence 42 was already accepted with other content (equivocation)"
 *   "manifest expired at 2026-11-01T00:00:00Z (freeze attack?)"
 *   "product is \"other\", expected \"hello\"". */
sw_err sw_policy_check(const sw_policy *p, const sw_manifest *m, const uint8_t manifest_sha256[32],
                       const sw_policy_prev *prev, sw_fresh *verdict, char *msg, size_t msglen);

#endif
