/* swarmup fetch: manifest -> swarm -> payload gate -> atomic install -> seeding,
 * on one libuv loop. The gate runs on libuv's thread pool; everything else
 * runs on the loop thread and never blocks for long.
 *
 * Where bytes live: the swarm downloads into the release's store directory
 * under the state dir (STATE/<product>/<channel>/store/<sequence>/), never
 * into --out. The gate reads that file once, and the very bytes it checks are
 * written into an unnamed file in --out (see install.h), which gets its name
 * only after the gate accepted it. The store copy stays for seeding, marked
 * verified; the copy in --out is the user's. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "cmd.h"
#include "fsutil.h"
#include "gate.h"
#include "install.h"
#include "out.h"
#include "release.h"
#include "store.h"
#include "swarm.h"
#include "swopts.h"

enum fetch_phase { PH_SWARM, PH_GATE, PH_SEED, PH_CLOSING };

typedef struct fetch {
  uv_loop_t loop;
  sw_opts o;
  sw_pgp *pgp;
  sw_state *st;
  sw_release r;
  sw_state_rec rec;
  sw_swarm *swarm;
  sw_swarm_torrent *t;
  uv_signal_t sig_int, sig_term;
  uv_timer_t tick;
  uv_work_t work;
  int handles_open;
  sw_install inst;
  sw_gate_verdict *gv;
  sw_err gate_err;
  enum fetch_phase phase;
  uint64_t t_start, t_progress, t_seed;
  uint64_t last_done, seed_up_base, swarm_bytes;
  int have_metadata, peers_ever, interrupted;
  sw_swarm_status last;
  sw_err result;
  char msg[SW_MSG_MAX];
  sw_store_paths paths;
  char out_path[4096];
  int tty;
} fetch;

static void fetch_shutdown(fetch *f);

static void fetch_event(fetch *f, const char *event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A line for people (stderr) or a JSON event (stdout). fmt is the text form. */
static void fetch_event(fetch *f, const char *event, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (f->o.json) {
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", event);
    sw_json_str(&j, "message", text);
    sw_json_end(&j);
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

static void show_progress(fetch *f, const sw_swarm_status *st) {
  if (f->o.json) {
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", f->phase == PH_SEED ? "seeding" : "progress");
    sw_json_u64(&j, "bytes", st->bytes_done);
    sw_json_u64(&j, "size", f->r.m->size);
    sw_json_i64(&j, "download_rate", st->download_rate);
    sw_json_i64(&j, "upload_rate", st->upload_rate);
    sw_json_u64(&j, "uploaded", st->total_payload_upload);
    sw_json_i64(&j, "peers", st->num_peers);
    sw_json_end(&j);
    return;
  }
  if (!f->tty || f->o.no_progress) return;
  char done[32], size[32], rate[32], eta[32] = "--:--";
  double frac = f->r.m->size ? (double)st->bytes_done / (double)f->r.m->size : 0;
  int bar = (int)(frac * 24), i;
  fmt_bytes(st->bytes_done, done, sizeof done);
  fmt_bytes(f->r.m->size, size, sizeof size);
  if (f->phase == PH_SEED) {
    fmt_bytes(st->total_payload_upload, done, sizeof done);
    fmt_bytes((uint64_t)st->upload_rate, rate, sizeof rate);
    fprintf(stderr, "\r\033[Kseeding: %s uploaded, %s/s, %d peers", done, rate, st->num_peers);
    fflush(stderr);
    return;
  }
  fmt_bytes((uint64_t)st->download_rate, rate, sizeof rate);
  if (st->download_rate > 0) {
    uint64_t left = (f->r.m->size - st->bytes_done) / (uint64_t)st->download_rate;
    snprintf(eta, sizeof eta, "%" PRIu64 ":%02" PRIu64, left / 60, left % 60);
  }
  fputs("\r\033[K[", stderr);
  for (i = 0; i < 24; i++) fputc(i < bar ? '#' : '.', stderr);
  fprintf(stderr, "] %5.1f%% %s/%s %s/s %d peers ETA %s", frac * 100, done, size, rate, st->num_peers, eta);
  fflush(stderr);
}

/* ---- gate and install ---------------------------------------------------- */

static void gate_work(uv_work_t *w) {
  fetch *f = w->data;
  int fd = open(f->paths.file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    f->gate_err = SW_ERR_IO;
    snprintf(f->gv->reason, sizeof f->gv->reason, "%.300s: %s", f->paths.file, strerror(errno));
    return;
  }
  f->gate_err = sw_gate_check_fd_copy(f->pgp, f->r.m, fd, f->inst.fd, (unsigned)f->o.threshold, f->gv);
  close(fd);
}

static void gate_done(uv_work_t *w, int status) {
  fetch *f = w->data;
  char msg[SW_MSG_MAX];
  sw_err err;
  (void)status;
  f->handles_open--;
  if (f->phase == PH_CLOSING) { /* interrupted while the gate ran: drop the copy */
    sw_install_abort(&f->inst);
    fetch_shutdown(f);
    return;
  }
  if (f->gate_err != SW_OK) {
    sw_install_abort(&f->inst);
    fetch_fail(f, f->gate_err, "could not check the payload: %s", f->gv->reason);
    return;
  }
  if (!f->gv->accepted) {
    /* Discard the bad bytes: they must not be seeded or installed. */
    sw_install_abort(&f->inst);
    if (f->t) {
      sw_swarm_remove(f->t);
      f->t = NULL;
    }
    sw_store_discard(&f->paths);
    fetch_fail(f, SW_ERR_PAYLOAD, "payload rejected: %s from the swarm: %s", f->r.m->file, f->gv->reason);
    return;
  }
  err = sw_install_commit(&f->inst, msg, sizeof msg);
  if (err) {
    fetch_fail(f, err, "install into %s failed: %s", f->o.out, msg);
    return;
  }
  err = sw_store_mark_verified(&f->paths, f->r.m, msg, sizeof msg);
  if (err == SW_OK) {
    f->rec.installed_sequence = f->r.m->sequence;
    snprintf(f->rec.installed_version, sizeof f->rec.installed_version, "%s", f->r.m->version);
    err = sw_state_save(f->st, f->r.m->product, f->r.m->channel, &f->rec, msg, sizeof msg);
  }
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
    sw_hex(f->gv->sha256, 32, sha);
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", "installed");
    sw_json_str(&j, "path", f->out_path);
    sw_json_str(&j, "version", f->r.m->version);
    sw_json_u64(&j, "sequence", f->r.m->sequence);
    sw_json_u64(&j, "size", f->r.m->size);
    sw_json_str(&j, "sha256", sha);
    sw_json_u64(&j, "swarm_bytes", f->swarm_bytes);
    sw_json_u64(&j, "https_bytes", 0);
    sw_json_end(&j);
  } else {
    char b[32];
    fmt_bytes(f->swarm_bytes, b, sizeof b);
    if (f->tty) fputs("\r\033[K", stderr);
    printf("installed %s (%s %s, sequence %" PRIu64 "): %s from the swarm, 0 B over HTTPS, verified\n",
           f->out_path, f->r.m->product, f->r.m->version, f->r.m->sequence, b);
    fflush(stdout);
  }
  if (f->o.seed_time == 0 || f->t == NULL) {
    fetch_shutdown(f);
    return;
  }
  f->phase = PH_SEED;
  f->t_seed = now_ms(f);
  f->seed_up_base = f->last.total_payload_upload;
  fetch_event(f, "seeding", "seeding the verified copy for up to %" PRIu64 " s%s (Ctrl-C stops)", f->o.seed_time,
              f->o.seed_ratio > 0 ? " or until the ratio is reached" : "");
}

static void start_gate(fetch *f) {
  char msg[SW_MSG_MAX];
  sw_err err;
  if (f->phase != PH_SWARM) return;
  f->phase = PH_GATE;
  err = sw_install_begin(&f->inst, f->o.out, f->r.m->file, msg, sizeof msg);
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
  f->handles_open++;
}

/* ---- swarm callbacks ------------------------------------------------------ */

static void on_status(void *arg, sw_swarm_torrent *t, void *t_arg, const sw_swarm_status *st) {
  fetch *f = arg;
  (void)t_arg;
  if (t == NULL || t != f->t) return;
  f->last = *st;
  f->swarm_bytes = st->total_payload_download > f->swarm_bytes ? st->total_payload_download : f->swarm_bytes;
  if (st->num_peers > 0) f->peers_ever = 1;
  if (st->bytes_done != f->last_done) {
    f->last_done = st->bytes_done;
    f->t_progress = now_ms(f);
  }
  if (f->phase == PH_SWARM || f->phase == PH_SEED) show_progress(f, st);
}

static void on_metadata(void *arg, sw_swarm_torrent *t, void *t_arg) {
  fetch *f = arg;
  char msg[SW_MSG_MAX];
  (void)t_arg;
  f->have_metadata = 1;
  f->t_progress = now_ms(f);
  /* Keep the torrent beside the file, so that `swarmup seed` can serve it. */
  if (sw_swarm_write_torrent(t, f->paths.torrent, msg, sizeof msg) != SW_OK)
    fetch_event(f, "warning", "warning: could not keep the torrent file: %s", msg);
  fetch_event(f, "metadata", "metadata received: %s, %" PRIu64 " bytes", f->r.m->file, f->r.m->size);
}

static void on_peer(void *arg, sw_swarm_torrent *t, void *t_arg, int connected, const char *endpoint,
                    const char *reason) {
  fetch *f = arg;
  (void)t;
  (void)t_arg;
  (void)reason;
  if (connected) f->peers_ever = 1;
  if (f->o.json) {
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", connected ? "peer-connected" : "peer-disconnected");
    sw_json_str(&j, "peer", endpoint);
    if (!connected && reason) sw_json_str(&j, "reason", reason);
    sw_json_end(&j);
  }
}

static void on_finished(void *arg, sw_swarm_torrent *t, void *t_arg) {
  fetch *f = arg;
  (void)t_arg;
  if (t != f->t) return;
  if (sw_swarm_get_status(t, &f->last, NULL, 0) == SW_OK) {
    if (f->last.total_payload_download > f->swarm_bytes) f->swarm_bytes = f->last.total_payload_download;
  }
  start_gate(f);
}

static void on_error(void *arg, sw_swarm_torrent *t, void *t_arg, sw_err err, const char *msg) {
  fetch *f = arg;
  (void)t_arg;
  if (t == NULL && err == SW_ERR_SWARM && f->phase != PH_CLOSING) {
    fetch_event(f, "warning", "swarm: %s", msg);
    return;
  }
  if (f->phase == PH_SEED) {
    fetch_event(f, "warning", "seeding stopped: %s", msg);
    fetch_shutdown(f);
    return;
  }
  if (err == SW_ERR_TORRENT_MISMATCH)
    fetch_fail(f, SW_ERR_DOWNLOAD, "download failed on every source: swarm: %s (manifest/torrent mismatch)", msg);
  else fetch_fail(f, SW_ERR_DOWNLOAD, "download failed on every source: swarm: %s", msg);
}

static void handle_closed(uv_handle_t *h) {
  fetch *f = h->data;
  f->handles_open--;
}

static void on_swarm_closed(void *arg) {
  fetch *f = arg;
  f->handles_open--;
}

static void fetch_shutdown(fetch *f) {
  if (f->phase == PH_CLOSING) return;
  f->phase = PH_CLOSING;
  if (f->tty && !f->o.json) fputs("\r\033[K", stderr);
  if (!uv_is_closing((uv_handle_t *)&f->tick)) uv_close((uv_handle_t *)&f->tick, handle_closed);
  if (!uv_is_closing((uv_handle_t *)&f->sig_int)) uv_close((uv_handle_t *)&f->sig_int, handle_closed);
  if (!uv_is_closing((uv_handle_t *)&f->sig_term)) uv_close((uv_handle_t *)&f->sig_term, handle_closed);
  if (f->swarm) {
    sw_swarm_free(f->swarm); /* saves resume data (bounded), then on_swarm_closed */
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

static void on_tick(uv_timer_t *h) {
  fetch *f = h->data;
  uint64_t now = now_ms(f);
  if (f->phase == PH_SWARM) {
    if ((!f->have_metadata || !f->peers_ever) && now - f->t_start >= f->o.swarm_timeout * 1000) {
      fetch_fail(f, SW_ERR_DOWNLOAD, "download failed on every source: swarm: %s within %" PRIu64 " s",
                 !f->have_metadata ? "no metadata" : "no peer", f->o.swarm_timeout);
      return;
    }
    if (f->have_metadata && now - f->t_progress >= f->o.stall_timeout * 1000) {
      fetch_fail(f, SW_ERR_DOWNLOAD, "download failed on every source: swarm: no progress for %" PRIu64 " s",
                 f->o.stall_timeout);
      return;
    }
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

/* ---- setup ------------------------------------------------------------------ */

static void fetch_help(void) {
  printf("usage: swarmup fetch --manifest SRC --trusted-key FILE --product NAME --out DIR [options]\n\n"
         "Verify the manifest (as `swarmup check`), download the release from the swarm\n"
         "into the state dir, check size, SHA-256 and signature (the payload gate), put\n"
         "the file into DIR atomically, then keep seeding the verified copy until the\n"
         "seed time or ratio is reached, or SIGINT/SIGTERM. DIR never holds a partial or\n"
         "unverified file. An interrupted download resumes on the next run.\n\n"
         "options:\n");
  sw_opts_print_help(SW_CMD_FETCH, stdout);
  printf("\nexit status: 0 installed (or already installed), 2 usage or configuration,\n"
         "3 manifest rejected, 4 download failed on every source, 5 payload rejected,\n"
         "1 other failure (including an interrupted download).\n");
}

int sw_cmd_fetch(int argc, char **argv) {
  fetch *f = calloc(1, sizeof *f);
  sw_fresh fresh = SW_FRESH_REJECTED;
  char msg[SW_MSG_MAX] = "", statedir[2048];
  sw_swarm_settings ss;
  sw_swarm_callbacks cb;
  sw_swarm_download dl;
  sw_err err = SW_OK;
  int rc = 1, loop_ok = 0;

  if (f == NULL) return sw_report_error(0, "fetch", SW_ERR_NOMEM, "out of memory");
  f->tty = isatty(2);
  err = sw_opts_parse(SW_CMD_FETCH, argc, argv, &f->o, msg, sizeof msg);
  if (err) goto fail;
  if (f->o.help) {
    fetch_help();
    rc = 0;
    goto out;
  }
  if (f->o.n_args) {
    err = sw_fail(SW_ERR_USAGE, msg, sizeof msg, "unexpected argument \"%.60s\"", f->o.args[0]);
    goto fail;
  }
  err = sw__cmd_check_names(&f->o, msg, sizeof msg);
  if (err) goto fail;
  if (f->o.out == NULL) {
    err = sw_fail(SW_ERR_USAGE, msg, sizeof msg, "--out is required");
    goto fail;
  }
  err = sw_swarm_opts_to_settings(&f->o, &ss, msg, sizeof msg);
  if (err) goto fail;
  if (f->o.state_dir == NULL) {
    if (sw_state_default_dir(statedir, sizeof statedir) != SW_OK) {
      err = sw_fail(SW_ERR_CONFIG, msg, sizeof msg, "no state dir: set --state-dir or HOME");
      goto fail;
    }
    f->o.state_dir = statedir;
  }

  /* 1. the manifest: authentic, well-formed, for us, fresh */
  err = sw_release_open_keys(&f->o, &f->pgp, msg, sizeof msg);
  if (err) goto fail;
  err = sw_release_load(&f->o, f->pgp, &f->r, msg, sizeof msg);
  if (err) goto fail;
  err = sw_state_open(&f->st, f->o.state_dir, msg, sizeof msg);
  if (err) goto fail;
  err = sw_release_check_fresh(&f->o, f->st, &f->r, &fresh, &f->rec, msg, sizeof msg);
  if (err) goto fail;
  if (fresh == SW_FRESH_NEWER) {
    err = sw_release_record(f->st, &f->r, &f->rec, msg, sizeof msg);
    if (err) goto fail;
  }
  if ((size_t)snprintf(f->out_path, sizeof f->out_path, "%s/%s", f->o.out, f->r.m->file) >= sizeof f->out_path) {
    err = sw_fail(SW_ERR_USAGE, msg, sizeof msg, "--out path too long");
    goto fail;
  }
  if (f->rec.installed_sequence == f->r.m->sequence) {
    /* Installed before: up to date if --out still holds exactly that release. */
    sw_gate_verdict *v = calloc(1, sizeof *v);
    int same = v && sw_gate_check_path(f->pgp, f->r.m, f->out_path, (unsigned)f->o.threshold, v) == SW_OK && v->accepted;
    free(v);
    if (same) {
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
      rc = 0;
      goto out;
    }
  }
  if (!f->o.json && f->o.no_progress == 0)
    fprintf(stderr, "manifest ok: %s %s (sequence %" PRIu64 "), %s, %" PRIu64 " bytes\n", f->r.m->product,
            f->r.m->version, f->r.m->sequence, f->r.m->file, f->r.m->size);
  err = sw_store_paths_for(f->o.state_dir, f->r.m, &f->paths, msg, sizeof msg);
  if (err) goto fail;
  err = sw_store_prepare(&f->paths, msg, sizeof msg);
  if (err) goto fail;

  f->gv = calloc(1, sizeof *f->gv);
  if (f->gv == NULL) {
    err = sw_fail(SW_ERR_NOMEM, msg, sizeof msg, "out of memory");
    goto fail;
  }

  /* 2. the loop: signals, a 1 s tick for timeouts, the swarm */
  if (uv_loop_init(&f->loop) != 0) {
    err = sw_fail(SW_ERR_INTERNAL, msg, sizeof msg, "uv_loop_init failed");
    goto fail;
  }
  loop_ok = 1;
  uv_timer_init(&f->loop, &f->tick);
  uv_signal_init(&f->loop, &f->sig_int);
  uv_signal_init(&f->loop, &f->sig_term);
  f->tick.data = f->sig_int.data = f->sig_term.data = f;
  f->handles_open = 3;
  uv_signal_start(&f->sig_int, on_signal, SIGINT);
  uv_signal_start(&f->sig_term, on_signal, SIGTERM);
  uv_timer_start(&f->tick, on_tick, 1000, 1000);
  f->t_start = f->t_progress = now_ms(f);

  memset(&cb, 0, sizeof cb);
  cb.arg = f;
  cb.on_status = on_status;
  cb.on_metadata = on_metadata;
  cb.on_peer = on_peer;
  cb.on_finished = on_finished;
  cb.on_error = on_error;
  cb.on_closed = on_swarm_closed;
  err = sw_swarm_new(&f->loop, &ss, &cb, &f->swarm, msg, sizeof msg);
  if (err) {
    fetch_fail(f, err, "swarm: %s", msg);
    goto run;
  }
  f->handles_open++; /* the swarm, until on_closed */
  memset(&dl, 0, sizeof dl);
  dl.btmh = f->r.m->magnet.btmh;
  dl.btih = f->r.m->magnet.has_btih ? f->r.m->magnet.btih : NULL;
  dl.expected_name = f->r.m->file;
  dl.expected_size = f->r.m->size;
  {
    const char *tr[SW_MAGNET_TR_MAX], *pe[SW_MAGNET_PEERS_MAX];
    for (size_t i = 0; i < f->r.m->magnet.n_tr; i++) tr[i] = f->r.m->magnet.tr[i];
    for (size_t i = 0; i < f->r.m->magnet.n_peers; i++) pe[i] = f->r.m->magnet.peers[i];
    dl.trackers = tr;
    dl.n_trackers = f->r.m->magnet.n_tr;
    dl.peers = pe;
    dl.n_peers = f->r.m->magnet.n_peers;
    dl.save_dir = f->paths.dir;
    dl.resume_path = f->paths.resume;
    err = sw_swarm_add_download(f->swarm, &dl, &f->t, msg, sizeof msg);
  }
  if (err) fetch_fail(f, SW_ERR_DOWNLOAD, "download failed on every source: swarm: %s", msg);

run:
  uv_run(&f->loop, UV_RUN_DEFAULT);
  if (f->result != SW_OK) {
    err = f->result;
    snprintf(msg, sizeof msg, "%s", f->msg);
    goto fail;
  }
  rc = 0;
  goto out;
fail:
  rc = sw_report_error(f->o.json, "fetch", err, msg);
out:
  if (loop_ok) {
    uv_run(&f->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&f->loop) != 0) fprintf(stderr, "swarmup fetch: warning: loop handles left open\n");
  }
  sw_install_abort(&f->inst);
  free(f->gv);
  sw_state_close(f->st);
  sw_release_free(&f->r);
  sw_pgp_free(f->pgp);
  sw_opts_free(&f->o);
  free(f);
  return rc;
}
