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

/* ---------- packets ---------- */

struct pd_pkt {
  int tag;
  int enc; /* header form: 0 new minimal, 1 new 2-byte, 2 new 5-byte, 3 old 1, 4 old 2, 5 old 4 */
  uint8_t body[PD_BODY_MAX];
  size_t len;
};

struct pd_msg {
  struct pd_pkt p[PD_PKT_MAX];
  unsigned n;
};

/* Split bin into packets (definite lengths only). 0, or -1 if it does not split. */
PD_FN int pd_parse(const uint8_t *bin, size_t len, struct pd_msg *m) {
  size_t pos = 0;
  m->n = 0;
  while (pos < len) {
    uint8_t h = bin[pos++];
    size_t blen = 0;
    struct pd_pkt *p;
    int tag, enc;
    if (!(h & 0x80) || m->n >= PD_PKT_MAX) return -1;
    if (h & 0x40) {
      tag = h & 0x3f;
      if (pos >= len) return -1;
      uint8_t c = bin[pos++];
      if (c < 192) {
        blen = c, enc = 0;
      } else if (c < 224) {
        if (pos >= len) return -1;
        blen = ((size_t)(c - 192) << 8) + bin[pos++] + 192, enc = 1;
      } else if (c == 255) {
        if (len - pos < 4) return -1;
        blen = ((size_t)bin[pos] << 24) | ((size_t)bin[pos + 1] << 16) | ((size_t)bin[pos + 2] << 8) | bin[pos + 3];
        pos += 4, enc = 2;
      } else {
        return -1;
      }
    } else {
      int lt = h & 3;
      size_t nb = lt == 0 ? 1 : lt == 1 ? 2 : lt == 2 ? 4 : 0;
      tag = (h >> 2) & 0x0f;
      if (nb == 0 || len - pos < nb) return -1;
      for (size_t i = 0; i < nb; i++) blen = (blen << 8) | bin[pos++];
      enc = 3 + lt;
    }
    if (blen > len - pos || blen > PD_BODY_MAX) return -1;
    p = &m->p[m->n++];
    p->tag = tag;
    p->enc = enc;
    memcpy(p->body, bin + pos, blen);
    p->len = blen;
    pos += blen;
  }
  return 0;
}

/* Write the packets back, each header in its own form (or the nearest one
 * that holds its length and tag). Returns the length, 0 if it does not fit. */
PD_FN size_t pd_write(const struct pd_msg *m, uint8_t *out, size_t cap) {
  size_t n = 0;
  for (unsigned i = 0; i < m->n; i++) {
    const struct pd_pkt *p = &m->p[i];
    int enc = p->enc;
    size_t L = p->len;
    if (enc >= 3 && p->tag > 15) enc = 2; /* old format has 4 tag bits */
    if (enc == 0 && L >= 192) enc = 1;
    if (enc == 1 && L >= 8384) enc = 2;
    if (enc == 1 && L < 192) enc = 0; /* a 2-byte length below 192 is a different header */
    if (enc == 3 && L > 0xff) enc = 4;
    if (enc == 4 && L > 0xffff) enc = 5;
    if (cap - n < 6 + L) return 0;
    if (enc <= 2) {
      out[n++] = (uint8_t)(0xC0 | p->tag);
      if (enc == 0) {
        out[n++] = (uint8_t)L;
      } else if (enc == 1) {
        out[n++] = (uint8_t)(((L - 192) >> 8) + 192);
        out[n++] = (uint8_t)((L - 192) & 0xff);
      } else {
        out[n++] = 0xff;
        for (int b = 3; b >= 0; b--) out[n++] = (uint8_t)(L >> (8 * b));
      }
    } else {
      int lt = enc - 3, nb = lt == 0 ? 1 : lt == 1 ? 2 : 4;
      out[n++] = (uint8_t)(0x80 | (p->tag << 2) | lt);
      for (int b = nb - 1; b >= 0; b--) out[n++] = (uint8_t)(L >> (8 * b));
    }
    memcpy(out + n, p->body, L);
    n += L;
  }
  return n;
}

