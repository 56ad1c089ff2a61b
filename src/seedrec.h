/* seedrec.h - what a running `swarmup seed` says about one channel, for
 * `swarmup status`: STATE/<product>/<channel>/seeding, rewritten atomically
 * (sw_fs_write_atomic_at) every SW_SEEDREC_EVERY_MS while the seeder runs and
 * once when it stops or reloads:
 *   swarmup-seeding 1
 *   pid 1234
 *   updated 2026-12-06T05:00:00Z
 *   running 1                                   (0: written when it stopped)
 *   release SEQUENCE SIZE UPLOADED PEERS        (one per release being seeded)
 *   checksum SHA256-HEX                         (of the lines above)
 * UPLOADED counts payload bytes sent to peers, carried over from the previous
 * record when a release is seeded again (a restart, a reload), so it is the
 * total over the seeder's runs. The record is informational: nothing in it is
 * trusted for a decision; a torn or edited one is SW_ERR_STATE_CORRUPT. */
#ifndef SW_SEEDREC_H
#define SW_SEEDREC_H

#include <stddef.h>
#include <stdint.h>

#include "safedir.h"
#include "sw_err.h"

#define SW_SEEDREC_NAME "seeding"
#define SW_SEEDREC_RELEASES_MAX 64u /* the seeder's releases per product (SEED_REL_MAX) */
#define SW_SEEDREC_MAX 8192u        /* bytes of one record: 64 release lines of at most 90 bytes, and the rest */
#define SW_SEEDREC_EVERY_MS 10000u

typedef struct sw_seedrec_rel {
  uint64_t sequence;
  uint64_t size;
  uint64_t uploaded;
  uint64_t peers;
} sw_seedrec_rel;

typedef struct sw_seedrec {
  uint64_t pid;
  int64_t updated; /* wall clock, seconds since the epoch */
  int running;
  size_t n;
  sw_seedrec_rel rel[SW_SEEDREC_RELEASES_MAX];
} sw_seedrec;

/* Encode r into out (cap bytes; SW_SEEDREC_MAX is enough); SW_ERR_INTERNAL if not. */
sw_err sw_seedrec_encode(const sw_seedrec *r, char *out, size_t cap, size_t *len);
/* Strict decode of buf[0..len) (no NUL needed): SW_ERR_STATE_CORRUPT on anything else. */
sw_err sw_seedrec_decode(const uint8_t *buf, size_t len, sw_seedrec *r, char *msg, size_t msglen);
/* Write r as STATE/<product>/<channel>/seeding under the checked state dir root
 * (the channel's directory must exist; it is opened and checked, not made). */
sw_err sw_seedrec_write(const sw_dir *root, const char *product, const char *channel, const sw_seedrec *r, char *msg,
                        size_t msglen);
/* Read it back: *have 0 when there is none. */
sw_err sw_seedrec_read(const sw_dir *root, const char *product, const char *channel, int *have, sw_seedrec *r,
                       char *msg, size_t msglen);
/* The UPLOADED of sequence in r (0 when r does not name it). */
uint64_t sw_seedrec_uploaded(const sw_seedrec *r, uint64_t sequence);

#endif
