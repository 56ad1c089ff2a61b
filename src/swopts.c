#include "swopts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sw__port_ok(const char *s, size_t n) {
  unsigned long v = 0;
  if (n == 0 || n > 5) return 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (unsigned long)(s[i] - '0');
  }
  return v <= 65535;
}

sw_err sw_swarm_opts_to_settings(const sw_opts *o, sw_swarm_settings *s, char *msg, size_t msglen) {
  static char listen[512];
  sw_swarm_settings_init(s);
  if (o->listen) {
    const char *l = o->listen;
    size_t n = strlen(l);
    if (n >= 200) return sw_fail(SW_ERR_USAGE, msg, msglen, "--listen is too long");
    if (sw__port_ok(l, n)) {
      snprintf(listen, sizeof listen, "0.0.0.0:%s,[::]:%s", l, l);
    } else {
      /* ADDR:PORT[,ADDR:PORT...]: numeric addresses only, each with a port. */
      const char *p = l;
      while (*p) {
        const char *e = strchr(p, ','), *c;
        size_t len = e ? (size_t)(e - p) : strlen(p);
        for (size_t i = 0; i < len; i++)
          if (!strchr("0123456789abcdefABCDEF.:[]", p[i]))
            return sw_fail(SW_ERR_USAGE, msg, msglen, "--listen: \"%.60s\" is not PORT or ADDR:PORT", l);
        c = NULL;
        for (size_t i = 0; i < len; i++)
          if (p[i] == ':') c = p + i;
        if (c == NULL || !sw__port_ok(c + 1, (size_t)(p + len - c - 1)) || c == p)
          return sw_fail(SW_ERR_USAGE, msg, msglen, "--listen: \"%.60s\" is not PORT or ADDR:PORT", l);
        p += len;
        if (*p == ',') p++;
      }
      snprintf(listen, sizeof listen, "%s", l);
    }
    s->listen_interfaces = listen;
  }
  s->enable_dht = !o->no_dht;
  s->dht_bootstrap = !o->no_dht_bootstrap;
  s->enable_lsd = !o->no_lsd;
  s->enable_utp = !o->no_utp;
  s->enable_upnp = o->upnp;
  s->enable_natpmp = o->natpmp;
  if (!strcmp(o->encryption, "enabled")) s->encryption = SW_SWARM_ENC_ENABLED;
  else if (!strcmp(o->encryption, "forced")) s->encryption = SW_SWARM_ENC_FORCED;
  else if (!strcmp(o->encryption, "disabled")) s->encryption = SW_SWARM_ENC_DISABLED;
  else return sw_fail(SW_ERR_USAGE, msg, msglen, "--encryption must be enabled, forced or disabled");
  /* libtorrent's pread/pwrite disk I/O, not its memory-mapped one: measured
   * again for issue 12 (docs/bench-swarm.md), as fast within the noise from 1
   * and 3 seeders, with a third less private memory (62-65 MiB, not 94-133, with
   * 3 seeders) and no file pages in RSS (80 MiB, not 600); a full disk is an
   * I/O error, not a SIGBUS under a mapping. fetch's streaming gate depends
   * on it: it reads the pieces libtorrent verified from the file, which only this
   * back-end writes before it hashes them (docs/torrent.md). */
  s->posix_disk_io = 1;
  s->upload_rate_limit = (int)(o->upload_limit * 1024);
  s->download_rate_limit = (int)(o->download_limit * 1024);
  return SW_OK;
}
