/* publish_keys.c - `swarmup-publish keys init|rotate|sign` (docs/keys.md).
 *
 *   init:   statement 1, the anchor shipped with the application.
 *   rotate: the draft N+1 from N (keys added, dropped, the next keys, floors).
 *   sign:   on the offline machine: a checklist (what changes, who must sign
 *           under the rules the client applies, whether the given keys can),
 *           then one signature packet per key with purpose@swarmup=keys.
 * Every statement written is parsed with sw_keys_parse before it is saved,
 * and every Keyring is listed back through gpg, so that nothing leaves this
 * tool that the client would refuse as malformed. The keys come from the
 * standard gpg (--export), as the signatures do (pubgpg.h). */
#include "publish_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "keys.h"
#include "manifest.h"
#include "pgp.h"
#include "pubgpg.h"
#include "sw_limits.h"

enum { CMD_INIT = 1, CMD_ROTATE = 2, CMD_SIGN = 4 };

/* Base64 of a full Keyring, one line, NUL included. */
#define B64_MAX (4 * ((SW_KEYS_KEYRING_MAX + 2) / 3) + 1)

typedef struct keys_opts {
  const char *product, *homedir, *from, *out, *draft, *expires_days, *threshold, *next_threshold;
  const char *key[SW_KEYS_FPR_MAX];
  size_t n_key;
  const char *next[SW_KEYS_FPR_MAX];
  size_t n_next;
  const char *drop[SW_KEYS_FPR_MAX];
  size_t n_drop;
  const char *floor[SW_KEYS_FLOOR_MAX];
  size_t n_floor;
  int yes, help;
} keys_opts;

/* What gpg says about one primary key of a Keyring. */
typedef struct ring_key {
  char fpr[41];
  char validity; /* gpg's field 2: 'r' revoked, 'e' expired */
  int64_t expires; /* 0: never */
  char uid[96];  /* first user ID, printable ASCII only */
} ring_key;

typedef struct ring_list {
  size_t n;
  ring_key k[2 * SW_KEYS_FPR_MAX];
} ring_list;

