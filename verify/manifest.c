/* manifest.c - parser for swarmup/1 manifests (see manifest.h).
 *
 * The format is deliberately rigid: one spelling per manifest, so the bytes
 * that were signed mean one thing to every reader. Every deviation is an
 * error with a one-line reason naming the line; nothing is normalised. */
#include "manifest.h"
#include "verify_int.h"

#include <stdio.h>
#include <string.h>

/* How much of an untrusted value an error message quotes. */
#define MF_QUOTE_MAX SW__QUOTE_MAX

enum mf_field {
  MF_FORMAT,
  MF_PRODUCT,
  MF_CHANNEL,
  MF_VERSION,
  MF_SEQUENCE,
  MF_DATE,
  MF_EXPIRES,
  MF_FILE,
  MF_SIZE,
  MF_SHA256,
  MF_MAGNET,
  MF_FALLBACK,
  MF_SIGNATURE,
  MF_TORRENT,
  MF__COUNT
};

static const struct {
  const char *name;
  int required;
} mf_fields[MF__COUNT] = {
    [MF_FORMAT] = {"Format", 1},     [MF_PRODUCT] = {"Product", 1},   [MF_CHANNEL] = {"Channel", 1},
    [MF_VERSION] = {"Version", 1},   [MF_SEQUENCE] = {"Sequence", 1}, [MF_DATE] = {"Date", 1},
    [MF_EXPIRES] = {"Expires", 1},   [MF_FILE] = {"File", 1},         [MF_SIZE] = {"Size", 1},
    [MF_SHA256] = {"SHA256", 1},     [MF_MAGNET] = {"Magnet", 1},     [MF_FALLBACK] = {"Fallback", 1},
    [MF_SIGNATURE] = {"Signature", 1}, [MF_TORRENT] = {"Torrent", 0},
};

void sw__quote(char out[SW__QUOTE_MAX + 4], const uint8_t *s, size_t len) {
  size_t n = len < SW__QUOTE_MAX ? len : SW__QUOTE_MAX;
  size_t i;
  for (i = 0; i < n; i++) out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? (char)s[i] : '?';
  if (len > n) {
    memcpy(out + i, "...", 3);
    i += 3;
  }
  out[i] = '\0';
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
int sw__utf8_ok(const uint8_t *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (len - i - 1 < n) return 0;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return 0;
      cp = cp << 6 | (s[i + k] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += n + 1;
  }
  return 1;
}

int sw_manifest_name_ok(const char *s, size_t len) {
  if (s == NULL || len == 0 || len > SW_PRODUCT_MAX) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return 0;
  }
  return 1;
}

int sw_manifest_file_ok(const char *s, size_t len) {
  if (s == NULL || len == 0 || len > SW_FILE_MAX) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    /* The first byte alphanumeric rules out ".", "..", ".hidden" and "-option". */
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '+' && c != '-'))) return 0;
  }
  return 1;
}

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (H. Hinnant's
 * days_from_civil). Our own arithmetic: timegm/mktime depend on TZ or are not POSIX. */
static int64_t mf_days_from_civil(int64_t y, unsigned m, unsigned d) {
  int64_t era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void mf_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  int64_t era;
  unsigned doe, yoe, doy, mp;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = (unsigned)(z - era * 146097);
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int mf_digits(const char *s, size_t n, unsigned *out) {
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return 1;
}

sw_err sw_manifest_parse_time(const char *s, size_t len, int64_t *out) {
  static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  unsigned y, mo, d, h, mi, se, dim;
  if (out) *out = 0;
  if (s == NULL || out == NULL || len != 20) return SW_ERR_MANIFEST_SYNTAX;
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
    return SW_ERR_MANIFEST_SYNTAX;
  if (!mf_digits(s, 4, &y) || !mf_digits(s + 5, 2, &mo) || !mf_digits(s + 8, 2, &d) ||
      !mf_digits(s + 11, 2, &h) || !mf_digits(s + 14, 2, &mi) || !mf_digits(s + 17, 2, &se))
    return SW_ERR_MANIFEST_SYNTAX;
  if (mo < 1 || mo > 12 || d < 1) return SW_ERR_MANIFEST_SYNTAX;
  dim = mdays[mo - 1];
  if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) dim = 29;
  /* Seconds 60 (leap seconds) are refused: the epoch arithmetic cannot represent them. */
  if (d > dim || h > 23 || mi > 59 || se > 59) return SW_ERR_MANIFEST_SYNTAX;
  *out = mf_days_from_civil((int64_t)y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + se;
  return SW_OK;
}

void sw_manifest_format_time(int64_t t, char out[21]) {
  /* Display only: clamp to the years the format can spell so the output always fits. */
  const int64_t tmin = mf_days_from_civil(0, 1, 1) * 86400;
  const int64_t tmax = mf_days_from_civil(9999, 12, 31) * 86400 + 86399;
  int64_t days, secs, y;
  unsigned m, d;
  if (t < tmin) t = tmin;
  if (t > tmax) t = tmax;
  days = t / 86400;
  secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    days--;
  }
  mf_civil_from_days(days, &y, &m, &d);
  /* Every field is in range here (y 0..9999, m 1..12, d 1..31, secs < 86400);
   * the modulos only tell the compiler so, for its truncation warning. */
  snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y % 10000u, m % 100u, d % 100u,
           (unsigned)(secs / 3600) % 100u, (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
}

int sw__parse_u64(const uint8_t *s, size_t len, uint64_t *out) {
  uint64_t v = 0;
  if (len == 0) return 1;
  for (size_t i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9') return 1;
  if (len > 1 && s[0] == '0') return 2;
  for (size_t i = 0; i < len; i++) {
    unsigned dgt = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - dgt) / 10) return 3;
    v = v * 10 + dgt;
  }
  *out = v;
  return 0;
}

