#include "opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fsutil.h"
#include "sw_limits.h"
#include "units.h"

enum sw_opt_kind { SW_OPT_STR, SW_OPT_LIST, SW_OPT_U64, SW_OPT_BOOL, SW_OPT_RATIO };

struct sw_opt_def {
  const char *name;
  enum sw_opt_kind kind;
  size_t off;      /* offset of the field in sw_opts */
  size_t count_off; /* lists: offset of the count */
  unsigned cmds;
  const char *metavar;
  const char *help;
  uint64_t max;    /* numbers: largest value accepted */
};

#define OFF(f) offsetof(sw_opts, f)
#define ALL (SW_CMD_CHECK | SW_CMD_VERIFY | SW_CMD_FETCH | SW_CMD_SEED)
#define MANIFEST_CMDS ALL

static const struct sw_opt_def sw__opts[] = {
    {"config", SW_OPT_STR, OFF(config), 0, ALL, "FILE", "read options from FILE (key = value lines); flags override it", 0},
    {"manifest", SW_OPT_STR, OFF(manifest), 0, MANIFEST_CMDS, "SRC", "the manifest: a path or an https:// URL", 0},
    {"manifest-sig", SW_OPT_STR, OFF(manifest_sig), 0, MANIFEST_CMDS, "SRC", "its detached signature (default: SRC.sig)", 0},
    {"trusted-key", SW_OPT_LIST, OFF(trusted_key), OFF(n_trusted_key), MANIFEST_CMDS, "FILE", "the publisher's offline public key (armored or binary); repeatable", 0},
    {"trusted-keys", SW_OPT_STR, OFF(trusted_keys), 0, MANIFEST_CMDS, "FILE", "the publisher's key statement shipped with the application (swarmup(1), --trusted-keys); FILE.sig beside it must verify; replaces --trusted-key and --threshold", 0},
    {"keys-url", SW_OPT_STR, OFF(keys_url), 0, MANIFEST_CMDS, "BASE", "where newer key statements are published (https:// URL or a directory holding N.keys and N.keys.sig); followed before each manifest check, with --trusted-keys", 0},
    {"product", SW_OPT_STR, OFF(product), 0, MANIFEST_CMDS | SW_CMD_STATUS, "NAME", "the product the manifest must name", 0},
    {"channel", SW_OPT_STR, OFF(channel), 0, MANIFEST_CMDS | SW_CMD_STATUS, "NAME", "the channel the manifest must name (default: stable)", 0},
    {"state-dir", SW_OPT_STR, OFF(state_dir), 0, SW_CMD_CHECK | SW_CMD_FETCH | SW_CMD_SEED | SW_CMD_STATUS, "DIR", "state directory (default: /var/lib/swarmup as root, else $XDG_STATE_HOME/swarmup)", 0},
    {"ca-file", SW_OPT_STR, OFF(ca_file), 0, ALL, "FILE", "PEM CA bundle for https:// sources (default: the system store)", 0},
    {"threshold", SW_OPT_U64, OFF(threshold), 0, MANIFEST_CMDS, "N", "good signatures needed from distinct trusted keys (default: 1)", SW_THRESHOLD_MAX},
    {"max-clock-skew", SW_OPT_U64, OFF(max_clock_skew), 0, SW_CMD_CHECK | SW_CMD_FETCH | SW_CMD_SEED | SW_CMD_STATUS, "SEC", "how far a manifest's Date may be in the future, and our clock behind the latest known time (default: 3600)", 315360000},
    {"max-validity", SW_OPT_U64, OFF(max_validity), 0, SW_CMD_CHECK | SW_CMD_FETCH | SW_CMD_SEED | SW_CMD_STATUS, "SEC", "refuse a manifest more than SEC seconds after its Date, even before its Expires (default: 0, Expires alone)", 315360000},
    {"json", SW_OPT_BOOL, OFF(json), 0, ALL | SW_CMD_STATUS, NULL, "print JSON (one object per line) instead of text", 0},
    {"quiet", SW_OPT_BOOL, OFF(quiet), 0, ALL, NULL, "-q: print only warnings and errors (check: the exit status is the answer)", 0},
    {"verbose", SW_OPT_BOOL, OFF(verbose), 0, ALL, NULL, "-v: say more (signers, hashes, the state dir)", 0},
    {"out", SW_OPT_STR, OFF(out), 0, SW_CMD_FETCH, "DIR", "install the verified file into DIR (created if missing; it must be owned by you or root and not writable by group or others)", 0},
    {"no-fallback", SW_OPT_BOOL, OFF(no_fallback), 0, SW_CMD_FETCH, NULL, "swarm only: never download over HTTPS", 0},
    {"no-swarm", SW_OPT_BOOL, OFF(no_swarm), 0, SW_CMD_FETCH, NULL, "HTTPS only: never open a BitTorrent socket", 0},
    {"copy", SW_OPT_BOOL, OFF(copy), 0, SW_CMD_FETCH, NULL, "install an independent copy of the verified file; by default, where --out is on the state dir's file system, the installed file is a hard link to the store's copy (the one seeded), which saves writing it twice", 0},
    {"exec", SW_OPT_STR, OFF(exec), 0, SW_CMD_FETCH, "CMD", "after installing, run CMD with the installed file's path as its argument (via /bin/sh); the verified file is open read-only on fd 3 ($SWARMUP_FILE_FD), with $SWARMUP_FILE and $SWARMUP_SHA256 set", 0},
    {"low-speed-limit", SW_OPT_U64, OFF(low_speed_limit), 0, SW_CMD_FETCH, "BYTES", "HTTPS: abort a transfer slower than BYTES/s for --low-speed-time, then try the next URL (default: 10240)", 1ull << 40},
    {"low-speed-time", SW_OPT_U64, OFF(low_speed_time), 0, SW_CMD_FETCH, "SEC", "see --low-speed-limit (default: 20)", 3600},
    {"https-retries", SW_OPT_U64, OFF(https_retries), 0, SW_CMD_FETCH, "N", "HTTPS: tries per Fallback URL for transient errors, with backoff (default: 2)", 10},
    {"min-rate", SW_OPT_U64, OFF(min_rate), 0, SW_CMD_FETCH, "BYTES", "HTTPS: a transfer must end within 10 s + --low-speed-time + its size at BYTES/s, else the next URL (default: 65536)", 1ull << 40},
    {"seed-time", SW_OPT_U64, OFF(seed_time), 0, SW_CMD_FETCH, "SEC", "after installing, seed for SEC seconds (default: 600; 0: don't seed)", 31536000},
    {"seed-ratio", SW_OPT_RATIO, OFF(seed_ratio), 0, SW_CMD_FETCH, "R", "... or until R copies were uploaded (default: 2.0; 0: no ratio limit)", 0},
    {"upload-limit", SW_OPT_U64, OFF(upload_limit), 0, SW_CMD_FETCH | SW_CMD_SEED, "KIB/S", "upload rate limit (default: 0, unlimited)", 2097151},
    {"download-limit", SW_OPT_U64, OFF(download_limit), 0, SW_CMD_FETCH | SW_CMD_SEED, "KIB/S", "download rate limit (default: 0, unlimited)", 2097151},
    {"listen", SW_OPT_STR, OFF(listen), 0, SW_CMD_FETCH | SW_CMD_SEED, "PORT|ADDR:PORT", "BitTorrent listen port or interfaces (default: 6881 on all interfaces; 0: any free port)", 0},
    {"no-dht", SW_OPT_BOOL, OFF(no_dht), 0, SW_CMD_FETCH | SW_CMD_SEED, NULL, "don't use the DHT (peers then come from trackers and x.pe only)", 0},
    {"no-dht-bootstrap", SW_OPT_BOOL, OFF(no_dht_bootstrap), 0, SW_CMD_FETCH | SW_CMD_SEED, NULL, "DHT on, but without libtorrent's public bootstrap router (dht.libtorrent.org:25401): nodes then come only from peers", 0},
    {"no-lsd", SW_OPT_BOOL, OFF(no_lsd), 0, SW_CMD_FETCH | SW_CMD_SEED, NULL, "don't use local service discovery (multicast on the LAN)", 0},
    {"no-utp", SW_OPT_BOOL, OFF(no_utp), 0, SW_CMD_FETCH | SW_CMD_SEED, NULL, "TCP only, no uTP (uTP is much slower over loopback)", 0},
    {"upnp", SW_OPT_BOOL, OFF(upnp), 0, SW_CMD_FETCH | SW_CMD_SEED, NULL, "ask the router for a port mapping with UPnP (default: off)", 0},
    {"natpmp", SW_OPT_BOOL, OFF(natpmp), 0, SW_CMD_FETCH | SW_CMD_SEED, NULL, "ask the router for a port mapping with NAT-PMP (default: off)", 0},
    {"encryption", SW_OPT_STR, OFF(encryption), 0, SW_CMD_FETCH | SW_CMD_SEED, "POLICY", "peer connection encryption: enabled (default), forced or disabled", 0},
    {"http-delay", SW_OPT_U64, OFF(http_delay), 0, SW_CMD_FETCH, "SEC", "the swarm's head start: HTTPS joins after SEC seconds unless the swarm will finish within them; at once (after 1 s) if no peer connected. The origin serves only the pieces the swarm has not delivered, from the end of the file backwards (default: 3)", 86400},
    {"prefer-swarm", SW_OPT_BOOL, OFF(prefer_swarm), 0, SW_CMD_FETCH, NULL, "background installs: spare the origin. The swarm alone for at least 30 s (or --http-delay), even with no peer; then HTTPS only if the swarm would not finish within 10 minutes. Slower when the swarm is slow or blocked; the origin serves little or nothing", 0},
    {"swarm-timeout", SW_OPT_U64, OFF(swarm_timeout), 0, SW_CMD_FETCH, "SEC", "switch to HTTPS if the swarm gives no metadata or no peer within SEC (default: 15)", 86400},
    {"stall-timeout", SW_OPT_U64, OFF(stall_timeout), 0, SW_CMD_FETCH, "SEC", "switch to HTTPS when the swarm delivered less than --stall-rate on average over the last SEC seconds (default: 20)", 86400},
    {"stall-rate", SW_OPT_U64, OFF(stall_rate), 0, SW_CMD_FETCH, "BYTES", "see --stall-timeout: the swarm's lowest acceptable rate in bytes/s (default: 16384; 0: any progress is enough)", 1ull << 40},
    {"poll", SW_OPT_U64, OFF(poll), 0, SW_CMD_SEED, "SEC", "check every manifest again every SEC seconds (default: 300)", 604800},
    {"keep", SW_OPT_U64, OFF(keep), 0, SW_CMD_SEED, "N", "keep and seed the last N releases of each product (default: 3)", 1000},
    {"from", SW_OPT_STR, OFF(from), 0, SW_CMD_SEED, "FILE|DIR", "adopt this local copy of the release instead of downloading it (it must pass the gate); a DIR (the --out of a `swarmup fetch`): the release's File in it", 0},
    {"super-seed", SW_OPT_BOOL, OFF(super_seed), 0, SW_CMD_SEED, NULL, "super-seed (BEP 16): offer each peer one piece at a time, so that peers pass pieces on; for a publisher's first seed: it sends about one copy, the first installs take longer", 0},
    {"no-progress", SW_OPT_BOOL, OFF(no_progress), 0, SW_CMD_FETCH | SW_CMD_SEED, NULL, "no progress line, even on a terminal", 0},
};
#define SW_NOPTS (sizeof sw__opts / sizeof sw__opts[0])

