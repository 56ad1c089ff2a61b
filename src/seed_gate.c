/* swarmup seed: a release's payload gate on libuv's thread pool (the download
 * in the store, or the --from copy written into the store as it is checked),
 * then the release seeded, or rejected and removed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "fsutil.h"
#include "seed_int.h"

/* The --from copy (thread pool): FILE itself, or with a directory (the --out
 * of a `swarmup fetch`, e.g. the root client's on the same machine) the
 * accepted manifest's File inside it, a plain name checked by the parser and
 * the store, never through a symlink, and only a regular file. The gate
 * decides about the bytes; the directory is only read, whoever owns it.
 * Returns the fd, or -1 with errno. */
static int adopt_open(const seed_rel *r) {
  struct stat st;
  int dir = -1, fd = open(r->p->o.from, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    dir = fd;
    fd = openat(dir, r->m->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    close(dir);
  }
  if (fd < 0) return -1;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

static void gate_work(uv_work_t *w) {
  seed_rel *r = w->data;
  int in = -1, out = -1;
  r->work_err = SW_OK;
  if (r->adopted) {
    /* --from: the gate reads the operator's copy and writes the checked bytes into the store. */
    in = adopt_open(r);
    /* A fresh file, never through whatever is at that name. */
    unlinkat(r->paths.d.fd, r->paths.file_name, 0);
    out = sw_store_openat(&r->paths, r->paths.file_name, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (in < 0 || out < 0) {
      r->work_err = SW_ERR_IO;
      snprintf(r->gv->reason, sizeof r->gv->reason, "%.300s: %s", in < 0 ? r->p->o.from : r->paths.file,
               strerror(errno));
      goto out;
    }
    r->work_err = sw_gate_check_fd_copy(r->p->pgp, r->m, in, out, (unsigned)r->p->o.threshold, r->gv);
    if (r->work_err == SW_OK && r->gv->accepted && fsync(out) != 0) {
      r->work_err = SW_ERR_IO;
      snprintf(r->gv->reason, sizeof r->gv->reason, "fsync: %s", strerror(errno));
    }
    if (r->work_err == SW_OK && r->gv->accepted) {
      /* Rebuild the torrent from the file; use it only if it is the signed one. */
      char tmp[2800];
      sw_swarm_make_opts mo;
      sw_swarm_made made;
      char hex[65];
      snprintf(tmp, sizeof tmp, "%s.new", r->paths.torrent);
      memset(&mo, 0, sizeof mo);
      mo.file_path = r->paths.file;
      mo.torrent_path = tmp;
      mo.name = r->m->file;
      sw_hex(r->m->magnet.btmh, 32, hex);
      if (sw_swarm_make_torrent(&mo, &made, r->msg, sizeof r->msg) == SW_OK && strcmp(made.btmh_hex, hex) == 0 &&
          renameat(r->paths.d.fd, strrchr(tmp, '/') + 1, r->paths.d.fd, r->paths.torrent_name) == 0)
        r->torrent_ok = 1;
      else unlinkat(r->paths.d.fd, strrchr(tmp, '/') + 1, 0);
    }
  } else {
    in = sw_store_openat(&r->paths, r->paths.file_name, O_RDONLY, 0);
    if (in < 0) {
      r->work_err = SW_ERR_IO;
      snprintf(r->gv->reason, sizeof r->gv->reason, "%.300s: %s", r->paths.file, strerror(errno));
      goto out;
    }
    r->work_err = sw_gate_check_fd(r->p->pgp, r->m, in, (unsigned)r->p->o.threshold, r->gv);
  }
out:
  if (in >= 0) close(in);
  if (out >= 0) close(out);
}

static void gate_done(uv_work_t *w, int status) {
  seed_rel *r = w->data;
  seed_prod *p = r->p;
  char msg[SW_MSG_MAX];
  (void)status;
  p->busy--;
  if (p->dead || p->sd->closing) {
    if (p->dead && p->busy == 0) sw__seed_prod_free(p);
    return;
  }
  if (r->work_err != SW_OK || !r->gv->accepted) {
    sw__seed_log(p->sd, "rejected", p, r->seq, "%s: %s",
                 r->work_err ? "could not check the payload" : "payload rejected", r->gv->reason);
    sw__seed_prod_remove_rel(p, r, 1); /* bad bytes are never seeded, nor kept */
    return;
  }
  if (sw_store_mark_verified(&r->paths, r->m, msg, sizeof msg) != SW_OK) {
    sw__seed_log(p->sd, "error", p, r->seq, "cannot record the verified release: %s", msg);
    sw__seed_prod_remove_rel(p, r, 0);
    return;
  }
  sw__seed_log(p->sd, "verified", p, r->seq, "%s %s passed the gate", r->m->file, r->m->version);
  if (r->adopted) {
    if (r->torrent_ok && sw__seed_rel_add_seed(r, msg, sizeof msg) == SW_OK) {
      sw__seed_log(p->sd, "seeding", p, r->seq, "seeding %s (adopted from %s)", r->m->file, p->o.from);
    } else {
      /* The rebuilt torrent is not the signed one (other piece size or tool):
       * join the swarm by magnet; the complete file is checked and seeded
       * once a peer gives the metadata. */
      r->state = REL_DOWNLOADING;
      sw__seed_start_download(r);
    }
  } else {
    r->state = REL_SEEDING;
    if (r->t && sw_swarm_write_torrent(r->t, r->paths.torrent, msg, sizeof msg) != SW_OK)
      sw__seed_log(p->sd, "warning", p, r->seq, "could not keep the torrent file: %s", msg);
    sw__seed_log(p->sd, "seeding", p, r->seq, "seeding %s", r->m->file);
  }
  sw__seed_prod_prune(p);
}

void sw__seed_start_gate(seed_rel *r) {
  r->state = REL_GATING;
  if (r->gv == NULL) r->gv = calloc(1, sizeof *r->gv);
  r->work.data = r;
  if (r->gv == NULL || uv_queue_work(&r->p->sd->loop, &r->work, gate_work, gate_done) != 0) {
    sw__seed_log(r->p->sd, "error", r->p, r->seq, "cannot start the payload gate");
    sw__seed_prod_remove_rel(r->p, r, 0);
    return;
  }
  r->p->busy++;
}
