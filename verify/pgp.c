/* pgp.c - OpenPGP signature checks through gpgme against pinned keys only.
 *
 * Trust rules (the policy, written down rather than left to gpg):
 *  - The private home holds only the keys the caller pinned, so gpg's web of
 *    trust says nothing useful: the home uses `trust-model always` (which also
 *    stops gpg from building a trustdb on every call) and this file makes its
 *    own decision from the fingerprint, the key's flags and the hash algorithm.
 *    gpg's summary VALID/GREEN is never what makes a signature count.
 *  - A signature counts only if gpgme reports GPG_ERR_NO_ERROR, the summary has
 *    none of RED, KEY_REVOKED, KEY_EXPIRED, SIG_EXPIRED, KEY_MISSING,
 *    CRL_MISSING, CRL_TOO_OLD, BAD_POLICY, SYS_ERROR, the key usage is right,
 *    the hash is not MD5, SHA-1 or RIPEMD-160, and the signing (sub)key belongs
 *    to a pinned primary, can sign, and neither it nor the primary is revoked,
 *    expired, disabled or invalid *now* (a signature made before a revocation
 *    or expiry is still refused: we cannot tell when it was really made).
 *  - Any signature in the set that fails rejects the whole set. The count is of
 *    distinct pinned primaries, so a primary and its subkey count once.
 *  - Before gpg sees them, signature bytes must be nothing but v4 OpenPGP
 *    signature packets of class 0x00 (binary document), either raw or inside
 *    `-----BEGIN PGP SIGNATURE-----` armor. A clearsigned or inline-signed
 *    message handed over as a "detached signature" makes gpg verify the text
 *    embedded in it instead of our data; refusing every other packet type
 *    closes that door. A text-mode signature (0x01) binds a line-ending-
 *    canonicalised form rather than the exact bytes, so it is refused too.
 *  - Finally, gpg must report exactly as many signatures as there were packets.
 *  - gpg is given a one-pass signed message built around the data (see "the
 *    message gpg is given" below) rather than the detached form: same
 *    verdicts, and gpg hashes it 4x faster.
 */
/* nftw() is an XSI interface. */
#define _XOPEN_SOURCE 700

#include "pgp.h"
#include "verify_int.h"

/* F_SETPIPE_SZ is Linux-only (fcntl.h hides it without _GNU_SOURCE). */
#ifndef SW_F_SETPIPE_SZ
#define SW_F_SETPIPE_SZ 1031
#endif

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <gpgme.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SW_PGP_HOME_MAX 96 /* sockets in the home: keep far below 108 bytes */
#define SW_PGP_MAX_KEYS 64 /* pinned primaries across all key files */
#define SW_PGP_SIGS_MAX 32 /* signature packets in one detached signature */

struct sw_pgp {
  char home[SW_PGP_HOME_MAX];
  size_t n_pinned;
  char pinned[SW_PGP_MAX_KEYS][41];
};

static pthread_once_t sw_pgp_once = PTHREAD_ONCE_INIT;
static int sw_pgp_init_ok;

static void sw_pgp_init(void) {
  /* gpgme needs this once per process before any other call. */
  sw_pgp_init_ok = gpgme_check_version("1.13.0") != NULL;
}

/* ---------- packet pre-checks ---------- */

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
static int dearmor(const uint8_t *buf, size_t len, const char *label, uint8_t *out, size_t cap,
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

/* Walk OpenPGP packets in buf[0..len). Calls back with each (tag, body).
 * Returns 0, or -1 with a reason for malformed framing. */
typedef int (*packet_fn)(void *arg, int tag, const uint8_t *body, size_t blen, char *why, size_t whylen);

static int walk_packets(const uint8_t *buf, size_t len, packet_fn fn, void *arg, char *why, size_t whylen) {
  size_t pos = 0;
  while (pos < len) {
    uint8_t h = buf[pos++];
    int tag;
    size_t blen = 0;
    if (!(h & 0x80)) {
      sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "not an OpenPGP packet at offset %zu", pos - 1);
      return -1;
    }
    if (h & 0x40) { /* new format */
      tag = h & 0x3f;
      if (pos >= len) goto trunc;
      uint8_t c = buf[pos++];
      if (c < 192) {
        blen = c;
      } else if (c < 224) {
        if (pos >= len) goto trunc;
        blen = ((size_t)(c - 192) << 8) + buf[pos++] + 192;
      } else if (c == 255) {
        if (len - pos < 4) goto trunc;
        blen = ((size_t)buf[pos] << 24) | ((size_t)buf[pos + 1] << 16) | ((size_t)buf[pos + 2] << 8) |
               buf[pos + 3];
        pos += 4;
      } else {
        /* Partial body lengths only occur in data packets, never signatures or keys. */
        sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "partial-length packet (tag %d) refused", tag);
        return -1;
      }
    } else { /* old format */
      tag = (h >> 2) & 0x0f;
      int lt = h & 3;
      size_t nb = lt == 0 ? 1 : lt == 1 ? 2 : lt == 2 ? 4 : 0;
      if (nb == 0) {
        sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "indeterminate-length packet (tag %d) refused", tag);
        return -1;
      }
      if (len - pos < nb) goto trunc;
      for (size_t i = 0; i < nb; i++) blen = (blen << 8) | buf[pos++];
    }
    if (blen > len - pos) goto trunc;
    if (fn(arg, tag, buf + pos, blen, why, whylen) != 0) return -1;
    pos += blen;
  }
  return 0;
