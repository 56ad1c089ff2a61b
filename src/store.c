#include "store.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "swarm.h"

sw_err sw_store_paths_for(const char *state_dir, const sw_manifest *m, sw_store_paths *p, char *msg, size_t msglen) {
  memset(p, 0, sizeof *p);
  sw_dir_init(&p->d);
  sw_dir_init(&p->store);
  if (!sw_manifest_name_ok(m->product, strlen(m->product)) || !sw_manifest_name_ok(m->channel, strlen(m->channel)) ||
      !sw_manifest_file_ok(m->file, strlen(m->file)))
    return sw_fail(SW_ERR_INTERNAL, msg, msglen, "unchecked name reached the store");
  if ((size_t)snprintf(p->dir, sizeof p->dir, "%s/%s/%s/store/%" PRIu64, state_dir, m->product, m->channel,
                       m->sequence) >= sizeof p->dir)
    return sw_fail(SW_ERR_CONFIG, msg, msglen, "state dir path too long");
  snprintf(p->file, sizeof p->file, "%s/%s", p->dir, m->file);
  snprintf(p->torrent, sizeof p->torrent, "%s/%s.torrent", p->dir, m->file);
  snprintf(p->part, sizeof p->part, "%s/%s.part", p->dir, m->file);
  snprintf(p->resume, sizeof p->resume, "%s/resume.dat", p->dir);
  snprintf(p->verified, sizeof p->verified, "%s/verified", p->dir);
  snprintf(p->file_name, sizeof p->file_name, "%s", m->file);
  snprintf(p->torrent_name, sizeof p->torrent_name, "%s.torrent", m->file);
  snprintf(p->part_name, sizeof p->part_name, "%s.part", m->file);
  return SW_OK;
}

sw_err sw_store_open(const sw_dir *root, const sw_manifest *m, int create, sw_store_paths *p, char *msg,
                     size_t msglen) {
  char seq[24];
  const char *names[4];
  sw_err err = sw_store_paths_for(root->path, m, p, msg, msglen);
  if (err) return err;
  names[0] = m->product;
  names[1] = m->channel;
  names[2] = "store";
  names[3] = NULL;
  err = sw_dir_open_chain(&p->store, root, names, create, msg, msglen);
  if (err || p->store.fd < 0) return err;
  snprintf(seq, sizeof seq, "%" PRIu64, m->sequence);
  err = sw_dir_open_sub(&p->d, &p->store, seq, create, msg, msglen);
  if (err) sw_store_close(p);
  return err;
}

void sw_store_close(sw_store_paths *p) {
  sw_dir_close(&p->d);
  sw_dir_close(&p->store);
}

static int sw__marker(const sw_manifest *m, char *out, size_t cap) {
  char sha[65];
  sw_hex(m->sha256, 32, sha);
  return snprintf(out, cap, "verified %s %" PRIu64 " %s\n", sha, m->size, m->file);
}

sw_err sw_store_mark_verified(const sw_store_paths *p, const sw_manifest *m, char *msg, size_t msglen) {
  char text[512];
  int n = sw__marker(m, text, sizeof text);
  return sw_store_write(p, "verified", (const uint8_t *)text, (size_t)n, msg, msglen);
}

int sw_store_is_verified(const sw_store_paths *p, const sw_manifest *m) {
  char want[512];
  uint8_t *buf = NULL;
  size_t len = 0;
  int n = sw__marker(m, want, sizeof want), ok;
  if (sw_store_read(p, "verified", 1024, &buf, &len, NULL, 0) != SW_OK) return 0;
  ok = len == (size_t)n && memcmp(buf, want, len) == 0;
  free(buf);
  return ok;
}

int sw_store_has(const sw_store_paths *p, const char *name) { return sw_dir_has_file(&p->d, name); }

sw_err sw_store_read(const sw_store_paths *p, const char *name, size_t max, uint8_t **buf, size_t *len, char *msg,
                     size_t msglen) {
  *buf = NULL;
  *len = 0;
  if (p->d.fd < 0) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "store %s is not open", p->dir);
  return sw_fs_read_at(p->d.fd, p->dir, name, max, SW_ERR_IO, buf, len, msg, msglen);
}

sw_err sw_store_write(const sw_store_paths *p, const char *name, const uint8_t *buf, size_t len, char *msg,
                      size_t msglen) {
  if (p->d.fd < 0) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "store %s is not open", p->dir);
  return sw_fs_write_atomic_at(p->d.fd, p->dir, name, buf, len, 0600, msg, msglen);
}

int sw_store_openat(const sw_store_paths *p, const char *name, int flags, unsigned mode) {
  return sw_dir_openat(&p->d, name, flags, mode);
}

sw_err sw_store_read_torrent(const sw_store_paths *p, const sw_manifest *m, size_t max, uint8_t **buf, size_t *len,
                             char *msg, size_t msglen) {
  char name[SW_FILE_MAX + 1], hex[65], inner[SW_MSG_MAX];
  sw_swarm_made made;
  sw_err err = sw_store_read(p, p->torrent_name, max, buf, len, msg, msglen);
  if (err) return err;
  sw_hex(m->magnet.btmh, 32, hex);
  /* What the store holds is checked against the signed manifest every time:
   * the file may have been put there by anything that could write it. */
  if (sw_swarm_torrent_info(*buf, *len, &made, name, sizeof name, inner, sizeof inner) != SW_OK)
    err = sw_fail(SW_ERR_TORRENT_MISMATCH, msg, msglen, "stored torrent %s does not decode: %s", p->torrent, inner);
  else if (strcmp(made.btmh_hex, hex) != 0)
    err = sw_fail(SW_ERR_TORRENT_MISMATCH, msg, msglen,
                  "stored torrent %s has v2 info-hash %s, which does not match the manifest's btmh %s", p->torrent,
                  made.btmh_hex, hex);
  else if (strcmp(name, m->file) != 0 || made.size != m->size)
    err = sw_fail(SW_ERR_TORRENT_MISMATCH, msg, msglen, "stored torrent %s is not for %s of %" PRIu64 " bytes",
                  p->torrent, m->file, m->size);
  if (err) {
    free(*buf);
    *buf = NULL;
    *len = 0;
  }
  return err;
}

void sw_store_discard(const sw_store_paths *p) {
  if (p->d.fd < 0) return;
  unlinkat(p->d.fd, "verified", 0);
  unlinkat(p->d.fd, p->file_name, 0);
  unlinkat(p->d.fd, "resume.dat", 0);
}

void sw_store_remove(const sw_store_paths *p) {
  const char *seq;
  sw_store_discard(p);
  if (p->d.fd < 0) return;
  unlinkat(p->d.fd, p->torrent_name, 0);
  unlinkat(p->d.fd, p->part_name, 0);
  seq = strrchr(p->dir, '/');
  if (p->store.fd >= 0 && seq) unlinkat(p->store.fd, seq + 1, AT_REMOVEDIR);
}
