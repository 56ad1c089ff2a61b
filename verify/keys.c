/* keys.c - parser for swarmup-keys/1 key statements (see keys.h, docs/keys.md).
 *
 * Same rigidity as the manifest parser (manifest.c), whose line rules, number,
 * time, name and base64 checks it shares: one spelling per statement, every
 * deviation an error naming its line, nothing normalised except the hex case
 * of fingerprints (gpg prints upper case, people paste either). The signature
 * checks (keychain.c) rely on this file for everything syntactic, e.g. that no
 * fingerprint is both a current key and a next key. */
#include "keys.h"

#include <stdio.h>
#include <string.h>

#include "manifest.h"
#include "verify_int.h"

enum ks_field {
  KS_FORMAT,
  KS_PRODUCT,
  KS_VERSION,
  KS_DATE,
  KS_EXPIRES,
  KS_THRESHOLD,
  KS_KEY,
  KS_NEXT,
  KS_NEXT_THRESHOLD,
  KS_SEQUENCE_FLOOR,
  KS_KEYRING,
  KS__COUNT
};

/* required: exactly once; multi: may repeat (Key, Next); else at most once. */
static const struct {
  const char *name;
  int required;
  int multi;
} ks_fields[KS__COUNT] = {
    [KS_FORMAT] = {"Format", 1, 0},
    [KS_PRODUCT] = {"Product", 1, 0},
    [KS_VERSION] = {"Version", 1, 0},
    [KS_DATE] = {"Date", 1, 0},
    [KS_EXPIRES] = {"Expires", 1, 0},
    [KS_THRESHOLD] = {"Threshold", 1, 0},
    [KS_KEY] = {"Key", 0, 1},
    [KS_NEXT] = {"Next", 0, 1},
    [KS_NEXT_THRESHOLD] = {"Next-Threshold", 0, 0},
    [KS_SEQUENCE_FLOOR] = {"Sequence-Floor", 0, 0},
    [KS_KEYRING] = {"Keyring", 1, 0},
};

#define KS_FORMAT_VALUE "swarmup-keys/1"

int sw_keys_has(const char (*list)[41], size_t n, const char *fpr) {
  if (list == NULL || fpr == NULL) return 0;
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i], fpr) == 0) return 1;
  return 0;
}

/* A strict decimal number (sw__parse_u64) with its own messages; min is the
 * smallest value allowed (0 or 1). */
static sw_err ks_u64(const char *name, const uint8_t *v, size_t vl, unsigned line, uint64_t min, uint64_t *out,
                     char *msg, size_t msglen) {
  char q[SW__QUOTE_MAX + 4];
  int r = sw__parse_u64(v, vl, out);
  sw__quote(q, v, vl);
  if (r == 1)
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: %s \"%s\" is not a decimal number", line, name, q);
  if (r == 2)
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: %s \"%s\" has a leading zero", line, name, q);
  if (r == 3)
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: %s \"%s\" overflows 64 bits", line, name, q);
  if (*out < min)
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: %s must be at least %llu", line, name,
                   (unsigned long long)min);
  return SW_OK;
}

/* Threshold and Next-Threshold: 1..SW_THRESHOLD_MAX (the upper bound against
 * the key count is checked once every line has been read). */
static sw_err ks_threshold(const char *name, const uint8_t *v, size_t vl, unsigned line, unsigned *out, char *msg,
                           size_t msglen) {
  uint64_t t = 0;
  sw_err rc = ks_u64(name, v, vl, line, 1, &t, msg, msglen);
  if (rc != SW_OK) return rc;
  if (t > SW_THRESHOLD_MAX)
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: %s %llu is over the limit of %u", line, name,
                   (unsigned long long)t, (unsigned)SW_THRESHOLD_MAX);
  *out = (unsigned)t;
  return SW_OK;
}

/* Key and Next: a v4 fingerprint, 40 hex digits in either case, kept in
 * upper case; distinct within its list and absent from the other list. */
