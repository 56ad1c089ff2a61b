/* pubkeys_opt.c - the command line of `swarmup-publish keys` (pubkeys.h):
 * which option each subcommand takes, and the values checked the same way
 * for all of them (fingerprints, counts, days). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pubkeys.h"
#include "pubutil.h"

int sw__pub_keys_parse_args(int cmd, int argc, char **argv, sw__pub_keys_opts *o) {
  static const struct {
    const char *name;
    int cmds;
    size_t off;
  } strs[] = {
#define S(n, c, f) {n, c, offsetof(sw__pub_keys_opts, f)}
      S("product", SW__PUB_KEYS_INIT, product),
      S("homedir", SW__PUB_KEYS_INIT | SW__PUB_KEYS_ROTATE | SW__PUB_KEYS_SIGN, homedir),
      S("from", SW__PUB_KEYS_ROTATE, from),
      S("out", SW__PUB_KEYS_INIT | SW__PUB_KEYS_ROTATE, out),
      S("draft", SW__PUB_KEYS_SIGN, draft),
      S("expires-days", SW__PUB_KEYS_INIT | SW__PUB_KEYS_ROTATE, expires_days),
      S("threshold", SW__PUB_KEYS_INIT | SW__PUB_KEYS_ROTATE, threshold),
      S("next-threshold", SW__PUB_KEYS_INIT | SW__PUB_KEYS_ROTATE, next_threshold),
#undef S
  };
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char **list = NULL;
    size_t *n = NULL, cap = SW_KEYS_FPR_MAX;
    int done = 0, allowed = 0;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      o->help = 1;
      continue;
    }
    if (!strcmp(a, "--yes") && cmd == SW__PUB_KEYS_SIGN) {
      o->yes = 1;
      continue;
    }
    if (strncmp(a, "--", 2) != 0) return sw__pub_die(2, "unexpected argument \"%.60s\"", a);
    for (size_t k = 0; k < sizeof strs / sizeof strs[0] && !done; k++) {
      if (strcmp(a + 2, strs[k].name) != 0) continue;
      if (!(strs[k].cmds & cmd)) break;
      if (i + 1 >= argc) return sw__pub_die(2, "%s needs a value", a);
      *(const char **)((char *)o + strs[k].off) = argv[++i];
      done = 1;
    }
    if (done) continue;
    if (!strcmp(a, "--key"))
      list = o->key, n = &o->n_key, allowed = SW__PUB_KEYS_INIT | SW__PUB_KEYS_ROTATE | SW__PUB_KEYS_SIGN;
    else if (!strcmp(a, "--next")) list = o->next, n = &o->n_next, allowed = SW__PUB_KEYS_INIT | SW__PUB_KEYS_ROTATE;
    else if (!strcmp(a, "--drop")) list = o->drop, n = &o->n_drop, allowed = SW__PUB_KEYS_ROTATE;
    else if (!strcmp(a, "--sequence-floor"))
      list = o->floor, n = &o->n_floor, allowed = SW__PUB_KEYS_ROTATE, cap = SW_KEYS_FLOOR_MAX;
    if (list == NULL || !(allowed & cmd))
      return sw__pub_die(2, "unknown option %.60s for this command (see --help)", a);
    if (i + 1 >= argc) return sw__pub_die(2, "%s needs a value", a);
    if (*n >= cap) return sw__pub_die(2, "too many %s (at most %zu)", a, cap);
    list[(*n)++] = argv[++i];
  }
  return 0;
}

/* A v4 primary fingerprint as given on the command line: 40 hex digits in
 * either case (gpg prints upper case; the statement keeps upper case). */
int sw__pub_keys_fpr_norm(const char *in, char out[41]) {
  size_t i;
  for (i = 0; i < 40; i++) {
    char c = in[i];
    if (c >= 'a' && c <= 'f') c = (char)(c - 'a' + 'A');
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return -1;
    out[i] = c;
  }
  out[40] = 0;
  return in[40] == 0 ? 0 : -1;
}

/* Append the fingerprint arg to list (distinct); what names the option in messages. */
int sw__pub_keys_add_fpr(char (*list)[41], size_t *n, const char *arg, const char *what) {
  char f[41];
  if (sw__pub_keys_fpr_norm(arg, f) != 0)
    return sw__pub_die(2, "%s \"%.60s\" is not a 40-hex OpenPGP v4 fingerprint (see gpg --list-keys --with-colons)",
                       what, arg);
  if (sw_keys_has(list, *n, f)) return sw__pub_die(2, "%s %s given twice", what, f);
  if (*n >= SW_KEYS_FPR_MAX) return sw__pub_die(2, "too many %s (at most %u)", what, SW_KEYS_FPR_MAX);
  memcpy(list[(*n)++], f, 41);
  return 0;
}

int sw__pub_keys_count(const char *s, const char *what, unsigned *out) {
  char *end = NULL;
  unsigned long v;
  errno = 0;
  v = strtoul(s, &end, 10);
  if (errno || end == s || *end || s[0] < '1' || s[0] > '9' || v > SW_THRESHOLD_MAX)
    return sw__pub_die(2, "%s must be 1..%u", what, SW_THRESHOLD_MAX);
  *out = (unsigned)v;
  return 0;
}

int sw__pub_keys_days(const char *s, int64_t *out) {
  char *end = NULL;
  unsigned long v;
  if (s == NULL) return sw__pub_die(2, "--expires-days D is required (statements always expire; re-sign before then)");
  errno = 0;
  v = strtoul(s, &end, 10);
  if (errno || end == s || *end || s[0] < '1' || s[0] > '9' || v > 3650)
    return sw__pub_die(2, "--expires-days must be 1..3650");
  *out = (int64_t)v * 86400;
  return 0;
}
