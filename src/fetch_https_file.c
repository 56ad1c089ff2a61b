/* swarmup fetch: HTTPS in file mode. The whole file into STORE/<File>.part
 * (no metadata and no Torrent URL, the swarm given up with nothing, or
 * --no-swarm), resumed only from the URL that delivered it (STORE/part-source);
 * a copy the gate rejected is deleted and its URL marked bad. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "fetch_int.h"
#include "fsutil.h"
#include "out.h"

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
sw_err sw__fetch_part_restart(fetch *f) {
  char msg[SW_MSG_MAX];
  const char *url = f->r.m->fallback[f->https.url_idx];
  char line[SW_URL_MAX + 2];
  int n;
  if (f->https.part_done > 0) {
    sw__fetch_event(f, "https-restart", "HTTPS: discarding the %" PRIu64 " bytes in .part (not from %.300s); starting "
                    "at byte 0", f->https.part_done, url);
    if (f->gate.gating) {
      /* The gate reads the .part: it starts again on the new bytes. */
      f->gate.gate_restart = 1;
      sw__fetch_cancel_gate(f);
    } else {
      sw__fetch_gate_reset(f);
    }
  }
  if (f->https.part_fd < 0) {
    /* (Deleted after a rejection: a new one for the next URL.) */
    f->https.part_fd = sw_dir_open_own_file(&f->paths.d, f->paths.part_name, O_RDWR | O_CREAT, 0600, msg, sizeof msg);
    if (f->https.part_fd < 0) return sw_fail(SW_ERR_IO, f->msg, sizeof f->msg, "%s", msg);
  }
  if (ftruncate(f->https.part_fd, 0) != 0)
    return sw_fail(SW_ERR_IO, f->msg, sizeof f->msg, "%s: %s", f->https.part_path, strerror(errno));
  f->https.part_done = 0;
  f->https.resumed_part = 0;
  f->https.part_url = -1;
  n = snprintf(line, sizeof line, "%s\n", url);
  if (sw_store_write(&f->paths, SW_PART_SOURCE, (const uint8_t *)line, (size_t)n, msg, sizeof msg) != SW_OK)
    return sw_fail(SW_ERR_IO, f->msg, sizeof f->msg, "%s", msg);
  f->https.part_url = (int)f->https.url_idx;
  return SW_OK;
}

/* File mode: the gate rejected the copy in .part. Its URL delivered all of it:
 * that URL is bad for this run, the bytes are deleted (never resumed, never
 * gated again), and the next URL starts from byte 0. */
void sw__fetch_mirror_rejected(fetch *f) {
  char n[32];
  sw__fetch_fmt_bytes(f->https.part_done, n, sizeof n);
  sw__fetch_event(f, "https-error", "HTTPS: %.300s: delivered %s that the gate rejected (%s); deleted",
                  f->r.m->fallback[f->https.url_idx], n, f->gate.gv->reason);
  sw__fetch_url_fail(f, f->https.url_idx, 1, "%s over HTTPS from %.300s: rejected by the gate: %s", n,
           f->r.m->fallback[f->https.url_idx], f->gate.gv->reason);
  f->https.last_err = SW_ERR_PAYLOAD;
  if (f->https.part_fd >= 0) close(f->https.part_fd);
  f->https.part_fd = -1;
  unlinkat(f->paths.d.fd, SW_PART_SOURCE, 0);
  if (unlinkat(f->paths.d.fd, f->paths.part_name, 0) != 0 && errno != ENOENT) {
    sw__fetch_fail(f, SW_ERR_IO, "deleting the rejected %s: %s", f->https.part_path, strerror(errno));
    return;
  }
  (void)fsync(f->paths.d.fd);
  f->https.part_done = 0;
  f->https.resumed_part = 0;
  f->https.part_url = -1;
  sw__fetch_gate_reset(f);
  f->phase = PH_DOWNLOAD; /* the gate had ended the download: it goes on with the next URL */
  if (f->https.req != NULL) {
    /* The request that delivered the last bytes is still being reaped. */
    f->https.advance_after_cancel = 1;
    sw_http_cancel(f->https.req);
    return;
  }
  sw__fetch_https_advance(f);
}

/* File mode and the swarm's torrent do not mix (two copies of one file): the
 * torrent goes, its metadata kept as the .torrent for seeding afterwards. */
static void drop_swarm(fetch *f) {
  f->https.drop_swarm = 0;
  /* A gate that was reading the swarm's pieces starts again on the .part. */
  if (f->gate.gating && f->gate.gate_pieces) {
    f->gate.gate_restart = 1;
    sw__fetch_cancel_gate(f);
  }
  if (f->sw.t) {
    if (f->sw.have_metadata && sw_swarm_write_torrent(f->sw.t, f->paths.torrent, NULL, 0) == SW_OK)
      f->torrent_file_ok = 1;
    sw_swarm_remove(f->sw.t);
    f->sw.t = NULL;
  }
}

