/* swarmup fetch's internals, shared by the files of one command (not a public
 * interface): the state of one run, split by concern, and the sw__fetch_*
 * functions those files call in each other.
 *
 *   fetch.c         the command: --help, options, the manifest, the store
 *   fetch_machine.c the update machine's phases (drawn there), failure and
 *                   shutdown, the signals, the clock tick, the loop's setup,
 *                   run and teardown
 *   fetch_swarm.c   the swarm source: metadata, peers, trackers, stall check,
 *                   libtorrent's pieces
 *   fetch_sched.c   the two sources behind source.h and the scheduler's tick
 *   fetch_https.c   the HTTPS source: the Fallback URL list, retries, start
 *                   and stop, a bad piece from HTTPS
 *   fetch_https_file.c    file mode (.part), a copy the gate rejected
 *   fetch_https_pieces.c  pieces mode (handed to libtorrent), the .torrent
 *   fetch_gate.c    the streaming gate on the verified prefix
 *   fetch_install.c after the gate's verdict: the store marked verified, the
 *                   atomic install, the state, "installed"; or the bad bytes
 *                   discarded
 *   fetch_hook.c    --exec
 *   fetch_seed.c    seeding the verified copy afterwards
 *   fetch_report.c  the progress line, events, the byte tally and summary
 *
 * Everything runs on the loop thread except the gate (libuv's thread pool),
 * which shares only the fields of fetch_gate marked "under mu". */
#ifndef SW_FETCH_INT_H
#define SW_FETCH_INT_H

#include <stdint.h>
#include <uv.h>

#include "cmd.h"
#include "gate.h"
#include "http.h"
#include "install.h"
#include "release.h"
#include "scheduler.h"
#include "source.h"
#include "store.h"
#include "swarm.h"
#include "swopts.h"

#define SW_FILL_SPAN_MAX (16u << 20)     /* bytes per Range request in pieces mode, the swarm given up */
#define SW_MIXED_SPAN_MAX (4u << 20)     /* ... while the swarm runs too: the sources share the rest finely */
#define SW_SCHED_TICK_MS 250             /* the scheduler looks at the sources this often */
#define SW_TORRENT_FILE_MAX (16u << 20)  /* a .torrent fetched from the Torrent URL */
#define SW_FETCH_MSG_MAX 4096            /* fetch's final message: every source tried and why it failed */
#define SW_STALL_SAMPLES 40              /* (time, bytes) samples of the swarm's progress window */
#define SW_PART_SOURCE "part-source"     /* STORE/part-source: the URL that delivered STORE/<File>.part */

/* fetch.rep.src[piece]: SRC_NONE, or SRC_HTTPS + the index of the Fallback URL that
 * delivered it (pieces mode), for the summary and to blame a piece that fails. */
enum { SRC_NONE = 0, SRC_HTTPS = 1 };

/* PH_DOWNLOAD: the swarm and/or HTTPS deliver (fetch.https.active: HTTPS runs;
 * fetch.sw.t: the swarm's torrent is there), under the scheduler (fetch_sched.c). */
enum fetch_phase { PH_DOWNLOAD, PH_GATE, PH_SEED, PH_CLOSING };
enum https_mode { HM_NONE, HM_FILE, HM_PIECES };

/* The swarm source (fetch_swarm.c), and seeding afterwards (fetch_seed.c). */
typedef struct fetch_swarm {
  sw_swarm *swarm;
  sw_swarm_torrent *t;
  sw_swarm_status last;
  int have_metadata, peers_ever, peers_now, resets;
  int in_order;                /* libtorrent picks pieces in file order now (sw__fetch_piece_order) */
  uint64_t t_order;            /* when the peers were last looked at for it (ms) */
  uint64_t t_progress, t_seed;
  uint64_t last_done, seed_up_base;
  uint64_t t_all_failed;       /* when every magnet peer and tracker was last seen failed (0: not now) */
  /* what the swarm was told about, to see when all of it failed */
  size_t n_peers, n_trackers, peers_failed, trackers_failed;
  unsigned char peer_failed[SW_MAGNET_PEERS_MAX], tracker_failed[SW_MAGNET_TR_MAX];
  char swarm_why[SW_MSG_MAX];  /* why the swarm was left ("" while it was not) */
  int swarm_again;             /* the swarm alone again after every URL failed */
  uint64_t swarm_tpd_base, swarm_tpd_last; /* libtorrent's per-session payload count across restarts */
  /* the swarm's stall window: progress over the last --stall-timeout seconds */
  struct { uint64_t t, bytes; } stall_win[SW_STALL_SAMPLES];
  int stall_n, stall_head;
  int piece_len, num_pieces;
  sw_sched_rate rate;          /* the swarm's payload rate, sampled from a peer's first connection */
} fetch_swarm;

