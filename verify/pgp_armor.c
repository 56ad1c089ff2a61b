/* pgp_armor.c - strict ASCII armor (RFC 4880 6.2) for signatures and key files. */
#include "pgp_int.h"
#include "verify_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int b64val(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Read one line [*pos, eol) of buf into line and llen, without CR/LF. 0 at end. */
static int next_line(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **line, size_t *llen) {
  size_t s = *pos, e;
  if (s >= len) return 0;
  e = s;
  while (e < len && buf[e] != '\n') e++;
  *line = buf + s;
  *llen = e - s;
  if (*llen > 0 && (*line)[*llen - 1] == '\r') (*llen)--;
  *pos = e < len ? e + 1 : e;
  return 1;
}

static int line_is(const uint8_t *l, size_t n, const char *s) {
  /* allow trailing blanks after an armor line, as RFC 4880 does */
  size_t k = strlen(s);
  if (n < k || memcmp(l, s, k) != 0) return 0;
  for (size_t i = k; i < n; i++)
    if (l[i] != ' ' && l[i] != '\t') return 0;
  return 1;
}

static int line_blank(const uint8_t *l, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (l[i] != ' ' && l[i] != '\t') return 0;
  return 1;
}

/* CRC-24 of RFC 4880 6.1 over buf[0..len). */
static uint32_t crc24(const uint8_t *buf, size_t len) {
  uint32_t crc = 0xB704CEu;
  for (size_t i = 0; i < len; i++) {
    crc ^= (uint32_t)buf[i] << 16;
    for (int k = 0; k < 8; k++) {
      crc <<= 1;
      if (crc & 0x1000000u) crc ^= 0x1864CFBu;
    }
  }
  return crc & 0xFFFFFFu;
}

/* gpg 2.2 reads an armor header as "Key: value", or "Key:" ending the line
 * (g10/armor.c, parse_header_line); any other line before the blank line is
 * an "invalid armor header" to it, and the armor is refused. */
static int armor_header_ok(const uint8_t *l, size_t n) {
  const uint8_t *c = memchr(l, ':', n);
  size_t i;
  if (c == NULL) return 0;
  i = (size_t)(c - l) + 1;
  return i == n || l[i] == ' ';
}

/* The CRC-24 line: '=' and exactly four base64 characters (trailing blanks
 * allowed). 1 and *crc, or 0 if it is not one. */
static int crc_line(const uint8_t *l, size_t n, uint32_t *crc) {
  uint32_t v = 0;
  if (n < 5 || l[0] != '=') return 0;
  for (size_t i = 1; i < 5; i++) {
    int d = b64val(l[i]);
    if (d < 0) return 0;
    v = (v << 6) | (uint32_t)d;
  }
  if (!line_blank(l + 5, n - 5)) return 0;
  *crc = v;
  return 1;
}

/* Decode the armored text buf[0..len) into out (capacity cap, at least len).
 * label: "SIGNATURE" to accept only signature blocks; NULL for any block
 * (key files). Returns 0 and *olen, or -1 with a reason in why.
 *
 * gpg never sees this text: it is given the decoded packets (see "the
 * message gpg is given"), so every check gpg's armor filter would make is
 * made here, and an armor gpg refuses is refused. Each block is
 *   BEGIN line, header lines ("Key: value"), a blank line,
 *   base64 lines (blanks inside ignored; '=' padding only at the very end),
 *   optionally the CRC-24 line "=XXXX", which must match the block's bytes,
 *   END line.
 * A missing CRC-24 line is accepted where gpg 2.2 accepts it (RFC 9580
 * makes it optional): when the data ends in '=' padding, the only '=' that
 * stops gpg's decoder short of the END line. A wrong or malformed CRC-24 is
 * refused, as gpg does. Stricter than
 * gpg, on purpose: text before BEGIN, between CRC-24 and END or after END,
 * '=' padding in the wrong place, a CRC-24 line with more than four
 * characters, and data whose last group holds a single character (gpg would
 * turn it into a stray byte) are refused. One spelling, nothing unchecked. */