trunc:
  sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "truncated OpenPGP packet");
  return -1;
}

static const char *tag_name(int tag) {
  switch (tag) {
  case 4: return "one-pass signature";
  case 8: return "compressed data";
  case 11: return "literal data";
  case 18: return "encrypted data";
  case 1: return "encrypted session key";
  case 6: return "public key";
  case 5: return "secret key";
  default: return "non-signature";
  }
}

/* The purpose@swarmup notation of a packet, as found in its hashed area. */
enum { SIGP_NONE = 0, SIGP_MANIFEST = 1, SIGP_KEYS = 2, SIGP_PACKAGE = 3, SIGP_OTHER = 4 };
#define SW_PGP_PURPOSE_NAME "purpose@swarmup"
#define SW_PGP_PURPOSE_SHOW 32 /* bytes of an unknown value quoted in a reason */

/* What gpg needs to know about one signature packet to verify it inside a
 * one-pass signed message (RFC 4880 5.4): its class, algorithms and issuer;
 * and what swarmup needs to know about its purpose notation. */
struct sig_info {
  uint8_t type, pk_algo, hash_algo;
  uint8_t keyid[8];
  uint8_t fpr[20];      /* issuer fingerprint, when the hashed area names one */
  uint8_t has_fpr;
  uint8_t purpose;      /* SIGP_*: the hashed purpose notation's value */
  uint8_t n_purpose;    /* purpose notations in the hashed area (saturates) */
  uint8_t critical;     /* one of them has the subpacket's critical bit */
  uint8_t n_unhashed;   /* purpose notations in the unhashed area (saturates) */
  char other[SW_PGP_PURPOSE_SHOW + 1]; /* an unknown value, printable */
};

struct sig_scan {
  unsigned count;
  struct sig_info info[SW_PGP_SIGS_MAX];
};

/* One notation subpacket body (after the type byte): 4 flag bytes, name
 * length (2), value length (2), name, value (RFC 4880 5.2.3.16). Records a
 * purpose@swarmup notation in *si (hashed) or counts it (unhashed).
 * -1 when the lengths do not add up. */
static int scan_notation(const uint8_t *b, size_t n, struct sig_info *si, int hashed, int critical) {
  size_t nl, vl;
  const uint8_t *name, *val;
  if (n < 8) return -1;
  nl = ((size_t)b[4] << 8) | b[5];
  vl = ((size_t)b[6] << 8) | b[7];
  if (n - 8 != nl + vl) return -1;
  name = b + 8;
  val = name + nl;
  if (nl != sizeof SW_PGP_PURPOSE_NAME - 1 || memcmp(name, SW_PGP_PURPOSE_NAME, nl) != 0) return 0;
  if (!hashed) {
    if (si->n_unhashed < 255) si->n_unhashed++;
    return 0;
  }
  if (si->n_purpose < 255) si->n_purpose++;
  if (critical) si->critical = 1;
  if (vl == 8 && memcmp(val, "manifest", 8) == 0) {
    si->purpose = SIGP_MANIFEST;
  } else if (vl == 4 && memcmp(val, "keys", 4) == 0) {
    si->purpose = SIGP_KEYS;
  } else if (vl == 7 && memcmp(val, "package", 7) == 0) {
    si->purpose = SIGP_PACKAGE;
  } else {
    size_t k;
    si->purpose = SIGP_OTHER;
    /* Quoted in a one-line reason: printable ASCII only. */
    for (k = 0; k < vl && k < SW_PGP_PURPOSE_SHOW; k++)
      si->other[k] = (val[k] >= 0x20 && val[k] < 0x7f) ? (char)val[k] : '?';
    si->other[k] = '\0';
  }
  return 0;
}

/* Find the issuer key ID in one subpacket area: an Issuer Fingerprint (33,
 * v4: the ID is its last 8 bytes) or an Issuer (16) subpacket, and the
 * purpose notations (20). Returns 1 when an issuer was found, 0 when absent,
 * -1 when the area's framing is broken. hashed: the area is the hashed one,
 * the only one whose notations and issuer fingerprint are recorded as such
 * (the unhashed area is not covered by the signature). */