/* The HTTPS fallback (fetch_https.c). */
typedef struct fetch_https {
  sw_http *http;
  int active;                  /* HTTPS runs (beside the swarm, or alone) */
  int alongside;               /* started by the scheduler beside a running swarm */
  int meta_wait;               /* HTTPS waits for the .torrent to give the swarm its metadata first */
  int drop_swarm;              /* file mode beside the swarm: drop its torrent at HTTPS's first byte */
  int first_byte;              /* the first HTTPS payload byte was reported */
  uint8_t *assigned;           /* pieces mode: per piece, SW_SCHED_HTTPS while an HTTPS request holds it */
  sw_sched_rate rate;
  uv_timer_t retry;
  uint64_t t_switch;
  enum https_mode hmode;
  sw_http_req *req;
  size_t url_idx;
  unsigned attempt;
  char url_err[SW_MSG_MAX];
  /* Every source is tried at most once a run: a failed one is not asked again,
   * one that delivered rejected bytes is "bad" (bad_bytes: the run ends with
   * exit 5 if nothing else delivers). The final error lists them all. */
  unsigned char url_failed[SW_FALLBACK_MAX]; /* 0 untried or current, 1 failed, 2 delivered rejected bytes */
  char url_why[SW_FALLBACK_MAX][SW_MSG_MAX];
  int bad_bytes;
  sw_err last_err;
  int advance_after_cancel;    /* file mode: the next URL starts when the cancelled request is done */
  int part_url;                /* the URL whose bytes .part holds (STORE/part-source); -1: none */
  uint64_t resumed_part;       /* file mode: bytes .part held when this run took it up */
  int part_fd;
  uint64_t part_done;          /* file mode: contiguous bytes in .part */
  char part_path[2800];
  uint8_t *have;               /* pieces mode: pieces we have or handed to libtorrent */
  uint8_t *piece_buf;
  int req_first, req_last;     /* pieces of the request in flight */
  int req_pos;                 /* the piece it delivers now (req_first - 1 before its first byte) */
  int req_endgame;             /* it races the swarm for pieces the swarm is downloading */
  int req_yielded;             /* req_last was lowered: the swarm took the rest (sw__fetch_https_yield) */
  int req_cut;                 /* ... and the request was ended there, not failed */
  uint64_t req_start;
  int handed_failed;
  sw_http_req *treq;
  char torrent_why[SW_MSG_MAX]; /* why the Torrent URL gave no torrent ("": it did, or was not asked) */
  uint8_t *tbuf;
  size_t tlen;
  int tstate;                  /* the Torrent URL's answer: 0 not asked or in flight, 1 good, -1 none */
  uint8_t *tsigned;            /* tstate 1: its signed part, kept until HTTPS or the swarm needs it */
  size_t tsigned_len;
} fetch_https;

/* The streaming gate: the gate thread reads what is final while the download
 * runs (fetch_gate.c). */
typedef struct fetch_gate {
  uv_work_t work;
  sw_gate_verdict *gv;
  sw_err gate_err;
  uv_mutex_t mu;
  uv_cond_t cv;
  uint64_t avail;              /* bytes from 0 that are final (under mu) */
  uint64_t want;               /* the gate sleeps until avail reaches this (under mu) */
  int gate_cancel;             /* under mu */
  int gating;                  /* a gate job is running */
  int sync_ok;
  uint8_t *done;               /* pieces verified by libtorrent */
  int gate_pieces;             /* the gate follows the pieces libtorrent verified, in the store's
                                * file (not HTTPS's .part): with libtorrent's pread/pwrite disk I/O
                                * (src/swopts.c) a piece it reports verified is written there */
  int prefix;                  /* leading pieces libtorrent verified, published as avail (loop thread) */
  uint64_t read_at;            /* where the gate reads now (under mu): its deadline window starts there */
  int deadline_next;           /* next piece to give a deadline (the gate's window) */
  int gate_restart;            /* cancel the running gate and start it again (file mode) */
} fetch_gate;

