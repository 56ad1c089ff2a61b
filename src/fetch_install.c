/* swarmup fetch: the install step, after the gate's verdict (fetch_gate.c).
 * Accepted: the .part finished (file mode), the store copy marked verified,
 * the gate's copy committed into --out atomically (install.h), the state
 * saved, the "installed" event or line (with the CPU figures), then --exec
 * (fetch_hook.c). Rejected: the bad bytes discarded, and the URL that
 * delivered them blamed (the next one goes on) or the run fails. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fetch_int.h"
#include "fsutil.h"
#include "out.h"

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

/* The gate has read every byte (not cancelled, not restarted): act on its
 * verdict, on the loop thread. */
void sw__fetch_install(fetch *f) {
  char msg[SW_MSG_MAX], src[512];
  sw_err err;

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

