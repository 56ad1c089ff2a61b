/* pgp_frame.c - the one-pass signed message built around the caller's data. */
#include "pgp_int.h"
#include "verify_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* F_SETPIPE_SZ is Linux-only (fcntl.h hides it without _GNU_SOURCE). */
#ifndef SW_F_SETPIPE_SZ
#define SW_F_SETPIPE_SZ 1031
#endif

/* ---------- the message gpg is given ----------
 *
 * gpg 2.2 hashes the data of a *detached* signature one byte at a time
 * (iobuf_get + gcry_md_putc in do_hash): about 290 MB/s here, slower than the
 * swarm delivers. For a one-pass signed message it hashes the literal data in
 * 32 KiB blocks (about 1.3 GB/s). A binary-document signature (class 0x00)
 * covers only the document's bytes, never the literal packet's name or date
 * (RFC 4880 5.2.4), so the detached signature is exactly as valid over
 *     OPS(sig n) .. OPS(sig 1)  LITERAL('b', "", 0, data)  sig 1 .. sig n
 * as over the bare data: we build that message around the caller's bytes and
 * let gpg check it. Nothing is trusted from the framing: the one-pass packets
 * are derived from the signature packets themselves (which gpg checks), the
 * signature packets went through sw_pgp__precheck_signature, and the data is streamed
 * unchanged. A signature made over other bytes fails exactly as before. */

/* A literal body up to 4 GiB - 1 has one length; longer ones are cut into
 * partial-length chunks of 1 GiB. Variables only so that tests can frame small
 * data the long way (tests/test_pgp.c); nothing else changes them. */
uint64_t sw_pgp__single_max = 0xFFFFFFFFu;
unsigned sw_pgp__partial_log = 30;

static void put32(uint8_t *p, uint64_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* The length header of the next piece of literal body (data only). */
static void next_chunk(struct framer *f) {
  uint64_t rest = f->size - f->data_done;
  f->head_len = f->head_pos = 0;
  if (rest > ((uint64_t)1 << sw_pgp__partial_log)) {
    f->head[f->head_len++] = (uint8_t)(0xE0 | sw_pgp__partial_log);
    f->chunk_left = (uint64_t)1 << sw_pgp__partial_log;
  } else {
    f->head[f->head_len++] = 0xFF;
    put32(f->head + f->head_len, rest);
    f->head_len += 4;
    f->chunk_left = rest;
  }
}

void sw_pgp__framer_init(struct framer *f, const struct sig_scan *sc, const uint8_t *bin, size_t bin_len,
                         uint64_t size, sw_pgp_read_fn rd, void *arg) {
  uint8_t *h = f->head;
  uint64_t body = size + 6; /* format, name length, date, data */
  memset(f, 0, sizeof *f);
  f->rd = rd;
  f->arg = arg;
  f->size = size;
  f->tail = bin;
  f->tail_len = bin_len;
  /* One-pass packets nest: the first pairs with the last signature. */
  for (unsigned i = sc->count; i-- > 0;) {
    const struct sig_info *si = &sc->info[i];
    *h++ = 0xC4; /* new format, tag 4 */
    *h++ = 13;
    *h++ = 3; /* version */
    *h++ = si->type;
    *h++ = si->hash_algo;
    *h++ = si->pk_algo;
    memcpy(h, si->keyid, 8);
    h += 8;
    *h++ = i == 0 ? 1 : 0; /* 1: the last one-pass packet before the data */
  }
  *h++ = 0xCB; /* new format, tag 11: literal data */
  if (body <= sw_pgp__single_max) {
    *h++ = 0xFF;
    put32(h, body);
    h += 4;
    f->chunk_left = size;
  } else {
    *h++ = (uint8_t)(0xE0 | sw_pgp__partial_log);
    f->chunk_left = ((uint64_t)1 << sw_pgp__partial_log) - 6;
  }
  *h++ = 'b'; /* binary, no file name, date 0 */
  *h++ = 0;
  memset(h, 0, 4);
  h += 4;
  f->head_len = (size_t)(h - f->head);
}

/* For the fuzz target (tests/fuzz/fuzz_sigpkt.c): the framing bytes that
 * verify_data would send before size bytes of data, or 0 with why. */
unsigned sw_pgp__frame_head(const uint8_t *sig, size_t sig_len, uint64_t size, uint8_t *head, size_t cap,
                            size_t *head_len, char *why, size_t whylen) {
  struct sig_scan *sc = malloc(sizeof(struct sig_scan));
  struct framer *f = malloc(sizeof(struct framer));
  uint8_t *bin = NULL;
  size_t bin_len = 0;
  unsigned n = 0;
  *head_len = 0;
  if (sc == NULL || f == NULL) {
    sw_fail(SW_ERR_NOMEM, why, whylen, "out of memory");
    goto out;
  }
  n = sw_pgp__precheck_signature(sig, sig_len, sc, &bin, &bin_len, why, whylen);
  if (n == 0) goto out;
  sw_pgp__framer_init(f, sc, bin, bin_len, size, NULL, NULL);
  if (f->head_len <= cap) {
    memcpy(head, f->head, f->head_len);
    *head_len = f->head_len;
  }
out:
  free(bin);
  free(f);
  free(sc);
  return n;
}

/* gpgme writes the data into a pipe to gpg; with the default 64 KiB pipe the
 * two processes ping-pong on every 64 KiB. When gpgme first asks for data its
 * pipe exists: enlarge our pipes' write ends to 1 MiB (best effort; harmless
 * for the process's other pipes). Measured on 512 MiB: the gate went from 1.4x
 * to 1.1x of gpgv alone (docs/bench-gate.md). */
static void widen_pipes(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  if (d == NULL) return;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    struct stat st;
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(d)) continue;
    if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) continue;
    (void)fcntl(fd, SW_F_SETPIPE_SZ, 1 << 20);
  }
  closedir(d);
}

