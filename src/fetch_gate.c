/* swarmup fetch: the streaming payload gate. It runs on libuv's thread pool
 * and reads the verified prefix while the download runs: the file being
 * written (file mode, from the store) or the pieces libtorrent verified and
 * hands over (a ring of SW_PIECE_RING pieces). Then the install. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "fetch_int.h"
#include "fsutil.h"
#include "out.h"

/* On the gate's thread: wait until the downloader has made bytes final past offset. */
static int64_t gate_avail(void *arg, uint64_t offset) {
  fetch *f = arg;
  int64_t n;
  uv_mutex_lock(&f->gate.mu);
  while (f->gate.avail <= offset && !f->gate.gate_cancel) uv_cond_wait(&f->gate.cv, &f->gate.mu);
  n = f->gate.gate_cancel ? -1 : (int64_t)(f->gate.avail - offset);
  uv_mutex_unlock(&f->gate.mu);
  return n;
}

/* On the loop thread: publish how many leading bytes are final. */
void sw__fetch_set_avail(fetch *f, uint64_t bytes) {
  if (!f->gate.sync_ok) return;
  uv_mutex_lock(&f->gate.mu);
  if (bytes > f->gate.avail) {
    f->gate.avail = bytes;
    uv_cond_signal(&f->gate.cv);
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

/* On the gate's thread: bytes at offset from the pieces libtorrent handed over. */
static int64_t gate_read_at(void *arg, uint64_t offset, uint8_t *buf, size_t len) {
  fetch *f = arg;
  int piece = (int)(offset / (uint64_t)f->sw.piece_len), used_up = 0;
  size_t in = (size_t)(offset - (uint64_t)piece * (uint64_t)f->sw.piece_len), n = 0;
  int slot = piece % SW_PIECE_RING;
  uv_mutex_lock(&f->gate.mu);
  while (!f->gate.gate_cancel && !(f->gate.ring[slot].data != NULL && f->gate.ring[slot].piece == piece))
    uv_cond_wait(&f->gate.cv, &f->gate.mu);
  if (!f->gate.gate_cancel && in < f->gate.ring[slot].len) {
    n = f->gate.ring[slot].len - in < len ? f->gate.ring[slot].len - in : len;
    memcpy(buf, f->gate.ring[slot].data + in, n);
    if (in + n == f->gate.ring[slot].len) {
      free(f->gate.ring[slot].data);
      f->gate.ring[slot].data = NULL;
      f->gate.consumed = piece + 1;
      used_up = 1;
    }
  }
  uv_mutex_unlock(&f->gate.mu);
  if (used_up) uv_async_send(&f->gate.pump);
  return n ? (int64_t)n : -1;
}

static void gate_work(uv_work_t *w) {
  fetch *f = w->data;
  if (f->gate.gate_pieces) {
    f->gate.gate_err = sw_gate_check_stream(f->pgp, f->r.m, -1, f->inst.fd, NULL, gate_read_at, f,
                                            (unsigned)f->o.threshold, f->gate.gv);
    return;
  }
  /* File mode reads the .part being written; it is renamed, not rewritten. */
  const char *path = f->https.hmode == HM_FILE && f->https.part_fd >= 0 ? f->https.part_path : f->paths.file;
  int fd = sw_store_openat(&f->paths, strrchr(path, '/') + 1, O_RDONLY, 0);
  if (fd < 0) {
    f->gate.gate_err = SW_ERR_IO;
    snprintf(f->gate.gv->reason, sizeof f->gate.gv->reason, "%.300s: %s", path, strerror(errno));
    return;
  }
  f->gate.gate_err = sw_gate_check_stream(f->pgp, f->r.m, fd, f->inst.fd, gate_avail, NULL, f, (unsigned)f->o.threshold,
                                          f->gate.gv);
  close(fd);
}

/* File mode: the complete .part becomes the store's file (idempotent). */
static sw_err finish_part(fetch *f) {
  if (f->https.part_fd < 0) return SW_OK;
  if (fsync(f->https.part_fd) != 0 ||
      renameat(f->paths.d.fd, f->paths.part_name, f->paths.d.fd, f->paths.file_name) != 0) {
    int e = errno;
    close(f->https.part_fd);
    f->https.part_fd = -1;
    return sw_fail(SW_ERR_IO, f->msg, sizeof f->msg, "finishing %s: %s", f->https.part_path, strerror(e));
  }
  close(f->https.part_fd);
  f->https.part_fd = -1;
  unlinkat(f->paths.d.fd, SW_PART_SOURCE, 0); /* no .part left to resume */
  (void)fsync(f->paths.d.fd); /* best effort, as before: the gate's verdict does not depend on it */
  return SW_OK;
}

/* Forget what the gate was given: another copy is coming (another source). */
void sw__fetch_gate_reset(fetch *f) {
  uv_mutex_lock(&f->gate.mu);
  f->gate.gate_cancel = 0;
  f->gate.avail = 0;
  f->gate.consumed = 0;
  for (int i = 0; i < SW_PIECE_RING; i++) {
    free(f->gate.ring[i].data);
    f->gate.ring[i].data = NULL;
  }
  uv_mutex_unlock(&f->gate.mu);
  f->gate.gate_pieces = 0;
  f->gate.next_req = f->gate.deadline_next = 0;
}

static void gate_done(uv_work_t *w, int status) {
  fetch *f = w->data;
  char msg[SW_MSG_MAX], src[512];
  sw_err err;
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
  /* The gate has read every byte: the download is over, whatever its phase. */
  f->phase = PH_GATE;
  if (f->https.req) sw_http_cancel(f->https.req);
  if (f->https.hmode == HM_FILE && f->gate.gv->accepted && finish_part(f) != SW_OK) {
    sw_install_abort(&f->inst);
    sw__fetch_fail(f, SW_ERR_IO, "%s", f->msg);
    return;
  }
  sw__fetch_sources_text(f, src, sizeof src);
  if (f->gate.gate_err != SW_OK) {
    sw_install_abort(&f->inst);
    if (strncmp(f->gate.gv->reason, "writing the copy", 16) == 0)
      sw__fetch_fail(f, f->gate.gate_err, "cannot install into %s: %s", f->o.out, f->gate.gv->reason);
    else
      sw__fetch_fail(f, f->gate.gate_err, "could not check the payload: %s", f->gate.gv->reason);
    return;
  }
  if (!f->gate.gv->accepted) {
    /* Discard the bad bytes: they must not be seeded, installed or resumed from. */
    sw_install_abort(&f->inst);
    if (f->https.hmode == HM_FILE && !f->from_store) {
      /* One URL delivered the whole copy (a .part is only ever completed by
       * the URL that began it): that URL is bad; the next one may be good. */
      sw__fetch_mirror_rejected(f);
      return;
    }
    /* Swarm or pieces mode: every piece matched the torrent's hashes, which
     * the signed btmh fixes, so no other source could deliver other bytes. */
    if (f->sw.t) {
      sw_swarm_remove(f->sw.t);
      f->sw.t = NULL;
    }
    sw_store_discard(&f->paths);
    sw__fetch_fail(f, SW_ERR_PAYLOAD, "payload rejected: %s (%s): %s; nothing was installed", f->r.m->file, src,
                   f->gate.gv->reason);
    return;
  }
  /* The store copy passed: record that first, so that a crash from here on
   * reinstalls from the store instead of downloading again. */
  err = sw_store_mark_verified(&f->paths, f->r.m, msg, sizeof msg);
  if (err) {
    sw_install_abort(&f->inst);
    sw__fetch_fail(f, err, "recording the verified release failed: %s", msg);
    return;
  }
  err = sw_install_commit(&f->inst, f->gate.gv->sha256, f->r.m->size, msg, sizeof msg);
  if (err) {
    sw__fetch_fail(f, err, "install into %s failed: %s", f->o.out, msg);
    return;
  }
  f->rec.installed_sequence = f->r.m->sequence;
  snprintf(f->rec.installed_version, sizeof f->rec.installed_version, "%s", f->r.m->version);
  err = sw_state_save(f->st, f->r.m->product, f->r.m->channel, &f->rec, msg, sizeof msg);
  if (err) {
    sw__fetch_fail(f, err, "installed %s, but recording it failed: %s", f->out_path, msg);
    return;
  }
  /* Installed and recorded: other runs may use the state dir while we seed. */
  sw_state_close(f->st);
  f->st = NULL;
  if (f->o.json) {
    sw_json j;
    char sha[65];
    fetch_tally t;
    sw__fetch_tally(f, &t);
    sw_hex(f->gate.gv->sha256, 32, sha);
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
    if (t.https && f->https.url_idx < f->r.m->n_fallback)
      sw_json_str(&j, "https_url", f->r.m->fallback[f->https.url_idx]);
    sw_json_end(&j);
  } else {
    if (f->rep.tty) fputs("\r\033[K", stderr);
    printf("installed %s (%s %s, sequence %" PRIu64 "): %s, verified\n", f->out_path, f->r.m->product,
           f->r.m->version, f->r.m->sequence, src);
    fflush(stdout);
  }
  sw__fetch_run_exec(f);
}

/* Start the gate once: early (streaming, as soon as the file's first bytes are
 * final) or at the end of the download. Either way it ends after the last byte. */
void sw__fetch_start_gate(fetch *f) {
  char msg[SW_MSG_MAX];
  sw_err err;
  if (f->gate.gating || f->phase != PH_DOWNLOAD) return;
  err = sw_install_begin(&f->inst, f->r.m->file, f->paths.dir, msg, sizeof msg);
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

/* Ask libtorrent for the next finished pieces the gate will need (at most
 * SW_PIECE_RING ahead of what it used up); start the gate on the first one. */
#define SW_DEADLINE_WINDOW 24 /* pieces ahead of the gate that libtorrent fetches first */

void sw__fetch_pump_pieces(fetch *f) {
  int consumed;
  if (f->sw.t == NULL || f->gate.done == NULL) return;
  /* Rarest-first keeps the swarm healthy; deadlines on the pieces just ahead of
   * the gate keep its prefix growing, so it ends soon after the last piece. */
  uv_mutex_lock(&f->gate.mu);
  consumed = f->gate.consumed;
  uv_mutex_unlock(&f->gate.mu);
  if (f->gate.deadline_next < consumed) f->gate.deadline_next = consumed;
  while (f->gate.deadline_next < f->sw.num_pieces && f->gate.deadline_next < consumed + SW_DEADLINE_WINDOW) {
    int i = f->gate.deadline_next++;
    /* (Not a piece HTTPS holds: a deadline would make the swarm fetch it too.) */
    if (!sw__fetch_bit(f->gate.done, i) && (f->https.assigned == NULL || !f->https.assigned[i]))
      sw_swarm_piece_deadline(f->sw.t, i, 200 + 40 * (i - consumed), NULL, 0);
  }
  if (!f->gate.gating && sw__fetch_bit(f->gate.done, 0) && f->phase == PH_DOWNLOAD) {
    f->gate.gate_pieces = 1;
    sw__fetch_start_gate(f);
  }
  if (!f->gate.gating || !f->gate.gate_pieces) return;
  uv_mutex_lock(&f->gate.mu);
  consumed = f->gate.consumed;
  uv_mutex_unlock(&f->gate.mu);
  while (f->gate.next_req < f->sw.num_pieces && f->gate.next_req < consumed + SW_PIECE_RING &&
         sw__fetch_bit(f->gate.done, f->gate.next_req)) {
    if (sw_swarm_read_piece(f->sw.t, f->gate.next_req, NULL, 0) != SW_OK) break;
    f->gate.next_req++;
  }
}

void sw__fetch_on_pump(uv_async_t *h) { sw__fetch_pump_pieces(h->data); }

/* The swarm's answer to sw_swarm_read_piece (sw__fetch_pump_pieces): a piece
 * libtorrent verified, copied into the gate's ring. */
void sw__fetch_on_piece_data(void *arg, sw_swarm_torrent *t, void *t_arg, int piece, const uint8_t *data, size_t len,
                             const char *err) {
  fetch *f = arg;
  uint8_t *copy;
  int slot;
  (void)t_arg;
  if (t != f->sw.t || !f->gate.gating || !f->gate.gate_pieces || piece < 0 || piece >= f->sw.num_pieces) return;
  if (data == NULL) {
    if (f->sw.resets > 0) {
      /* Asked for before libtorrent started over: ask again once it is back. */
      f->gate.done[piece / 8] &= (uint8_t)~(1u << (piece % 8));
      if (piece < f->gate.next_req) f->gate.next_req = piece;
      return;
    }
    sw__fetch_fail(f, SW_ERR_IO, "reading piece %d back from the download failed: %s", piece, err ? err : "?");
    return;
  }
  copy = malloc(len ? len : 1);
  if (copy == NULL) {
    sw__fetch_fail(f, SW_ERR_NOMEM, "out of memory");
    return;
  }
  memcpy(copy, data, len);
  slot = piece % SW_PIECE_RING;
  uv_mutex_lock(&f->gate.mu);
  free(f->gate.ring[slot].data);
  f->gate.ring[slot].piece = piece;
  f->gate.ring[slot].data = copy;
  f->gate.ring[slot].len = len;
  uv_cond_signal(&f->gate.cv);
  uv_mutex_unlock(&f->gate.mu);
}
