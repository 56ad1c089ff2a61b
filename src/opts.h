/* opts.h - command-line flags and the --config file, from one option table.
 *
 * The config file holds the same options as `key = value` lines (key = the
 * long flag name without "--"; `#` starts a comment line; booleans take
 * true/false/yes/no/1/0). Flags override the file; a list option given as a
 * flag replaces the file's list. An unknown key, a duplicate single-valued
 * key, a bad value or a line over SW_CONFIG_LINE_MAX is a configuration error
 * (exit 2) naming the file and line. */
#ifndef SW_OPTS_H
#define SW_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "sw_err.h"

#define SW_KEYS_MAX 16
#define SW_LIST_MAX 16

enum sw_cmd {
  SW_CMD_CHECK = 1 << 0,
  SW_CMD_VERIFY = 1 << 1,
  SW_CMD_FETCH = 1 << 2,
  SW_CMD_SEED = 1 << 3,
  SW_CMD_STATUS = 1 << 4
};

typedef struct sw_opts {
  const char *config;
  const char *manifest;
  const char *manifest_sig;
  const char *trusted_key[SW_KEYS_MAX];
  size_t n_trusted_key;
  const char *trusted_keys;    /* the anchor key statement shipped with the application (docs/keys.md) */
  const char *keys_url;        /* BASE of the published statements: https:// URL or a local directory */
  const char *product;
  const char *channel;
  const char *state_dir;
  const char *ca_file;
  uint64_t threshold;
  uint64_t max_clock_skew;
  uint64_t max_validity;       /* s after Date a manifest stays valid at most (0: Expires alone) */
  int json;
  int quiet;                   /* -q: only warnings and errors */
  int verbose;                 /* -v: more detail */
  int help;
  /* fetch and seed */
  const char *out;
  int no_fallback;
  int no_swarm;
  const char *exec;            /* run after install: CMD "$installed_path" */
  int copy;                    /* install a copy, never a hard link to the store's file */
  uint64_t low_speed_limit;    /* HTTPS: bytes/s ... */
  uint64_t low_speed_time;     /* ... for this long aborts (s) */
  uint64_t https_retries;      /* per Fallback URL, for transient errors */
  uint64_t min_rate;           /* HTTPS: bytes/s on average a transfer must reach (its deadline) */
  uint64_t seed_time;
  double seed_ratio;
  uint64_t upload_limit;       /* KiB/s, 0: unlimited */
  uint64_t download_limit;
  const char *listen;          /* "PORT" or "ADDR:PORT[,ADDR:PORT]" */
  int no_dht, no_lsd, no_utp, upnp, natpmp;
  int no_dht_bootstrap;        /* DHT without libtorrent's public router */
  const char *encryption;      /* enabled | forced | disabled */
  uint64_t swarm_timeout;      /* s */
  uint64_t http_delay;         /* s: the swarm's head start before HTTPS joins (scheduler.h) */
  int prefer_swarm;            /* background: a longer head start, HTTPS only for a swarm too slow */
  uint64_t stall_timeout;      /* s */
  uint64_t stall_rate;         /* bytes/s over --stall-timeout below which the swarm is stalled */
  int no_progress;
  /* seed */
  uint64_t poll;               /* s between manifest checks */
  uint64_t keep;               /* releases kept per product */
  const char *from;            /* adopt this local copy (must pass the gate) */
  int super_seed;              /* BEP 16 super-seeding (a publisher's first seed) */
  /* positional arguments (files for verify) */
  char **args;
  int n_args;
  /* internal: which options were set, and string storage */
  unsigned char set_by_flag[64];
  unsigned char set_by_config[64];
  void *strings;
} sw_opts;

/* Parse argv[0..argc) (argv[0] is the first argument after the command name)
 * for command cmd into *o (overwritten; defaults applied). */
sw_err sw_opts_parse(enum sw_cmd cmd, int argc, char **argv, sw_opts *o, char *msg, size_t msglen);
/* Parse a config file's text into *o for cmd (exposed for tests and fuzzing).
 * Parsing stops at the first line that starts with '[': sections are product
 * definitions read by `swarmup seed` (sw_opts_config_sections). */
sw_err sw_opts_parse_config(enum sw_cmd cmd, const char *name, const uint8_t *buf, size_t len,
                            sw_opts *o, char *msg, size_t msglen);
void sw_opts_free(sw_opts *o);
/* 1 if option name (long name without "--") was given by a flag or a config line. */
int sw_opts_given(const sw_opts *o, const char *name);
/* The rules between the trust options (usage errors, exit 2): --trusted-keys
 * and --trusted-key exclude each other, --threshold is not taken with
 * --trusted-keys (the statement's Threshold replaces it), --keys-url needs
 * --trusted-keys. */
sw_err sw_opts_check_trust(const sw_opts *o, char *msg, size_t msglen);
/* Fill *o with the defaults (what sw_opts_parse starts from). */
void sw_opts_defaults(sw_opts *o);
/* Forget which options a config layer set, so that a next layer (a [section])
 * may set them again. */
void sw_opts_new_config_layer(sw_opts *o);
/* Print the options of cmd, one per line with help text, to f. */
void sw_opts_print_help(enum sw_cmd cmd, void *f);

#endif
