/* swarmup fetch: manifest -> swarm -> HTTPS fallback -> payload gate ->
 * atomic install -> --exec hook -> seeding, on one libuv loop. The gate runs
 * on libuv's thread pool; everything else runs on the loop thread.
 *
 * Where bytes live: downloads go into the release's store directory under the
 * state dir (STATE/<product>/<channel>/store/<sequence>/), never into --out.
 * The gate reads the store copy once, and the very bytes it checks are written
 * into an unnamed file in --out (install.h) that gets its name only after the
 * gate accepted them. The store copy stays for seeding, marked verified.
 *
 * When the swarm does not deliver (no metadata or no peer within
 * --swarm-timeout, less than --stall-rate over the last --stall-timeout, or
 * every magnet peer and tracker failed: at once), the HTTPS fallback takes over:
 *  - pieces mode, when the swarm already delivered verified pieces: only the
 *    missing pieces are fetched (Range requests over runs of missing pieces)
 *    and handed to libtorrent (add_piece), which checks each against the v1
 *    and v2 piece hashes before writing it; the result is a normal, seedable
 *    torrent;
 *  - file mode, when the swarm delivered nothing (or --no-swarm): the file is
 *    fetched into STORE/<File>.part (resumed with a Range request after an
 *    interruption, only from the URL that delivered it: STORE/part-source) and
 *    renamed into place when complete.
 * Either way the whole file then goes through the same payload gate. Each
 * Fallback URL is tried at most once a run: one that fails, misses its
 * deadline or delivers rejected bytes is not asked again, rejected bytes are
 * deleted, and the next URL goes on in the same run; the final error lists
 * every source tried and why it failed. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "cmd.h"
#include "fsutil.h"
#include "gate.h"
#include "http.h"
#include "install.h"
#include "out.h"
#include "release.h"
#include "store.h"
#include "swarm.h"
#include "swopts.h"

#define SW_FILL_SPAN_MAX (16u << 20)     /* bytes per Range request in pieces mode */
#define SW_TORRENT_FILE_MAX (16u << 20)  /* a .torrent fetched from the Torrent URL */
#define SW_PIECE_RING 16                 /* pieces read ahead for the streaming gate */
#define SW_FETCH_MSG_MAX 4096            /* fetch's final message: every source tried and why it failed */
#define SW_STALL_SAMPLES 40              /* (time, bytes) samples of the swarm's progress window */
#define SW_PART_SOURCE "part-source"     /* STORE/part-source: the URL that delivered STORE/<File>.part */

/* fetch.src[piece]: SRC_NONE, or SRC_HTTPS + the index of the Fallback URL that
 * delivered it (pieces mode), for the summary and to blame a piece that fails. */
enum { SRC_NONE = 0, SRC_HTTPS = 1 };

enum fetch_phase { PH_SWARM, PH_HTTPS, PH_GATE, PH_SEED, PH_CLOSING };
enum https_mode { HM_NONE, HM_FILE, HM_PIECES };

typedef struct fetch {
  uv_loop_t loop;
  sw_opts o;
  sw_pgp *pgp;
  sw_state *st;
  sw_release r;
  sw_state_rec rec;
  sw_swarm *swarm;
  sw_swarm_torrent *t;
  sw_http *http;
  uv_signal_t sig_int, sig_term;
  uv_timer_t tick, retry;
  uv_work_t work;
  uv_process_t proc;
  sw_install inst;
  sw_gate_verdict *gv;
  sw_err gate_err;
  enum fetch_phase phase;
  uint64_t t_start, t_progress, t_seed, t_switch;
  uint64_t last_done, seed_up_base;
  uint64_t swarm_bytes, https_bytes; /* payload received this run (progress events): the swarm's, every URL's */
  int have_metadata, peers_ever, peers_now, interrupted, switched, from_store, resets;
  uint64_t t_all_failed;
  uint64_t rate_bytes, rate_ms;  /* for the progress line's own rate */
  double rate;                   /* bytes/s, smoothed */       /* when every magnet peer and tracker was last seen failed (0: not now) */
  sw_swarm_status last;
  sw_err result;
  char msg[SW_FETCH_MSG_MAX];
  sw_store_paths paths;
  char out_path[4096];
  char part_path[2800];
  int tty;
  /* what the swarm was told about, to see when all of it failed */
  size_t n_peers, n_trackers, peers_failed, trackers_failed;
  unsigned char peer_failed[SW_MAGNET_PEERS_MAX], tracker_failed[SW_MAGNET_TR_MAX];
  /* HTTPS */
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
  char swarm_why[SW_MSG_MAX];  /* why the swarm was left ("" while it was not) */
  int swarm_again;             /* back on the swarm after every URL failed (pieces mode) */
  int advance_after_cancel;    /* file mode: the next URL starts when the cancelled request is done */
  int part_url;                /* the URL whose bytes .part holds (STORE/part-source); -1: none */
  /* the summary: who delivered which bytes of the file */
  uint8_t *src;                /* per piece: SRC_* (swarm and pieces mode) */
  uint64_t resumed_part;       /* file mode: bytes .part held when this run took it up */
  uint64_t swarm_tpd_base, swarm_tpd_last; /* libtorrent's per-session payload count across restarts */
  /* the swarm's stall window: progress over the last --stall-timeout seconds */
  struct { uint64_t t, bytes; } stall_win[SW_STALL_SAMPLES];
  int stall_n, stall_head;
  int part_fd;
  uint64_t part_done;          /* file mode: contiguous bytes in .part */
  int piece_len, num_pieces;
  uint8_t *have;               /* pieces mode: pieces we have or handed to libtorrent */
  uint8_t *piece_buf;
  int req_first, req_last;     /* pieces of the request in flight */
  uint64_t req_start;
  int handed_failed;
  int torrent_file_ok;         /* store/<File>.torrent holds the verified torrent */
  sw_http_req *treq;
  uint8_t *tbuf;
  size_t tlen;
  /* the streaming gate: the gate thread reads what is final while the download runs */
  uv_mutex_t mu;
  uv_cond_t cv;
  uint64_t avail;              /* bytes from 0 that are final (under mu) */
  int gate_cancel;             /* under mu */
  int gating;                  /* a gate job is running */
  int sync_ok;
  uint8_t *done;               /* pieces verified by libtorrent */
  int gate_pieces;             /* the gate reads pieces handed over by libtorrent (not the file) */
  struct { int piece; uint8_t *data; size_t len; } ring[SW_PIECE_RING]; /* under mu */
  int consumed;                /* pieces the gate has used up (under mu) */
  int next_req;                /* next piece to ask libtorrent for (loop thread) */
  int deadline_next;           /* next piece to give a deadline (the gate's window) */
  int gate_restart;            /* cancel the running gate and start it again (file mode) */
  uv_async_t pump;             /* the gate used up a piece: ask for more */
  int pump_ok;
  /* --exec */
  int exec_running, exec_status;
  char exec_msg[SW_MSG_MAX];
} fetch;

static void fetch_shutdown(fetch *f);
static void https_next(fetch *f);
static void stall_reset(fetch *f);
static void start_gate(fetch *f);
static int bit(const uint8_t *b, int i) { return (b[i / 8] >> (i % 8)) & 1; }
static void set_bit(uint8_t *b, int i) { b[i / 8] |= (uint8_t)(1u << (i % 8)); }