struct sw__str {
  struct sw__str *next;
  char s[];
};

static const char *sw__keep(sw_opts *o, const char *s, size_t n) {
  struct sw__str *k = malloc(sizeof *k + n + 1);
  if (k == NULL) return NULL;
  memcpy(k->s, s, n);
  k->s[n] = 0;
  k->next = o->strings;
  o->strings = k;
  return k->s;
}

void sw_opts_free(sw_opts *o) {
  struct sw__str *k;
  if (o == NULL) return;
  k = o->strings;
  while (k) {
    struct sw__str *next = k->next;
    free(k);
    k = next;
  }
  o->strings = NULL;
  free(o->args);
  o->args = NULL;
  o->n_args = 0;
}

static const struct sw_opt_def *sw__find(const char *name, size_t n) {
  for (size_t i = 0; i < SW_NOPTS; i++)
    if (strlen(sw__opts[i].name) == n && memcmp(sw__opts[i].name, name, n) == 0) return &sw__opts[i];
  return NULL;
}

static int sw__parse_bool(const char *v, int *out) {
  if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) *out = 1;
  else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0")) *out = 0;
  else return -1;
  return 0;
}

static int sw__parse_u64(const char *v, uint64_t max, uint64_t *out) {
  uint64_t x = 0;
  if (*v == 0) return -1;
  for (const char *p = v; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    if (x > (max - (uint64_t)(*p - '0')) / 10) return -1;
    x = x * 10 + (uint64_t)(*p - '0');
  }
  *out = x;
  return 0;
}

