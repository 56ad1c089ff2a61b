/* gate.c - the payload gate: size, SHA-256 and OpenPGP signature in one read pass.
 *
 * The size is compared with fstat() before any crypto, so a wrong-sized file
 * costs nothing. The bytes gpg verifies are the very bytes that are hashed:
 * the read callback handed to gpgme reads the fd in large chunks, runs SHA-256
 * over each chunk, then serves gpgme's (smaller) reads from that chunk. The
 * callback never delivers more than m->size + 1 bytes, so a file that grows
 * during the pass is seen as too long and rejected.
 *
 * gpgme's thread is the bottleneck (it copies every byte into gpg's pipe and
 * reads it back), so SHA-256 and the copy into --out run on a second thread:
 * each chunk sits in one of SW_GATE_BUFS buffers that is refilled only after
 * that thread has hashed and copied it and gpgme has consumed it. The bytes
 * hashed, copied and given to gpg are still the same bytes of one buffer.
 *
 * A file the gate sees being written (a download it streams, the copy) is
 * also flushed to disk in steps by a third thread while the check runs: the
 * install must fsync it, and a single fsync at the end waits for the device
 * to take the whole file (0.25-0.35 s for 512 MiB here, even after
 * sync_file_range had started every MiB's writeback; docs/cpu.md).
 */
/* sync_file_range is Linux-only. */
#define _GNU_SOURCE
#include "gate.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SW_GATE_CHUNK (1u << 20) /* 1 MiB reads: few syscalls, fits in L2/L3 */
#define SW_GATE_BUFS 4           /* chunks in flight between the reader, gpgme and the digest thread */
/* fdatasync the written file whenever this much more of it was written: each
 * flush costs the device ~40 ms per 64 MiB here and leaves the install's fsync
 * ~0.04 s instead of 0.25-0.35 s for 512 MiB (16 MiB steps: no better at the
 * end, more stalls of the writer). */
#define SW_GATE_FLUSH_STEP (64u << 20)

struct gate_slot {
  uint8_t *buf;
  size_t len;
  uint64_t off;
  int busy; /* queued for the digest thread, not yet hashed and copied */
};

struct gate_reader {
  int fd;
  uint64_t limit;  /* m->size + 1: one byte more reveals a grown file */
  uint64_t offset; /* bytes read from fd */
  EVP_MD_CTX *md;
  uint8_t *buf;
  size_t have, used; /* buf[used..have) not yet given to gpgme */
  int err;           /* errno of a failed read, or -1 for a hash failure */
  int copy_fd;       /* >= 0: every byte read is also written here */
  sw_gate_avail_fn avail; /* streaming: how much may be read now (NULL: all) */
  sw_gate_read_fn read_at; /* streaming from memory: replaces pread (NULL: pread) */
  void *avail_arg;
  int copy_err;      /* errno of a failed copy write */
  /* the digest thread */
  struct gate_slot slot[SW_GATE_BUFS];
  uint64_t queued, hashed; /* chunks handed to it, chunks it finished */
  int stop;                /* no more chunks will come */
  int w_err, w_copy_err;   /* its errors (under mu) */
  int started;
  uint64_t read_ns;        /* gate thread: in gate_read */
  uint64_t sha_ns, dig_ns; /* digest thread: SHA-256, the whole thread (set when it ends) */
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  /* the flusher (under mu): fdatasync of fd (streaming) and copy_fd */
  uint64_t fl_written;  /* bytes known to be written into them */
  uint64_t fl_synced;   /* fl_written when the last flush began */
  int fl_stop, fl_started;
  int fl_err;           /* errno of a failed flush: the check fails */
  unsigned fl_count;    /* flushes done */
  pthread_t fl_th;
  pthread_cond_t fl_cv;
};

/* CPU time of the calling thread, ns (the per-stage figures of sw_gate_cpu). */
static uint64_t thread_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The written files (fd while it streams, copy_fd) now hold at least n bytes:
 * wake the flusher when another step is due. */
static void note_written(struct gate_reader *g, uint64_t n) {
  if (!g->fl_started) return;
  pthread_mutex_lock(&g->mu);
  if (n > g->fl_written) g->fl_written = n;
  if (g->fl_written - g->fl_synced >= SW_GATE_FLUSH_STEP) pthread_cond_signal(&g->fl_cv);
  pthread_mutex_unlock(&g->mu);
}