/* Replace del bytes at off of a packet body with ins[0..ilen) (ins NULL: zeros). */
PD_FN int pd_splice(struct pd_pkt *p, size_t off, size_t del, const uint8_t *ins, size_t ilen) {
  if (off > p->len || del > p->len - off || p->len - del + ilen > PD_BODY_MAX) return -1;
  memmove(p->body + off + ilen, p->body + off + del, p->len - off - del);
  if (ins)
    memcpy(p->body + off, ins, ilen);
  else
    memset(p->body + off, 0, ilen);
  p->len = p->len - del + ilen;
  return 0;
}

/* A v4 signature body's two subpacket areas; -1 if they do not fit. */
PD_FN int pd_areas(const struct pd_pkt *p, size_t *hoff, size_t *hlen, size_t *uoff, size_t *ulen) {
  const uint8_t *b = p->body;
  if (p->tag != 2 || p->len < 8) return -1;
  *hoff = 6;
  *hlen = ((size_t)b[4] << 8) | b[5];
  if (p->len < 8 + *hlen) return -1;
  *uoff = 8 + *hlen;
  *ulen = ((size_t)b[6 + *hlen] << 8) | b[7 + *hlen];
  if (p->len < *uoff + *ulen) return -1;
  return 0;
}

PD_FN void pd_put16(uint8_t *b, size_t v) {
  b[0] = (uint8_t)(v >> 8);
  b[1] = (uint8_t)v;
}

/* The subpackets of an area: offset of each (its length octets) and its total size. */
PD_FN unsigned pd_subpackets(const uint8_t *a, size_t n, size_t off[64], size_t size[64]) {
  size_t pos = 0;
  unsigned k = 0;
  while (pos < n && k < 64) {
    size_t start = pos, sl;
    uint8_t c = a[pos++];
    if (c < 192) {
      sl = c;
    } else if (c < 255) {
      if (pos >= n) break;
      sl = ((size_t)(c - 192) << 8) + a[pos++] + 192;
    } else {
      if (n - pos < 4) break;
      sl = ((size_t)a[pos] << 24) | ((size_t)a[pos + 1] << 16) | ((size_t)a[pos + 2] << 8) | a[pos + 3];
      pos += 4;
    }
    if (sl > n - pos) break;
    off[k] = start;
    size[k] = pos - start + sl;
    k++;
    pos += sl;
  }
  return k;
}

/* Change a byte by a small step or to anything. */
PD_FN uint8_t pd_nudge(struct pd_src *s, uint8_t v) {
  static const int step[] = {1, -1, 2, -2, 0x80, 0x40};
  if (pd_below(s, 3) == 0) return (uint8_t)pd_below(s, 256);
  return (uint8_t)(v + step[pd_below(s, 6)]);
}

