/* swarmup fetch: seeding the verified copy after the install. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fetch_int.h"

void sw__fetch_start_seeding(fetch *f) {
  char msg[SW_MSG_MAX];
  if (f->o.seed_time == 0 || f->sw.swarm == NULL) {
    if (f->sw.swarm == NULL && f->o.seed_time && !f->o.no_swarm)
      sw__fetch_event(f, "done", "not seeding: no swarm session");
    sw__fetch_shutdown(f);
    return;
  }
  if (f->sw.t == NULL) {
    /* File mode: seed the verified file if we hold its (verified) torrent. */
    uint8_t *tb = NULL;
    size_t tl = 0;
    sw_swarm_seed sd;
    const char *tr[SW_MAGNET_TR_MAX];
    if (!f->torrent_file_ok ||
        sw_store_read_torrent(&f->paths, f->r.m, SW_TORRENT_FILE_MAX, &tb, &tl, msg, sizeof msg) != SW_OK) {
      if (f->torrent_file_ok) sw__fetch_event(f, "done", "not seeding: %s", msg);
      else if (f->https.torrent_why[0])
        sw__fetch_event(f, "done", "not seeding: no torrent file for this release (Torrent URL: %s)", f->https.torrent_why);
      else sw__fetch_event(f, "done", "not seeding: no torrent file for this release");
      sw__fetch_shutdown(f);
      return;
    }
    memset(&sd, 0, sizeof sd);
    for (size_t i = 0; i < f->r.m->magnet.n_tr; i++) tr[i] = f->r.m->magnet.tr[i];
    sd.torrent = tb;
    sd.torrent_len = tl;
    sd.save_dir = f->paths.dir;
    sd.trackers = tr;
    sd.n_trackers = f->r.m->magnet.n_tr;
    if (sw_swarm_add_seed(f->sw.swarm, &sd, &f->sw.t, msg, sizeof msg) != SW_OK) {
      free(tb);
      sw__fetch_event(f, "done", "not seeding: %s", msg);
      sw__fetch_shutdown(f);
      return;
    }
    free(tb);
  }
  f->phase = PH_SEED;
  f->sw.t_seed = sw__fetch_now_ms(f);
  f->sw.seed_up_base = f->sw.last.total_payload_upload;
  {
    /* Say plainly what happens now and how to stop it: a user of apt or curl
     * does not expect the command to go on after the install (docs/fetch-sources.md). */
    char dur[32];
    uint64_t s = f->o.seed_time;
    if (s % 3600 == 0) snprintf(dur, sizeof dur, "%" PRIu64 " h", s / 3600);
    else if (s % 60 == 0) snprintf(dur, sizeof dur, "%" PRIu64 " min", s / 60);
    else snprintf(dur, sizeof dur, "%" PRIu64 " s", s);
    sw__fetch_event(f, "seeding",
                    "installed; now sharing it with other clients for up to %s%s on port %d (DHT %s): "
                    "Ctrl-C stops sharing (the install is done), --seed-time 0 skips it",
                    dur, f->o.seed_ratio > 0 ? " or until the ratio is reached" : "",
                    sw_swarm_listen_port(f->sw.swarm), f->o.no_dht ? "off" : "on");
  }
}

/* The 1 s tick while seeding: stop at the seed time or ratio. */
void sw__fetch_seed_tick(fetch *f, uint64_t now) {
  uint64_t up = f->sw.last.total_payload_upload - f->sw.seed_up_base;
  if (now - f->sw.t_seed >= f->o.seed_time * 1000) {
    sw__fetch_event(f, "done", "seed time reached");
    sw__fetch_shutdown(f);
  } else if (f->o.seed_ratio > 0 && (double)up >= f->o.seed_ratio * (double)f->r.m->size) {
    sw__fetch_event(f, "done", "seed ratio %.2f reached", f->o.seed_ratio);
    sw__fetch_shutdown(f);
  }
}
