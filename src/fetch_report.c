/* swarmup fetch: what it tells: events (a line on stderr or JSON on stdout),
 * the progress line, the byte tally by source and the summaries of sources. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fetch_int.h"
#include "out.h"
#include "progress.h"

/* A line for people (stderr) or a JSON event (stdout). */
void sw__fetch_event(fetch *f, const char *event, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (f->o.json) {
    sw_json_event(event, NULL, NULL, 0, text);
  } else if (f->o.quiet && strcmp(event, "warning") != 0 && strcmp(event, "https-error") != 0) {
    return; /* -q: warnings and errors only */
  } else {
    if (f->rep.tty) fputs("\r\033[K", stderr);
    fprintf(stderr, "%s\n", text);
  }
}

void sw__fetch_fmt_bytes(uint64_t b, char *out, size_t cap) {
  if (b >= 1024ull * 1024 * 1024) snprintf(out, cap, "%.2f GiB", (double)b / (1024.0 * 1024 * 1024));
  else if (b >= 1024ull * 1024) snprintf(out, cap, "%.1f MiB", (double)b / (1024.0 * 1024));
  else if (b >= 1024) snprintf(out, cap, "%.1f KiB", (double)b / 1024.0);
  else snprintf(out, cap, "%" PRIu64 " B", b);
}

/* HTTPS payload received; the first byte is an event (with the time since the
 * start: how long a silent firewall held the download). */
void sw__fetch_https_bytes(fetch *f, size_t len) {
  uint64_t now = sw__fetch_now_ms(f);
  f->rep.https_bytes += len;
  sw_sched_rate_add(&f->https.rate, now, f->rep.https_bytes);
  if (f->https.first_byte || len == 0) return;
  f->https.first_byte = 1;
  if (f->o.json) {
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", "https-first-byte");
    sw_json_u64(&j, "elapsed_ms", now - f->t_start);
    sw_json_str(&j, "url", f->r.m->fallback[f->https.url_idx]);
    sw_json_end(&j);
  }
}

/* Bytes of the file we have, whichever source. */
static uint64_t have_bytes(fetch *f) {
  if (f->https.hmode == HM_FILE) return f->https.part_done;
  return f->sw.last.bytes_done;
}

void sw__fetch_show_progress(fetch *f) {
  uint64_t done = have_bytes(f), size = f->r.m->size, now = sw__fetch_now_ms(f);
  /* Our own rate, from the bytes received from any source (libtorrent's
   * payload rate is a long average and knows nothing of HTTPS). Not from the
   * bytes we have: HTTPS pieces count there only once whole, so a slow origin
   * looked like no progress for many ticks and the rate fell towards 0. */
  uint64_t got = f->rep.swarm_bytes + f->rep.https_bytes;
  if (f->rep.rate_ms == 0 || got < f->rep.rate_bytes) {
    f->rep.rate = -1; /* no rate yet (or the counts started again) */
  } else if (now > f->rep.rate_ms) {
    f->rep.rate = sw_progress_rate(f->rep.rate, got - f->rep.rate_bytes, now - f->rep.rate_ms);
  }
  if (f->rep.rate_ms == 0 || now > f->rep.rate_ms || got < f->rep.rate_bytes) {
    f->rep.rate_bytes = got;
    f->rep.rate_ms = now;
  }
  if (f->o.json) {
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", f->phase == PH_SEED ? "seeding" : "progress");
    sw_json_str(&j, "source", !f->https.active ? "swarm" : f->sw.t != NULL && f->https.hmode != HM_FILE ? "both" : "https");
    sw_json_u64(&j, "bytes", done);
    sw_json_u64(&j, "size", size);
    sw_json_u64(&j, "swarm_bytes", f->rep.swarm_bytes);
    sw_json_u64(&j, "https_bytes", f->rep.https_bytes);
    sw_json_i64(&j, "download_rate", f->rep.rate > 0 ? (int64_t)f->rep.rate : 0);
    sw_json_i64(&j, "upload_rate", f->sw.last.upload_rate);
    sw_json_u64(&j, "uploaded", f->sw.last.total_payload_upload);
    sw_json_i64(&j, "peers", f->sw.last.num_peers);
    sw_json_end(&j);
    return;
  }
  if (!f->rep.tty || f->o.no_progress || f->o.quiet) return;
  sw_progress p;
  char line[256];
  memset(&p, 0, sizeof p);
  if (f->phase == PH_SEED) p.source = SW_PROGRESS_SEEDING;
  else if (!f->https.active) p.source = SW_PROGRESS_SWARM;
  else if (f->sw.t != NULL && f->https.hmode == HM_PIECES) p.source = SW_PROGRESS_BOTH;
  else p.source = SW_PROGRESS_HTTPS;
  p.done = done;
  p.size = size;
  p.rate = f->rep.rate;
  p.peers = f->sw.last.num_peers;
  p.uploaded = f->sw.last.total_payload_upload;
  p.upload_rate = f->sw.last.upload_rate;
  sw_progress_line(&p, line, sizeof line);
  fprintf(stderr, "\r\033[K%s", line);
  fflush(stderr);
}

