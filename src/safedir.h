/* safedir.h - directories swarmup writes in, and trusts what it finds in:
 * the state dir and every directory under it that is used.
 *
 * The model is OpenSSH's StrictModes. A trusted directory is owned by the
 * effective uid and not writable by group or others; each parent of the state
 * dir is owned by root or the effective uid and not writable by group or
 * others unless it is sticky (like /tmp: there only an entry's owner may
 * rename or remove it, and the next component is checked to be ours). Anyone
 * else who could write in one of these could plant a symlink where we write,
 * swap a directory, or delete the state that protects against rollback.
 *
 * Directories are opened one component at a time with openat(O_NOFOLLOW) and
 * checked with fstat on the descriptor held, so the checked directory is the
 * one used: files under it are then opened relative to that descriptor
 * (sw_dir_openat adds O_NOFOLLOW | O_CLOEXEC). Symlinks above the state dir
 * (e.g. /var -> /data/var) are resolved once, with realpath, before the walk. */
#ifndef SW_SAFEDIR_H
#define SW_SAFEDIR_H

#include <stddef.h>

#include "sw_err.h"

#define SW_DIR_PATH_MAX 2048

typedef struct sw_dir {
  int fd;                      /* -1: not open (or, after sw_dir_open_sub with create 0: missing) */
  char path[SW_DIR_PATH_MAX];  /* for messages, and for libtorrent, which takes paths */
} sw_dir;

/* Open the state dir at path (absolute or relative), creating the missing
 * components (mode 0700) if create. Every parent and the dir itself are
 * checked as above; a failed check is SW_ERR_UNSAFE_DIR with "unsafe directory
 * PATH: owned by uid U, not by uid E ...; fix: ..." in msg. A failed mkdir is
 * SW_ERR_IO "mkdir PATH: reason". The caller closes d with sw_dir_close. */
sw_err sw_dir_open_root(sw_dir *d, const char *path, int create, char *msg, size_t msglen);

/* Open parent/name (a plain name, no '/'), creating it (0700) if create, and
 * check it as a trusted directory. With create 0 a missing name is SW_OK
 * with out->fd == -1. A symlink there is SW_ERR_UNSAFE_DIR. */
sw_err sw_dir_open_sub(sw_dir *out, const sw_dir *parent, const char *name, int create, char *msg, size_t msglen);

/* Open a chain of plain names under parent ("a", "b", ... NULL-terminated). */
sw_err sw_dir_open_chain(sw_dir *out, const sw_dir *parent, const char *const *names, int create, char *msg,
                         size_t msglen);

/* Duplicate (a new descriptor for the same directory). */
sw_err sw_dir_dup(sw_dir *out, const sw_dir *in, char *msg, size_t msglen);

/* Close; sw_dir_close on a closed (fd -1) or zeroed-then-init'd dir is a no-op. */
void sw_dir_init(sw_dir *d);
void sw_dir_close(sw_dir *d);

/* openat(d->fd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode); -1 with errno. */
int sw_dir_openat(const sw_dir *d, const char *name, int flags, unsigned mode);

/* Open d/name for writing a file we keep updating in place (the lock, a
 * .part): created with mode if missing, never through a symlink; it must be a
 * regular file owned by the effective uid with one link. Returns the fd, or
 * -1 with a one-line reason in msg ("NAME: is a symbolic link; ..."). */
int sw_dir_open_own_file(const sw_dir *d, const char *name, int flags, unsigned mode, char *msg, size_t msglen);

/* 1 if d/name is a regular file (not a symlink), else 0. */
int sw_dir_has_file(const sw_dir *d, const char *name);

#endif
