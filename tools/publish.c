/* swarmup-publish - make a release (online machine) and sign it (offline machine).
 *
 *   make: hash the package, write a hybrid v1+v2 .torrent beside it, build the
 *         magnet and write an unsigned manifest draft.
 *   sign: on the offline machine, check the package against the draft, show a
 *         checklist, sign the package (detached, binary) into the draft's
 *         Signature field, then sign the manifest (detached, armored).
 * Signing runs the standard `gpg` so that passphrases, smartcards and the
 * offline key's home work as they do for any other gpg use.
 *
 * This file: options and dispatch; publish.h lists the others. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "publish.h"
#include "publish_keys.h"
#include "pubutil.h"

#define CMD_MAKE 1
#define CMD_SIGN 2

/* argv[0..argc) of command cmd (CMD_MAKE or CMD_SIGN) into *o; a flag of the
 * other command is a usage error, so that a mistyped line is not half used. */
static int parse_args(int cmd, int argc, char **argv, sw__pub_opts *o) {
  static const struct { const char *name; int cmds; size_t off; } strs[] = {
#define S(n, c, f) {n, c, offsetof(sw__pub_opts, f)}
      S("file", CMD_MAKE | CMD_SIGN, file), S("product", CMD_MAKE, product), S("channel", CMD_MAKE, channel),
      S("version", CMD_MAKE, version),      S("sequence", CMD_MAKE, sequence),
      S("expires-days", CMD_MAKE, expires_days), S("out-dir", CMD_MAKE | CMD_SIGN, out_dir),
      S("torrent-url", CMD_MAKE, torrent_url), S("piece-size", CMD_MAKE, piece_size), S("draft", CMD_SIGN, draft),
      S("key", CMD_SIGN, key),              S("homedir", CMD_SIGN, homedir), S("name", CMD_SIGN, name),
#undef S
  };
  const char *cname = cmd == CMD_MAKE ? "make" : "sign";
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    int done = 0;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { o->help = 1; continue; }
    if (!strcmp(a, "--yes") && cmd == CMD_SIGN) { o->yes = 1; continue; }
    if (!strcmp(a, "--no-torrent-url") && cmd == CMD_MAKE) { o->no_torrent_url = 1; continue; }
    if (strncmp(a, "--", 2) != 0) return sw__pub_die(2, "unexpected argument \"%.60s\"", a);
    for (size_t k = 0; k < sizeof strs / sizeof strs[0] && !done; k++) {
      if (strcmp(a + 2, strs[k].name) != 0 || !(strs[k].cmds & cmd)) continue;
      if (i + 1 >= argc) return sw__pub_die(2, "%s needs a value", a);
      *(const char **)((char *)o + strs[k].off) = argv[++i];
      done = 1;
    }
    if (done) continue;
    if (cmd == CMD_MAKE && (!strcmp(a, "--fallback") || !strcmp(a, "--tracker") || !strcmp(a, "--peer"))) {
      const char **list = a[2] == 'f' ? o->fallback : a[2] == 't' ? o->tracker : o->peer;
      size_t *n = a[2] == 'f' ? &o->n_fallback : a[2] == 't' ? &o->n_tracker : &o->n_peer;
      if (i + 1 >= argc) return sw__pub_die(2, "%s needs a value", a);
      if (*n >= SW__PUB_LIST_MAX) return sw__pub_die(2, "too many %s (at most %d)", a, SW__PUB_LIST_MAX);
      list[(*n)++] = argv[++i];
      continue;
    }
    return sw__pub_die(2, "unknown option %.60s for %s (see swarmup-publish %s --help)", a, cname, cname);
  }
  return 0;
}

int main(int argc, char **argv) {
  sw__pub_opts o;
  int rc, cmd;
  memset(&o, 0, sizeof o);
  if (argc < 2) {
    sw__pub_usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    const char *what = !strcmp(argv[1], "help") && argc > 2 ? argv[2] : NULL;
    char *keyshelp[] = {(char *)"--help", NULL};
    if (what == NULL) sw__pub_usage(stdout);
    else if (!strcmp(what, "make")) sw__pub_usage_make(stdout);
    else if (!strcmp(what, "sign")) sw__pub_usage_sign(stdout);
    else if (!strcmp(what, "keys")) {
      char *sub[] = {argc > 3 ? argv[3] : (char *)"--help", (char *)"--help", NULL};
      return sw_pub_keys_main(argc > 3 ? 2 : 1, argc > 3 ? sub : keyshelp);
    } else return sw__pub_die(2, "no command \"%.40s\" (make, sign, keys, version)", what);
    return 0;
  }
  if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
    printf("swarmup-publish %s\n", SW_VERSION_STRING);
    return 0;
  }
  if (!strcmp(argv[1], "keys")) return sw_pub_keys_main(argc - 2, argv + 2);
  if (!strcmp(argv[1], "make")) cmd = CMD_MAKE;
  else if (!strcmp(argv[1], "sign")) cmd = CMD_SIGN;
  else return sw__pub_die(2, "unknown command \"%.40s\" (make, sign, keys, version; see --help)", argv[1]);
  rc = parse_args(cmd, argc - 2, argv + 2, &o);
  if (rc) return rc;
  if (o.help) {
    if (cmd == CMD_MAKE) sw__pub_usage_make(stdout);
    else sw__pub_usage_sign(stdout);
    return 0;
  }
  return cmd == CMD_MAKE ? sw__pub_make(&o) : sw__pub_sign(&o);
}