/* One flush of every file being written. 0 or an errno. The test hook
 * SWARMUP_FAULT=gate-flush makes it fail as a dying disk would (EIO). */
static int flush_files(const struct gate_reader *g) {
  const char *f = getenv("SWARMUP_FAULT");
  if (f != NULL && strcmp(f, "gate-flush") == 0) return EIO;
  /* EINVAL: a file that cannot be synced (not a disk file); nothing to lose. */
  if (g->avail != NULL && g->fd >= 0 && fdatasync(g->fd) != 0 && errno != EINVAL) return errno;
  if (g->copy_fd >= 0 && fdatasync(g->copy_fd) != 0 && errno != EINVAL) return errno;
  return 0;
}

/* The flusher: a flush per SW_GATE_FLUSH_STEP written, off the gate's and the
 * digest thread's way (a flush waits for the device). None at the end: the
 * install's own fsync does that one. A failed flush is kept: with Linux's
 * per-file error reporting the install's fsync on the same open file would
 * not see that error again, so the check itself fails. */
static void *flush_thread(void *arg) {
  struct gate_reader *g = arg;
  pthread_mutex_lock(&g->mu);
  for (;;) {
    while (!g->fl_stop && g->fl_written - g->fl_synced < SW_GATE_FLUSH_STEP) pthread_cond_wait(&g->fl_cv, &g->mu);
    if (g->fl_stop) break;
    g->fl_synced = g->fl_written;
    pthread_mutex_unlock(&g->mu);
    int e = flush_files(g);
    pthread_mutex_lock(&g->mu);
    if (e != 0 && g->fl_err == 0) g->fl_err = e;
    g->fl_count++;
  }
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

static void flush_stop(struct gate_reader *g) {
  if (!g->fl_started) return;
  pthread_mutex_lock(&g->mu);
  g->fl_stop = 1;
  pthread_cond_signal(&g->fl_cv);
  pthread_mutex_unlock(&g->mu);
  pthread_join(g->fl_th, NULL);
  g->fl_started = 0;
}

/* SHA-256 and the copy of one chunk (digest thread). 0, or -1 with *err set. */
static int digest_chunk(struct gate_reader *g, const struct gate_slot *s, int *err, int *copy_err) {
  uint64_t t0 = thread_ns();
  if (EVP_DigestUpdate(g->md, s->buf, s->len) != 1) {
    *err = -1;
    return -1;
  }
  g->sha_ns += thread_ns() - t0;
  /* The copy gets exactly the bytes that were hashed (and that gpgme is fed),
   * so what the caller installs is what the gate checked. */
  if (g->copy_fd >= 0 && s->off < g->limit - 1) {
    size_t want_copy = s->len, done = 0;
    if ((uint64_t)want_copy > g->limit - 1 - s->off) want_copy = (size_t)(g->limit - 1 - s->off);
    while (done < want_copy) {
      ssize_t w = pwrite(g->copy_fd, s->buf + done, want_copy - done, (off_t)(s->off + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        *copy_err = w < 0 ? errno : EIO;
        *err = *copy_err;
        return -1;
      }
      done += (size_t)w;
    }
    /* Start writing the copy out to disk now, behind the check: the fsync
     * before the install then finds little left to write. */
    (void)sync_file_range(g->copy_fd, (off_t)s->off, (off_t)want_copy, SYNC_FILE_RANGE_WRITE);
    note_written(g, s->off + want_copy);
  }
  /* The same for the file itself when it is a download checked as it arrives
   * (a .part, the store's file): it is fsynced before it is installed, by
   * link or from the copy. */
  if (g->avail != NULL && g->fd >= 0 && s->off < g->limit - 1)
    (void)sync_file_range(g->fd, (off_t)s->off, (off_t)s->len, SYNC_FILE_RANGE_WRITE);
  return 0;
}

static void *digest_thread(void *arg) {
  struct gate_reader *g = arg;
  pthread_mutex_lock(&g->mu);
  for (;;) {
    while (g->hashed == g->queued && !g->stop) pthread_cond_wait(&g->cv, &g->mu);
    if (g->hashed == g->queued) break;
    struct gate_slot *s = &g->slot[g->hashed % SW_GATE_BUFS];
    int failed = g->w_err != 0, err = 0, copy_err = 0;
    pthread_mutex_unlock(&g->mu);
    /* After an error the rest is only released, not hashed. */
    if (!failed) digest_chunk(g, s, &err, &copy_err);
    pthread_mutex_lock(&g->mu);
    if (err && !g->w_err) {
      g->w_err = err;
      g->w_copy_err = copy_err;
    }
    s->busy = 0;
    g->hashed++;
    pthread_cond_broadcast(&g->cv);
  }
  g->dig_ns = thread_ns(); /* read after pthread_join */
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

/* Wait until the digest thread has done every chunk handed to it (stop: and
 * end it), then take over its errors. */
static void gate_sync(struct gate_reader *g, int stop) {
  if (!g->started) return;
  pthread_mutex_lock(&g->mu);
  if (stop) g->stop = 1;
  pthread_cond_broadcast(&g->cv);
  while (g->hashed != g->queued) pthread_cond_wait(&g->cv, &g->mu);
  if (g->w_err && !g->err) g->err = g->w_err;
  if (g->w_copy_err && !g->copy_err) g->copy_err = g->w_copy_err;
  pthread_mutex_unlock(&g->mu);
  if (stop) {
    pthread_join(g->th, NULL);
    g->started = 0;
  }
}

/* Read the next chunk into a free buffer (g->buf, for gpgme) and hand it to
 * the digest thread. Returns its size, 0 at end of
 * file or at the limit, -1 on error (g->err set). */
static ssize_t gate_fill(struct gate_reader *g) {
  ssize_t r;
  size_t want = SW_GATE_CHUNK;
  struct gate_slot *s = &g->slot[g->queued % SW_GATE_BUFS];
  if (g->offset >= g->limit) return 0;
  /* The next buffer, once the digest thread is done with it (gpgme is: it
   * asks for more only after it consumed the current one). */
  pthread_mutex_lock(&g->mu);
  while (s->busy && !g->w_err) pthread_cond_wait(&g->cv, &g->mu);
  if (g->w_err) {
    g->err = g->w_err;
    g->copy_err = g->w_copy_err;
  }
  pthread_mutex_unlock(&g->mu);
  if (g->err) return -1;
  g->buf = s->buf;
  if (g->limit - g->offset < want) want = (size_t)(g->limit - g->offset);
  if (g->read_at != NULL) {
    /* The probe byte at Size: a stream has nothing more. */
    if (g->offset >= g->limit - 1) return 0;
    int64_t n = g->read_at(g->avail_arg, g->offset, g->buf, want);
    if (n <= 0) {
      g->err = ECANCELED;
      return -1;
    }
    r = (ssize_t)n;
    goto got;
  }
  if (g->avail != NULL && g->offset < g->limit - 1) {
    /* Streaming: read only bytes the downloader has verified and written;
     * avail blocks until there are some. The probe byte at Size is not asked for. */
    int64_t n = g->avail(g->avail_arg, g->offset);
    if (n <= 0) {
      g->err = ECANCELED;
      return -1;
    }
    if ((uint64_t)n < want) want = (size_t)n;
    if (g->fd >= 0) note_written(g, g->offset + (uint64_t)n);
  }
  do {
    r = pread(g->fd, g->buf, want, (off_t)g->offset);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    g->err = errno;
    return -1;
  }
got:
  if (r > 0) {
    s->len = (size_t)r;
    s->off = g->offset;
    pthread_mutex_lock(&g->mu);
    s->busy = 1;
    g->queued++;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
  }
  g->offset += (uint64_t)r;
  g->have = (size_t)r;
  g->used = 0;
  return r;
}

/* sw_pgp_read_fn handed to gpgme: serves gpgme from the hashed chunk. */
static ssize_t gate_read(void *arg, uint8_t *out, size_t len) {
  struct gate_reader *g = arg;
  size_t n;
  uint64_t t0 = thread_ns();
  if (g->used == g->have) {
    ssize_t r = gate_fill(g);
    if (r <= 0) {
      g->read_ns += thread_ns() - t0;
      return r;
    }
  }
  n = g->have - g->used;
  if (n > len) n = len;
  memcpy(out, g->buf + g->used, n);
  g->used += n;
  g->read_ns += thread_ns() - t0;
  return (ssize_t)n;
}

static void hex(const uint8_t *b, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * n] = '\0';
}

sw_err sw_gate_check_fd(sw_pgp *p, const sw_manifest *m, int fd, unsigned threshold, sw_gate_verdict *v) {
  return sw_gate_check_fd_copy(p, m, fd, -1, threshold, v);
}

sw_err sw_gate_check_fd_copy(sw_pgp *p, const sw_manifest *m, int fd, int copy_fd, unsigned threshold,
                             sw_gate_verdict *v) {
  return sw_gate_check_stream(p, m, fd, copy_fd, NULL, NULL, NULL, threshold, v);
}

sw_err sw_gate_check_stream(sw_pgp *p, const sw_manifest *m, int fd, int copy_fd, sw_gate_avail_fn avail,
                            sw_gate_read_fn read_at, void *avail_arg, unsigned threshold, sw_gate_verdict *v) {
  sw_err rc = SW_OK;
  struct stat st;
  struct gate_reader g;
  unsigned int mdlen = 0;
  char got[65], want[65];
  uint64_t cpu0 = thread_ns();

  if (v == NULL) return SW_ERR_USAGE;
  memset(v, 0, sizeof *v);
  memset(&g, 0, sizeof g);
  if (p == NULL || m == NULL || (fd < 0 && read_at == NULL))
    return sw_fail(SW_ERR_USAGE, v->reason, sizeof v->reason, "sw_gate_check_fd: bad arguments");
  if (read_at == NULL && fstat(fd, &st) != 0)
    return sw_fail(SW_ERR_IO, v->reason, sizeof v->reason, "fstat: %s", strerror(errno));
  if (read_at == NULL && !S_ISREG(st.st_mode)) {
    sw_fail(SW_ERR_PAYLOAD, v->reason, sizeof v->reason, "payload is not a regular file");
    return SW_OK;
  }
  if (avail == NULL && read_at == NULL && (st.st_size < 0 || (uint64_t)st.st_size != m->size)) {
    /* No crypto for a file of the wrong size. (A file still being written is
     * checked by the count of bytes read instead.) */
    sw_fail(SW_ERR_PAYLOAD, v->reason, sizeof v->reason, "size %lld differs from the signed size %llu",
            (long long)st.st_size, (unsigned long long)m->size);
    return SW_OK;
  }
  if (m->signature_len == 0 || m->signature_len > sizeof m->signature) {
    sw_fail(SW_ERR_PAYLOAD, v->reason, sizeof v->reason, "manifest carries no usable file signature");
    return SW_OK;
  }
#ifdef POSIX_FADV_SEQUENTIAL
  if (fd >= 0) (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  g.fd = fd;
  g.copy_fd = copy_fd;
  g.avail = avail;
  g.read_at = read_at;
  g.avail_arg = avail_arg;
  g.limit = m->size + 1;
  g.md = EVP_MD_CTX_new();
  pthread_mutex_init(&g.mu, NULL);
  pthread_cond_init(&g.cv, NULL);
  pthread_cond_init(&g.fl_cv, NULL);
  int bufs_ok = 1;
  for (int i = 0; i < SW_GATE_BUFS; i++)
    if ((g.slot[i].buf = malloc(SW_GATE_CHUNK)) == NULL) bufs_ok = 0;
  if (g.md == NULL || !bufs_ok) {
    rc = sw_fail(SW_ERR_NOMEM, v->reason, sizeof v->reason, "out of memory");
    goto out;
  }
  if (EVP_DigestInit_ex(g.md, EVP_sha256(), NULL) != 1) {
    rc = sw_fail(SW_ERR_INTERNAL, v->reason, sizeof v->reason, "SHA-256 init failed");
    goto out;
  }
  if (pthread_create(&g.th, NULL, digest_thread, &g) != 0) {
    rc = sw_fail(SW_ERR_INTERNAL, v->reason, sizeof v->reason, "cannot start the digest thread");
    goto out;
  }
  g.started = 1;
  if (((avail != NULL && fd >= 0) || copy_fd >= 0) && m->size > SW_GATE_FLUSH_STEP &&
      pthread_create(&g.fl_th, NULL, flush_thread, &g) == 0)
    g.fl_started = 1; /* without it, only the install's fsync: slower, as safe */
  rc = sw_pgp_verify_stream(p, SW_PGP_PURPOSE_PACKAGE, m->signature, m->signature_len, m->size, gate_read, &g,
                            threshold, &v->pgp);
  gate_sync(&g, 0);
  v->bytes = g.offset;
  if (g.copy_err != 0) {
    rc = sw_fail(SW_ERR_IO, v->reason, sizeof v->reason, "writing the copy failed: %s", strerror(g.copy_err));
    goto out;
  }
  if (g.err != 0) {
    rc = sw_fail(SW_ERR_IO, v->reason, sizeof v->reason, "reading the payload failed: %s",
                 g.err > 0 ? strerror(g.err) : "hash error");
    goto out;
  }
  if (rc != SW_OK) {
    sw_fail(rc, v->reason, sizeof v->reason, "%s", v->pgp.reason);
    goto out;
  }
  /* gpg may stop reading early (e.g. a signature it rejects before needing
   * the data): hash the rest so the size and digest checks see the whole file. */
  for (;;) {
    ssize_t r = gate_fill(&g);
    if (r == 0) break;
    if (r < 0) {
      rc = sw_fail(SW_ERR_IO, v->reason, sizeof v->reason, "%s the payload failed: %s",
                   g.copy_err ? "copying" : "reading",
                   g.err > 0 ? strerror(g.err) : "hash error");
      goto out;
    }
  }
  gate_sync(&g, 1);
  flush_stop(&g);
  if (g.fl_err != 0) {
    rc = sw_fail(SW_ERR_IO, v->reason, sizeof v->reason, "writing the payload to disk failed: %s",
                 strerror(g.fl_err));
    goto out;
  }
  if (g.err != 0) {
    rc = sw_fail(SW_ERR_IO, v->reason, sizeof v->reason, "%s the payload failed: %s",
                 g.copy_err ? "copying" : "reading", g.err > 0 ? strerror(g.err) : "hash error");
    goto out;
  }
  v->bytes = g.offset;
  if (EVP_DigestFinal_ex(g.md, v->sha256, &mdlen) != 1 || mdlen != 32) {
    rc = sw_fail(SW_ERR_INTERNAL, v->reason, sizeof v->reason, "SHA-256 final failed");
    goto out;
  }
  if (v->bytes != m->size) {
    sw_fail(SW_ERR_PAYLOAD, v->reason, sizeof v->reason,
            "read %llu bytes, the signed size is %llu (file changed while being checked)",
            (unsigned long long)v->bytes, (unsigned long long)m->size);
    goto out;
  }
  if (memcmp(v->sha256, m->sha256, 32) != 0) {
    hex(v->sha256, 32, got);
    hex(m->sha256, 32, want);
    sw_fail(SW_ERR_PAYLOAD, v->reason, sizeof v->reason, "SHA-256 mismatch: got %s, signed %s", got, want);
    goto out;
  }
  if (!v->pgp.accepted) {
    sw_fail(SW_ERR_PAYLOAD, v->reason, sizeof v->reason, "file signature rejected: %s", v->pgp.reason);
    goto out;
  }
  v->reason[0] = '\0';
  v->accepted = 1;
out:
  gate_sync(&g, 1);
  flush_stop(&g);
  v->flushes = g.fl_count;
  v->cpu.gate_ns = thread_ns() - cpu0;
  v->cpu.read_ns = g.read_ns;
  v->cpu.sha_ns = g.sha_ns;
  v->cpu.copy_ns = g.dig_ns > g.sha_ns ? g.dig_ns - g.sha_ns : 0;
  pthread_mutex_destroy(&g.mu);
  pthread_cond_destroy(&g.cv);
  pthread_cond_destroy(&g.fl_cv);
  for (int i = 0; i < SW_GATE_BUFS; i++) free(g.slot[i].buf);
  EVP_MD_CTX_free(g.md);
  return rc;
}

sw_err sw_gate_check_path(sw_pgp *p, const sw_manifest *m, const char *path, unsigned threshold,
                          sw_gate_verdict *v) {
  sw_err rc;
  int fd;
  if (v == NULL) return SW_ERR_USAGE;
  memset(v, 0, sizeof *v);
  if (path == NULL) return sw_fail(SW_ERR_USAGE, v->reason, sizeof v->reason, "no payload path");
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sw_fail(SW_ERR_IO, v->reason, sizeof v->reason, "open %s: %s", path, strerror(errno));
  rc = sw_gate_check_fd(p, m, fd, threshold, v);
  close(fd);
  return rc;
}
