#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read the open fd (shown as path) into a malloc'd buffer; see sw_fs_read_file. */
static sw_err sw__read_fd(int fd, const char *path, size_t max, sw_err too_big_err, uint8_t **buf, size_t *len,
                          char *msg, size_t msglen) {
  sw_err err = SW_ERR_IO;
  uint8_t *data = NULL;
  size_t have = 0;
  struct stat st;

  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "%s: not a regular file", path);
    goto out;
  }
  /* Read at most max+1 bytes whatever fstat said: the file may grow. */
  data = malloc(max + 2);
  if (data == NULL) {
    err = sw_fail(SW_ERR_NOMEM, msg, msglen, "%s: out of memory", path);
    goto out;
  }
  while (have <= max) {
    ssize_t n = read(fd, data + have, max + 1 - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = sw_fail(SW_ERR_IO, msg, msglen, "%s: %s", path, strerror(errno));
      goto out;
    }
    if (n == 0) break;
    have += (size_t)n;
  }
  if (have > max) {
    err = sw_fail(too_big_err ? too_big_err : SW_ERR_IO, msg, msglen,
                  "%s is over the %zu-byte limit", path, max);
    goto out;
  }
  data[have] = 0;
  *buf = data;
  *len = have;
  data = NULL;
  err = SW_OK;
out:
  free(data);
  return err;
}

sw_err sw_fs_read_file(const char *path, size_t max, sw_err too_big_err, uint8_t **buf, size_t *len,
                       char *msg, size_t msglen) {
  sw_err err;
  int fd;
  *buf = NULL;
  *len = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sw_fail(SW_ERR_IO, msg, msglen, "%s: %s", path, strerror(errno));
  err = sw__read_fd(fd, path, max, too_big_err, buf, len, msg, msglen);
  close(fd);
  return err;
}

sw_err sw_fs_read_at(int dirfd, const char *dir, const char *name, size_t max, sw_err too_big_err, uint8_t **buf,
                     size_t *len, char *msg, size_t msglen) {
  char path[4096];
  sw_err err;
  int fd;
  *buf = NULL;
  *len = 0;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  /* O_NONBLOCK: a FIFO planted here must not hang us (it is refused as not regular). */
  fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return sw_fail(SW_ERR_IO, msg, msglen, "%s: %s", path, errno == ELOOP ? "is a symbolic link (not followed)" : strerror(errno));
  err = sw__read_fd(fd, path, max, too_big_err, buf, len, msg, msglen);
  close(fd);
  return err;
}

sw_err sw_fs_sync_dir(const char *path, char *msg, size_t msglen) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sw_fail(SW_ERR_IO, msg, msglen, "%s: %s", path, strerror(errno));
  if (fsync(fd) != 0 && errno != EINVAL) {
    int e = errno;
    close(fd);
    return sw_fail(SW_ERR_IO, msg, msglen, "fsync %s: %s", path, strerror(e));
  }
  close(fd);
  return SW_OK;
}

/* Remove ".NAME.tmp.*" left by writers that crashed before their rename.
 * Callers write a given name only while holding the state lock, so a temp
 * file of that name that is not ours belongs to a dead run. */
static void sw__remove_stale_temps(int dir_fd, const char *name) {
  char prefix[300];
  size_t plen;
  DIR *d;
  struct dirent *e;
  int fd;
  plen = (size_t)snprintf(prefix, sizeof prefix, ".%s.tmp.", name);
  if (plen >= sizeof prefix) return;
  fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* fdopendir takes it */
  if (fd < 0) return;
  d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return;
  }
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, prefix, plen) == 0) unlinkat(fd, e->d_name, 0);
  closedir(d);
}

/* The test hook: SWARMUP_FAULT=before-rename (any file) or before-rename:NAME. */
static int sw__fault_before_rename(const char *name) {
  const char *f = getenv("SWARMUP_FAULT");
  if (f == NULL || strncmp(f, "before-rename", 13) != 0) return 0;
  if (f[13] == 0) return 1;
  return f[13] == ':' && strcmp(f + 14, name) == 0;
}