static int scan_subpackets(const uint8_t *a, size_t n, struct sig_info *si, int hashed) {
  size_t pos = 0;
  int found = 0;
  while (pos < n) {
    size_t slen;
    uint8_t c = a[pos++];
    if (c < 192) {
      slen = c;
    } else if (c < 255) {
      if (pos >= n) return -1;
      slen = ((size_t)(c - 192) << 8) + a[pos++] + 192;
    } else {
      if (n - pos < 4) return -1;
      slen = ((size_t)a[pos] << 24) | ((size_t)a[pos + 1] << 16) | ((size_t)a[pos + 2] << 8) | a[pos + 3];
      pos += 4;
    }
    if (slen == 0 || slen > n - pos) return -1;
    uint8_t type = a[pos] & 0x7f;
    if (type == 33 && slen == 22 && a[pos + 1] == 4) {
      memcpy(si->keyid, a + pos + 2 + 12, 8);
      if (hashed) {
        memcpy(si->fpr, a + pos + 2, 20);
        si->has_fpr = 1;
      }
      found = 1;
    } else if (type == 16 && slen == 9 && !found) {
      memcpy(si->keyid, a + pos + 1, 8);
      found = 1;
    } else if (type == 20) {
      if (scan_notation(a + pos + 1, slen - 1, si, hashed, (a[pos] & 0x80) != 0) != 0) return -1;
    }
    pos += slen;
  }
  return found;
}

static int sig_packet_cb(void *arg, int tag, const uint8_t *body, size_t blen, char *why, size_t whylen) {
  struct sig_scan *sc = arg;
  struct sig_info *si;
  size_t hashed, unhashed;
  int f;
  if (tag != 2) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
            "%s packet (tag %d) in a detached signature: only signature packets are accepted",
            tag_name(tag), tag);
    return -1;
  }
  if (blen < 2 || body[0] != 4) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "signature packet version %d is not accepted (only 4)",
            blen ? body[0] : -1);
    return -1;
  }
  if (body[1] != 0x00) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
            "signature class 0x%02x is not a binary document signature (0x00)", body[1]);
    return -1;
  }
  if (sc->count >= SW_PGP_SIGS_MAX) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "more than %u signature packets", SW_PGP_SIGS_MAX);
    return -1;
  }
  /* v4: version, class, public-key algo, hash algo, hashed area, unhashed area, ... */
  if (blen < 8) goto broken;
  hashed = ((size_t)body[4] << 8) | body[5];
  if (blen - 6 < hashed + 2) goto broken;
  unhashed = ((size_t)body[6 + hashed] << 8) | body[7 + hashed];
  if (blen - 8 - hashed < unhashed) goto broken;
  si = &sc->info[sc->count];
  /* The hashed area is covered by the signature: prefer an issuer found there. */
  memset(si, 0, sizeof *si);
  si->type = body[1];
  si->pk_algo = body[2];
  si->hash_algo = body[3];
  f = scan_subpackets(body + 6, hashed, si, 1);
  if (f >= 0) {
    /* Walk the unhashed area too: its notations are counted (for the
     * reason), and its issuer is used only when the hashed area has none. */
    struct sig_info u;
    int g;
    memset(&u, 0, sizeof u);
    g = scan_subpackets(body + 8 + hashed, unhashed, &u, 0);
    if (g < 0) f = -1;
    else {
      si->n_unhashed = u.n_unhashed;
      if (f == 0 && g == 1) {
        memcpy(si->keyid, u.keyid, 8);
        f = 1;
      }
    }
  }
  if (f < 0) goto broken;
  if (f == 0) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "signature packet names no issuer key");
    return -1;
  }
  sc->count++;
  return 0;
broken:
  sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "malformed signature packet");
  return -1;
}

static const char *purpose_value(int pp) {
  switch (pp) {
  case SIGP_MANIFEST: return "manifest";
  case SIGP_KEYS: return "keys";
  case SIGP_PACKAGE: return "package";
  default: return "?";
  }
}

/* "a manifest", "a key statement", "a package": what a purpose signs. */
static const char *purpose_what(int pp) {
  switch (pp) {
  case SIGP_MANIFEST: return "a manifest";
  case SIGP_KEYS: return "a key statement";
  case SIGP_PACKAGE: return "a package";
  default: return "an unknown";
  }
}

/* The signer as the packet names it: the hashed issuer fingerprint (what gpg
 * would print), else the 64-bit key ID. */
static void issuer_hex(const struct sig_info *si, char out[41]) {
  const uint8_t *b = si->has_fpr ? si->fpr : si->keyid;
  size_t n = si->has_fpr ? 20 : 8;
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02X", b[i]);
}