/* The unit a number option counts in, named by its metavar (what --help shows):
 * SEC takes durations, BYTES sizes and rates in bytes (per second), KIB/S rates
 * counted in KiB/s. Returns 0 for a plain count (N). */
static int sw__unit(const struct sw_opt_def *d, sw_units_kind *kind, uint64_t *plain) {
  if (d->metavar == NULL) return 0;
  if (!strcmp(d->metavar, "SEC")) *kind = SW_UNITS_SECONDS, *plain = 1;
  else if (!strcmp(d->metavar, "BYTES")) *kind = SW_UNITS_BYTES, *plain = 1;
  else if (!strcmp(d->metavar, "KIB/S")) *kind = SW_UNITS_BYTES, *plain = 1024;
  else return 0;
  return 1;
}

/* value for number option d into *out (in d's unit), or a config error. */
static sw_err sw__parse_number(const struct sw_opt_def *d, const char *value, const char *where, uint64_t *out,
                               char *msg, size_t msglen) {
  sw_units_kind kind = SW_UNITS_BYTES;
  uint64_t plain = 1, v = 0;
  const char *why = NULL;
  if (!sw__unit(d, &kind, &plain)) {
    if (sw__parse_u64(value, d->max, out) != 0)
      return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: %s must be a whole number from 0 to %llu, not \"%.40s\"",
                     where, d->name, (unsigned long long)d->max, value);
    return SW_OK;
  }
  /* A flag's where is "--NAME" already; a config line's names the file and line. */
  const char *name = strncmp(where, "--", 2) ? d->name : "";
  if (sw_units_parse(value, strlen(value), kind, plain, &v, &why) != 0)
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: %s%s\"%.40s\": %s (%s)", where, name, *name ? " " : "", value,
                   why, sw_units_hint(kind));
  /* Counted in KiB/s: round up, so that a small limit never becomes 0 (unlimited). */
  if (plain > 1) v = v / plain + (v % plain != 0);
  if (v > d->max)
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: %s%s\"%.40s\" is over the limit of %llu%s", where, name,
                   *name ? " " : "", value,
                   (unsigned long long)d->max,
                   kind == SW_UNITS_SECONDS ? " s" : plain > 1 ? " KiB/s" : " bytes");
  *out = v;
  return SW_OK;
}