static int die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int die(int code, const char *fmt, ...) {
  va_list ap;
  fputs("swarmup-publish: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return code;
}

void sw_pub_keys_usage(FILE *f) {
  fprintf(f,
          "       swarmup-publish keys init --product P --key FPR [--key FPR...] [--threshold N]\n"
          "                            [--next FPR... [--next-threshold N]] --expires-days D [--out DIR]\n"
          "                            [--homedir GNUPGHOME]\n"
          "       swarmup-publish keys rotate --from DIR/N.keys [--key FPR]... [--drop FPR]... [--next FPR]...\n"
          "                            [--next-threshold N] [--threshold N] [--sequence-floor CH=N]...\n"
          "                            --expires-days D [--out FILE] [--homedir GNUPGHOME]\n"
          "       swarmup-publish keys sign --draft FILE --key FPR [--key FPR]... [--homedir GNUPGHOME] [--yes]\n");
}

static void usage_init(FILE *f) {
  fprintf(f,
          "usage: swarmup-publish keys init --product P --key FPR [--key FPR...] [--threshold N]\n"
          "           [--next FPR... [--next-threshold N]] --expires-days D [--out DIR] [--homedir GNUPGHOME]\n\n"
          "Writes key statement 1 (the anchor to ship with the application) as DIR/1.keys (DIR defaults\n"
          "to P.keys). FPR: the 40-hex fingerprint of a primary key in GNUPGHOME. Key: who signs manifests\n"
          "(Threshold of them, default 1); Next: the pre-committed keys that alone may sign statement 2\n"
          "(Next-Threshold of them, default 1). Keyring: `gpg --export` of exactly the Key and Next keys.\n"
          "Then sign it on the offline machine: swarmup-publish keys sign --draft DIR/1.keys --key FPR\n");
}

static void usage_rotate(FILE *f) {
  fprintf(f,
          "usage: swarmup-publish keys rotate --from DIR/N.keys [--key FPR]... [--drop FPR]... [--next FPR]...\n"
          "           [--next-threshold N] [--threshold N] [--sequence-floor CH=N]... --expires-days D\n"
          "           [--out FILE] [--homedir GNUPGHOME]\n\n"
          "Writes the draft of statement N+1 (default DIR/N+1.keys): Key is N's Key plus --key minus --drop\n"
          "(a dropped key is no longer trusted; dropping every key freezes the product); Threshold is N's\n"
          "unless given; Next is exactly the --next keys given (none: no Next); Sequence-Floor sets the\n"
          "accepted sequence of channel CH to N on every client, even downwards (recovery from a stolen key).\n"
          "Keyring is exported again for the new Key and Next keys from GNUPGHOME.\n"
          "Then sign it on the offline machine: swarmup-publish keys sign --draft FILE --key FPR...\n");
}

static void usage_sign(FILE *f) {
  fprintf(f,
          "usage: swarmup-publish keys sign --draft FILE --key FPR [--key FPR]... [--homedir GNUPGHOME] [--yes]\n\n"
          "On the offline machine: shows a checklist (product, version, expiry, keys added and dropped\n"
          "compared with the previous statement N-1.keys beside FILE, floors that change, who must sign\n"
          "under the rules clients apply and whether the --key set meets them), refuses a --key set that\n"
          "cannot meet them, asks for confirmation (type yes; --yes: don't ask), and writes FILE.sig: one\n"
          "armored signature packet per key, each with the notation purpose@swarmup=keys.\n"
          "Check with: gpg --verify FILE.sig FILE\n");
}

static int parse_args(int cmd, int argc, char **argv, keys_opts *o) {
  static const struct {
    const char *name;
    int cmds;
    size_t off;
  } strs[] = {
#define S(n, c, f) {n, c, offsetof(keys_opts, f)}
      S("product", CMD_INIT, product),
      S("homedir", CMD_INIT | CMD_ROTATE | CMD_SIGN, homedir),
      S("from", CMD_ROTATE, from),
      S("out", CMD_INIT | CMD_ROTATE, out),
      S("draft", CMD_SIGN, draft),
      S("expires-days", CMD_INIT | CMD_ROTATE, expires_days),
      S("threshold", CMD_INIT | CMD_ROTATE, threshold),
      S("next-threshold", CMD_INIT | CMD_ROTATE, next_threshold),
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
    if (!strcmp(a, "--yes") && cmd == CMD_SIGN) {
      o->yes = 1;
      continue;
    }
    if (strncmp(a, "--", 2) != 0) return die(2, "unexpected argument \"%.60s\"", a);
    for (size_t k = 0; k < sizeof strs / sizeof strs[0] && !done; k++) {
      if (strcmp(a + 2, strs[k].name) != 0) continue;
      if (!(strs[k].cmds & cmd)) break;
      if (i + 1 >= argc) return die(2, "%s needs a value", a);
      *(const char **)((char *)o + strs[k].off) = argv[++i];
      done = 1;
    }
    if (done) continue;
    if (!strcmp(a, "--key")) list = o->key, n = &o->n_key, allowed = CMD_INIT | CMD_ROTATE | CMD_SIGN;
    else if (!strcmp(a, "--next")) list = o->next, n = &o->n_next, allowed = CMD_INIT | CMD_ROTATE;
    else if (!strcmp(a, "--drop")) list = o->drop, n = &o->n_drop, allowed = CMD_ROTATE;
    else if (!strcmp(a, "--sequence-floor"))
      list = o->floor, n = &o->n_floor, allowed = CMD_ROTATE, cap = SW_KEYS_FLOOR_MAX;
    if (list == NULL || !(allowed & cmd)) return die(2, "unknown option %.60s for this command (see --help)", a);
    if (i + 1 >= argc) return die(2, "%s needs a value", a);
    if (*n >= cap) return die(2, "too many %s (at most %zu)", a, cap);
    list[(*n)++] = argv[++i];
  }
  return 0;
}

/* A v4 primary fingerprint as given on the command line: 40 hex digits in
 * either case (gpg prints upper case; the statement keeps upper case). */
static int fpr_norm(const char *in, char out[41]) {
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
static int add_fpr(char (*list)[41], size_t *n, const char *arg, const char *what) {
  char f[41];
  if (fpr_norm(arg, f) != 0)
    return die(2, "%s \"%.60s\" is not a 40-hex OpenPGP v4 fingerprint (see gpg --list-keys --with-colons)", what,
               arg);
  if (sw_keys_has(list, *n, f)) return die(2, "%s %s given twice", what, f);
  if (*n >= SW_KEYS_FPR_MAX) return die(2, "too many %s (at most %u)", what, SW_KEYS_FPR_MAX);
  memcpy(list[(*n)++], f, 41);
  return 0;
}

static int parse_count(const char *s, const char *what, unsigned *out) {
  char *end = NULL;
  unsigned long v;
  errno = 0;
  v = strtoul(s, &end, 10);
  if (errno || end == s || *end || s[0] < '1' || s[0] > '9' || v > SW_THRESHOLD_MAX)
    return die(2, "%s must be 1..%u", what, SW_THRESHOLD_MAX);
  *out = (unsigned)v;
  return 0;
}

static int parse_days(const char *s, int64_t *out) {
  char *end = NULL;
  unsigned long v;
  if (s == NULL) return die(2, "--expires-days D is required (statements always expire; re-sign before then)");
  errno = 0;
  v = strtoul(s, &end, 10);
  if (errno || end == s || *end || s[0] < '1' || s[0] > '9' || v > 3650) return die(2, "--expires-days must be 1..3650");
  *out = (int64_t)v * 86400;
  return 0;
}

static void dir_of(const char *p, char *out, size_t cap) {
  const char *s = strrchr(p, '/');
  if (s == NULL) snprintf(out, cap, ".");
  else if (s == p) snprintf(out, cap, "/");
  else snprintf(out, cap, "%.*s", (int)(s - p), p);
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* Run gpg (argv[0] "gpg") with in[0..in_len) on its stdin, collecting its
 * stdout into out (at most cap bytes). Both pipes are served with poll() so
 * that neither side can block the other. gpg's stderr stays ours (its
 * messages are the user's best clue). Returns 0, -1 if gpg failed or could
 * not run, -2 if its output was larger than cap. */
static int run_gpg(const char *const *argv, const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                   size_t *out_len) {
  int inp[2] = {-1, -1}, outp[2] = {-1, -1}, status = 0, rc = -1, over = 0;
  size_t put = 0;
  pid_t pid = -1;
  *out_len = 0;
  if (pipe(inp) != 0 || pipe(outp) != 0) goto out;
  for (int i = 0; i < 2; i++) {
    fcntl(inp[i], F_SETFD, FD_CLOEXEC);
    fcntl(outp[i], F_SETFD, FD_CLOEXEC);
  }
  fflush(NULL);
  pid = fork();
  if (pid < 0) goto out;
  if (pid == 0) {
    /* dup2 clears FD_CLOEXEC on 0 and 1 only. */
    if (dup2(inp[0], 0) < 0 || dup2(outp[1], 1) < 0) _exit(127);
    execvp("gpg", (char *const *)argv);
    _exit(127);
  }
  close(inp[0]);
  close(outp[1]);
  inp[0] = outp[1] = -1;
  fcntl(inp[1], F_SETFL, O_NONBLOCK);
  if (in_len == 0) {
    close(inp[1]);
    inp[1] = -1;
  }
  while (outp[0] >= 0) {
    struct pollfd pf[2];
    nfds_t nf = 0;
    pf[nf].fd = outp[0];
    pf[nf++].events = POLLIN;
    if (inp[1] >= 0) {
      pf[nf].fd = inp[1];
      pf[nf++].events = POLLOUT;
    }
    if (poll(pf, nf, -1) < 0) {
      if (errno == EINTR) continue;
      goto out;
    }
    if (nf > 1 && pf[1].revents) {
      ssize_t w = write(inp[1], in + put, in_len - put);
      if (w > 0) put += (size_t)w;
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || put == in_len) {
        close(inp[1]); /* gpg sees the end of its input (or quit early: its exit status says why) */
        inp[1] = -1;
      }
    }
    if (pf[0].revents) {
      uint8_t scratch[4096];
      ssize_t r = *out_len < cap ? read(outp[0], out + *out_len, cap - *out_len) : read(outp[0], scratch, sizeof scratch);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        close(outp[0]);
        outp[0] = -1;
      } else if (*out_len < cap) {
        *out_len += (size_t)r;
      } else {
        over = 1; /* keep draining so that gpg can finish */
      }
    }
  }
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) goto out;
  pid = -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) rc = over ? -2 : 0;
