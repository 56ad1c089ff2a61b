/* swarmup fetch: HTTPS in pieces mode. Runs of pieces (from the end of the
 * file backwards, beside the swarm: scheduler.h) fetched with Range requests
 * and handed to libtorrent, which checks each against the torrent's hashes;
 * pieces HTTPS holds are asked of peers only when nothing else is left. And the Torrent
 * URL's .torrent: checked against the manifest, kept for seeding, and the
 * swarm's metadata when no peer gave it. */
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

static int pieces_data(void *arg, uint64_t offset, const uint8_t *buf, size_t len) {
  fetch *f = arg;
  while (len > 0) {
    int i = (int)(offset / (uint64_t)f->sw.piece_len);
    uint64_t pstart = (uint64_t)i * (uint64_t)f->sw.piece_len, psize = sw__fetch_piece_size(f, i);
    uint64_t in = offset - pstart;
    size_t take = (size_t)(psize - in) < len ? (size_t)(psize - in) : len;
    if (i > f->https.req_last) {
      f->https.req_cut = f->https.req_yielded; /* the swarm has the rest (sw__fetch_https_yield) */
      return 1;
    }
    f->https.req_pos = i;
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
void sw__fetch_give_back(fetch *f, int first, int last) {
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
  sw__fetch_give_back(f, f->https.req_first, f->https.req_last);
  if (err == SW_ERR_CANCELLED && f->https.req_cut) err = SW_OK; /* ended where the swarm took over */
  if (f->phase != PH_DOWNLOAD || !f->https.active) return;
  if (err || f->https.url_failed[f->https.url_idx]) {
    /* (A URL marked bad while its request was ending: https_failed moves on.) */
    sw__fetch_https_failed(f, err ? err : SW_ERR_PAYLOAD, err ? msg : "delivered a bad piece");
    return;
  }
  sw__fetch_https_next(f);
}

/* The next range for HTTPS (scheduler.h): from the end backwards, never a
 * piece had, handed over or held by another request, nor one the swarm is
 * downloading unless nothing else is left (the endgame). The pieces taken
 * are asked of peers only when nothing else is left (lowest priority). 0: nothing left. */
static int pieces_pick(fetch *f, int *first, int *last, int *endgame) {
  int n = f->sw.num_pieces, ok;
  size_t nbytes = ((size_t)n + 7) / 8;
  uint8_t *st = calloc(1, (size_t)n), *queued = NULL;
  /* Beside the swarm a request stays small (a few seconds of HTTPS,
   * sw_sched_span): what is in flight when the swarm delivers the same pieces
   * first is fetched twice. tools/netlab N = 50 with fixed 4 MiB requests: the
   * origin sent the swarm clients 10 copies, and they kept 4.8. */
  uint64_t https_rate = sw_sched_rate_get(&f->https.rate);
  uint64_t span = f->https.alongside ? sw_sched_span(https_rate, (uint64_t)f->sw.piece_len, SW_MIXED_SPAN_MAX)
                                     : SW_FILL_SPAN_MAX;
  int left = 0, share;
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
    if (!(st[i] & (SW_SCHED_HAVE | SW_SCHED_HTTPS))) left++;
  }
  /* Beside a live swarm, no more than HTTPS's share of what is left
   * (sw_sched_share): the swarm walks the file in order and would take the
   * rest of a longer run while HTTPS still streams it. */
  share = f->sw.t != NULL ? sw_sched_share(left, https_rate, f->src_swarm.ops->rate(f->src_swarm.ctx)) : left;
  if (share > 0 && (uint64_t)share * (uint64_t)f->sw.piece_len < span) span = (uint64_t)share * (uint64_t)f->sw.piece_len;
  ok = sw_sched_pick(st, n, (uint64_t)f->sw.piece_len, f->r.m->size, span, first, last, endgame);
  free(st);
  free(queued);
  if (!ok) return 0;
  if (f->https.assigned != NULL) sw_sched_assign(f->https.assigned, *first, *last);
  /* In the endgame the swarm keeps racing for the same pieces. */
  if (!*endgame && f->sw.t != NULL) sw_swarm_piece_priority(f->sw.t, *first, *last, 0, NULL, 0);
  return 1;
}

/* The swarm finished `piece`. libtorrent picks pieces in order here
 * (sequential: pieces_begin) and its low priority does not hold it back from
 * HTTPS's pieces then: once the swarm reaches HTTPS's range, it takes the
 * pieces ahead of what HTTPS has delivered, and HTTPS would fetch them again.
 * So HTTPS's request ends before the first piece the swarm has or downloads,
 * and the rest of its range is the swarm's (an endgame request keeps racing). */
void sw__fetch_https_yield(fetch *f, int piece) {
  int n = f->sw.num_pieces, keep;
  size_t nbytes = ((size_t)n + 7) / 8;
  uint8_t *st, *queued;
  if (!sw__fetch_https_pieces(f) || f->https.req == NULL || f->https.req_endgame ||
      piece <= f->https.req_pos || piece > f->https.req_last || f->sw.t == NULL)
    return;
  st = calloc(1, (size_t)n);
  queued = calloc(1, nbytes);
  if (st == NULL || queued == NULL || sw_swarm_queued_pieces(f->sw.t, queued, nbytes, NULL, 0) != SW_OK) goto out;
  for (int i = f->https.req_pos + 1; i <= f->https.req_last; i++) {
    if (sw__fetch_bit(queued, i)) st[i] |= SW_SCHED_QUEUED;
    if (f->gate.done != NULL && sw__fetch_bit(f->gate.done, i)) st[i] |= SW_SCHED_HAVE;
  }
  st[piece] |= SW_SCHED_HAVE;
  keep = sw_sched_yield(st, f->https.req_pos, f->https.req_last);
  if (keep < f->https.req_last) {
    sw__fetch_give_back(f, keep + 1, f->https.req_last);
    f->https.req_last = keep;
    f->https.req_yielded = 1;
  }
out:
  free(st);
  free(queued);
}

/* Pieces mode's next request: the next range (pieces_pick). Returns 1 if g is
 * to be started, 0 if every piece is handed over or held. */
int sw__fetch_pieces_request(fetch *f, sw_http_get *g) {
  int first = -1, last = -1, endgame = 0;
  uint64_t span;
  if (!pieces_pick(f, &first, &last, &endgame)) {
    /* Every piece handed over: libtorrent's on_finished starts the gate. */
    sw__fetch_event(f, "https-done", "HTTPS: all missing pieces delivered; waiting for their hash checks");
    return 0;
  }
  span = (uint64_t)(last - first) * (uint64_t)f->sw.piece_len + sw__fetch_piece_size(f, last);
  f->https.req_first = first;
  f->https.req_last = last;
  f->https.req_pos = first - 1;
  f->https.req_endgame = endgame;
  f->https.req_yielded = f->https.req_cut = 0;
  g->range_start = (uint64_t)first * (uint64_t)f->sw.piece_len;
  g->range_len = span;
  g->max_bytes = span;
  g->on_data = pieces_data;
  g->on_done = pieces_done;
  return 1;
}

/* The .torrent from the Torrent URL arrived (or failed). It is untrusted until
 * its v2 info-hash is the signed btmh, and even then only its signed part is
 * kept: the server's trackers, web seeds and DHT nodes are not the manifest's.
 * While HTTPS waits for it (meta_wait: a swarm without metadata), a good one
 * gives the swarm's torrent its metadata and HTTPS goes on in pieces mode;
 * otherwise file mode. */
/* The Torrent URL gave no usable torrent. The torrent only matters for seeding
 * afterwards (and for metadata when no peer answers): --json says so at once;
 * the text says it once, where it matters ("not seeding: ..."), instead of a
 * warning in the middle of a download that may well succeed. */
void sw__fetch_torrent_failed(fetch *f) {
  if (f->o.json) sw__fetch_event(f, "warning", "torrent file: %s", f->https.torrent_why);
}

/* The swarm's torrent gets the metadata of the .torrent that arrived, and
 * HTTPS goes on in pieces mode; or file mode when there is none. */
void sw__fetch_torrent_ready(fetch *f) {
  char m2[SW_MSG_MAX];
  if (!f->https.meta_wait || f->phase != PH_DOWNLOAD || !f->https.active) return;
  f->https.meta_wait = 0;
  if (f->https.tstate > 0 && f->sw.t != NULL && !f->sw.have_metadata) {
    /* The same torrent again, now with its metadata and piece layers; the
     * save path and resume file stay, the peers are asked again. (Not
     * libtorrent's set_metadata: it takes the info dict alone, and a v2
     * torrent's piece layers are outside it, so a piece handed over could
     * not be checked until a peer sent the hashes.) */
    sw_swarm_remove(f->sw.t);
    f->sw.t = NULL;
    if (sw__fetch_swarm_add(f, f->https.tsigned, f->https.tsigned_len, m2, sizeof m2) == SW_OK) {
      f->sw.have_metadata = 1;
      sw__fetch_event(f, "metadata", "metadata from %.300s (checked against the manifest)", f->r.m->torrent_url);
      sw__fetch_pieces_begin(f);
    } else {
      sw__fetch_event(f, "warning", "swarm: %s", m2);
      sw__fetch_file_begin(f);
    }
  } else if (f->sw.t != NULL && f->sw.have_metadata) {
    sw__fetch_pieces_begin(f); /* a peer gave the metadata meanwhile */
  } else {
    sw__fetch_file_begin(f);
  }
}

static void torrent_data_done(void *arg, sw_err err, const char *msg, long status) {
  fetch *f = arg;
  char m2[SW_MSG_MAX], name[SW_FILE_MAX + 1], hex[65];
  sw_swarm_made made;
  uint8_t *sb = NULL;
  size_t sl = 0;
  (void)status;
  f->https.treq = NULL;
  f->https.tstate = -1;
  if (err == SW_OK && f->https.tbuf) {
    sw_hex(f->r.m->magnet.btmh, 32, hex);
    if (sw_swarm_torrent_info(f->https.tbuf, f->https.tlen, &made, name, sizeof name, m2, sizeof m2) == SW_OK &&
        strcmp(made.btmh_hex, hex) == 0 && strcmp(name, f->r.m->file) == 0 && made.size == f->r.m->size &&
        sw_swarm_torrent_signed(f->https.tbuf, f->https.tlen, &sb, &sl, m2, sizeof m2) == SW_OK) {
      f->https.tstate = 1;
      free(f->https.tsigned);
      f->https.tsigned = sb;
      f->https.tsigned_len = sl;
      if (sw_store_write(&f->paths, f->paths.torrent_name, sb, sl, m2, sizeof m2) == SW_OK) f->torrent_file_ok = 1;
    } else {
      free(sb);
      snprintf(f->https.torrent_why, sizeof f->https.torrent_why, "%.300s is not the signed torrent",
               f->r.m->torrent_url);
      sw__fetch_torrent_failed(f);
    }
  } else if (err) {
    snprintf(f->https.torrent_why, sizeof f->https.torrent_why, "%s", msg);
    sw__fetch_torrent_failed(f);
  }
  free(f->https.tbuf);
  f->https.tbuf = NULL;
  f->https.tlen = 0;
  sw__fetch_torrent_ready(f);
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

/* At the start, when the swarm has only the magnet: the .torrent from the
 * Torrent URL, so that HTTPS, if the scheduler adds it (a firewall that drops
 * BitTorrent: no peer, no metadata), starts on pieces at once instead of
 * asking for the .torrent then (one more round trip to the origin before the
 * first payload byte). The swarm is left alone: a peer usually gives the
 * metadata first, and the .torrent is kept for seeding afterwards. It costs
 * the origin the .torrent per client (about 0.05% of the release). */
void sw__fetch_torrent_prefetch(fetch *f) {
  if (f->https.http == NULL || f->sw.have_metadata || f->torrent_file_ok || !f->r.m->torrent_url[0] ||
      f->https.treq != NULL || f->https.tstate != 0)
    return;
  sw__fetch_torrent_fetch(f);
}

void sw__fetch_torrent_fetch(fetch *f) {
  sw_http_get g;
  char msg[SW_MSG_MAX];
  memset(&g, 0, sizeof g);
  g.url = f->r.m->torrent_url;
  g.max_bytes = SW_TORRENT_FILE_MAX;
  g.on_data = torrent_data;
  g.on_done = torrent_data_done;
  g.arg = f;
  if (sw_http_start(f->https.http, &g, &f->https.treq, msg, sizeof msg) != SW_OK) {
    f->https.tstate = -1;
    snprintf(f->https.torrent_why, sizeof f->https.torrent_why, "%s", msg);
    sw__fetch_torrent_failed(f);
    sw__fetch_torrent_ready(f);
  }
}

/* Pieces mode: HTTPS fetches runs of pieces nobody has and hands them to
 * libtorrent; the swarm's torrent keeps running beside it. */
void sw__fetch_pieces_begin(fetch *f) {
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
  /* HTTPS takes runs from the end backwards; the swarm now takes pieces from
   * the start (its deadlines on the gate's next pieces stay), so the two meet
   * once instead of the swarm's rarest-first picks cutting HTTPS's runs into
   * short Range requests, each a round trip to the origin. */
  sw__fetch_piece_order(f, f->sw.last.num_peers, f->sw.last.num_seeds);
  sw__fetch_https_next(f);
}