static sw_err ks_fpr(enum ks_field f, const uint8_t *v, size_t vl, unsigned line, sw_keys *out, char *msg,
                     size_t msglen) {
  const char *name = ks_fields[f].name;
  char (*list)[41] = f == KS_KEY ? out->key : out->next;
  size_t *n = f == KS_KEY ? &out->n_key : &out->n_next;
  char fpr[41];
  char q[SW__QUOTE_MAX + 4];

  if (vl != 40) {
    sw__quote(q, v, vl);
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen,
                   "line %u: %s \"%s\" is not a fingerprint (40 hex digits, no spaces), got %zu bytes", line, name, q,
                   vl);
  }
  for (size_t i = 0; i < 40; i++) {
    uint8_t c = v[i];
    if (c >= 'a' && c <= 'f') c = (uint8_t)(c - 'a' + 'A');
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
      sw__quote(q, v, vl);
      return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen,
                     "line %u: %s \"%s\" is not a fingerprint (non-hex character at column %zu of the value)", line,
                     name, q, i + 1);
    }
    fpr[i] = (char)c;
  }
  fpr[40] = '\0';
  if (sw_keys_has((const char(*)[41])list, *n, fpr))
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: duplicate %s %s", line, name, fpr);
  if (f == KS_KEY ? sw_keys_has((const char(*)[41])out->next, out->n_next, fpr)
                  : sw_keys_has((const char(*)[41])out->key, out->n_key, fpr))
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen,
                   "line %u: %s is in both Key and Next (the next key must be a different key, kept apart from "
                   "the current ones)",
                   line, fpr);
  if (*n >= SW_KEYS_FPR_MAX)
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: more than %u %s lines", line,
                   (unsigned)SW_KEYS_FPR_MAX, name);
  memcpy(list[*n], fpr, 41);
  (*n)++;
  return SW_OK;
}

/* Sequence-Floor: CHANNEL=N pairs separated by one space, distinct channels. */
static sw_err ks_floor(const uint8_t *v, size_t vl, unsigned line, sw_keys *out, char *msg, size_t msglen) {
  char q[SW__QUOTE_MAX + 4];
  size_t pos = 0;
  for (;;) {
    const uint8_t *sp = memchr(v + pos, ' ', vl - pos);
    const uint8_t *p = v + pos;
    size_t pl = sp ? (size_t)(sp - p) : vl - pos;
    const uint8_t *eq = memchr(p, '=', pl);
    size_t cl;
    sw_keys_floor *fl;
    sw_err rc;

    if (pl == 0)
      return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen,
                     "line %u: Sequence-Floor has an empty entry (entries are separated by one space)", line);
    sw__quote(q, p, pl);
    if (eq == NULL)
      return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: Sequence-Floor entry \"%s\" is not CHANNEL=N",
                     line, q);
    cl = (size_t)(eq - p);
    if (!sw_manifest_name_ok((const char *)p, cl)) {
      sw__quote(q, p, cl);
      return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen,
                     "line %u: Sequence-Floor channel \"%s\" is not a valid name ([a-z0-9][a-z0-9._-]{0,63})", line,
                     q);
    }
    for (size_t i = 0; i < out->n_floor; i++)
      if (strlen(out->floor[i].channel) == cl && memcmp(out->floor[i].channel, p, cl) == 0)
        return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: Sequence-Floor names channel %s twice", line,
                       out->floor[i].channel);
    if (out->n_floor >= SW_KEYS_FLOOR_MAX)
      return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: Sequence-Floor has more than %u entries", line,
                     (unsigned)SW_KEYS_FLOOR_MAX);
    fl = &out->floor[out->n_floor];
    /* 0 is allowed: a floor of 0 lets every sequence of that channel in again. */
    rc = ks_u64("Sequence-Floor value", eq + 1, pl - cl - 1, line, 0, &fl->sequence, msg, msglen);
    if (rc != SW_OK) return rc;
    memcpy(fl->channel, p, cl);
    fl->channel[cl] = '\0';
    out->n_floor++;
    if (sp == NULL) break;
    pos += pl + 1;
  }
  return SW_OK;
}

static sw_err ks_keyring(const uint8_t *v, size_t vl, unsigned line, sw_keys *out, char *msg, size_t msglen) {
  size_t o = 0, bad = 0;
  switch (sw__b64_decode(v, vl, out->keyring, SW_KEYS_KEYRING_MAX, &o, &bad)) {
  case SW__B64_LENGTH:
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen,
                   "line %u: Keyring is not base64 (length %zu is not a multiple of 4; padding is required)", line,
                   vl);
  case SW__B64_TOO_BIG:
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: Keyring decodes to %zu bytes, over the %u-byte limit",
                   line, o, (unsigned)SW_KEYS_KEYRING_MAX);
  case SW__B64_BAD_CHAR:
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: Keyring is not base64 (bad character near offset %zu)",
                   line, bad);
  case SW__B64_NOT_CANONICAL:
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen,
                   "line %u: Keyring is not canonical base64 (non-zero padding bits)", line);
  default:
    break;
  }
  out->keyring_len = o;
  if (o == 0) return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: Keyring is empty", line);
  /* Every OpenPGP packet header has bit 7 set; the full check is gpg's, at import. */
  if (!(out->keyring[0] & 0x80))
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen,
                   "line %u: Keyring is not binary OpenPGP (first byte 0x%02x; use gpg --export, not --armor)", line,
                   out->keyring[0]);
  return SW_OK;
}