out:
  if (pid > 0) {
    /* Not reached with a live child unless poll failed: reap it. */
    kill(pid, SIGTERM);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  for (int i = 0; i < 2; i++) {
    if (inp[i] >= 0) close(inp[i]);
    if (outp[i] >= 0) close(outp[i]);
  }
  return rc;
}

/* `gpg --export` of exactly these primary keys, minimal (no third-party
 * certifications: the client needs only the keys and their self-signatures),
 * into k->keyring. */
static int export_keys(const char *homedir, const char (*fprs)[41], size_t n, uint8_t *buf, size_t cap,
                       size_t *len) {
  const char *argv[16 + 2 * SW_KEYS_FPR_MAX];
  int a = 0, r;
  argv[a++] = "gpg";
  argv[a++] = "--batch";
  argv[a++] = "--quiet";
  if (homedir) {
    argv[a++] = "--homedir";
    argv[a++] = homedir;
  }
  argv[a++] = "--export-options";
  argv[a++] = "export-minimal";
  argv[a++] = "--export";
  for (size_t i = 0; i < n; i++) argv[a++] = fprs[i];
  argv[a] = NULL;
  r = run_gpg(argv, NULL, 0, buf, cap, len);
  if (r == -2) return die(2, "the exported keys are larger than the Keyring limit (%u bytes)", SW_KEYS_KEYRING_MAX);
  if (r != 0) return die(1, "gpg --export failed");
  return 0;
}

static int export_keyring(const char *homedir, const char (*fprs)[41], size_t n, sw_keys *k) {
  return export_keys(homedir, fprs, n, k->keyring, sizeof k->keyring, &k->keyring_len);
}

/* List the primary keys in ring[0..len) as gpg reads them (--with-colons,
 * show-only: nothing is imported). */
static int list_keyring(const char *homedir, const uint8_t *ring, size_t len, ring_list *out) {
  const char *argv[16];
  int a = 0, r, want_fpr = 0;
  char *text = NULL, *line = NULL, *save = NULL;
  size_t text_len = 0, cap = 1 << 20;
  int rc = 1;
  ring_key *cur = NULL;
  memset(out, 0, sizeof *out);
  argv[a++] = "gpg";
  argv[a++] = "--batch";
  argv[a++] = "--quiet";
  if (homedir) {
    argv[a++] = "--homedir";
    argv[a++] = homedir;
  }
  argv[a++] = "--with-colons";
  argv[a++] = "--fixed-list-mode";
  argv[a++] = "--import-options";
  argv[a++] = "show-only";
  argv[a++] = "--dry-run";
  argv[a++] = "--import";
  argv[a] = NULL;
  text = malloc(cap + 1);
  if (text == NULL) return die(1, "out of memory");
  r = run_gpg(argv, ring, len, (uint8_t *)text, cap, &text_len);
  if (r != 0) {
    rc = die(1, "gpg could not read the Keyring");
    goto out;
  }
  text[text_len] = 0;
  for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    /* Fields: 1 type, 2 validity, 7 expiry (seconds), 10 fingerprint or user ID. */
    char *f[12] = {0}, *p = line;
    for (int i = 0; i < 12 && p; i++) {
      f[i] = p;
      p = strchr(p, ':');
      if (p) *p++ = 0;
    }
    if (!strcmp(f[0], "pub")) {
      if (out->n >= sizeof out->k / sizeof out->k[0]) {
        rc = die(2, "the Keyring holds more than %zu keys", sizeof out->k / sizeof out->k[0]);
        goto out;
      }
      cur = &out->k[out->n++];
      cur->validity = f[1] ? f[1][0] : 0;
      cur->expires = f[6] && f[6][0] ? strtoll(f[6], NULL, 10) : 0;
      want_fpr = 1;
    } else if (!strcmp(f[0], "sub")) {
      want_fpr = 0; /* a subkey's fpr line follows: not a primary */
    } else if (!strcmp(f[0], "fpr") && want_fpr && cur && f[9]) {
      snprintf(cur->fpr, sizeof cur->fpr, "%s", f[9]);
      want_fpr = 0;
    } else if (!strcmp(f[0], "uid") && cur && !cur->uid[0] && f[9]) {
      /* A user ID is text from the key: show only printable ASCII. */
      size_t o = 0;
      for (const char *s = f[9]; *s && o + 1 < sizeof cur->uid; s++)
        cur->uid[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
      cur->uid[o] = 0;
    }
  }
  rc = 0;
out:
  free(text);
  return rc;
}

static const ring_key *ring_find(const ring_list *rl, const char *fpr) {
  for (size_t i = 0; i < rl->n; i++)
    if (!strcmp(rl->k[i].fpr, fpr)) return &rl->k[i];
  return NULL;
}

/* The Keyring of k must hold exactly its Key and Next primaries, none revoked
 * or expired: the client checks signatures against nothing else. */
