/* O_TMPFILE, linkat through /proc and asprintf are Linux/GNU features. */
#define _GNU_SOURCE
#include "install.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

#define SW_INSTALL_COPY_CHUNK (1u << 20) /* bytes per read when copying into --out */

extern char **environ;

void sw_install_init(sw_install *in) {
  memset(in, 0, sizeof *in);
  in->fd = in->src_fd = in->dir_fd = in->ro_fd = -1;
}

/* ---- resolving and checking --out ------------------------------------------- */

/* dir made absolute with every existing part resolved (realpath); a missing
 * tail is appended as given, without "." or ".." (it is made later). */
static sw_err sw__resolve(const char *dir, char *out, size_t outlen, char *msg, size_t msglen) {
  char head[PATH_MAX], tail[PATH_MAX] = "", rp[PATH_MAX], t2[PATH_MAX];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof head) return sw_fail(SW_ERR_USAGE, msg, msglen, "--out: bad directory path");
  memcpy(head, dir, n + 1);
  while (n > 1 && head[n - 1] == '/') head[--n] = 0;
  while (realpath(head, rp) == NULL) {
    char *slash;
    const char *last;
    if (errno == ENOTDIR)
      return sw_fail(SW_ERR_CONFIG, msg, msglen, "--out %s: a part of it is not a directory", dir);
    if (errno != ENOENT) return sw_fail(SW_ERR_IO, msg, msglen, "--out %s: %s", dir, strerror(errno));
    slash = strrchr(head, '/');
    last = slash ? slash + 1 : head;
    if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0 || last[0] == 0)
      return sw_fail(SW_ERR_CONFIG, msg, msglen, "--out %s: cannot resolve \"%s\" in a missing directory", dir, last);
    if ((size_t)snprintf(t2, sizeof t2, "%s%s%s", last, tail[0] ? "/" : "", tail) >= sizeof t2)
      return sw_fail(SW_ERR_USAGE, msg, msglen, "--out path too long");
    memcpy(tail, t2, sizeof tail);
    if (slash == NULL) {
      snprintf(head, sizeof head, ".");
    } else if (slash == head) {
      head[1] = 0;
    } else {
      *slash = 0;
      n = strlen(head);
      while (n > 1 && head[n - 1] == '/') head[--n] = 0;
    }
  }
  if ((size_t)snprintf(out, outlen, "%s%s%s", rp, tail[0] && strcmp(rp, "/") != 0 ? "/" : "", tail) >= outlen)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "--out path too long");
  return SW_OK;
}

/* One directory on the way to --out (leaf: --out itself), open as fd. Another
 * user who owns it, or can write it, could rename the installed file or a
 * directory above it and put their own in its place. A sticky directory above
 * --out is fine (only the owner of an entry may rename it: ours is checked
 * next), but --out itself must not be writable by anyone else, sticky or not. */
static sw_err sw__check_dir(int fd, const char *out, const char *path, int leaf, char *msg, size_t msglen) {
  struct stat st;
  uid_t me = geteuid();
  mode_t w;
  const char *who;
  if (fstat(fd, &st) != 0) return sw_fail(SW_ERR_IO, msg, msglen, "%s: %s", path, strerror(errno));
  if (!S_ISDIR(st.st_mode)) return sw_fail(SW_ERR_CONFIG, msg, msglen, "--out %s: %s is not a directory", out, path);
  if (st.st_uid != 0 && st.st_uid != me) {
    if (leaf)
      return sw_fail(SW_ERR_CONFIG, msg, msglen,
                     "--out %s is owned by uid %u, not by root or uid %u: its owner could swap the installed file "
                     "(chown it, or use a directory of yours)",
                     out, (unsigned)st.st_uid, (unsigned)me);
    return sw_fail(SW_ERR_CONFIG, msg, msglen,
                   "--out %s: %s is owned by uid %u, not by root or uid %u: its owner could swap --out "
                   "(use a directory under directories of root or yours)",
                   out, path, (unsigned)st.st_uid, (unsigned)me);
  }
  w = st.st_mode & (S_IWGRP | S_IWOTH);
  if (w == 0 || (!leaf && (st.st_mode & S_ISVTX))) return SW_OK;
  who = w == (S_IWGRP | S_IWOTH) ? "group and others" : (w & S_IWGRP) ? "group" : "others";
  if (leaf)
    return sw_fail(SW_ERR_CONFIG, msg, msglen,
                   "--out %s is writable by %s (mode %04o%s): they could swap the installed file "
                   "(chmod go-w, or use a directory only you can write)",
                   out, who, (unsigned)(st.st_mode & 07777), (st.st_mode & S_ISVTX) ? ", sticky like /tmp" : "");
  return sw_fail(SW_ERR_CONFIG, msg, msglen,
                 "--out %s: %s is writable by %s (mode %04o): they could swap --out (chmod go-w %s)", out, path, who,
                 (unsigned)(st.st_mode & 07777), path);
}