sw_err sw_fs_write_atomic(const char *dir, const char *name, const uint8_t *buf, size_t len,
                          unsigned mode, char *msg, size_t msglen) {
  sw_err err;
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return sw_fail(SW_ERR_IO, msg, msglen, "%s: %s", dir, strerror(errno));
  err = sw_fs_write_atomic_at(dfd, dir, name, buf, len, mode, msg, msglen);
  close(dfd);
  return err;
}

sw_err sw_fs_write_atomic_at(int dirfd, const char *dir, const char *name, const uint8_t *buf, size_t len,
                             unsigned mode, char *msg, size_t msglen) {
  sw_err err = SW_ERR_IO;
  char tmpname[320], tmp[4096], dst[4096];
  int fd = -1, made_tmp = 0;
  size_t off = 0;

  if ((size_t)snprintf(tmpname, sizeof tmpname, ".%s.tmp.%ld", name, (long)getpid()) >= sizeof tmpname ||
      (size_t)snprintf(dst, sizeof dst, "%s/%s", dir, name) >= sizeof dst ||
      (size_t)snprintf(tmp, sizeof tmp, "%s/%s", dir, tmpname) >= sizeof tmp) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "path too long in %s", dir);
    goto out;
  }
  sw__remove_stale_temps(dirfd, name);
  /* O_EXCL | O_NOFOLLOW: a name planted here is never written through. */
  fd = openat(dirfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "create %s: %s", tmp, strerror(errno));
    goto out;
  }
  made_tmp = 1;
  while (off < len) {
    ssize_t n = write(fd, buf + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = sw_fail(SW_ERR_IO, msg, msglen, "write %s: %s", tmp, strerror(errno));
      goto out;
    }
    off += (size_t)n;
  }
  if (fsync(fd) != 0) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "fsync %s: %s", tmp, strerror(errno));
    goto out;
  }
  if (close(fd) != 0) {
    fd = -1;
    err = sw_fail(SW_ERR_IO, msg, msglen, "close %s: %s", tmp, strerror(errno));
    goto out;
  }
  fd = -1;
  if (sw__fault_before_rename(name)) raise(SIGKILL);
  /* rename replaces a planted symlink at name; it never writes through it. */
  if (renameat(dirfd, tmpname, dirfd, name) != 0) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "rename %s: %s", dst, strerror(errno));
    goto out;
  }
  made_tmp = 0;
  if (fsync(dirfd) != 0 && errno != EINVAL) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "fsync %s: %s", dir, strerror(errno));
    goto out;
  }
  err = SW_OK;
out:
  if (fd >= 0) close(fd);
  if (made_tmp) unlinkat(dirfd, tmpname, 0);
  return err;
}

sw_err sw_fs_mkdirs(const char *path, unsigned mode, char *msg, size_t msglen) {
  char buf[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) return sw_fail(SW_ERR_IO, msg, msglen, "bad directory path");
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != 0) continue;
    char c = buf[i];
    buf[i] = 0;
    if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
      return sw_fail(SW_ERR_IO, msg, msglen, "mkdir %s: %s", buf, strerror(errno));
    buf[i] = c;
  }
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
    return sw_fail(SW_ERR_IO, msg, msglen, "%s is not a directory", path);
  return SW_OK;
}

void sw_sha256(const uint8_t *buf, size_t len, uint8_t out[32]) {
  unsigned int n = 32;
  EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL);
}

void sw_hex(const uint8_t *buf, size_t len, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[buf[i] >> 4];
    out[2 * i + 1] = digits[buf[i] & 15];
  }
  out[2 * len] = 0;
}

int sw_text_u64(const char *s, size_t n, uint64_t *out) {
  uint64_t v = 0;
  if (n == 0 || (s[0] == '0' && n > 1)) return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10) return -1;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  *out = v;
  return 0;
}

int sw_text_unhex(const char *s, size_t n, uint8_t *out, size_t outlen) {
  if (n != 2 * outlen) return -1;
  for (size_t i = 0; i < n; i++) {
    int c = s[i], v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else return -1;
    if (i % 2 == 0) out[i / 2] = (uint8_t)(v << 4);
    else out[i / 2] |= (uint8_t)v;
  }
  return 0;
}