static int check_keyring(const char *homedir, const sw_keys *k, ring_list *rl) {
  /* gpg exported nothing (no key matched) or the Keyring is empty: gpg would
   * refuse to read it, and every fingerprint below is then missing. */
  int rc = k->keyring_len ? list_keyring(homedir, k->keyring, k->keyring_len, rl) : 0;
  if (rc) return rc;
  if (k->keyring_len == 0) memset(rl, 0, sizeof *rl);
  for (size_t i = 0; i < k->n_key + k->n_next; i++) {
    const char *f = i < k->n_key ? k->key[i] : k->next[i - k->n_key];
    const ring_key *r = ring_find(rl, f);
    if (r == NULL)
      return die(2, "%s is not the fingerprint of a primary key in %s (a subkey, or a key this gpg home lacks?)",
                 f, homedir ? homedir : "the gpg home");
    if (r->validity == 'r') return die(2, "key %s is revoked", f);
    if (r->validity == 'e') return die(2, "key %s has expired", f);
    if (r->expires && r->expires < k->expires) {
      char when[21];
      sw_manifest_format_time(r->expires, when);
      fprintf(stderr, "swarmup-publish: warning: key %s expires at %s, before the statement does\n", f, when);
    }
  }
  for (size_t i = 0; i < rl->n; i++)
    if (!sw_keys_has(k->key, k->n_key, rl->k[i].fpr) && !sw_keys_has(k->next, k->n_next, rl->k[i].fpr))
      return die(2, "the Keyring holds key %s, which is neither a Key nor a Next", rl->k[i].fpr);
  return 0;
}

/* Text of statement k (its Keyring already in k) with floor_text (may be
 * empty), checked by parsing it back: what this writes, the client reads the
 * same. Returns 0 and the length in *len. */
static int build_statement(const sw_keys *k, const char *floor_text, char *text, size_t cap, size_t *len) {
  char date[21], expires[21], msg[SW_MSG_MAX];
  char *b64 = NULL;
  sw_keys *back = NULL;
  size_t n = 0;
  int rc = 1;
  sw_err err;
  b64 = malloc(B64_MAX);
  back = calloc(1, sizeof *back);
  if (b64 == NULL || back == NULL) {
    rc = die(1, "out of memory");
    goto out;
  }
  EVP_EncodeBlock((unsigned char *)b64, k->keyring, (int)k->keyring_len);
  sw_manifest_format_time(k->date, date);
  sw_manifest_format_time(k->expires, expires);
#define ADD(...)                                                        \
  do {                                                                  \
    if (n < cap) n += (size_t)snprintf(text + n, cap - n, __VA_ARGS__); \
  } while (0)
  ADD("Format: swarmup-keys/1\nProduct: %s\nVersion: %" PRIu64 "\nDate: %s\nExpires: %s\nThreshold: %u\n",
      k->product, k->version, date, expires, k->threshold);
  for (size_t i = 0; i < k->n_key; i++) ADD("Key: %s\n", k->key[i]);
  for (size_t i = 0; i < k->n_next; i++) ADD("Next: %s\n", k->next[i]);
  if (k->n_next) ADD("Next-Threshold: %u\n", k->next_threshold);
  if (floor_text[0]) ADD("Sequence-Floor: %s\n", floor_text);
  ADD("Keyring: %s\n", b64);
#undef ADD
  if (n >= cap || n > SW_KEYS_STMT_MAX) {
    rc = die(2, "the statement would exceed %u bytes (too many or too large keys)", SW_KEYS_STMT_MAX);
    goto out;
  }
  err = sw_keys_parse((const uint8_t *)text, n, back, msg, sizeof msg);
  if (err) {
    rc = die(2, "the statement would be rejected: %s", msg);
    goto out;
  }
  if (back->version != k->version || back->n_key != k->n_key || back->n_next != k->n_next ||
      back->keyring_len != k->keyring_len || memcmp(back->keyring, k->keyring, k->keyring_len) != 0) {
    rc = die(1, "the statement does not read back as written (bug)");
    goto out;
  }
  *len = n;
  rc = 0;
out:
  free(b64);
  free(back);
  return rc;
}

/* Write text to dir/name, never over an existing statement (a signed one may
 * already be published under that name). */
static int save_statement(const char *dir, const char *name, const char *text, size_t len) {
  char path[4200], msg[SW_MSG_MAX];
  struct stat st;
  sw_err err;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (lstat(path, &st) == 0)
    return die(1, "%s already exists: not overwriting it (remove it first if it is an unsigned draft)", path);
  err = sw_fs_write_atomic(dir, name, (const uint8_t *)text, len, 0644, msg, sizeof msg);
  if (err) return die(1, "%s", msg);
  return 0;
}

/* "CH=N" arguments joined with spaces; the parser judges the values. Only
 * printable, space-free text gets in, so no argument can add a line. */
static int join_floors(const keys_opts *o, char *out, size_t cap) {
  size_t n = 0;
  out[0] = 0;
  for (size_t i = 0; i < o->n_floor; i++) {
    const char *s = o->floor[i], *eq = strchr(s, '=');
    for (const char *p = s; *p; p++)
      if (*p <= 0x20 || *p >= 0x7f) return die(2, "--sequence-floor \"%.60s\": expected CH=N", s);
    if (eq == NULL || eq == s || !sw_manifest_name_ok(s, (size_t)(eq - s)))
      return die(2, "--sequence-floor \"%.60s\": expected CH=N with a channel name", s);
    n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", i ? " " : "", s);
    if (n >= cap) return die(2, "too many --sequence-floor");
  }
  return 0;
}

static void print_written(const char *dir, const char *name, const sw_keys *k) {
  printf("wrote:    %s/%s (statement %" PRIu64 " of %s)\n", dir, name, k->version, k->product);
  printf("next: carry it to the offline machine and run\n"
         "  swarmup-publish keys sign --draft %s/%s --key FPR...\n",
         dir, name);
}

