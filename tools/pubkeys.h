/* pubkeys.h - private to the files of `swarmup-publish keys` (pubkeys_*.c);
 * the command's entry point is publish_keys.h.
 *
 *   pubkeys_main.c   usage texts and the init|rotate|sign dispatch
 *   pubkeys_opt.c    command-line options and their values (fingerprints, counts, days)
 *   pubkeys_gpg.c    the gpg home: exporting a Keyring, listing one back, user IDs
 *   pubkeys_stmt.c   statement text from sw_keys (checked by parsing it back), files
 *   pubkeys_draft.c  `keys init` and `keys rotate`: statement 1 and the draft N+1
 *   pubkeys_sign.c   `keys sign`: the offline checklist, gpg, and the self-check
 *
 * Every function that fails prints one line (sw__pub_die) and returns the
 * process exit code: 1 failure (gpg, files, memory), 2 usage error. */
#ifndef SW_PUBKEYS_H
#define SW_PUBKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "sw_limits.h"

enum sw__pub_keys_cmd { SW__PUB_KEYS_INIT = 1, SW__PUB_KEYS_ROTATE = 2, SW__PUB_KEYS_SIGN = 4 };

/* Base64 of a full Keyring, one line, NUL included. */
#define SW__PUB_KEYS_B64_MAX (4 * ((SW_KEYS_KEYRING_MAX + 2) / 3) + 1)

typedef struct sw__pub_keys_opts {
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
} sw__pub_keys_opts;

/* What gpg says about one primary key of a Keyring. */
typedef struct sw__pub_ring_key {
  char fpr[41];
  char validity; /* gpg's field 2: 'r' revoked, 'e' expired */
  int64_t expires; /* 0: never */
  char uid[96];  /* first user ID, printable ASCII only */
} sw__pub_ring_key;

typedef struct sw__pub_ring_list {
  size_t n;
  sw__pub_ring_key k[2 * SW_KEYS_FPR_MAX];
} sw__pub_ring_list;

/* Parse argv[0..argc) (after the subcommand) for cmd into o. */
int sw__pub_keys_parse_args(int cmd, int argc, char **argv, sw__pub_keys_opts *o);
/* A 40-hex v4 fingerprint in either case into upper case; -1 if not one. */
int sw__pub_keys_fpr_norm(const char *in, char out[41]);
/* Append the fingerprint arg to list[0..*n) (distinct, at most
 * SW_KEYS_FPR_MAX); what names the option in messages. */
int sw__pub_keys_add_fpr(char (*list)[41], size_t *n, const char *arg, const char *what);
/* A count 1..SW_THRESHOLD_MAX (what names the option). */
int sw__pub_keys_count(const char *s, const char *what, unsigned *out);
/* --expires-days (required, 1..3650) in seconds. */
int sw__pub_keys_days(const char *s, int64_t *out);

/* `gpg --export` (minimal) of fprs[0..n) into buf (at most cap bytes). */
int sw__pub_keys_export(const char *homedir, const char (*fprs)[41], size_t n, uint8_t *buf, size_t cap,
                        size_t *len);
/* The same into k->keyring. */
int sw__pub_keys_export_ring(const char *homedir, const char (*fprs)[41], size_t n, sw_keys *k);
/* The primary keys of ring[0..len) as gpg reads them (nothing imported). */
int sw__pub_keys_list(const char *homedir, const uint8_t *ring, size_t len, sw__pub_ring_list *out);
/* The key fpr of rl, or NULL. */
const sw__pub_ring_key *sw__pub_keys_ring_find(const sw__pub_ring_list *rl, const char *fpr);
/* k's Keyring must hold exactly its Key and Next primaries, none revoked or
 * expired; lists it into rl. */
int sw__pub_keys_check_ring(const char *homedir, const sw_keys *k, sw__pub_ring_list *rl);

/* Statement text of k (Keyring already in k) and floor_text into
 * text[0..cap), parsed back before it is accepted; length in *len. */
int sw__pub_keys_build(const sw_keys *k, const char *floor_text, char *text, size_t cap, size_t *len);
/* Write text to dir/name, never over an existing file. */
int sw__pub_keys_save(const char *dir, const char *name, const char *text, size_t len);
/* Read and parse the statement file path into k. */
int sw__pub_keys_read(const char *path, sw_keys *k);

/* The subcommands; each returns the process exit code. */
int sw__pub_keys_init(sw__pub_keys_opts *o);
int sw__pub_keys_rotate(sw__pub_keys_opts *o);
int sw__pub_keys_sign(sw__pub_keys_opts *o);

#endif