/* Check one known field's value and store it in out. */
static sw_err ks_field(enum ks_field f, const uint8_t *v, size_t vl, unsigned line, sw_keys *out, char *msg,
                       size_t msglen) {
  char q[SW__QUOTE_MAX + 4];
  const char *name = ks_fields[f].name;
  int64_t t = 0;

  switch (f) {
  case KS_FORMAT:
    if (vl != strlen(KS_FORMAT_VALUE) || memcmp(v, KS_FORMAT_VALUE, vl) != 0) {
      sw__quote(q, v, vl);
      return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: unsupported Format \"%s\" (want " KS_FORMAT_VALUE ")",
                     line, q);
    }
    return SW_OK;
  case KS_PRODUCT:
    if (!sw_manifest_name_ok((const char *)v, vl)) {
      sw__quote(q, v, vl);
      return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen,
                     "line %u: Product \"%s\" is not a valid name ([a-z0-9][a-z0-9._-]{0,63})", line, q);
    }
    memcpy(out->product, v, vl);
    out->product[vl] = '\0';
    return SW_OK;
  case KS_VERSION:
    return ks_u64(name, v, vl, line, 1, &out->version, msg, msglen);
  case KS_DATE:
  case KS_EXPIRES:
    if (sw_manifest_parse_time((const char *)v, vl, &t) != SW_OK) {
      sw__quote(q, v, vl);
      return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: %s \"%s\" is not a valid YYYY-MM-DDTHH:MM:SSZ UTC time",
                     line, name, q);
    }
    *(f == KS_DATE ? &out->date : &out->expires) = t;
    return SW_OK;
  case KS_THRESHOLD:
    return ks_threshold(name, v, vl, line, &out->threshold, msg, msglen);
  case KS_NEXT_THRESHOLD:
    return ks_threshold(name, v, vl, line, &out->next_threshold, msg, msglen);
  case KS_KEY:
  case KS_NEXT:
    return ks_fpr(f, v, vl, line, out, msg, msglen);
  case KS_SEQUENCE_FLOOR:
    return ks_floor(v, vl, line, out, msg, msglen);
  case KS_KEYRING:
    return ks_keyring(v, vl, line, out, msg, msglen);
  case KS__COUNT:
    break;
  }
  return sw_fail(SW_ERR_INTERNAL, msg, msglen, "line %u: internal error: field %d", line, (int)f);
}

/* Check one line (without its LF) and dispatch it: the manifest's line rules. */
static sw_err ks_line(const uint8_t *l, size_t ll, unsigned line, sw_keys *out, int seen[KS__COUNT],
                      unsigned line_of[KS__COUNT], char *msg, size_t msglen) {
  char q[SW__QUOTE_MAX + 4];
  const uint8_t *colon = NULL, *v = NULL;
  size_t nl, vl;
  int f;

  for (size_t i = 0; i < ll; i++) {
    uint8_t c = l[i];
    if (c == 0) return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: NUL byte at column %zu", line, i + 1);
    if (c == '\r')
      return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen,
                     "line %u: carriage return at column %zu (line ends must be LF only)", line, i + 1);
    if (c < 0x20 || c == 0x7f)
      return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: control character 0x%02x at column %zu", line, c,
                     i + 1);
  }
  if (ll == 0) return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: empty line", line);
  colon = memchr(l, ':', ll);
  if (colon == NULL) {
    sw__quote(q, l, ll);
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: \"%s\" is not a \"Field: value\" line", line, q);
  }
  nl = (size_t)(colon - l);
  if (nl == 0) return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: empty field name", line);
  sw__quote(q, l, nl);
  for (size_t i = 0; i < nl; i++) {
    uint8_t c = l[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: bad field name \"%s\"", line, q);
  }
  if (nl + 1 >= ll || l[nl + 1] != ' ')
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: field %s: expected one space after ':'", line, q);
  v = l + nl + 2;
  vl = ll - nl - 2;
  if (vl == 0) return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: field %s has an empty value", line, q);
  if (v[0] == ' ')
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: field %s: more than one space after ':'", line, q);
  if (v[vl - 1] == ' ')
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: field %s has trailing space", line, q);
  /* The format line comes first, so a reader knows what it reads before anything else. */
  if (line == 1 && !(nl == 6 && memcmp(l, "Format", 6) == 0))
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen,
                   "line 1: the first line must be \"Format: " KS_FORMAT_VALUE "\", not field %s", q);
  if (nl > 2 && l[0] == 'X' && l[1] == '-') {
    /* Extension fields are for humans and tools; signed but ignored here. */
    if (!sw__utf8_ok(v, vl))
      return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: field %s is not valid UTF-8", line, q);
    return SW_OK;
  }
  for (size_t i = 0; i < vl; i++)
    if (v[i] >= 0x80)
      return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: field %s has a non-ASCII byte", line, q);
  for (f = 0; f < KS__COUNT; f++)
    if (strlen(ks_fields[f].name) == nl && memcmp(ks_fields[f].name, l, nl) == 0) break;
  if (f == KS__COUNT) return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: unknown field %s", line, q);
  if (seen[f] && !ks_fields[f].multi)
    return sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: duplicate field %s (first on line %u)", line,
                   ks_fields[f].name, line_of[f]);
  if (!seen[f]) line_of[f] = line;
  seen[f] = 1;
  return ks_field((enum ks_field)f, v, vl, line, out, msg, msglen);
}