static int cmd_init(keys_opts *o) {
  char dir[2048], *text = NULL, floors[1] = {0};
  sw_keys *k = NULL;
  ring_list *rl = NULL;
  int64_t days = 0, now = (int64_t)time(NULL);
  size_t len = 0;
  int rc = 1;

  if (o->product == NULL || o->n_key == 0)
    return die(2, "keys init needs --product, --key and --expires-days (see keys init --help)");
  if (!sw_manifest_name_ok(o->product, strlen(o->product))) return die(2, "bad --product name");
  if (parse_days(o->expires_days, &days)) return 2;
  if (o->next_threshold && o->n_next == 0) return die(2, "--next-threshold needs --next");
  k = calloc(1, sizeof *k);
  rl = calloc(1, sizeof *rl);
  text = malloc(SW_KEYS_STMT_MAX + 1);
  if (k == NULL || rl == NULL || text == NULL) {
    rc = die(1, "out of memory");
    goto out;
  }
  snprintf(k->product, sizeof k->product, "%s", o->product);
  k->version = 1;
  k->date = now;
  k->expires = now + days;
  k->threshold = 1;
  if (o->threshold) {
    rc = parse_count(o->threshold, "--threshold", &k->threshold);
    if (rc) goto out;
  }
  for (size_t i = 0; i < o->n_key; i++) {
    rc = add_fpr(k->key, &k->n_key, o->key[i], "--key");
    if (rc) goto out;
  }
  for (size_t i = 0; i < o->n_next; i++) {
    rc = add_fpr(k->next, &k->n_next, o->next[i], "--next");
    if (rc) goto out;
    if (sw_keys_has(k->key, k->n_key, k->next[k->n_next - 1]))
      /* Allowed, but a thief of the current keys then holds the rotation too. */
      fprintf(stderr, "swarmup-publish: warning: %s is both a Key and a Next: keep the next key apart\n",
              k->next[k->n_next - 1]);
  }
  if (k->n_next) {
    k->next_threshold = 1;
    if (o->next_threshold) {
      rc = parse_count(o->next_threshold, "--next-threshold", &k->next_threshold);
      if (rc) goto out;
    }
  }
  if (k->threshold > k->n_key) {
    rc = die(2, "--threshold %u is more than the %zu keys given", k->threshold, k->n_key);
    goto out;
  }
  if (k->next_threshold > k->n_next) {
    rc = die(2, "--next-threshold %u is more than the %zu next keys given", k->next_threshold, k->n_next);
    goto out;
  }
  {
    char all[2 * SW_KEYS_FPR_MAX][41];
    size_t n = 0;
    for (size_t i = 0; i < k->n_key; i++) memcpy(all[n++], k->key[i], 41);
    for (size_t i = 0; i < k->n_next; i++) memcpy(all[n++], k->next[i], 41);
    rc = export_keyring(o->homedir, (const char(*)[41])all, n, k);
    if (rc) goto out;
  }
  rc = check_keyring(o->homedir, k, rl);
  if (rc) goto out;
  rc = build_statement(k, floors, text, SW_KEYS_STMT_MAX + 1, &len);
  if (rc) goto out;
  if (o->out) snprintf(dir, sizeof dir, "%s", o->out);
  else snprintf(dir, sizeof dir, "%s.keys", o->product);
  {
    char msg[SW_MSG_MAX];
    if (sw_fs_mkdirs(dir, 0755, msg, sizeof msg) != SW_OK) {
      rc = die(1, "%s", msg);
      goto out;
    }
  }
  rc = save_statement(dir, "1.keys", text, len);
  if (rc) goto out;
  print_written(dir, "1.keys", k);
  rc = 0;
out:
  free(k);
  free(rl);
  free(text);
  return rc;
}

/* Read and parse a statement file. */
static int read_statement(const char *path, sw_keys *k) {
  char msg[SW_MSG_MAX];
  uint8_t *buf = NULL;
  size_t len = 0;
  sw_err err = sw_fs_read_file(path, SW_KEYS_STMT_MAX, SW_ERR_KEYS_SYNTAX, &buf, &len, msg, sizeof msg);
  if (err) return die(1, "%s", msg);
  err = sw_keys_parse(buf, len, k, msg, sizeof msg);
  free(buf);
  if (err) return die(2, "%s: %s", path, msg);
  return 0;
}

