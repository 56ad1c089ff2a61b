#include "safedir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sw_dir_init(sw_dir *d) {
  d->fd = -1;
  d->path[0] = 0;
}

void sw_dir_close(sw_dir *d) {
  if (d == NULL) return;
  if (d->fd >= 0) close(d->fd);
  d->fd = -1;
}

/* The one rule for a directory we write in (and for the state dir's own
 * parents, with ancestor set): see safedir.h. */
static sw_err sw__dir_check(int fd, const char *path, int ancestor, char *msg, size_t msglen) {
  struct stat st;
  uid_t me = geteuid();
  if (fstat(fd, &st) != 0) return sw_fail(SW_ERR_IO, msg, msglen, "%s: %s", path, strerror(errno));
  if (!S_ISDIR(st.st_mode)) return sw_fail(SW_ERR_UNSAFE_DIR, msg, msglen, "unsafe directory %s: not a directory", path);
  if (st.st_uid != me && !(ancestor && st.st_uid == 0))
    return sw_fail(SW_ERR_UNSAFE_DIR, msg, msglen,
                   "unsafe directory %s: owned by uid %u, not by uid %u (another user could plant links in it or "
                   "delete the state); fix: chown %u '%s' and chmod go-w it, or use another --state-dir",
                   path, (unsigned)st.st_uid, (unsigned)me, (unsigned)me, path);
  if ((st.st_mode & 022) && !(ancestor && (st.st_mode & S_ISVTX)))
    return sw_fail(SW_ERR_UNSAFE_DIR, msg, msglen,
                   "unsafe directory %s: writable by group or others (mode %04o); fix: chmod go-w '%s'", path,
                   (unsigned)(st.st_mode & 07777), path);
  return SW_OK;
}

static int sw__plain_name(const char *name) {
  return name[0] != 0 && strchr(name, '/') == NULL && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* One step of a walk: open (making it if create) name under dirfd, which is
 * shown as parent_path; the result is checked as ancestor or as ours. With
 * create 0 a missing name gives SW_OK and *out -1. */
static sw_err sw__step(int dirfd, const char *parent_path, const char *name, int create, int ancestor, int *out,
                       char *path, size_t cap, char *msg, size_t msglen) {
  int fd;
  sw_err err;
  *out = -1;
  if ((size_t)snprintf(path, cap, "%s%s%s", parent_path, strcmp(parent_path, "/") ? "/" : "", name) >= cap)
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "state path too long");
  fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create) {
    if (mkdirat(dirfd, name, 0700) != 0 && errno != EEXIST)
      return sw_fail(SW_ERR_IO, msg, msglen, "mkdir %s: %s", path, strerror(errno));
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) {
    struct stat st;
    if (errno == ENOENT && !create) return SW_OK;
    /* O_NOFOLLOW on a symlink: ELOOP, or ENOTDIR with O_DIRECTORY. */
    if ((errno == ELOOP || errno == ENOTDIR) && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode))
      return sw_fail(SW_ERR_UNSAFE_DIR, msg, msglen,
                     "unsafe directory %s: is a symbolic link (not followed); fix: remove it or use another --state-dir",
                     path);
    return sw_fail(errno == ENOTDIR ? SW_ERR_UNSAFE_DIR : SW_ERR_IO, msg, msglen, "%s: %s", path, strerror(errno));
  }
  err = sw__dir_check(fd, path, ancestor, msg, msglen);
  if (err) {
    close(fd);
    return err;
  }
  *out = fd;
  return SW_OK;
}

