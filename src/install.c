/* O_TMPFILE and linkat through /proc are Linux features. */
#define _GNU_SOURCE
#include "install.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

/* Remove ".NAME.swarmup-*" leftovers of runs that crashed mid-install. */
static void sw__remove_stale(sw_install *in) {
  char prefix[300];
  size_t plen;
  DIR *d;
  struct dirent *e;
  plen = (size_t)snprintf(prefix, sizeof prefix, ".%s.swarmup-", in->name);
  d = fdopendir(dup(in->dir_fd));
  if (d == NULL) return;
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, prefix, plen) == 0) unlinkat(in->dir_fd, e->d_name, 0);
  closedir(d);
}

/* The test hook SWARMUP_FAULT=no-o-tmpfile: O_TMPFILE fails as on a file
 * system without it (a pure failure injection: it only forces that path). */
static int sw__no_tmpfile_fault(void) {
  const char *f = getenv("SWARMUP_FAULT");
  return f != NULL && strcmp(f, "no-o-tmpfile") == 0;
}

sw_err sw_install_begin(sw_install *in, const char *dir, const char *name, char *msg, size_t msglen) {
  sw_err err;
  memset(in, 0, sizeof *in);
  in->fd = in->dir_fd = -1;
  if (strlen(dir) >= sizeof in->dir || strlen(name) >= sizeof in->name || strchr(name, '/') || name[0] == '.')
    return sw_fail(SW_ERR_INTERNAL, msg, msglen, "bad install target");
  snprintf(in->dir, sizeof in->dir, "%s", dir);
  snprintf(in->name, sizeof in->name, "%s", name);
  /* Remember whether we make --out: an install that does not happen leaves no empty dir behind. */
  in->created_dir = access(dir, F_OK) != 0;
  err = sw_fs_mkdirs(dir, 0755, msg, msglen);
  if (err) return err;
  in->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (in->dir_fd < 0) return sw_fail(SW_ERR_IO, msg, msglen, "%s: %s", dir, strerror(errno));
  sw__remove_stale(in);
  in->fd = sw__no_tmpfile_fault() ? (errno = EOPNOTSUPP, -1)
                                   : openat(in->dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (in->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    snprintf(in->tmp, sizeof in->tmp, ".%s.swarmup-%ld", name, (long)getpid());
    unlinkat(in->dir_fd, in->tmp, 0);
    in->fd = openat(in->dir_fd, in->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    in->named = 1;
  }
  if (in->fd < 0) {
    int e = errno;
    close(in->dir_fd);
    in->dir_fd = -1;
    return sw_fail(SW_ERR_IO, msg, msglen, "cannot write in %s: %s", dir, strerror(e));
  }
  return SW_OK;
}

sw_err sw_install_commit(sw_install *in, char *msg, size_t msglen) {
  sw_err err = SW_ERR_IO;
  if (in->fd < 0) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "install not begun");
  if (fsync(in->fd) != 0) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "fsync: %s", strerror(errno));
    goto out;
  }
  if (!in->named) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", in->fd);
    snprintf(in->tmp, sizeof in->tmp, ".%s.swarmup-%ld", in->name, (long)getpid());
    unlinkat(in->dir_fd, in->tmp, 0);
    /* The content is complete and verified before it ever gets a name. */
    if (linkat(AT_FDCWD, proc, in->dir_fd, in->tmp, AT_SYMLINK_FOLLOW) != 0) {
      err = sw_fail(SW_ERR_IO, msg, msglen, "link into %s: %s", in->dir, strerror(errno));
      goto out;
    }
    in->named = 1;
  }
  if (renameat(in->dir_fd, in->tmp, in->dir_fd, in->name) != 0) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "rename into %s: %s", in->dir, strerror(errno));
    goto out;
  }
  in->named = 0;
  in->created_dir = 0; /* it holds the installed file now */
  if (fsync(in->dir_fd) != 0) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "fsync %s: %s", in->dir, strerror(errno));
    goto out;
  }
  err = SW_OK;
out:
  sw_install_abort(in);
  return err;
}

void sw_install_abort(sw_install *in) {
  if (in->fd >= 0) close(in->fd);
  if (in->named && in->dir_fd >= 0) unlinkat(in->dir_fd, in->tmp, 0);
  if (in->dir_fd >= 0) close(in->dir_fd);
  if (in->created_dir) rmdir(in->dir); /* only if still empty */
  in->fd = in->dir_fd = -1;
  in->named = 0;
  in->created_dir = 0;
}
