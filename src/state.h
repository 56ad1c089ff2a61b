/* state.h - the state store: what was accepted and installed, per
 * (Product, Channel), under one state directory.
 *
 * Layout: DIR/lock (flock; holds the pid of the holder), DIR/known (every
 * product/channel that has had a state file, one "product/channel" line each,
 * so that a deleted state file is an error, not "nothing accepted"), and per product and
 * channel DIR/<product>/<channel>/state plus the accepted manifests
 * DIR/<product>/<channel>/manifests/<sequence>.manifest(.sig). Product and
 * channel are checked names ([a-z0-9][a-z0-9._-]*) before they become paths.
 * Every file is written atomically (temp, fsync, rename, fsync dir) while the
 * lock is held. A state file ends with a SHA-256 of its own bytes: a torn or
 * edited file is SW_ERR_STATE_CORRUPT, never read as "nothing accepted".
 *
 * The record (format 2) also keeps what freshness needs: the accepted
 * manifest's Expires, the clock at the last successful check, and a latest
 * known time that only moves forward (docs/manifest.md "Freshness"). A format 1
 * file (before those fields) still loads: expires and last_check are then
 * unknown, the latest known time starts at the accepted Date, and the next
 * save writes format 3.
 *
 * Format 3 adds floor-version: the Version of the last key statement whose
 * Sequence-Floor was applied to this record (0: none; keystore.h). sw_state_load
 * applies a newer floor recorded in STATE/<product>/_keys/current in memory:
 * the accepted sequence becomes the floor, even downwards (and an installed
 * sequence above it is lowered to it, so that the next real release counts as
 * an update); the next save makes it durable. Format 1 and 2 files load with
 * floor-version 0. */
#ifndef SW_STATE_H
#define SW_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "safedir.h"
#include "sw_err.h"
#include "sw_limits.h"

typedef struct sw_state sw_state;

/* A time the record does not know (written "-"); no parseable time equals it. */
#define SW_STATE_TIME_UNKNOWN INT64_MIN

typedef struct sw_state_rec {
  int have;                        /* 0: nothing accepted yet */
  int format;                      /* format of the file read (1: migrated on the next save) */
  uint64_t sequence;               /* last accepted manifest */
  int64_t date;
  int64_t expires;                 /* its Expires, or SW_STATE_TIME_UNKNOWN */
  uint8_t manifest_sha256[32];
  char version[SW_VERSION_MAX + 1];
  uint64_t installed_sequence;     /* 0: nothing installed by swarmup */
  char installed_version[SW_VERSION_MAX + 1];
  int64_t last_check;              /* clock at the last successful check, or SW_STATE_TIME_UNKNOWN */
  int64_t latest_known_time;       /* max of every accepted Date and every successful check's clock
                                      (and of an Expires seen to have passed); never lowered.
                                      Always >= date; >= last_check when that is known. */
  uint64_t floor_version;          /* key statement whose Sequence-Floor was applied last (0: none) */
} sw_state_rec;

/* Open (creating it with mode 0700 if missing) the state directory and take
 * its lock without waiting: another holder gives SW_ERR_LOCKED naming its pid.
 * The dir, its parents and every dir used below it are checked (safedir.h):
 * one owned by another user or writable by others is SW_ERR_UNSAFE_DIR. The
 * lock is never opened through a symlink and never truncated. */
sw_err sw_state_open(sw_state **out, const char *dir, char *msg, size_t msglen);
/* The checked state dir (valid until sw_state_close). */
const sw_dir *sw_state_root(const sw_state *s);
/* Release the lock and free. NULL is a no-op. */
void sw_state_close(sw_state *s);

/* Read the record for (product, channel). A missing file gives rec->have = 0,
 * unless STATE/known says an earlier run wrote one: then SW_ERR_STATE_MISSING. */
sw_err sw_state_load(sw_state *s, const char *product, const char *channel, sw_state_rec *rec,
                     char *msg, size_t msglen);
/* Write the record atomically. */
sw_err sw_state_save(sw_state *s, const char *product, const char *channel, const sw_state_rec *rec,
                     char *msg, size_t msglen);
/* Keep a copy of an accepted manifest and its signature (for seeding and audit). */
sw_err sw_state_keep_manifest(sw_state *s, const char *product, const char *channel, uint64_t sequence,
                              const uint8_t *manifest, size_t manifest_len, const uint8_t *sig,
                              size_t sig_len, char *msg, size_t msglen);

/* Encode / decode a record (exposed for tests). Decode is strict; it takes
 * format 1, 2 and 3, encode always writes format 3. */
sw_err sw_state_encode(const char *product, const char *channel, const sw_state_rec *rec, char *out,
                       size_t cap, size_t *len);
sw_err sw_state_decode(const uint8_t *buf, size_t len, const char *product, const char *channel,
                       sw_state_rec *rec, char *msg, size_t msglen);

/* The default state directory: $SWARMUP_STATE_DIR, else /var/lib/swarmup for
 * root, else $XDG_STATE_HOME/swarmup, else $HOME/.local/state/swarmup. */
sw_err sw_state_default_dir(char *out, size_t cap);

#endif
