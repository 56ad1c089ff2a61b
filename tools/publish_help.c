/* publish_help.c - what `swarmup-publish [COMMAND] --help` says: every flag of
 * each command and the exit codes (publish.h). */
#include <stdio.h>

#include "publish.h"
#include "publish_keys.h"

static const char sw__pub_exits[] =
    "exit status: 0 done, 1 failure (a file, gpg, not confirmed), 2 usage error\n"
    "(a bad or missing flag, a draft or statement that clients would refuse)";

void sw__pub_usage(FILE *f) {
  fprintf(f,
          "usage: swarmup-publish make --file PKG --product P [--channel C] --version V --sequence N\n"
          "                            --fallback URL... [options]\n"
          "       swarmup-publish sign --draft FILE --file PKG --key KEYID [options]\n");
  sw_pub_keys_usage(f);
  fprintf(f,
          "       swarmup-publish help [COMMAND] | version\n\n"
          "commands:\n"
          "  make         (online machine) torrent, magnet and the unsigned manifest draft of a release\n"
          "  sign         (offline machine) checklist, then sign the package and the manifest with gpg\n"
          "  keys init    write key statement 1, the anchor shipped with the application\n"
          "  keys rotate  write the draft of key statement N+1\n"
          "  keys sign    (offline machine) checklist, then sign a key statement\n"
          "  help         this text, or `swarmup-publish help COMMAND` (also COMMAND --help)\n"
          "  version      print the version\n\n"
          "Every command explains its flags with --help (swarmup-publish make --help).\n\n"
          "%s;\nsign: 5 the package does not match the draft.\n"
          "Manual: man swarmup-publish.\n",
          sw__pub_exits);
}

void sw__pub_usage_make(FILE *f) {
  fprintf(f,
          "usage: swarmup-publish make --file PKG --product P [--channel C] --version V --sequence N\n"
          "                            --fallback URL [--fallback URL...] [--tracker URL...] [--peer HOST:PORT...]\n"
          "                            [--expires-days D] [--out-dir DIR] [--torrent-url URL | --no-torrent-url]\n"
          "                            [--piece-size BYTES]\n\n"
          "On the online machine: hashes PKG, writes PKG.torrent (hybrid BitTorrent v1+v2, reproducible:\n"
          "no creation date, no web seeds), builds the magnet and writes the unsigned manifest draft\n"
          "P-C.manifest.draft, checked as a client would check it. Carry the draft and PKG to the offline\n"
          "machine and run `swarmup-publish sign`.\n\n"
          "options:\n"
          "  --file PKG             the release file (a plain file name goes into the manifest's File)\n"
          "  --product P            the product clients pin with --product ([a-z0-9][a-z0-9._-]*)\n"
          "  --channel C            its channel (default: stable)\n"
          "  --version V            the version shown to people (printable, at most 64 bytes)\n"
          "  --sequence N           a whole number >= 1, higher than every release of P/C before it:\n"
          "                         clients refuse a lower one (rollback)\n"
          "  --fallback URL         an https:// URL of PKG for clients that cannot use the swarm;\n"
          "                         repeatable (at most %d), tried in order\n"
          "  --tracker URL          a BitTorrent tracker announce URL, written into the torrent and the\n"
          "                         magnet; repeatable (at most %d)\n"
          "  --peer HOST:PORT       a seed clients connect to directly (the magnet's x.pe), e.g. your\n"
          "                         first `swarmup seed`; repeatable (at most %d)\n"
          "  --expires-days D       the manifest is valid for D days after signing, 1..3650 (default: 30);\n"
          "                         clients refuse it afterwards (freeze attack), so sign again before then\n"
          "  --out-dir DIR          where PKG.torrent and the draft go (default: PKG's directory)\n"
          "  --torrent-url URL      where clients can fetch PKG.torrent when no peer gives them the\n"
          "                         metadata (default: the first --fallback URL + \".torrent\")\n"
          "  --no-torrent-url       no Torrent: field (clients get the metadata from peers only)\n"
          "  --piece-size BYTES     the torrent's piece size: a power of two from 16K to 128M, e.g. 256K,\n"
          "                         4M (K = 1024; default: libtorrent's choice for the file's size)\n"
          "  -h, --help             show this help\n\n"
          "%s.\n",
          SW__PUB_LIST_MAX, SW__PUB_LIST_MAX, SW__PUB_LIST_MAX, sw__pub_exits);
}

void sw__pub_usage_sign(FILE *f) {
  fprintf(f,
          "usage: swarmup-publish sign --draft FILE --file PKG --key KEYID [--homedir GNUPGHOME] [--yes]\n"
          "                            [--out-dir DIR] [--name NAME]\n\n"
          "On the offline machine: recomputes PKG's size and SHA-256 and refuses if they differ from the\n"
          "draft, shows a checklist of everything about to be signed and asks for confirmation, stamps Date\n"
          "(now) and Expires (keeping the draft's validity), signs PKG with gpg into the Signature field,\n"
          "and writes NAME.manifest with its detached armored signature NAME.manifest.sig.\n"
          "Check with: gpg --verify NAME.manifest.sig NAME.manifest\n\n"
          "options:\n"
          "  --draft FILE           the draft `swarmup-publish make` wrote (P-C.manifest.draft)\n"
          "  --file PKG             the release file the draft describes\n"
          "  --key KEYID            the offline signing key (as gpg -u takes it: a fingerprint is best)\n"
          "  --homedir GNUPGHOME    gpg's home holding that key (default: gpg's own, $GNUPGHOME or ~/.gnupg)\n"
          "  --yes                  don't ask for confirmation (the checklist is still printed)\n"
          "  --out-dir DIR          where the signed manifest goes (default: the draft's directory)\n"
          "  --name NAME            its file name without .manifest (default: P-C, e.g. hello-stable)\n"
          "  -h, --help             show this help\n\n"
          "%s, 5 PKG does not match the draft (nothing signed).\n",
          sw__pub_exits);
}