/* Apply one option; value is NUL-terminated and owned by o or argv. from_flag
 * tells flags (which override) from config lines. */
static sw_err sw__apply(sw_opts *o, const struct sw_opt_def *d, const char *value, int from_flag,
                        const char *where, char *msg, size_t msglen) {
  size_t idx = (size_t)(d - sw__opts);
  char *base = (char *)o;
  switch (d->kind) {
  case SW_OPT_STR:
    if (!from_flag && o->set_by_config[idx])
      return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: %s given twice", where, d->name);
    if (*value == 0) return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: %s needs a value", where, d->name);
    *(const char **)(base + d->off) = value;
    break;
  case SW_OPT_LIST: {
    size_t *count = (size_t *)(base + d->count_off);
    const char **list = (const char **)(base + d->off);
    if (from_flag && !o->set_by_flag[idx]) *count = 0; /* flags replace the file's list */
    if (*value == 0) return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: %s needs a value", where, d->name);
    if (*count >= SW_LIST_MAX)
      return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: more than %u %s values", where, SW_LIST_MAX, d->name);
    list[(*count)++] = value;
    break;
  }
  case SW_OPT_U64: {
    uint64_t v = 0;
    if (!from_flag && o->set_by_config[idx])
      return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: %s given twice", where, d->name);
    sw_err perr = sw__parse_number(d, value, where, &v, msg, msglen);
    if (perr) return perr;
    *(uint64_t *)(base + d->off) = v;
    break;
  }
  case SW_OPT_RATIO: {
    /* A small decimal: digits, optional point and up to 3 decimals, at most 1000. */
    double v = 0, scale = 1;
    int seen_point = 0, digits = 0, decimals = 0;
    if (!from_flag && o->set_by_config[idx])
      return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: %s given twice", where, d->name);
    for (const char *p = value; *p; p++) {
      if (*p == '.' && !seen_point) { seen_point = 1; continue; }
      if (*p < '0' || *p > '9' || digits > 4 || decimals >= 3) { digits = -1; break; }
      if (seen_point) { scale /= 10; v += (*p - '0') * scale; decimals++; }
      else { v = v * 10 + (*p - '0'); digits++; }
    }
    if (digits < 0 || (digits == 0 && decimals == 0) || v > 1000)
      return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: %s must be a number like 1.5 (0 to 1000), not \"%.40s\"",
                     where, d->name, value);
    *(double *)(base + d->off) = v;
    break;
  }
  case SW_OPT_BOOL: {
    int v = 0;
    if (!from_flag && o->set_by_config[idx])
      return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: %s given twice", where, d->name);
    if (sw__parse_bool(value, &v) != 0)
      return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: %s must be true or false, not \"%.40s\"", where,
                     d->name, value);
    *(int *)(base + d->off) = v;
    break;
  }
  }
  if (from_flag) o->set_by_flag[idx] = 1;
  else o->set_by_config[idx] = 1;
  return SW_OK;
}

