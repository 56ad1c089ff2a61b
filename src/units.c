#include "units.h"

#include <string.h>
#include <strings.h>

static int sw__digit(char c) { return c >= '0' && c <= '9'; }

static int sw__refuse(const char **why, const char *reason) {
  *why = reason;
  return -1;
}

/* The multiplier of suffix suf[0..n) for kind; 0 if it is not one of ours. */
static uint64_t sw__suffix(const char *suf, size_t n, sw_units_kind kind) {
  static const struct { const char *s; uint64_t m; } bytes[] = {
      {"b", 1},           {"k", 1ull << 10},   {"kb", 1ull << 10}, {"kib", 1ull << 10},
      {"m", 1ull << 20},  {"mb", 1ull << 20},  {"mib", 1ull << 20}, {"g", 1ull << 30},
      {"gb", 1ull << 30}, {"gib", 1ull << 30}, {"t", 1ull << 40},   {"tb", 1ull << 40},
      {"tib", 1ull << 40},
  };
  static const struct { const char *s; uint64_t m; } secs[] = {{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  if (kind == SW_UNITS_BYTES) {
    /* A rate may say so: 10M/s. */
    if (n >= 2 && suf[n - 2] == '/' && (suf[n - 1] == 's' || suf[n - 1] == 'S')) n -= 2;
    for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++)
      if (strlen(bytes[i].s) == n && strncasecmp(suf, bytes[i].s, n) == 0) return bytes[i].m;
    return 0;
  }
  /* Durations are case-sensitive: "M" could be read as months. */
  for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++)
    if (strlen(secs[i].s) == n && strncmp(suf, secs[i].s, n) == 0) return secs[i].m;
  return 0;
}

int sw_units_parse(const char *s, size_t len, sw_units_kind kind, uint64_t plain_unit, uint64_t *out,
                   const char **why) {
  uint64_t ip = 0, frac = 0, fden = 1, mult = 0, v = 0, fv = 0;
  size_t i = 0;
  int fdigits = 0, has_point = 0;
  if (len == 0) return sw__refuse(why, "empty");
  if (len > SW_UNITS_TEXT_MAX) return sw__refuse(why, "too long");
  if (s[0] == '-') return sw__refuse(why, "negative");
  if (!sw__digit(s[0])) return sw__refuse(why, "not a number");
  for (; i < len && sw__digit(s[i]); i++) {
    uint64_t d = (uint64_t)(s[i] - '0');
    if (ip > (UINT64_MAX - d) / 10) return sw__refuse(why, "too large");
    ip = ip * 10 + d;
  }
  if (i < len && s[i] == '.') {
    has_point = 1;
    for (i++; i < len && sw__digit(s[i]); i++) {
      if (fdigits == 9) return sw__refuse(why, "more than 9 decimals");
      frac = frac * 10 + (uint64_t)(s[i] - '0');
      fden *= 10;
      fdigits++;
    }
    if (fdigits == 0) return sw__refuse(why, "not a number");
  }
  if (i == len) {
    mult = plain_unit;
    /* 1.5 bytes or seconds means nothing; 1.5 KiB/s (plain unit 1024) does. */
    if (has_point && plain_unit == 1) return sw__refuse(why, "a fraction needs a unit");
  } else {
    mult = sw__suffix(s + i, len - i, kind);
    if (mult == 0) return sw__refuse(why, "unknown unit");
  }
  if (mult == 0) return sw__refuse(why, "unknown unit");
  if (ip > UINT64_MAX / mult) return sw__refuse(why, "too large");
  v = ip * mult;
  /* frac/fden of mult, without overflow: mult = q*fden + r. */
  fv = (mult / fden) * frac + (mult % fden) * frac / fden;
  if (v > UINT64_MAX - fv) return sw__refuse(why, "too large");
  *out = v + fv;
  return 0;
}

const char *sw_units_hint(sw_units_kind kind) {
  if (kind == SW_UNITS_BYTES) return "a number with an optional B, K, M, G or T (K = 1024): 512K, 10M, 1.5G";
  return "seconds, or a number with s, m, h or d: 90s, 5m, 1.5h, 2d";
}