/* The purpose rule of pgp.h (sw_pgp_purpose), on our own reading of every
 * packet's hashed area: 0, or -1 with a one-line reason. Checked before gpg
 * runs; any wrong packet rejects the whole set. */
static int check_purpose(const struct sig_scan *sc, sw_pgp_purpose purpose, char *why, size_t whylen) {
  /* purpose is one of the three (verdict_init checked it). */
  int want = purpose == SW_PGP_PURPOSE_MANIFEST ? SIGP_MANIFEST
             : purpose == SW_PGP_PURPOSE_KEYS   ? SIGP_KEYS
                                                : SIGP_PACKAGE;
  for (unsigned i = 0; i < sc->count; i++) {
    const struct sig_info *si = &sc->info[i];
    char who[41];
    issuer_hex(si, who);
    if (si->n_purpose > 1) {
      sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
              "signature by key 0x%s carries %u purpose@swarmup notations (exactly one is allowed)", who,
              (unsigned)si->n_purpose);
      return -1;
    }
    if (si->critical) {
      /* gpg refuses a signature with a critical notation it does not know
       * ("bad signature"): say what is wrong instead. */
      sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
              "signature by key 0x%s marks its purpose@swarmup notation critical, which gpg refuses "
              "(make it without the leading '!')",
              who);
      return -1;
    }
    if (si->n_purpose == 0) {
      /* Packages signed by other tools carry no notation: still packages. */
      if (want == SIGP_PACKAGE) continue;
      sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
              "signature by key 0x%s has no purpose@swarmup notation%s (%s signature needs "
              "purpose@swarmup=%s)",
              who, si->n_unhashed ? " in its hashed area (one in the unhashed area does not count)" : "",
              purpose_what(want), purpose_value(want));
      return -1;
    }
    if (si->purpose == want) continue;
    if (si->purpose == SIGP_OTHER) {
      sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
              "signature by key 0x%s has purpose@swarmup=%s, not purpose@swarmup=%s", who, si->other,
              purpose_value(want));
      return -1;
    }
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
            "signature by key 0x%s is %s signature (purpose@swarmup=%s), not %s signature", who,
            purpose_what(si->purpose), purpose_value(si->purpose), purpose_what(want));
    return -1;
  }
  return 0;
}

/* gpg's own reading of the notations of one good signature must agree with
 * the rule (a second opinion on our packet scan; gpg reports the notations it
 * parsed). 0, or -1 with the reason in v->reason. */
static int check_purpose_gpg(gpgme_signature_t s, sw_pgp_purpose purpose, sw_pgp_verdict *v) {
  const char *want = purpose == SW_PGP_PURPOSE_MANIFEST ? "manifest"
                     : purpose == SW_PGP_PURPOSE_KEYS   ? "keys"
                                                        : "package";
  unsigned n = 0, good = 0;
  for (gpgme_sig_notation_t no = s->notations; no; no = no->next) {
    if (no->name == NULL || no->name_len != (int)(sizeof SW_PGP_PURPOSE_NAME - 1) ||
        memcmp(no->name, SW_PGP_PURPOSE_NAME, sizeof SW_PGP_PURPOSE_NAME - 1) != 0)
      continue;
    n++;
    if (no->value && no->value_len == (int)strlen(want) && memcmp(no->value, want, strlen(want)) == 0) good++;
  }
  if (n == 1 && good == 1) return 0;
  if (n == 0 && purpose == SW_PGP_PURPOSE_PACKAGE) return 0;
  sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason,
          "signature by key 0x%s: gpg reports %u purpose@swarmup notation%s, %u of them =%s (expected one)",
          s->fpr ? s->fpr : "?", n, n == 1 ? "" : "s", good, want);
  return -1;
}

/* Check sig bytes: only v4 binary-document signature packets, raw or armored.
 * On success returns the number of packets (>0), their binary form in *bin
 * (the caller frees it) and what gpg needs about each in *sc; else 0 with the
 * reason in why. */
static unsigned precheck_signature(const uint8_t *sig, size_t sig_len, struct sig_scan *sc, uint8_t **bin,
                                   size_t *bin_len, char *why, size_t whylen) {
  uint8_t *b = NULL;
  size_t blen = 0;
  memset(sc, 0, sizeof *sc);
  *bin = NULL;
  *bin_len = 0;
  if (sig_len == 0) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "no signature found (empty signature)");
    return 0;
  }
  if (sig_len > SW_MANIFEST_SIG_MAX) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "signature larger than %u bytes", SW_MANIFEST_SIG_MAX);
    return 0;
  }
  b = malloc(sig_len);
  if (b == NULL) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "out of memory");
    return 0;
  }
  if (sig[0] & 0x80) {
    memcpy(b, sig, sig_len);
    blen = sig_len;
  } else if (dearmor(sig, sig_len, "SIGNATURE", b, sig_len, &blen, why, whylen) != 0) {
    goto fail;
  }
  if (walk_packets(b, blen, sig_packet_cb, sc, why, whylen) != 0) goto fail;
  if (sc->count == 0) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "no signature found (empty armor block)");
    goto fail;
  }
  *bin = b;
  *bin_len = blen;
  return sc->count;
