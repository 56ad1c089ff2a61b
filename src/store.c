#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

sw_err sw_store_paths_for(const char *state_dir, const sw_manifest *m, sw_store_paths *p, char *msg, size_t msglen) {
  memset(p, 0, sizeof *p);
  if (!sw_manifest_name_ok(m->product, strlen(m->product)) || !sw_manifest_name_ok(m->channel, strlen(m->channel)) ||
      !sw_manifest_file_ok(m->file, strlen(m->file)))
    return sw_fail(SW_ERR_INTERNAL, msg, msglen, "unchecked name reached the store");
  if ((size_t)snprintf(p->dir, sizeof p->dir, "%s/%s/%s/store/%" PRIu64, state_dir, m->product, m->channel,
                       m->sequence) >= sizeof p->dir)
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "state dir path too long");
  snprintf(p->file, sizeof p->file, "%s/%s", p->dir, m->file);
  snprintf(p->torrent, sizeof p->torrent, "%s/%s.torrent", p->dir, m->file);
  snprintf(p->resume, sizeof p->resume, "%s/resume.dat", p->dir);
  snprintf(p->verified, sizeof p->verified, "%s/verified", p->dir);
  return SW_OK;
}

sw_err sw_store_prepare(const sw_store_paths *p, char *msg, size_t msglen) {
  return sw_fs_mkdirs(p->dir, 0700, msg, msglen);
}

static int sw__marker(const sw_manifest *m, char *out, size_t cap) {
  char sha[65];
  sw_hex(m->sha256, 32, sha);
  return snprintf(out, cap, "verified %s %" PRIu64 " %s\n", sha, m->size, m->file);
}

sw_err sw_store_mark_verified(const sw_store_paths *p, const sw_manifest *m, char *msg, size_t msglen) {
  char text[512];
  int n = sw__marker(m, text, sizeof text);
  return sw_fs_write_atomic(p->dir, "verified", (const uint8_t *)text, (size_t)n, 0600, msg, msglen);
}

int sw_store_is_verified(const sw_store_paths *p, const sw_manifest *m) {
  char want[512];
  uint8_t *buf = NULL;
  size_t len = 0;
  int n = sw__marker(m, want, sizeof want), ok;
  if (sw_fs_read_file(p->verified, 1024, SW_ERR_IO, &buf, &len, NULL, 0) != SW_OK) return 0;
  ok = len == (size_t)n && memcmp(buf, want, len) == 0;
  free(buf);
  return ok;
}

void sw_store_discard(const sw_store_paths *p) {
  unlink(p->verified);
  unlink(p->file);
  unlink(p->resume);
}

void sw_store_remove(const sw_store_paths *p) {
  sw_store_discard(p);
  unlink(p->torrent);
  rmdir(p->dir);
}
