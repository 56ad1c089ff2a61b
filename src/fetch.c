/* swarmup fetch: manifest -> swarm -> HTTPS fallback -> payload gate ->
 * atomic install -> --exec hook -> seeding, on one libuv loop. The gate runs
 * on libuv's thread pool; everything else runs on the loop thread.
 *
 * Where bytes live: downloads go into the release's store directory under the
 * state dir (STATE/<product>/<channel>/store/<sequence>/), never into --out.
 * The gate reads the store copy once, and the very bytes it checks are written
 * into an unnamed file in --out (install.h) that gets its name only after the
 * gate accepted them. The store copy stays for seeding, marked verified.
 *
 * The swarm and HTTPS download at once under a scheduler (scheduler.h,
 * fetch_sched.c; docs/fetch-sources.md): the swarm gets a head start
 * (--http-delay), HTTPS joins at once when no peer connected within a second
 * (a silent firewall), early when the swarm is too slow for the head start,
 * never when it finishes within it. The old reasons to give the swarm up (no
 * metadata or no peer within --swarm-timeout, less than --stall-rate over the
 * last --stall-timeout, every magnet peer and tracker failed) still end the
 * swarm's turn before HTTPS joined. HTTPS then works:
 *  - in pieces mode, when the swarm's torrent has its metadata (from a peer or
 *    the Torrent URL's .torrent): runs of pieces nobody has, from the end
 *    backwards, fetched with Range requests and handed to libtorrent
 *    (add_piece), which checks each against the v1 and v2 piece hashes before
 *    writing it; the result is a normal, seedable torrent;
 *  - in file mode, without metadata (and no Torrent URL), or when the swarm was
 *    given up having delivered nothing, or --no-swarm: the file is
 *    fetched into STORE/<File>.part (resumed with a Range request after an
 *    interruption, only from the URL that delivered it: STORE/part-source) and
 *    renamed into place when complete.
 * Either way the whole file then goes through the same payload gate. Each
 * Fallback URL is tried at most once a run: one that fails, misses its
 * deadline or delivers rejected bytes is not asked again, rejected bytes are
 * deleted, and the next URL goes on in the same run; the final error lists
 * every source tried and why it failed.
 *
 * This file: the command: --help, the options, the manifest (authentic, fresh,
 * or already installed: "up to date"), the store and the room on its disk;
 * then the update machine runs (fetch_machine.c draws its phases) and its
 * result is reported. Each concern is in its own fetch_*.c (fetch_int.h). */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fetch_int.h"
#include "fsutil.h"
#include "out.h"

static void fetch_help(void) {
  printf("usage: swarmup fetch --manifest SRC (--trusted-key FILE | --trusted-keys FILE [--keys-url BASE])\n"
         "                     --product NAME --out DIR [options]\n\n"
         "Verify the manifest (as `swarmup check`), download the release into the state\n"
         "dir from the swarm and, after the swarm's head start (--http-delay) or at once\n"
         "when no peer connects, from HTTPS (the manifest's Fallback URLs) at the same\n"
         "time, each piece from one source (see --http-delay, --prefer-swarm);\n"
         "check size, SHA-256 and signature (the payload gate), put the file into DIR\n"
         "atomically, run --exec, then keep seeding the verified copy until the seed time\n"
         "or ratio is reached, or SIGINT/SIGTERM. DIR never holds a partial or unverified\n"
         "file. An interrupted download resumes on the next run.\n\n"
         "options:\n");
  sw_opts_print_help(SW_CMD_FETCH, stdout);
  printf("\nexit status: 0 installed (or already up to date), 2 usage or configuration\n"
         "(an unsafe state dir or --out included),\n"
         "3 manifest or key statement rejected, 4 download failed on every source, 5 payload rejected,\n"
         "6 stale (no fresh manifest since the last successful check), 7 the clock is\n"
         "behind the latest known time, 1 other failure (an interrupted download, a\n"
         "failed --exec command).\n");
}

