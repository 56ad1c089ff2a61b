/* keystore_int.h - what the two files of the key-statement store share (private):
 * keystore_cur.c keeps the `current` record (newest Version, its SHA-256, the
 * sequence floors) and keystore.c the kept statements, the walk and the judgement. */
#ifndef SW_KEYSTORE_INT_H
#define SW_KEYSTORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "keystore.h"
#include "safedir.h"
#include "state.h"
#include "sw_err.h"
#include "sw_limits.h"

#define SW_KS_DIR "_keys"
#define SW_KS_CURRENT "current"
#define SW_KS_MAGIC "swarmup-keys-current 1\n"
/* Room for every floor: a floor line is at most "floor " + channel + two
 * 20-digit numbers + 3 separators; 1024 of them with the head and checksum
 * lines (about 116 KiB) fit in 128 KiB. */
#define SW_KS_FLOOR_LINE_MAX (6u + SW_CHANNEL_MAX + 1u + 20u + 1u + 20u + 1u)
#define SW_KS_CURRENT_MAX 131072u
_Static_assert(SW_KEYSTORE_FLOORS_MAX * SW_KS_FLOOR_LINE_MAX + 1024u <= SW_KS_CURRENT_MAX,
               "`current` must hold SW_KEYSTORE_FLOORS_MAX floors");

typedef struct sw__ks_floor {
  char channel[SW_CHANNEL_MAX + 1];
  uint64_t sequence;
  uint64_t version; /* the statement that set it */
} sw__ks_floor;

/* The `current` record. */
typedef struct sw__ks_cur {
  int have;
  uint64_t version;
  uint8_t sha256[32];
  size_t n_floor;
  sw__ks_floor floor[SW_KEYSTORE_FLOORS_MAX];
} sw__ks_cur;

/* Open STATE/<product>/_keys (created if create; with create 0 a missing one gives fd -1). */
sw_err sw__ks_dir(const sw_state *st, const char *product, int create, sw_dir *d, char *msg, size_t msglen);
/* Read and write `current` (in d, the _keys dir); a missing one is c->have = 0. */
sw_err sw__ks_load_cur(const sw_dir *d, const char *product, sw__ks_cur *c, char *msg, size_t msglen);
sw_err sw__ks_save_cur(const sw_dir *d, const char *product, const sw__ks_cur *c, char *msg, size_t msglen);
/* Make k (whose bytes hash to sha) the newest in c, its floors recorded; refused
 * (KEYS_POLICY) if its floors would overflow the table. */
sw_err sw__ks_accept_or_refuse(sw__ks_cur *c, const sw_keys *k, const uint8_t sha[32], char *msg, size_t msglen);

#endif
