/* swarmup fetch: the swarm source. libtorrent's callbacks (metadata, peers,
 * trackers, pieces, errors), the end of the swarm's turn (every peer and tracker
 * failed, timeouts, the stall window) and the download's end on the swarm. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "fetch_int.h"
#include "out.h"

static void on_reset(void *arg, sw_swarm_torrent *t, void *t_arg, const char *why) {
  fetch *f = arg;
  (void)t_arg;
  if (t != f->sw.t) return;
  f->sw.resets++;
  sw__fetch_event(f, "warning", "swarm: %s; libtorrent starts the download over (the gate keeps what it checked)", why);
  if (f->gate.done == NULL) return;
  /* The prefix the gate was given stays given (verified, in the file, and a
   * recheck leaves it as it is); every piece after it must come again. */
  for (int i = f->gate.prefix; i < f->sw.num_pieces; i++) f->gate.done[i / 8] &= (uint8_t)~(1u << (i % 8));
  f->gate.deadline_next = f->gate.prefix;
  f->sw.t_progress = sw__fetch_now_ms(f);
  sw__fetch_stall_reset(f);
}

/* Learn the layout and what libtorrent already has (resume data, recheck). */
static void pieces_refresh(fetch *f) {
  size_t nbytes;
  if (f->sw.t == NULL || !f->sw.have_metadata) return;
  if (f->gate.done == NULL) {
    if (sw_swarm_layout(f->sw.t, &f->sw.piece_len, &f->sw.num_pieces, NULL, 0) != SW_OK) return;
    f->gate.done = calloc(1, ((size_t)f->sw.num_pieces + 7) / 8);
    if (f->gate.done == NULL) return;
  }
  if (f->rep.src == NULL) f->rep.src = calloc(1, (size_t)f->sw.num_pieces); /* NULL: no per-source summary */
  nbytes = ((size_t)f->sw.num_pieces + 7) / 8;
  {
    uint8_t *now = malloc(nbytes);
    if (now && sw_swarm_have_pieces(f->sw.t, now, nbytes, NULL, 0) == SW_OK)
      for (size_t i = 0; i < nbytes; i++) f->gate.done[i] |= now[i];
    free(now);
  }
  sw__fetch_pump_pieces(f);
}

/* ---- HTTPS fallback -------------------------------------------------------------- */

/* libtorrent's payload count is per torrent session and starts at 0 again
 * when the torrent is restarted (on_reset): keep a running total. */
static void swarm_count(fetch *f, uint64_t tpd) {
  if (tpd < f->sw.swarm_tpd_last) f->sw.swarm_tpd_base += f->sw.swarm_tpd_last;
  f->sw.swarm_tpd_last = tpd;
  f->rep.swarm_bytes = f->sw.swarm_tpd_base + tpd;
}

/* A fresh look at the swarm for the scheduler (its tick is 4x the status
 * callback's): peers, and a rate sample from the first peer on, so that a
 * slow swarm is known as such about a second after its first peer. */
void sw__fetch_swarm_sample(fetch *f, uint64_t now) {
  sw_swarm_status st;
  if (f->sw.t == NULL || sw_swarm_get_status(f->sw.t, &st, NULL, 0) != SW_OK) return;
  swarm_count(f, st.total_payload_download);
  if (st.num_peers > 0) f->sw.peers_ever = 1;
  if (f->sw.peers_ever) sw_sched_rate_add(&f->sw.rate, now, f->rep.swarm_bytes);
}

static void on_status(void *arg, sw_swarm_torrent *t, void *t_arg, const sw_swarm_status *st) {
  fetch *f = arg;
  (void)t_arg;
  if (t == NULL || t != f->sw.t) return;
  f->sw.last = *st;
  swarm_count(f, st->total_payload_download);
  if (st->num_peers > 0) f->sw.peers_ever = 1;
  /* The scheduler's view of the swarm: its rate from the first peer on. */
  if (f->sw.peers_ever) sw_sched_rate_add(&f->sw.rate, sw__fetch_now_ms(f), f->rep.swarm_bytes);
  if (st->bytes_done != f->sw.last_done) {
    f->sw.last_done = st->bytes_done;
    f->sw.t_progress = sw__fetch_now_ms(f);
  }
  if (f->phase == PH_DOWNLOAD) {
    pieces_refresh(f);
    f->sw.t_order = sw__fetch_now_ms(f);
    sw__fetch_piece_order(f, st->num_peers, st->num_seeds);
  }
  if ((f->phase == PH_DOWNLOAD && !f->https.active) || f->phase == PH_SEED) sw__fetch_show_progress(f);
}

/* While pieces arrive, look at the peers more often than the status callback
 * (once a second) does: whether they are all seeds decides the piece order
 * (sw__fetch_piece_order), and a fast swarm is done within seconds. */
