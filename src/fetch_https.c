/* swarmup fetch: the HTTPS fallback, in pieces mode (Range requests over runs
 * of missing pieces, handed to libtorrent) or file mode (STORE/<File>.part,
 * resumed only from the URL that delivered it), over the manifest's Fallback
 * URLs, each tried at most once a run; and the .torrent from the Torrent URL. */
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

static void https_next(fetch *f);

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
  if (u >= f->r.m->n_fallback || f->https.url_failed[u]) return;
  f->https.url_failed[u] = bad ? 2 : 1;
  if (bad) f->https.bad_bytes = 1;
  va_start(ap, fmt);
  vsnprintf(f->https.url_why[u], sizeof f->https.url_why[u], fmt, ap);
  va_end(ap);
}

/* The first Fallback URL not failed in this run, in the manifest's order; -1: none. */
static int url_next(fetch *f) {
  for (size_t i = 0; i < f->r.m->n_fallback; i++)
    if (!f->https.url_failed[i]) return (int)i;
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

/* Every source failed: the final error names each and why. */
static void fail_every_source(fetch *f) {
  char list[SW_FETCH_MSG_MAX - 200];
  sw__fetch_sources_list(f, list, sizeof list);
  if (f->https.bad_bytes)
    sw__fetch_fail(f, SW_ERR_PAYLOAD, "payload rejected: %s: no source delivered it intact (%s); nothing was installed",
                   f->r.m->file, list);
  else
    sw__fetch_fail(f, f->https.last_err == SW_ERR_TLS ? SW_ERR_TLS : SW_ERR_DOWNLOAD,
                   "download failed on every source (%s)", list);
}

/* No Fallback URL is left. In pieces mode the torrent is still there: if it has
 * peers, the swarm gets one more chance (its stall check ends it); else the end. */
static void sources_exhausted(fetch *f) {
  if (f->https.hmode == HM_PIECES && f->sw.t != NULL && f->sw.last.num_peers > 0 && !f->sw.swarm_again &&
      !f->o.no_swarm) {
    f->sw.swarm_again = 1;
    sw__fetch_https_stop(f);
    sw__fetch_stall_reset(f);
    sw__fetch_event(f, "fallback", "every HTTPS source failed; back to the swarm (%d peers)", f->sw.last.num_peers);
    return;
  }
  fail_every_source(f);
}

/* Go on with the next URL that has not failed in this run (file mode: .part
 * starts again for it), or end. */
static void https_advance(fetch *f) {
  int u = url_next(f);
  f->https.attempt = 0;
  if (u < 0) {
    sources_exhausted(f);
    return;
  }
  f->https.url_idx = (size_t)u;
  if (f->https.hmode == HM_FILE && f->https.part_url != u && part_restart(f) != SW_OK) {
    sw__fetch_fail(f, SW_ERR_IO, "%s", f->msg);
    return;
  }
  uv_timer_start(&f->https.retry, on_retry_timer, 0, 0);
}

/* The current URL failed with err: retry it (bounded, with backoff) or move on. */
static void https_failed(fetch *f, sw_err err, const char *msg) {
  const char *url = f->r.m->fallback[f->https.url_idx];
  snprintf(f->https.url_err, sizeof f->https.url_err, "%s", msg);
  if (!f->https.url_failed[f->https.url_idx]) {
    /* (Already failed: a request cancelled because its URL delivered bad bytes.) */
    sw__fetch_event(f, "https-error", "HTTPS: %.300s: %s", url, msg);
    f->https.last_err = err;
    f->https.attempt++;
    if (transient(err) && f->https.attempt < f->o.https_retries) {
      /* Backoff: 250 ms, 500 ms, 1 s... for a retry of the same URL (a .part resumes from it). */
      uv_timer_start(&f->https.retry, on_retry_timer, 250u << (f->https.attempt - 1), 0);
      return;
    }
    url_fail(f, f->https.url_idx, 0, "%s", msg);
  }
  https_advance(f);
}

/* File mode: the gate rejected the copy in .part. Its URL delivered all of it:
 * that URL is bad for this run, the bytes are deleted (never resumed, never
 * gated again), and the next URL starts from byte 0. */
void sw__fetch_mirror_rejected(fetch *f) {
  char n[32];
  sw__fetch_fmt_bytes(f->https.part_done, n, sizeof n);
  sw__fetch_event(f, "https-error", "HTTPS: %.300s: delivered %s that the gate rejected (%s); deleted",
                  f->r.m->fallback[f->https.url_idx], n, f->gate.gv->reason);
  url_fail(f, f->https.url_idx, 1, "%s over HTTPS from %.300s: rejected by the gate: %s", n,
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
  if (f->https.req != NULL) {
    /* The request that delivered the last bytes is still being reaped. */
    f->https.advance_after_cancel = 1;
    sw_http_cancel(f->https.req);
    return;
  }
  https_advance(f);
}

static int file_data(void *arg, uint64_t offset, const uint8_t *buf, size_t len) {
  fetch *f = arg;
  size_t done = 0;
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
    if (f->phase == PH_DOWNLOAD && f->https.active) https_advance(f);
    return;
  }
  if (f->phase != PH_DOWNLOAD || !f->https.active) return;
  if (f->https.handed_failed == -1) {
    sw__fetch_fail(f, SW_ERR_IO, "%s", f->https.url_err);
    return;
  }
  if (err == SW_OK && f->https.part_done != f->r.m->size) {
    snprintf(emsg, sizeof emsg, "body ended after %" PRIu64 " of %" PRIu64 " bytes", f->https.part_done, f->r.m->size);
    https_failed(f, SW_ERR_HTTP, emsg);
    return;
  }
  if (err) {
    https_failed(f, err, msg);
    return;
  }
  /* Complete. The gate (started with the first bytes) ends by itself; if it
   * is not running, this is a resumed .part that was already complete. */
  sw__fetch_set_avail(f, f->https.part_done);
  if (!f->gate.gating) sw__fetch_start_gate(f);
  if (f->gate.gating) f->phase = PH_GATE; /* downloaded: the gate finishes the job */
}

static int pieces_data(void *arg, uint64_t offset, const uint8_t *buf, size_t len) {
  fetch *f = arg;
  while (len > 0) {
    int i = (int)(offset / (uint64_t)f->sw.piece_len);
    uint64_t pstart = (uint64_t)i * (uint64_t)f->sw.piece_len, psize = sw__fetch_piece_size(f, i);
    uint64_t in = offset - pstart;
    size_t take = (size_t)(psize - in) < len ? (size_t)(psize - in) : len;
    if (i > f->https.req_last) return 1;
    memcpy(f->https.piece_buf + in, buf, take);
    sw__fetch_https_bytes(f, take);
    offset += take;
    buf += take;
    len -= take;
    if (in + take == psize) {
      char msg[SW_MSG_MAX];
      /* libtorrent checks it against the piece hashes before it is written. */
      if (!sw__fetch_bit(f->https.have, i) && (f->gate.done == NULL || !sw__fetch_bit(f->gate.done, i)) &&
          sw_swarm_add_piece(f->sw.t, i, f->https.piece_buf, (size_t)psize, msg, sizeof msg) != SW_OK) {
        snprintf(f->https.url_err, sizeof f->https.url_err, "%s", msg);
        return 1;
      }
      sw__fetch_set_bit(f->https.have, i);
      /* Ours unless the swarm finished it first (then this copy is redundant);
       * a piece that fails its hashes is given back (sw__fetch_on_piece_failed). */
      if (f->rep.src != NULL && (f->gate.done == NULL || !sw__fetch_bit(f->gate.done, i)))
        f->rep.src[i] = (uint8_t)(SRC_HTTPS + f->https.url_idx);
    }
  }
  return 0;
}

/* Pieces [first, last] not handed over are no longer HTTPS's: the swarm may
 * download them again (libtorrent's priority back to normal). */
static void give_back(fetch *f, int first, int last) {
  int run = -1;
  if (f->https.assigned == NULL || first < 0) return;
  for (int i = first; i <= last + 1; i++) {
    int back = i <= last && f->https.assigned[i] && !sw__fetch_bit(f->https.have, i);
    if (back) {
      f->https.assigned[i] = 0;
      if (run < 0) run = i;
    } else if (run >= 0) {
      f->src_swarm.ops->want(f->src_swarm.ctx, run, i - 1);
      run = -1;
    }
  }
}

static void pieces_done(void *arg, sw_err err, const char *msg, long status) {
  fetch *f = arg;
  (void)status;
  f->https.req = NULL;
  /* Pieces of the range not handed over go back to the swarm (a failed or
   * cut request); handed ones wait for their hash check (on_piece_failed). */
  give_back(f, f->https.req_first, f->https.req_last);
  if (f->phase != PH_DOWNLOAD || !f->https.active) return;
  if (err || f->https.url_failed[f->https.url_idx]) {
    /* (A URL marked bad while its request was ending: https_failed moves on.) */
    https_failed(f, err ? err : SW_ERR_PAYLOAD, err ? msg : "delivered a bad piece");
    return;
  }
  https_next(f);
}

/* The next range for HTTPS (scheduler.h): from the end backwards, never a
 * piece had, handed over or held by another request, nor one the swarm is
 * downloading unless nothing else is left (the endgame). The pieces taken
 * are not downloaded from peers meanwhile (priority 0). 0: nothing left. */
static int pieces_pick(fetch *f, int *first, int *last, int *endgame) {
  int n = f->sw.num_pieces, ok;
  size_t nbytes = ((size_t)n + 7) / 8;
  uint8_t *st = calloc(1, (size_t)n), *queued = NULL;
  uint64_t span = f->https.alongside ? SW_MIXED_SPAN_MAX : SW_FILL_SPAN_MAX;
  if (st == NULL) return 0;
  if (f->https.assigned == NULL) f->https.assigned = calloc(1, (size_t)n);
  if (f->sw.t != NULL && (queued = calloc(1, nbytes)) != NULL &&
      sw_swarm_queued_pieces(f->sw.t, queued, nbytes, NULL, 0) != SW_OK) {
    free(queued);
    queued = NULL;
  }
  for (int i = 0; i < n; i++) {
    if (sw__fetch_bit(f->https.have, i) || (f->gate.done != NULL && sw__fetch_bit(f->gate.done, i)))
      st[i] |= SW_SCHED_HAVE;
    if (f->https.assigned != NULL && f->https.assigned[i]) st[i] |= SW_SCHED_HTTPS;
    if (queued != NULL && sw__fetch_bit(queued, i)) st[i] |= SW_SCHED_QUEUED;
  }
  ok = sw_sched_pick(st, n, (uint64_t)f->sw.piece_len, f->r.m->size, span, first, last, endgame);
  free(st);
  free(queued);
  if (!ok) return 0;
  if (f->https.assigned != NULL) sw_sched_assign(f->https.assigned, *first, *last);
  /* In the endgame the swarm keeps racing for the same pieces. */
  if (!*endgame && f->sw.t != NULL) sw_swarm_piece_priority(f->sw.t, *first, *last, 0, NULL, 0);
  return 1;
}

/* Issue the next request for the current URL. */
static void https_next(fetch *f) {
  sw_http_get g;
  char msg[SW_MSG_MAX];
  sw_err err;
  if (f->phase != PH_DOWNLOAD || !f->https.active || f->https.meta_wait || f->https.req) return;
  memset(&g, 0, sizeof g);
  g.url = f->r.m->fallback[f->https.url_idx];
  g.arg = f;
  if (f->https.hmode == HM_FILE) {
    if (f->https.part_url != (int)f->https.url_idx && part_restart(f) != SW_OK) {
      sw__fetch_fail(f, SW_ERR_IO, "%s", f->msg);
      return;
    }
    if (f->https.part_done == f->r.m->size) {
      file_done(f, SW_OK, "", 206);
      return;
    }
    /* A Range from what the .part holds; a whole GET when it holds nothing. */
    g.max_bytes = f->r.m->size - f->https.part_done;
    if (f->https.part_done) {
      g.range_start = f->https.part_done;
      g.range_len = f->r.m->size - f->https.part_done;
    }
    g.on_data = file_data;
    g.on_done = file_done;
  } else {
    int first = -1, last = -1, endgame = 0;
    uint64_t span;
    if (!pieces_pick(f, &first, &last, &endgame)) {
      /* Every piece handed over: libtorrent's on_finished starts the gate. */
      sw__fetch_event(f, "https-done", "HTTPS: all missing pieces delivered; waiting for their hash checks");
      return;
    }
    span = (uint64_t)(last - first) * (uint64_t)f->sw.piece_len + sw__fetch_piece_size(f, last);
    f->https.req_first = first;
    f->https.req_last = last;
    g.range_start = (uint64_t)first * (uint64_t)f->sw.piece_len;
    g.range_len = span;
    g.max_bytes = span;
    g.on_data = pieces_data;
    g.on_done = pieces_done;
  }
  err = sw_http_start(f->https.http, &g, &f->https.req, msg, sizeof msg);
  if (err) https_failed(f, err, msg);
}

static void pieces_begin(fetch *f);
static void file_begin(fetch *f);
static void torrent_fetch(fetch *f);

/* The .torrent from the Torrent URL arrived (or failed). It is untrusted until
 * its v2 info-hash is the signed btmh, and even then only its signed part is
 * kept: the server's trackers, web seeds and DHT nodes are not the manifest's.
 * While HTTPS waits for it (meta_wait: a swarm without metadata), a good one
 * gives the swarm's torrent its metadata and HTTPS goes on in pieces mode;
 * otherwise file mode. */
static void torrent_data_done(void *arg, sw_err err, const char *msg, long status) {
  fetch *f = arg;
  char m2[SW_MSG_MAX], name[SW_FILE_MAX + 1], hex[65];
  sw_swarm_made made;
  uint8_t *sb = NULL;
  size_t sl = 0;
  int good = 0;
  (void)status;
  f->https.treq = NULL;
  if (err == SW_OK && f->https.tbuf) {
    sw_hex(f->r.m->magnet.btmh, 32, hex);
    if (sw_swarm_torrent_info(f->https.tbuf, f->https.tlen, &made, name, sizeof name, m2, sizeof m2) == SW_OK &&
        strcmp(made.btmh_hex, hex) == 0 && strcmp(name, f->r.m->file) == 0 && made.size == f->r.m->size &&
        sw_swarm_torrent_signed(f->https.tbuf, f->https.tlen, &sb, &sl, m2, sizeof m2) == SW_OK) {
      good = 1;
      if (sw_store_write(&f->paths, f->paths.torrent_name, sb, sl, m2, sizeof m2) == SW_OK) f->torrent_file_ok = 1;
    } else {
      sw__fetch_event(f, "warning", "ignoring %.300s: not the signed torrent", f->r.m->torrent_url);
    }
  } else if (err) {
    sw__fetch_event(f, "warning", "could not get the torrent file (%s)", msg);
  }
  free(f->https.tbuf);
  f->https.tbuf = NULL;
  if (f->https.meta_wait && f->phase == PH_DOWNLOAD && f->https.active) {
    f->https.meta_wait = 0;
    if (good && f->sw.t != NULL && !f->sw.have_metadata) {
      /* The same torrent again, now with its metadata and piece layers; the
       * save path and resume file stay, the peers are asked again. */
      sw_swarm_remove(f->sw.t);
      f->sw.t = NULL;
      if (sw__fetch_swarm_add(f, sb, sl, m2, sizeof m2) == SW_OK) {
        f->sw.have_metadata = 1;
        sw__fetch_event(f, "metadata", "metadata from %.300s (checked against the manifest)", f->r.m->torrent_url);
        pieces_begin(f);
      } else {
        sw__fetch_event(f, "warning", "swarm: %s", m2);
        file_begin(f);
      }
    } else if (f->sw.t != NULL && f->sw.have_metadata) {
      pieces_begin(f); /* a peer gave the metadata meanwhile */
    } else {
      file_begin(f);
    }
  }
  free(sb);
}

static int torrent_data(void *arg, uint64_t offset, const uint8_t *buf, size_t len) {
  fetch *f = arg;
  uint8_t *nb;
  (void)offset;
  nb = realloc(f->https.tbuf, f->https.tlen + len);
  if (nb == NULL) return 1;
  f->https.tbuf = nb;
  memcpy(f->https.tbuf + f->https.tlen, buf, len);
  f->https.tlen += len;
  return 0;
}

static void torrent_fetch(fetch *f) {
  sw_http_get g;
  char msg[SW_MSG_MAX];
  memset(&g, 0, sizeof g);
  g.url = f->r.m->torrent_url;
  g.max_bytes = SW_TORRENT_FILE_MAX;
  g.on_data = torrent_data;
  g.on_done = torrent_data_done;
  g.arg = f;
  if (sw_http_start(f->https.http, &g, &f->https.treq, msg, sizeof msg) != SW_OK) {
    sw__fetch_event(f, "warning", "could not get the torrent file: %s", msg);
    if (f->https.meta_wait) {
      f->https.meta_wait = 0;
      file_begin(f);
    }
  }
}

/* Pieces mode: HTTPS fetches runs of pieces nobody has and hands them to
 * libtorrent; the swarm's torrent keeps running beside it. */
static void pieces_begin(fetch *f) {
  char msg[SW_MSG_MAX] = "";
  size_t nbytes;
  uint64_t kept = 0;
  if (sw_swarm_layout(f->sw.t, &f->sw.piece_len, &f->sw.num_pieces, msg, sizeof msg) != SW_OK) {
    sw__fetch_fail(f, SW_ERR_INTERNAL, "cannot plan the HTTPS fill: %s", msg);
    return;
  }
  nbytes = ((size_t)f->sw.num_pieces + 7) / 8;
  f->https.have = calloc(1, nbytes);
  f->https.piece_buf = malloc((size_t)f->sw.piece_len);
  f->https.assigned = calloc(1, (size_t)f->sw.num_pieces);
  if (f->https.have == NULL || f->https.piece_buf == NULL || f->https.assigned == NULL ||
      sw_swarm_have_pieces(f->sw.t, f->https.have, nbytes, msg, sizeof msg) != SW_OK) {
    sw__fetch_fail(f, SW_ERR_INTERNAL, "cannot plan the HTTPS fill: %s", msg);
    return;
  }
  f->https.hmode = HM_PIECES;
  if (f->rep.src == NULL) f->rep.src = calloc(1, (size_t)f->sw.num_pieces);
  if (f->rep.src == NULL) {
    sw__fetch_fail(f, SW_ERR_NOMEM, "out of memory");
    return;
  }
  /* Whole verified pieces only: finished blocks of a piece still being
   * downloaded (part of libtorrent's bytes_done) are fetched again. */
  for (int i = 0; i < f->sw.num_pieces; i++)
    if (sw__fetch_bit(f->https.have, i)) kept += sw__fetch_piece_size(f, i);
  sw__fetch_event(f, "https-pieces", "keeping %" PRIu64 " bytes from the swarm; fetching missing pieces over HTTPS%s",
                  kept, f->https.alongside ? " beside the swarm" : "");
  https_next(f);
}

/* File mode: the whole file (or the rest of an earlier HTTPS download) into
 * .part; the swarm's torrent is dropped, its partial file is not mixed in. */
static void file_begin(fetch *f) {
  char msg[SW_MSG_MAX];
  struct stat st;
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
  if (f->https.part_url < 0 && part_restart(f) != SW_OK) {
    sw__fetch_fail(f, SW_ERR_IO, "%s", f->msg);
    return;
  }
  f->https.resumed_part = f->https.part_done;
  if (f->https.part_done)
    sw__fetch_event(f, "https-resume", "resuming the HTTPS download at byte %" PRIu64 " from %.300s",
                    f->https.part_done, f->r.m->fallback[f->https.url_idx]);
  sw__fetch_set_avail(f, f->https.part_done);
  /* For seeding afterwards. */
  if (!f->torrent_file_ok && f->r.m->torrent_url[0] && !f->o.no_swarm && f->https.treq == NULL) torrent_fetch(f);
  https_next(f);
}

/* HTTPS starts: beside the swarm (alongside: the scheduler) or in its place
 * (the swarm given up). Pieces mode whenever the swarm's torrent has its
 * metadata and is kept; without metadata, the Torrent URL's .torrent gives it
 * (then pieces mode); else file mode. */
static void https_begin(fetch *f, const char *reason, int alongside) {
  if (f->phase != PH_DOWNLOAD || f->https.active) return;
  snprintf(f->sw.swarm_why, sizeof f->sw.swarm_why, "%s", reason);
  if (f->switched) {
    /* Back on the swarm after every URL had failed, and the swarm failed again. */
    fail_every_source(f);
    return;
  }
  f->switched = 1;
  if (f->o.no_fallback) {
    sw__fetch_fail(f, SW_ERR_DOWNLOAD, "download failed on every source: swarm: %s (HTTPS fallback disabled)", reason);
    return;
  }
  f->https.t_switch = sw__fetch_now_ms(f);
  f->https.active = 1;
  f->https.alongside = alongside && f->sw.t != NULL;
  sw__fetch_event(f, "fallback", "%s HTTPS after %.1f s: %s", f->https.alongside ? "adding" : "switching to",
                  (double)(f->https.t_switch - f->t_start) / 1000.0, reason);
  if (f->sw.t && f->sw.have_metadata && (f->https.alongside || f->sw.last.bytes_done > 0 || f->gate.gating)) {
    pieces_begin(f);
  } else if (f->https.alongside && !f->sw.have_metadata && f->r.m->torrent_url[0] && !f->o.no_swarm) {
    f->https.meta_wait = 1;
    torrent_fetch(f);
  } else {
    file_begin(f);
  }
}

void sw__fetch_switch_to_https(fetch *f, const char *reason) { https_begin(f, reason, 0); }

void sw__fetch_https_alongside(fetch *f, const char *reason) { https_begin(f, reason, 1); }

/* HTTPS stops (every URL failed, back to the swarm alone): what it holds goes
 * back to the swarm. */
void sw__fetch_https_stop(fetch *f) {
  if (!f->https.active) return;
  f->https.active = 0;
  if (f->https.req != NULL) sw_http_cancel(f->https.req);
  if (f->https.assigned != NULL) give_back(f, 0, f->sw.num_pieces - 1);
}

/* ---- swarm callbacks -------------------------------------------------------------- */

void sw__fetch_on_piece_failed(void *arg, sw_swarm_torrent *t, void *t_arg, int piece) {
  fetch *f = arg;
  size_t u;
  int blame = 1;
  (void)t;
  (void)t_arg;
  /* A piece an HTTPS origin delivered failed the signed torrent's hashes: that
   * origin serves something else than the signed release. It is not asked
   * again in this run; the piece comes from the next URL (or the swarm). A bad
   * peer's piece is libtorrent's business (it bans the peer). */
  if (f->rep.src == NULL || f->https.have == NULL || piece < 0 || piece >= f->sw.num_pieces ||
      f->rep.src[piece] < SRC_HTTPS)
    return;
  u = (size_t)(f->rep.src[piece] - SRC_HTTPS);
  f->rep.src[piece] = SRC_NONE;
  f->https.have[piece / 8] &= (uint8_t)~(1u << (piece % 8));
  if (u >= f->r.m->n_fallback) return;
  if (f->rep.refail == NULL) f->rep.refail = calloc(1, (size_t)f->sw.num_pieces);
  if (f->rep.refail != NULL) {
    /* This piece already failed from another URL: libtorrent 2.0.8 can report
     * that earlier copy's failure again after the next URL's copy was handed
     * over (seen under CPU load, about once in 150 runs: the tampered URL's
     * piece 52 failed, the good URL delivered piece 52, "piece 52 failed" came
     * again and the good URL was dropped: exit 5). So that URL is not blamed
     * yet but asked for the piece again; a second failure of its own copy
     * blames it (a bad mirror serves the same bad bytes again). Bad bytes are
     * never kept either way: libtorrent checks every piece against the hashes. */
    blame = f->rep.refail[piece] == 0 || f->rep.refail[piece] == (uint8_t)(SRC_HTTPS + u);
    f->rep.refail[piece] = (uint8_t)(SRC_HTTPS + u);
  }
  if (blame && !f->https.url_failed[u]) {
    sw__fetch_event(f, "https-error", "HTTPS: %.300s: piece %d failed the torrent's hashes; not asked again",
                    f->r.m->fallback[u], piece);
    url_fail(f, u, 1, "piece %d over HTTPS from %.300s failed the torrent's hashes", piece, f->r.m->fallback[u]);
    f->https.last_err = SW_ERR_PAYLOAD;
  }
  /* Not HTTPS's any more: the swarm may fetch it (and the next URL too). */
  if (f->https.assigned != NULL && f->https.assigned[piece]) {
    f->https.assigned[piece] = 0;
    f->src_swarm.ops->want(f->src_swarm.ctx, piece, piece);
  }
  if (f->phase != PH_DOWNLOAD || !f->https.active) return; /* back on the swarm: it fetches the piece */
  if (!blame || u != f->https.url_idx) {
    if (f->https.req == NULL) https_next(f); /* the current URL fetches the piece again */
  } else if (f->https.req != NULL) {
    sw_http_cancel(f->https.req); /* pieces_done moves on to the next URL */
  } else {
    https_advance(f);
  }
}
