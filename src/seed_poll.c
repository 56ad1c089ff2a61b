/* swarmup seed: a product's poll, every --poll seconds: the key statements
 * (--trusted-keys), the manifest loaded and verified as `swarmup check` does,
 * and a new release accepted into the store and obtained. */
#include <inttypes.h>
#include <uv.h>

#include "seed_int.h"

static void accept_release(seed_prod *p) {
  seeder *sd = p->sd;
  sw_state *st = NULL;
  sw_state_rec rec;
  sw_fresh fresh = SW_FRESH_REJECTED;
  seed_rel *r = NULL;
  char msg[SW_MSG_MAX];
  sw_err err;

  err = sw_state_open(&st, sd->statedir, msg, sizeof msg);
  if (err) {
    sw__seed_log(sd, "warning", p, 0, "state: %s (will retry)", msg);
    return;
  }
  err = sw_release_check_fresh(&p->o, st, &p->r, &fresh, &rec, msg, sizeof msg);
  if (err == SW_OK && fresh == SW_FRESH_NEWER) err = sw_release_record(st, &p->r, &rec, msg, sizeof msg);
  else if (err == SW_OK) sw_release_note_saved(st, &p->o, &rec, "seed"); /* note the check */
  sw_state_close(st);
  if (err) {
    sw__seed_log(sd, "rejected", p, 0, "%s", msg);
    return;
  }
  if (sw__seed_prod_find(p, p->r.m->sequence)) return; /* already seeding or on its way */
  r = p->n_rel < SEED_REL_MAX ? sw__seed_rel_new(p, p->r.m->sequence) : NULL;
  if (r == NULL) {
    sw__seed_log(sd, "error", p, 0, "too many releases");
    return;
  }
  r->m = p->r.m; /* take the parsed manifest */
  p->r.m = NULL;
  if (sw_store_open(&sd->root, r->m, 1, &r->paths, msg, sizeof msg) != SW_OK) {
    sw__seed_log(sd, "error", p, r->seq, "store: %s", msg);
    sw__seed_rel_free(r);
    return;
  }
  p->rel[p->n_rel++] = r;
  sw__seed_log(sd, "release", p, r->seq, "new release %s %s (%s, %" PRIu64 " bytes)", r->m->product, r->m->version,
               r->m->file, r->m->size);
  if (sw_store_is_verified(&r->paths, r->m) && sw_store_has(&r->paths, r->paths.torrent_name) &&
      sw__seed_rel_add_seed(r, msg, sizeof msg) == SW_OK) {
    sw__seed_log(sd, "seeding", p, r->seq, "seeding %s (verified earlier)", r->m->file);
  } else if (p->o.from) {
    r->adopted = 1;
    sw__seed_start_gate(r);
  } else {
    r->state = REL_DOWNLOADING;
    sw__seed_start_download(r);
  }
  sw__seed_prod_prune(p);
}

/* A manifest refused by its signature may be signed under a newer key
 * statement published since the poll's walk: the first refusal of a streak
 * polls again at once (sw__seed_prod_poll walks the statements first); later ones wait
 * for the next poll (no loop). */
static void rewalk(seed_prod *p) {
  if (p->rewalked) return;
  p->rewalked = 1;
  sw__seed_prod_poll(p);
}

/* With --trusted-keys, every poll reads the key statements again (the anchor,
 * the kept chain) and, with --keys-url, walks them before the polled manifest
 * is judged (synchronously: at most SW_KEYS_WALK_MAX small fetches, the loop
 * waits; a walk that finds nothing new costs one fetch), and judges the newest
 * statement's expiry now. A key dropped or revoked, or a statement expired,
 * while the seed runs must refuse the very next manifest: a manifest signed by
 * a dropped key still verifies under the old keyring, so no signature refusal
 * would ever set off a walk. The new keyring (and Threshold) is installed only
 * when nothing in flight uses p->pgp or p->o.threshold (busy 0); else this
 * poll is skipped and the next one walks again. Returns 1 when the poll may
 * load the manifest under p->pgp. */
static int prod_keys(seed_prod *p) {
  sw_pgp *fresh = NULL;
  uint64_t v = 0;
  unsigned thr = 0;
  char msg[SW_MSG_MAX];
  if (p->o.trusted_keys == NULL) return 1;
  if (sw_release_keys_walk(&p->o, p->keys_version, &v, &thr, &fresh, msg, sizeof msg) != SW_OK) {
    sw__seed_log(p->sd, "rejected", p, 0, "%s", msg);
    return 0;
  }
  if (fresh == NULL) return 1;
  if (p->busy > 0) {
    sw_pgp_free(fresh);
    sw__seed_log(p->sd, "keys", p, 0,
                 "key statement %llu found; checks in flight, its keys are opened at the next poll",
                 (unsigned long long)v);
    return 0;
  }
  sw_pgp_free(p->pgp);
  p->pgp = fresh;
  p->o.threshold = thr;
  sw__seed_log(p->sd, "keys", p, 0, "key statement %llu is the newest (was %llu); manifests are judged by its keys",
               (unsigned long long)v, (unsigned long long)p->keys_version);
  p->keys_version = v;
  return 1;
}

static void on_loaded(void *arg, sw_err err, const char *msg) {
  seed_prod *p = arg;
  p->loading = 0;
  p->busy--;
  if (p->dead || p->sd->closing) {
    sw_release_free(&p->r);
    if (p->dead && p->busy == 0) sw__seed_prod_free(p);
    return;
  }
  if (err) sw__seed_log(p->sd, "rejected", p, 0, "%s", msg);
  else accept_release(p);
  sw_release_free(&p->r);
  if (err == SW_OK) p->rewalked = 0;
  else if (err == SW_ERR_MANIFEST_SIG && p->o.keys_url) rewalk(p);
}

void sw__seed_prod_poll(seed_prod *p) {
  char msg[SW_MSG_MAX];
  p->next_poll = uv_now(&p->sd->loop) + p->o.poll * 1000;
  if (p->loading) return;
  if (!prod_keys(p)) return;
  sw_release_free(&p->r);
  if (sw_release_load_async(&p->sd->loop, p->sd->http, &p->o, p->pgp, &p->r, on_loaded, p, msg, sizeof msg) != SW_OK) {
    sw__seed_log(p->sd, "error", p, 0, "%s", msg);
    return;
  }
  p->loading = 1;
  p->busy++;
}