static int cmd_rotate(keys_opts *o) {
  char dir[2048], name[256], floors[SW_KEYS_FLOOR_MAX * (SW_CHANNEL_MAX + 24)], want[64], *text = NULL;
  sw_keys *prev = NULL, *k = NULL;
  ring_list *rl = NULL;
  int64_t days = 0, now = (int64_t)time(NULL);
  size_t len = 0;
  int rc = 1;

  if (o->from == NULL) return die(2, "keys rotate needs --from N.keys and --expires-days (see keys rotate --help)");
  if (parse_days(o->expires_days, &days)) return 2;
  if (o->next_threshold && o->n_next == 0) return die(2, "--next-threshold needs --next");
  rc = join_floors(o, floors, sizeof floors);
  if (rc) return rc;
  prev = calloc(1, sizeof *prev);
  k = calloc(1, sizeof *k);
  rl = calloc(1, sizeof *rl);
  text = malloc(SW_KEYS_STMT_MAX + 1);
  if (prev == NULL || k == NULL || rl == NULL || text == NULL) {
    rc = die(1, "out of memory");
    goto out;
  }
  rc = read_statement(o->from, prev);
  if (rc) goto out;
  /* The client fetches BASE/N.keys: a file named otherwise is probably not the one meant. */
  snprintf(want, sizeof want, "%" PRIu64 ".keys", prev->version);
  if (strcmp(base_name(o->from), want) != 0) {
    rc = die(2, "%s holds statement %" PRIu64 ", so it should be named %s", o->from, prev->version, want);
    goto out;
  }
  if (prev->version == UINT64_MAX) {
    rc = die(2, "statement %" PRIu64 " has no successor", prev->version);
    goto out;
  }
  memcpy(k->product, prev->product, sizeof k->product);
  k->version = prev->version + 1;
  k->date = now;
  k->expires = now + days;
  k->threshold = prev->threshold;
  if (o->threshold) {
    rc = parse_count(o->threshold, "--threshold", &k->threshold);
    if (rc) goto out;
  }
  {
    char drop[SW_KEYS_FPR_MAX][41];
    size_t n_drop = 0;
    for (size_t i = 0; i < o->n_drop; i++) {
      rc = add_fpr(drop, &n_drop, o->drop[i], "--drop");
      if (rc) goto out;
      if (!sw_keys_has(prev->key, prev->n_key, drop[n_drop - 1])) {
        rc = die(2, "--drop %s: not a Key of statement %" PRIu64, drop[n_drop - 1], prev->version);
        goto out;
      }
    }
    for (size_t i = 0; i < prev->n_key; i++)
      if (!sw_keys_has(drop, n_drop, prev->key[i])) memcpy(k->key[k->n_key++], prev->key[i], 41);
    for (size_t i = 0; i < o->n_key; i++) {
      char f[41];
      if (fpr_norm(o->key[i], f) == 0 && sw_keys_has(k->key, k->n_key, f)) {
        rc = die(2, "--key %s is already a Key of statement %" PRIu64, f, prev->version);
        goto out;
      }
      if (fpr_norm(o->key[i], f) == 0 && sw_keys_has(drop, n_drop, f)) {
        rc = die(2, "%s is given with both --key and --drop", f);
        goto out;
      }
      rc = add_fpr(k->key, &k->n_key, o->key[i], "--key");
      if (rc) goto out;
    }
  }
  for (size_t i = 0; i < o->n_next; i++) {
    rc = add_fpr(k->next, &k->n_next, o->next[i], "--next");
    if (rc) goto out;
    if (sw_keys_has(k->key, k->n_key, k->next[k->n_next - 1]))
      /* Allowed, but a thief of the current keys then holds the rotation too. */
      fprintf(stderr, "swarmup-publish: warning: %s is both a Key and a Next: keep the next key apart\n",
              k->next[k->n_next - 1]);
  }
  if (k->n_next) {
    k->next_threshold = 1;
    if (o->next_threshold) {
      rc = parse_count(o->next_threshold, "--next-threshold", &k->next_threshold);
      if (rc) goto out;
    }
  }
  if (k->n_key > 0 && k->threshold > k->n_key) {
    rc = die(2, "Threshold %u is more than the %zu keys left: give --threshold", k->threshold, k->n_key);
    goto out;
  }
  if (k->next_threshold > k->n_next) {
    rc = die(2, "--next-threshold %u is more than the %zu next keys given", k->next_threshold, k->n_next);
    goto out;
  }
  {
    char all[2 * SW_KEYS_FPR_MAX][41];
    size_t n = 0;
    for (size_t i = 0; i < k->n_key; i++) memcpy(all[n++], k->key[i], 41);
    for (size_t i = 0; i < k->n_next; i++) memcpy(all[n++], k->next[i], 41);
    if (n == 0) {
      /* Rotation to null with no Next: nothing could ever sign statement N+2. */
      rc = die(2, "the statement would have no Key and no Next: nothing could ever follow it");
      goto out;
    }
    rc = export_keyring(o->homedir, (const char(*)[41])all, n, k);
    if (rc) goto out;
  }
  rc = check_keyring(o->homedir, k, rl);
  if (rc) goto out;
  rc = build_statement(k, floors, text, SW_KEYS_STMT_MAX + 1, &len);
  if (rc) goto out;
  if (o->out) {
    dir_of(o->out, dir, sizeof dir);
    snprintf(name, sizeof name, "%s", base_name(o->out));
  } else {
    dir_of(o->from, dir, sizeof dir);
    snprintf(name, sizeof name, "%" PRIu64 ".keys", k->version);
  }
  rc = save_statement(dir, name, text, len);
  if (rc) goto out;
  print_written(dir, name, k);
  rc = 0;
out:
  free(prev);
  free(k);
  free(rl);
  free(text);
  return rc;
}

/* Check what gpg just wrote as the client's verifier (pgp.h) would: every
 * packet good, by one of the given keys (exported again from the gpg home:
 * the fingerprint binds the key, so it is the statement's key), each with
 * purpose@swarmup=keys, and every given key among the signers. The rules
 * were judged on that key set before signing; this catches gpg signing with
 * something else (a wrong subkey, no notation). */
static int self_check(const char *homedir, const char *draft, const char *sig_path, const char (*signers)[41],
                      size_t n_signers) {
  char msg[SW_MSG_MAX];
  uint8_t *data = NULL, *sig = NULL, *ring = NULL;
  size_t data_len = 0, sig_len = 0, ring_len = 0;
  sw_pgp *p = NULL;
  sw_pgp_verdict *v = NULL;
  int rc = 1;
  sw_err err;
  ring = malloc(SW_KEYS_KEYRING_MAX);
  v = calloc(1, sizeof *v);
  if (ring == NULL || v == NULL) {
    rc = die(1, "out of memory");
    goto out;
  }
  rc = export_keys(homedir, signers, n_signers, ring, SW_KEYS_KEYRING_MAX, &ring_len);
  if (rc) goto out;
  rc = 1;
  err = sw_fs_read_file(draft, SW_KEYS_STMT_MAX, SW_ERR_IO, &data, &data_len, msg, sizeof msg);
  if (!err) err = sw_fs_read_file(sig_path, SW_MANIFEST_SIG_MAX, SW_ERR_IO, &sig, &sig_len, msg, sizeof msg);
  if (!err) err = sw_pgp_open_keyring(&p, ring, ring_len, signers, n_signers, msg, sizeof msg);
  if (err) {
    rc = die(1, "checking the signature: %s", msg);
    goto out;
  }
  err = sw_pgp_verify_mem(p, SW_PGP_PURPOSE_KEYS, sig, sig_len, data, data_len, (unsigned)n_signers, v);
  if (err || !v->accepted) {
    rc = die(1, "the signature gpg wrote does not verify as a key statement signature: %s", v->reason);
    goto out;
  }
  rc = 0;
out:
  sw_pgp_free(p);
  free(ring);
  free(data);
  free(sig);
  free(v);
  return rc;
}

