/* pgp_diff_armor.h - armoring a mutant (with or without CRC-24, headers, odd lines) and mutating the armor text.
 * Part of pgp_diff.h (which includes it after the choices and the mutant):
 * not to be included on its own. */
#ifndef SW_PGP_DIFF_ARMOR_H
#define SW_PGP_DIFF_ARMOR_H

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

#endif
