/* pubkeys_stmt.c - key statement text for `swarmup-publish keys`
 * (pubkeys.h): written from an sw_keys and parsed back with sw_keys_parse
 * before it is accepted, so that nothing leaves this tool that the client
 * would refuse as malformed; statement files read and saved. */
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "manifest.h"
#include "pubkeys.h"
#include "pubutil.h"

/* Text of statement k (its Keyring already in k) with floor_text (may be
 * empty), checked by parsing it back: what this writes, the client reads the
 * same. Returns 0 and the length in *len. */
int sw__pub_keys_build(const sw_keys *k, const char *floor_text, char *text, size_t cap, size_t *len) {
  char date[21], expires[21], msg[SW_MSG_MAX];
  char *b64 = NULL;
  sw_keys *back = NULL;
  size_t n = 0;
  int rc = 1;
  sw_err err;
  b64 = malloc(SW__PUB_KEYS_B64_MAX);
  back = calloc(1, sizeof *back);
  if (b64 == NULL || back == NULL) {
    rc = sw__pub_die(1, "out of memory");
    goto out;
  }
  EVP_EncodeBlock((unsigned char *)b64, k->keyring, (int)k->keyring_len);
  sw_manifest_format_time(k->date, date);
  sw_manifest_format_time(k->expires, expires);
#define ADD(...)                                                        \
  do {                                                                  \
    if (n < cap) n += (size_t)snprintf(text + n, cap - n, __VA_ARGS__); \
  } while (0)
  ADD("Format: swarmup-keys/1\nProduct: %s\nVersion: %" PRIu64 "\nDate: %s\nExpires: %s\nThreshold: %u\n",
      k->product, k->version, date, expires, k->threshold);
  for (size_t i = 0; i < k->n_key; i++) ADD("Key: %s\n", k->key[i]);
  for (size_t i = 0; i < k->n_next; i++) ADD("Next: %s\n", k->next[i]);
  if (k->n_next) ADD("Next-Threshold: %u\n", k->next_threshold);
  if (floor_text[0]) ADD("Sequence-Floor: %s\n", floor_text);
  ADD("Keyring: %s\n", b64);
#undef ADD
  if (n >= cap || n > SW_KEYS_STMT_MAX) {
    rc = sw__pub_die(2, "the statement would exceed %u bytes (too many or too large keys)", SW_KEYS_STMT_MAX);
    goto out;
  }
  err = sw_keys_parse((const uint8_t *)text, n, back, msg, sizeof msg);
  if (err) {
    rc = sw__pub_die(2, "the statement would be rejected: %s", msg);
    goto out;
  }
  if (back->version != k->version || back->n_key != k->n_key || back->n_next != k->n_next ||
      back->keyring_len != k->keyring_len || memcmp(back->keyring, k->keyring, k->keyring_len) != 0) {
    rc = sw__pub_die(1, "the statement does not read back as written (bug)");
    goto out;
  }
  *len = n;
  rc = 0;
out:
  free(b64);
  free(back);
  return rc;
}

/* Write text to dir/name, never over an existing statement (a signed one may
 * already be published under that name). */
int sw__pub_keys_save(const char *dir, const char *name, const char *text, size_t len) {
  char path[4200], msg[SW_MSG_MAX];
  struct stat st;
  sw_err err;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (lstat(path, &st) == 0)
    return sw__pub_die(1, "%s already exists: not overwriting it (remove it first if it is an unsigned draft)", path);
  err = sw_fs_write_atomic(dir, name, (const uint8_t *)text, len, 0644, msg, sizeof msg);
  if (err) return sw__pub_die(1, "%s", msg);
  return 0;
}

/* Read and parse a statement file. */
int sw__pub_keys_read(const char *path, sw_keys *k) {
  char msg[SW_MSG_MAX];
  uint8_t *buf = NULL;
  size_t len = 0;
  sw_err err = sw_fs_read_file(path, SW_KEYS_STMT_MAX, SW_ERR_KEYS_SYNTAX, &buf, &len, msg, sizeof msg);
  if (err) return sw__pub_die(1, "%s", msg);
  err = sw_keys_parse(buf, len, k, msg, sizeof msg);
  free(buf);
  if (err) return sw__pub_die(2, "%s: %s", path, msg);
  return 0;
}