/* The progress line and the summary (fetch_report.c). */
typedef struct fetch_report {
  int tty;
  uint64_t rate_bytes, rate_ms;  /* for the progress line's own rate */
  double rate;                   /* bytes/s, smoothed */
  uint64_t swarm_bytes, https_bytes; /* payload received this run (progress events): the swarm's, every URL's */
  /* the summary: who delivered which bytes of the file */
  uint8_t *src;                /* per piece: SRC_* (swarm and pieces mode) */
  uint8_t *refail;             /* per piece: SRC_HTTPS + the URL whose copy failed last, else 0 */
} fetch_report;

/* --exec (fetch_hook.c). */
typedef struct fetch_hook {
  uv_process_t proc;
  int exec_running, exec_status;
  char exec_msg[SW_MSG_MAX];
} fetch_hook;

typedef struct fetch {
  uv_loop_t loop;
  int loop_ok;                 /* loop was initialised: sw__fetch_close closes it */
  int handles_ok;              /* the machine's timers and signals too (sw__fetch_run) */
  sw_opts o;
  sw_pgp *pgp;
  sw_state *st;
  sw_release r;
  sw_state_rec rec;
  uv_signal_t sig_int, sig_term;
  uv_timer_t tick;
  sw_install inst;
  enum fetch_phase phase;
  uint64_t t_start;
  uint64_t t_sched;            /* the swarm's torrent added: the scheduler's clock starts */
  uint64_t t_cmd_ns;            /* uv_hrtime() when the command started (the manifest event's elapsed_ms) */
  int interrupted, from_store;
  int switched;                /* HTTPS has run in this run (beside the swarm or in its place): not again */
  sw_err result;
  char msg[SW_FETCH_MSG_MAX];
  sw_store_paths paths;
  char out_path[4096];
  int torrent_file_ok;         /* store/<File>.torrent holds the verified torrent */
  uv_timer_t sched_tick;       /* the scheduler (fetch_sched.c) */
  sw_source src_swarm, src_https;
  fetch_swarm sw;
  fetch_https https;
  fetch_gate gate;
  fetch_report rep;
  fetch_hook hook;
} fetch;

/* The summary: which source delivered which bytes of the file, and what was
 * received but is not in it. swarm + https + resumed is the file's size once it
 * is complete; discarded names the excess (partial or redundant swarm blocks,
 * pieces that failed their hashes, copies the gate rejected, HTTPS bytes of a
 * URL that failed before its copy was complete). */
typedef struct fetch_tally {
  uint64_t swarm;     /* delivered in this run by peers */
  uint64_t https;     /* delivered in this run over HTTPS (by the URL that completed the copy) */
  uint64_t resumed;   /* already in the store from an earlier run */
  uint64_t discarded; /* received in this run, not in the file */
} fetch_tally;

static inline int sw__fetch_bit(const uint8_t *b, int i) { return (b[i / 8] >> (i % 8)) & 1; }
/* HTTPS is fetching pieces for the torrent (not a whole file into .part). */
static inline int sw__fetch_https_pieces(const fetch *f) { return f->https.active && f->https.hmode == HM_PIECES; }
static inline void sw__fetch_set_bit(uint8_t *b, int i) { b[i / 8] |= (uint8_t)(1u << (i % 8)); }
static inline uint64_t sw__fetch_now_ms(fetch *f) { return uv_now(&f->loop); }

static inline uint64_t sw__fetch_piece_size(fetch *f, int i) {
  uint64_t start = (uint64_t)i * (uint64_t)f->sw.piece_len;
  uint64_t end = start + (uint64_t)f->sw.piece_len;
  if (end > f->r.m->size) end = f->r.m->size;
  return end - start;
}

