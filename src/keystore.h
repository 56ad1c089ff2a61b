/* keystore.h - the client side of key statements (docs/keys.md "Client
 * state"): the anchor, the walk to the newest statement, the kept chain in the
 * state dir, forks and sequence floors.
 *
 * Layout, under the locked state dir (every name opened relative to checked
 * directory descriptors, every file written atomically):
 *   STATE/<product>/_keys/<N>.keys, <N>.keys.sig   every accepted statement,
 *                                                  exactly as fetched (the audit trail)
 *   STATE/<product>/_keys/current                  the newest accepted Version, the
 *                                                  SHA-256 of its bytes, and the
 *                                                  sequence floors, with a self-hash
 *   STATE/<product>/_keys/forks/<N>-<sha256>.keys(.sig)   fork evidence
 * ("_keys", not "keys": a channel may be called "keys", and channel names never
 * start with '_'.)
 *
 * Order of writes: a statement's .sig, then the statement, then `current`.
 * A crash in between leaves a statement file that `current` does not name: the
 * next run fetches that version again and compares (different bytes that are
 * validly signed are a fork), never a half-applied state.
 *
 * Sequence floors: a statement accepted with "Sequence-Floor: stable=10" is
 * recorded in `current`, in the same atomic write that accepts it, as
 * "floor stable 10 N" (N: the statement's Version). The channel's state record
 * (state.h, format 3) remembers the Version of the last floor applied to it;
 * sw_state_load applies a newer one (sw_keystore_floor_of) in memory, and the
 * next save makes it durable. A crash between the two re-applies it on the
 * next load: a statement is never accepted without its floors, and a floor is
 * applied once per statement. */
#ifndef SW_KEYSTORE_H
#define SW_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "opts.h"
#include "safedir.h"
#include "sw_err.h"

struct sw_state;

/* Floors recorded in `current` (over the whole chain, one per channel; never
 * dropped: a statement that would need more is refused). */
#define SW_KEYSTORE_FLOORS_MAX 1024u
/* Days before the newest statement's Expires from which check/fetch warn. */
#define SW_KEYSTORE_WARN_DAYS 30

/* A warning that does not stop the run (a transport error during the walk);
 * text is one line. */
typedef void (*sw_keystore_warn_fn)(void *arg, const char *text);

/* The newest trusted statement for o->product, into *newest (heap: large):
 *   - the anchor o->trusted_keys and its o->trusted_keys.sig (sw_keys_verify_anchor);
 *   - with st: the kept chain; the anchor starts it when nothing is kept or
 *     when its Version is newer; an anchor with other bytes for a kept Version
 *     is a fork;
 *   - with o->keys_url: the walk from the newest, at most SW_KEYS_WALK_MAX
 *     fetches, each statement through sw_keys_verify_next and, with st, kept;
 *     hitting the cap is SW_ERR_KEYS_POLICY (the next run goes on from what
 *     was kept); an anchor newer than the kept chain is reached by the walk
 *     (its floors taken) and must be the walked statement of its Version.
 * st NULL: nothing is read from or written to a state dir (swarmup verify):
 * the walk starts from the anchor and is held in memory.
 * Expiry is not judged here (sw_keystore_judge). Errors: SW_ERR_KEYS_* (exit
 * 3: a statement refused, a fork), SW_ERR_CONFIG (the anchor cannot be read),
 * state errors. */
sw_err sw_keystore_newest(const sw_opts *o, struct sw_state *st, sw_keys *newest, sw_keystore_warn_fn warn,
                          void *warn_arg, char *msg, size_t msglen);

/* Expiry of the newest statement at now: SW_ERR_KEYS_POLICY "key statement N
 * expired at T; the publisher must publish statement N+1" once it has expired;
 * else SW_OK, with *warn_in set to the seconds left when they are fewer than
 * SW_KEYSTORE_WARN_DAYS days (else -1). */
sw_err sw_keystore_judge(const sw_keys *newest, int64_t now, int64_t *warn_in, char *msg, size_t msglen);

/* The floor for (product, channel) recorded in STATE/<product>/_keys/current:
 * *has 0 when none; else *sequence and the statement *version that set it.
 * A missing `current` is no floor; a corrupt one is SW_ERR_STATE_CORRUPT. */
sw_err sw_keystore_floor_of(const struct sw_state *st, const char *product, const char *channel, int *has,
                            uint64_t *sequence, uint64_t *version, char *msg, size_t msglen);

/* The newest accepted statement's Version recorded in STATE/<product>/_keys/current
 * under the checked state dir root, read without the lock (`current` is
 * written atomically): *have 0 when none. For `swarmup status`. */
sw_err sw_keystore_current_of(const sw_dir *root, const char *product, int *have, uint64_t *version, char *msg,
                              size_t msglen);

#endif