sw_err sw_install_open(sw_install *in, const char *dir, char *msg, size_t msglen) {
  sw_err err;
  char path[sizeof in->dir];
  char *p, *e;
  int fd = -1, nfd;

  if (in->dir_fd >= 0) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "install dir already open");
  err = sw__resolve(dir, in->dir, sizeof in->dir, msg, msglen);
  if (err) return err;
  memcpy(path, in->dir, sizeof path);
  fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sw_fail(SW_ERR_IO, msg, msglen, "/: %s", strerror(errno));
  err = sw__check_dir(fd, in->dir, "/", path[1] == 0, msg, msglen);
  if (err) goto out;
  /* Walk down from /, each step under the fd of a directory already checked,
   * so that what is checked is what is used (no symlink, no swap in between). */
  for (p = path + 1; *p; p = e + 1) {
    int leaf, made = 0;
    e = strchr(p, '/');
    if (e) *e = 0;
    leaf = e == NULL;
    nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (nfd < 0 && errno == ENOENT) {
      /* Made only under a parent that passed the check. */
      if (mkdirat(fd, p, 0755) == 0) made = 1;
      else if (errno != EEXIST) {
        err = sw_fail(SW_ERR_IO, msg, msglen, "--out %s: mkdir %s: %s", in->dir, path, strerror(errno));
        goto out;
      }
      nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (nfd < 0) {
      int en = errno;
      if (en == ENOTDIR && leaf) err = sw_fail(SW_ERR_CONFIG, msg, msglen, "--out %s is not a directory", in->dir);
      else if (en == ENOTDIR) err = sw_fail(SW_ERR_CONFIG, msg, msglen, "--out %s: %s is not a directory", in->dir, path);
      else if (en == ELOOP)
        err = sw_fail(SW_ERR_CONFIG, msg, msglen, "--out %s: %s became a symlink while it was checked", in->dir, path);
      else err = sw_fail(SW_ERR_IO, msg, msglen, "--out %s: %s: %s", in->dir, path, strerror(en));
      goto out;
    }
    close(fd);
    fd = nfd;
    if (made && leaf) in->created_dir = 1;
    err = sw__check_dir(fd, in->dir, path, leaf, msg, msglen);
    if (err) goto out;
    if (leaf) break;
    *e = '/';
  }
  /* Writable by us (not read-only, not someone else's 0755): found now, not
   * after a whole download. */
  if (faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "cannot write in %s: %s", in->dir, strerror(errno));
    goto out;
  }
  in->dir_fd = fd;
  fd = -1;
  err = SW_OK;
out:
  if (fd >= 0) close(fd);
  if (err && in->created_dir) {
    rmdir(in->dir);
    in->created_dir = 0;
  }
  return err;
}

/* ---- writing and naming the new file ---------------------------------------- */

/* Remove ".NAME.swarmup-*" leftovers of runs that crashed mid-install. */
static void sw__remove_stale(sw_install *in) {
  char prefix[300];
  size_t plen;
  DIR *d;
  struct dirent *e;
  int dfd = dup(in->dir_fd);
  plen = (size_t)snprintf(prefix, sizeof prefix, ".%s.swarmup-", in->name);
  if (dfd < 0) return;
  d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return;
  }
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, prefix, plen) == 0) unlinkat(in->dir_fd, e->d_name, 0);
  closedir(d);
}