fail:
  free(b);
  sc->count = 0;
  return 0;
}
struct key_scan {
  unsigned n_public;
  unsigned n_secret;
};

static int key_packet_cb(void *arg, int tag, const uint8_t *body, size_t blen, char *why, size_t whylen) {
  struct key_scan *ks = arg;
  (void)body;
  (void)blen;
  (void)why;
  (void)whylen;
  if (tag == 5 || tag == 7) ks->n_secret++;
  if (tag == 6) ks->n_public++;
  return 0;
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

static sw_err new_ctx(sw_pgp *p, gpgme_ctx_t *out, char *msg, size_t msglen) {
  gpgme_ctx_t ctx = NULL;
  gpgme_error_t e;
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

static int pinned_index(const sw_pgp *p, const char *fpr) {
  for (size_t i = 0; i < p->n_pinned; i++)
    if (strcmp(p->pinned[i], fpr) == 0) return (int)i;
  return -1;
}

static int is_hex40(const char *s) {
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
    if (walk_packets(buf, len, key_packet_cb, &ks, why, sizeof why) != 0) {
      rc = sw_fail(SW_ERR_CONFIG, msg, msglen, "trusted key %s: %s", path, why);
      goto out;
    }
  } else {
    bin = malloc(len);
    if (bin == NULL) {
      rc = sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
      goto out;
    }
    if (dearmor(buf, len, NULL, bin, len, &blen, why, sizeof why) != 0 ||
        walk_packets(bin, blen, key_packet_cb, &ks, why, sizeof why) != 0) {
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
    if (s->result != GPG_ERR_NO_ERROR || !is_hex40(s->fpr)) continue;
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
    if (pinned_index(p, s->fpr) >= 0) continue;
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
  /* gpg puts its sockets in the home: fall back to /tmp if $TMPDIR is long. */
  if (tmp == NULL || tmp[0] != '/' || strlen(tmp) > 48) tmp = "/tmp";
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
  rc = write_conf(p->home, msg, msglen);
  if (rc != SW_OK) goto out;
  rc = new_ctx(p, ctx, msg, msglen);
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
    if (!is_hex40(f)) {
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
    if (pinned_index(p, f) < 0) memcpy(p->pinned[p->n_pinned++], f, 41);
  }
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
  if (p->home[0] != '\0') {
    kill_agents(p->home);
    nftw(p->home, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  }
  free(p);
}

size_t sw_pgp_key_count(const sw_pgp *p) { return p ? p->n_pinned : 0; }

/* ---------- verification ---------- */

static void fmt_date(long t, char out[32]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
    snprintf(out, 32, "an unknown date");
    return;
  }
  strftime(out, 32, "%Y-%m-%d", &tm);
}

static const char *hash_name(gpgme_hash_algo_t h) {
  switch (h) {
  case GPGME_MD_MD5: return "MD5";
  case GPGME_MD_SHA1: return "SHA1";
  case GPGME_MD_RMD160: return "RIPEMD160";
  default: return gpgme_hash_algo_name(h) ? gpgme_hash_algo_name(h) : "an unknown hash";
  }
}

/* Check the key behind one good signature. Returns the pinned index (>= 0),
 * or -1 with the reason in v->reason. */
static int check_signer(sw_pgp *p, gpgme_ctx_t ctx, const char *fpr, sw_pgp_verdict *v) {
  gpgme_key_t key = NULL;
  gpgme_subkey_t sk = NULL, primary = NULL;
  gpgme_error_t e;
  int idx = -1;
  char date[32];

  if (!is_hex40(fpr)) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason,
            "signature by key 0x%s: no full fingerprint reported", fpr ? fpr : "?");
    return -1;
  }
  e = gpgme_get_key(ctx, fpr, &key, 0);
  if (e || key == NULL || key->subkeys == NULL) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signature by untrusted key 0x%s", fpr);
    goto out;
  }
  primary = key->subkeys;
  for (sk = key->subkeys; sk; sk = sk->next)
    if (sk->fpr && strcmp(sk->fpr, fpr) == 0) break;
  if (sk == NULL || !is_hex40(primary->fpr) || pinned_index(p, primary->fpr) < 0) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signature by untrusted key 0x%s", fpr);
    goto out;
  }
  if (key->revoked || primary->revoked || sk->revoked) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s is revoked", fpr);
    goto out;
  }
  if (key->expired || primary->expired || sk->expired) {
    fmt_date(sk->expired ? sk->expires : primary->expires, date);
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s expired on %s", fpr, date);
    goto out;
  }
  if (key->disabled || key->invalid || primary->invalid || sk->invalid || primary->disabled || sk->disabled) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s is invalid or disabled", fpr);
    goto out;
  }
  if (!sk->can_sign) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "key 0x%s is not a signing key", fpr);
    goto out;
  }
  /* Small RSA/DSA keys are as weak as the hashes we refuse. */
  if ((sk->pubkey_algo == GPGME_PK_RSA || sk->pubkey_algo == GPGME_PK_RSA_S ||
       sk->pubkey_algo == GPGME_PK_DSA) &&
      sk->length < 2048) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s is only %u bits", fpr,
            sk->length);
    goto out;
  }
  idx = pinned_index(p, primary->fpr);
