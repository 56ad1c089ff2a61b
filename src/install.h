/* install.h - put a verified file in place atomically.
 *
 * The bytes are written into an unnamed file (O_TMPFILE) in the destination
 * directory, so that nothing named, partial or unverified ever appears there.
 * Only after the caller's gate has accepted exactly those bytes does
 * sw_install_commit() fsync the file, give it a hidden temporary name, rename
 * it over the destination and fsync the directory. Where the file system has
 * no O_TMPFILE, a hidden temp file (".NAME.swarmup-PID") is used instead and
 * removed on abort; stale ones from a crash are removed by the next install. */
#ifndef SW_INSTALL_H
#define SW_INSTALL_H

#include <stddef.h>

#include "sw_err.h"

typedef struct sw_install {
  int fd;              /* write the new content here */
  int dir_fd;
  int named;           /* 1: fallback temp file with a name */
  int created_dir;     /* 1: we made dir (removed again if the install is dropped) */
  char dir[2048];
  char name[256];      /* the destination's plain basename */
  char tmp[320];       /* the temporary name, when named */
} sw_install;

/* Prepare to install dir/name (name must be a checked plain basename). dir is
 * created (0755) if missing. */
sw_err sw_install_begin(sw_install *in, const char *dir, const char *name, char *msg, size_t msglen);
/* fsync, name, rename over dir/name, fsync dir. Closes in->fd. */
sw_err sw_install_commit(sw_install *in, char *msg, size_t msglen);
/* Drop the new content: nothing is left behind. Safe after commit (no-op). */
void sw_install_abort(sw_install *in);

#endif