/* Copy the next bytes of src[*pos..len) into out (at most size); 0 when none are left. */
static size_t serve(const uint8_t *src, size_t len, size_t *pos, uint8_t *out, size_t size) {
  size_t n = len - *pos;
  if (n > size) n = size;
  if (n) memcpy(out, src + *pos, n);
  *pos += n;
  return n;
}

ssize_t sw_pgp__framer_read(void *handle, void *buffer, size_t size) {
  struct framer *f = handle;
  uint8_t *out = buffer;
  size_t n;
  if (!f->piped) {
    f->piped = 1;
    widen_pipes();
  }
  for (;;) {
    switch (f->stage) {
    case 0:
      if ((n = serve(f->head, f->head_len, &f->head_pos, out, size)) > 0) return (ssize_t)n;
      f->stage = f->data_done == f->size ? 2 : 1;
      continue;
    case 1: {
      ssize_t r;
      if (f->chunk_left == 0) {
        next_chunk(f);
        f->stage = 0;
        continue;
      }
      n = size;
      if (n > f->chunk_left) n = (size_t)f->chunk_left;
      r = f->rd(f->arg, out, n);
      if (r < 0 || (size_t)r > n) {
        f->failed = 1;
        errno = EIO;
        return -1;
      }
      if (r == 0) {
        /* Fewer bytes than announced: end the message here; gpg rejects it. */
        f->short_data = 1;
        f->stage = 3;
        return 0;
      }
      f->data_done += (uint64_t)r;
      f->chunk_left -= (uint64_t)r;
      if (f->data_done == f->size) f->stage = 2;
      return r;
    }
    case 2:
      if ((n = serve(f->tail, f->tail_len, &f->tail_pos, out, size)) > 0) return (ssize_t)n;
      f->stage = 3;
      continue;
    default:
      return 0;
    }
  }
}
