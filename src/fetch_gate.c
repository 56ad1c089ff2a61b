/* swarmup fetch: the streaming payload gate. It runs on libuv's thread pool
 * and reads the final prefix of the file while the download runs: HTTPS's
 * .part as it is written (file mode), or the store's file, up to the leading
 * pieces libtorrent verified (the swarm, and HTTPS's pieces handed to it).
 * Its verdict goes to the install step (fetch_install.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "fetch_int.h"

/* The gate reads the file in batches of this much: a download hands over
 * ~16 KiB at a time (a TLS record), and each piece the gate passed on would
 * cost gpgme a poll, a pipe write and gpg a read. */
#define SW_GATE_BATCH ((uint64_t)1 << 20)

/* On the gate's thread: wait until the downloader has made a batch final
 * past offset (or the rest of the file, if less). */
static int64_t gate_avail(void *arg, uint64_t offset) {
  fetch *f = arg;
  int64_t n;
  uint64_t want = offset + SW_GATE_BATCH;
  if (want > f->r.m->size || want < offset) want = f->r.m->size;
  uv_mutex_lock(&f->gate.mu);
  f->gate.read_at = offset;
  f->gate.want = want;
  while (f->gate.avail < want && !f->gate.gate_cancel) uv_cond_wait(&f->gate.cv, &f->gate.mu);
  n = f->gate.gate_cancel ? -1 : (int64_t)(f->gate.avail - offset);
  uv_mutex_unlock(&f->gate.mu);
  return n;
}

/* On the loop thread: publish how many leading bytes are final; wake the
 * gate only when its batch is there (not on every TLS record). */
void sw__fetch_set_avail(fetch *f, uint64_t bytes) {
  if (!f->gate.sync_ok) return;
  uv_mutex_lock(&f->gate.mu);
  if (bytes > f->gate.avail) {
    f->gate.avail = bytes;
    if (bytes >= f->gate.want) uv_cond_signal(&f->gate.cv);
  }
  uv_mutex_unlock(&f->gate.mu);
}

void sw__fetch_cancel_gate(fetch *f) {
  if (!f->gate.sync_ok) return;
  uv_mutex_lock(&f->gate.mu);
  f->gate.gate_cancel = 1;
  uv_cond_signal(&f->gate.cv);
  uv_mutex_unlock(&f->gate.mu);
}

static void gate_work(uv_work_t *w) {
  fetch *f = w->data;
  /* File mode reads the .part being written; it is renamed, not rewritten.
   * The swarm's pieces are read from the file, not through libtorrent's
   * read_piece: that cost two copies and two piece-sized allocations per piece
   * and a round trip through the loop thread (docs/cpu.md). The bytes the gate
   * hashes, copies and gives gpg are still those of one buffer. */
  const char *path =
      !f->gate.gate_pieces && f->https.hmode == HM_FILE && f->https.part_fd >= 0 ? f->https.part_path : f->paths.file;
  int fd = sw_store_openat(&f->paths, strrchr(path, '/') + 1, O_RDONLY, 0);
  if (fd < 0) {
    f->gate.gate_err = SW_ERR_IO;
    snprintf(f->gate.gv->reason, sizeof f->gate.gv->reason, "%.300s: %s", path, strerror(errno));
    return;
  }
  f->gate.gate_err = sw_gate_check_stream(f->pgp, f->r.m, fd, f->inst.fd, gate_avail, NULL, f, (unsigned)f->o.threshold,
                                          f->gate.gv);
  /* Link mode: the install names this very file (install.h); it made no copy. */
  if (f->inst.link && f->gate.gate_err == SW_OK && f->gate.gv->accepted) sw_install_set_source(&f->inst, fd);
  else close(fd);
}

/* Forget what the gate was given: another copy is coming (another source). */
void sw__fetch_gate_reset(fetch *f) {
  uv_mutex_lock(&f->gate.mu);
  f->gate.gate_cancel = 0;
  f->gate.avail = 0;
  f->gate.want = 0;
  f->gate.read_at = 0;
  uv_mutex_unlock(&f->gate.mu);
  f->gate.gate_pieces = 0;
  f->gate.prefix = f->gate.deadline_next = 0;
}

static void gate_done(uv_work_t *w, int status) {
  fetch *f = w->data;
  (void)status;
  f->gate.gating = 0;
  if (f->phase == PH_CLOSING) { /* interrupted while the gate ran: drop the copy */
    sw_install_abort(&f->inst);
    return;
  }
  if (f->gate.gate_restart) {
    /* Cancelled to start over on another source (the swarm's pieces -> .part). */
    f->gate.gate_restart = 0;
    sw_install_abort(&f->inst);
    sw__fetch_gate_reset(f);
    if (f->https.hmode == HM_FILE) {
      int complete = f->https.part_done == f->r.m->size && f->https.req == NULL;
      sw__fetch_set_avail(f, f->https.part_done);
      if (f->https.part_done > 0) sw__fetch_start_gate(f);
      if (complete && f->gate.gating) f->phase = PH_GATE;
    }
    return;
  }
  sw__fetch_install(f); /* the verdict: install, or the bad bytes discarded (fetch_install.c) */
}