/* One operation on a packet of the model (or on the list of packets). */
PD_FN void pd_op_packet(struct pd_src *s, struct pd_msg *msg, struct pd_mutant *m) {
  unsigned k = (unsigned)pd_below(s, msg->n);
  struct pd_pkt *p = &msg->p[k];
  size_t hoff, hlen, uoff, ulen;
  int areas = pd_areas(p, &hoff, &hlen, &uoff, &ulen) == 0;
  switch (pd_below(s, 14)) {
  case 0: { /* a fixed field: version, class, public-key or hash algorithm */
    size_t i = pd_below(s, 4);
    if (p->len <= i) break;
    uint8_t old = p->body[i];
    p->body[i] = pd_nudge(s, old);
    pd_note(m, "pkt%u field%zu 0x%02x->0x%02x", k, i, old, p->body[i]);
    break;
  }
  case 1:
  case 2: { /* an area length field, left pointing anywhere */
    if (!areas) break;
    size_t at = pd_below(s, 2) ? 4 : 6 + hlen, old = ((size_t)p->body[at] << 8) | p->body[at + 1], v;
    v = pd_below(s, 4) == 0 ? pd_below(s, 65536) : (size_t)((long)old + (long)pd_below(s, 9) - 4) & 0xffff;
    pd_put16(p->body + at, v);
    pd_note(m, "pkt%u %s area length %zu->%zu", k, at == 4 ? "hashed" : "unhashed", old, v);
    break;
  }
  case 3:
  case 4:
  case 5: { /* one subpacket: retyped, made critical, resized, deleted or duplicated */
    size_t off[64], size[64], aoff, alen;
    int hashed;
    unsigned n, i;
    if (!areas) break;
    hashed = pd_below(s, 2) == 0;
    aoff = hashed ? hoff : uoff;
    alen = hashed ? hlen : ulen;
    n = pd_subpackets(p->body + aoff, alen, off, size);
    if (n == 0) break;
    i = (unsigned)pd_below(s, n);
    uint8_t *sp = p->body + aoff + off[i];
    size_t lenoct = sp[0] < 192 ? 1 : sp[0] < 255 ? 2 : 5;
    if (size[i] <= lenoct) break; /* no type octet */
    switch (pd_below(s, 5)) {
    case 0: {
      uint8_t old = sp[lenoct];
      sp[lenoct] = pd_nudge(s, old);
      pd_note(m, "pkt%u %s subpacket %u type 0x%02x->0x%02x", k, hashed ? "hashed" : "unhashed", i, old,
              sp[lenoct]);
      break;
    }
    case 1:
      sp[lenoct] ^= 0x80;
      pd_note(m, "pkt%u %s subpacket %u critical bit flipped", k, hashed ? "hashed" : "unhashed", i);
      break;
    case 2: {
      uint8_t old = sp[0];
      sp[0] = pd_nudge(s, old);
      pd_note(m, "pkt%u %s subpacket %u length octet %u->%u", k, hashed ? "hashed" : "unhashed", i, old, sp[0]);
      break;
    }
    case 3:
      if (pd_splice(p, aoff + off[i], size[i], NULL, 0) != 0) break;
      pd_put16(p->body + aoff - 2, alen - size[i]);
      pd_note(m, "pkt%u %s subpacket %u deleted", k, hashed ? "hashed" : "unhashed", i);
      break;
    default: {
      uint8_t copy[PD_BODY_MAX];
      size_t sz = size[i];
      memcpy(copy, sp, sz);
      if (pd_splice(p, aoff + off[i], 0, copy, sz) != 0) break;
      pd_put16(p->body + aoff - 2, alen + sz);
      pd_note(m, "pkt%u %s subpacket %u duplicated", k, hashed ? "hashed" : "unhashed", i);
      break;
    }
    }
    break;
  }
  case 6:
  case 7: { /* a subpacket inserted into the unhashed area */
    uint8_t sp[40];
    size_t n = 0, at;
    unsigned what = (unsigned)pd_below(s, 5);
    if (!areas) break;
    if (what == 0) { /* Issuer, some key ID */
      sp[n++] = 9, sp[n++] = 16;
      for (int i = 0; i < 8; i++) sp[n++] = (uint8_t)pd_below(s, 256);
    } else if (what == 1 && msg->n > 1) { /* Issuer copied from another packet's hashed area */
      size_t h2, hl2, u2, ul2, off[64], size[64];
      unsigned j = (k + 1) % msg->n, c;
      if (pd_areas(&msg->p[j], &h2, &hl2, &u2, &ul2) != 0) break;
      c = pd_subpackets(msg->p[j].body + h2, hl2, off, size);
      for (unsigned i = 0; i < c && n == 0; i++) {
        const uint8_t *q = msg->p[j].body + h2 + off[i];
        if (q[0] == 22 && (q[1] & 0x7f) == 33) {
          sp[n++] = 9, sp[n++] = 16;
          memcpy(sp + n, q + 2 + 1 + 12, 8);
          n += 8;
        }
      }
      if (n == 0) break;
    } else if (what == 2) { /* Issuer Fingerprint, random */
      sp[n++] = 22, sp[n++] = 33, sp[n++] = 4;
      for (int i = 0; i < 20; i++) sp[n++] = (uint8_t)pd_below(s, 256);
    } else { /* any type, maybe critical, a few bytes */
      size_t l = pd_below(s, 8);
      sp[n++] = (uint8_t)(l + 1);
      sp[n++] = (uint8_t)pd_below(s, 256);
      for (size_t i = 0; i < l; i++) sp[n++] = (uint8_t)pd_below(s, 256);
    }
    at = pd_below(s, 2) ? uoff : uoff + ulen;
    if (pd_splice(p, at, 0, sp, n) != 0) break;
    pd_put16(p->body + uoff - 2, ulen + n);
    pd_note(m, "pkt%u unhashed subpacket type 0x%02x (%zu bytes) inserted at %s", k, sp[1], n,
            at == uoff ? "start" : "end");
    break;
  }
  case 8: /* no unhashed area at all */
    if (!areas || pd_splice(p, uoff, ulen, NULL, 0) != 0) break;
    pd_put16(p->body + uoff - 2, 0);
    pd_note(m, "pkt%u unhashed area dropped", k);
    break;
  case 9: { /* left16, the MPIs, or bytes after them */
    size_t rest;
    if (!areas) break;
    rest = uoff + ulen;
    switch (pd_below(s, 3)) {
    case 0:
      if (rest >= p->len) break;
      {
        size_t i = rest + pd_below(s, p->len - rest);
        uint8_t old = p->body[i];
        p->body[i] = pd_nudge(s, old);
        pd_note(m, "pkt%u after-areas byte %zu 0x%02x->0x%02x", k, i - rest, old, p->body[i]);
      }
      break;
    case 1: {
      uint8_t junk[8];
      size_t l = 1 + pd_below(s, 8);
      for (size_t i = 0; i < l; i++) junk[i] = (uint8_t)pd_below(s, 256);
      if (pd_splice(p, p->len, 0, junk, l) == 0) pd_note(m, "pkt%u %zu bytes appended inside the packet", k, l);
      break;
    }
    default: {
      size_t cut = 1 + pd_below(s, 8);
      if (cut > p->len - rest) break;
      p->len -= cut;
      pd_note(m, "pkt%u last %zu bytes of the packet cut", k, cut);
      break;
    }
    }
    break;
  }
  case 10: /* the header in another length form: the same packet */
    p->enc = (int)pd_below(s, 6);
    pd_note(m, "pkt%u header form %d", k, p->enc);
    break;
  case 11: { /* the tag */
    int old = p->tag;
    p->tag = (int)pd_below(s, 64);
    if (p->enc >= 3 && p->tag > 15) p->enc = 2;
    pd_note(m, "pkt%u tag %d->%d", k, old, p->tag);
    break;
  }
  case 12: { /* packets duplicated, dropped or swapped */
    unsigned j = (unsigned)pd_below(s, msg->n);
    switch (pd_below(s, 3)) {
    case 0:
      if (msg->n >= PD_PKT_MAX) break;
      memmove(&msg->p[k + 1], &msg->p[k], (msg->n - k) * sizeof msg->p[0]);
      msg->n++;
      pd_note(m, "pkt%u duplicated", k);
      break;
    case 1:
      memmove(&msg->p[k], &msg->p[k + 1], (msg->n - k - 1) * sizeof msg->p[0]);
      msg->n--;
      pd_note(m, "pkt%u dropped", k);
      break;
    default: {
      struct pd_pkt t = msg->p[k];
      msg->p[k] = msg->p[j];
      msg->p[j] = t;
      pd_note(m, "pkt%u and pkt%u swapped", k, j);
      break;
    }
    }
    break;
  }
  default: { /* a foreign packet inserted */
    static const struct {
      int tag;
      size_t len;
      const char *body;
    } f[] = {
        {10, 3, "PGP"},                         /* marker */
        {12, 2, "\x00\x00"},                    /* trust */
        {13, 4, "x <"},                         /* user ID */
        {11, 6, "b\x00\x00\x00\x00\x00"},       /* empty literal data */
        {8, 2, "\x00\x03"},                     /* compressed, uncompressed algo */
        {60, 5, "\x01\x02\x03\x04\x05"},        /* private/experimental */
    };
    unsigned w = (unsigned)pd_below(s, sizeof f / sizeof f[0]), at = (unsigned)pd_below(s, msg->n + 1);
    if (msg->n >= PD_PKT_MAX) break;
    memmove(&msg->p[at + 1], &msg->p[at], (msg->n - at) * sizeof msg->p[0]);
    msg->n++;
    msg->p[at].tag = f[w].tag;
    msg->p[at].enc = 0;
    memcpy(msg->p[at].body, f[w].body, f[w].len);
    msg->p[at].len = f[w].len;
    pd_note(m, "tag %d packet inserted at %u", f[w].tag, at);
    break;
  }
  }
}

