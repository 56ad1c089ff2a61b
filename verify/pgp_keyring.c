/* pgp_keyring.c - the private gpg home of one sw_pgp and the pinned keys imported into it. */
/* nftw() is an XSI interface. */
#define _XOPEN_SOURCE 700

#include "pgp_int.h"
#include "verify_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static pthread_once_t sw_pgp_once = PTHREAD_ONCE_INIT;
static int sw_pgp_init_ok;

static void sw_pgp_init(void) {
  /* gpgme asks gpgconf where gpg is (gpgconf --list-dirs, --list-components)
   * and then runs gpgconf --version and gpgsm --version too: four processes,
   * ~35 ms per run of swarmup, for engines we never use. Without gpgconf it
   * takes gpg from $PATH, as it found gpgconf before; gpg is still asked its
   * version, and gpgme's checks of it are unchanged. Must come first. */
  (void)gpgme_set_global_flag("disable-gpgconf", "1");
  /* gpgme needs this once per process before any other call. */
  sw_pgp_init_ok = gpgme_check_version("1.13.0") != NULL;
}

/* ---------- home directory ---------- */

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  /* Best effort: keep walking whatever fails (FTW_PHYS: symlinks are unlinked, never followed). */
  if (flag == FTW_DP || flag == FTW_D)
    (void)rmdir(path);
  else
    (void)unlink(path);
  return 0;
}

static void kill_agents(const char *home) {
  /* posix_spawn, no shell: the home path never meets a command line parser. */
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int st;
  char *argv[] = {"gpgconf", "--homedir", (char *)home, "--kill", "all", NULL};
  if (posix_spawn_file_actions_init(&fa) != 0) return;
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  if (posix_spawnp(&pid, "gpgconf", &fa, NULL, argv, environ) == 0) {
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  posix_spawn_file_actions_destroy(&fa);
}

sw_err sw_pgp__take_ctx(sw_pgp *p, gpgme_ctx_t *out, char *msg, size_t msglen) {
  gpgme_ctx_t ctx = NULL;
  gpgme_error_t e;
  pthread_mutex_lock(&p->pool_lock);
  if (p->n_pool > 0) ctx = p->pool[--p->n_pool];
  pthread_mutex_unlock(&p->pool_lock);
  if (ctx != NULL) {
    *out = ctx;
    return SW_OK;
  }
  e = gpgme_new(&ctx);
  if (!e) e = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
  /* Engine home per context: the default (~/.gnupg or $GNUPGHOME) is never used. */
  if (!e) e = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, p->home);
  if (!e) e = gpgme_set_keylist_mode(ctx, GPGME_KEYLIST_MODE_LOCAL);
  if (e) {
    gpgme_release(ctx);
    return sw_fail(SW_ERR_PGP_ENGINE, msg, msglen, "gpgme context: %s", gpgme_strerror(e));
  }
  gpgme_set_offline(ctx, 1);
  gpgme_set_armor(ctx, 0);
  *out = ctx;
  return SW_OK;
}

void sw_pgp__give_ctx(sw_pgp *p, gpgme_ctx_t ctx) {
  if (ctx == NULL) return;
  pthread_mutex_lock(&p->pool_lock);
  if (p->n_pool < SW_PGP_POOL_MAX) {
    p->pool[p->n_pool++] = ctx;
    ctx = NULL;
  }
  pthread_mutex_unlock(&p->pool_lock);
  gpgme_release(ctx);
}

int sw_pgp__pinned_index(const sw_pgp *p, const char *fpr) {
  for (size_t i = 0; i < p->n_pinned; i++)
    if (strcmp(p->pinned[i], fpr) == 0) return (int)i;
  return -1;
}

