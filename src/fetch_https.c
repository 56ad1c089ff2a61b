/* swarmup fetch: the HTTPS source. The Fallback URL list (each tried at most
 * once a run; a failed one is not asked again, one that delivered bad bytes
 * is marked bad), retries, HTTPS's start (beside the swarm, or in its place)
 * and stop, and a piece from HTTPS that failed the torrent's hashes. The
 * modes are apart: fetch_https_file.c (.part) and fetch_https_pieces.c
 * (pieces handed to libtorrent, and the Torrent URL's .torrent). */
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

/* Transient errors are worth a retry of the same URL; the others go to the next
 * URL. A missed deadline is not: the same source would be as slow again. */
static int transient(sw_err e) { return e == SW_ERR_HTTP || e == SW_ERR_HTTP_SLOW; }

static void on_retry_timer(uv_timer_t *h) {
  fetch *f = h->data;
  sw__fetch_https_next(f);
}

/* Mark Fallback URL u failed for the rest of the run (bad: it delivered bytes
 * that the gate or the torrent's hashes rejected). The first reason stays. */
void sw__fetch_url_fail(fetch *f, size_t u, int bad, const char *fmt, ...) {
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

/* No Fallback URL is left. If the swarm's torrent is still there and has
 * peers, or HTTPS had joined it without giving it up, the swarm gets one more
 * chance (its timeouts and stall check end it); else the end. */
static void sources_exhausted(fetch *f) {
  if (f->sw.t != NULL && (f->sw.last.num_peers > 0 || f->https.alongside) && !f->sw.swarm_again && !f->o.no_swarm) {
    f->sw.swarm_again = 1;
    sw__fetch_https_stop(f);
    if (f->https.hmode == HM_FILE) {
      /* (The torrent is still there: .part got no byte in this run.) */
      f->https.hmode = HM_NONE;
      f->https.drop_swarm = 0;
      if (f->https.part_fd >= 0) close(f->https.part_fd);
      f->https.part_fd = -1;
    }
    sw__fetch_stall_reset(f);
    sw__fetch_event(f, "fallback", "every HTTPS source failed; back to the swarm (%d peers)", f->sw.last.num_peers);
    return;
  }
  fail_every_source(f);
}

/* Go on with the next URL that has not failed in this run (file mode: .part
 * starts again for it), or end. */
void sw__fetch_https_advance(fetch *f) {
  int u = url_next(f);
  f->https.attempt = 0;
  if (u < 0) {
    sources_exhausted(f);
    return;
  }
  f->https.url_idx = (size_t)u;
  if (f->https.hmode == HM_FILE && f->https.part_url != u && sw__fetch_part_restart(f) != SW_OK) {
    sw__fetch_fail(f, SW_ERR_IO, "%s", f->msg);
    return;
  }
  uv_timer_start(&f->https.retry, on_retry_timer, 0, 0);
}

/* The current URL failed with err: retry it (bounded, with backoff) or move on. */
/* The HTTPS client's messages name the request ("HTTPS GET URL failed: why"); our
 * lines already name the source, so they keep only the why. */
static const char *why_only(const char *msg, const char *url) {
  static const char pre[] = "HTTPS GET ";
  size_t ul = strlen(url);
  if (strncmp(msg, pre, sizeof pre - 1) == 0 && strncmp(msg + sizeof pre - 1, url, ul) == 0 &&
      strncmp(msg + sizeof pre - 1 + ul, " failed: ", 9) == 0)
    return msg + sizeof pre - 1 + ul + 9;
  return msg;
}

void sw__fetch_https_failed(fetch *f, sw_err err, const char *msg) {
  const char *url = f->r.m->fallback[f->https.url_idx];
  const char *why = why_only(msg, url);
  snprintf(f->https.url_err, sizeof f->https.url_err, "%s", why);
  if (!f->https.url_failed[f->https.url_idx]) {
    /* (Already failed: a request cancelled because its URL delivered bad bytes.) */
    int retry;
    f->https.last_err = err;
    f->https.attempt++;
    retry = transient(err) && f->https.attempt < f->o.https_retries;
    if (!retry) sw__fetch_url_fail(f, f->https.url_idx, 0, "%s", why);
    /* One line per source in text: a source given up says so once, when
     * another follows; the last one is said by the final error, which lists
     * every source and why (the same failure twice, and once per retry, read
     * like several failures). --json reports every attempt. */
    if (f->o.json || (!retry && url_next(f) >= 0))
      sw__fetch_event(f, "https-error", "HTTPS: %.300s: %s; %s", url, why,
                      retry ? "retrying" : url_next(f) >= 0 ? "trying the next URL" : "no URL left");
    if (retry) {
      /* Backoff: 250 ms, 500 ms, 1 s... for a retry of the same URL (a .part resumes from it). */
      uv_timer_start(&f->https.retry, on_retry_timer, 250u << (f->https.attempt - 1), 0);
      return;
    }
  }
  sw__fetch_https_advance(f);
}

/* Issue the next request for the current URL. */
void sw__fetch_https_next(fetch *f) {
  sw_http_get g;
  char msg[SW_MSG_MAX];
  sw_err err;
  if (f->phase != PH_DOWNLOAD || !f->https.active || f->https.meta_wait || f->https.req) return;
  memset(&g, 0, sizeof g);
  g.url = f->r.m->fallback[f->https.url_idx];
  g.arg = f;
  if (!(f->https.hmode == HM_FILE ? sw__fetch_file_request(f, &g) : sw__fetch_pieces_request(f, &g))) return;
  err = sw_http_start(f->https.http, &g, &f->https.req, msg, sizeof msg);
  if (err) sw__fetch_https_failed(f, err, msg);
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
    sw__fetch_pieces_begin(f);
  } else if (f->https.alongside && !f->sw.have_metadata && f->r.m->torrent_url[0] && !f->o.no_swarm &&
             f->https.tstate >= 0) {
    /* The .torrent asked for at the start (sw__fetch_torrent_prefetch) gives
     * the metadata at once if it is here, or as soon as it comes. */
    f->https.meta_wait = 1;
    if (f->https.tstate > 0) sw__fetch_torrent_ready(f);
    else if (f->https.treq == NULL) sw__fetch_torrent_fetch(f);
  } else {
    sw__fetch_file_begin(f);
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
  if (f->https.assigned != NULL) sw__fetch_give_back(f, 0, f->sw.num_pieces - 1);
  sw__fetch_piece_order(f, f->sw.last.num_peers, f->sw.last.num_seeds); /* rarest first again, unless seeds alone */
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
    sw__fetch_url_fail(f, u, 1, "piece %d over HTTPS from %.300s failed the torrent's hashes", piece, f->r.m->fallback[u]);
    f->https.last_err = SW_ERR_PAYLOAD;
  }
  /* Not HTTPS's any more: the swarm may fetch it (and the next URL too). */
  if (f->https.assigned != NULL && f->https.assigned[piece]) {
    f->https.assigned[piece] = 0;
    f->src_swarm.ops->want(f->src_swarm.ctx, piece, piece);
  }
  if (f->phase != PH_DOWNLOAD || !f->https.active) return; /* back on the swarm: it fetches the piece */
  if (!blame || u != f->https.url_idx) {
    if (f->https.req == NULL) sw__fetch_https_next(f); /* the current URL fetches the piece again */
  } else if (f->https.req != NULL) {
    sw_http_cancel(f->https.req); /* pieces_done moves on to the next URL */
  } else {
    sw__fetch_https_advance(f);
  }
}