/* One operation on raw bytes buf[0..*len) (capacity cap). */
PD_FN void pd_op_raw(struct pd_src *s, uint8_t *buf, size_t *len, size_t cap, struct pd_mutant *m, const char *name) {
  size_t i;
  switch (pd_below(s, s->in ? 6 : 5)) {
  case 0:
    if (*len == 0) break;
    i = pd_below(s, *len);
    {
      unsigned bit = (unsigned)pd_below(s, 8);
      buf[i] ^= (uint8_t)(1u << bit);
      pd_note(m, "%s bit %u of byte %zu flipped", name, bit, i);
    }
    break;
  case 1:
    if (*len == 0) break;
    i = pd_below(s, *len);
    {
      uint8_t old = buf[i];
      buf[i] = pd_nudge(s, old);
      pd_note(m, "%s byte %zu 0x%02x->0x%02x", name, i, old, buf[i]);
    }
    break;
  case 2: {
    size_t cut = pd_below(s, *len + 1);
    pd_note(m, "%s cut to %zu of %zu bytes", name, cut, *len);
    *len = cut;
    break;
  }
  case 3: {
    size_t n = 1 + pd_below(s, 8), at = pd_below(s, *len + 1);
    if (cap - *len < n) break;
    memmove(buf + at + n, buf + at, *len - at);
    for (size_t k = 0; k < n; k++) buf[at + k] = (uint8_t)pd_below(s, 256);
    *len += n;
    pd_note(m, "%s %zu bytes inserted at %zu", name, n, at);
    break;
  }
  case 4: {
    size_t n = 1 + pd_below(s, 8);
    if (cap - *len < n) break;
    for (size_t k = 0; k < n; k++) buf[*len + k] = (uint8_t)pd_below(s, 256);
    *len += n;
    pd_note(m, "%s %zu bytes appended", name, n);
    break;
  }
  default: { /* fuzz input only: the next bytes of the input, spliced in */
    size_t n = pd_below(s, 64), at = pd_below(s, *len + 1), del = pd_below(s, *len - at + 1);
    if (n > s->len - s->pos) n = s->len - s->pos;
    if (*len - del + n > cap) break;
    memmove(buf + at + n, buf + at + del, *len - at - del);
    memcpy(buf + at, s->in + s->pos, n);
    s->pos += n;
    *len = *len - del + n;
    pd_note(m, "%s %zu bytes at %zu replaced by %zu input bytes", name, del, at, n);
    break;
  }
  }
}

