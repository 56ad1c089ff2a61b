/* pgp_diff.h - the differential check of verify/pgp.c against gpgv, shared by
 * tests/test_pgp_diff.c (bounded, seeded, in ctest) and tests/fuzz/fuzz_pgp_diff.c
 * (libFuzzer). Include it once, after the harness header.
 *
 * verify/pgp.c never shows gpg the detached signature it was given: it checks
 * the packets itself, then builds a one-pass signed message around the data
 * (the "re-framing"). A bug there would be a hole: a signature gpg would
 * refuse in its detached form could pass. So a mutant (a real signature made
 * at test time, changed by a few of the operations below, and maybe the data
 * too) is judged twice, by sw_pgp_verify_mem and by `gpgv --keyring` on the
 * detached form, and it is a finding if ours accepts what gpgv rejects. Ours
 * rejecting what gpgv accepts is not: swarmup's policy is stricter on
 * purpose (v4 class 0x00 only, no SHA-1, pinned keys, a strict armor).
 *
 * Operations: on the packets (header re-encoded in each old and new length
 * form, packets duplicated, dropped, swapped, re-tagged, foreign packets
 * inserted), on a signature packet's fields (version, class, algorithms, the
 * hashed and unhashed area lengths, subpackets retyped, made critical,
 * resized, deleted, duplicated, inserted into the unhashed area, the unhashed
 * area dropped, left16 and MPI bytes, trailing bytes), on the raw bytes (bit
 * flips, byte changes, insertions, truncation, appended bytes, bytes spliced
 * from the fuzz input), on the armor (re-armored with or without a CRC-24, a
 * wrong one, headers, odd line widths, CRLF; then characters and lines
 * changed, dropped, duplicated, inserted), and on the data (bit flip,
 * truncation, extension, emptied). Every choice comes from a pd_src: a seeded
 * PRNG in ctest, the fuzz input in libFuzzer, so each mutant is reproducible
 * from its seed or its input. */
#ifndef SW_PGP_DIFF_H
#define SW_PGP_DIFF_H

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Not every includer uses every helper. */
#define PD_FN static __attribute__((unused))

#define PD_SIG_MAX 8192  /* a mutant signature (armored ones included) */
#define PD_DATA_MAX 4096 /* mutant data */
#define PD_PKT_MAX 8     /* packets in the model */
#define PD_BODY_MAX 1024 /* one packet body in the model */
#define PD_WHAT_MAX 512  /* the description of a mutant */

/* ---------- where the choices come from ---------- */

struct pd_src {
  const uint8_t *in; /* fuzz input (NULL: PRNG) */
  size_t len, pos;
  uint64_t rng; /* xorshift64* state */
};

PD_FN uint32_t pd_u32(struct pd_src *s) {
  if (s->in) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = (v << 8) | (s->pos < s->len ? s->in[s->pos++] : 0);
    return v;
  }
  s->rng ^= s->rng >> 12;
  s->rng ^= s->rng << 25;
  s->rng ^= s->rng >> 27;
  return (uint32_t)((s->rng * 0x2545F4914F6CDD1DULL) >> 32);
}

/* A number in [0, n); 0 when n is 0. A fuzz input's byte picks among up to
 * 256 choices, so one input byte is used where that is enough. */
PD_FN size_t pd_below(struct pd_src *s, size_t n) {
  if (n == 0) return 0;
  if (s->in && n <= 256) return (s->pos < s->len ? s->in[s->pos++] : 0) % n;
  return pd_u32(s) % n;
}

/* ---------- the mutant ---------- */

struct pd_mutant {
  uint8_t sig[PD_SIG_MAX];
  size_t sig_len;
  uint8_t data[PD_DATA_MAX];
  size_t data_len;
  int armored;
  char what[PD_WHAT_MAX]; /* the operations applied, in order */
};

