/* fuzz_resume.c - libFuzzer target for the resume file check of
 * torrent/swarm.cpp (sw_swarm_resume_check): STORE/.../resume.dat is read back
 * from disk (at most 64 MiB) on every fetch and decoded by libtorrent's
 * read_resume_data through our wrapper, which keeps it only if it is for the
 * signed torrent (v2 and v1 hashes) and, when it carries metadata, for exactly
 * the signed single file. Whatever is on disk, the decoder must neither
 * crash nor throw past the C boundary, and an accepted file must hold.
 *
 * The fixed "signed" values are those of tests/fuzz/corpus/torrent/
 * valid_hybrid_p_bin (p.bin, 100000 bytes); the resume seeds in
 * tests/fuzz/corpus/resume were written for it by python-libtorrent
 * (write_resume_data_buf). Each input is checked twice: with the v1 hash
 * and without. libtorrent is not instrumented, so, as in fuzz_torrent.c, each
 * distinct verdict bumps an extra counter. */
#include "fuzz_common.h"
#include <stdint.h>

#include "sw_err.h"
#include "sw_limits.h"
#include "swarm.h"

static const char name[] = "p.bin";
static const uint64_t fsize = 100000;
static const char btmh_hex[] = "d276bb60f84c3120fb565e048698d9ddf9fee66d539387055194bd316f1cb043";
static const char btih_hex[] = "f3fb945b63aa9a52eecdd5602ec84155d2b34959";

__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t verdicts[64];

static unsigned nibble(char c) { return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10); }

static void unhex(const char *h, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(nibble(h[2 * i]) << 4 | nibble(h[2 * i + 1]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t btmh[32], btih[20], other[32];
  static int init;
  char msg[SW_MSG_MAX];
  int with_v1 = -1, v2_only = -1, wrong = -1;
  sw_err err;
  if (!init) {
    unhex(btmh_hex, btmh, 32);
    unhex(btih_hex, btih, 20);
    memcpy(other, btmh, 32);
    other[0] ^= 1;
    init = 1;
  }
  msg[0] = 0;
  err = sw_swarm_resume_check(data, size, btmh, btih, name, fsize, &with_v1, msg, sizeof msg);
  CHECK(err == SW_OK || err == SW_ERR_SWARM);
  if (err != SW_OK) check_msg(msg, sizeof msg);
  CHECK(with_v1 == 0 || with_v1 == 1);
  err = sw_swarm_resume_check(data, size, btmh, NULL, name, fsize, &v2_only, msg, sizeof msg);
  CHECK(err == SW_OK || err == SW_ERR_SWARM);
  CHECK(v2_only == 0 || v2_only == 1);
  /* Usable with the v1 hash checked means usable without that check. */
  if (with_v1) CHECK(v2_only);
  /* Never usable for two torrents at once. */
  err = sw_swarm_resume_check(data, size, other, NULL, name, fsize, &wrong, msg, sizeof msg);
  CHECK(err == SW_OK || err == SW_ERR_SWARM);
  CHECK(!(v2_only && wrong));
  if (getenv("SW_FUZZ_VERBOSE")) fprintf(stderr, "usable: with v1 %d, v2 only %d\n", with_v1, v2_only);
  verdicts[(unsigned)with_v1 * 2 + (unsigned)v2_only + (err == SW_OK ? 0 : 4)]++;
  return 0;
}
