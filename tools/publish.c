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
 * This file: usage, options and dispatch; publish.h lists the others. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "publish.h"
#include "publish_keys.h"
#include "pubutil.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: swarmup-publish make --file PKG --product P [--channel C] --version V --sequence N\n"
          "                            --fallback URL [--fallback URL...] [--tracker URL...] [--peer HOST:PORT...]\n"
          "                            [--expires-days D] [--out-dir DIR] [--torrent-url URL | --no-torrent-url]\n"
          "                            [--piece-size BYTES]\n"
          "       swarmup-publish sign --draft FILE --file PKG --key KEYID [--homedir GNUPGHOME] [--yes]\n"
          "                            [--out-dir DIR] [--name NAME]\n\n"
          "make (online machine): writes PKG.torrent (hybrid v1+v2) and P-C.manifest.draft in --out-dir\n"
          "  (default: PKG's directory). The draft's Date/Expires are re-stamped at signing time; Expires is\n"
          "  Date + --expires-days (default 30). Torrent: defaults to the first Fallback URL + \".torrent\".\n"
          "sign (offline machine): checks PKG's size and SHA-256 against the draft, shows a checklist, asks for\n"
          "  confirmation (--yes: don't ask), signs PKG with gpg into the Signature field, writes NAME.manifest\n"
          "  and its detached armored signature NAME.manifest.sig (NAME defaults to P-C).\n"
          "  Check with: gpg --verify NAME.manifest.sig NAME.manifest\n\n");
  sw_pub_keys_usage(f);
  fprintf(f, "keys: write key statement 1 (init) or the draft N+1 (rotate) on the online machine, and sign one\n"
             "  on the offline machine after a checklist of who is added, dropped and must sign (sign).\n"
             "  See swarmup-publish keys init|rotate|sign --help and docs/keys.md.\n");
}

static int parse_args(int argc, char **argv, sw__pub_opts *o) {
  static const struct { const char *name; size_t off; } strs[] = {
#define S(n, f) {n, offsetof(sw__pub_opts, f)}
      S("file", file),         S("product", product), S("channel", channel),   S("version", version),
      S("sequence", sequence), S("expires-days", expires_days), S("out-dir", out_dir),
      S("torrent-url", torrent_url), S("piece-size", piece_size), S("draft", draft), S("key", key),
      S("homedir", homedir),   S("name", name),
#undef S
  };
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    int done = 0;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { o->help = 1; continue; }
    if (!strcmp(a, "--yes")) { o->yes = 1; continue; }
    if (!strcmp(a, "--no-torrent-url")) { o->no_torrent_url = 1; continue; }
    if (strncmp(a, "--", 2) != 0) return sw__pub_die(2, "unexpected argument \"%.60s\"", a);
    if (i + 1 >= argc) return sw__pub_die(2, "%s needs a value", a);
    for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++) {
      if (strcmp(a + 2, strs[k].name) == 0) {
        *(const char **)((char *)o + strs[k].off) = argv[++i];
        done = 1;
        break;
      }
    }
    if (done) continue;
    if (!strcmp(a, "--fallback") || !strcmp(a, "--tracker") || !strcmp(a, "--peer")) {
      const char **list = a[2] == 'f' ? o->fallback : a[2] == 't' ? o->tracker : o->peer;
      size_t *n = a[2] == 'f' ? &o->n_fallback : a[2] == 't' ? &o->n_tracker : &o->n_peer;
      if (*n >= SW__PUB_LIST_MAX) return sw__pub_die(2, "too many %s", a);
      list[(*n)++] = argv[++i];
      continue;
    }
    return sw__pub_die(2, "unknown option %.60s (see --help)", a);
  }
  return 0;
}

int main(int argc, char **argv) {
  sw__pub_opts o;
  int rc;
  memset(&o, 0, sizeof o);
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("swarmup-publish %s\n", SW_VERSION_STRING);
    return 0;
  }
  if (!strcmp(argv[1], "keys")) return sw_pub_keys_main(argc - 2, argv + 2);
  rc = parse_args(argc - 2, argv + 2, &o);
  if (rc) return rc;
  if (o.help) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "make")) return sw__pub_make(&o);
  if (!strcmp(argv[1], "sign")) return sw__pub_sign(&o);
  return sw__pub_die(2, "unknown command \"%.40s\" (make, sign or keys)", argv[1]);
}