/* Start the gate once: early (streaming, as soon as the file's first bytes are
 * final) or at the end of the download. Either way it ends after the last byte. */
void sw__fetch_start_gate(fetch *f) {
  char msg[SW_MSG_MAX];
  sw_err err;
  if (f->gate.gating || f->phase != PH_DOWNLOAD) return;
  /* The gate reads a file in the store (a .part or the release's file): on
   * --out's file system, and unless --copy, that file is what gets installed. */
  err = sw_install_begin(&f->inst, f->r.m->file, f->paths.dir, f->o.copy ? -1 : f->paths.d.fd, msg, sizeof msg);
  if (err) {
    sw__fetch_fail(f, err, "cannot install into %s: %s", f->o.out, msg);
    return;
  }
  f->gate.work.data = f;
  if (uv_queue_work(&f->loop, &f->gate.work, gate_work, gate_done) != 0) {
    sw_install_abort(&f->inst);
    sw__fetch_fail(f, SW_ERR_INTERNAL, "cannot start the payload gate");
    return;
  }
  f->gate.gating = 1;
}

/* Tell libtorrent which order to pick pieces in (scheduler.h,
 * sw_sched_in_order): file order while HTTPS fetches pieces or while every
 * connected peer is a seed, rarest first otherwise. Called when the peers'
 * status or HTTPS's mode changes; libtorrent is told only on a change. */
void sw__fetch_piece_order(fetch *f, int num_peers, int num_seeds) {
  char msg[SW_MSG_MAX];
  int https_pieces = sw__fetch_https_pieces(f), want;
  if (f->sw.t == NULL) return;
  want = f->phase == PH_DOWNLOAD && sw_sched_in_order(num_peers, num_seeds, https_pieces);
  if (want == f->sw.in_order) return;
  if (sw_swarm_set_sequential(f->sw.t, want, msg, sizeof msg) != SW_OK) {
    sw__fetch_event(f, "warning", "swarm: %s", msg);
    return;
  }
  f->sw.in_order = want;
  if (https_pieces || !(f->o.json || f->o.verbose)) return;
  if (want) sw__fetch_event(f, "piece-order", "pieces in file order: all %d connected peers are seeds", num_peers);
  else
    sw__fetch_event(f, "piece-order", "pieces rarest first: %d of %d connected peers are downloading",
                    num_peers - num_seeds, num_peers);
}

/* The swarm verified more pieces: publish the leading ones to the gate (start
 * it on the first one), and give the pieces just ahead of the gate deadlines
 * (not while only seeds are connected: the pieces then come in file order). */
#define SW_DEADLINE_WINDOW 24 /* pieces ahead of the gate that libtorrent fetches first */

void sw__fetch_pump_pieces(fetch *f) {
  uint64_t bytes;
  int reading;
  if (f->sw.t == NULL || f->gate.done == NULL) return;
  while (f->gate.prefix < f->sw.num_pieces && sw__fetch_bit(f->gate.done, f->gate.prefix)) f->gate.prefix++;
  /* Rarest-first keeps the swarm healthy; deadlines on the pieces just ahead of
   * where the gate reads keep its prefix growing, so it ends soon after the
   * last piece. The window follows the gate, not the verified prefix: placed
   * just past the prefix (pieces still in flight or being hashed, a new
   * deadline for every piece that finished), it crashed libtorrent 2.0.8's
   * network thread in 3-4 of 25 clients of tools/bench/savings.sh
   * (--prefer-swarm, N = 25), against 0 of 25 with the window behind the gate
   * or with no deadlines at all; the cause, a freed piece picker, and its
   * remedy are in torrent/swarm.cpp (suggest_mode). */
  uv_mutex_lock(&f->gate.mu);
  reading = f->gate.gating && f->gate.gate_pieces ? (int)(f->gate.read_at / (uint64_t)f->sw.piece_len) : 0;
  uv_mutex_unlock(&f->gate.mu);
  if (f->gate.deadline_next < reading) f->gate.deadline_next = reading;
  /* In file order for the seeds alone, deadlines add nothing but libtorrent's
   * time-critical requests (and their cancels) to the seeds. */
  if (f->sw.in_order && !sw__fetch_https_pieces(f)) f->gate.deadline_next = reading;
  else while (f->gate.deadline_next < f->sw.num_pieces && f->gate.deadline_next < reading + SW_DEADLINE_WINDOW) {
    int i = f->gate.deadline_next++;
    /* (Not a piece HTTPS holds: a deadline would make the swarm fetch it too.) */
    if (!sw__fetch_bit(f->gate.done, i) && (f->https.assigned == NULL || !f->https.assigned[i]))
      sw_swarm_piece_deadline(f->sw.t, i, 200 + 40 * (i - reading), NULL, 0);
  }
  if (f->gate.prefix == 0) return;
  if (!f->gate.gating && f->phase == PH_DOWNLOAD) {
    f->gate.gate_pieces = 1;
    sw__fetch_start_gate(f);
  }
  if (!f->gate.gating || !f->gate.gate_pieces) return; /* the gate reads HTTPS's .part */
  bytes = (uint64_t)f->gate.prefix * (uint64_t)f->sw.piece_len;
  sw__fetch_set_avail(f, bytes < f->r.m->size ? bytes : f->r.m->size);
}