/* The test hooks SWARMUP_FAULT=no-o-tmpfile and =no-link: O_TMPFILE in --out,
 * or a hard link into it, fails as on a file system without them (pure failure
 * injections: they only force the copy paths, which keep the same guarantees). */
static int sw__fault(const char *what) {
  const char *f = getenv("SWARMUP_FAULT");
  return f != NULL && strcmp(f, what) == 0;
}

/* The process's umask, read without changing it (umask(2) can only set it,
 * and another thread may create files meanwhile). 022 if /proc says nothing. */
static unsigned sw__umask(void) {
  char line[128];
  unsigned u = 022;
  FILE *st = fopen("/proc/self/status", "re");
  if (st == NULL) return u;
  while (fgets(line, sizeof line, st) != NULL)
    if (strncmp(line, "Umask:", 6) == 0) {
      u = (unsigned)strtoul(line + 6, NULL, 8) & 0777;
      break;
    }
  fclose(st);
  return u;
}

/* A private, unnamed read-write file in scratch_dir (a directory of ours). */
static int sw__private_file(const char *scratch_dir, const char *name) {
  char t[320];
  int sfd, fd, e;
  sfd = open(scratch_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0) return -1;
  fd = openat(sfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(t, sizeof t, ".%s.gate-%ld", name, (long)getpid());
    unlinkat(sfd, t, 0);
    fd = openat(sfd, t, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) unlinkat(sfd, t, 0); /* unnamed from here on */
  }
  e = errno;
  close(sfd);
  errno = e;
  return fd;
}

sw_err sw_install_begin(sw_install *in, const char *name, const char *scratch_dir, int link_dir_fd, char *msg,
                        size_t msglen) {
  struct stat a, b;
  if (in->dir_fd < 0) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "install dir not open");
  if (strlen(name) >= sizeof in->name || strchr(name, '/') || name[0] == '.' || name[0] == 0)
    return sw_fail(SW_ERR_INTERNAL, msg, msglen, "bad install target");
  sw_install_abort(in);
  snprintf(in->name, sizeof in->name, "%s", name);
  sw__remove_stale(in);
  /* One file system: no copy now; commit links what the gate accepted. */
  if (link_dir_fd >= 0 && fstat(link_dir_fd, &a) == 0 && fstat(in->dir_fd, &b) == 0 && a.st_dev == b.st_dev) {
    in->link = 1;
    in->mode = 0644u & ~sw__umask();
    return SW_OK;
  }
  if (sw__fault("no-o-tmpfile")) {
    errno = EOPNOTSUPP;
    in->fd = -1;
  } else {
    in->fd = openat(in->dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  }
  if (in->fd >= 0) return SW_OK;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
    return sw_fail(SW_ERR_IO, msg, msglen, "cannot write in %s: %s", in->dir, strerror(errno));
  /* No O_TMPFILE in --out: a named file there would show unverified bytes, so
   * the gate's copy goes into a private file of ours; commit copies it. */
  in->fd = sw__private_file(scratch_dir, name);
  if (in->fd < 0) return sw_fail(SW_ERR_IO, msg, msglen, "cannot write in %s: %s", scratch_dir, strerror(errno));
  in->copy = 1;
  return SW_OK;
}

void sw_install_set_source(sw_install *in, int fd) {
  if (in->src_fd >= 0) close(in->src_fd);
  in->src_fd = fd;
}

/* Copy mode: the private copy into ".NAME.swarmup-PID" in --out, hashed on the
 * way; it replaces in->fd only if it is exactly what the gate accepted. */
