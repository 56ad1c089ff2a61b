/* swarmup seed: a release downloaded from the swarm by its magnet, and the
 * session's callbacks for it: finished (then gated) or failed. */
#include <string.h>

#include "seed_int.h"

void sw__seed_start_download(seed_rel *r) {
  sw_swarm_download dl;
  const char *tr[SW_MAGNET_TR_MAX], *pe[SW_MAGNET_PEERS_MAX];
  char msg[SW_MSG_MAX];
  const sw_magnet *mg = &r->m->magnet;
  for (size_t i = 0; i < mg->n_tr; i++) tr[i] = mg->tr[i];
  for (size_t i = 0; i < mg->n_peers; i++) pe[i] = mg->peers[i];
  memset(&dl, 0, sizeof dl);
  dl.btmh = mg->btmh;
  dl.btih = mg->has_btih ? mg->btih : NULL;
  dl.expected_name = r->m->file;
  dl.expected_size = r->m->size;
  dl.trackers = tr;
  dl.n_trackers = mg->n_tr;
  dl.peers = pe;
  dl.n_peers = mg->n_peers;
  dl.save_dir = r->paths.dir;
  dl.resume_path = r->paths.resume;
  dl.arg = r;
  if (sw_swarm_add_download(r->p->sd->swarm, &dl, &r->t, msg, sizeof msg) != SW_OK) {
    sw__seed_log(r->p->sd, "error", r->p, r->seq, "swarm: %s", msg);
    sw__seed_prod_remove_rel(r->p, r, 0);
    return;
  }
  sw__seed_log(r->p->sd, "downloading", r->p, r->seq, "downloading %s from the swarm", r->m->file);
}

void sw__seed_on_finished(void *arg, sw_swarm_torrent *t, void *t_arg) {
  seed_rel *r = t_arg;
  (void)arg;
  if (r == NULL || r->t != t || r->state != REL_DOWNLOADING) return;
  if (r->adopted && sw_store_is_verified(&r->paths, r->m)) {
    /* The adopted file, already gated, now has its metadata from a peer. */
    char msg[SW_MSG_MAX];
    r->state = REL_SEEDING;
    if (sw_swarm_write_torrent(t, r->paths.torrent, msg, sizeof msg) != SW_OK)
      sw__seed_log(r->p->sd, "warning", r->p, r->seq, "could not keep the torrent file: %s", msg);
    sw__seed_log(r->p->sd, "seeding", r->p, r->seq, "seeding %s (adopted from %s)", r->m->file, r->p->o.from);
    return;
  }
  sw__seed_start_gate(r);
}

void sw__seed_on_error(void *arg, sw_swarm_torrent *t, void *t_arg, sw_err err, const char *msg) {
  seeder *sd = arg;
  seed_rel *r = t_arg;
  if (t == NULL || r == NULL) {
    sw__seed_log(sd, "warning", NULL, 0, "swarm: %s", msg);
    return;
  }
  sw__seed_log(sd, "error", r->p, r->seq, "%s: %s", sw_strerror(err), msg);
  if (r->state != REL_GATING) sw__seed_prod_remove_rel(r->p, r, err == SW_ERR_TORRENT_MISMATCH);
}