static void fetch_event(fetch *f, const char *event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A line for people (stderr) or a JSON event (stdout). */
static void fetch_event(fetch *f, const char *event, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (f->o.json) {
    sw_json_event(event, NULL, NULL, 0, text);
  } else {
    if (f->tty) fputs("\r\033[K", stderr);
    fprintf(stderr, "%s\n", text);
  }
}

/* First failure wins; then everything is closed. */
static void fetch_fail(fetch *f, sw_err err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fetch_fail(fetch *f, sw_err err, const char *fmt, ...) {
  va_list ap;
  if (f->result == SW_OK) {
    f->result = err;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
  }
  fetch_shutdown(f);
}

static uint64_t now_ms(fetch *f) { return uv_now(&f->loop); }

static void fmt_bytes(uint64_t b, char *out, size_t cap) {
  if (b >= 1024ull * 1024 * 1024) snprintf(out, cap, "%.2f GiB", (double)b / (1024.0 * 1024 * 1024));
  else if (b >= 1024ull * 1024) snprintf(out, cap, "%.1f MiB", (double)b / (1024.0 * 1024));
  else if (b >= 1024) snprintf(out, cap, "%.1f KiB", (double)b / 1024.0);
  else snprintf(out, cap, "%" PRIu64 " B", b);
}

/* Bytes of the file we have, whichever source. */
static uint64_t have_bytes(fetch *f) {
  if (f->hmode == HM_FILE) return f->part_done;
  return f->last.bytes_done;
}

static void show_progress(fetch *f) {
  uint64_t done = have_bytes(f), size = f->r.m->size, now = now_ms(f);
  /* Our own rate from the bytes we have, whichever source (libtorrent's
   * payload rate is a long average and knows nothing of HTTPS). */
  if (f->rate_ms && now > f->rate_ms && done >= f->rate_bytes) {
    double inst = (double)(done - f->rate_bytes) * 1000.0 / (double)(now - f->rate_ms);
    f->rate = f->rate > 0 ? 0.5 * f->rate + 0.5 * inst : inst;
  }
  f->rate_bytes = done;
  f->rate_ms = now;
  if (f->o.json) {
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", f->phase == PH_SEED ? "seeding" : "progress");
    sw_json_str(&j, "source", f->phase == PH_HTTPS ? "https" : "swarm");
    sw_json_u64(&j, "bytes", done);
    sw_json_u64(&j, "size", size);
    sw_json_u64(&j, "swarm_bytes", f->swarm_bytes);
    sw_json_u64(&j, "https_bytes", f->https_bytes);
    sw_json_i64(&j, "download_rate", (int64_t)f->rate);
    sw_json_i64(&j, "upload_rate", f->last.upload_rate);
    sw_json_u64(&j, "uploaded", f->last.total_payload_upload);
    sw_json_i64(&j, "peers", f->last.num_peers);
    sw_json_end(&j);
    return;
  }
  if (!f->tty || f->o.no_progress) return;
  char a[32], b[32], rate[32], eta[32] = "--:--";
  if (f->phase == PH_SEED) {
    fmt_bytes(f->last.total_payload_upload, a, sizeof a);
    fmt_bytes((uint64_t)f->last.upload_rate, rate, sizeof rate);
    fprintf(stderr, "\r\033[Kseeding: %s uploaded, %s/s, %d peers", a, rate, f->last.num_peers);
    fflush(stderr);
    return;
  }
  double frac = size ? (double)done / (double)size : 0;
  int bar = (int)(frac * 24);
  fmt_bytes(done, a, sizeof a);
  fmt_bytes(size, b, sizeof b);
  fmt_bytes((uint64_t)f->rate, rate, sizeof rate);
  if (f->rate >= 1) {
    uint64_t left = (uint64_t)((double)(size - done) / f->rate);
    snprintf(eta, sizeof eta, "%" PRIu64 ":%02" PRIu64, left / 60, left % 60);
  }
  fputs("\r\033[K[", stderr);
  for (int i = 0; i < 24; i++) fputc(i < bar ? '#' : '.', stderr);
  if (f->phase == PH_HTTPS)
    fprintf(stderr, "] %5.1f%% %s/%s %s/s over HTTPS ETA %s", frac * 100, a, b, rate, eta);
  else
    fprintf(stderr, "] %5.1f%% %s/%s %s/s %d peers ETA %s", frac * 100, a, b, rate, f->last.num_peers, eta);
  fflush(stderr);
}

static uint64_t piece_size(fetch *f, int i);

/* The summary: which source delivered which bytes of the file, and what was
 * received but is not in it. swarm + https + resumed is the file's size once it
 * is complete; discarded names the excess (partial or redundant swarm blocks,
 * pieces that failed their hashes, copies the gate rejected, HTTPS bytes of a
 * URL that failed before its copy was complete). */
typedef struct tally {
  uint64_t swarm;     /* delivered in this run by peers */
  uint64_t https;     /* delivered in this run over HTTPS (by the URL that completed the copy) */
  uint64_t resumed;   /* already in the store from an earlier run */
  uint64_t discarded; /* received in this run, not in the file */
} tally;

static void tally_bytes(fetch *f, tally *t) {
  uint64_t size = f->r.m->size, got_swarm = f->swarm_bytes, got_https = f->https_bytes;
  memset(t, 0, sizeof *t);
  if (f->from_store) {
    t->resumed = size;
  } else if (f->hmode == HM_FILE) {
    t->resumed = f->resumed_part <= f->part_done ? f->resumed_part : f->part_done;
    t->https = f->part_done - t->resumed;
  } else {
    /* Pieces from HTTPS are known one by one. The rest came from peers, in this
     * run or an earlier one: libtorrent cannot tell the pieces it checks on
     * disk from those it downloads (both raise piece events), so the swarm's
     * share of this run is what it sent in this run, up to what the file
     * needed; the rest was on disk already. */
    if (f->src != NULL)
      for (int i = 0; i < f->num_pieces; i++)
        if (f->src[i] >= SRC_HTTPS) t->https += piece_size(f, i);
    if (t->https > size) t->https = size;
    t->swarm = got_swarm < size - t->https ? got_swarm : size - t->https;
    t->resumed = size - t->https - t->swarm;
  }
  t->discarded = (got_https > t->https ? got_https - t->https : 0) + (got_swarm > t->swarm ? got_swarm - t->swarm : 0);
}

/* Which sources delivered the bytes, for messages. */
static void sources_text(fetch *f, char *out, size_t cap) {
  char s[32], h[32], r[32] = "", d[32] = "";
  tally t;
  int n;
  tally_bytes(f, &t);
  fmt_bytes(t.swarm, s, sizeof s);
  fmt_bytes(t.https, h, sizeof h);
  if (t.https && f->url_idx < f->r.m->n_fallback)
    n = snprintf(out, cap, "%s from the swarm, %s over HTTPS from %.300s", s, h, f->r.m->fallback[f->url_idx]);
  else
    n = snprintf(out, cap, "%s from the swarm, %s over HTTPS", s, h);
  if (n < 0 || (size_t)n >= cap) return;
  if (t.resumed) fmt_bytes(t.resumed, r, sizeof r);
  if (t.discarded) fmt_bytes(t.discarded, d, sizeof d);
  snprintf(out + n, cap - (size_t)n, "%s%s%s%s%s", t.resumed ? ", " : "", r, t.resumed ? " from an earlier run" : "",
           t.discarded ? "; " : "", t.discarded ? d : "");
  if (t.discarded) {
    n = (int)strlen(out);
    snprintf(out + n, cap - (size_t)n, " received and discarded");
  }
}

/* Every source tried in this run and why it failed, for the final error. */
static void sources_list(fetch *f, char *out, size_t cap) {
  size_t n = 0;
  int k;
  out[0] = '\0';
  if (f->swarm_why[0]) {
    k = snprintf(out, cap, "swarm: %.300s", f->swarm_why);
    if (k < 0 || (size_t)k >= cap) return;
    n = (size_t)k;
  }
  for (size_t i = 0; i < f->r.m->n_fallback; i++) {
    if (!f->url_failed[i]) continue;
    /* A bad source's reason names it already ("N over HTTPS from URL: ..."). */
    if (f->url_failed[i] == 2)
      k = snprintf(out + n, cap - n, "%s%.700s", n ? "; " : "", f->url_why[i]);
    else
      k = snprintf(out + n, cap - n, "%s%.300s: %.400s", n ? "; " : "", f->r.m->fallback[i], f->url_why[i]);
    if (k < 0 || (size_t)k >= cap - n) return;
    n += (size_t)k;
  }
}

/* ---- seeding, exec ------------------------------------------------------------ */

static void start_seeding(fetch *f) {
  char msg[SW_MSG_MAX];
  if (f->o.seed_time == 0 || f->swarm == NULL) {
    if (f->swarm == NULL && f->o.seed_time && !f->o.no_swarm)
      fetch_event(f, "done", "not seeding: no swarm session");
    fetch_shutdown(f);
    return;
  }
  if (f->t == NULL) {
    /* File mode: seed the verified file if we hold its (verified) torrent. */
    uint8_t *tb = NULL;
    size_t tl = 0;
    sw_swarm_seed sd;
    const char *tr[SW_MAGNET_TR_MAX];
    if (!f->torrent_file_ok ||
        sw_store_read_torrent(&f->paths, f->r.m, SW_TORRENT_FILE_MAX, &tb, &tl, msg, sizeof msg) != SW_OK) {
      if (f->torrent_file_ok) fetch_event(f, "done", "not seeding: %s", msg);
      else fetch_event(f, "done", "not seeding: no torrent file for this release");
      fetch_shutdown(f);
      return;
    }
    memset(&sd, 0, sizeof sd);
    for (size_t i = 0; i < f->r.m->magnet.n_tr; i++) tr[i] = f->r.m->magnet.tr[i];
    sd.torrent = tb;
    sd.torrent_len = tl;
    sd.save_dir = f->paths.dir;
    sd.trackers = tr;
    sd.n_trackers = f->r.m->magnet.n_tr;
    if (sw_swarm_add_seed(f->swarm, &sd, &f->t, msg, sizeof msg) != SW_OK) {
      free(tb);
      fetch_event(f, "done", "not seeding: %s", msg);
      fetch_shutdown(f);
      return;
    }
    free(tb);
  }
  f->phase = PH_SEED;
  f->t_seed = now_ms(f);
  f->seed_up_base = f->last.total_payload_upload;
  fetch_event(f, "seeding", "seeding the verified copy for up to %" PRIu64 " s%s (Ctrl-C stops)", f->o.seed_time,
              f->o.seed_ratio > 0 ? " or until the ratio is reached" : "");
}

static void exec_closed(uv_handle_t *h) {
  fetch *f = h->data;
  start_seeding(f);
}

static void exec_exit(uv_process_t *p, int64_t status, int signo) {
  fetch *f = p->data;
  f->exec_running = 0;
  f->exec_status = signo ? 128 + signo : (int)status;
  if (signo) snprintf(f->exec_msg, sizeof f->exec_msg, "--exec command killed by signal %d", signo);
  else if (status) snprintf(f->exec_msg, sizeof f->exec_msg, "--exec command exited with status %d", (int)status);
  if (f->o.json) {
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", "exec");
    sw_json_str(&j, "command", f->o.exec);
    sw_json_i64(&j, "status", f->exec_status);
    sw_json_end(&j);
  } else {
    fprintf(stderr, "exec: `%s %s` exited with status %d\n", f->o.exec, f->out_path, f->exec_status);
  }
  uv_close((uv_handle_t *)p, exec_closed);
}

static void run_exec(fetch *f) {
  uv_process_options_t po;
  uv_stdio_container_t io[4];
  char script[4200];
  char *args[6];
  char **env = NULL;
  int rc;
  if (f->o.exec == NULL) {
    start_seeding(f);
    return;
  }
  /* The path is passed as "$1", never pasted into the command text. */
  snprintf(script, sizeof script, "%s \"$1\"", f->o.exec);
  args[0] = (char *)"/bin/sh";
  args[1] = (char *)"-c";
  args[2] = script;
  args[3] = (char *)"swarmup-exec";
  args[4] = f->out_path;
  args[5] = NULL;
  memset(&po, 0, sizeof po);
  io[0].flags = UV_IGNORE;
  io[1].flags = UV_INHERIT_FD;
  io[1].data.fd = f->o.json ? 2 : 1; /* keep stdout for our JSON events */
  io[2].flags = UV_INHERIT_FD;
  io[2].data.fd = 2;
  /* The verified inode itself as fd 3 (read-only), with its SHA-256: a hook
   * that uses them runs what the gate accepted, whatever happens to the path. */
  io[3].flags = UV_INHERIT_FD;
  io[3].data.fd = f->inst.ro_fd;
  env = sw_install_hook_env(&f->inst, f->out_path, 3);
  po.file = "/bin/sh";
  po.args = args;
  po.env = env;
  po.exit_cb = exec_exit;
  po.stdio = io;
  po.stdio_count = 4;
  f->proc.data = f;
  if (env == NULL || f->inst.ro_fd < 0) {
    sw_install_free_env(env);
    f->exec_status = 127;
    snprintf(f->exec_msg, sizeof f->exec_msg, "--exec could not start: out of memory");
    fetch_event(f, "exec", "%s", f->exec_msg);
    start_seeding(f);
    return;
  }
  rc = uv_spawn(&f->loop, &f->proc, &po);
  sw_install_free_env(env); /* uv_spawn has exec'd (or failed) by now */
  if (rc != 0) {
    f->exec_status = 127;
    snprintf(f->exec_msg, sizeof f->exec_msg, "--exec could not start: %s", uv_strerror(rc));
    fetch_event(f, "exec", "%s", f->exec_msg);
    uv_close((uv_handle_t *)&f->proc, exec_closed);
    return;
  }
  f->exec_running = 1;
}

/* ---- gate and install ---------------------------------------------------------- */

/* On the gate's thread: wait until the downloader has made bytes final past offset. */
static int64_t gate_avail(void *arg, uint64_t offset) {
  fetch *f = arg;
  int64_t n;
  uv_mutex_lock(&f->mu);
  while (f->avail <= offset && !f->gate_cancel) uv_cond_wait(&f->cv, &f->mu);
  n = f->gate_cancel ? -1 : (int64_t)(f->avail - offset);
  uv_mutex_unlock(&f->mu);
  return n;
}

/* On the loop thread: publish how many leading bytes are final. */
static void set_avail(fetch *f, uint64_t bytes) {
  if (!f->sync_ok) return;
  uv_mutex_lock(&f->mu);
  if (bytes > f->avail) {
    f->avail = bytes;
    uv_cond_signal(&f->cv);
  }
  uv_mutex_unlock(&f->mu);
}

static void cancel_gate(fetch *f) {
  if (!f->sync_ok) return;
  uv_mutex_lock(&f->mu);
  f->gate_cancel = 1;
  uv_cond_signal(&f->cv);
  uv_mutex_unlock(&f->mu);
}

/* On the gate's thread: bytes at offset from the pieces libtorrent handed over. */
static int64_t gate_read_at(void *arg, uint64_t offset, uint8_t *buf, size_t len) {
  fetch *f = arg;
  int piece = (int)(offset / (uint64_t)f->piece_len), used_up = 0;
  size_t in = (size_t)(offset - (uint64_t)piece * (uint64_t)f->piece_len), n = 0;
  int slot = piece % SW_PIECE_RING;
  uv_mutex_lock(&f->mu);
  while (!f->gate_cancel && !(f->ring[slot].data != NULL && f->ring[slot].piece == piece))
    uv_cond_wait(&f->cv, &f->mu);
  if (!f->gate_cancel && in < f->ring[slot].len) {
    n = f->ring[slot].len - in < len ? f->ring[slot].len - in : len;
    memcpy(buf, f->ring[slot].data + in, n);
    if (in + n == f->ring[slot].len) {
      free(f->ring[slot].data);
      f->ring[slot].data = NULL;
      f->consumed = piece + 1;
      used_up = 1;
    }
  }
  uv_mutex_unlock(&f->mu);
  if (used_up) uv_async_send(&f->pump);
  return n ? (int64_t)n : -1;
}

static void gate_work(uv_work_t *w) {
  fetch *f = w->data;
  if (f->gate_pieces) {
    f->gate_err = sw_gate_check_stream(f->pgp, f->r.m, -1, f->inst.fd, NULL, gate_read_at, f,
                                       (unsigned)f->o.threshold, f->gv);
    return;
  }
  /* File mode reads the .part being written; it is renamed, not rewritten. */
  const char *path = f->hmode == HM_FILE && f->part_fd >= 0 ? f->part_path : f->paths.file;
  int fd = sw_store_openat(&f->paths, strrchr(path, '/') + 1, O_RDONLY, 0);
  if (fd < 0) {
    f->gate_err = SW_ERR_IO;
    snprintf(f->gv->reason, sizeof f->gv->reason, "%.300s: %s", path, strerror(errno));
    return;
  }
  f->gate_err = sw_gate_check_stream(f->pgp, f->r.m, fd, f->inst.fd, gate_avail, NULL, f, (unsigned)f->o.threshold,
                                     f->gv);
  close(fd);
}

/* File mode: the complete .part becomes the store's file (idempotent). */
static sw_err finish_part(fetch *f) {
  if (f->part_fd < 0) return SW_OK;
  if (fsync(f->part_fd) != 0 ||
      renameat(f->paths.d.fd, f->paths.part_name, f->paths.d.fd, f->paths.file_name) != 0) {
    int e = errno;
    close(f->part_fd);
    f->part_fd = -1;
    return sw_fail(SW_ERR_IO, f->msg, sizeof f->msg, "finishing %s: %s", f->part_path, strerror(e));
  }
  close(f->part_fd);
  f->part_fd = -1;
  unlinkat(f->paths.d.fd, SW_PART_SOURCE, 0); /* no .part left to resume */
  (void)fsync(f->paths.d.fd); /* best effort, as before: the gate's verdict does not depend on it */
  return SW_OK;
}

/* Forget what the gate was given: another copy is coming (another source). */
static void gate_reset(fetch *f) {
  uv_mutex_lock(&f->mu);
  f->gate_cancel = 0;
  f->avail = 0;
  f->consumed = 0;
  for (int i = 0; i < SW_PIECE_RING; i++) {
    free(f->ring[i].data);
    f->ring[i].data = NULL;
  }
  uv_mutex_unlock(&f->mu);
  f->gate_pieces = 0;
  f->next_req = f->deadline_next = 0;
}

static void mirror_rejected(fetch *f);
static void fail_every_source(fetch *f);

static void gate_done(uv_work_t *w, int status) {
  fetch *f = w->data;
  char msg[SW_MSG_MAX], src[512];
  sw_err err;
  (void)status;
  f->gating = 0;
  if (f->phase == PH_CLOSING) { /* interrupted while the gate ran: drop the copy */
    sw_install_abort(&f->inst);
    return;
  }
  if (f->gate_restart) {
    /* Cancelled to start over on another source (the swarm's pieces -> .part). */
    f->gate_restart = 0;
    sw_install_abort(&f->inst);
    gate_reset(f);
    if (f->hmode == HM_FILE) {
      int complete = f->part_done == f->r.m->size && f->req == NULL;
      set_avail(f, f->part_done);
      if (f->part_done > 0) start_gate(f);
      if (complete && f->gating) f->phase = PH_GATE;
    }
    return;
  }
  /* The gate has read every byte: the download is over, whatever its phase. */
  f->phase = PH_GATE;
  if (f->req) sw_http_cancel(f->req);
  if (f->hmode == HM_FILE && f->gv->accepted && finish_part(f) != SW_OK) {
    sw_install_abort(&f->inst);
    fetch_fail(f, SW_ERR_IO, "%s", f->msg);
    return;
  }
  sources_text(f, src, sizeof src);
  if (f->gate_err != SW_OK) {
    sw_install_abort(&f->inst);
    if (strncmp(f->gv->reason, "writing the copy", 16) == 0)
      fetch_fail(f, f->gate_err, "cannot install into %s: %s", f->o.out, f->gv->reason);
    else
      fetch_fail(f, f->gate_err, "could not check the payload: %s", f->gv->reason);
    return;
  }
  if (!f->gv->accepted) {
    /* Discard the bad bytes: they must not be seeded, installed or resumed from. */
    sw_install_abort(&f->inst);
    if (f->hmode == HM_FILE && !f->from_store) {
      /* One URL delivered the whole copy (a .part is only ever completed by
       * the URL that began it): that URL is bad; the next one may be good. */
      mirror_rejected(f);
      return;
    }
    /* Swarm or pieces mode: every piece matched the torrent's hashes, which
     * the signed btmh fixes, so no other source could deliver other bytes. */
    if (f->t) {
      sw_swarm_remove(f->t);
      f->t = NULL;
    }
    sw_store_discard(&f->paths);
    fetch_fail(f, SW_ERR_PAYLOAD, "payload rejected: %s (%s): %s; nothing was installed", f->r.m->file, src,
               f->gv->reason);
    return;
  }
  /* The store copy passed: record that first, so that a crash from here on
   * reinstalls from the store instead of downloading again. */
  err = sw_store_mark_verified(&f->paths, f->r.m, msg, sizeof msg);
  if (err) {
    sw_install_abort(&f->inst);
    fetch_fail(f, err, "recording the verified release failed: %s", msg);
    return;
  }
  err = sw_install_commit(&f->inst, f->gv->sha256, f->r.m->size, msg, sizeof msg);
  if (err) {
    fetch_fail(f, err, "install into %s failed: %s", f->o.out, msg);
    return;
  }
  f->rec.installed_sequence = f->r.m->sequence;
  snprintf(f->rec.installed_version, sizeof f->rec.installed_version, "%s", f->r.m->version);
  err = sw_state_save(f->st, f->r.m->product, f->r.m->channel, &f->rec, msg, sizeof msg);
  if (err) {
    fetch_fail(f, err, "installed %s, but recording it failed: %s", f->out_path, msg);
    return;
  }
  /* Installed and recorded: other runs may use the state dir while we seed. */
  sw_state_close(f->st);
  f->st = NULL;
  if (f->o.json) {
    sw_json j;
    char sha[65];
    tally t;
    tally_bytes(f, &t);
    sw_hex(f->gv->sha256, 32, sha);
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", "installed");
    sw_json_str(&j, "path", f->out_path);
    sw_json_str(&j, "version", f->r.m->version);
    sw_json_u64(&j, "sequence", f->r.m->sequence);
    sw_json_u64(&j, "size", f->r.m->size);
    sw_json_str(&j, "sha256", sha);
    /* swarm_bytes + https_bytes + resumed_bytes == size; discarded_bytes is the excess received. */
    sw_json_u64(&j, "swarm_bytes", t.swarm);
    sw_json_u64(&j, "https_bytes", t.https);
    sw_json_u64(&j, "resumed_bytes", t.resumed);
    sw_json_u64(&j, "discarded_bytes", t.discarded);
    if (t.https && f->url_idx < f->r.m->n_fallback) sw_json_str(&j, "https_url", f->r.m->fallback[f->url_idx]);
    sw_json_end(&j);
  } else {
    if (f->tty) fputs("\r\033[K", stderr);
    printf("installed %s (%s %s, sequence %" PRIu64 "): %s, verified\n", f->out_path, f->r.m->product,
           f->r.m->version, f->r.m->sequence, src);
    fflush(stdout);
  }
  run_exec(f);
}

/* Start the gate once: early (streaming, as soon as the file's first bytes are
 * final) or at the end of the download. Either way it ends after the last byte. */
static void start_gate(fetch *f) {
  char msg[SW_MSG_MAX];
  sw_err err;
  if (f->gating || (f->phase != PH_SWARM && f->phase != PH_HTTPS)) return;
  err = sw_install_begin(&f->inst, f->r.m->file, f->paths.dir, msg, sizeof msg);
  if (err) {
    fetch_fail(f, err, "cannot install into %s: %s", f->o.out, msg);
    return;
  }
  f->work.data = f;
  if (uv_queue_work(&f->loop, &f->work, gate_work, gate_done) != 0) {
    sw_install_abort(&f->inst);
    fetch_fail(f, SW_ERR_INTERNAL, "cannot start the payload gate");
    return;
  }
  f->gating = 1;
}

/* Ask libtorrent for the next finished pieces the gate will need (at most
 * SW_PIECE_RING ahead of what it used up); start the gate on the first one. */
#define SW_DEADLINE_WINDOW 24 /* pieces ahead of the gate that libtorrent fetches first */

static void pump_pieces(fetch *f) {
  int consumed;
  if (f->t == NULL || f->done == NULL) return;
  /* Rarest-first keeps the swarm healthy; deadlines on the pieces just ahead of
   * the gate keep its prefix growing, so it ends soon after the last piece. */
  uv_mutex_lock(&f->mu);
  consumed = f->consumed;
  uv_mutex_unlock(&f->mu);
  if (f->deadline_next < consumed) f->deadline_next = consumed;
  while (f->deadline_next < f->num_pieces && f->deadline_next < consumed + SW_DEADLINE_WINDOW) {
    int i = f->deadline_next++;
    if (!bit(f->done, i)) sw_swarm_piece_deadline(f->t, i, 200 + 40 * (i - consumed), NULL, 0);
  }
  if (!f->gating && bit(f->done, 0) && (f->phase == PH_SWARM || f->phase == PH_HTTPS)) {
    f->gate_pieces = 1;
    start_gate(f);
  }
  if (!f->gating || !f->gate_pieces) return;
  uv_mutex_lock(&f->mu);
  consumed = f->consumed;
  uv_mutex_unlock(&f->mu);
  while (f->next_req < f->num_pieces && f->next_req < consumed + SW_PIECE_RING && bit(f->done, f->next_req)) {
    if (sw_swarm_read_piece(f->t, f->next_req, NULL, 0) != SW_OK) break;
    f->next_req++;
  }
}

static void on_pump(uv_async_t *h) { pump_pieces(h->data); }

static void on_piece_data(void *arg, sw_swarm_torrent *t, void *t_arg, int piece, const uint8_t *data, size_t len,
                          const char *err) {
  fetch *f = arg;
  uint8_t *copy;
  int slot;
  (void)t_arg;
  if (t != f->t || !f->gating || !f->gate_pieces || piece < 0 || piece >= f->num_pieces) return;
  if (data == NULL) {
    if (f->resets > 0) {
      /* Asked for before libtorrent started over: ask again once it is back. */
      f->done[piece / 8] &= (uint8_t)~(1u << (piece % 8));
      if (piece < f->next_req) f->next_req = piece;
      return;
    }
    fetch_fail(f, SW_ERR_IO, "reading piece %d back from the download failed: %s", piece, err ? err : "?");
    return;
  }
  copy = malloc(len ? len : 1);
  if (copy == NULL) {
    fetch_fail(f, SW_ERR_NOMEM, "out of memory");
    return;
  }
  memcpy(copy, data, len);
  slot = piece % SW_PIECE_RING;
  uv_mutex_lock(&f->mu);
  free(f->ring[slot].data);
  f->ring[slot].piece = piece;
  f->ring[slot].data = copy;
  f->ring[slot].len = len;
  uv_cond_signal(&f->cv);
  uv_mutex_unlock(&f->mu);
}

static void on_reset(void *arg, sw_swarm_torrent *t, void *t_arg, const char *why) {
  fetch *f = arg;
  int consumed;
  (void)t_arg;
  if (t != f->t) return;
  f->resets++;
  fetch_event(f, "warning", "swarm: %s; libtorrent starts the download over (the gate keeps what it checked)", why);
  if (f->done == NULL) return;
  /* What the gate has used up stays used; everything after it must come again. */
  uv_mutex_lock(&f->mu);
  consumed = f->consumed;
  uv_mutex_unlock(&f->mu);
  for (int i = consumed; i < f->num_pieces; i++) f->done[i / 8] &= (uint8_t)~(1u << (i % 8));
  if (f->next_req > consumed) f->next_req = consumed;
  f->deadline_next = consumed;
  f->t_progress = now_ms(f);
  stall_reset(f);
}

/* Learn the layout and what libtorrent already has (resume data, recheck). */
static void pieces_refresh(fetch *f) {
  size_t nbytes;
  if (f->t == NULL || !f->have_metadata) return;
  if (f->done == NULL) {
    if (sw_swarm_layout(f->t, &f->piece_len, &f->num_pieces, NULL, 0) != SW_OK) return;
    f->done = calloc(1, ((size_t)f->num_pieces + 7) / 8);
    if (f->done == NULL) return;
  }
  if (f->src == NULL) f->src = calloc(1, (size_t)f->num_pieces); /* NULL: no per-source summary */
  nbytes = ((size_t)f->num_pieces + 7) / 8;
  {
    uint8_t *now = malloc(nbytes);
    if (now && sw_swarm_have_pieces(f->t, now, nbytes, NULL, 0) == SW_OK)
      for (size_t i = 0; i < nbytes; i++) f->done[i] |= now[i];
    free(now);
  }
  pump_pieces(f);
}

/* ---- HTTPS fallback -------------------------------------------------------------- */

static uint64_t piece_size(fetch *f, int i) {
  uint64_t start = (uint64_t)i * (uint64_t)f->piece_len;
  uint64_t end = start + (uint64_t)f->piece_len;
  if (end > f->r.m->size) end = f->r.m->size;
  return end - start;
}

/* Transient errors are worth a retry of the same URL; the others go to the next
 * URL. A missed deadline is not: the same source would be as slow again. */
static int transient(sw_err e) { return e == SW_ERR_HTTP || e == SW_ERR_HTTP_SLOW; }

static void on_retry_timer(uv_timer_t *h) {
  fetch *f = h->data;
  https_next(f);
}

/* Mark Fallback URL u failed for the rest of the run (bad: it delivered bytes
 * that the gate or the torrent's hashes rejected). The first reason stays. */
static void url_fail(fetch *f, size_t u, int bad, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void url_fail(fetch *f, size_t u, int bad, const char *fmt, ...) {
  va_list ap;
  if (u >= f->r.m->n_fallback || f->url_failed[u]) return;
  f->url_failed[u] = bad ? 2 : 1;
  if (bad) f->bad_bytes = 1;
  va_start(ap, fmt);
  vsnprintf(f->url_why[u], sizeof f->url_why[u], fmt, ap);
  va_end(ap);
}

/* The first Fallback URL not failed in this run, in the manifest's order; -1: none. */
static int url_next(fetch *f) {
  for (size_t i = 0; i < f->r.m->n_fallback; i++)
    if (!f->url_failed[i]) return (int)i;
  return -1;
}

/* The URL STORE/part-source names (the one that delivered .part's bytes), as
 * an index into the Fallback list; -1 if none, unreadable or not listed. */
static int part_src_read(fetch *f) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int u = -1;
  if (sw_store_read(&f->paths, SW_PART_SOURCE, SW_URL_MAX + 2, &buf, &len, NULL, 0) != SW_OK) return -1;
  if (len > 0 && buf[len - 1] == '\n') {
    buf[--len] = '\0';
    for (size_t i = 0; i < f->r.m->n_fallback; i++)
      if (strlen(f->r.m->fallback[i]) == len && memcmp(f->r.m->fallback[i], buf, len) == 0) {
        u = (int)i;
        break;
      }
  }
  free(buf);
  return u;
}

/* Point .part at the current URL: empty it (bytes of another URL are never
 * completed by this one: a rejection could not tell which of the two was bad,
 * and a bad first mirror could poison every good second one) and record the
 * URL in STORE/part-source before its first byte is written. */
static sw_err part_restart(fetch *f) {
  char msg[SW_MSG_MAX];
  const char *url = f->r.m->fallback[f->url_idx];
  char line[SW_URL_MAX + 2];
  int n;
  if (f->part_done > 0) {
    fetch_event(f, "https-restart", "HTTPS: discarding the %" PRIu64 " bytes in .part (not from %.300s); starting "
                "at byte 0", f->part_done, url);
    if (f->gating) {
      /* The gate reads the .part: it starts again on the new bytes. */
      f->gate_restart = 1;
      cancel_gate(f);
    } else {
      gate_reset(f);
    }
  }
  if (f->part_fd < 0) {
    /* (Deleted after a rejection: a new one for the next URL.) */
    f->part_fd = sw_dir_open_own_file(&f->paths.d, f->paths.part_name, O_RDWR | O_CREAT, 0600, msg, sizeof msg);
    if (f->part_fd < 0) return sw_fail(SW_ERR_IO, f->msg, sizeof f->msg, "%s", msg);
  }
  if (ftruncate(f->part_fd, 0) != 0)
    return sw_fail(SW_ERR_IO, f->msg, sizeof f->msg, "%s: %s", f->part_path, strerror(errno));
  f->part_done = 0;
  f->resumed_part = 0;
  f->part_url = -1;
  n = snprintf(line, sizeof line, "%s\n", url);
  if (sw_store_write(&f->paths, SW_PART_SOURCE, (const uint8_t *)line, (size_t)n, msg, sizeof msg) != SW_OK)
    return sw_fail(SW_ERR_IO, f->msg, sizeof f->msg, "%s", msg);
  f->part_url = (int)f->url_idx;
  return SW_OK;
}

/* Every source failed: the final error names each and why. */
static void fail_every_source(fetch *f) {
  char list[SW_FETCH_MSG_MAX - 200];
  sources_list(f, list, sizeof list);
  if (f->bad_bytes)
    fetch_fail(f, SW_ERR_PAYLOAD, "payload rejected: %s: no source delivered it intact (%s); nothing was installed",
               f->r.m->file, list);
  else
    fetch_fail(f, f->last_err == SW_ERR_TLS ? SW_ERR_TLS : SW_ERR_DOWNLOAD, "download failed on every source (%s)",
               list);
}

/* No Fallback URL is left. In pieces mode the torrent is still there: if it has
 * peers, the swarm gets one more chance (its stall check ends it); else the end. */
static void sources_exhausted(fetch *f) {
  if (f->hmode == HM_PIECES && f->t != NULL && f->last.num_peers > 0 && !f->swarm_again && !f->o.no_swarm) {
    f->swarm_again = 1;
    f->phase = PH_SWARM;
    stall_reset(f);
    fetch_event(f, "fallback", "every HTTPS source failed; back to the swarm (%d peers)", f->last.num_peers);
    return;
  }
  fail_every_source(f);
}

/* Go on with the next URL that has not failed in this run (file mode: .part
 * starts again for it), or end. */
static void https_advance(fetch *f) {
  int u = url_next(f);
  f->attempt = 0;
  if (u < 0) {
    sources_exhausted(f);
    return;
  }
  f->url_idx = (size_t)u;
  if (f->hmode == HM_FILE && f->part_url != u && part_restart(f) != SW_OK) {
    fetch_fail(f, SW_ERR_IO, "%s", f->msg);
    return;
  }
  uv_timer_start(&f->retry, on_retry_timer, 0, 0);
}

/* The current URL failed with err: retry it (bounded, with backoff) or move on. */
static void https_failed(fetch *f, sw_err err, const char *msg) {
  const char *url = f->r.m->fallback[f->url_idx];
  snprintf(f->url_err, sizeof f->url_err, "%s", msg);
  if (!f->url_failed[f->url_idx]) {
    /* (Already failed: a request cancelled because its URL delivered bad bytes.) */
    fetch_event(f, "https-error", "HTTPS: %.300s: %s", url, msg);
    f->last_err = err;
    f->attempt++;
    if (transient(err) && f->attempt < f->o.https_retries) {
      /* Backoff: 250 ms, 500 ms, 1 s... for a retry of the same URL (a .part resumes from it). */
      uv_timer_start(&f->retry, on_retry_timer, 250u << (f->attempt - 1), 0);
      return;
    }
    url_fail(f, f->url_idx, 0, "%s", msg);
  }
  https_advance(f);
}

/* File mode: the gate rejected the copy in .part. Its URL delivered all of it:
 * that URL is bad for this run, the bytes are deleted (never resumed, never
 * gated again), and the next URL starts from byte 0. */
static void mirror_rejected(fetch *f) {
  char n[32];
  fmt_bytes(f->part_done, n, sizeof n);
  fetch_event(f, "https-error", "HTTPS: %.300s: delivered %s that the gate rejected (%s); deleted",
              f->r.m->fallback[f->url_idx], n, f->gv->reason);
  url_fail(f, f->url_idx, 1, "%s over HTTPS from %.300s: rejected by the gate: %s", n, f->r.m->fallback[f->url_idx],
           f->gv->reason);
  f->last_err = SW_ERR_PAYLOAD;
  if (f->part_fd >= 0) close(f->part_fd);
  f->part_fd = -1;
  unlinkat(f->paths.d.fd, SW_PART_SOURCE, 0);
  if (unlinkat(f->paths.d.fd, f->paths.part_name, 0) != 0 && errno != ENOENT) {
    fetch_fail(f, SW_ERR_IO, "deleting the rejected %s: %s", f->part_path, strerror(errno));
    return;
  }
  (void)fsync(f->paths.d.fd);
  f->part_done = 0;
  f->resumed_part = 0;
  f->part_url = -1;
  gate_reset(f);
  f->phase = PH_HTTPS;
  if (f->req != NULL) {
    /* The request that delivered the last bytes is still being reaped. */
    f->advance_after_cancel = 1;
    sw_http_cancel(f->req);
    return;
  }
  https_advance(f);
}

static int file_data(void *arg, uint64_t offset, const uint8_t *buf, size_t len) {
  fetch *f = arg;
  size_t done = 0;
  if (offset != f->part_done || offset + len > f->r.m->size) return 1; /* never beyond Size */
  if (f->part_url != (int)f->url_idx) return 1; /* .part holds one URL's bytes only */
  while (done < len) {
    ssize_t n = pwrite(f->part_fd, buf + done, len - done, (off_t)(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      snprintf(f->url_err, sizeof f->url_err, "writing %.300s: %s", f->part_path, n < 0 ? strerror(errno) : "short");
      f->handed_failed = -1; /* marks a local write error */
      return 1;
    }
    done += (size_t)n;
  }
  f->part_done += len;
  f->https_bytes += len;
  set_avail(f, f->part_done);
  start_gate(f);
  return 0;
}

static void file_done(void *arg, sw_err err, const char *msg, long status) {
  fetch *f = arg;
  char emsg[SW_MSG_MAX];
  (void)status;
  f->req = NULL;
  if (f->advance_after_cancel) {
    f->advance_after_cancel = 0;
    if (f->phase == PH_HTTPS) https_advance(f);
    return;
  }
  if (f->phase != PH_HTTPS) return;
  if (f->handed_failed == -1) {
    fetch_fail(f, SW_ERR_IO, "%s", f->url_err);
    return;
  }
  if (err == SW_OK && f->part_done != f->r.m->size) {
    snprintf(emsg, sizeof emsg, "body ended after %" PRIu64 " of %" PRIu64 " bytes", f->part_done, f->r.m->size);
    https_failed(f, SW_ERR_HTTP, emsg);
    return;
  }
  if (err) {
    https_failed(f, err, msg);
    return;
  }
  /* Complete. The gate (started with the first bytes) ends by itself; if it
   * is not running, this is a resumed .part that was already complete. */
  set_avail(f, f->part_done);
  if (!f->gating) start_gate(f);
  if (f->gating) f->phase = PH_GATE; /* downloaded: the gate finishes the job */
}

static int pieces_data(void *arg, uint64_t offset, const uint8_t *buf, size_t len) {
  fetch *f = arg;
  while (len > 0) {
    int i = (int)(offset / (uint64_t)f->piece_len);
    uint64_t pstart = (uint64_t)i * (uint64_t)f->piece_len, psize = piece_size(f, i);
    uint64_t in = offset - pstart;
    size_t take = (size_t)(psize - in) < len ? (size_t)(psize - in) : len;
    if (i > f->req_last) return 1;
    memcpy(f->piece_buf + in, buf, take);
    f->https_bytes += take;
    offset += take;
    buf += take;
    len -= take;
    if (in + take == psize) {
      char msg[SW_MSG_MAX];
      /* libtorrent checks it against the piece hashes before it is written. */
      if (!bit(f->have, i) && sw_swarm_add_piece(f->t, i, f->piece_buf, (size_t)psize, msg, sizeof msg) != SW_OK) {
        snprintf(f->url_err, sizeof f->url_err, "%s", msg);
        return 1;
      }
      set_bit(f->have, i);
      /* Ours unless the swarm finished it first (then this copy is redundant);
       * a piece that fails its hashes is given back (on_piece_failed). */
      if (f->src != NULL && (f->done == NULL || !bit(f->done, i))) f->src[i] = (uint8_t)(SRC_HTTPS + f->url_idx);
    }
  }
  return 0;
}

static void pieces_done(void *arg, sw_err err, const char *msg, long status) {
  fetch *f = arg;
  (void)status;
  f->req = NULL;
  if (f->phase != PH_HTTPS) return;
  if (err || f->url_failed[f->url_idx]) {
    /* (A URL marked bad while its request was ending: https_failed moves on.) */
    https_failed(f, err ? err : SW_ERR_PAYLOAD, err ? msg : "delivered a bad piece");
    return;
  }
  https_next(f);
}

/* Issue the next request for the current URL. */
static void https_next(fetch *f) {
  sw_http_get g;
  char msg[SW_MSG_MAX];
  sw_err err;
  if (f->phase != PH_HTTPS || f->req) return;
  memset(&g, 0, sizeof g);
  g.url = f->r.m->fallback[f->url_idx];
  g.arg = f;
  if (f->hmode == HM_FILE) {
    if (f->part_url != (int)f->url_idx && part_restart(f) != SW_OK) {
      fetch_fail(f, SW_ERR_IO, "%s", f->msg);
      return;
    }
    if (f->part_done == f->r.m->size) {
      file_done(f, SW_OK, "", 206);
      return;
    }
    /* A Range from what the .part holds; a whole GET when it holds nothing. */
    g.max_bytes = f->r.m->size - f->part_done;
    if (f->part_done) {
      g.range_start = f->part_done;
      g.range_len = f->r.m->size - f->part_done;
    }
    g.on_data = file_data;
    g.on_done = file_done;
  } else {
    int first = -1, last;
    uint64_t span = 0;
    for (int i = 0; i < f->num_pieces; i++)
      if (!bit(f->have, i)) {
        first = i;
        break;
      }
    if (first < 0) {
      /* Every piece handed over: libtorrent's on_finished starts the gate. */
      fetch_event(f, "https-done", "HTTPS: all missing pieces delivered; waiting for their hash checks");
      return;
    }
    last = first;
    span = piece_size(f, first);
    while (last + 1 < f->num_pieces && !bit(f->have, last + 1) && span + piece_size(f, last + 1) <= SW_FILL_SPAN_MAX) {
      last++;
      span += piece_size(f, last);
    }
    f->req_first = first;
    f->req_last = last;
    g.range_start = (uint64_t)first * (uint64_t)f->piece_len;
    g.range_len = span;
    g.max_bytes = span;
    g.on_data = pieces_data;
    g.on_done = pieces_done;
  }
  err = sw_http_start(f->http, &g, &f->req, msg, sizeof msg);
  if (err) https_failed(f, err, msg);
}

static void torrent_data_done(void *arg, sw_err err, const char *msg, long status) {
  fetch *f = arg;
  char m2[SW_MSG_MAX], name[SW_FILE_MAX + 1], hex[65];
  sw_swarm_made made;
  uint8_t *sb = NULL;
  size_t sl = 0;
  (void)status;
  f->treq = NULL;
  if (err == SW_OK && f->tbuf) {
    /* The .torrent is untrusted until its v2 info-hash is the signed btmh, and
     * even then only its signed part is kept: the server's trackers, web seeds
     * and DHT nodes are not the manifest's. */
    sw_hex(f->r.m->magnet.btmh, 32, hex);
    if (sw_swarm_torrent_info(f->tbuf, f->tlen, &made, name, sizeof name, m2, sizeof m2) == SW_OK &&
        strcmp(made.btmh_hex, hex) == 0 && strcmp(name, f->r.m->file) == 0 && made.size == f->r.m->size) {
      if (sw_swarm_torrent_signed(f->tbuf, f->tlen, &sb, &sl, m2, sizeof m2) == SW_OK &&
          sw_store_write(&f->paths, f->paths.torrent_name, sb, sl, m2, sizeof m2) == SW_OK)
        f->torrent_file_ok = 1;
      free(sb);
    } else {
      fetch_event(f, "warning", "ignoring %.300s: not the signed torrent", f->r.m->torrent_url);
    }
  } else if (err) {
    fetch_event(f, "warning", "could not get the torrent file (%s): not seeding afterwards", msg);
  }
  free(f->tbuf);
  f->tbuf = NULL;
}

static int torrent_data(void *arg, uint64_t offset, const uint8_t *buf, size_t len) {
  fetch *f = arg;
  uint8_t *nb;
  (void)offset;
  nb = realloc(f->tbuf, f->tlen + len);
  if (nb == NULL) return 1;
  f->tbuf = nb;
  memcpy(f->tbuf + f->tlen, buf, len);
  f->tlen += len;
  return 0;
}

static void switch_to_https(fetch *f, const char *reason) {
  char msg[SW_MSG_MAX];
  if (f->phase != PH_SWARM) return;
  snprintf(f->swarm_why, sizeof f->swarm_why, "%s", reason);
  if (f->switched) {
    /* Back on the swarm after every URL had failed, and the swarm failed again. */
    fail_every_source(f);
    return;
  }
  f->switched = 1;
  if (f->o.no_fallback) {
    fetch_fail(f, SW_ERR_DOWNLOAD, "download failed on every source: swarm: %s (HTTPS fallback disabled)", reason);
    return;
  }
  f->t_switch = now_ms(f);
  fetch_event(f, "fallback", "switching to HTTPS after %.1f s: %s", (double)(f->t_switch - f->t_start) / 1000.0,
              reason);
  f->phase = PH_HTTPS;
  if (f->t && f->have_metadata && (f->last.bytes_done > 0 || f->gating) &&
      sw_swarm_layout(f->t, &f->piece_len, &f->num_pieces, msg, sizeof msg) == SW_OK) {
    /* Keep what the swarm delivered; fetch only the missing pieces. */
    size_t nbytes = ((size_t)f->num_pieces + 7) / 8;
    f->have = calloc(1, nbytes);
    f->piece_buf = malloc((size_t)f->piece_len);
    if (f->have == NULL || f->piece_buf == NULL || sw_swarm_have_pieces(f->t, f->have, nbytes, msg, sizeof msg) != SW_OK) {
      fetch_fail(f, SW_ERR_INTERNAL, "cannot plan the HTTPS fill: %s", msg);
      return;
    }
    f->hmode = HM_PIECES;
    if (f->src == NULL) f->src = calloc(1, (size_t)f->num_pieces);
    if (f->src == NULL) {
      fetch_fail(f, SW_ERR_NOMEM, "out of memory");
      return;
    }
    {
      /* Whole verified pieces only: finished blocks of a piece still being
       * downloaded (part of libtorrent's bytes_done) are fetched again. */
      uint64_t kept = 0;
      for (int i = 0; i < f->num_pieces; i++)
        if (bit(f->have, i)) kept += piece_size(f, i);
      fetch_event(f, "https-pieces", "keeping %" PRIu64 " bytes from the swarm; fetching the missing pieces over HTTPS",
                  kept);
    }
  } else {
    struct stat st;
    /* Nothing usable from the swarm: the whole file (or the rest of an earlier
     * HTTPS download) into .part. The swarm's partial file is not mixed in. A
     * gate that was reading the swarm's pieces starts again on the .part. */
    if (f->gating && f->gate_pieces) {
      f->gate_restart = 1;
      cancel_gate(f);
    }
    if (f->t) {
      if (f->have_metadata && sw_swarm_write_torrent(f->t, f->paths.torrent, NULL, 0) == SW_OK) f->torrent_file_ok = 1;
      sw_swarm_remove(f->t);
      f->t = NULL;
    }
    /* Never through a symlink: a link planted at .part must not make us
     * truncate or write into its target. */
    f->part_fd = sw_dir_open_own_file(&f->paths.d, f->paths.part_name, O_RDWR | O_CREAT, 0600, msg, sizeof msg);
    if (f->part_fd < 0) {
      fetch_fail(f, SW_ERR_IO, "%s", msg);
      return;
    }
    if (fstat(f->part_fd, &st) != 0) {
      fetch_fail(f, SW_ERR_IO, "%s: %s", f->part_path, strerror(errno));
      return;
    }
    f->part_done = (uint64_t)st.st_size;
    f->hmode = HM_FILE;
    /* A .part is resumed only from the URL that delivered it (first, before
     * the others: its bytes are worth keeping); one of unknown origin, or
     * longer than Size, starts again (part_restart). */
    f->part_url = f->part_done > 0 && f->part_done <= f->r.m->size ? part_src_read(f) : -1;
    f->url_idx = f->part_url >= 0 ? (size_t)f->part_url : 0;
    if (f->part_url < 0 && part_restart(f) != SW_OK) {
      fetch_fail(f, SW_ERR_IO, "%s", f->msg);
      return;
    }
    f->resumed_part = f->part_done;
    if (f->part_done)
      fetch_event(f, "https-resume", "resuming the HTTPS download at byte %" PRIu64 " from %.300s", f->part_done,
                  f->r.m->fallback[f->url_idx]);
    set_avail(f, f->part_done);
    if (!f->torrent_file_ok && f->r.m->torrent_url[0] && !f->o.no_swarm) {
      sw_http_get g;
      memset(&g, 0, sizeof g);
      g.url = f->r.m->torrent_url;
      g.max_bytes = SW_TORRENT_FILE_MAX;
      g.on_data = torrent_data;
      g.on_done = torrent_data_done;
      g.arg = f;
      if (sw_http_start(f->http, &g, &f->treq, msg, sizeof msg) != SW_OK)
        fetch_event(f, "warning", "could not get the torrent file: %s", msg);
    }
  }
  https_next(f);
}

/* ---- swarm callbacks -------------------------------------------------------------- */

/* libtorrent's payload count is per torrent session and starts at 0 again
 * when the torrent is restarted (on_reset): keep a running total. */
static void swarm_count(fetch *f, uint64_t tpd) {
  if (tpd < f->swarm_tpd_last) f->swarm_tpd_base += f->swarm_tpd_last;
  f->swarm_tpd_last = tpd;
  f->swarm_bytes = f->swarm_tpd_base + tpd;
}

static void on_status(void *arg, sw_swarm_torrent *t, void *t_arg, const sw_swarm_status *st) {
  fetch *f = arg;
  (void)t_arg;
  if (t == NULL || t != f->t) return;
  f->last = *st;
  swarm_count(f, st->total_payload_download);
  if (st->num_peers > 0) f->peers_ever = 1;
  if (st->bytes_done != f->last_done) {
    f->last_done = st->bytes_done;
    f->t_progress = now_ms(f);
  }
  if (f->phase == PH_SWARM || f->phase == PH_HTTPS) pieces_refresh(f);
  if (f->phase == PH_SWARM || f->phase == PH_SEED) show_progress(f);
}

static void on_piece(void *arg, sw_swarm_torrent *t, void *t_arg, int piece) {
  fetch *f = arg;
  (void)t_arg;
  if (t != f->t || (f->phase != PH_SWARM && f->phase != PH_HTTPS)) return;
  if (f->done == NULL) {
    pieces_refresh(f);
    if (f->done == NULL) return;
  }
  if (piece >= 0 && piece < f->num_pieces) set_bit(f->done, piece);
  pump_pieces(f);
}

static void on_metadata(void *arg, sw_swarm_torrent *t, void *t_arg) {
  fetch *f = arg;
  char msg[SW_MSG_MAX];
  (void)t_arg;
  f->have_metadata = 1;
  f->t_progress = now_ms(f);
  stall_reset(f); /* the stall window starts with the metadata */
  /* Keep the torrent beside the file, so that `swarmup seed` can serve it.
   * From a magnet the v2 piece layers come later: if not yet, retry when
   * the download is complete. */
  if (sw_swarm_write_torrent(t, f->paths.torrent, msg, sizeof msg) == SW_OK) f->torrent_file_ok = 1;
  fetch_event(f, "metadata", "metadata received: %s, %" PRIu64 " bytes", f->r.m->file, f->r.m->size);
  pieces_refresh(f);
}

/* Every peer of the magnet and every tracker failed, and nobody is connected.
 * If no peer ever connected, the swarm's ports are blocked: switch at once.
 * If peers did connect (the swarm died, or a peer did not have the torrent
 * yet), give libtorrent a short grace to reconnect, checked from on_tick. */
#define SW_ALL_FAILED_GRACE_MS 3000
static int all_failed(fetch *f) {
  return f->peers_now == 0 && f->n_peers + f->n_trackers > 0 && f->peers_failed == f->n_peers &&
         f->trackers_failed == f->n_trackers;
}

static void check_all_failed(fetch *f) {
  /* Swarm only: peers may come back; only the timeouts end the wait. */
  if (f->phase != PH_SWARM || f->o.no_fallback) return;
  if (!all_failed(f)) {
    f->t_all_failed = 0;
    return;
  }
  if (!f->peers_ever && !f->have_metadata) {
    switch_to_https(f, "every peer and tracker of the magnet failed (ports blocked?)");
    return;
  }
  if (f->t_all_failed == 0) f->t_all_failed = now_ms(f);
  else if (now_ms(f) - f->t_all_failed >= SW_ALL_FAILED_GRACE_MS)
    switch_to_https(f, "every peer of the magnet disconnected and none came back");
}

static void on_peer(void *arg, sw_swarm_torrent *t, void *t_arg, int connected, const char *endpoint,
                    const char *reason) {
  fetch *f = arg;
  (void)t;
  (void)t_arg;
  /* libtorrent reports an outgoing attempt as "connected" before the TCP
   * handshake: peers_ever is set from the status (a peer really connected). */
  if (connected) {
    f->peers_now++;
  } else if (f->peers_now > 0) {
    f->peers_now--;
  }
  for (size_t i = 0; i < f->n_peers; i++)
    if (strcmp(f->r.m->magnet.peers[i], endpoint) == 0) {
      if (connected && f->peer_failed[i]) {
        f->peer_failed[i] = 0;
        f->peers_failed--;
      } else if (!connected && !f->peer_failed[i]) {
        f->peer_failed[i] = 1;
        f->peers_failed++;
      }
    }
  if (f->o.json) {
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", connected ? "peer-connected" : "peer-disconnected");
    sw_json_str(&j, "peer", endpoint);
    if (!connected && reason) sw_json_str(&j, "reason", reason);
    sw_json_end(&j);
  }
  check_all_failed(f);
}

static void on_tracker(void *arg, sw_swarm_torrent *t, void *t_arg, int ok, const char *url, const char *msg) {
  fetch *f = arg;
  (void)t;
  (void)t_arg;
  for (size_t i = 0; i < f->n_trackers; i++)
    if (strcmp(f->r.m->magnet.tr[i], url) == 0) {
      if (ok && f->tracker_failed[i]) {
        f->tracker_failed[i] = 0;
        f->trackers_failed--;
      } else if (!ok && !f->tracker_failed[i]) {
        f->tracker_failed[i] = 1;
        f->trackers_failed++;
      }
    }
  if (!ok) {
    if (f->o.json) {
      sw_json j;
      sw_json_begin(&j, stdout);
      sw_json_str(&j, "event", "tracker-error");
      sw_json_str(&j, "tracker", url);
      sw_json_str(&j, "reason", msg);
      sw_json_end(&j);
    }
    check_all_failed(f);
  }
}

static void on_piece_failed(void *arg, sw_swarm_torrent *t, void *t_arg, int piece) {
  fetch *f = arg;
  size_t u;
  (void)t;
  (void)t_arg;
  /* A piece an HTTPS origin delivered failed the signed torrent's hashes: that
   * origin serves something else than the signed release. It is not asked
   * again in this run; the piece comes from the next URL (or the swarm). A bad
   * peer's piece is libtorrent's business (it bans the peer). */
  if (f->src == NULL || f->have == NULL || piece < 0 || piece >= f->num_pieces || f->src[piece] < SRC_HTTPS) return;
  u = (size_t)(f->src[piece] - SRC_HTTPS);
  f->src[piece] = SRC_NONE;
  f->have[piece / 8] &= (uint8_t)~(1u << (piece % 8));
  if (u >= f->r.m->n_fallback) return;
  if (!f->url_failed[u]) {
    fetch_event(f, "https-error", "HTTPS: %.300s: piece %d failed the torrent's hashes; not asked again",
                f->r.m->fallback[u], piece);
    url_fail(f, u, 1, "piece %d over HTTPS from %.300s failed the torrent's hashes", piece, f->r.m->fallback[u]);
    f->last_err = SW_ERR_PAYLOAD;
  }
  if (f->phase != PH_HTTPS) return; /* back on the swarm: it fetches the piece */
  if (f->req != NULL) {
    if (u == f->url_idx) sw_http_cancel(f->req); /* pieces_done moves on to the next URL */
  } else if (u == f->url_idx) {
    https_advance(f);
  } else {
    https_next(f); /* the current URL fetches the piece again */
  }
}

/* The whole file is in: publish it to the gate and end the download phase. */
static void downloaded(fetch *f) {
  char msg[SW_MSG_MAX];
  if (!f->torrent_file_ok && f->t) {
    if (sw_swarm_write_torrent(f->t, f->paths.torrent, msg, sizeof msg) == SW_OK) f->torrent_file_ok = 1;
    else fetch_event(f, "warning", "warning: could not keep the torrent file: %s", msg);
  }
  if (!f->gating) {
    f->gate_pieces = 1;
    start_gate(f);
    pump_pieces(f);
  }
  /* No more swarm timeouts or fallback, even while the gate still reads. */
  if (f->gating && (f->phase == PH_SWARM || f->phase == PH_HTTPS)) {
    f->phase = PH_GATE;
    if (f->req) sw_http_cancel(f->req);
  }
}

static void on_finished(void *arg, sw_swarm_torrent *t, void *t_arg) {
  fetch *f = arg;
  (void)t_arg;
  if (t != f->t) return;
  if (sw_swarm_get_status(t, &f->last, NULL, 0) == SW_OK) swarm_count(f, f->last.total_payload_download);
  /* Every piece is hash-checked (maybe not yet written out: the gate gets
   * the pieces from libtorrent, not from the file). */
  if (f->done == NULL) pieces_refresh(f);
  if (f->done == NULL) {
    fetch_fail(f, SW_ERR_INTERNAL, "finished without a piece layout");
    return;
  }
  memset(f->done, 0xff, ((size_t)f->num_pieces + 7) / 8);
  pump_pieces(f);
  downloaded(f);
}

static void on_error(void *arg, sw_swarm_torrent *t, void *t_arg, sw_err err, const char *msg) {
  fetch *f = arg;
  char reason[SW_MSG_MAX];
  (void)t_arg;
  if (t == NULL) {
    fetch_event(f, "warning", "swarm: %s", msg);
    return;
  }
  if (f->phase == PH_SEED) {
    fetch_event(f, "warning", "seeding stopped: %s", msg);
    fetch_shutdown(f);
    return;
  }
  if (err == SW_ERR_IO) {
    /* Our disk, not the swarm: HTTPS would hit the same full or broken disk. */
    fetch_fail(f, SW_ERR_IO, "writing the download into %s failed: %s", f->paths.dir, msg);
    return;
  }
  if (f->phase != PH_SWARM) return;
  snprintf(reason, sizeof reason, "%s%s", msg, err == SW_ERR_TORRENT_MISMATCH ? " (manifest/torrent mismatch)" : "");
  /* The torrent is stopped (metadata for another file, or a libtorrent error
   * it could not get over): drop it; HTTPS takes the whole file. */
  sw_swarm_remove(f->t);
  f->t = NULL;
  f->have_metadata = 0;
  f->last.bytes_done = 0;
  switch_to_https(f, reason);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void handle_closed(uv_handle_t *h) { (void)h; }
static void on_swarm_closed(void *arg) { (void)arg; }

static void fetch_shutdown(fetch *f) {
  if (f->phase == PH_CLOSING) return;
  f->phase = PH_CLOSING;
  if (f->tty && !f->o.json) fputs("\r\033[K", stderr);
  uv_close((uv_handle_t *)&f->tick, handle_closed);
  uv_close((uv_handle_t *)&f->retry, handle_closed);
  uv_close((uv_handle_t *)&f->sig_int, handle_closed);
  uv_close((uv_handle_t *)&f->sig_term, handle_closed);
  if (f->pump_ok) uv_close((uv_handle_t *)&f->pump, handle_closed);
  if (f->exec_running) uv_process_kill(&f->proc, SIGTERM);
  cancel_gate(f); /* a gate waiting for bytes gives up */
  if (f->http) {
    sw_http_free(f->http); /* cancels transfers; their on_done sees PH_CLOSING */
    f->http = NULL;
  }
  if (f->swarm) {
    sw_swarm_free(f->swarm); /* saves resume data (bounded) */
    f->swarm = NULL;
    f->t = NULL;
  }
}

static void on_signal(uv_signal_t *h, int signum) {
  fetch *f = h->data;
  f->interrupted = signum;
  if (f->phase == PH_SEED) {
    fetch_event(f, "stopped", "stopped seeding (signal %d)", signum);
    fetch_shutdown(f);
  } else {
    fetch_fail(f, SW_ERR_CANCELLED, "interrupted by signal %d; run again to resume from what was downloaded",
               signum);
  }
}

/* The swarm's stall check: progress (bytes of the file libtorrent has, which
 * only grows with payload that reaches the file) over a sliding window of
 * --stall-timeout seconds, sampled at most SW_STALL_SAMPLES - 8 times a window.
 * Less than --stall-rate on average over the window is a stall: a peer that
 * trickles a block now and then no longer holds the client (the old rule,
 * "no new byte for --stall-timeout", let a 1 KiB/s peer do so for days). */
static void stall_reset(fetch *f) {
  f->stall_n = 0;
  f->stall_head = 0;
}

static void stall_sample(fetch *f, uint64_t now) {
  uint64_t every = f->o.stall_timeout * 1000u / (SW_STALL_SAMPLES - 8);
  int newest = (f->stall_head + SW_STALL_SAMPLES - 1) % SW_STALL_SAMPLES;
  if (f->stall_n > 0 && now - f->stall_win[newest].t < every) return;
  f->stall_win[f->stall_head].t = now;
  f->stall_win[f->stall_head].bytes = f->last.bytes_done;
  f->stall_head = (f->stall_head + 1) % SW_STALL_SAMPLES;
  if (f->stall_n < SW_STALL_SAMPLES) f->stall_n++;
}

/* 1 (and why) if the window is full and the swarm delivered less than
 * --stall-rate bytes/s over it (at least one byte is needed in any case). */
static int stalled(fetch *f, uint64_t now, char *why, size_t whylen) {
  uint64_t win = f->o.stall_timeout * 1000u, need, got, from = 0;
  int found = 0;
  char a[32], b[32];
  stall_sample(f, now);
  /* The newest sample at least a window old marks the window's start. */
  for (int k = 0; k < f->stall_n; k++) {
    int i = (f->stall_head + SW_STALL_SAMPLES - 1 - k) % SW_STALL_SAMPLES;
    if (now - f->stall_win[i].t >= win) {
      from = f->stall_win[i].bytes;
      found = 1;
      break;
    }
  }
  if (!found) return 0;
  got = f->last.bytes_done > from ? f->last.bytes_done - from : 0;
  need = f->o.stall_rate * f->o.stall_timeout;
  if (need == 0) need = 1;
  if (got >= need) return 0;
  fmt_bytes(got, a, sizeof a);
  fmt_bytes(f->o.stall_rate, b, sizeof b);
  if (got == 0)
    snprintf(why, whylen, "no progress for %" PRIu64 " s", f->o.stall_timeout);
  else
    snprintf(why, whylen, "%s in the last %" PRIu64 " s, below the --stall-rate of %s/s", a, f->o.stall_timeout, b);
  return 1;
}

static void on_tick(uv_timer_t *h) {
  fetch *f = h->data;
  uint64_t now = now_ms(f);
  if (f->phase == PH_SWARM) {
    check_all_failed(f);
    if (f->phase != PH_SWARM) return;
    if ((!f->have_metadata || !f->peers_ever) && now - f->t_start >= f->o.swarm_timeout * 1000) {
      char why[128];
      snprintf(why, sizeof why, "%s within %" PRIu64 " s", !f->have_metadata ? "no metadata" : "no peer",
               f->o.swarm_timeout);
      switch_to_https(f, why);
      return;
    }
    if (f->have_metadata) {
      char why[256];
      if (stalled(f, now, why, sizeof why)) {
        switch_to_https(f, why);
        return;
      }
    }
  } else if (f->phase == PH_HTTPS) {
    show_progress(f);
  } else if (f->phase == PH_SEED) {
    uint64_t up = f->last.total_payload_upload - f->seed_up_base;
    if (now - f->t_seed >= f->o.seed_time * 1000) {
      fetch_event(f, "done", "seed time reached");
      fetch_shutdown(f);
    } else if (f->o.seed_ratio > 0 && (double)up >= f->o.seed_ratio * (double)f->r.m->size) {
      fetch_event(f, "done", "seed ratio %.2f reached", f->o.seed_ratio);
      fetch_shutdown(f);
    }
  }
}

static void fetch_help(void) {
  printf("usage: swarmup fetch --manifest SRC (--trusted-key FILE | --trusted-keys FILE [--keys-url BASE])\n"
         "                     --product NAME --out DIR [options]\n\n"
         "Verify the manifest (as `swarmup check`), download the release from the swarm\n"
         "into the state dir, falling back to HTTPS (the manifest's Fallback URLs) when\n"
         "the swarm times out, stalls or is blocked and keeping what the swarm delivered;\n"
         "check size, SHA-256 and signature (the payload gate), put the file into DIR\n"
         "atomically, run --exec, then keep seeding the verified copy until the seed time\n"
         "or ratio is reached, or SIGINT/SIGTERM. DIR never holds a partial or unverified\n"
         "file. An interrupted download resumes on the next run.\n\n"
         "options:\n");
  sw_opts_print_help(SW_CMD_FETCH, stdout);
  printf("\nexit status: 0 installed (or already up to date), 2 usage or configuration\n"
         "(an unsafe state dir or --out included),\n"
         "3 manifest or key statement rejected, 4 download failed on every source, 5 payload rejected,\n"
         "6 stale (no fresh manifest since the last successful check), 7 the clock is\n"
         "behind the latest known time, 1 other failure (an interrupted download, a\n"
         "failed --exec command).\n");
}

static sw_err fetch_prepare(fetch *f, int argc, char **argv, char *statedir, char *msg, size_t msglen, int *done) {
  sw_fresh fresh = SW_FRESH_REJECTED;
  sw_err err;
  *done = 0;
  err = sw_opts_parse(SW_CMD_FETCH, argc, argv, &f->o, msg, msglen);
  if (err) return err;
  if (f->o.help) {
    fetch_help();
    *done = 1;
    return SW_OK;
  }
  if (f->o.n_args) return sw_fail(SW_ERR_USAGE, msg, msglen, "unexpected argument \"%.60s\"", f->o.args[0]);
  err = sw__cmd_check_names(&f->o, msg, msglen);
  if (err) return err;
  if (f->o.out == NULL) return sw_fail(SW_ERR_USAGE, msg, msglen, "--out is required");
  /* --out is made and checked (ours, nobody else can write it) before any download. */
  err = sw_install_open(&f->inst, f->o.out, msg, msglen);
  if (err) return err;
  if (f->o.no_swarm && f->o.no_fallback)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "--no-swarm and --no-fallback leave no source");
  if (f->o.state_dir == NULL) {
    if (sw_state_default_dir(statedir, 2048) != SW_OK)
      return sw_fail(SW_ERR_CONFIG, msg, msglen, "no state dir: set --state-dir or HOME");
    f->o.state_dir = statedir;
  }
  /* 1. the manifest: authentic, well-formed, for us, fresh */
  err = sw_release_open_keys(&f->o, &f->pgp, msg, msglen);
  if (err) return err;
  err = sw_release_load(&f->o, f->pgp, &f->r, msg, msglen);
  if (err) return sw_release_unavailable(&f->o, &f->st, &f->rec, err, msg, msglen); /* stale? */
  err = sw_state_open(&f->st, f->o.state_dir, msg, msglen);
  if (err) return err;
  err = sw_release_check_fresh(&f->o, f->st, &f->r, &fresh, &f->rec, msg, msglen);
  if (err) return err;
  if (fresh == SW_FRESH_NEWER) {
    err = sw_release_record(f->st, &f->r, &f->rec, msg, msglen);
    if (err) return err;
  }
  if ((size_t)snprintf(f->out_path, sizeof f->out_path, "%s/%s", f->inst.dir, f->r.m->file) >= sizeof f->out_path)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "--out path too long");
  if (f->rec.installed_sequence == f->r.m->sequence) {
    /* Installed before: up to date if --out still holds exactly that release. */
    sw_gate_verdict *v = calloc(1, sizeof *v);
    int same = v && sw_gate_check_path(f->pgp, f->r.m, f->out_path, (unsigned)f->o.threshold, v) == SW_OK && v->accepted;
    free(v);
    if (same) {
      /* A successful check: note it (a newer manifest was recorded above). */
      if (fresh != SW_FRESH_NEWER) sw_release_note_saved(f->st, &f->o, &f->rec, "fetch");
      if (f->o.json) {
        sw_json j;
        sw_json_begin(&j, stdout);
        sw_json_str(&j, "event", "up-to-date");
        sw_json_str(&j, "path", f->out_path);
        sw_json_str(&j, "version", f->r.m->version);
        sw_json_u64(&j, "sequence", f->r.m->sequence);
        sw_json_end(&j);
      } else {
        printf("up to date: %s is %s %s (sequence %" PRIu64 ")\n", f->out_path, f->r.m->product, f->r.m->version,
               f->r.m->sequence);
      }
      *done = 1;
      return SW_OK;
    }
  }
  if (!f->o.json && !f->o.no_progress)
    fprintf(stderr, "manifest ok: %s %s (sequence %" PRIu64 "), %s, %" PRIu64 " bytes\n", f->r.m->product,
            f->r.m->version, f->r.m->sequence, f->r.m->file, f->r.m->size);
  err = sw_store_open(sw_state_root(f->st), f->r.m, 1, &f->paths, msg, msglen);
  if (err) return err;
  snprintf(f->part_path, sizeof f->part_path, "%s", f->paths.part);
  {
    /* The download goes into the store through memory-mapped files: a disk
     * that fills up under a mapping is a crash in libtorrent (SIGBUS), not an
     * error. So check the room first (what is already there counts). */
    struct statvfs vfs;
    struct stat st;
    uint64_t have = 0, need, room;
    if (fstatat(f->paths.d.fd, f->paths.file_name, &st, AT_SYMLINK_NOFOLLOW) == 0) have = (uint64_t)st.st_blocks * 512u;
    if (fstatat(f->paths.d.fd, f->paths.part_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (uint64_t)st.st_blocks * 512u > have)
      have = (uint64_t)st.st_blocks * 512u;
    need = f->r.m->size > have ? f->r.m->size - have : 0;
    /* HTTPS alone writes with pwrite: a full disk is a plain error there. */
    if (!f->o.no_swarm && statvfs(f->paths.dir, &vfs) == 0) {
      room = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
      if (room < need)
        return sw_fail(SW_ERR_IO, msg, msglen,
                       "not enough room in %.300s for the download: %" PRIu64 " bytes needed, %" PRIu64
                       " free (No space left on device)",
                       f->paths.dir, need, room);
    }
  }
  return SW_OK;
}

int sw_cmd_fetch(int argc, char **argv) {
  fetch *f = calloc(1, sizeof *f);
  char msg[SW_FETCH_MSG_MAX] = "", statedir[2048];
  sw_swarm_settings ss;
  sw_swarm_callbacks cb;
  sw_swarm_download dl;
  sw_http_opts ho;
  sw_err err = SW_OK;
  int rc = 1, loop_ok = 0, done = 0;

  if (f == NULL) return sw_report_error(0, "fetch", SW_ERR_NOMEM, "out of memory");
  f->tty = isatty(2);
  f->part_fd = -1;
  sw_dir_init(&f->paths.d);
  sw_dir_init(&f->paths.store);
  sw_install_init(&f->inst);
  err = fetch_prepare(f, argc, argv, statedir, msg, sizeof msg, &done);
  if (err) goto fail;
  if (done) {
    rc = 0;
    goto out;
  }
  if (!f->o.no_swarm) {
    err = sw_swarm_opts_to_settings(&f->o, &ss, msg, sizeof msg);
    if (err) goto fail;
  }
  f->gv = calloc(1, sizeof *f->gv);
  if (f->gv == NULL) {
    err = sw_fail(SW_ERR_NOMEM, msg, sizeof msg, "out of memory");
    goto fail;
  }

  if (uv_mutex_init(&f->mu) != 0) {
    err = sw_fail(SW_ERR_INTERNAL, msg, sizeof msg, "cannot create the gate's lock");
    goto fail;
  }
  if (uv_cond_init(&f->cv) != 0) {
    uv_mutex_destroy(&f->mu);
    err = sw_fail(SW_ERR_INTERNAL, msg, sizeof msg, "cannot create the gate's condition");
    goto fail;
  }
  f->sync_ok = 1;

  /* 2. the loop: signals, a 1 s tick for timeouts, the HTTPS client, the swarm */
  if (uv_loop_init(&f->loop) != 0) {
    err = sw_fail(SW_ERR_INTERNAL, msg, sizeof msg, "uv_loop_init failed");
    goto fail;
  }
  loop_ok = 1;
  uv_timer_init(&f->loop, &f->tick);
  uv_timer_init(&f->loop, &f->retry);
  uv_async_init(&f->loop, &f->pump, on_pump);
  f->pump.data = f;
  f->pump_ok = 1;
  uv_signal_init(&f->loop, &f->sig_int);
  uv_signal_init(&f->loop, &f->sig_term);
  f->tick.data = f->retry.data = f->sig_int.data = f->sig_term.data = f;
  uv_signal_start(&f->sig_int, on_signal, SIGINT);
  uv_signal_start(&f->sig_term, on_signal, SIGTERM);
  uv_timer_start(&f->tick, on_tick, 1000, 1000);
  f->t_start = f->t_progress = now_ms(f);
  f->phase = PH_SWARM;

  if (!f->o.no_fallback) {
    memset(&ho, 0, sizeof ho);
    ho.ca_file = f->o.ca_file;
    ho.low_speed_bytes = (long)f->o.low_speed_limit;
    ho.low_speed_time_s = (long)f->o.low_speed_time;
    ho.min_rate = f->o.min_rate ? f->o.min_rate : 1; /* 0: no deadline to speak of (1 B/s) */
    err = sw_http_new(&f->http, &f->loop, &ho, msg, sizeof msg);
    if (err) {
      fetch_fail(f, err, "HTTPS client: %s", msg);
      goto run;
    }
  }
  if (sw_store_is_verified(&f->paths, f->r.m) && sw_store_has(&f->paths, f->paths.file_name)) {
    /* An earlier run downloaded and verified it but stopped before installing:
     * install from the store (the gate checks it again on the way). */
    f->from_store = 1;
    f->torrent_file_ok = sw_store_has(&f->paths, f->paths.torrent_name); /* checked against btmh when read */
    fetch_event(f, "from-store", "the release was downloaded and verified before: installing it from the store");
  }
  if (f->o.no_swarm) {
    /* No session at all: not a single BitTorrent socket is opened. */
    if (f->from_store) {
      set_avail(f, f->r.m->size);
      start_gate(f);
      f->phase = PH_GATE;
    } else {
      switch_to_https(f, "--no-swarm");
    }
    goto run;
  }

  memset(&cb, 0, sizeof cb);
  cb.arg = f;
  cb.on_status = on_status;
  cb.on_metadata = on_metadata;
  cb.on_peer = on_peer;
  cb.on_finished = on_finished;
  cb.on_error = on_error;
  cb.on_piece_failed = on_piece_failed;
  cb.on_piece = on_piece;
  cb.on_piece_data = on_piece_data;
  cb.on_reset = on_reset;
  cb.on_tracker = on_tracker;
  cb.on_closed = on_swarm_closed;
  err = sw_swarm_new(&f->loop, &ss, &cb, &f->swarm, msg, sizeof msg);
  if (err) {
    fetch_event(f, "warning", "swarm: %s", msg);
    if (f->from_store) {
      set_avail(f, f->r.m->size);
      start_gate(f);
      f->phase = PH_GATE;
    } else {
      switch_to_https(f, "the swarm session could not start");
    }
    goto run;
  }
  if (f->from_store) {
    /* The session only serves the seeding afterwards. */
    set_avail(f, f->r.m->size);
    start_gate(f);
    f->phase = PH_GATE;
    goto run;
  }
  memset(&dl, 0, sizeof dl);
  dl.btmh = f->r.m->magnet.btmh;
  dl.btih = f->r.m->magnet.has_btih ? f->r.m->magnet.btih : NULL;
  dl.expected_name = f->r.m->file;
  dl.expected_size = f->r.m->size;
  {
    const char *tr[SW_MAGNET_TR_MAX], *pe[SW_MAGNET_PEERS_MAX];
    f->n_trackers = f->r.m->magnet.n_tr;
    f->n_peers = f->r.m->magnet.n_peers;
    for (size_t i = 0; i < f->n_trackers; i++) tr[i] = f->r.m->magnet.tr[i];
    for (size_t i = 0; i < f->n_peers; i++) pe[i] = f->r.m->magnet.peers[i];
    dl.trackers = tr;
    dl.n_trackers = f->n_trackers;
    dl.peers = pe;
    dl.n_peers = f->n_peers;
    dl.save_dir = f->paths.dir;
    dl.resume_path = f->paths.resume;
    dl.sequential = 0; /* rarest-first; the gate's next pieces get deadlines (pump_pieces) */
    err = sw_swarm_add_download(f->swarm, &dl, &f->t, msg, sizeof msg);
  }
  if (err) switch_to_https(f, msg);

run:
  uv_run(&f->loop, UV_RUN_DEFAULT);
  if (f->result != SW_OK) {
    err = f->result;
    snprintf(msg, sizeof msg, "%s", f->msg);
    goto fail;
  }
  if (f->exec_status) {
    err = SW_ERR_INTERNAL;
    snprintf(msg, sizeof msg, "installed %.200s, but %.250s", f->out_path, f->exec_msg);
    goto fail;
  }
  rc = 0;
  goto out;
fail:
  if (err == SW_ERR_STALE) rc = sw__report_stale("fetch", &f->o, &f->rec, msg);
  else rc = sw_report_error(f->o.json, "fetch", err, msg);
out:
  if (loop_ok) {
    if (f->phase != PH_CLOSING) fetch_shutdown(f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&f->loop) != 0) fprintf(stderr, "swarmup fetch: warning: loop handles left open\n");
  }
  if (f->part_fd >= 0) close(f->part_fd);
  sw_install_close(&f->inst);
  free(f->gv);
  free(f->have);
  free(f->done);
  free(f->src);
  for (int i = 0; i < SW_PIECE_RING; i++) free(f->ring[i].data);
  free(f->piece_buf);
  if (f->sync_ok) {
    uv_cond_destroy(&f->cv);
    uv_mutex_destroy(&f->mu);
  }
  free(f->tbuf);
  sw_store_close(&f->paths);
  sw_state_close(f->st);
  sw_release_free(&f->r);
  sw_pgp_free(f->pgp);
  sw_opts_free(&f->o);
  free(f);
  return rc;
}