out:
  gpgme_key_unref(key);
  return idx;
}

static const gpgme_sigsum_t SW_BAD_SUMMARY =
    GPGME_SIGSUM_RED | GPGME_SIGSUM_KEY_REVOKED | GPGME_SIGSUM_KEY_EXPIRED | GPGME_SIGSUM_SIG_EXPIRED |
    GPGME_SIGSUM_KEY_MISSING | GPGME_SIGSUM_CRL_MISSING | GPGME_SIGSUM_CRL_TOO_OLD |
    GPGME_SIGSUM_BAD_POLICY | GPGME_SIGSUM_SYS_ERROR;

/* Judge one signature; 0 and *idx if it counts, -1 with v->reason if not. */
static int judge_sig(sw_pgp *p, gpgme_ctx_t ctx, gpgme_signature_t s, int *idx, sw_pgp_verdict *v) {
  const char *fpr = s->fpr ? s->fpr : "?";
  char date[32];
  gpgme_key_t key = NULL;
  long exp = 0;

  /* Hash first: a weak hash is refused whatever gpg thought of it. */
  if (s->hash_algo == GPGME_MD_MD5 || s->hash_algo == GPGME_MD_SHA1 || s->hash_algo == GPGME_MD_RMD160) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason,
            "signature by key 0x%s uses %s, which is not accepted", fpr, hash_name(s->hash_algo));
    return -1;
  }
  switch (gpg_err_code(s->status)) {
  case GPG_ERR_NO_ERROR:
    break;
  case GPG_ERR_BAD_SIGNATURE:
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "bad signature from key 0x%s", fpr);
    return -1;
  case GPG_ERR_NO_PUBKEY:
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signature by untrusted key 0x%s", fpr);
    return -1;
  case GPG_ERR_CERT_REVOKED:
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s is revoked", fpr);
    return -1;
  case GPG_ERR_KEY_EXPIRED:
    if (gpgme_get_key(ctx, fpr, &key, 0) == 0 && key) {
      for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next)
        if (sk->expired && (exp == 0 || sk->fpr == NULL || strcmp(sk->fpr, fpr) == 0)) exp = sk->expires;
      gpgme_key_unref(key);
    }
    fmt_date(exp, date);
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s expired on %s", fpr, date);
    return -1;
  case GPG_ERR_SIG_EXPIRED:
    fmt_date((long)s->exp_timestamp, date);
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signature by key 0x%s expired on %s", fpr,
            date);
    return -1;
  default:
    /* Fail closed on every status we do not know to be good. */
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signature by key 0x%s not accepted: %s", fpr,
            gpgme_strerror(s->status));
    return -1;
  }
  if (s->summary & SW_BAD_SUMMARY) {
    if (s->summary & GPGME_SIGSUM_KEY_REVOKED)
      sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s is revoked", fpr);
    else if (s->summary & GPGME_SIGSUM_KEY_EXPIRED)
      sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signing key 0x%s has expired", fpr);
    else
      sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason,
              "signature by key 0x%s not accepted (gpg summary 0x%x)", fpr, (unsigned)s->summary);
    return -1;
  }
  if (s->wrong_key_usage) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "key 0x%s is not allowed to sign", fpr);
    return -1;
  }
  *idx = check_signer(p, ctx, s->fpr, v);
  return *idx >= 0 ? 0 : -1;
}

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
 * signature packets went through precheck_signature, and the data is streamed
 * unchanged. A signature made over other bytes fails exactly as before. */

/* A literal body up to 4 GiB - 1 has one length; longer ones are cut into
 * partial-length chunks of 1 GiB. Variables only so that tests can frame small
 * data the long way (tests/test_pgp.c); nothing else changes them. */
uint64_t sw_pgp__single_max = 0xFFFFFFFFu;
unsigned sw_pgp__partial_log = 30;