int sw_pgp__is_hex40(const char *s) {
  if (s == NULL || strlen(s) != 40) return 0;
  for (int i = 0; i < 40; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F'))) return 0;
  return 1;
}

/* Read a whole key file, at most SW_TRUSTED_KEY_MAX bytes. */
static sw_err read_key_file(const char *path, uint8_t **out, size_t *olen, char *msg, size_t msglen) {
  sw_err rc = SW_OK;
  int fd = -1;
  uint8_t *buf = NULL;
  size_t n = 0;
  struct stat st;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s: %s", path, strerror(errno));
    goto out;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s: not a regular file", path);
    goto out;
  }
  buf = malloc(SW_TRUSTED_KEY_MAX + 1);
  if (buf == NULL) {
    rc = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
    goto out;
  }
  for (;;) {
    ssize_t r = read(fd, buf + n, SW_TRUSTED_KEY_MAX + 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s: %s", path, strerror(errno));
      goto out;
    }
    if (r == 0) break;
    n += (size_t)r;
    if (n > SW_TRUSTED_KEY_MAX) {
      rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s: larger than %u bytes", path,
                   SW_TRUSTED_KEY_MAX);
      goto out;
    }
  }
  *out = buf;
  *olen = n;
  buf = NULL;
out:
  free(buf);
  if (fd >= 0) close(fd);
  return rc;
}

/* Import the public keys buf[0..len) (armored or binary) into p's home, named
 * path in messages. pin_all: pin every imported primary (key files); else pin
 * nothing here (sw_pgp_open_keyring pins its own list) and, when imported is
 * not NULL, copy the imported primaries' fingerprints there (at most
 * *n_imported on entry, the count on return). */
static sw_err import_buf(sw_pgp *p, gpgme_ctx_t ctx, const char *path, const uint8_t *buf, size_t len,
                         int pin_all, char (*imported)[41], size_t *n_imported, char *msg, size_t msglen) {
  sw_err rc = SW_OK;
  uint8_t *bin = NULL;
  size_t blen = 0, cap = n_imported ? *n_imported : 0;
  gpgme_data_t d = NULL;
  gpgme_error_t e;
  gpgme_import_result_t ir = NULL;
  struct key_scan ks = {0, 0};
  char why[SW_MSG_MAX] = "";
  size_t found = 0;

  if (n_imported) *n_imported = 0;
  if (len == 0) {
    rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s: empty file", path);
    goto out;
  }
  /* Look at the packets ourselves first: secret material must never reach gpg. */
  if (buf[0] & 0x80) {
    if (sw_pgp__walk_packets(buf, len, sw_pgp__key_packet_cb, &ks, why, sizeof why) != 0) {
      rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s: %s", path, why);
      goto out;
    }
  } else {
    bin = malloc(len);
    if (bin == NULL) {
      rc = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
      goto out;
    }
    if (sw_pgp__dearmor(buf, len, NULL, bin, len, &blen, why, sizeof why) != 0 ||
        sw_pgp__walk_packets(bin, blen, sw_pgp__key_packet_cb, &ks, why, sizeof why) != 0) {
      rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s: %s", path, why);
      goto out;
    }
  }
  if (ks.n_secret > 0) {
    rc = sw_fail(SW_ERR_CONFIG, msg, msglen,
                 "trusted key %s contains secret key material: give the public key only", path);
    goto out;
  }
  if (ks.n_public == 0) {
    rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s holds no public key", path);
    goto out;
  }
  e = gpgme_data_new_from_mem(&d, (const char *)buf, len, 0);
  if (!e) e = gpgme_op_import(ctx, d);
  if (e) {
    rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s: import failed: %s", path, gpgme_strerror(e));
    goto out;
  }
  ir = gpgme_op_import_result(ctx);
  if (ir == NULL) {
    rc = sw_fail(SW_ERR_PGP_ENGINE, msg, msglen, "trusted key %s: no import result", path);
    goto out;
  }
  if (ir->secret_read > 0 || ir->secret_imported > 0) {
    rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s contains secret key material", path);
    goto out;
  }
  for (gpgme_import_status_t s = ir->imports; s; s = s->next) {
    if (s->result != GPG_ERR_NO_ERROR || !sw_pgp__is_hex40(s->fpr)) continue;
    if (s->status & GPGME_IMPORT_SECRET) {
      rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s contains secret key material", path);
      goto out;
    }
    found++;
    if (!pin_all) {
      /* gpg lists a key once per import status; keep each fingerprint once. */
      int seen = 0;
      for (size_t i = 0; n_imported && i < *n_imported; i++)
        if (strcmp(imported[i], s->fpr) == 0) seen = 1;
      if (!seen && n_imported && *n_imported < cap) memcpy(imported[(*n_imported)++], s->fpr, 41);
      continue;
    }
    if (sw_pgp__pinned_index(p, s->fpr) >= 0) continue;
    if (p->n_pinned >= SW_PGP_MAX_KEYS) {
      rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "more than %d trusted keys", SW_PGP_MAX_KEYS);
      goto out;
    }
    memcpy(p->pinned[p->n_pinned++], s->fpr, 41);
  }
  if (found == 0) {
    rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s: no usable public key imported", path);
    goto out;
  }