sw_err sw_dir_open_root(sw_dir *d, const char *path, int create, char *msg, size_t msglen) {
  char abs[PATH_MAX + SW_DIR_PATH_MAX], real[PATH_MAX], shown[SW_DIR_PATH_MAX + 8], cur[SW_DIR_PATH_MAX + 8];
  char *missing = NULL, *comp, *save = NULL;
  size_t n;
  int fd = -1, next = -1;
  sw_err err = SW_ERR_IO;

  sw_dir_init(d);
  if (path == NULL || path[0] == 0) return sw_fail(SW_ERR_CONFIG, msg, msglen, "empty state dir path");
  if (path[0] == '/') {
    n = (size_t)snprintf(abs, sizeof abs, "%s", path);
  } else {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL) return sw_fail(SW_ERR_IO, msg, msglen, "getcwd: %s", strerror(errno));
    n = (size_t)snprintf(abs, sizeof abs, "%s/%s", cwd, path);
  }
  if (n >= sizeof abs || n >= SW_DIR_PATH_MAX) return sw_fail(SW_ERR_CONFIG, msg, msglen, "state dir path too long");
  while (n > 1 && abs[n - 1] == '/') abs[--n] = 0;
  /* The longest prefix that exists is resolved (symlinks above the state dir
   * are the administrator's); the rest is made below, one checked step at a time. */
  for (;;) {
    char *slash;
    if (realpath(abs, real) != NULL) break;
    if (errno != ENOENT) return sw_fail(SW_ERR_IO, msg, msglen, "%s: %s", abs, strerror(errno));
    slash = strrchr(abs, '/'); /* in what is left of abs */
    if (missing) missing[-1] = '/'; /* join the part cut off before */
    if (slash == NULL || slash == abs) {
      snprintf(real, sizeof real, "/");
      missing = abs + 1;
      break;
    }
    *slash = 0;
    missing = slash + 1;
  }
  if (missing) {
    /* The rest of the path, to be made: plain names only. */
    char rest[sizeof abs], *p;
    memcpy(rest, missing, strlen(missing) + 1);
    for (p = strtok_r(rest, "/", &save); p; p = strtok_r(NULL, "/", &save))
      if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0)
        return sw_fail(SW_ERR_CONFIG, msg, msglen, "state dir %s: '.' or '..' in a part that does not exist yet", path);
  }
  if ((size_t)snprintf(shown, sizeof shown, "%s%s%s", real, missing && strcmp(real, "/") ? "/" : "",
                       missing ? missing : "") >= SW_DIR_PATH_MAX)
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "state dir path too long");

  fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sw_fail(SW_ERR_IO, msg, msglen, "/: %s", strerror(errno));
  snprintf(cur, sizeof cur, "/");
  {
    char walk[SW_DIR_PATH_MAX + 8];
    char *parts[SW_DIR_PATH_MAX / 2];
    size_t np = 0;
    int is_last;
    snprintf(walk, sizeof walk, "%s", shown);
    for (comp = strtok_r(walk, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) parts[np++] = comp;
    if (np == 0) {
      /* The state dir is "/" itself. */
      err = sw__dir_check(fd, "/", 0, msg, msglen);
      if (err) goto out;
    } else {
      err = sw__dir_check(fd, "/", 1, msg, msglen);
      if (err) goto out;
    }
    for (size_t i = 0; i < np; i++) {
      char here[SW_DIR_PATH_MAX + 8];
      is_last = i + 1 == np;
      err = sw__step(fd, cur, parts[i], create, !is_last, &next, here, sizeof here, msg, msglen);
      if (err) goto out;
      if (next < 0) {
        err = sw_fail(SW_ERR_IO, msg, msglen, "%s: %s", here, strerror(ENOENT));
        goto out;
      }
      close(fd);
      fd = next;
      next = -1;
      snprintf(cur, sizeof cur, "%s", here);
    }
  }
  d->fd = fd;
  fd = -1;
  memcpy(d->path, shown, strlen(shown) + 1); /* shorter than SW_DIR_PATH_MAX: checked above */
  err = SW_OK;
out:
  if (fd >= 0) close(fd);
  return err;
}

sw_err sw_dir_open_sub(sw_dir *out, const sw_dir *parent, const char *name, int create, char *msg, size_t msglen) {
  char path[SW_DIR_PATH_MAX + 300];
  sw_err err;
  sw_dir_init(out);
  if (!sw__plain_name(name)) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "not a plain name under %s", parent->path);
  err = sw__step(parent->fd, parent->path, name, create, 0, &out->fd, path, sizeof path, msg, msglen);
  if (err) return err;
  size_t plen = strlen(path);
  if (plen >= sizeof out->path) {
    sw_dir_close(out);
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "state path too long");
  }
  memcpy(out->path, path, plen + 1); /* length checked above (snprintf here drew -Wformat-truncation) */
  return SW_OK;
}

sw_err sw_dir_open_chain(sw_dir *out, const sw_dir *parent, const char *const *names, int create, char *msg,
                         size_t msglen) {
  sw_dir cur, next;
  sw_err err = sw_dir_dup(&cur, parent, msg, msglen);
  sw_dir_init(out);
  if (err) return err;
  for (size_t i = 0; names[i]; i++) {
    err = sw_dir_open_sub(&next, &cur, names[i], create, msg, msglen);
    sw_dir_close(&cur);
    if (err) return err;
    cur = next;
    if (cur.fd < 0) break; /* missing (create 0) */
  }
  *out = cur;
  return SW_OK;
}

sw_err sw_dir_dup(sw_dir *out, const sw_dir *in, char *msg, size_t msglen) {
  sw_dir_init(out);
  out->fd = fcntl(in->fd, F_DUPFD_CLOEXEC, 0);
  if (out->fd < 0) return sw_fail(SW_ERR_IO, msg, msglen, "%s: %s", in->path, strerror(errno));
  snprintf(out->path, sizeof out->path, "%s", in->path);
  return SW_OK;
}

int sw_dir_openat(const sw_dir *d, const char *name, int flags, unsigned mode) {
  return openat(d->fd, name, flags | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
}

int sw_dir_open_own_file(const sw_dir *d, const char *name, int flags, unsigned mode, char *msg, size_t msglen) {
  struct stat st;
  /* O_NONBLOCK: a planted FIFO must not hang us; it is refused below. */
  int fd = sw_dir_openat(d, name, flags | O_NONBLOCK, mode);
  if (fd < 0) {
    int e = errno;
    if (e == ELOOP)
      sw_fail(SW_ERR_IO, msg, msglen, "%s/%s: is a symbolic link (not followed); remove it", d->path, name);
    else sw_fail(SW_ERR_IO, msg, msglen, "%s/%s: %s", d->path, name, strerror(e));
    errno = e;
    return -1;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
    sw_fail(SW_ERR_IO, msg, msglen, "%s/%s: not a regular file of ours with one link; remove it", d->path, name);
    close(fd);
    errno = EPERM;
    return -1;
  }
  /* Back to blocking I/O for a regular file. */
  (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

int sw_dir_has_file(const sw_dir *d, const char *name) {
  struct stat st;
  return d->fd >= 0 && fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}
