/* publish.h - private to the files of swarmup-publish make|sign:
 *
 *   publish.c        options and the make|sign|keys|version|help dispatch
 *   publish_help.c   the help texts
 *   publish_make.c   `make` (online machine): torrent, magnet, manifest draft
 *   publish_sign.c   `sign` (offline machine): checklist, package and manifest signatures
 *
 * `keys` is publish_keys.h (pubkeys_*.c); helpers shared by all are in
 * pubutil.h, the gpg runner in pubgpg.h. The commands return the process
 * exit code. */
#ifndef SW_PUBLISH_H
#define SW_PUBLISH_H

#include <stddef.h>
#include <stdio.h>

/* --fallback, --tracker, --peer: at most this many each. */
#define SW__PUB_LIST_MAX 16

typedef struct sw__pub_opts {
  const char *file, *product, *channel, *version, *sequence, *expires_days, *out_dir, *torrent_url, *piece_size;
  const char *draft, *key, *homedir, *name;
  const char *fallback[SW__PUB_LIST_MAX];
  size_t n_fallback;
  const char *tracker[SW__PUB_LIST_MAX];
  size_t n_tracker;
  const char *peer[SW__PUB_LIST_MAX];
  size_t n_peer;
  int yes, no_torrent_url, help;
} sw__pub_opts;

#ifndef SW_VERSION_STRING
#define SW_VERSION_STRING "0"
#endif

/* The help texts (publish_help.c): the commands, and each command's flags. */
void sw__pub_usage(FILE *f);
void sw__pub_usage_make(FILE *f);
void sw__pub_usage_sign(FILE *f);

int sw__pub_make(sw__pub_opts *o);
int sw__pub_sign(sw__pub_opts *o);

#endif
