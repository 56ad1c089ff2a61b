/* swarmup seed: what the seeder says (text lines, or --json events; -q keeps
 * what an operator must act on), what each release has sent to peers, and the
 * seeding record for `swarmup status`. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "out.h"
#include "seed_int.h"

void sw__seed_log(seeder *sd, const char *event, const seed_prod *p, uint64_t seq, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (sd->g.json) {
    sw_json_event(event, p ? p->o.product : NULL, p ? p->o.channel : NULL, seq, text);
  } else {
    /* -q: what an operator must act on only (errors, warnings, refusals). */
    if (sd->g.quiet && strcmp(event, "error") && strcmp(event, "warning") && strcmp(event, "refused") &&
        strcmp(event, "rejected"))
      return;
    if (p && seq) printf("%s/%s #%" PRIu64 ": %s\n", p->o.product, p->o.channel, seq, text);
    else if (p) printf("%s/%s: %s\n", p->o.product, p->o.channel, text);
    else printf("%s\n", text);
    fflush(stdout);
  }
}

/* What a release has sent to peers: a JSON "upload" event (every
 * SEED_UPLOAD_EVERY_MS while it changes, and a last one when it stops being
 * seeded), or one text line when it stops. Operators and the benchmarks read
 * a seed's egress from it. */
#define SEED_UPLOAD_EVERY_MS 10000

static void report_upload(seed_rel *r, int last) {
  seeder *sd = r->p->sd;
  if (sd->g.json) {
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", "upload");
    sw_json_str(&j, "product", r->p->o.product);
    sw_json_str(&j, "channel", r->p->o.channel);
    sw_json_u64(&j, "sequence", r->seq);
    sw_json_u64(&j, "uploaded", r->uploaded);
    sw_json_u64(&j, "peers", (uint64_t)(r->peers > 0 ? r->peers : 0));
    sw_json_u64(&j, "final", (uint64_t)last);
    sw_json_end(&j);
  } else if (last && r->uploaded > 0 && !sd->g.quiet) {
    printf("%s/%s #%" PRIu64 ": sent %.1f MiB to peers\n", r->p->o.product, r->p->o.channel, r->seq,
           (double)r->uploaded / 1048576.0);
    fflush(stdout);
  }
  r->reported = r->uploaded;
  r->t_reported = uv_now(&sd->loop);
}

/* STATE/<product>/<channel>/seeding for `swarmup status` (seedrec.h): what
 * is seeded and what it has sent, every SW_SEEDREC_EVERY_MS and when it stops.
 * Best effort: a failure is said once, seeding goes on. */
void sw__seed_prod_write_rec(seed_prod *p, int running) {
  sw_seedrec rec;
  char msg[SW_MSG_MAX];
  if (p->n_rel == 0 && !p->have_prev) return; /* nothing seeded yet: maybe no channel dir either */
  p->rec_at = uv_now(&p->sd->loop);
  memset(&rec, 0, sizeof rec);
  rec.pid = (uint64_t)getpid();
  rec.updated = (int64_t)time(NULL);
  rec.running = running;
  for (size_t i = 0; i < p->n_rel && rec.n < SW_SEEDREC_RELEASES_MAX; i++) {
    seed_rel *r = p->rel[i];
    if (r->state != REL_SEEDING || r->m == NULL) continue;
    if (!r->base_set) {
      r->base = p->have_prev ? sw_seedrec_uploaded(&p->prev, r->seq) : 0;
      r->base_set = 1;
    }
    rec.rel[rec.n].sequence = r->seq;
    rec.rel[rec.n].size = r->m->size;
    rec.rel[rec.n].uploaded = r->base + r->uploaded;
    rec.rel[rec.n].peers = (uint64_t)(r->peers > 0 ? r->peers : 0);
    rec.n++;
  }
  if (sw_seedrec_write(&p->sd->root, p->o.product, p->o.channel, &rec, msg, sizeof msg) != SW_OK && !p->rec_warned) {
    sw__seed_log(p->sd, "warning", p, 0, "cannot write the seeding record: %s", msg);
    p->rec_warned = 1;
  }
}

/* Called before a release's torrent is removed. */
void sw__seed_rel_final_upload(seed_rel *r) {
  sw_swarm_status st;
  if (r->t && sw_swarm_get_status(r->t, &st, NULL, 0) == SW_OK) {
    r->uploaded = st.total_payload_upload;
    r->peers = st.num_peers;
  }
  if (r->t) report_upload(r, 1);
}

void sw__seed_on_status(void *arg, sw_swarm_torrent *t, void *t_arg, const sw_swarm_status *st) {
  seed_rel *r = t_arg;
  (void)arg;
  if (r == NULL || r->t != t || r->state != REL_SEEDING) return;
  r->uploaded = st->total_payload_upload;
  r->peers = st->num_peers;
  if (r->p->sd->g.json && r->uploaded != r->reported &&
      uv_now(&r->p->sd->loop) - r->t_reported >= SEED_UPLOAD_EVERY_MS)
    report_upload(r, 0);
}