/* ---------- armor ---------- */

/* CRC-24 of RFC 4880 6.1. */
PD_FN uint32_t pd_crc24(const uint8_t *b, size_t n) {
  uint32_t crc = 0xB704CEu;
  for (size_t i = 0; i < n; i++) {
    crc ^= (uint32_t)b[i] << 16;
    for (int k = 0; k < 8; k++) {
      crc <<= 1;
      if (crc & 0x1000000u) crc ^= 0x1864CFBu;
    }
  }
  return crc & 0xFFFFFFu;
}

static const char pd_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* How to armor. */
struct pd_armor_opt {
  const char *headers; /* lines between BEGIN and the blank line, each ending in "\n"; NULL: none */
  int no_blank;        /* leave out the blank line after the headers */
  int crc;             /* 0 none, 1 right, 2 right value xor crc_xor */
  uint32_t crc_xor;
  unsigned width; /* characters per body line (0: 64) */
  int crlf;
};

/* Armor bin[0..len) as a PGP SIGNATURE block into out. Returns the length, 0 if it does not fit. */
PD_FN size_t pd_armor(const uint8_t *bin, size_t len, const struct pd_armor_opt *o, char *out, size_t cap) {
  const char *nl = o->crlf ? "\r\n" : "\n";
  unsigned width = o->width ? o->width : 64, col = 0;
  size_t n = 0;
  char q[4];
#define PD_PUT(str)                                                                                                \
  do {                                                                                                             \
    size_t l_ = strlen(str);                                                                                       \
    if (cap - n <= l_) return 0;                                                                                   \
    memcpy(out + n, str, l_);                                                                                      \
    n += l_;                                                                                                       \
  } while (0)
  PD_PUT("-----BEGIN PGP SIGNATURE-----");
  PD_PUT(nl);
  if (o->headers) PD_PUT(o->headers);
  if (!o->no_blank) PD_PUT(nl);
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)bin[i] << 16 | (i + 1 < len ? (uint32_t)bin[i + 1] << 8 : 0) | (i + 2 < len ? bin[i + 2] : 0);
    q[0] = pd_b64[v >> 18 & 63];
    q[1] = pd_b64[v >> 12 & 63];
    q[2] = i + 1 < len ? pd_b64[v >> 6 & 63] : '=';
    q[3] = i + 2 < len ? pd_b64[v & 63] : '=';
    for (int k = 0; k < 4; k++) {
      char c[2] = {q[k], 0};
      PD_PUT(c);
      if (++col == width) {
        PD_PUT(nl);
        col = 0;
      }
    }
  }
  if (col) PD_PUT(nl);
  if (o->crc) {
    uint32_t c = pd_crc24(bin, len) ^ (o->crc == 2 ? o->crc_xor : 0);
    char line[8] = {'=', pd_b64[c >> 18 & 63], pd_b64[c >> 12 & 63], pd_b64[c >> 6 & 63], pd_b64[c & 63], 0};
    PD_PUT(line);
    PD_PUT(nl);
  }
  PD_PUT("-----END PGP SIGNATURE-----");
  PD_PUT(nl);
