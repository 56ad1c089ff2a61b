/* swarmup fetch: the streaming payload gate. It runs on libuv's thread pool
 * and reads the final prefix of the file while the download runs: HTTPS's
 * .part as it is written (file mode), or the store's file, up to the leading
 * pieces libtorrent verified (the swarm, and HTTPS's pieces handed to it).
 * Then the install. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "fetch_int.h"
#include "fsutil.h"
#include "out.h"

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
  f->gate.want = 0;
  uv_mutex_unlock(&f->gate.mu);
  f->gate.gate_pieces = 0;
  f->gate.prefix = f->gate.deadline_next = 0;
}

static uint64_t ru_ms(const struct rusage *ru) {
  return (uint64_t)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000u +
         (uint64_t)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1000u;
}

/* CPU milliseconds by stage, for the "installed" event (docs/cpu.md). The
 * loop thread (this one) does the download: sockets, TLS, libcurl and the
 * calls into libtorrent, writing the .part; the gate's figures come from the
 * check itself; what the process spent besides is libtorrent's own threads
 * (hashing, disk I/O) and libuv's pool. gpg is not counted: gpgme
 * double-forks it, so it is never our child (tools/bench/cpu.sh measures it). */
static void json_cpu(sw_json *j, const sw_gate_cpu *c) {
  struct rusage self;
  struct timespec ts;
  uint64_t loop = 0, self_ms = 0, gate = c->gate_ns / 1000000u, sha = c->sha_ns / 1000000u,
           copy = c->copy_ns / 1000000u, known;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
    loop = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
  if (getrusage(RUSAGE_SELF, &self) == 0) self_ms = ru_ms(&self);
  known = loop + gate + sha + copy;
  sw_json_u64(j, "cpu_ms", self_ms);
  sw_json_u64(j, "cpu_loop_ms", loop);
  sw_json_u64(j, "cpu_gate_read_ms", c->read_ns / 1000000u);
  sw_json_u64(j, "cpu_gpgme_ms", (c->gate_ns - (c->read_ns < c->gate_ns ? c->read_ns : c->gate_ns)) / 1000000u);
  sw_json_u64(j, "cpu_sha256_ms", sha);
  sw_json_u64(j, "cpu_copy_ms", copy);
  sw_json_u64(j, "cpu_other_ms", self_ms > known ? self_ms - known : 0);
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
    json_cpu(&j, &f->gate.gv->cpu);
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

/* The swarm verified more pieces: publish the leading ones to the gate (start
 * it on the first one), and give the pieces just past them deadlines. */
#define SW_DEADLINE_WINDOW 24 /* pieces past the prefix that libtorrent fetches first */

void sw__fetch_pump_pieces(fetch *f) {
  uint64_t bytes;
  if (f->sw.t == NULL || f->gate.done == NULL) return;
  while (f->gate.prefix < f->sw.num_pieces && sw__fetch_bit(f->gate.done, f->gate.prefix)) f->gate.prefix++;
  /* Rarest-first keeps the swarm healthy; deadlines on the pieces just past the
   * prefix keep it growing, so the gate ends soon after the last piece. */
  if (f->gate.deadline_next < f->gate.prefix) f->gate.deadline_next = f->gate.prefix;
  while (f->gate.deadline_next < f->sw.num_pieces && f->gate.deadline_next < f->gate.prefix + SW_DEADLINE_WINDOW) {
    int i = f->gate.deadline_next++;
    /* (Not a piece HTTPS holds: a deadline would make the swarm fetch it too.) */
    if (!sw__fetch_bit(f->gate.done, i) && (f->https.assigned == NULL || !f->https.assigned[i]))
      sw_swarm_piece_deadline(f->sw.t, i, 200 + 40 * (i - f->gate.prefix), NULL, 0);
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