static sw_err mf_u64_field(const char *name, const uint8_t *v, size_t vl, unsigned line, uint64_t *out,
                           char *msg, size_t msglen) {
  char q[MF_QUOTE_MAX + 4];
  int r = sw__parse_u64(v, vl, out);
  sw__quote(q, v, vl);
  if (r == 1)
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: %s \"%s\" is not a decimal number", line,
                   name, q);
  if (r == 2)
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: %s \"%s\" has a leading zero", line, name,
                   q);
  if (r == 3)
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: %s \"%s\" overflows 64 bits", line, name,
                   q);
  if (*out == 0)
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: %s must be at least 1", line, name);
  return SW_OK;
}

static int mf_prefix_ci(const uint8_t *s, size_t len, const char *prefix) {
  size_t i;
  for (i = 0; prefix[i]; i++) {
    uint8_t c;
    if (i >= len) return 0;
    c = s[i];
    if (c >= 'A' && c <= 'Z') c = (uint8_t)(c - 'A' + 'a');
    if (c != (uint8_t)prefix[i]) return 0;
  }
  return 1;
}

/* One https:// URL: ASCII 0x21..0x7e, <= SW_URL_MAX, non-empty host. what is
 * "Fallback URL 2" or "Torrent URL" for the message. */
static sw_err mf_https_url(const uint8_t *u, size_t ul, const char *what, unsigned line, char *msg,
                           size_t msglen) {
  const uint8_t *auth, *end, *host;
  size_t hl;
  if (ul > SW_URL_MAX)
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: %s is %zu bytes, over the %u-byte limit",
                   line, what, ul, (unsigned)SW_URL_MAX);
  for (size_t i = 0; i < ul; i++)
    if (u[i] <= 0x20 || u[i] >= 0x7f)
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: %s contains a space or non-ASCII byte",
                     line, what);
  if (!mf_prefix_ci(u, ul, "https://"))
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: %s is not https://", line, what);
  auth = u + 8;
  end = auth;
  while (end < u + ul && *end != '/' && *end != '?' && *end != '#') end++;
  /* host = authority without userinfo and port */
  host = auth;
  for (const uint8_t *p = auth; p < end; p++)
    if (*p == '@') host = p + 1;
  if (host < end && *host == '[') {
    const uint8_t *rb = memchr(host, ']', (size_t)(end - host));
    hl = rb ? (size_t)(rb - host - 1) : 0;
  } else {
    const uint8_t *colon = memchr(host, ':', (size_t)(end - host));
    hl = (size_t)((colon ? colon : end) - host);
  }
  if (hl == 0) return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: %s has no host", line, what);
  return SW_OK;
}