static int sw__blank(char c) { return c == ' ' || c == '\t'; }

sw_err sw_opts_parse_config(enum sw_cmd cmd, const char *name, const uint8_t *buf, size_t len,
                            sw_opts *o, char *msg, size_t msglen) {
  size_t pos = 0, line = 0;
  char where[300];
  if (len > SW_CONFIG_MAX)
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "config %s is over the %u-byte limit", name, SW_CONFIG_MAX);
  while (pos < len) {
    const uint8_t *nl = memchr(buf + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - buf) : len, a = pos, b = end, eq;
    const struct sw_opt_def *d = NULL;
    const char *value = NULL;
    line++;
    snprintf(where, sizeof where, "config %s line %zu", name, line);
    pos = nl ? end + 1 : len;
    if (b - a > SW_CONFIG_LINE_MAX) return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: line too long", where);
    for (size_t i = a; i < b; i++)
      if ((buf[i] < 0x20 && buf[i] != '\t') || buf[i] == 0x7f)
        return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: control character", where);
    while (a < b && sw__blank((char)buf[a])) a++;
    while (b > a && sw__blank((char)buf[b - 1])) b--;
    if (a == b || buf[a] == '#') continue;
    if (buf[a] == '[') break; /* product sections: read by swarmup seed */
    for (eq = a; eq < b && buf[eq] != '='; eq++) {}
    if (eq == b) return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: expected key = value", where);
    {
      size_t ke = eq, vs = eq + 1;
      while (ke > a && sw__blank((char)buf[ke - 1])) ke--;
      while (vs < b && sw__blank((char)buf[vs])) vs++;
      d = sw__find((const char *)buf + a, ke - a);
      if (d == NULL)
        return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: unknown key \"%.*s\"", where,
                       (int)((ke - a) > 40 ? 40 : (ke - a)), (const char *)buf + a);
      if (d->kind == SW_OPT_STR && !strcmp(d->name, "config"))
        return sw_fail(SW_ERR_CONFIG, msg, msglen, "%s: a config file cannot name another", where);
      value = sw__keep(o, (const char *)buf + vs, b - vs);
      if (value == NULL) return sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
    }
    /* A shared config may hold options of other commands: they are not errors here. */
    if (!(d->cmds & (unsigned)cmd)) continue;
    sw_err err = sw__apply(o, d, value, 0, where, msg, msglen);
    if (err) return err;
  }
  return SW_OK;
}

