/* swarmup fetch: the update machine's run-time. The command (fetch.c) checked
 * the manifest and opened the store; from here one run goes through these
 * phases (fetch.phase), on one libuv loop, each step in the file named:
 *
 *   PH_DOWNLOAD  the swarm (fetch_swarm.c) and HTTPS (fetch_https.c, file mode
 *        |       fetch_https_file.c, pieces mode fetch_https_pieces.c) deliver
 *        |       under the scheduler (fetch_sched.c); the gate (fetch_gate.c)
 *        |       already reads the final prefix behind them
 *        v
 *   PH_GATE      the download is over; the gate reads the last bytes
 *        |       (fetch_gate.c) and gives its verdict
 *        v
 *   install      accepted: the store marked verified, the atomic install into
 *        |       --out, the state saved, "installed" (fetch_install.c);
 *        |       rejected: the bad bytes discarded, and either the next
 *        |       Fallback URL goes on (fetch_https_file.c) or the run fails
 *        v
 *   hook         --exec on the installed file (fetch_hook.c)
 *        v
 *   PH_SEED      the verified copy is shared until the seed time or ratio
 *        |       (fetch_seed.c); without a swarm session or a torrent, straight on
 *        v
 *   PH_CLOSING   every handle closed (sw__fetch_shutdown, here): from any phase
 *                on the first failure (sw__fetch_fail) or a signal
 *
 * This file: the failure and the shutdown, the signals, the 1 s tick's
 * dispatch by phase, and the loop's setup, run and teardown. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "fetch_int.h"

static void handle_closed(uv_handle_t *h) { (void)h; }

/* First failure wins; then everything is closed. */
void sw__fetch_fail(fetch *f, sw_err err, const char *fmt, ...) {
  va_list ap;
  if (f->result == SW_OK) {
    f->result = err;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
  }
  sw__fetch_shutdown(f);
}

void sw__fetch_shutdown(fetch *f) {
  if (f->phase == PH_CLOSING) return;
  f->phase = PH_CLOSING;
  if (f->rep.tty && !f->o.json) fputs("\r\033[K", stderr);
  uv_close((uv_handle_t *)&f->tick, handle_closed);
  uv_close((uv_handle_t *)&f->https.retry, handle_closed);
  uv_close((uv_handle_t *)&f->sched_tick, handle_closed);
  uv_close((uv_handle_t *)&f->sig_int, handle_closed);
  uv_close((uv_handle_t *)&f->sig_term, handle_closed);
  if (f->hook.exec_running) uv_process_kill(&f->hook.proc, SIGTERM);
  sw__fetch_cancel_gate(f); /* a gate waiting for bytes gives up */
  if (f->https.http) {
    sw_http_free(f->https.http); /* cancels transfers; their on_done sees PH_CLOSING */
    f->https.http = NULL;
  }
  if (f->sw.swarm) {
    sw_swarm_free(f->sw.swarm); /* saves resume data (bounded) */
    f->sw.swarm = NULL;
    f->sw.t = NULL;
  }
}

static void on_signal(uv_signal_t *h, int signum) {
  fetch *f = h->data;
  f->interrupted = signum;
  if (f->phase == PH_SEED) {
    sw__fetch_event(f, "stopped", "stopped seeding (signal %d)", signum);
    sw__fetch_shutdown(f);
  } else {
    sw__fetch_fail(f, SW_ERR_CANCELLED, "interrupted by signal %d; run again to resume from what was downloaded",
                   signum);
  }
}

static void on_tick(uv_timer_t *h) {
  fetch *f = h->data;
  uint64_t now = sw__fetch_now_ms(f);
  if (f->phase == PH_DOWNLOAD && !f->https.active) {
    sw__fetch_swarm_tick(f, now); /* the swarm alone: is it given up? */
  } else if (f->phase == PH_DOWNLOAD) {
    sw__fetch_show_progress(f);
  } else if (f->phase == PH_SEED) {
    sw__fetch_seed_tick(f, now);
  }
}

sw_err sw__fetch_open_loop(fetch *f, char *msg, size_t msglen) {
  sw_http_opts ho;
  char inner[SW_MSG_MAX];
  sw_err err;
  if (uv_loop_init(&f->loop) != 0) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "uv_loop_init failed");
  f->loop_ok = 1;
  /* Made even with --no-fallback: the manifest may be an https:// URL all the
   * same, and a client costs no socket until it is asked for something
   * (fetch.c frees it after the manifest then). One client, one set of
   * options: --low-speed-*, --min-rate and --ca-file apply to the manifest and
   * its signature as to the payload. */
  memset(&ho, 0, sizeof ho);
  ho.ca_file = f->o.ca_file;
  ho.low_speed_bytes = (long)f->o.low_speed_limit;
  ho.low_speed_time_s = (long)f->o.low_speed_time;
  ho.min_rate = f->o.min_rate ? f->o.min_rate : 1; /* 0: no deadline to speak of (1 B/s) */
  err = sw_http_new(&f->https.http, &f->loop, &ho, inner, sizeof inner);
  if (err) return sw_fail(err, msg, msglen, "HTTPS client: %s", inner);
  return SW_OK;
}

/* The first step on the loop: the sources (or the gate on the store's copy
 * when an earlier run verified it). A failure here is sw__fetch_fail's: the
 * loop runs anyway and closes what was opened. */
