/* fuzz_magnet.c - libFuzzer target for sw_magnet_parse (verify/magnet.h).
 * Checks the accepted struct against the header's promises, and that parsing
 * is deterministic (a second parse gives the same bytes). */
#include "fuzz_common.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "magnet.h"
#include "sw_err.h"
#include "sw_limits.h"

/* Decoded text: NUL-terminated inside its array, no control character. */
static void check_text(const char *s, size_t cap, int may_be_empty) {
  size_t n = strnlen(s, cap);
  CHECK(n < cap);
  CHECK(may_be_empty || n > 0);
  for (size_t i = 0; i < n; i++) CHECK((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sw_magnet *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
  char msg[SW_MSG_MAX];
  sw_err err;

  if (a == NULL || b == NULL) goto out;
  msg[0] = 0;
  err = sw_magnet_parse(data, size, a, msg, sizeof msg);
  if (err != SW_OK) {
    CHECK(err == SW_ERR_MANIFEST_SYNTAX);
    check_msg(msg, sizeof msg);
    goto out;
  }
  CHECK(size > 8 && memcmp(data, "magnet:?", 8) == 0);
  check_text(a->dn, sizeof a->dn, 1);
  CHECK(a->n_tr <= SW_MAGNET_TR_MAX);
  for (size_t i = 0; i < a->n_tr; i++) check_text(a->tr[i], sizeof a->tr[i], 0);
  CHECK(a->n_peers <= SW_MAGNET_PEERS_MAX);
  for (size_t i = 0; i < a->n_peers; i++) check_text(a->peers[i], sizeof a->peers[i], 0);
  CHECK(a->has_btih == 0 || a->has_btih == 1);
  CHECK(sw_magnet_parse(data, size, b, msg, sizeof msg) == SW_OK);
  CHECK(memcmp(a, b, sizeof *a) == 0);
out:
  free(a);
  free(b);
  return 0;
}