#define SW_ORDER_SAMPLE_MS 200
static void order_sample(fetch *f) {
  sw_swarm_status st;
  uint64_t now = sw__fetch_now_ms(f);
  if (now - f->sw.t_order < SW_ORDER_SAMPLE_MS || sw_swarm_get_status(f->sw.t, &st, NULL, 0) != SW_OK) return;
  f->sw.t_order = now;
  sw__fetch_piece_order(f, st.num_peers, st.num_seeds);
}

static void on_piece(void *arg, sw_swarm_torrent *t, void *t_arg, int piece) {
  fetch *f = arg;
  (void)t_arg;
  if (t != f->sw.t || f->phase != PH_DOWNLOAD) return;
  if (f->gate.done == NULL) {
    pieces_refresh(f);
    if (f->gate.done == NULL) return;
  }
  if (piece >= 0 && piece < f->sw.num_pieces) {
    sw__fetch_set_bit(f->gate.done, piece);
    sw__fetch_https_yield(f, piece);
  }
  order_sample(f);
  sw__fetch_pump_pieces(f);
}

static void on_metadata(void *arg, sw_swarm_torrent *t, void *t_arg) {
  fetch *f = arg;
  char msg[SW_MSG_MAX];
  (void)t_arg;
  f->sw.have_metadata = 1;
  f->sw.t_progress = sw__fetch_now_ms(f);
  sw__fetch_stall_reset(f); /* the stall window starts with the metadata */
  /* Keep the torrent beside the file, so that `swarmup seed` can serve it.
   * From a magnet the v2 piece layers come later: if not yet, retry when
   * the download is complete. */
  if (sw_swarm_write_torrent(t, f->paths.torrent, msg, sizeof msg) == SW_OK) f->torrent_file_ok = 1;
  sw__fetch_event(f, "metadata", "metadata received: %s, %" PRIu64 " bytes", f->r.m->file, f->r.m->size);
  pieces_refresh(f);
}

/* Every peer of the magnet and every tracker failed, and nobody is connected.
 * If no peer ever connected, the swarm's ports are blocked: switch at once.
 * If peers did connect (the swarm died, or a peer did not have the torrent
 * yet), give libtorrent a short grace to reconnect, checked from on_tick. */
#define SW_ALL_FAILED_GRACE_MS 3000
static int all_failed(fetch *f) {
  return f->sw.peers_now == 0 && f->sw.n_peers + f->sw.n_trackers > 0 && f->sw.peers_failed == f->sw.n_peers &&
         f->sw.trackers_failed == f->sw.n_trackers;
}

static void check_all_failed(fetch *f) {
  /* Swarm only: peers may come back; only the timeouts end the wait. */
  if (f->phase != PH_DOWNLOAD || f->https.active || f->o.no_fallback) return;
  if (!all_failed(f)) {
    f->sw.t_all_failed = 0;
    return;
  }
  if (!f->sw.peers_ever && !f->sw.have_metadata) {
    sw__fetch_switch_to_https(f, "every peer and tracker of the magnet failed (ports blocked?)");
    return;
  }
  if (f->sw.t_all_failed == 0) f->sw.t_all_failed = sw__fetch_now_ms(f);
  else if (sw__fetch_now_ms(f) - f->sw.t_all_failed >= SW_ALL_FAILED_GRACE_MS)
    sw__fetch_switch_to_https(f, "every peer of the magnet disconnected and none came back");
}