int sw_pgp__dearmor(const uint8_t *buf, size_t len, const char *label, uint8_t *out, size_t cap,
                    size_t *olen, char *why, size_t whylen) {
  size_t pos = 0, n = 0, llen = 0;
  const uint8_t *l = NULL;
  int blocks = 0;
  char begin[64], end[64];
  if (label) {
    snprintf(begin, sizeof begin, "-----BEGIN PGP %s-----", label);
    snprintf(end, sizeof end, "-----END PGP %s-----", label);
  }
  while (next_line(buf, len, &pos, &l, &llen)) {
    if (line_blank(l, llen)) continue;
    if (llen >= 15 && memcmp(l, "-----BEGIN PGP ", 15) == 0) {
      if (label && !line_is(l, llen, begin)) {
        if (line_is(l, llen, "-----BEGIN PGP SIGNED MESSAGE-----"))
          sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
                  "a clearsigned message is not a detached signature");
        else if (line_is(l, llen, "-----BEGIN PGP MESSAGE-----"))
          sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
                  "an inline-signed message is not a detached signature");
        else
          sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "armor block is not a PGP SIGNATURE");
        return -1;
      }
      /* Header lines up to the blank line that must end them. */
      for (;;) {
        if (!next_line(buf, len, &pos, &l, &llen)) {
          sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "armor block without END line");
          return -1;
        }
        if (line_blank(l, llen)) break;
        if (!armor_header_ok(l, llen)) {
          sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
                  "invalid armor header line (headers are \"Key: value\", then a blank line)");
          return -1;
        }
      }
      size_t start = n;   /* this block's bytes: out[start..n) */
      unsigned chars = 0; /* base64 characters of the data, mod 4 */
      unsigned pad = 0;
      int done = 0, have_crc = 0;
      uint32_t acc = 0;
      int bits = 0;
      while (next_line(buf, len, &pos, &l, &llen)) {
        if (llen >= 9 && memcmp(l, "-----END ", 9) == 0) {
          if (label ? !line_is(l, llen, end) : (llen < 13 || memcmp(l, "-----END PGP ", 13) != 0)) {
            sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "armor END line does not match BEGIN");
            return -1;
          }
          done = 1;
          break;
        }
        if (line_blank(l, llen)) continue;
        if (have_crc) {
          sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "text after the armor CRC-24 line");
          return -1;
        }
        if (l[0] == '=') {
          /* gpg's data ends at the first '=' and what follows is the CRC-24. */
          uint32_t want = 0, got;
          if (!crc_line(l, llen, &want)) {
            sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "malformed armor CRC-24 line");
            return -1;
          }
          if (chars == 1 || (pad > 0 && chars + pad != 4)) {
            sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "armor data ends inside a byte");
            return -1;
          }
          got = crc24(out + start, n - start);
          if (got != want) {
            sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
                    "armor CRC-24 is %06X but the data's is %06X (damaged or altered)", (unsigned)want,
                    (unsigned)got);
            return -1;
          }
          have_crc = 1;
          continue;
        }
        for (size_t i = 0; i < llen; i++) {
          int v;
          if (l[i] == ' ' || l[i] == '\t') continue;
          if (l[i] == '=') {
            /* Padding completes the last group of 2 or 3 characters. */
            if (chars < 2 || chars + pad >= 4) {
              sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "armor padding in the wrong place");
              return -1;
            }
            pad++;
            continue;
          }
          v = b64val(l[i]);
          if (v < 0) {
            sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "invalid character in armor");
            return -1;
          }
          if (pad) {
            sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "armor data after its padding");
            return -1;
          }
          chars = (chars + 1) & 3;
          acc = (acc << 6) | (uint32_t)v;
          bits += 6;
          if (bits >= 8) {
            bits -= 8;
            if (n >= cap) {
              sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "armor too large");
              return -1;
            }
            out[n++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
          }
        }
      }
      if (!done) {
        sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "armor block without END line");
        return -1;
      }
      if (!have_crc && pad == 0) {
        /* gpg 2.2 ends the data at the first '=': with neither padding nor a
         * CRC-24 line it reads on into the END line, decodes it as data and
         * refuses the result ("invalid packet"). */
        sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
                "armor block with neither padding nor a CRC-24 line (gpg reads its END line as data)");
        return -1;
      }
      if (!have_crc && (chars == 1 || chars + pad != 4)) {
        sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "armor data ends inside a byte");
        return -1;
      }
      blocks++;
      continue;
    }
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "text outside an armor block");
    return -1;
  }
  if (blocks == 0) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "no signature found");
    return -1;
  }
  *olen = n;
  return 0;
}