PD_FN void pd_note(struct pd_mutant *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
PD_FN void pd_note(struct pd_mutant *m, const char *fmt, ...) {
  size_t n = strlen(m->what);
  va_list ap;
  if (n + 2 >= sizeof m->what) return;
  if (n) m->what[n++] = ';', m->what[n++] = ' ', m->what[n] = 0;
  va_start(ap, fmt);
  vsnprintf(m->what + n, sizeof m->what - n, fmt, ap);
  va_end(ap);
}

#include "pgp_diff_pkt.h"   /* the packets: parse, mutate, serialize */
#include "pgp_diff_armor.h" /* the armor: write, mutate */

/* ---------- the mutant, all together ---------- */

/* Make m from the binary signature sig and data: a few operations on the
 * packets, then maybe raw bytes, maybe armor, maybe data. */
PD_FN void pd_mutate(struct pd_src *s, const uint8_t *sig, size_t sig_len, const uint8_t *data, size_t data_len,
                      struct pd_mutant *m) {
  static struct pd_msg msg; /* large: not on the stack */
  unsigned n_ops;
  memset(m->what, 0, sizeof m->what);
  m->armored = 0;
  m->data_len = data_len < PD_DATA_MAX ? data_len : PD_DATA_MAX;
  memcpy(m->data, data, m->data_len);
  memcpy(m->sig, sig, sig_len < PD_SIG_MAX ? sig_len : PD_SIG_MAX);
  m->sig_len = sig_len < PD_SIG_MAX ? sig_len : PD_SIG_MAX;
  /* Packet-level operations, applied to the parsed model. */
  if (pd_parse(m->sig, m->sig_len, &msg) == 0 && msg.n > 0) {
    n_ops = (unsigned)pd_below(s, 4);
    for (unsigned i = 0; i < n_ops && msg.n > 0; i++) pd_op_packet(s, &msg, m);
    size_t w = pd_write(&msg, m->sig, PD_SIG_MAX);
    if (w > 0 || msg.n == 0) m->sig_len = w;
  }
  /* Raw byte operations. */
  n_ops = pd_below(s, 3) == 0 ? 1 + (unsigned)pd_below(s, 2) : 0;
  for (unsigned i = 0; i < n_ops; i++) pd_op_raw(s, m->sig, &m->sig_len, PD_SIG_MAX, m, "sig");
  /* Armor, sometimes odd, then maybe changed as text. */
  if (pd_below(s, 2)) {
    static const char *const hdrs[] = {NULL, "Version: GnuPG v2\n", "Comment: x\nFoo: bar\n", "Comment:x\n",
                                       "Comment:\n", "Junk\n"};
    static uint8_t bin[PD_SIG_MAX];
    struct pd_armor_opt o;
    size_t a;
    memset(&o, 0, sizeof o);
    memcpy(bin, m->sig, m->sig_len);
    unsigned h = pd_below(s, 4) == 0 ? (unsigned)pd_below(s, sizeof hdrs / sizeof hdrs[0]) : 0;
    o.headers = hdrs[h];
    o.no_blank = pd_below(s, 16) == 0;
    o.crc = pd_below(s, 8) == 0 ? (int)pd_below(s, 3) : 1;
    o.crc_xor = o.crc == 2 ? 1u << pd_below(s, 24) : 0;
    o.width = pd_below(s, 4) == 0 ? 4 * (1 + (unsigned)pd_below(s, 19)) : 64;
    o.crlf = pd_below(s, 8) == 0;
    a = pd_armor(bin, m->sig_len, &o, (char *)m->sig, PD_SIG_MAX);
    if (a > 0) {
      m->sig_len = a;
      m->armored = 1;
      pd_note(m, "armored (headers %u%s, crc %s, width %u%s)", h, o.no_blank ? ", no blank line" : "",
              o.crc == 0 ? "none" : o.crc == 1 ? "right" : "wrong", o.width, o.crlf ? ", CRLF" : "");
      n_ops = pd_below(s, 4) == 0 ? 1 + (unsigned)pd_below(s, 2) : 0;
      for (unsigned i = 0; i < n_ops; i++) pd_op_text(s, m->sig, &m->sig_len, PD_SIG_MAX, m);
    }
  }
  /* The data, now and then. */
  if (pd_below(s, 6) == 0) {
    switch (pd_below(s, 4)) {
    case 0:
      if (m->data_len) {
        size_t i = pd_below(s, m->data_len);
        m->data[i] ^= (uint8_t)(1u << pd_below(s, 8));
        pd_note(m, "data byte %zu bit-flipped", i);
      }
      break;
    case 1:
      if (m->data_len) {
        m->data_len = pd_below(s, m->data_len);
        pd_note(m, "data cut to %zu bytes", m->data_len);
      }
      break;
    case 2:
      if (m->data_len < PD_DATA_MAX) {
        m->data[m->data_len++] = (uint8_t)pd_below(s, 256);
        pd_note(m, "data extended by a byte");
      }
      break;
    default:
      m->data_len = 0;
      pd_note(m, "data emptied");
      break;
    }
  }
  if (m->what[0] == 0) pd_note(m, "unchanged");
}

#include "pgp_diff_gpgv.h"  /* gpgv on the detached form */

/* Print a mutant (for a finding): what was done, then hex. */
PD_FN void pd_dump(FILE *f, const struct pd_mutant *m) {
  fprintf(f, "mutant: %s\n", m->what);
  fprintf(f, "signature (%zu bytes%s):", m->sig_len, m->armored ? ", armored" : "");
  for (size_t i = 0; i < m->sig_len; i++) fprintf(f, "%s%02x", i % 32 ? "" : "\n  ", m->sig[i]);
  fprintf(f, "\ndata (%zu bytes):", m->data_len);
  for (size_t i = 0; i < m->data_len; i++) fprintf(f, "%s%02x", i % 32 ? "" : "\n  ", m->data[i]);
  fprintf(f, "\n");
}

#endif