#undef PD_PUT
  return n;
}

/* One operation on armored text buf[0..*len): a character, or a whole line. */
PD_FN void pd_op_text(struct pd_src *s, uint8_t *buf, size_t *len, size_t cap, struct pd_mutant *m) {
  static const char *const lines[] = {"=AAAA\n", "Comment: x\n", "Comment:x\n", "\n", "QUFB\n", "=\n",
                                      "-----END PGP SIGNATURE-----\n", "-----BEGIN PGP SIGNATURE-----\n", "x\n"};
  size_t starts[256], nl = 0;
  for (size_t i = 0; i < *len && nl < 256; i++)
    if (i == 0 || buf[i - 1] == '\n') starts[nl++] = i;
  if (nl == 0) return;
  size_t k = pd_below(s, nl), a = starts[k], b = k + 1 < nl ? starts[k + 1] : *len;
  switch (pd_below(s, 4)) {
  case 0: { /* a character */
    static const char chars[] = "A/+=-: \t\r\n!";
    size_t i = a + pd_below(s, b - a);
    uint8_t old = buf[i];
    buf[i] = pd_below(s, 2) ? (uint8_t)chars[pd_below(s, sizeof chars - 1)] : (uint8_t)pd_b64[pd_below(s, 64)];
    pd_note(m, "armor line %zu char %zu '%c'->'%c'", k, i - a, old >= 0x20 && old < 0x7f ? old : '?',
            buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '?');
    break;
  }
  case 1: /* a line dropped */
    memmove(buf + a, buf + b, *len - b);
    *len -= b - a;
    pd_note(m, "armor line %zu dropped", k);
    break;
  case 2: /* a line duplicated */
    if (cap - *len < b - a) break;
    memmove(buf + b + (b - a), buf + b, *len - b);
    memcpy(buf + b, buf + a, b - a);
    *len += b - a;
    pd_note(m, "armor line %zu duplicated", k);
    break;
  default: { /* a line inserted */
    const char *l = lines[pd_below(s, sizeof lines / sizeof lines[0])];
    size_t ll = strlen(l);
    if (cap - *len < ll) break;
    memmove(buf + a + ll, buf + a, *len - a);
    memcpy(buf + a, l, ll);
    *len += ll;
    pd_note(m, "armor line \"%.*s\" inserted before line %zu", (int)ll - 1, l, k);
    break;
  }
  }
}

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

