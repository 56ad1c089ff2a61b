/* fuzz_keys.c - libFuzzer target for sw_keys_parse (verify/keys.h).
 *
 * Besides memory errors (ASan) and undefined behaviour (UBSan), it checks what
 * the header promises about an accepted statement (the chain checks in
 * keychain.c rely on them), so that a parser that lets a bad field through is
 * a crash too. */
#include "fuzz_common.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "manifest.h"
#include "sw_err.h"
#include "sw_limits.h"

static void check_fpr(const char *f) {
  CHECK(strnlen(f, 41) == 40);
  for (size_t i = 0; i < 40; i++) CHECK((f[i] >= '0' && f[i] <= '9') || (f[i] >= 'A' && f[i] <= 'F'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sw_keys *k = calloc(1, sizeof *k);
  char msg[SW_MSG_MAX], t[21];
  int64_t back = 0;
  sw_err err;

  if (k == NULL) goto out;
  msg[0] = 0;
  err = sw_keys_parse(data, size, k, msg, sizeof msg);
  if (err != SW_OK) {
    CHECK(err == SW_ERR_KEYS_SYNTAX);
    check_msg(msg, sizeof msg);
    goto out;
  }
  CHECK(size <= SW_KEYS_STMT_MAX && size > 0 && data[size - 1] == '\n');
  CHECK(memchr(data, 0, size) == NULL && memchr(data, '\r', size) == NULL);
  CHECK(size >= 23 && memcmp(data, "Format: swarmup-keys/1\n", 23) == 0);
  CHECK(strnlen(k->product, sizeof k->product) < sizeof k->product);
  CHECK(sw_manifest_name_ok(k->product, strlen(k->product)));
  CHECK(k->version >= 1);
  CHECK(k->expires > k->date);
  CHECK(k->threshold >= 1 && k->threshold <= SW_THRESHOLD_MAX);
  CHECK(k->n_key == 0 || k->threshold <= k->n_key);
  CHECK(k->n_key <= SW_KEYS_FPR_MAX && k->n_next <= SW_KEYS_FPR_MAX);
  for (size_t i = 0; i < k->n_key; i++) {
    check_fpr(k->key[i]);
    /* Distinct within Key, and never a Next key too. */
    CHECK(!sw_keys_has((const char(*)[41])k->key, i, k->key[i]));
    CHECK(!sw_keys_has((const char(*)[41])k->next, k->n_next, k->key[i]));
  }
  for (size_t i = 0; i < k->n_next; i++) {
    check_fpr(k->next[i]);
    CHECK(!sw_keys_has((const char(*)[41])k->next, i, k->next[i]));
  }
  if (k->n_next > 0) CHECK(k->next_threshold >= 1 && k->next_threshold <= k->n_next);
  else CHECK(k->next_threshold == 0);
  CHECK(k->n_floor <= SW_KEYS_FLOOR_MAX);
  for (size_t i = 0; i < k->n_floor; i++) {
    CHECK(strnlen(k->floor[i].channel, sizeof k->floor[i].channel) < sizeof k->floor[i].channel);
    CHECK(sw_manifest_name_ok(k->floor[i].channel, strlen(k->floor[i].channel)));
    for (size_t j = 0; j < i; j++) CHECK(strcmp(k->floor[i].channel, k->floor[j].channel) != 0);
  }
  CHECK(k->keyring_len >= 1 && k->keyring_len <= SW_KEYS_KEYRING_MAX);
  CHECK(k->keyring[0] & 0x80);
  /* Dates survive a format/parse round trip (the state dir's statements are re-read). */
  sw_manifest_format_time(k->date, t);
  CHECK(sw_manifest_parse_time(t, strlen(t), &back) == SW_OK && back == k->date);
  sw_manifest_format_time(k->expires, t);
  CHECK(sw_manifest_parse_time(t, strlen(t), &back) == SW_OK && back == k->expires);
out:
  free(k);
  return 0;
}