/* fetch_machine.c: the first failure wins; then everything is closed. */
void sw__fetch_fail(fetch *f, sw_err err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sw__fetch_shutdown(fetch *f);
/* Open the run's loop and its one HTTPS client (fetch.https.http), before the
 * manifest is read, so that the manifest, its signature, the .torrent and the
 * payload's requests all go through one client, and a request after a pause
 * (HTTPS joining the swarm a second later) finds the TLS connection to the
 * origin open. sw__fetch_close closes both, whatever happened in between. */
sw_err sw__fetch_open_loop(fetch *f, char *msg, size_t msglen);
/* Run the update machine on a prepared fetch (fetch.c) on the loop
 * sw__fetch_open_loop opened: set up its handles, run it until everything is
 * closed. Returns its result, the message in msg.
 * sw__fetch_close then closes the loop and frees the machine's buffers (call
 * it whatever sw__fetch_run returned, or if it was never called). */
sw_err sw__fetch_run(fetch *f, char *msg, size_t msglen);
void sw__fetch_close(fetch *f);

/* fetch_swarm.c */
void sw__fetch_swarm_callbacks(fetch *f, sw_swarm_callbacks *cb);
sw_err sw__fetch_swarm_add(fetch *f, const uint8_t *torrent, size_t torrent_len, char *msg, size_t msglen);
void sw__fetch_swarm_tick(fetch *f, uint64_t now);
void sw__fetch_swarm_sample(fetch *f, uint64_t now);
void sw__fetch_stall_reset(fetch *f);

/* fetch_sched.c: the sources behind source.h, and the scheduler's tick */
void sw__fetch_sched_init(fetch *f);
void sw__fetch_sched_start(fetch *f);

/* fetch_https.c */
/* The swarm is given up (a timeout, a stall, every peer failed, an error):
 * HTTPS takes what is missing, the swarm's torrent stays only in pieces mode. */
void sw__fetch_switch_to_https(fetch *f, const char *reason);
/* The scheduler starts HTTPS beside the swarm. */
void sw__fetch_https_alongside(fetch *f, const char *reason);
void sw__fetch_https_yield(fetch *f, int piece);
void sw__fetch_https_stop(fetch *f);
void sw__fetch_mirror_rejected(fetch *f);
void sw__fetch_on_piece_failed(void *arg, sw_swarm_torrent *t, void *t_arg, int piece);

void sw__fetch_https_next(fetch *f);
void sw__fetch_https_failed(fetch *f, sw_err err, const char *msg);
void sw__fetch_https_advance(fetch *f);
void sw__fetch_url_fail(fetch *f, size_t u, int bad, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* fetch_https_file.c */
sw_err sw__fetch_part_restart(fetch *f);
void sw__fetch_file_begin(fetch *f);
int sw__fetch_file_request(fetch *f, sw_http_get *g);

/* fetch_https_pieces.c */
void sw__fetch_pieces_begin(fetch *f);
int sw__fetch_pieces_request(fetch *f, sw_http_get *g);
void sw__fetch_give_back(fetch *f, int first, int last);
void sw__fetch_torrent_fetch(fetch *f);
void sw__fetch_torrent_prefetch(fetch *f);
void sw__fetch_torrent_ready(fetch *f);
void sw__fetch_torrent_failed(fetch *f);

/* fetch_gate.c */
void sw__fetch_start_gate(fetch *f);
void sw__fetch_set_avail(fetch *f, uint64_t bytes);
void sw__fetch_cancel_gate(fetch *f);
void sw__fetch_gate_reset(fetch *f);
void sw__fetch_pump_pieces(fetch *f);
/* fetch_gate.c: which order libtorrent picks pieces in (scheduler.h sw_sched_in_order). */
void sw__fetch_piece_order(fetch *f, int num_peers, int num_seeds);

/* fetch_install.c: the gate has read every byte; install what it accepted
 * (then --exec), or discard what it rejected. */
void sw__fetch_install(fetch *f);

/* fetch_hook.c */
void sw__fetch_run_exec(fetch *f);

/* fetch_seed.c */
void sw__fetch_start_seeding(fetch *f);
void sw__fetch_seed_tick(fetch *f, uint64_t now);

/* fetch_report.c */
void sw__fetch_event(fetch *f, const char *event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sw__fetch_fmt_bytes(uint64_t b, char *out, size_t cap);
void sw__fetch_https_bytes(fetch *f, size_t len);
void sw__fetch_show_progress(fetch *f);
void sw__fetch_tally(fetch *f, fetch_tally *t);
void sw__fetch_sources_text(fetch *f, char *out, size_t cap);
void sw__fetch_sources_list(fetch *f, char *out, size_t cap);

#endif