struct framer {
  sw_pgp_read_fn rd;
  void *arg;
  uint64_t size;       /* data bytes the caller says it has */
  uint64_t data_done;  /* data bytes passed to gpg */
  uint64_t chunk_left; /* data bytes before the next length header */
  uint8_t head[SW_PGP_SIGS_MAX * 15 + 16];
  size_t head_len, head_pos;
  const uint8_t *tail; /* the signature packets */
  size_t tail_len, tail_pos;
  int stage; /* 0 framing bytes, 1 data, 2 signature packets, 3 end */
  int failed, short_data, piped;
};

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

static void framer_init(struct framer *f, const struct sig_scan *sc, const uint8_t *bin, size_t bin_len,
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
  n = precheck_signature(sig, sig_len, sc, &bin, &bin_len, why, whylen);
  if (n == 0) goto out;
  framer_init(f, sc, bin, bin_len, size, NULL, NULL);
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

static ssize_t framer_read(void *handle, void *buffer, size_t size) {
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

static sw_err verify_data(sw_pgp *p, sw_pgp_purpose purpose, const uint8_t *sig, size_t sig_len, uint64_t size,
                          sw_pgp_read_fn rd, void *rd_arg, unsigned threshold, sw_pgp_verdict *v) {
  sw_err rc = SW_OK;
  gpgme_ctx_t ctx = NULL;
  gpgme_data_t md = NULL;
  gpgme_error_t e;
  gpgme_verify_result_t vr = NULL;
  struct gpgme_data_cbs in_cbs;
  struct sig_scan *sc = NULL;
  struct framer *f = NULL;
  uint8_t *bin = NULL;
  size_t bin_len = 0;
  unsigned n_packets, n_sigs = 0;
  int counted[SW_PGP_MAX_KEYS] = {0};
  char emsg[SW_MSG_MAX];

  sc = malloc(sizeof *sc);
  f = malloc(sizeof *f);
  if (sc == NULL || f == NULL) {
    rc = sw_fail(SW_ERR_NOMEM, v->reason, sizeof v->reason, "out of memory");
    goto out;
  }
  n_packets = precheck_signature(sig, sig_len, sc, &bin, &bin_len, v->reason, sizeof v->reason);
  if (n_packets == 0) goto out; /* rejected before gpg */
  if (check_purpose(sc, purpose, v->reason, sizeof v->reason) != 0) goto out;
  v->reason[0] = '\0';
  rc = new_ctx(p, &ctx, emsg, sizeof emsg);
  if (rc != SW_OK) {
    sw_fail(rc, v->reason, sizeof v->reason, "%s", emsg);
    goto out;
  }
  framer_init(f, sc, bin, bin_len, size, rd, rd_arg);
  memset(&in_cbs, 0, sizeof in_cbs);
  in_cbs.read = framer_read;
  e = gpgme_data_new_from_cbs(&md, &in_cbs, f);
  /* gpgme copies the data into gpg's pipe through one buffer (4 KiB by
   * default: two polls and a write per 4 KiB), and gpgme 1.18 formats every
   * byte it writes for its trace log even with tracing off
   * (_gpgme_debug_trace() is 1; TRACE_LOGBUFX in _gpgme_io_write), the
   * largest cost in this process. 128 KiB into our 1 MiB pipe measured best
   * (docs/cpu.md): fewer polls and writes than 32 KiB, and no partial writes
   * (each of which makes gpgme memmove and re-format its buffer). */
  if (!e) e = gpgme_data_set_flag(md, "io-buffer-size", "131072");
  if (e) {
    rc = sw_fail(SW_ERR_PGP_ENGINE, v->reason, sizeof v->reason, "gpgme data: %s", gpgme_strerror(e));
    goto out;
  }
  /* No plaintext object: gpgme then runs `gpg --verify` on the message
   * instead of `--output -`, so gpg does not write the data back and gpgme
   * does not read and discard it: 0.8 CPU-seconds less per 512 MiB
   * (docs/cpu.md). gpg checks the one-pass message the same way; that it
   * read all of it is checked below (f->stage). */
  e = gpgme_op_verify(ctx, md, NULL, NULL);
  vr = gpgme_op_verify_result(ctx);
  if (f->failed) {
    rc = sw_fail(SW_ERR_IO, v->reason, sizeof v->reason, "reading the signed data failed");
    goto out;
  }
  if (f->short_data) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "the signed data ended after %llu of %llu bytes",
            (unsigned long long)f->data_done, (unsigned long long)f->size);
    goto out;
  }
  if (e) {
    switch (gpg_err_code(e)) {
    case GPG_ERR_NO_DATA:
      sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "no signature found");
      break;
    case GPG_ERR_BAD_DATA:
    case GPG_ERR_INV_PACKET:
    case GPG_ERR_BAD_SIGNATURE:
      sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "signature not accepted: %s",
              gpgme_strerror(e));
      break;
    default:
      rc = sw_fail(SW_ERR_PGP_ENGINE, v->reason, sizeof v->reason, "gpg verify failed: %s",
                   gpgme_strerror(e));
      break;
    }
    goto out;
  }
  if (f->stage != 3) {
    /* gpg stopped before the end of the message it was given. */
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "gpg did not read the whole signed data");
    goto out;
  }
  if (vr == NULL || vr->signatures == NULL) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason, "no signature found");
    goto out;
  }
  for (gpgme_signature_t s = vr->signatures; s; s = s->next) {
    int idx = -1;
    n_sigs++;
    if (judge_sig(p, ctx, s, &idx, v) != 0) goto out;
    if (check_purpose_gpg(s, purpose, v) != 0) goto out;
    if (!counted[idx]) {
      counted[idx] = 1;
      if (v->n_good < SW_THRESHOLD_MAX) memcpy(v->signer[v->n_good], p->pinned[idx], 41);
      v->n_good++;
    }
  }
  if (n_sigs != n_packets) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason,
            "gpg reported %u signatures for %u signature packets", n_sigs, n_packets);
    goto out;
  }
  if (v->n_good < threshold) {
    sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason,
            "%u distinct trusted signer%s, %u required", v->n_good, v->n_good == 1 ? "" : "s", threshold);
    goto out;
  }
  v->reason[0] = '\0';
  v->accepted = 1;