out:
  gpgme_data_release(d);
  free(bin);
  return rc;
}

static sw_err import_one(sw_pgp *p, gpgme_ctx_t ctx, const char *path, char *msg, size_t msglen) {
  sw_err rc;
  uint8_t *buf = NULL;
  size_t len = 0;
  rc = read_key_file(path, &buf, &len, msg, msglen);
  if (rc == SW_OK) rc = import_buf(p, ctx, path, buf, len, 1, NULL, NULL, msg, msglen);
  free(buf);
  return rc;
}

static sw_err write_conf(const char *home, char *msg, size_t msglen) {
  char path[SW_PGP_HOME_MAX + 16];
  FILE *f = NULL;
  int fd;
  /* No key servers, no dirmngr, no agent autostart (verification needs none),
   * no key import from signatures. trust-model always: see the file comment. */
  static const char conf[] = "no-greeting\n"
                             "no-permission-warning\n"
                             "disable-dirmngr\n"
                             "no-autostart\n"
                             "no-auto-key-retrieve\n"
                             "no-auto-key-import\n"
                             "auto-key-locate local\n"
                             "keyserver-options no-auto-key-retrieve\n"
                             "trust-model always\n"
                             "no-symkey-cache\n"
                             "weak-digest RIPEMD160\n";
  snprintf(path, sizeof path, "%s/gpg.conf", home);
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
    if (fd >= 0) close(fd);
    return sw_fail(SW_ERR_IO, msg, msglen, "cannot write %s: %s", path, strerror(errno));
  }
  if (fputs(conf, f) == EOF || fclose(f) != 0)
    return sw_fail(SW_ERR_IO, msg, msglen, "cannot write %s", path);
  return SW_OK;
}

/* Whether an agent or dirmngr may be listening for this home: a socket (S.*)
 * in it. Our gpg.conf says no-autostart and disable-dirmngr, so our gpg never
 * starts either; `gpgconf --kill all` (three gpg-connect-agent runs, ~90 ms,
 * more than a 16 MiB verify) is kept for a home someone else started one in.
 * (gpg would put the sockets of a started agent under /run/user/UID/gnupg when
 * that exists; with no-autostart there are none to find.) */
static int agent_may_run(const char *home) {
  DIR *d = opendir(home);
  struct dirent *e;
  int found = 0;
  if (d == NULL) return 1;
  while (!found && (e = readdir(d)) != NULL)
    if (e->d_name[0] == 'S' && e->d_name[1] == '.') found = 1;
  closedir(d);
  return found;
}

/* Stop an agent someone started for the home, then remove it (symlinks
 * unlinked, never followed). Used by sw_pgp_free and for stale homes. */