static int file_data(void *arg, uint64_t offset, const uint8_t *buf, size_t len) {
  fetch *f = arg;
  size_t done = 0;
  if (f->https.drop_swarm) drop_swarm(f);
  if (offset != f->https.part_done || offset + len > f->r.m->size) return 1; /* never beyond Size */
  if (f->https.part_url != (int)f->https.url_idx) return 1; /* .part holds one URL's bytes only */
  while (done < len) {
    ssize_t n = pwrite(f->https.part_fd, buf + done, len - done, (off_t)(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      snprintf(f->https.url_err, sizeof f->https.url_err, "writing %.300s: %s", f->https.part_path,
               n < 0 ? strerror(errno) : "short");
      f->https.handed_failed = -1; /* marks a local write error */
      return 1;
    }
    done += (size_t)n;
  }
  f->https.part_done += len;
  sw__fetch_https_bytes(f, len);
  sw__fetch_set_avail(f, f->https.part_done);
  sw__fetch_start_gate(f);
  return 0;
}

static void file_done(void *arg, sw_err err, const char *msg, long status) {
  fetch *f = arg;
  char emsg[SW_MSG_MAX];
  (void)status;
  f->https.req = NULL;
  if (f->https.advance_after_cancel) {
    f->https.advance_after_cancel = 0;
    if (f->phase == PH_DOWNLOAD && f->https.active) sw__fetch_https_advance(f);
    return;
  }
  if (f->phase != PH_DOWNLOAD || !f->https.active) return;
  if (f->https.handed_failed == -1) {
    sw__fetch_fail(f, SW_ERR_IO, "%s", f->https.url_err);
    return;
  }
  if (err == SW_OK && f->https.part_done != f->r.m->size) {
    snprintf(emsg, sizeof emsg, "body ended after %" PRIu64 " of %" PRIu64 " bytes", f->https.part_done, f->r.m->size);
    sw__fetch_https_failed(f, SW_ERR_HTTP, emsg);
    return;
  }
  if (err) {
    sw__fetch_https_failed(f, err, msg);
    return;
  }
  /* Complete. The gate (started with the first bytes) ends by itself; if it
   * is not running, this is a resumed .part that was already complete. */
  sw__fetch_set_avail(f, f->https.part_done);
  if (!f->gate.gating) sw__fetch_start_gate(f);
  if (f->gate.gating) f->phase = PH_GATE; /* downloaded: the gate finishes the job */
}

/* File mode's next request: a Range from what the .part holds, a whole GET
 * when it holds nothing. Returns 1 if g is to be started, 0 if not (done, or
 * failed: the run ends). */
int sw__fetch_file_request(fetch *f, sw_http_get *g) {
  if (f->https.part_url != (int)f->https.url_idx && sw__fetch_part_restart(f) != SW_OK) {
    sw__fetch_fail(f, SW_ERR_IO, "%s", f->msg);
    return 0;
  }
  if (f->https.part_done == f->r.m->size) {
    file_done(f, SW_OK, "", 206);
    return 0;
  }
  g->max_bytes = f->r.m->size - f->https.part_done;
  if (f->https.part_done) {
    g->range_start = f->https.part_done;
    g->range_len = f->r.m->size - f->https.part_done;
  }
  g->on_data = file_data;
  g->on_done = file_done;
  return 1;
}

/* File mode: the whole file (or the rest of an earlier HTTPS download) into
 * .part; the swarm's torrent is dropped, its partial file is not mixed in. */
void sw__fetch_file_begin(fetch *f) {
  char msg[SW_MSG_MAX];
  struct stat st;
  /* Beside a swarm that was not given up (no metadata yet: HTTPS after 1 s
   * with no peer), the torrent stays until HTTPS delivers its first byte: if
   * every URL fails first, the swarm goes on alone as before issue 12. */
  if (f->https.alongside && f->sw.t != NULL) f->https.drop_swarm = 1;
  else drop_swarm(f);
  /* Never through a symlink: a link planted at .part must not make us
   * truncate or write into its target. */
  f->https.part_fd = sw_dir_open_own_file(&f->paths.d, f->paths.part_name, O_RDWR | O_CREAT, 0600, msg, sizeof msg);
  if (f->https.part_fd < 0) {
    sw__fetch_fail(f, SW_ERR_IO, "%s", msg);
    return;
  }
  if (fstat(f->https.part_fd, &st) != 0) {
    sw__fetch_fail(f, SW_ERR_IO, "%s: %s", f->https.part_path, strerror(errno));
    return;
  }
  f->https.part_done = (uint64_t)st.st_size;
  f->https.hmode = HM_FILE;
  /* A .part is resumed only from the URL that delivered it (first, before
   * the others: its bytes are worth keeping); one of unknown origin, or
   * longer than Size, starts again (part_restart). */
  f->https.part_url = f->https.part_done > 0 && f->https.part_done <= f->r.m->size ? part_src_read(f) : -1;
  f->https.url_idx = f->https.part_url >= 0 ? (size_t)f->https.part_url : 0;
  if (f->https.part_url < 0 && sw__fetch_part_restart(f) != SW_OK) {
    sw__fetch_fail(f, SW_ERR_IO, "%s", f->msg);
    return;
  }
  f->https.resumed_part = f->https.part_done;
  if (f->https.part_done)
    sw__fetch_event(f, "https-resume", "resuming the HTTPS download at byte %" PRIu64 " from %.300s",
                    f->https.part_done, f->r.m->fallback[f->https.url_idx]);
  sw__fetch_set_avail(f, f->https.part_done);
  /* For seeding afterwards. */
  if (!f->torrent_file_ok && f->r.m->torrent_url[0] && !f->o.no_swarm && f->https.treq == NULL) sw__fetch_torrent_fetch(f);
  sw__fetch_https_next(f);
}
