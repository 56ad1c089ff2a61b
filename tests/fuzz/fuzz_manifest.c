/* fuzz_manifest.c - libFuzzer target for sw_manifest_parse (verify/manifest.h).
 *
 * Besides memory errors (ASan) and undefined behaviour (UBSan), it checks what
 * the header promises about an accepted manifest, so that a parser that lets
 * a bad field through is a crash too. */
#include "fuzz_common.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "magnet.h"
#include "manifest.h"
#include "sw_err.h"
#include "sw_limits.h"

/* UBSan reports are only reports unless told to stop: make them findings. */

static void check_str(const char *s, size_t cap) { CHECK(strnlen(s, cap) < cap); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sw_manifest *m = calloc(1, sizeof *m);
  sw_magnet *again = calloc(1, sizeof *again);
  char msg[SW_MSG_MAX], t[21];
  int64_t back = 0;
  sw_err err;

  if (m == NULL || again == NULL) goto out;
  msg[0] = 0;
  err = sw_manifest_parse(data, size, m, msg, sizeof msg);
  if (err != SW_OK) {
    CHECK(err == SW_ERR_MANIFEST_SYNTAX);
    check_msg(msg, sizeof msg);
    goto out;
  }
  CHECK(size <= SW_MANIFEST_MAX && size > 0 && data[size - 1] == '\n');
  CHECK(memchr(data, 0, size) == NULL);
  check_str(m->product, sizeof m->product);
  check_str(m->channel, sizeof m->channel);
  check_str(m->version, sizeof m->version);
  check_str(m->file, sizeof m->file);
  check_str(m->magnet_uri, sizeof m->magnet_uri);
  check_str(m->torrent_url, sizeof m->torrent_url);
  CHECK(sw_manifest_name_ok(m->product, strlen(m->product)));
  CHECK(sw_manifest_name_ok(m->channel, strlen(m->channel)));
  CHECK(sw_manifest_file_ok(m->file, strlen(m->file)));
  CHECK(m->version[0] != 0);
  for (const char *p = m->version; *p; p++) CHECK(*p >= 0x20 && *p < 0x7f);
  CHECK(m->size > 0);
  CHECK(m->expires > m->date);
  CHECK(m->n_fallback >= 1 && m->n_fallback <= SW_FALLBACK_MAX);
  for (size_t i = 0; i < m->n_fallback; i++) {
    check_str(m->fallback[i], sizeof m->fallback[i]);
    CHECK(strncasecmp(m->fallback[i], "https://", 8) == 0);
  }
  CHECK(m->torrent_url[0] == 0 || strncasecmp(m->torrent_url, "https://", 8) == 0);
  CHECK(m->signature_len > 0 && m->signature_len <= SW_PKG_SIG_MAX);
  /* Dates survive a format/parse round trip (the state file relies on it). */
  sw_manifest_format_time(m->date, t);
  CHECK(sw_manifest_parse_time(t, strlen(t), &back) == SW_OK && back == m->date);
  sw_manifest_format_time(m->expires, t);
  CHECK(sw_manifest_parse_time(t, strlen(t), &back) == SW_OK && back == m->expires);
  /* The signed Magnet text parses to the same struct the manifest holds. */
  CHECK(sw_magnet_parse((const uint8_t *)m->magnet_uri, strlen(m->magnet_uri), again, msg, sizeof msg) == SW_OK);
  CHECK(memcmp(again, &m->magnet, sizeof *again) == 0);
out:
  free(m);
  free(again);
  return 0;
}