void sw_opts_defaults(sw_opts *o) {
  memset(o, 0, sizeof *o);
  o->threshold = 1;
  o->max_clock_skew = 3600;
  o->channel = "stable";
  o->seed_time = 600;
  o->seed_ratio = 2.0;
  o->swarm_timeout = 15;
  o->http_delay = 3;
  o->stall_timeout = 20;
  o->encryption = "enabled";
  o->poll = 300;
  o->low_speed_limit = 10240;
  o->low_speed_time = 20;
  o->https_retries = 2;
  o->min_rate = 65536;
  o->stall_rate = 16384;
  o->keep = 3;
}

sw_err sw_opts_parse(enum sw_cmd cmd, int argc, char **argv, sw_opts *o, char *msg, size_t msglen) {
  sw_err err = SW_OK;
  sw_opts_defaults(o);
  o->args = calloc((size_t)argc + 1, sizeof *o->args);
  if (o->args == NULL) return sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");

  /* The config file first, so that flags override it wherever they stand. */
  for (int i = 0; i < argc; i++) {
    const char *path = NULL;
    if (!strcmp(argv[i], "--")) break;
    if (!strcmp(argv[i], "--config")) {
      if (i + 1 >= argc) return sw_fail(SW_ERR_USAGE, msg, msglen, "--config needs a value");
      path = argv[i + 1];
    } else if (!strncmp(argv[i], "--config=", 9)) {
      path = argv[i] + 9;
    }
    if (path) {
      uint8_t *buf = NULL;
      size_t len = 0;
      err = sw_fs_read_file(path, SW_CONFIG_MAX, SW_ERR_CONFIG, &buf, &len, msg, msglen);
      if (err) return err == SW_ERR_IO ? SW_ERR_CONFIG : err;
      err = sw_opts_parse_config(cmd, path, buf, len, o, msg, msglen);
      free(buf);
      if (err) return err;
      o->config = path;
    }
  }

  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i], *eqp, *value = NULL;
    const struct sw_opt_def *d;
    size_t nlen;
    char where[96];
    if (!strcmp(arg, "--")) {
      for (i++; i < argc; i++) o->args[o->n_args++] = argv[i];
      break;
    }
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
      o->help = 1;
      continue;
    }
    /* The short forms people type, as for apt, curl and grep. */
    if (!strcmp(arg, "-q")) arg = "--quiet";
    else if (!strcmp(arg, "-v")) arg = "--verbose";
    if (strncmp(arg, "--", 2) != 0 || arg[2] == 0) {
      if (arg[0] == '-' && arg[1] != 0)
        return sw_fail(SW_ERR_USAGE, msg, msglen, "unknown option %.60s (see --help)", arg);
      o->args[o->n_args++] = argv[i];
      continue;
    }
    eqp = strchr(arg + 2, '=');
    nlen = eqp ? (size_t)(eqp - arg - 2) : strlen(arg + 2);
    d = sw__find(arg + 2, nlen);
    if (d == NULL || !(d->cmds & (unsigned)cmd))
      return sw_fail(SW_ERR_USAGE, msg, msglen, "unknown option --%.*s (see --help)", (int)(nlen > 60 ? 60 : nlen),
                     arg + 2);
    if (d->kind == SW_OPT_BOOL && eqp == NULL) {
      value = "true";
    } else if (eqp) {
      value = eqp + 1;
    } else {
      if (i + 1 >= argc) return sw_fail(SW_ERR_USAGE, msg, msglen, "--%s needs a value", d->name);
      value = argv[++i];
    }
    if (!strcmp(d->name, "config")) continue; /* read above */
    snprintf(where, sizeof where, "--%s", d->name);
    err = sw__apply(o, d, value, 1, where, msg, msglen);
    if (err) return err == SW_ERR_CONFIG ? SW_ERR_USAGE : err;
  }
  if (o->quiet && o->verbose) return sw_fail(SW_ERR_USAGE, msg, msglen, "--quiet and --verbose exclude each other");
  return SW_OK;
}

