/* pubkeys_main.c - `swarmup-publish keys init|rotate|sign` (swarmup-publish(1)).
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

static const char sw__keys_exits[] =
    "exit status: 0 written or signed, 1 failure (a file, gpg, not confirmed), 2 usage error (a bad\n"
    "or missing flag, a statement clients would refuse, a --key set that cannot meet the signing rules).\n";

static const char sw__homedir_help[] =
    "  --homedir GNUPGHOME    gpg's home holding the keys (default: gpg's own, $GNUPGHOME or ~/.gnupg)\n";

static void usage_init(FILE *f) {
  fprintf(f,
          "usage: swarmup-publish keys init --product P --key FPR [--key FPR...] [--threshold N]\n"
          "           [--next FPR... [--next-threshold N]] --expires-days D [--out DIR] [--homedir GNUPGHOME]\n\n"
          "Writes key statement 1 (the anchor to ship with the application, for swarmup --trusted-keys) as\n"
          "DIR/1.keys. Its Keyring is `gpg --export` of exactly the Key and Next keys. Never overwrites.\n"
          "Then sign it on the offline machine: swarmup-publish keys sign --draft DIR/1.keys --key FPR\n\n"
          "options:\n"
          "  --product P            the product the statement is for (as in its manifests)\n"
          "  --key FPR              a key that signs manifests: the 40-hex fingerprint of a primary key in\n"
          "                         GNUPGHOME, either case (gpg --list-keys --with-colons); repeatable\n"
          "  --threshold N          how many of the --key keys must sign each manifest, 1..%u (default: 1)\n"
          "  --next FPR             a pre-committed next key, kept apart: only these may sign statement 2\n"
          "                         (rotation, recovery from a stolen key); repeatable; none: no Next\n"
          "  --next-threshold N     how many of the --next keys must sign statement 2 (default: 1)\n"
          "  --expires-days D       the statement expires D days from now, 1..3650; clients refuse every\n"
          "                         manifest once the newest statement has expired: publish N+1 before\n"
          "  --out DIR              where 1.keys goes (default: P.keys)\n"
          "%s"
          "  -h, --help             show this help\n\n%s",
          SW_THRESHOLD_MAX, sw__homedir_help, sw__keys_exits);
}

static void usage_rotate(FILE *f) {
  fprintf(f,
          "usage: swarmup-publish keys rotate --from DIR/N.keys [--key FPR]... [--drop FPR]... [--next FPR]...\n"
          "           [--next-threshold N] [--threshold N] [--sequence-floor CH=N]... --expires-days D\n"
          "           [--out FILE] [--homedir GNUPGHOME]\n\n"
          "Writes the draft of statement N+1 from N; its Keyring is exported again for the new Key and\n"
          "Next keys. Then sign it on the offline machine: swarmup-publish keys sign --draft FILE --key FPR...\n\n"
          "options:\n"
          "  --from DIR/N.keys      the current statement\n"
          "  --key FPR              add a key that signs manifests (N's Key keys stay unless dropped)\n"
          "  --drop FPR             drop one of N's Key keys: no longer trusted for manifests (dropping\n"
          "                         every key freezes the product); repeatable\n"
          "  --threshold N          how many Key keys must sign each manifest (default: N's)\n"
          "  --next FPR             a next key for statement N+2; exactly the ones given (none: no Next)\n"
          "  --next-threshold N     how many of them must sign statement N+2 (default: 1)\n"
          "  --sequence-floor CH=N  set the accepted sequence of channel CH to N on every client that\n"
          "                         accepts the statement, even downwards (recovery from a stolen key that\n"
          "                         signed a huge sequence); repeatable; never copied from N\n"
          "  --expires-days D       the statement expires D days from now, 1..3650\n"
          "  --out FILE             where the draft goes (default: DIR/N+1.keys)\n"
          "%s"
          "  -h, --help             show this help\n\n%s",
          sw__homedir_help, sw__keys_exits);
}

static void usage_sign(FILE *f) {
  fprintf(f,
          "usage: swarmup-publish keys sign --draft FILE --key FPR [--key FPR]... [--homedir GNUPGHOME] [--yes]\n\n"
          "On the offline machine: shows a checklist (product, version, expiry, keys added and dropped\n"
          "compared with the previous statement N-1.keys beside FILE, floors that change, who must sign\n"
          "under the rules clients apply and whether the --key set meets them), refuses a --key set that\n"
          "cannot meet them, asks for confirmation, and writes FILE.sig: one armored signature packet per\n"
          "key, each with the notation purpose@swarmup=keys.\n"
          "Check with: gpg --verify FILE.sig FILE\n\n"
          "options:\n"
          "  --draft FILE           the statement to sign (N.keys from init or rotate)\n"
          "  --key FPR              a key that signs it (a fingerprint in GNUPGHOME); repeatable: statement\n"
          "                         N+1 needs N's Next keys (or its Key keys when N has no Next) and its own\n"
          "  --yes                  don't ask for confirmation (the checklist is still printed)\n"
          "%s"
          "  -h, --help             show this help\n\n%s",
          sw__homedir_help, sw__keys_exits);
}

int sw_pub_keys_main(int argc, char **argv) {
  sw__pub_keys_opts o;
  int cmd = 0, rc;
  memset(&o, 0, sizeof o);
  /* gpg may exit before reading all of its input: that is reported by its
   * exit status, not by killing us. */
  signal(SIGPIPE, SIG_IGN);
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
    FILE *out = argc < 1 ? stderr : stdout;
    fprintf(out, "usage:\n");
    sw_pub_keys_usage(out);
    fprintf(out, "\nEach explains its flags with --help (swarmup-publish keys init --help).\n%s", sw__keys_exits);
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