/* ---------- gpgv on the detached form ---------- */

PD_FN int pd_write_file(const char *path, const void *b, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const uint8_t *p = b;
  if (fd < 0) return -1;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      close(fd);
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return close(fd);
}

/* Run gpgv --homedir HOME --keyring RING on sig and data written into dir.
 * Returns 1 if gpgv says good (exit 0), 0 if not, -1 if it could not run.
 * gpgv's messages go to dir/gpgv.log. */
PD_FN int pd_gpgv(const char *dir, const char *home, const char *ring, const uint8_t *sig, size_t sig_len,
                   const uint8_t *data, size_t data_len) {
  char sp[512], dp[512], lp[512];
  char *argv[] = {"gpgv", "--homedir", (char *)home, "--keyring", (char *)ring, sp, dp, NULL};
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int st = 0, r;
  snprintf(sp, sizeof sp, "%s/mutant.sig", dir);
  snprintf(dp, sizeof dp, "%s/mutant.data", dir);
  snprintf(lp, sizeof lp, "%s/gpgv.log", dir);
  if (pd_write_file(sp, sig, sig_len) != 0 || pd_write_file(dp, data, data_len) != 0) return -1;
  if (posix_spawn_file_actions_init(&fa) != 0) return -1;
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, lp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  r = posix_spawnp(&pid, "gpgv", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0) return -1;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  if (!WIFEXITED(st)) return -1;
  return WEXITSTATUS(st) == 0 ? 1 : 0;
}

/* Run argv (stdout and stderr to /dev/null). The exit status, or -1. */
PD_FN int pd_run(char *const argv[]) {
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int st = 0, r;
  if (posix_spawn_file_actions_init(&fa) != 0) return -1;
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0) return -1;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* gpgv's keyring at ring: the armored key files asc[0..n) dearmored and
 * concatenated, so gpgv knows exactly the keys swarmup pins. gpg_home is
 * any GnuPG home to run `gpg --dearmor` in. 0, or -1. */
PD_FN int pd_make_ring(const char *gpg_home, const char *const *asc, size_t n, const char *ring) {
  char part[600];
  int out = -1, rc = -1;
  out = open(ring, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) return -1;
  for (size_t i = 0; i < n; i++) {
    char *argv[] = {"gpg", "--homedir", (char *)gpg_home, "--batch", "--yes", "-o", part, "--dearmor",
                    (char *)asc[i], NULL};
    uint8_t buf[65536];
    ssize_t r;
    int in;
    snprintf(part, sizeof part, "%s.part", ring);
    if (pd_run(argv) != 0) goto out;
    in = open(part, O_RDONLY | O_CLOEXEC);
    if (in < 0) goto out;
    while ((r = read(in, buf, sizeof buf)) > 0)
      if (write(out, buf, (size_t)r) != r) r = -1;
    close(in);
    unlink(part);
    if (r < 0) goto out;
  }
  rc = 0;
out:
  if (close(out) != 0) rc = -1;
  return rc;
}

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