/* One signing rule: need distinct signers among set[0..n). */
typedef struct sign_rule {
  const char (*set)[41];
  size_t n;
  unsigned need;
  char what[96];
} sign_rule;

static unsigned rule_met(const sign_rule *r, const char (*signers)[41], size_t n_signers) {
  unsigned c = 0;
  for (size_t i = 0; i < n_signers; i++) c += (unsigned)sw_keys_has(r->set, r->n, signers[i]);
  return c;
}

static void print_key(const char *mark, const char *fpr, const ring_list *a, const ring_list *b, const char *note) {
  const ring_key *r = ring_find(a, fpr);
  if (r == NULL && b) r = ring_find(b, fpr);
  fprintf(stderr, "                %s %s  %s%s\n", mark, fpr, r && r->uid[0] ? r->uid : "", note);
}

static int cmd_sign(keys_opts *o) {
  char dir[2048], prev_path[2300], sig_path[4200], when[21], expires[21], answer[16];
  char signers[SW_KEYS_FPR_MAX][41];
  const char *signer_ptr[SW_KEYS_FPR_MAX];
  size_t n_signers = 0, n_rules = 0;
  sw_keys *k = NULL, *prev = NULL;
  ring_list *rl = NULL, *prl = NULL;
  sign_rule rules[2];
  int64_t now = (int64_t)time(NULL);
  int rc = 1, have_prev = 0, ok = 1;
  struct stat st;

  if (o->draft == NULL || o->n_key == 0) return die(2, "keys sign needs --draft and --key (see keys sign --help)");
  for (size_t i = 0; i < o->n_key; i++) {
    rc = add_fpr(signers, &n_signers, o->key[i], "--key");
    if (rc) return rc;
  }
  k = calloc(1, sizeof *k);
  prev = calloc(1, sizeof *prev);
  rl = calloc(1, sizeof *rl);
  prl = calloc(1, sizeof *prl);
  if (k == NULL || prev == NULL || rl == NULL || prl == NULL) {
    rc = die(1, "out of memory");
    goto out;
  }
  rc = read_statement(o->draft, k);
  if (rc) goto out;
  if (k->expires <= now) {
    sw_manifest_format_time(k->expires, when);
    rc = die(2, "the draft expired at %s: make a fresh one", when);
    goto out;
  }
  rc = check_keyring(o->homedir, k, rl);
  if (rc) goto out;
  dir_of(o->draft, dir, sizeof dir);
  if (k->version > 1) {
    snprintf(prev_path, sizeof prev_path, "%s/%" PRIu64 ".keys", dir, k->version - 1);
    if (stat(prev_path, &st) == 0) {
      rc = read_statement(prev_path, prev);
      if (rc) goto out;
      if (prev->version != k->version - 1 || strcmp(prev->product, k->product) != 0) {
        rc = die(2, "%s is statement %" PRIu64 " of %s, not the predecessor of this draft", prev_path, prev->version,
                 prev->product);
        goto out;
      }
      rc = list_keyring(o->homedir, prev->keyring, prev->keyring_len, prl);
      if (rc) goto out;
      have_prev = 1;
    }
  }

  /* The rules the client applies (verify/keys.h, sw_keys_verify_next). */
  if (have_prev && prev->n_next > 0) {
    rules[n_rules] = (sign_rule){prev->next, prev->n_next, prev->next_threshold, ""};
    snprintf(rules[n_rules++].what, sizeof rules[0].what, "of the Next keys of statement %" PRIu64, prev->version);
  } else if (have_prev) {
    rules[n_rules] = (sign_rule){prev->key, prev->n_key, prev->threshold, ""};
    snprintf(rules[n_rules++].what, sizeof rules[0].what, "of the Key keys of statement %" PRIu64, prev->version);
  }
  if (k->n_key > 0) {
    rules[n_rules] = (sign_rule){k->key, k->n_key, k->threshold, ""};
    snprintf(rules[n_rules++].what, sizeof rules[0].what, "of its own Key keys");
  }

  sw_manifest_format_time(k->date, when);
  sw_manifest_format_time(k->expires, expires);
  fprintf(stderr, "About to sign key statement %s:\n", o->draft);
  fprintf(stderr, "  [ ] Product     %s\n", k->product);
  if (k->version == 1)
    fprintf(stderr, "  [ ] Version     1: the anchor (shipped with the application, trusted as installed)\n");
  else if (have_prev)
    fprintf(stderr, "  [ ] Version     %" PRIu64 ", follows %s\n", k->version, prev_path);
  else
    fprintf(stderr,
            "  [ ] Version     %" PRIu64 "; WARNING: %s is not beside the draft, so neither the changes nor\n"
            "                  the rule of statement %" PRIu64 " can be shown: only its own rule is checked\n",
            k->version, prev_path, k->version - 1);
  fprintf(stderr, "  [ ] Date        %s, Expires %s (%" PRId64 " days from now)\n", when, expires,
          (k->expires - now) / 86400);
  if (k->n_key == 0)
    fprintf(stderr, "  [ ] Key         NONE: every manifest of %s will be refused (the product is frozen until a\n"
                    "                  later statement, signed by the Next keys, names new keys)\n",
            k->product);
  else
  {
    char was[32] = "";
    if (have_prev && prev->threshold != k->threshold) snprintf(was, sizeof was, " (CHANGED, was %u)", prev->threshold);
    fprintf(stderr, "  [ ] Key         Threshold %u%s: that many of these must sign each manifest:\n", k->threshold,
            was);
  }
  for (size_t i = 0; i < k->n_key; i++) {
    int added = k->version == 1 || (have_prev && !sw_keys_has(prev->key, prev->n_key, k->key[i]));
    print_key(added ? "+" : have_prev ? "=" : " ", k->key[i], rl, NULL, added ? "  (added)" : "");
  }
  if (have_prev) {
    int any = 0;
    for (size_t i = 0; i < prev->n_key; i++)
      if (!sw_keys_has(k->key, k->n_key, prev->key[i])) {
        if (!any) fprintf(stderr, "  [ ] Dropped     no longer trusted for manifests:\n");
        any = 1;
        print_key("-", prev->key[i], prl, rl, "  (dropped)");
      }
    if (!any) fprintf(stderr, "  [ ] Dropped     none\n");
  }
  if (k->n_next == 0)
    fprintf(stderr, "  [ ] Next        none: statement %" PRIu64 " will need %u of the Key keys above\n",
            k->version + 1, k->threshold);
  else
    fprintf(stderr,
            "  [ ] Next        Next-Threshold %u: that many of these must sign statement %" PRIu64
            " (the Key keys alone cannot):\n",
            k->next_threshold, k->version + 1);
  for (size_t i = 0; i < k->n_next; i++) print_key(" ", k->next[i], rl, NULL, "");
  if (k->n_floor == 0) fprintf(stderr, "  [ ] Floors      none (no channel's accepted sequence changes)\n");
  for (size_t i = 0; i < k->n_floor; i++)
    fprintf(stderr, "  [ ] Floor       %s=%" PRIu64 ": every client's accepted sequence of %s becomes %" PRIu64
                    ", even downwards\n",
            k->floor[i].channel, k->floor[i].sequence, k->floor[i].channel, k->floor[i].sequence);
  fprintf(stderr, "  [ ] Must sign   (good signatures from distinct keys, purpose@swarmup=keys)\n");
  for (size_t i = 0; i < n_rules; i++) {
    unsigned got = rule_met(&rules[i], (const char(*)[41])signers, n_signers);
    fprintf(stderr, "                %u %s: %s by the keys given (%u of them)\n", rules[i].need, rules[i].what,
            got >= rules[i].need ? "met" : "NOT MET", got);
    if (got < rules[i].need) ok = 0;
  }
  if (n_rules == 0) fprintf(stderr, "                nothing (no own Key and no previous statement here)\n");
  fprintf(stderr, "  [ ] Signing as\n");
  for (size_t i = 0; i < n_signers; i++) print_key(" ", signers[i], rl, have_prev ? prl : NULL, "");

  /* Clients reject a statement with a signature by a key in neither
   * statement's Keyring, so such a key must not sign. */
  for (size_t i = 0; i < n_signers; i++) {
    int known = sw_keys_has(k->key, k->n_key, signers[i]) || sw_keys_has(k->next, k->n_next, signers[i]) ||
                (have_prev && (sw_keys_has(prev->key, prev->n_key, signers[i]) ||
                               sw_keys_has(prev->next, prev->n_next, signers[i])));
    if (!known) {
      rc = die(2, "not signing: %s is in neither this statement nor its predecessor; clients would reject the "
                  "statement",
               signers[i]);
      goto out;
    }
  }
  if (!ok) {
    rc = die(2, "not signing: the keys given do not meet the rules above (clients would reject statement %" PRIu64
                "); add the keys marked NOT MET",
             k->version);
    goto out;
  }
  if (!o->yes) {
    fprintf(stderr, "Sign this key statement? Type yes: ");
    if (fgets(answer, sizeof answer, stdin) == NULL || strncmp(answer, "yes", 3) != 0) {
      rc = die(1, "not signed");
      goto out;
    }
  }
  for (size_t i = 0; i < n_signers; i++) signer_ptr[i] = signers[i];
  snprintf(sig_path, sizeof sig_path, "%s.sig", o->draft);
  if (sw_pub_gpg_sign(o->homedir, signer_ptr, n_signers, "keys", o->draft, sig_path, 1) != 0) {
    rc = die(1, "gpg could not sign %s", o->draft);
    goto out;
  }
  rc = self_check(o->homedir, o->draft, sig_path, (const char(*)[41])signers, n_signers);
  if (rc) {
    unlink(sig_path); /* never leave a signature the client would refuse */
    goto out;
  }
  printf("signed:   %s\n", sig_path);
  printf("publish %s and %s as BASE/%" PRIu64 ".keys and BASE/%" PRIu64 ".keys.sig; anyone can check them with\n"
         "  gpg --verify %s %s\n",
         o->draft, sig_path, k->version, k->version, sig_path, o->draft);
  rc = 0;
out:
  free(k);
  free(prev);
  free(rl);
  free(prl);
  return rc;
}

