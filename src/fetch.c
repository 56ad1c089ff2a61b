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
 * The swarm and HTTPS download at once under a scheduler (scheduler.h,
 * fetch_sched.c; docs/fetch-sources.md): the swarm gets a head start
 * (--http-delay), HTTPS joins at once when no peer connected within a second
 * (a silent firewall), early when the swarm is too slow for the head start,
 * never when it finishes within it. The old reasons to give the swarm up (no
 * metadata or no peer within --swarm-timeout, less than --stall-rate over the
 * last --stall-timeout, every magnet peer and tracker failed) still end the
 * swarm's turn before HTTPS joined. HTTPS then works:
 *  - in pieces mode, when the swarm's torrent has its metadata (from a peer or
 *    the Torrent URL's .torrent): runs of pieces nobody has, from the end
 *    backwards, fetched with Range requests and handed to libtorrent
 *    (add_piece), which checks each against the v1 and v2 piece hashes before
 *    writing it; the result is a normal, seedable torrent;
 *  - in file mode, without metadata (and no Torrent URL), or when the swarm was
 *    given up having delivered nothing, or --no-swarm: the file is
 *    fetched into STORE/<File>.part (resumed with a Range request after an
 *    interruption, only from the URL that delivered it: STORE/part-source) and
 *    renamed into place when complete.
 * Either way the whole file then goes through the same payload gate. Each
 * Fallback URL is tried at most once a run: one that fails, misses its
 * deadline or delivers rejected bytes is not asked again, rejected bytes are
 * deleted, and the next URL goes on in the same run; the final error lists
 * every source tried and why it failed.
 *
 * This file: the options, the setup, the phases of the update machine, the
 * signals and the teardown; each concern is in its own fetch_*.c (fetch_int.h). */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <uv.h>

#include "fetch_int.h"
#include "fsutil.h"
#include "out.h"

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

static void fetch_help(void) {
  printf("usage: swarmup fetch --manifest SRC (--trusted-key FILE | --trusted-keys FILE [--keys-url BASE])\n"
         "                     --product NAME --out DIR [options]\n\n"
         "Verify the manifest (as `swarmup check`), download the release into the state\n"
         "dir from the swarm and, after the swarm's head start (--http-delay) or at once\n"
         "when no peer connects, from HTTPS (the manifest's Fallback URLs) at the same\n"
         "time, each piece from one source (see --http-delay, --prefer-swarm);\n"
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
  if (!f->o.json && !f->o.no_progress && !f->o.quiet)
    fprintf(stderr, "manifest ok: %s %s (sequence %" PRIu64 "), %s, %" PRIu64 " bytes\n", f->r.m->product,
            f->r.m->version, f->r.m->sequence, f->r.m->file, f->r.m->size);
  err = sw_store_open(sw_state_root(f->st), f->r.m, 1, &f->paths, msg, msglen);
  if (err) return err;
  snprintf(f->https.part_path, sizeof f->https.part_path, "%s", f->paths.part);
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
  sw_http_opts ho;
  sw_err err = SW_OK;
  int rc = 1, loop_ok = 0, done = 0;

  if (f == NULL) return sw_report_error(0, "fetch", SW_ERR_NOMEM, "out of memory");
  f->rep.tty = isatty(2);
  f->https.part_fd = -1;
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
  f->gate.gv = calloc(1, sizeof *f->gate.gv);
  if (f->gate.gv == NULL) {
    err = sw_fail(SW_ERR_NOMEM, msg, sizeof msg, "out of memory");
    goto fail;
  }

  if (uv_mutex_init(&f->gate.mu) != 0) {
    err = sw_fail(SW_ERR_INTERNAL, msg, sizeof msg, "cannot create the gate's lock");
    goto fail;
  }
  if (uv_cond_init(&f->gate.cv) != 0) {
    uv_mutex_destroy(&f->gate.mu);
    err = sw_fail(SW_ERR_INTERNAL, msg, sizeof msg, "cannot create the gate's condition");
    goto fail;
  }
  f->gate.sync_ok = 1;

  /* 2. the loop: signals, a 1 s tick for timeouts, the HTTPS client, the swarm */
  if (uv_loop_init(&f->loop) != 0) {
    err = sw_fail(SW_ERR_INTERNAL, msg, sizeof msg, "uv_loop_init failed");
    goto fail;
  }
  loop_ok = 1;
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
  f->t_start = f->sw.t_progress = sw__fetch_now_ms(f);
  f->phase = PH_DOWNLOAD;
  sw__fetch_sched_init(f);

  if (!f->o.no_fallback) {
    memset(&ho, 0, sizeof ho);
    ho.ca_file = f->o.ca_file;
    ho.low_speed_bytes = (long)f->o.low_speed_limit;
    ho.low_speed_time_s = (long)f->o.low_speed_time;
    ho.min_rate = f->o.min_rate ? f->o.min_rate : 1; /* 0: no deadline to speak of (1 B/s) */
    err = sw_http_new(&f->https.http, &f->loop, &ho, msg, sizeof msg);
    if (err) {
      sw__fetch_fail(f, err, "HTTPS client: %s", msg);
      goto run;
    }
  }
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
    goto run;
  }

  sw__fetch_swarm_callbacks(f, &cb);
  err = sw_swarm_new(&f->loop, &ss, &cb, &f->sw.swarm, msg, sizeof msg);
  if (err) {
    sw__fetch_event(f, "warning", "swarm: %s", msg);
    if (f->from_store) {
      sw__fetch_set_avail(f, f->r.m->size);
      sw__fetch_start_gate(f);
      f->phase = PH_GATE;
    } else {
      sw__fetch_switch_to_https(f, "the swarm session could not start");
    }
    goto run;
  }
  if (f->from_store) {
    /* The session only serves the seeding afterwards. */
    sw__fetch_set_avail(f, f->r.m->size);
    sw__fetch_start_gate(f);
    f->phase = PH_GATE;
    goto run;
  }
  err = sw__fetch_swarm_add(f, NULL, 0, msg, sizeof msg);
  if (err) sw__fetch_switch_to_https(f, msg);
  else sw__fetch_sched_start(f); /* HTTPS joins when the scheduler says so */

run:
  uv_run(&f->loop, UV_RUN_DEFAULT);
  if (f->result != SW_OK) {
    err = f->result;
    snprintf(msg, sizeof msg, "%s", f->msg);
    goto fail;
  }
  if (f->hook.exec_status) {
    err = SW_ERR_INTERNAL;
    snprintf(msg, sizeof msg, "installed %.200s, but %.250s", f->out_path, f->hook.exec_msg);
    goto fail;
  }
  rc = 0;
  goto out;
fail:
  if (err == SW_ERR_STALE) rc = sw__report_stale("fetch", &f->o, &f->rec, msg);
  else rc = sw_report_error(f->o.json, "fetch", err, msg);
out:
  if (loop_ok) {
    if (f->phase != PH_CLOSING) sw__fetch_shutdown(f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&f->loop) != 0) fprintf(stderr, "swarmup fetch: warning: loop handles left open\n");
  }
  if (f->https.part_fd >= 0) close(f->https.part_fd);
  sw_install_close(&f->inst);
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
  sw_store_close(&f->paths);
  sw_state_close(f->st);
  sw_release_free(&f->r);
  sw_pgp_free(f->pgp);
  sw_opts_free(&f->o);
  free(f);
  return rc;
}