static int mf_b64val(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int sw__b64_decode(const uint8_t *v, size_t vl, uint8_t *out, size_t cap, size_t *out_len, size_t *bad_at) {
  size_t pad = 0, dlen, o = 0;
  *out_len = 0;
  *bad_at = 0;
  if (vl % 4 != 0) return SW__B64_LENGTH;
  if (vl == 0) return SW__B64_OK;
  if (v[vl - 1] == '=') pad = v[vl - 2] == '=' ? 2 : 1;
  dlen = vl / 4 * 3 - pad;
  *out_len = dlen;
  if (dlen > cap) return SW__B64_TOO_BIG;
  for (size_t i = 0; i < vl; i += 4) {
    int a = mf_b64val(v[i]), b = mf_b64val(v[i + 1]), c = 0, d = 0;
    int last = i + 4 == vl;
    uint32_t w;
    if (last && pad >= 1 && v[i + 3] == '=') d = 0;
    else d = mf_b64val(v[i + 3]);
    if (last && pad == 2) c = 0;
    else c = mf_b64val(v[i + 2]);
    if (a < 0 || b < 0 || c < 0 || d < 0) {
      *out_len = 0;
      *bad_at = i;
      return SW__B64_BAD_CHAR;
    }
    w = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
    if (last && ((pad == 2 && (w & 0xffff)) || (pad == 1 && (w & 0xff)))) {
      *out_len = 0;
      return SW__B64_NOT_CANONICAL;
    }
    out[o++] = (uint8_t)(w >> 16);
    if (!(last && pad == 2)) out[o++] = (uint8_t)(w >> 8);
    if (!(last && pad >= 1)) out[o++] = (uint8_t)w;
  }
  *out_len = o;
  return SW__B64_OK;
}

static sw_err mf_signature(const uint8_t *v, size_t vl, unsigned line, sw_manifest *out, char *msg,
                           size_t msglen) {
  size_t o = 0, bad = 0;
  switch (sw__b64_decode(v, vl, out->signature, SW_PKG_SIG_MAX, &o, &bad)) {
  case SW__B64_LENGTH:
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                   "line %u: Signature is not base64 (length %zu is not a multiple of 4)", line, vl);
  case SW__B64_TOO_BIG:
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                   "line %u: Signature decodes to %zu bytes, over the %u-byte limit", line, o,
                   (unsigned)SW_PKG_SIG_MAX);
  case SW__B64_BAD_CHAR:
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                   "line %u: Signature is not base64 (bad character near offset %zu)", line, bad);
  case SW__B64_NOT_CANONICAL:
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                   "line %u: Signature is not canonical base64 (non-zero padding bits)", line);
  default:
    break;
  }
  out->signature_len = o;
  if (o == 0) return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: Signature is empty", line);
  /* Packet tag 2 (signature): old format 0b10 0010 xx, new format 0b11 000010. */
  if (!((out->signature[0] >= 0x88 && out->signature[0] <= 0x8b) || out->signature[0] == 0xc2))
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                   "line %u: Signature is not an OpenPGP signature packet (first byte 0x%02x)", line,
                   out->signature[0]);
  return SW_OK;
}

static sw_err mf_fallback(const uint8_t *v, size_t vl, unsigned line, sw_manifest *out, char *msg,
                          size_t msglen) {
  size_t pos = 0;
  for (;;) {
    const uint8_t *sp = memchr(v + pos, ' ', vl - pos);
    size_t ul = sp ? (size_t)(sp - (v + pos)) : vl - pos;
    char what[32];
    sw_err rc;
    if (out->n_fallback >= SW_FALLBACK_MAX)
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: Fallback has more than %u URLs", line,
                     (unsigned)SW_FALLBACK_MAX);
    snprintf(what, sizeof what, "Fallback URL %zu", out->n_fallback + 1);
    if (ul == 0)
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: %s is empty (URLs are separated by one space)",
                     line, what);
    rc = mf_https_url(v + pos, ul, what, line, msg, msglen);
    if (rc != SW_OK) return rc;
    memcpy(out->fallback[out->n_fallback], v + pos, ul);
    out->fallback[out->n_fallback][ul] = '\0';
    out->n_fallback++;
    if (sp == NULL) break;
    pos += ul + 1;
  }
  return SW_OK;
}

