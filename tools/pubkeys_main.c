/* pubkeys_main.c - `swarmup-publish keys init|rotate|sign` (docs/keys.md).
 *
 *   init:   statement 1, the anchor shipped with the application.
 *   rotate: the draft N+1 from N (keys added, dropped, the next keys, floors).
 *   sign:   on the offline machine: a checklist (what changes, who must sign
 *           under the rules the client applies, whether the given keys can),
 *           then one signature packet per key with purpose@swarmup=keys.
 * Every statement written is parsed with sw_keys_parse before it is saved,
 * and every Keyring is listed back through gpg, so that nothing leaves this
 * tool that the client would refuse as malformed. The keys come from the
 * standard gpg (--export), as the signatures do (pubgpg.h).
 *
 * This file: the usage texts and the dispatch; pubkeys.h lists the rest. */
#include "publish_keys.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "pubkeys.h"
#include "pubutil.h"

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

int sw_pub_keys_main(int argc, char **argv) {
  sw__pub_keys_opts o;
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
  if (!strcmp(argv[0], "init")) cmd = SW__PUB_KEYS_INIT;
  else if (!strcmp(argv[0], "rotate")) cmd = SW__PUB_KEYS_ROTATE;
  else if (!strcmp(argv[0], "sign")) cmd = SW__PUB_KEYS_SIGN;
  else return sw__pub_die(2, "unknown keys command \"%.40s\" (init, rotate or sign)", argv[0]);
  rc = sw__pub_keys_parse_args(cmd, argc - 1, argv + 1, &o);
  if (rc) return rc;
  if (o.help) {
    if (cmd == SW__PUB_KEYS_INIT) usage_init(stdout);
    else if (cmd == SW__PUB_KEYS_ROTATE) usage_rotate(stdout);
    else usage_sign(stdout);
    return 0;
  }
  if (cmd == SW__PUB_KEYS_INIT) return sw__pub_keys_init(&o);
  if (cmd == SW__PUB_KEYS_ROTATE) return sw__pub_keys_rotate(&o);
  return sw__pub_keys_sign(&o);
}