int sw_pub_keys_main(int argc, char **argv) {
  keys_opts o;
  int cmd = 0, rc;
  memset(&o, 0, sizeof o);
  /* gpg may exit before reading all of its input: that is reported by its
   * exit status, not by killing us. */
  signal(SIGPIPE, SIG_IGN);
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
    fprintf(argc < 1 ? stderr : stdout, "usage:\n");
    sw_pub_keys_usage(argc < 1 ? stderr : stdout);
    return argc < 1 ? 2 : 0;
  }
  if (!strcmp(argv[0], "init")) cmd = CMD_INIT;
  else if (!strcmp(argv[0], "rotate")) cmd = CMD_ROTATE;
  else if (!strcmp(argv[0], "sign")) cmd = CMD_SIGN;
  else return die(2, "unknown keys command \"%.40s\" (init, rotate or sign)", argv[0]);
  rc = parse_args(cmd, argc - 1, argv + 1, &o);
  if (rc) return rc;
  if (o.help) {
    if (cmd == CMD_INIT) usage_init(stdout);
    else if (cmd == CMD_ROTATE) usage_rotate(stdout);
    else usage_sign(stdout);
    return 0;
  }
  if (cmd == CMD_INIT) return cmd_init(&o);
  if (cmd == CMD_ROTATE) return cmd_rotate(&o);
  return cmd_sign(&o);
}