static void remove_home(const char *home) {
  if (agent_may_run(home)) kill_agents(home);
  nftw(home, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---------- homes left behind ----------
 *
 * sw_pgp_free removes the home; a process killed before it (SIGKILL, the OOM
 * killer, a power cut of a tmpfs-less /tmp) leaves it: gpg.conf and the pinned
 * public keys, piling up in $TMPDIR. Each home holds SW_PGP_LOCK, flock()ed by
 * its process for as long as the home is in use: the kernel drops the lock
 * with the process, in any PID namespace, so a home whose lock can be taken
 * is stale. Opening a home removes the stale ones (at most SW_PGP_STALE_MAX
 * per call) that are ours: a real directory (not a symlink), owned by us,
 * mode 0700, named like ours. A home with no lock file (made by a version
 * before this, or in the instant between mkdtemp and the lock) is left. */
#define SW_PGP_LOCK "swarmup.lock"
#define SW_PGP_STALE_MAX 64

/* The lock is taken before the file has its name (made as ".lock", locked,
 * then renamed): a cleaner never sees a free lock in a home being set up. */
static int lock_home(const char *home) {
  char tmp[SW_PGP_HOME_MAX + 16], path[SW_PGP_HOME_MAX + 16];
  int fd;
  snprintf(tmp, sizeof tmp, "%s/.lock", home);
  snprintf(path, sizeof path, "%s/" SW_PGP_LOCK, home);
  fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0 || rename(tmp, path) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* "swpgp." and mkdtemp's six characters. */
static int is_home_name(const char *name) {
  if (strncmp(name, "swpgp.", 6) != 0 || strlen(name) != 12) return 0;
  for (int i = 6; i < 12; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return 0;
  }
  return 1;
}

static void remove_stale_homes(const char *tmp) {
  int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;
  struct dirent *e;
  int removed = 0;
  if (dfd < 0) return;
  d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return;
  }
  while (removed < SW_PGP_STALE_MAX && (e = readdir(d)) != NULL) {
    struct stat st;
    char path[SW_PGP_HOME_MAX];
    int hfd, lfd;
    if (!is_home_name(e->d_name)) continue;
    if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != geteuid() || (st.st_mode & 07777) != 0700)
      continue;
    hfd = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (hfd < 0) continue;
    lfd = openat(hfd, SW_PGP_LOCK, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    close(hfd);
    if (lfd < 0) continue;
    if (flock(lfd, LOCK_EX | LOCK_NB) == 0 &&
        snprintf(path, sizeof path, "%s/%s", tmp, e->d_name) < (int)sizeof path) {
      remove_home(path);
      removed++;
    }
    close(lfd);
  }
  closedir(d);
}

/* A new sw_pgp with its private home and gpg.conf, and a context on it. */
static sw_err new_home(sw_pgp **out, gpgme_ctx_t *ctx, char *msg, size_t msglen) {
  sw_err rc = SW_OK;
  sw_pgp *p = NULL;
  const char *tmp = getenv("TMPDIR");
  int n;

  *out = NULL;
  *ctx = NULL;
  pthread_once(&sw_pgp_once, sw_pgp_init);
  if (!sw_pgp_init_ok) return sw_fail(SW_ERR_PGP_ENGINE, msg, msglen, "gpgme is too old or unusable");
  if (gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP) != 0)
    return sw_fail(SW_ERR_PGP_ENGINE, msg, msglen, "no usable gpg engine");

  p = calloc(1, sizeof *p);
  if (p == NULL) return sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
  p->lock_fd = -1;
  pthread_mutex_init(&p->pool_lock, NULL);
  /* gpg puts its sockets in the home: fall back to /tmp if $TMPDIR is long. */
  if (tmp == NULL || tmp[0] != '/' || strlen(tmp) > 48) tmp = "/tmp";
  remove_stale_homes(tmp);
  n = snprintf(p->home, sizeof p->home, "%s/swpgp.XXXXXX", tmp);
  if (n < 0 || (size_t)n >= sizeof p->home || mkdtemp(p->home) == NULL) {
    p->home[0] = '\0';
    rc = sw_fail(SW_ERR_IO, msg, msglen, "cannot create a private GnuPG home in %s: %s", tmp,
                 strerror(errno));
    goto out;
  }
  if (chmod(p->home, 0700) != 0) {
    rc = sw_fail(SW_ERR_IO, msg, msglen, "chmod %s: %s", p->home, strerror(errno));
    goto out;
  }
  if ((p->lock_fd = lock_home(p->home)) < 0) {
    rc = sw_fail(SW_ERR_IO, msg, msglen, "cannot lock %s: %s", p->home, strerror(errno));
    goto out;
  }
  rc = write_conf(p->home, msg, msglen);
  if (rc != SW_OK) goto out;
  rc = sw_pgp__take_ctx(p, ctx, msg, msglen);
  if (rc != SW_OK) goto out;
  *out = p;
  p = NULL;
out:
  sw_pgp_free(p);
  return rc;
}

sw_err sw_pgp_open(sw_pgp **out, const char *const *key_files, size_t n_keys, char *msg, size_t msglen) {
  sw_err rc = SW_OK;
  sw_pgp *p = NULL;
  gpgme_ctx_t ctx = NULL;

  if (out == NULL || (key_files == NULL && n_keys > 0))
    return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_pgp_open: bad arguments");
  *out = NULL;
  if (n_keys == 0) return sw_fail(SW_ERR_CONFIG, msg, msglen, "no trusted key given");
  rc = new_home(&p, &ctx, msg, msglen);
  if (rc != SW_OK) goto out;
  for (size_t i = 0; i < n_keys; i++) {
    if (key_files[i] == NULL) {
      rc = sw_fail(SW_ERR_USAGE, msg, msglen, "sw_pgp_open: NULL key file");
      goto out;
    }
    rc = import_one(p, ctx, key_files[i], msg, msglen);
    if (rc != SW_OK) goto out;
  }
  sw_pgp__give_ctx(p, ctx); /* the first verify's */
  ctx = NULL;
  *out = p;
  p = NULL;
out:
  gpgme_release(ctx);
  sw_pgp_free(p);
  return rc;
}

sw_err sw_pgp_open_keyring(sw_pgp **out, const uint8_t *keyring, size_t len, const char (*pin)[41],
                           size_t n_pin, char *msg, size_t msglen) {
  sw_err rc = SW_OK;
  sw_pgp *p = NULL;
  gpgme_ctx_t ctx = NULL;
  char (*imported)[41] = NULL;
  size_t n_imported = SW_PGP_MAX_KEYS;

  if (out == NULL || (keyring == NULL && len > 0) || (pin == NULL && n_pin > 0))
    return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_pgp_open_keyring: bad arguments");
  *out = NULL;
  if (n_pin == 0) return sw_fail(SW_ERR_CONFIG, msg, msglen, "no trusted key given");
  if (n_pin > SW_PGP_MAX_KEYS)
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "more than %d trusted keys", SW_PGP_MAX_KEYS);
  /* A chain step joins two statements' Keyrings (verify/keychain.c): up to twice one. */
  if (len > 2 * (size_t)SW_KEYS_KEYRING_MAX)
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "keyring larger than %zu bytes", 2 * (size_t)SW_KEYS_KEYRING_MAX);
  imported = calloc(SW_PGP_MAX_KEYS, sizeof *imported);
  if (imported == NULL) return sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
  rc = new_home(&p, &ctx, msg, msglen);
  if (rc != SW_OK) goto out;
  rc = import_buf(p, ctx, "(Keyring)", keyring, len, 0, imported, &n_imported, msg, msglen);
  if (rc != SW_OK) goto out;
  /* Pin the list, not the keyring: a key shipped in the keyring (a Next key,
   * or one an attacker slipped in) signs nothing until it is named here. */
  for (size_t i = 0; i < n_pin; i++) {
    char f[41];
    size_t k;
    for (k = 0; k < 40 && pin[i][k]; k++)
      f[k] = (pin[i][k] >= 'a' && pin[i][k] <= 'f') ? (char)(pin[i][k] - 'a' + 'A') : pin[i][k];
    f[k] = '\0';
    if (!sw_pgp__is_hex40(f)) {
      rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key fingerprint \"%.40s\" is not 40 hex digits",
                   pin[i]);
      goto out;
    }
    for (k = 0; k < n_imported; k++)
      if (strcmp(imported[k], f) == 0) break;
    if (k == n_imported) {
      rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s is not a primary key in the keyring", f);
      goto out;
    }
    if (sw_pgp__pinned_index(p, f) < 0) memcpy(p->pinned[p->n_pinned++], f, 41);
  }
  sw_pgp__give_ctx(p, ctx); /* the first verify's */
  ctx = NULL;
  *out = p;
  p = NULL;
out:
  gpgme_release(ctx);
  sw_pgp_free(p);
  free(imported);
  return rc;
}

void sw_pgp_free(sw_pgp *p) {
  if (p == NULL) return;
  while (p->n_pool > 0) gpgme_release(p->pool[--p->n_pool]);
  pthread_mutex_destroy(&p->pool_lock);
  if (p->home[0] != '\0') {
    remove_home(p->home);
  }
  if (p->lock_fd >= 0) close(p->lock_fd); /* after the removal: never a free lock in a live home */
  free(p);
}

size_t sw_pgp_key_count(const sw_pgp *p) { return p ? p->n_pinned : 0; }
