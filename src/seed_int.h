/* swarmup seed's internals, shared by the files of one command (not a public
 * interface): the seeder, its products and their releases, and the sw__seed_*
 * functions those files call in each other.
 *
 *   seed.c           the command: --help, options, setup, the clock tick, the
 *                    signals (SIGHUP reloads --config), the shutdown
 *   seed_products.c  the products from --config and the flags: built, started,
 *                    dropped, freed
 *   seed_poll.c      a product's poll: the key statements, the manifest, a new
 *                    release accepted into the store
 *   seed_store.c     the releases the store already holds, re-checked at start
 *   seed_download.c  a release downloaded from the swarm
 *   seed_gate.c      a release's payload gate (a download, or the --from copy)
 *   seed_rel.c       a release in the session: added, seeded, removed, pruned
 *   seed_report.c    the log lines and events, uploads, the seeding record
 *
 * Everything runs on the loop thread except the gate and the store's re-check
 * (gate_work, scan_work) and the manifest's verification (libuv's thread pool);
 * seed_prod.busy counts them: a product is freed only when none is in flight. */
#ifndef SW_SEED_INT_H
#define SW_SEED_INT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cmd.h"
#include "gate.h"
#include "http.h"
#include "release.h"
#include "safedir.h"
#include "seedcfg.h"
#include "seedrec.h"
#include "store.h"
#include "swarm.h"

#define SEED_PRODUCTS_MAX SW_SEEDCFG_SECTIONS_MAX
#define SEED_REL_MAX 64
#define SEED_TORRENT_MAX (16u << 20) /* a .torrent we read back from our own store */

enum rel_state { REL_DOWNLOADING, REL_GATING, REL_SEEDING };

typedef struct seeder seeder;
typedef struct seed_prod seed_prod;

typedef struct seed_rel {
  seed_prod *p;
  uint64_t seq;
  enum rel_state state;
  sw_swarm_torrent *t;
  sw_manifest *m;          /* the accepted manifest of this release (NULL for one found in the store) */
  sw_store_paths paths;
  uv_work_t work;
  sw_gate_verdict *gv;
  sw_err work_err;
  int adopted;             /* came from --from */
  int torrent_ok;          /* the regenerated torrent matched the signed btmh */
  uint64_t uploaded;       /* payload bytes sent to peers since it was added (libtorrent's count) */
  uint64_t reported;       /* the last count reported */
  uint64_t t_reported;     /* when (loop ms) */
  uint64_t base;           /* uploaded by earlier runs (the last seeding record), counted once known */
  int base_set;
  int peers;
  uint8_t *tbuf;           /* the stored .torrent, checked against the btmh, until handed to the swarm */
  size_t tlen;
  int refused;             /* store re-check: 1 refused (say why), 2 skipped quietly (a partial download) */
  char msg[SW_MSG_MAX];
} seed_rel;

struct seed_prod {
  seeder *sd;
  char label[80];
  sw_opts o;
  sw_pgp *pgp;
  sw_release r;
  int loading;
  uint64_t next_poll;
  seed_rel *rel[SEED_REL_MAX];
  size_t n_rel;
  int busy;                /* works in flight: the product can't be freed until 0 */
  int dead;                /* removed by a reload: free when not busy */
  int rewalked;            /* polled again at once since the last accepted load (see rewalk) */
  uint64_t keys_version;   /* with --trusted-keys: the statement p->pgp was opened from (prod_keys) */
  sw_seedrec prev;         /* the seeding record found at start (uploads of earlier runs) */
  int have_prev;
  uint64_t rec_at;         /* loop ms of the last record written */
  int rec_warned;
};

struct seeder {
  uv_loop_t loop;
  sw_opts g;
  char statedir[2048];
  sw_dir root;             /* the checked state dir (safedir.h), held for the seeder's life */
  const char *config_path;
  sw_http *http;
  sw_swarm *swarm;
  uv_signal_t s_int, s_term, s_hup;
  uv_timer_t tick;
  seed_prod *prod[SEED_PRODUCTS_MAX];
  size_t n_prod;
  int closing;
  int argc;
  char **argv;
};

/* seed_report.c: text lines or --json events; uploads; STATE/<product>/<channel>/seeding */
/* One text line, or a --json event, about p's release seq (p NULL: the seeder;
 * seq 0: the product). -q keeps errors, warnings, refusals and rejections. */
void sw__seed_log(seeder *sd, const char *event, const seed_prod *p, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void sw__seed_prod_write_rec(seed_prod *p, int running);
void sw__seed_rel_final_upload(seed_rel *r);
void sw__seed_on_status(void *arg, sw_swarm_torrent *t, void *t_arg, const sw_swarm_status *st);

/* seed_rel.c */
seed_rel *sw__seed_rel_new(seed_prod *p, uint64_t seq);
void sw__seed_rel_free(seed_rel *r);
seed_rel *sw__seed_prod_find(seed_prod *p, uint64_t seq);
/* r leaves p and the session (its last upload reported), its store files too
 * with delete_files; r is freed. */
void sw__seed_prod_remove_rel(seed_prod *p, seed_rel *r, int delete_files);
void sw__seed_prod_prune(seed_prod *p);
sw_err sw__seed_rel_add_seed(seed_rel *r, char *msg, size_t msglen);

/* seed_gate.c */
/* The payload gate on the thread pool (REL_GATING); p->busy counts it. */
void sw__seed_start_gate(seed_rel *r);

/* seed_download.c: the swarm callbacks (the session's, set in seed.c) and a download */
void sw__seed_start_download(seed_rel *r);
void sw__seed_on_finished(void *arg, sw_swarm_torrent *t, void *t_arg);
void sw__seed_on_error(void *arg, sw_swarm_torrent *t, void *t_arg, sw_err err, const char *msg);

/* seed_poll.c */
/* A poll now, unless a load is in flight (and the next one in --poll seconds). */
void sw__seed_prod_poll(seed_prod *p);

/* seed_store.c */
void sw__seed_prod_scan_store(seed_prod *p);

/* seed_products.c */
/* p and its releases (their torrents leave the session); only with p->busy 0. */
void sw__seed_prod_free(seed_prod *p);
sw_err sw__seed_load_products(seeder *sd, char *msg, size_t msglen);
void sw__seed_products_start(seeder *sd);
/* Every product leaves (SIGHUP, shutdown): last uploads and records written;
 * each freed now, or by its last work in flight (dead). */
void sw__seed_products_drop(seeder *sd);

#endif