int sw_opts_given(const sw_opts *o, const char *name) {
  const struct sw_opt_def *d = sw__find(name, strlen(name));
  size_t idx;
  if (d == NULL) return 0;
  idx = (size_t)(d - sw__opts);
  return o->set_by_flag[idx] || o->set_by_config[idx];
}

sw_err sw_opts_check_trust(const sw_opts *o, char *msg, size_t msglen) {
  if (o->trusted_keys && o->n_trusted_key)
    return sw_fail(SW_ERR_USAGE, msg, msglen,
                   "--trusted-keys and --trusted-key exclude each other: the key statement names the keys");
  if (o->trusted_keys && sw_opts_given(o, "threshold"))
    return sw_fail(SW_ERR_USAGE, msg, msglen,
                   "--threshold is not taken with --trusted-keys: the newest key statement's Threshold applies");
  if (o->keys_url && !o->trusted_keys)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "--keys-url needs --trusted-keys (the statement to start from)");
  /* A URL must be https:// (like --manifest); anything else without "://" is a directory. */
  if (o->keys_url && strstr(o->keys_url, "://") && strncasecmp(o->keys_url, "https://", 8) != 0)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "refusing non-HTTPS --keys-url %.200s", o->keys_url);
  return SW_OK;
}

void sw_opts_new_config_layer(sw_opts *o) { memset(o->set_by_config, 0, sizeof o->set_by_config); }

void sw_opts_print_help(enum sw_cmd cmd, void *fp) {
  FILE *f = fp;
  for (size_t i = 0; i < SW_NOPTS; i++) {
    const struct sw_opt_def *d = &sw__opts[i];
    char left[64];
    if (!(d->cmds & (unsigned)cmd)) continue;
    const char *help = d->help;
    /* A help text "-x: ..." names the option's short form. */
    if (help[0] == '-' && help[1] && help[2] == ':') {
      snprintf(left, sizeof left, "-%c, --%s", help[1], d->name);
      help += 4;
    } else {
      snprintf(left, sizeof left, "--%s%s%s", d->name, d->metavar ? " " : "", d->metavar ? d->metavar : "");
    }
    fprintf(f, "  %-26s %s\n", left, help);
  }
  fprintf(f, "  %-26s %s\n", "-h, --help", "show this help");
  fprintf(f, "\nSEC: seconds, or 90s, 5m, 1.5h, 2d. BYTES and KIB/S: a number with an optional\n"
             "B, K, M, G or T (K = 1024, as curl and aria2 count; KB and KiB mean the same),\n"
             "e.g. 512K, 10M, 1.5G, 10M/s; a plain number is in the unit named.\n");
}
