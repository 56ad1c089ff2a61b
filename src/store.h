/* store.h - the release store under the state dir: where the swarm downloads
 * and what is seeded.
 *
 *   STATE/<product>/<channel>/store/<sequence>/<File>          the payload
 *   STATE/<product>/<channel>/store/<sequence>/<File>.torrent  its metadata
 *   STATE/<product>/<channel>/store/<sequence>/resume.dat      libtorrent resume data
 *   STATE/<product>/<channel>/store/<sequence>/verified        written atomically after the gate accepted
 *
 * A directory without `verified` is a partial download: it is never seeded
 * by `swarmup seed` nor copied anywhere. Names come from an accepted manifest
 * and are checked again here before they become paths. */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <stddef.h>

#include "manifest.h"
#include "sw_err.h"

typedef struct sw_store_paths {
  char dir[2400];
  char file[2700];
  char torrent[2720];
  char resume[2420];
  char verified[2420];
} sw_store_paths;

sw_err sw_store_paths_for(const char *state_dir, const sw_manifest *m, sw_store_paths *p, char *msg, size_t msglen);
/* Create the directory (0700). */
sw_err sw_store_prepare(const sw_store_paths *p, char *msg, size_t msglen);
/* Record that the payload passed the gate (size and SHA-256 in the marker). */
sw_err sw_store_mark_verified(const sw_store_paths *p, const sw_manifest *m, char *msg, size_t msglen);
/* 1 if the marker exists and names m's size and SHA-256. */
int sw_store_is_verified(const sw_store_paths *p, const sw_manifest *m);
/* Remove the payload, the marker and the resume data (bad bytes are not kept). */
void sw_store_discard(const sw_store_paths *p);
/* Remove the whole release directory (pruning old releases). */
void sw_store_remove(const sw_store_paths *p);

#endif