static sw_err sw__copy_in(sw_install *in, const uint8_t want[32], uint64_t size, char *msg, size_t msglen) {
  sw_err err = SW_ERR_IO;
  uint8_t *buf = NULL, got[32];
  unsigned int mdlen = 0;
  uint64_t off = 0;
  EVP_MD_CTX *md = NULL;
  int ofd = -1;

  snprintf(in->tmp, sizeof in->tmp, ".%s.swarmup-%ld", in->name, (long)getpid());
  unlinkat(in->dir_fd, in->tmp, 0);
  ofd = openat(in->dir_fd, in->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (ofd < 0) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "cannot write in %s: %s", in->dir, strerror(errno));
    goto out;
  }
  in->named = 1;
  buf = malloc(SW_INSTALL_COPY_CHUNK);
  md = EVP_MD_CTX_new();
  if (buf == NULL || md == NULL) {
    err = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
    goto out;
  }
  if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
    err = sw_fail(SW_ERR_INTERNAL, msg, msglen, "SHA-256 init failed");
    goto out;
  }
  /* Read at most size + 1 bytes: a longer copy is refused, not copied whole. */
  while (off <= size) {
    size_t want_n = size + 1 - off < SW_INSTALL_COPY_CHUNK ? (size_t)(size + 1 - off) : SW_INSTALL_COPY_CHUNK;
    ssize_t n = pread(in->fd, buf, want_n, (off_t)off), w = 0;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = sw_fail(SW_ERR_IO, msg, msglen, "reading the verified copy: %s", strerror(errno));
      goto out;
    }
    if (n == 0) break;
    if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
      err = sw_fail(SW_ERR_INTERNAL, msg, msglen, "SHA-256 failed");
      goto out;
    }
    while (w < n) {
      ssize_t k = write(ofd, buf + w, (size_t)(n - w));
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) {
        err = sw_fail(SW_ERR_IO, msg, msglen, "writing %s/%s: %s", in->dir, in->tmp, strerror(errno));
        goto out;
      }
      w += k;
    }
    off += (uint64_t)n;
  }
  if (EVP_DigestFinal_ex(md, got, &mdlen) != 1 || mdlen != 32) {
    err = sw_fail(SW_ERR_INTERNAL, msg, msglen, "SHA-256 failed");
    goto out;
  }
  if (off != size || memcmp(got, want, 32) != 0) {
    err = sw_fail(SW_ERR_PAYLOAD, msg, msglen,
                  "the verified copy changed before it was installed (%llu bytes, SHA-256 differs); "
                  "nothing was installed",
                  (unsigned long long)off);
    goto out;
  }
  close(in->fd);
  in->fd = ofd;
  ofd = -1;
  err = SW_OK;
out:
  if (ofd >= 0) close(ofd);
  free(buf);
  EVP_MD_CTX_free(md);
  return err;
}

/* Link mode: name the checked inode itself in --out (".NAME.swarmup-PID"),
 * with the mode a copy would get; where no link can be made, copy it (with
 * the copy mode's re-hash). Either way in->fd is then the content to name. */
static sw_err sw__link_in(sw_install *in, const uint8_t want[32], uint64_t size, char *msg, size_t msglen) {
  char proc[64];
  struct stat st;
  if (in->src_fd < 0) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "install: no checked file to link");
  in->fd = in->src_fd;
  in->src_fd = -1;
  /* Whatever the name says, the inode must still be the size that was checked. */
  if (fstat(in->fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
    return sw_fail(SW_ERR_PAYLOAD, msg, msglen, "the verified file changed before it was installed; nothing was installed");
  if (fchmod(in->fd, in->mode) != 0)
    return sw_fail(SW_ERR_IO, msg, msglen, "chmod the verified file: %s", strerror(errno));
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", in->fd);
  snprintf(in->tmp, sizeof in->tmp, ".%s.swarmup-%ld", in->name, (long)getpid());
  unlinkat(in->dir_fd, in->tmp, 0);
  errno = EXDEV;
  if (!sw__fault("no-link") && linkat(AT_FDCWD, proc, in->dir_fd, in->tmp, AT_SYMLINK_FOLLOW) == 0) {
    in->named = 1;
    return SW_OK;
  }
  /* No link here (another file system after all, none with hard links, no
   * /proc): the copy, re-hashed, is what gets installed. */
  if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != ENOENT && errno != EOPNOTSUPP &&
      errno != ENOSYS)
    return sw_fail(SW_ERR_IO, msg, msglen, "link into %s: %s", in->dir, strerror(errno));
  return sw__copy_in(in, want, size, msg, msglen);
}