static sw_err fetch_prepare(fetch *f, int argc, char **argv, char *statedir, char *msg, size_t msglen, int *done) {
  sw_fresh fresh = SW_FRESH_REJECTED;
  sw_err err;
  *done = 0;
  err = sw_opts_parse(SW_CMD_FETCH, argc, argv, &f->o, msg, msglen);
  if (err) return err;
  if (f->o.help) {
    fetch_help();
    *done = 1;
    return SW_OK;
  }
  if (f->o.n_args) return sw_fail(SW_ERR_USAGE, msg, msglen, "unexpected argument \"%.60s\"", f->o.args[0]);
  err = sw__cmd_check_names(&f->o, msg, msglen);
  if (err) return err;
  if (f->o.out == NULL) return sw_fail(SW_ERR_USAGE, msg, msglen, "--out is required");
  /* --out is made and checked (ours, nobody else can write it) before any download. */
  err = sw_install_open(&f->inst, f->o.out, msg, msglen);
  if (err) return err;
  if (f->o.no_swarm && f->o.no_fallback)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "--no-swarm and --no-fallback leave no source");
  if (f->o.state_dir == NULL) {
    if (sw_state_default_dir(statedir, 2048) != SW_OK)
      return sw_fail(SW_ERR_CONFIG, msg, msglen, "no state dir: set --state-dir or HOME");
    f->o.state_dir = statedir;
  }
  /* 1. the manifest: authentic, well-formed, for us, fresh */
  err = sw_release_open_keys(&f->o, &f->pgp, msg, msglen);
  if (err) return err;
  /* Read over the run's HTTPS client: the origin's TLS connection is then
   * open when the payload's first Range request goes out (fetch_int.h). */
  err = sw__fetch_open_loop(f, msg, msglen);
  if (err) return err;
  err = sw_release_load_on(f->https.http, &f->o, f->pgp, &f->r, msg, msglen);
  if (f->o.no_fallback) {
    /* No HTTPS follows: the connection to the origin is not held open while
     * the swarm downloads and seeds, and the machine runs without a client. */
    sw_http_free(f->https.http);
    f->https.http = NULL;
  }
  if (err) return sw_release_unavailable(&f->o, &f->st, &f->rec, err, msg, msglen); /* stale? */
  err = sw_state_open(&f->st, f->o.state_dir, msg, msglen);
  if (err) return err;
  err = sw_release_check_fresh(&f->o, f->st, &f->r, &fresh, &f->rec, msg, msglen);
  if (err) return err;
  if (fresh == SW_FRESH_NEWER) {
    err = sw_release_record(f->st, &f->r, &f->rec, msg, msglen);
    if (err) return err;
  }
  if ((size_t)snprintf(f->out_path, sizeof f->out_path, "%s/%s", f->inst.dir, f->r.m->file) >= sizeof f->out_path)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "--out path too long");
  if (f->rec.installed_sequence == f->r.m->sequence) {
    /* Installed before: up to date if --out still holds exactly that release. */
    sw_gate_verdict *v = calloc(1, sizeof *v);
    int same = v && sw_gate_check_path(f->pgp, f->r.m, f->out_path, (unsigned)f->o.threshold, v) == SW_OK && v->accepted;
    free(v);
    if (same) {
      /* A successful check: note it (a newer manifest was recorded above). */
      if (fresh != SW_FRESH_NEWER) sw_release_note_saved(f->st, &f->o, &f->rec, "fetch");
      if (f->o.json) {
        sw_json j;
        sw_json_begin(&j, stdout);
        sw_json_str(&j, "event", "up-to-date");
        sw_json_str(&j, "path", f->out_path);
        sw_json_str(&j, "version", f->r.m->version);
        sw_json_u64(&j, "sequence", f->r.m->sequence);
        sw_json_end(&j);
      } else {
        printf("up to date: %s is %s %s (sequence %" PRIu64 ")\n", f->out_path, f->r.m->product, f->r.m->version,
               f->r.m->sequence);
      }
      *done = 1;
      return SW_OK;
    }
  }
  if (f->o.json) {
    /* Where a run's first seconds went: the manifest, its signature and its
     * check against the trusted keys take this long before any download. */
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", "manifest");
    sw_json_str(&j, "product", f->r.m->product);
    sw_json_str(&j, "version", f->r.m->version);
    sw_json_u64(&j, "sequence", f->r.m->sequence);
    sw_json_str(&j, "file", f->r.m->file);
    sw_json_u64(&j, "size", f->r.m->size);
    sw_json_u64(&j, "elapsed_ms", (uv_hrtime() - f->t_cmd_ns) / 1000000u);
    sw_json_u64(&j, "verify_ms", f->r.verify_ms);
    sw_json_end(&j);
  } else if (!f->o.no_progress && !f->o.quiet) {
    fprintf(stderr, "manifest ok: %s %s (sequence %" PRIu64 "), %s, %" PRIu64 " bytes\n", f->r.m->product,
            f->r.m->version, f->r.m->sequence, f->r.m->file, f->r.m->size);
  }
  err = sw_store_open(sw_state_root(f->st), f->r.m, 1, &f->paths, msg, msglen);
  if (err) return err;
  snprintf(f->https.part_path, sizeof f->https.part_path, "%s", f->paths.part);
  {
    /* The download goes into the store through memory-mapped files: a disk
     * that fills up under a mapping is a crash in libtorrent (SIGBUS), not an
     * error. So check the room first (what is already there counts). */
    struct statvfs vfs;
    struct stat st;
    uint64_t have = 0, need, room;
    if (fstatat(f->paths.d.fd, f->paths.file_name, &st, AT_SYMLINK_NOFOLLOW) == 0) have = (uint64_t)st.st_blocks * 512u;
    if (fstatat(f->paths.d.fd, f->paths.part_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (uint64_t)st.st_blocks * 512u > have)
      have = (uint64_t)st.st_blocks * 512u;
    need = f->r.m->size > have ? f->r.m->size - have : 0;
    /* HTTPS alone writes with pwrite: a full disk is a plain error there. */
    if (!f->o.no_swarm && statvfs(f->paths.dir, &vfs) == 0) {
      room = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
      if (room < need)
        return sw_fail(SW_ERR_IO, msg, msglen,
                       "not enough room in %.300s for the download: %" PRIu64 " bytes needed, %" PRIu64
                       " free (No space left on device)",
                       f->paths.dir, need, room);
    }
  }
  return SW_OK;
}

