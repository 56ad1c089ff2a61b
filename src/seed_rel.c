/* swarmup seed: a release in the session: made and freed, found, seeded from
 * the store, removed (with its files or not), the oldest pruned past --keep. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "seed_int.h"

seed_rel *sw__seed_rel_new(seed_prod *p, uint64_t seq) {
  seed_rel *r = calloc(1, sizeof *r);
  if (r == NULL) return NULL;
  r->p = p;
  r->seq = seq;
  sw_dir_init(&r->paths.d);
  sw_dir_init(&r->paths.store);
  return r;
}

void sw__seed_rel_free(seed_rel *r) {
  if (r == NULL) return;
  sw_store_close(&r->paths);
  free(r->tbuf);
  free(r->m);
  free(r->gv);
  free(r);
}

seed_rel *sw__seed_prod_find(seed_prod *p, uint64_t seq) {
  for (size_t i = 0; i < p->n_rel; i++)
    if (p->rel[i]->seq == seq) return p->rel[i];
  return NULL;
}

void sw__seed_prod_remove_rel(seed_prod *p, seed_rel *r, int delete_files) {
  for (size_t i = 0; i < p->n_rel; i++) {
    if (p->rel[i] != r) continue;
    memmove(&p->rel[i], &p->rel[i + 1], (p->n_rel - i - 1) * sizeof p->rel[0]);
    p->n_rel--;
    break;
  }
  if (r->t) {
    sw__seed_rel_final_upload(r);
    sw_swarm_remove(r->t);
  }
  r->t = NULL;
  if (delete_files) sw_store_remove(&r->paths);
  sw__seed_rel_free(r);
}

/* Keep the newest --keep releases that are seeding or on their way. */
void sw__seed_prod_prune(seed_prod *p) {
  while (p->n_rel > p->o.keep && p->n_rel > 0) {
    seed_rel *oldest = NULL;
    for (size_t i = 0; i < p->n_rel; i++)
      if (p->rel[i]->state != REL_GATING && (oldest == NULL || p->rel[i]->seq < oldest->seq)) oldest = p->rel[i];
    if (oldest == NULL) return;
    sw__seed_log(p->sd, "removed", p, oldest->seq, "removed (keeping the last %" PRIu64 ")", p->o.keep);
    sw__seed_prod_remove_rel(p, oldest, 1);
  }
}

/* Seed a verified release from the store: its torrent file beside the payload. */
sw_err sw__seed_rel_add_seed(seed_rel *r, char *msg, size_t msglen) {
  uint8_t *tbuf = r->tbuf;
  size_t tlen = r->tlen;
  sw_swarm_seed sd;
  sw_err err = SW_OK;
  r->tbuf = NULL;
  /* The .torrent is used only if its v2 info-hash is the signed btmh. */
  if (tbuf == NULL) err = sw_store_read_torrent(&r->paths, r->m, SEED_TORRENT_MAX, &tbuf, &tlen, msg, msglen);
  if (err) return err;
  memset(&sd, 0, sizeof sd);
  sd.torrent = tbuf;
  sd.torrent_len = tlen;
  sd.save_dir = r->paths.dir;
  sd.resume_path = NULL;
  sd.super_seed = r->p->o.super_seed;
  sd.arg = r;
  {
    static const char *tr[SW_MAGNET_TR_MAX];
    size_t n = r->m ? r->m->magnet.n_tr : 0;
    for (size_t i = 0; i < n; i++) tr[i] = r->m->magnet.tr[i];
    sd.trackers = tr;
    sd.n_trackers = n;
  }
  err = sw_swarm_add_seed(r->p->sd->swarm, &sd, &r->t, msg, msglen);
  free(tbuf);
  if (err == SW_OK) r->state = REL_SEEDING;
  return err;
}
