/* store.h - the release store under the state dir: where the swarm downloads
 * and what is seeded.
 *
 *   STATE/<product>/<channel>/store/<sequence>/<File>          the payload
 *   STATE/<product>/<channel>/store/<sequence>/<File>.part     an HTTPS download in progress
 *   STATE/<product>/<channel>/store/<sequence>/<File>.torrent  its metadata
 *   STATE/<product>/<channel>/store/<sequence>/resume.dat      libtorrent resume data
 *   STATE/<product>/<channel>/store/<sequence>/verified        written atomically after the gate accepted
 *
 * A directory without `verified` is a partial download: it is never seeded
 * by `swarmup seed` nor copied anywhere. Names come from an accepted manifest
 * and are checked again here before they become paths. Every directory on the
 * way is checked (safedir.h) and held open: our own reads and writes go
 * through openat(O_NOFOLLOW) on that descriptor. libtorrent takes paths (the
 * dir, the payload, resume.dat): it is safe only because the directory is
 * ours and closed to others, which sw_store_open checked. */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "safedir.h"
#include "sw_err.h"

typedef struct sw_store_paths {
  char dir[2400];
  char file[2700];
  char torrent[2720];
  char resume[2420];
  char verified[2420];
  char part[2720];
  /* basenames under dir */
  char file_name[SW_FILE_MAX + 1];
  char torrent_name[SW_FILE_MAX + 10];
  char part_name[SW_FILE_MAX + 10];
  sw_dir d;      /* dir, checked and held (fd -1 until sw_store_open) */
  sw_dir store;  /* its parent STATE/<product>/<channel>/store (for removing dir) */
} sw_store_paths;

/* Fill in the paths (no I/O); the descriptors stay closed (-1). */
sw_err sw_store_paths_for(const char *state_dir, const sw_manifest *m, sw_store_paths *p, char *msg, size_t msglen);
/* sw_store_paths_for under the checked state dir root, then open (creating
 * them, 0700, if create) and check every directory down to p->dir. With
 * create 0 a missing directory is SW_OK with p->d.fd == -1. */
sw_err sw_store_open(const sw_dir *root, const sw_manifest *m, int create, sw_store_paths *p, char *msg, size_t msglen);
/* Close the descriptors (safe on a closed or never-opened one). */
void sw_store_close(sw_store_paths *p);
/* Record that the payload passed the gate (size and SHA-256 in the marker). */
sw_err sw_store_mark_verified(const sw_store_paths *p, const sw_manifest *m, char *msg, size_t msglen);
/* 1 if the marker exists and names m's size and SHA-256. The marker only
 * saves a download: whoever reads the store checks what it stands for. */
int sw_store_is_verified(const sw_store_paths *p, const sw_manifest *m);
/* 1 if dir/name is a regular file (not a symlink). */
int sw_store_has(const sw_store_paths *p, const char *name);
/* Read dir/name (at most max bytes), never through a symlink. */
sw_err sw_store_read(const sw_store_paths *p, const char *name, size_t max, uint8_t **buf, size_t *len, char *msg,
                     size_t msglen);
/* Write dir/name atomically (temp O_EXCL, fsync, renameat, fsync dir). */
sw_err sw_store_write(const sw_store_paths *p, const char *name, const uint8_t *buf, size_t len, char *msg,
                      size_t msglen);
/* openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC, mode); -1 with errno. */
int sw_store_openat(const sw_store_paths *p, const char *name, int flags, unsigned mode);
/* Read the stored .torrent and check it is the signed one: its v2 info-hash
 * is m's btmh, its one file is m's File of m's Size. Anything else is
 * SW_ERR_TORRENT_MISMATCH ("... does not match the manifest's btmh"). */
sw_err sw_store_read_torrent(const sw_store_paths *p, const sw_manifest *m, size_t max, uint8_t **buf, size_t *len,
                             char *msg, size_t msglen);
/* Remove the payload, the marker and the resume data (bad bytes are not kept). */
void sw_store_discard(const sw_store_paths *p);
/* Remove the whole release directory (pruning old releases). */
void sw_store_remove(const sw_store_paths *p);

#endif