out:
  if (!v->accepted && v->reason[0] == '\0')
    snprintf(v->reason, sizeof v->reason, "signature not accepted");
  gpgme_data_release(md);
  gpgme_release(ctx);
  free(bin);
  free(f);
  free(sc);
  return rc;
}

static sw_err verdict_init(sw_pgp *p, sw_pgp_purpose purpose, const uint8_t *sig, unsigned threshold,
                           sw_pgp_verdict *v) {
  if (v == NULL) return SW_ERR_USAGE;
  memset(v, 0, sizeof *v);
  if (p == NULL || (sig == NULL))
    return sw_fail(SW_ERR_USAGE, v->reason, sizeof v->reason, "sw_pgp_verify: bad arguments");
  if (purpose != SW_PGP_PURPOSE_MANIFEST && purpose != SW_PGP_PURPOSE_KEYS && purpose != SW_PGP_PURPOSE_PACKAGE)
    return sw_fail(SW_ERR_USAGE, v->reason, sizeof v->reason, "sw_pgp_verify: unknown purpose %d",
                   (int)purpose);
  if (threshold < 1 || threshold > SW_THRESHOLD_MAX)
    return sw_fail(SW_ERR_USAGE, v->reason, sizeof v->reason, "threshold %u is not in 1..%u", threshold,
                   SW_THRESHOLD_MAX);
  return SW_OK;
}

struct mem_src {
  const uint8_t *d;
  size_t len, pos;
};

static ssize_t mem_read(void *arg, uint8_t *buf, size_t len) {
  struct mem_src *m = arg;
  size_t n = m->len - m->pos;
  if (n > len) n = len;
  if (n) memcpy(buf, m->d + m->pos, n);
  m->pos += n;
  return (ssize_t)n;
}

sw_err sw_pgp_verify_mem(sw_pgp *p, sw_pgp_purpose purpose, const uint8_t *sig, size_t sig_len,
                         const uint8_t *data, size_t data_len, unsigned threshold, sw_pgp_verdict *v) {
  sw_err rc;
  struct mem_src m = {data, data_len, 0};
  static const uint8_t empty[1] = {0};
  rc = verdict_init(p, purpose, sig ? sig : empty, threshold, v);
  if (rc != SW_OK) return rc;
  if (data == NULL && data_len > 0)
    return sw_fail(SW_ERR_USAGE, v->reason, sizeof v->reason, "sw_pgp_verify_mem: NULL data");
  return verify_data(p, purpose, sig ? sig : empty, sig ? sig_len : 0, (uint64_t)data_len, mem_read, &m,
                     threshold, v);
}

sw_err sw_pgp_verify_stream(sw_pgp *p, sw_pgp_purpose purpose, const uint8_t *sig, size_t sig_len,
                            uint64_t size, sw_pgp_read_fn rd, void *rd_arg, unsigned threshold,
                            sw_pgp_verdict *v) {
  sw_err rc;
  static const uint8_t empty[1] = {0};
  rc = verdict_init(p, purpose, sig ? sig : empty, threshold, v);
  if (rc != SW_OK) return rc;
  if (rd == NULL) return sw_fail(SW_ERR_USAGE, v->reason, sizeof v->reason, "sw_pgp_verify_stream: no reader");
  rc = verify_data(p, purpose, sig ? sig : empty, sig ? sig_len : 0, size, rd, rd_arg, threshold, v);
  if (rc != SW_OK) {
    v->accepted = 0;
    v->n_good = 0;
  }
  return rc;
}
