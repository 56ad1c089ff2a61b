/* swarmup seed: the releases the store already holds for a product, seeded
 * again at start (and after SIGHUP) once each is re-checked. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "fsutil.h"
#include "seed_int.h"

/* Seed what the store already holds, verified, for this product (up to --keep).
 * Nothing found there is taken on trust (a `verified` marker only says a
 * run of ours once gated it): each release is re-checked on the thread pool
 * (scan_work) before it is seeded: the kept manifest's signature under the
 * current --trusted-key and --threshold, its product, channel and sequence,
 * the marker against it, and the stored .torrent's v2 info-hash against its
 * btmh. */
static void scan_work(uv_work_t *w) {
  seed_rel *r = w->data;
  seed_prod *p = r->p;
  const char *names[4] = {p->o.product, p->o.channel, "manifests", NULL};
  char name[64], inner[SW_MSG_MAX];
  sw_dir md;
  sw_release rel;
  sw_pgp_verdict *v = NULL;
  sw_err err;

  memset(&rel, 0, sizeof rel);
  r->refused = 2;
  err = sw_dir_open_chain(&md, &p->sd->root, names, 0, r->msg, sizeof r->msg);
  if (err) {
    r->refused = 1;
    return;
  }
  if (md.fd < 0) return;
  snprintf(name, sizeof name, "%" PRIu64 ".manifest", r->seq);
  if (sw_fs_read_at(md.fd, md.path, name, SW_MANIFEST_MAX, SW_ERR_IO, &rel.manifest, &rel.manifest_len, NULL, 0) !=
      SW_OK)
    goto out; /* no kept manifest: not a release we finished */
  r->refused = 1;
  snprintf(name, sizeof name, "%" PRIu64 ".manifest.sig", r->seq);
  if (sw_fs_read_at(md.fd, md.path, name, SW_MANIFEST_SIG_MAX, SW_ERR_IO, &rel.sig, &rel.sig_len, inner,
                    sizeof inner) != SW_OK) {
    snprintf(r->msg, sizeof r->msg, "kept manifest #%" PRIu64 ": no signature: %.300s", r->seq, inner);
    goto out;
  }
  v = calloc(1, sizeof *v);
  if (v == NULL) {
    snprintf(r->msg, sizeof r->msg, "out of memory");
    goto out;
  }
  err = sw_pgp_verify_mem(p->pgp, SW_PGP_PURPOSE_MANIFEST, rel.sig, rel.sig_len, rel.manifest, rel.manifest_len,
                          (unsigned)p->o.threshold, v);
  if (err || !v->accepted) {
    snprintf(r->msg, sizeof r->msg, "kept manifest %.200s/%" PRIu64 ".manifest: signature %s: %.200s", md.path, r->seq,
             err ? "could not be checked" : "not accepted under the current trust", v->reason);
    goto out;
  }
  r->m = calloc(1, sizeof *r->m);
  if (r->m == NULL || sw_manifest_parse(rel.manifest, rel.manifest_len, r->m, inner, sizeof inner) != SW_OK) {
    snprintf(r->msg, sizeof r->msg, "kept manifest #%" PRIu64 " does not parse: %.300s", r->seq, r->m ? inner : "no memory");
    goto out;
  }
  if (strcmp(r->m->product, p->o.product) != 0 || strcmp(r->m->channel, p->o.channel) != 0 ||
      r->m->sequence != r->seq) {
    snprintf(r->msg, sizeof r->msg, "kept manifest #%" PRIu64 " is for %s/%s #%" PRIu64, r->seq, r->m->product,
             r->m->channel, r->m->sequence);
    goto out;
  }
  if (sw_store_open(&p->sd->root, r->m, 0, &r->paths, r->msg, sizeof r->msg) != SW_OK) goto out;
  if (r->paths.d.fd < 0 || !sw_store_is_verified(&r->paths, r->m)) {
    r->refused = 2; /* a partial download: nothing to seed, nothing to say */
    goto out;
  }
  if (sw_store_read_torrent(&r->paths, r->m, SEED_TORRENT_MAX, &r->tbuf, &r->tlen, r->msg, sizeof r->msg) != SW_OK)
    goto out;
  r->refused = 0;
out:
  free(v);
  sw_dir_close(&md);
  free(rel.manifest);
  free(rel.sig);
}

static void scan_done(uv_work_t *w, int status) {
  seed_rel *r = w->data;
  seed_prod *p = r->p;
  char msg[SW_MSG_MAX];
  (void)status;
  p->busy--;
  if (p->dead || p->sd->closing) {
    sw__seed_rel_free(r);
    if (p->dead && p->busy == 0) sw__seed_prod_free(p);
    return;
  }
  if (r->refused == 1)
    sw__seed_log(p->sd, "refused", p, r->seq, "not seeding the release found in the store: %s", r->msg);
  if (r->refused || sw__seed_prod_find(p, r->seq) || p->n_rel >= SEED_REL_MAX) {
    sw__seed_rel_free(r);
    return;
  }
  if (sw__seed_rel_add_seed(r, msg, sizeof msg) != SW_OK) {
    sw__seed_log(p->sd, "refused", p, r->seq, "not seeding the release found in the store: %s", msg);
    sw__seed_rel_free(r);
    return;
  }
  p->rel[p->n_rel++] = r;
  sw__seed_log(p->sd, "seeding", p, r->seq, "seeding %s (verified earlier)", r->m->file);
  sw__seed_prod_prune(p);
}

void sw__seed_prod_scan_store(seed_prod *p) {
  const char *names[4] = {p->o.product, p->o.channel, "store", NULL};
  char msg[SW_MSG_MAX];
  sw_dir sd;
  DIR *d;
  struct dirent *e;
  int fd;
  if (sw_dir_open_chain(&sd, &p->sd->root, names, 0, msg, sizeof msg) != SW_OK) {
    sw__seed_log(p->sd, "refused", p, 0, "not seeding from the store: %s", msg);
    return;
  }
  if (sd.fd < 0) return;
  fd = sd.fd; /* fdopendir takes it */
  sd.fd = -1;
  d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return;
  }
  while ((e = readdir(d)) != NULL) {
    char *end = NULL;
    uint64_t seq;
    seed_rel *r;
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    seq = strtoull(e->d_name, &end, 10);
    if (end == NULL || *end) continue;
    r = sw__seed_rel_new(p, seq);
    if (r == NULL) break;
    r->work.data = r;
    if (uv_queue_work(&p->sd->loop, &r->work, scan_work, scan_done) != 0) {
      sw__seed_rel_free(r);
      break;
    }
    p->busy++;
  }
  closedir(d);
}
