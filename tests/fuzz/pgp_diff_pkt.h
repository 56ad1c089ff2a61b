/* pgp_diff_pkt.h - the packet model of the differential check: parse a signature into packets, mutate packets and signature fields, serialize.
 * Part of pgp_diff.h (which includes it after the choices and the mutant):
 * not to be included on its own. */
#ifndef SW_PGP_DIFF_PKT_H
#define SW_PGP_DIFF_PKT_H

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

#endif
