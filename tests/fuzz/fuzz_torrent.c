/* fuzz_torrent.c - libFuzzer target for sw_swarm_torrent_info (torrent/swarm.h):
 * a hostile .torrent (fetched from the manifest's Torrent URL, or read back
 * from the store) decoded by libtorrent through our wrapper.
 *
 * When it is accepted, the target compares it with a fixed "signed manifest"
 * the way fetch does (v2 info-hash, file name, size). The fixed values are
 * those of tests/fuzz/corpus/torrent/valid_hybrid_p_bin (a 100000-byte p.bin
 * made by swarmup-publish), so the fuzzer starts on the matching path. A
 * torrent whose v2 info-hash is the signed one must describe exactly the
 * signed file: the info dictionary is what that hash covers. Its signed part
 * (sw_swarm_torrent_signed: what is kept and loaded) must be the same torrent. */
#include "fuzz_common.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sw_err.h"
#include "sw_limits.h"
#include "swarm.h"

static const char manifest_file[] = "p.bin";
static const uint64_t manifest_size = 100000;
static const char manifest_btmh[] = "d276bb60f84c3120fb565e048698d9ddf9fee66d539387055194bd316f1cb043";

/* libtorrent is not instrumented, so coverage cannot tell the fuzzer that an
 * input got further into its decoder. Its verdict can: each distinct reason
 * (digit runs folded to their length, so "at byte 57" and "at byte 93" are
 * one feature but "at byte 1234" another) bumps its own extra counter, which
 * libFuzzer treats like an edge. */
__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t verdicts[4096];

static void note_verdict(sw_err err, const char *msg) {
  uint32_t h = 2166136261u ^ (uint32_t)err;
  for (const char *p = msg; *p; p++) {
    uint32_t c = (unsigned char)*p;
    if (*p >= '0' && *p <= '9') {
      c = 0;
      while (p[1] >= '0' && p[1] <= '9') { c++; p++; }
      c += 0x100;
    }
    h = (h ^ c) * 16777619u;
  }
  verdicts[h % sizeof verdicts]++;
}

static int lower_hex(const char *s, size_t n) {
  if (strlen(s) != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sw_swarm_made made, again;
  char name[SW_FILE_MAX + 1], small[8], msg[SW_MSG_MAX];
  size_t nlen;
  sw_err err;

  msg[0] = 0;
  err = sw_swarm_torrent_info(data, size, &made, name, sizeof name, msg, sizeof msg);
  if (err != SW_OK) {
    CHECK(err == SW_ERR_SWARM || err == SW_ERR_TORRENT_MISMATCH);
    check_msg(msg, sizeof msg);
    note_verdict(err, msg);
    return 0;
  }
  /* What the header promises about an accepted torrent. */
  nlen = strnlen(name, sizeof name);
  CHECK(nlen > 0 && nlen < sizeof name);
  CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
  for (size_t i = 0; i < nlen; i++)
    CHECK((unsigned char)name[i] >= 0x20 && name[i] != 0x7f && name[i] != '/' && name[i] != '\\');
  CHECK(lower_hex(made.btmh_hex, 64));
  CHECK(made.btih_hex[0] == 0 || lower_hex(made.btih_hex, 40));
  {
    char shape[64];
    snprintf(shape, sizeof shape, "ok %d %d %d", made.btih_hex[0] != 0, made.piece_size, made.num_pieces);
    note_verdict(SW_OK, shape);
  }
  CHECK(made.piece_size > 0 && made.num_pieces >= 0);
  if (made.size > 0)
    CHECK((uint64_t)made.num_pieces == (made.size + (uint64_t)made.piece_size - 1) / (uint64_t)made.piece_size);

  /* The comparison fetch makes before keeping a downloaded .torrent. */
  if (strcmp(made.btmh_hex, manifest_btmh) == 0)
    CHECK(strcmp(name, manifest_file) == 0 && made.size == manifest_size);

  /* What is kept and loaded is the signed part alone: it must be the same torrent. */
  {
    uint8_t *sp = NULL;
    size_t sl = 0;
    char sname[SW_FILE_MAX + 1];
    CHECK(sw_swarm_torrent_signed(data, size, &sp, &sl, msg, sizeof msg) == SW_OK);
    CHECK(sp != NULL && sl > 0 && sl <= size + 32);
    CHECK(sw_swarm_torrent_info(sp, sl, &again, sname, sizeof sname, msg, sizeof msg) == SW_OK);
    CHECK(memcmp(&again, &made, sizeof made) == 0 && strcmp(sname, name) == 0);
    free(sp);
  }

  /* The name buffer is optional, and a too-small one is refused, not overrun. */
  CHECK(sw_swarm_torrent_info(data, size, &again, NULL, 0, msg, sizeof msg) == SW_OK);
  CHECK(memcmp(&again, &made, sizeof made) == 0);
  err = sw_swarm_torrent_info(data, size, &again, small, sizeof small, msg, sizeof msg);
  if (nlen < sizeof small) CHECK(err == SW_OK && strcmp(small, name) == 0);
  else CHECK(err == SW_ERR_TORRENT_MISMATCH);
  return 0;
}