/* A new read-only open file of the inode behind in->fd (for the hook). */
static int sw__reopen_ro(sw_install *in) {
  char proc[64];
  struct stat a, b;
  int r;
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", in->fd);
  r = open(proc, O_RDONLY | O_CLOEXEC);
  if (r >= 0 || !in->named) return r;
  /* No /proc: the named temp in the checked dir, if it is still our inode. */
  r = openat(in->dir_fd, in->tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (r < 0) return -1;
  if (fstat(r, &a) != 0 || fstat(in->fd, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
    close(r);
    errno = ESTALE;
    return -1;
  }
  return r;
}

sw_err sw_install_commit(sw_install *in, const uint8_t sha256[32], uint64_t size, char *msg, size_t msglen) {
  sw_err err = SW_ERR_IO;
  if ((in->fd < 0 && !in->link) || in->dir_fd < 0 || sha256 == NULL)
    return sw_fail(SW_ERR_INTERNAL, msg, msglen, "install not begun");
  if (in->link) {
    err = sw__link_in(in, sha256, size, msg, msglen);
    if (err) goto out;
  } else if (in->copy) {
    err = sw__copy_in(in, sha256, size, msg, msglen);
    if (err) goto out;
  }
  if (fsync(in->fd) != 0) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "fsync: %s", strerror(errno));
    goto out;
  }
  /* The hook gets this very inode, whatever later happens to the name. */
  if (in->ro_fd >= 0) close(in->ro_fd);
  in->ro_fd = sw__reopen_ro(in);
  if (in->ro_fd < 0) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "cannot reopen the new file read-only: %s", strerror(errno));
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
  /* Renaming a link over another link of the same inode (the store's file
   * installed again) changes nothing and leaves the temporary name. */
  unlinkat(in->dir_fd, in->tmp, 0);
  in->created_dir = 0; /* it holds the installed file now */
  if (fsync(in->dir_fd) != 0) {
    err = sw_fail(SW_ERR_IO, msg, msglen, "fsync %s: %s", in->dir, strerror(errno));
    goto out;
  }
  sw_hex(sha256, 32, in->sha256);
  err = SW_OK;
out:
  if (err && in->ro_fd >= 0) {
    close(in->ro_fd);
    in->ro_fd = -1;
  }
  sw_install_abort(in);
  return err;
}

void sw_install_abort(sw_install *in) {
  if (in->fd >= 0) close(in->fd);
  if (in->src_fd >= 0) close(in->src_fd);
  if (in->named && in->dir_fd >= 0) unlinkat(in->dir_fd, in->tmp, 0);
  in->fd = in->src_fd = -1;
  in->named = 0;
  in->copy = 0;
  in->link = 0;
}

void sw_install_close(sw_install *in) {
  sw_install_abort(in);
  if (in->ro_fd >= 0) close(in->ro_fd);
  if (in->dir_fd >= 0) close(in->dir_fd);
  if (in->created_dir) rmdir(in->dir); /* only if still empty */
  in->ro_fd = in->dir_fd = -1;
  in->created_dir = 0;
}

/* ---- the hook's environment -------------------------------------------------- */

static int sw__hook_var(const char *e) {
  return strncmp(e, "SWARMUP_FILE=", 13) == 0 || strncmp(e, "SWARMUP_FILE_FD=", 16) == 0 ||
         strncmp(e, "SWARMUP_SHA256=", 15) == 0;
}

char **sw_install_hook_env(const sw_install *in, const char *path, int fd_number) {
  size_t n = 0, k = 3;
  char **env;
  while (environ != NULL && environ[n] != NULL) n++;
  env = calloc(n + 4, sizeof *env);
  if (env == NULL) return NULL;
  /* env[0..2] are ours (freed by sw_install_free_env); the rest is borrowed. */
  if (asprintf(&env[0], "SWARMUP_FILE=%s", path) < 0) env[0] = NULL;
  if (asprintf(&env[1], "SWARMUP_FILE_FD=%d", fd_number) < 0) env[1] = NULL;
  if (asprintf(&env[2], "SWARMUP_SHA256=%s", in->sha256) < 0) env[2] = NULL;
  if (env[0] == NULL || env[1] == NULL || env[2] == NULL) {
    sw_install_free_env(env);
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    if (!sw__hook_var(environ[i])) env[k++] = environ[i];
  env[k] = NULL;
  return env;
}

void sw_install_free_env(char **env) {
  if (env == NULL) return;
  for (int i = 0; i < 3; i++) free(env[i]);
  free(env);
}