/* Check one known field's value and store it in out. */
static sw_err mf_field(enum mf_field f, const uint8_t *v, size_t vl, unsigned line, sw_manifest *out,
                       char *msg, size_t msglen) {
  char q[MF_QUOTE_MAX + 4];
  const char *name = mf_fields[f].name;
  sw_err rc = SW_OK;
  int64_t t = 0;

  switch (f) {
  case MF_FORMAT:
    if (vl != 9 || memcmp(v, "swarmup/1", 9) != 0) {
      sw__quote(q, v, vl);
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: unsupported Format \"%s\" (want swarmup/1)",
                     line, q);
    }
    return SW_OK;
  case MF_PRODUCT:
  case MF_CHANNEL:
    if (!sw_manifest_name_ok((const char *)v, vl)) {
      sw__quote(q, v, vl);
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                     "line %u: %s \"%s\" is not a valid name ([a-z0-9][a-z0-9._-]{0,63})", line, name, q);
    }
    memcpy(f == MF_PRODUCT ? out->product : out->channel, v, vl);
    return SW_OK;
  case MF_VERSION:
    /* The line checks already guarantee printable ASCII without edge spaces. */
    if (vl > SW_VERSION_MAX)
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: Version is %zu bytes, over the %u-byte limit",
                     line, vl, (unsigned)SW_VERSION_MAX);
    memcpy(out->version, v, vl);
    return SW_OK;
  case MF_SEQUENCE:
    return mf_u64_field(name, v, vl, line, &out->sequence, msg, msglen);
  case MF_SIZE:
    return mf_u64_field(name, v, vl, line, &out->size, msg, msglen);
  case MF_DATE:
  case MF_EXPIRES:
    if (sw_manifest_parse_time((const char *)v, vl, &t) != SW_OK) {
      sw__quote(q, v, vl);
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                     "line %u: %s \"%s\" is not a valid YYYY-MM-DDTHH:MM:SSZ UTC time", line, name, q);
    }
    *(f == MF_DATE ? &out->date : &out->expires) = t;
    return SW_OK;
  case MF_FILE:
    if (!sw_manifest_file_ok((const char *)v, vl)) {
      sw__quote(q, v, vl);
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                     "line %u: File \"%s\" is not a plain file name ([A-Za-z0-9][A-Za-z0-9._+-]{0,254})", line,
                     q);
    }
    memcpy(out->file, v, vl);
    return SW_OK;
  case MF_SHA256:
    if (vl != 64)
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: SHA256 must be 64 lowercase hex digits, got %zu bytes",
                     line, vl);
    for (size_t i = 0; i < 32; i++) {
      int hi = -1, lo = -1;
      uint8_t a = v[2 * i], b = v[2 * i + 1];
      if (a >= '0' && a <= '9') hi = a - '0';
      else if (a >= 'a' && a <= 'f') hi = a - 'a' + 10;
      if (b >= '0' && b <= '9') lo = b - '0';
      else if (b >= 'a' && b <= 'f') lo = b - 'a' + 10;
      if (hi < 0 || lo < 0)
        return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: SHA256 must be 64 lowercase hex digits",
                       line);
      out->sha256[i] = (uint8_t)(hi << 4 | lo);
    }
    return SW_OK;
  case MF_MAGNET: {
    char sub[SW_MSG_MAX];
    sub[0] = '\0';
    memcpy(out->magnet_uri, v, vl); /* vl < SW_MANIFEST_LINE_MAX: the line limit holds it */
    rc = sw_magnet_parse(v, vl, &out->magnet, sub, sizeof sub);
    if (rc != SW_OK) return sw_fail(rc, msg, msglen, "line %u: Magnet: %s", line, sub);
    return SW_OK;
  }
  case MF_FALLBACK:
    return mf_fallback(v, vl, line, out, msg, msglen);
  case MF_SIGNATURE:
    return mf_signature(v, vl, line, out, msg, msglen);
  case MF_TORRENT:
    rc = mf_https_url(v, vl, "Torrent URL", line, msg, msglen);
    if (rc != SW_OK) return rc;
    memcpy(out->torrent_url, v, vl);
    return SW_OK;
  case MF__COUNT:
    break;
  }
  return sw_fail(SW_ERR_INTERNAL, msg, msglen, "line %u: internal error: field %d", line, (int)f);
}