void sw__fetch_tally(fetch *f, fetch_tally *t) {
  uint64_t size = f->r.m->size, got_swarm = f->rep.swarm_bytes, got_https = f->rep.https_bytes;
  memset(t, 0, sizeof *t);
  if (f->from_store) {
    t->resumed = size;
  } else if (f->https.hmode == HM_FILE) {
    t->resumed = f->https.resumed_part <= f->https.part_done ? f->https.resumed_part : f->https.part_done;
    t->https = f->https.part_done - t->resumed;
  } else {
    /* Pieces from HTTPS are known one by one. The rest came from peers, in this
     * run or an earlier one: libtorrent cannot tell the pieces it checks on
     * disk from those it downloads (both raise piece events), so the swarm's
     * share of this run is what it sent in this run, up to what the file
     * needed; the rest was on disk already. */
    if (f->rep.src != NULL)
      for (int i = 0; i < f->sw.num_pieces; i++)
        if (f->rep.src[i] >= SRC_HTTPS) t->https += sw__fetch_piece_size(f, i);
    if (t->https > size) t->https = size;
    t->swarm = got_swarm < size - t->https ? got_swarm : size - t->https;
    t->resumed = size - t->https - t->swarm;
  }
  t->discarded = (got_https > t->https ? got_https - t->https : 0) + (got_swarm > t->swarm ? got_swarm - t->swarm : 0);
}

/* Which sources delivered the bytes, for messages. */
void sw__fetch_sources_text(fetch *f, char *out, size_t cap) {
  char s[32], h[32], r[32] = "", d[32] = "";
  fetch_tally t;
  int n;
  sw__fetch_tally(f, &t);
  sw__fetch_fmt_bytes(t.swarm, s, sizeof s);
  sw__fetch_fmt_bytes(t.https, h, sizeof h);
  if (t.https && f->https.url_idx < f->r.m->n_fallback)
    n = snprintf(out, cap, "%s from the swarm, %s over HTTPS from %.300s", s, h, f->r.m->fallback[f->https.url_idx]);
  else
    n = snprintf(out, cap, "%s from the swarm, %s over HTTPS", s, h);
  if (n < 0 || (size_t)n >= cap) return;
  if (t.resumed) sw__fetch_fmt_bytes(t.resumed, r, sizeof r);
  if (t.discarded) sw__fetch_fmt_bytes(t.discarded, d, sizeof d);
  snprintf(out + n, cap - (size_t)n, "%s%s%s%s%s", t.resumed ? ", " : "", r, t.resumed ? " from an earlier run" : "",
           t.discarded ? "; " : "", t.discarded ? d : "");
  if (t.discarded) {
    n = (int)strlen(out);
    snprintf(out + n, cap - (size_t)n, " received and discarded");
  }
}

/* Every source tried in this run and why it failed, for the final error. */
void sw__fetch_sources_list(fetch *f, char *out, size_t cap) {
  size_t n = 0;
  int k;
  out[0] = '\0';
  if (f->sw.swarm_why[0]) {
    k = snprintf(out, cap, "swarm: %.300s", f->sw.swarm_why);
    if (k < 0 || (size_t)k >= cap) return;
    n = (size_t)k;
  }
  for (size_t i = 0; i < f->r.m->n_fallback; i++) {
    if (!f->https.url_failed[i]) continue;
    /* A bad source's reason names it already ("N over HTTPS from URL: ..."). */
    if (f->https.url_failed[i] == 2)
      k = snprintf(out + n, cap - n, "%s%.700s", n ? "; " : "", f->https.url_why[i]);
    else
      k = snprintf(out + n, cap - n, "%s%.300s: %.400s", n ? "; " : "", f->r.m->fallback[i], f->https.url_why[i]);
    if (k < 0 || (size_t)k >= cap - n) return;
    n += (size_t)k;
  }
}

/* ---- seeding, exec ------------------------------------------------------------ */