static void on_peer(void *arg, sw_swarm_torrent *t, void *t_arg, int connected, const char *endpoint,
                    const char *reason) {
  fetch *f = arg;
  (void)t;
  (void)t_arg;
  /* libtorrent reports an outgoing attempt as "connected" before the TCP
   * handshake: peers_ever is set from the status (a peer really connected). */
  if (connected) {
    f->sw.peers_now++;
  } else if (f->sw.peers_now > 0) {
    f->sw.peers_now--;
  }
  for (size_t i = 0; i < f->sw.n_peers; i++)
    if (strcmp(f->r.m->magnet.peers[i], endpoint) == 0) {
      if (connected && f->sw.peer_failed[i]) {
        f->sw.peer_failed[i] = 0;
        f->sw.peers_failed--;
      } else if (!connected && !f->sw.peer_failed[i]) {
        f->sw.peer_failed[i] = 1;
        f->sw.peers_failed++;
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
  for (size_t i = 0; i < f->sw.n_trackers; i++)
    if (strcmp(f->r.m->magnet.tr[i], url) == 0) {
      if (ok && f->sw.tracker_failed[i]) {
        f->sw.tracker_failed[i] = 0;
        f->sw.trackers_failed--;
      } else if (!ok && !f->sw.tracker_failed[i]) {
        f->sw.tracker_failed[i] = 1;
        f->sw.trackers_failed++;
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

/* The whole file is in: publish it to the gate and end the download phase. */
static void downloaded(fetch *f) {
  char msg[SW_MSG_MAX];
  if (!f->torrent_file_ok && f->sw.t) {
    if (sw_swarm_write_torrent(f->sw.t, f->paths.torrent, msg, sizeof msg) == SW_OK) f->torrent_file_ok = 1;
    else sw__fetch_event(f, "warning", "warning: could not keep the torrent file: %s", msg);
  }
  if (!f->gate.gating) {
    f->gate.gate_pieces = 1;
    sw__fetch_start_gate(f);
    sw__fetch_pump_pieces(f);
  }
  /* No more swarm timeouts or fallback, even while the gate still reads. */
  if (f->gate.gating && f->phase == PH_DOWNLOAD) {
    f->phase = PH_GATE;
    if (f->https.req) sw_http_cancel(f->https.req);
  }
}

static void on_finished(void *arg, sw_swarm_torrent *t, void *t_arg) {
  fetch *f = arg;
  (void)t_arg;
  if (t != f->sw.t) return;
  if (sw_swarm_get_status(t, &f->sw.last, NULL, 0) == SW_OK) swarm_count(f, f->sw.last.total_payload_download);
  /* Every piece is hash-checked and in the file (pread/pwrite disk I/O). */
  if (f->gate.done == NULL) pieces_refresh(f);
  if (f->gate.done == NULL) {
    sw__fetch_fail(f, SW_ERR_INTERNAL, "finished without a piece layout");
    return;
  }
  memset(f->gate.done, 0xff, ((size_t)f->sw.num_pieces + 7) / 8);
  sw__fetch_pump_pieces(f);
  downloaded(f);
}

static void on_error(void *arg, sw_swarm_torrent *t, void *t_arg, sw_err err, const char *msg) {
  fetch *f = arg;
  char reason[SW_MSG_MAX];
  (void)t_arg;
  if (t == NULL) {
    sw__fetch_event(f, "warning", "swarm: %s", msg);
    return;
  }
  if (f->phase == PH_SEED) {
    sw__fetch_event(f, "warning", "seeding stopped: %s", msg);
    sw__fetch_shutdown(f);
    return;
  }
  if (err == SW_ERR_IO) {
    /* Our disk, not the swarm: HTTPS would hit the same full or broken disk. */
    sw__fetch_fail(f, SW_ERR_IO, "writing the download into %s failed: %s", f->paths.dir, msg);
    return;
  }
  if (f->phase != PH_DOWNLOAD || f->https.active) return;
  snprintf(reason, sizeof reason, "%s%s", msg, err == SW_ERR_TORRENT_MISMATCH ? " (manifest/torrent mismatch)" : "");
  /* The torrent is stopped (metadata for another file, or a libtorrent error
   * it could not get over): drop it; HTTPS takes the whole file. */
  sw_swarm_remove(f->sw.t);
  f->sw.t = NULL;
  f->sw.have_metadata = 0;
  f->sw.last.bytes_done = 0;
  sw__fetch_switch_to_https(f, reason);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void on_swarm_closed(void *arg) { (void)arg; }

/* The swarm's stall check: progress (bytes of the file libtorrent has, which
 * only grows with payload that reaches the file) over a sliding window of
 * --stall-timeout seconds, sampled at most SW_STALL_SAMPLES - 8 times a window.
 * Less than --stall-rate on average over the window is a stall: a peer that
 * trickles a block now and then no longer holds the client (the old rule,
 * "no new byte for --stall-timeout", let a 1 KiB/s peer do so for days). */
void sw__fetch_stall_reset(fetch *f) {
  f->sw.stall_n = 0;
  f->sw.stall_head = 0;
}

static void stall_sample(fetch *f, uint64_t now) {
  uint64_t every = f->o.stall_timeout * 1000u / (SW_STALL_SAMPLES - 8);
  int newest = (f->sw.stall_head + SW_STALL_SAMPLES - 1) % SW_STALL_SAMPLES;
  if (f->sw.stall_n > 0 && now - f->sw.stall_win[newest].t < every) return;
  f->sw.stall_win[f->sw.stall_head].t = now;
  f->sw.stall_win[f->sw.stall_head].bytes = f->sw.last.bytes_done;
  f->sw.stall_head = (f->sw.stall_head + 1) % SW_STALL_SAMPLES;
  if (f->sw.stall_n < SW_STALL_SAMPLES) f->sw.stall_n++;
}

/* 1 (and why) if the window is full and the swarm delivered less than
 * --stall-rate bytes/s over it (at least one byte is needed in any case). */
static int stalled(fetch *f, uint64_t now, char *why, size_t whylen) {
  uint64_t win = f->o.stall_timeout * 1000u, need, got, from = 0;
  int found = 0;
  char a[32], b[32];
  stall_sample(f, now);
  /* The newest sample at least a window old marks the window's start. */
  for (int k = 0; k < f->sw.stall_n; k++) {
    int i = (f->sw.stall_head + SW_STALL_SAMPLES - 1 - k) % SW_STALL_SAMPLES;
    if (now - f->sw.stall_win[i].t >= win) {
      from = f->sw.stall_win[i].bytes;
      found = 1;
      break;
    }
  }
  if (!found) return 0;
  got = f->sw.last.bytes_done > from ? f->sw.last.bytes_done - from : 0;
  need = f->o.stall_rate * f->o.stall_timeout;
  if (need == 0) need = 1;
  if (got >= need) return 0;
  sw__fetch_fmt_bytes(got, a, sizeof a);
  sw__fetch_fmt_bytes(f->o.stall_rate, b, sizeof b);
  if (got == 0)
    snprintf(why, whylen, "no progress for %" PRIu64 " s", f->o.stall_timeout);
  else
    snprintf(why, whylen, "%s in the last %" PRIu64 " s, below the --stall-rate of %s/s", a, f->o.stall_timeout, b);
  return 1;
}

/* The 1 s tick while on the swarm: every source failed, no metadata or no peer
 * within --swarm-timeout, or a stall: the swarm is given up and HTTPS takes
 * what is missing (while HTTPS has not joined it under the scheduler). */
void sw__fetch_swarm_tick(fetch *f, uint64_t now) {
  uint64_t timeout = f->o.swarm_timeout;
  /* --prefer-swarm: the swarm is not given up before its head start is over. */
  if (f->o.prefer_swarm) {
    sw_sched_opts so = {f->o.http_delay * 1000u, 1, f->o.stall_rate};
    if (timeout < sw_sched_head_start(&so) / 1000u) timeout = sw_sched_head_start(&so) / 1000u;
  }
  check_all_failed(f);
  if (f->phase != PH_DOWNLOAD || f->https.active) return;
  if ((!f->sw.have_metadata || !f->sw.peers_ever) && now - f->t_start >= timeout * 1000) {
    char why[128];
    snprintf(why, sizeof why, "%s within %" PRIu64 " s", !f->sw.have_metadata ? "no metadata" : "no peer", timeout);
    sw__fetch_switch_to_https(f, why);
    return;
  }
  if (f->sw.have_metadata) {
    char why[256];
    if (stalled(f, now, why, sizeof why)) {
      sw__fetch_switch_to_https(f, why);
      return;
    }
  }
}

/* Add the download to the session: from the magnet, or with a .torrent
 * already checked against the manifest (the metadata without a peer). */
sw_err sw__fetch_swarm_add(fetch *f, const uint8_t *torrent, size_t torrent_len, char *msg, size_t msglen) {
  sw_swarm_download dl;
  const char *tr[SW_MAGNET_TR_MAX], *pe[SW_MAGNET_PEERS_MAX];
  memset(&dl, 0, sizeof dl);
  dl.btmh = f->r.m->magnet.btmh;
  dl.btih = f->r.m->magnet.has_btih ? f->r.m->magnet.btih : NULL;
  dl.expected_name = f->r.m->file;
  dl.expected_size = f->r.m->size;
  f->sw.n_trackers = f->r.m->magnet.n_tr;
  f->sw.n_peers = f->r.m->magnet.n_peers;
  for (size_t i = 0; i < f->sw.n_trackers; i++) tr[i] = f->r.m->magnet.tr[i];
  for (size_t i = 0; i < f->sw.n_peers; i++) pe[i] = f->r.m->magnet.peers[i];
  dl.trackers = tr;
  dl.n_trackers = f->sw.n_trackers;
  dl.peers = pe;
  dl.n_peers = f->sw.n_peers;
  dl.save_dir = f->paths.dir;
  dl.resume_path = f->paths.resume;
  /* Rarest first, the gate's next pieces with deadlines, until the peers say
   * otherwise (sw__fetch_piece_order). */
  dl.sequential = 0;
  f->sw.in_order = 0;
  dl.torrent = torrent;
  dl.torrent_len = torrent_len;
  return sw_swarm_add_download(f->sw.swarm, &dl, &f->sw.t, msg, msglen);
}

/* The callbacks of the swarm session (on the loop thread). */
void sw__fetch_swarm_callbacks(fetch *f, sw_swarm_callbacks *cb) {
  memset(cb, 0, sizeof *cb);
  cb->arg = f;
  cb->on_status = on_status;
  cb->on_metadata = on_metadata;
  cb->on_peer = on_peer;
  cb->on_finished = on_finished;
  cb->on_error = on_error;
  cb->on_piece_failed = sw__fetch_on_piece_failed;
  cb->on_piece = on_piece;
  cb->on_reset = on_reset;
  cb->on_tracker = on_tracker;
  cb->on_closed = on_swarm_closed;
}