/* Check one line (without its LF) and dispatch it. */
static sw_err mf_line(const uint8_t *l, size_t ll, unsigned line, sw_manifest *out, int seen[MF__COUNT],
                      unsigned line_of[MF__COUNT], char *msg, size_t msglen) {
  char q[MF_QUOTE_MAX + 4];
  const uint8_t *colon = NULL, *v = NULL;
  size_t nl, vl;
  int f;

  for (size_t i = 0; i < ll; i++) {
    uint8_t c = l[i];
    if (c == 0)
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: NUL byte at column %zu", line, i + 1);
    if (c == '\r')
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                     "line %u: carriage return at column %zu (line ends must be LF only)", line, i + 1);
    if (c < 0x20 || c == 0x7f)
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: control character 0x%02x at column %zu",
                     line, c, i + 1);
  }
  if (ll == 0) return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: empty line", line);
  colon = memchr(l, ':', ll);
  if (colon == NULL) {
    sw__quote(q, l, ll);
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: \"%s\" is not a \"Field: value\" line", line, q);
  }
  nl = (size_t)(colon - l);
  if (nl == 0) return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: empty field name", line);
  sw__quote(q, l, nl);
  for (size_t i = 0; i < nl; i++) {
    uint8_t c = l[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: bad field name \"%s\"", line, q);
  }
  if (nl + 1 >= ll || l[nl + 1] != ' ')
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: field %s: expected one space after ':'", line,
                   q);
  v = l + nl + 2;
  vl = ll - nl - 2;
  if (vl == 0) return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: field %s has an empty value", line, q);
  if (v[0] == ' ')
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: field %s: more than one space after ':'", line,
                   q);
  if (v[vl - 1] == ' ')
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: field %s has trailing space", line, q);
  if (nl > 2 && l[0] == 'X' && l[1] == '-') {
    /* Extension fields are for humans and tools; signed but ignored here. */
    if (!sw__utf8_ok(v, vl))
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: field %s is not valid UTF-8", line, q);
    return SW_OK;
  }
  for (size_t i = 0; i < vl; i++)
    if (v[i] >= 0x80)
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: field %s has a non-ASCII byte", line, q);
  for (f = 0; f < MF__COUNT; f++)
    if (strlen(mf_fields[f].name) == nl && memcmp(mf_fields[f].name, l, nl) == 0) break;
  if (f == MF__COUNT) return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: unknown field %s", line, q);
  if (seen[f])
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: duplicate field %s (first on line %u)", line,
                   mf_fields[f].name, line_of[f]);
  seen[f] = 1;
  line_of[f] = line;
  return mf_field((enum mf_field)f, v, vl, line, out, msg, msglen);
}

sw_err sw_manifest_parse(const uint8_t *buf, size_t len, sw_manifest *out, char *msg, size_t msglen) {
  int seen[MF__COUNT] = {0};
  unsigned line_of[MF__COUNT] = {0};
  unsigned line = 0;
  size_t pos = 0;
  sw_err rc = SW_OK;

  if (msg && msglen) msg[0] = '\0';
  if (out == NULL) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "sw_manifest_parse: no output");
  memset(out, 0, sizeof *out);
  if (buf == NULL && len > 0) {
    rc = sw_fail(SW_ERR_INTERNAL, msg, msglen, "sw_manifest_parse: no input");
    goto out;
  }
  if (len > SW_MANIFEST_MAX) {
    rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "manifest is %zu bytes, over the %u-byte limit", len,
                 (unsigned)SW_MANIFEST_MAX);
    goto out;
  }
  if (len == 0) {
    rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "manifest is empty");
    goto out;
  }
  while (pos < len) {
    const uint8_t *l = buf + pos;
    size_t rest = len - pos;
    /* Look one byte past the limit: a line of exactly SW_MANIFEST_LINE_MAX has its LF there. */
    size_t scan = rest < SW_MANIFEST_LINE_MAX + 1 ? rest : SW_MANIFEST_LINE_MAX + 1;
    const uint8_t *lf = memchr(l, '\n', scan);
    line++;
    if (lf == NULL) {
      if (rest > SW_MANIFEST_LINE_MAX)
        rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: longer than %u bytes", line,
                     (unsigned)SW_MANIFEST_LINE_MAX);
      else
        rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: does not end in LF (missing final newline)",
                     line);
      goto out;
    }
    rc = mf_line(l, (size_t)(lf - l), line, out, seen, line_of, msg, msglen);
    if (rc != SW_OK) goto out;
    pos += (size_t)(lf - l) + 1;
  }
  for (int f = 0; f < MF__COUNT; f++) {
    if (mf_fields[f].required && !seen[f]) {
      rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "missing field %s", mf_fields[f].name);
      goto out;
    }
  }
  if (out->expires <= out->date) {
    char d[21], e[21];
    sw_manifest_format_time(out->date, d);
    sw_manifest_format_time(out->expires, e);
    rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "line %u: Expires %s is not after Date %s",
                 line_of[MF_EXPIRES], e, d);
    goto out;
  }
out:
  /* Nothing that looks valid survives an error. */
  if (rc != SW_OK) memset(out, 0, sizeof *out);
  return rc;
}