sw_err sw_keys_parse(const uint8_t *buf, size_t len, sw_keys *out, char *msg, size_t msglen) {
  int seen[KS__COUNT] = {0};
  unsigned line_of[KS__COUNT] = {0};
  unsigned line = 0;
  size_t pos = 0;
  sw_err rc = SW_OK;

  if (msg && msglen) msg[0] = '\0';
  if (out == NULL) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "sw_keys_parse: no output");
  memset(out, 0, sizeof *out);
  if (buf == NULL && len > 0) {
    rc = sw_fail(SW_ERR_INTERNAL, msg, msglen, "sw_keys_parse: no input");
    goto out;
  }
  if (len > SW_KEYS_STMT_MAX) {
    rc = sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "key statement is %zu bytes, over the %u-byte limit", len,
                 (unsigned)SW_KEYS_STMT_MAX);
    goto out;
  }
  if (len == 0) {
    rc = sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "key statement is empty");
    goto out;
  }
  while (pos < len) {
    const uint8_t *l = buf + pos;
    size_t rest = len - pos;
    /* Look one byte past the limit: a line of exactly SW_KEYS_LINE_MAX has its LF there. */
    size_t scan = rest < SW_KEYS_LINE_MAX + 1 ? rest : SW_KEYS_LINE_MAX + 1;
    const uint8_t *lf = memchr(l, '\n', scan);
    line++;
    if (lf == NULL) {
      if (rest > SW_KEYS_LINE_MAX)
        rc = sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: longer than %u bytes", line,
                     (unsigned)SW_KEYS_LINE_MAX);
      else
        rc = sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: does not end in LF (missing final newline)", line);
      goto out;
    }
    rc = ks_line(l, (size_t)(lf - l), line, out, seen, line_of, msg, msglen);
    if (rc != SW_OK) goto out;
    pos += (size_t)(lf - l) + 1;
  }
  for (int f = 0; f < KS__COUNT; f++) {
    if (ks_fields[f].required && !seen[f]) {
      rc = sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "missing field %s", ks_fields[f].name);
      goto out;
    }
  }
  if (out->expires <= out->date) {
    char d[21], e[21];
    sw_manifest_format_time(out->date, d);
    sw_manifest_format_time(out->expires, e);
    rc = sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: Expires %s is not after Date %s", line_of[KS_EXPIRES], e,
                 d);
    goto out;
  }
  /* No Key is the "rotate to null" statement: Threshold then only has to be in range. */
  if (out->n_key > 0 && out->threshold > out->n_key) {
    rc = sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: Threshold %u is more than the %zu Key lines",
                 line_of[KS_THRESHOLD], out->threshold, out->n_key);
    goto out;
  }
  if (out->n_next > 0 && !seen[KS_NEXT_THRESHOLD]) {
    rc = sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "missing field Next-Threshold (required when Next is present)");
    goto out;
  }
  if (out->n_next == 0 && seen[KS_NEXT_THRESHOLD]) {
    rc = sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: Next-Threshold without any Next line",
                 line_of[KS_NEXT_THRESHOLD]);
    goto out;
  }
  if (out->next_threshold > out->n_next) {
    rc = sw_fail(SW_ERR_KEYS_SYNTAX, msg, msglen, "line %u: Next-Threshold %u is more than the %zu Next lines",
                 line_of[KS_NEXT_THRESHOLD], out->next_threshold, out->n_next);
    goto out;
  }
out:
  /* Nothing that looks valid survives an error. */
  if (rc != SW_OK) memset(out, 0, sizeof *out);
  return rc;
}