int sw_cmd_fetch(int argc, char **argv) {
  fetch *f = calloc(1, sizeof *f);
  char msg[SW_FETCH_MSG_MAX] = "", statedir[2048];
  sw_err err = SW_OK;
  int rc = 1, done = 0;

  if (f == NULL) return sw_report_error(0, "fetch", SW_ERR_NOMEM, "out of memory");
  f->t_cmd_ns = uv_hrtime();
  f->rep.tty = isatty(2);
  f->https.part_fd = -1;
  sw_dir_init(&f->paths.d);
  sw_dir_init(&f->paths.store);
  sw_install_init(&f->inst);
  err = fetch_prepare(f, argc, argv, statedir, msg, sizeof msg, &done);
  if (err) goto fail;
  if (done) {
    rc = 0;
    goto out;
  }
  /* 2. the update machine: download, gate, install, hook, seed (fetch_machine.c) */
  err = sw__fetch_run(f, msg, sizeof msg);
  if (err) goto fail;
  rc = 0;
  goto out;
fail:
  if (err == SW_ERR_STALE) rc = sw__report_stale("fetch", &f->o, &f->rec, msg);
  else rc = sw_report_error(f->o.json, "fetch", err, msg);
out:
  sw__fetch_close(f); /* the loop and the machine's buffers */
  sw_install_close(&f->inst);
  sw_store_close(&f->paths);
  sw_state_close(f->st);
  sw_release_free(&f->r);
  sw_pgp_free(f->pgp);
  sw_opts_free(&f->o);
  free(f);
  return rc;
}