static void machine_start(fetch *f, const sw_swarm_settings *ss, char *msg, size_t msglen) {
  sw_swarm_callbacks cb;
  sw_err err;

  if (sw_store_is_verified(&f->paths, f->r.m) && sw_store_has(&f->paths, f->paths.file_name)) {
    /* An earlier run downloaded and verified it but stopped before installing:
     * install from the store (the gate checks it again on the way). */
    f->from_store = 1;
    f->torrent_file_ok = sw_store_has(&f->paths, f->paths.torrent_name); /* checked against btmh when read */
    sw__fetch_event(f, "from-store", "the release was downloaded and verified before: installing it from the store");
  }
  if (f->o.no_swarm) {
    /* No session at all: not a single BitTorrent socket is opened. */
    if (f->from_store) {
      sw__fetch_set_avail(f, f->r.m->size);
      sw__fetch_start_gate(f);
      f->phase = PH_GATE;
    } else {
      sw__fetch_switch_to_https(f, "--no-swarm");
    }
    return;
  }

  sw__fetch_swarm_callbacks(f, &cb);
  err = sw_swarm_new(&f->loop, ss, &cb, &f->sw.swarm, msg, msglen);
  if (err) {
    sw__fetch_event(f, "warning", "swarm: %s", msg);
    if (f->from_store) {
      sw__fetch_set_avail(f, f->r.m->size);
      sw__fetch_start_gate(f);
      f->phase = PH_GATE;
    } else {
      sw__fetch_switch_to_https(f, "the swarm session could not start");
    }
    return;
  }
  if (f->from_store) {
    /* The session only serves the seeding afterwards. */
    sw__fetch_set_avail(f, f->r.m->size);
    sw__fetch_start_gate(f);
    f->phase = PH_GATE;
    return;
  }
  err = sw__fetch_swarm_add(f, NULL, 0, msg, msglen);
  if (err) {
    sw__fetch_switch_to_https(f, msg);
    return;
  }
  sw__fetch_sched_start(f); /* HTTPS joins when the scheduler says so */
  sw__fetch_torrent_prefetch(f);
}

sw_err sw__fetch_run(fetch *f, char *msg, size_t msglen) {
  sw_swarm_settings ss;
  sw_err err;

  if (!f->o.no_swarm) {
    err = sw_swarm_opts_to_settings(&f->o, &ss, msg, msglen);
    if (err) return err;
  }
  f->gate.gv = calloc(1, sizeof *f->gate.gv);
  if (f->gate.gv == NULL) return sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");

  if (uv_mutex_init(&f->gate.mu) != 0) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "cannot create the gate's lock");
  if (uv_cond_init(&f->gate.cv) != 0) {
    uv_mutex_destroy(&f->gate.mu);
    return sw_fail(SW_ERR_INTERNAL, msg, msglen, "cannot create the gate's condition");
  }
  f->gate.sync_ok = 1;

  /* The loop (opened with the HTTPS client before the manifest was read):
   * signals, a 1 s tick for timeouts, the swarm */
  if (!f->loop_ok) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "sw__fetch_run: no loop");
  /* The loop last ran while the manifest was read; its clock stands still
   * since (the signature check, the store). Timers and t_start count from now. */
  uv_update_time(&f->loop);
  uv_timer_init(&f->loop, &f->tick);
  uv_timer_init(&f->loop, &f->https.retry);
  uv_timer_init(&f->loop, &f->sched_tick);
  f->sched_tick.data = f;
  uv_signal_init(&f->loop, &f->sig_int);
  uv_signal_init(&f->loop, &f->sig_term);
  f->tick.data = f->https.retry.data = f->sig_int.data = f->sig_term.data = f;
  uv_signal_start(&f->sig_int, on_signal, SIGINT);
  uv_signal_start(&f->sig_term, on_signal, SIGTERM);
  uv_timer_start(&f->tick, on_tick, 1000, 1000);
  f->handles_ok = 1;
  f->t_start = f->sw.t_progress = sw__fetch_now_ms(f);
  f->phase = PH_DOWNLOAD;
  sw__fetch_sched_init(f);
  machine_start(f, &ss, msg, msglen);

  uv_run(&f->loop, UV_RUN_DEFAULT);
  if (f->result != SW_OK) {
    snprintf(msg, msglen, "%s", f->msg);
    return f->result;
  }
  if (f->hook.exec_status) {
    snprintf(msg, msglen, "installed %.200s, but %.250s", f->out_path, f->hook.exec_msg);
    return SW_ERR_INTERNAL;
  }
  return SW_OK;
}

void sw__fetch_close(fetch *f) {
  if (f->loop_ok) {
    if (!f->handles_ok) {
      sw_http_free(f->https.http); /* the machine never ran: only the client is open */
      f->https.http = NULL;
    } else if (f->phase != PH_CLOSING) {
      sw__fetch_shutdown(f);
    }
    uv_run(&f->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&f->loop) != 0) fprintf(stderr, "swarmup fetch: warning: loop handles left open\n");
  }
  if (f->https.part_fd >= 0) close(f->https.part_fd);
  free(f->gate.gv);
  free(f->https.have);
  free(f->https.assigned);
  free(f->gate.done);
  free(f->rep.src);
  free(f->rep.refail);
  free(f->https.piece_buf);
  if (f->gate.sync_ok) {
    uv_cond_destroy(&f->gate.cv);
    uv_mutex_destroy(&f->gate.mu);
  }
  free(f->https.tbuf);
  free(f->https.tsigned);
}
