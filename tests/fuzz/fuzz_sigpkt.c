/* fuzz_sigpkt.c - libFuzzer target for the signature pre-check of verify/pgp_*.c
 * (packet walk, armor, subpackets) and the one-pass framing built from it.
 * The first 8 bytes pick the data size the framing announces. */
#include "fuzz_common.h"
#include <stdint.h>

#include "sw_err.h"
#include "sw_limits.h"
#include "verify_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t head[1024];
  size_t head_len = 0;
  char why[SW_MSG_MAX];
  uint64_t dsize = 0;
  unsigned n;
  if (size < 8) return 0;
  for (int i = 0; i < 8; i++) dsize = (dsize << 8) | data[i];
  dsize >>= 24; /* up to 1 TiB: both the single-length and the partial framing */
  why[0] = 0;
  n = sw_pgp__frame_head(data + 8, size - 8, dsize, head, sizeof head, &head_len, why, sizeof why);
  if (n == 0) {
    check_msg(why, sizeof why);
    return 0;
  }
  CHECK(n <= 32);
  /* n one-pass packets of 15 bytes, then tag 11 with a 5-byte or partial length and 6 header bytes */
  CHECK(head_len == 15 * (size_t)n + (dsize + 6 <= 0xFFFFFFFFu ? 6 : 2) + 6);
  for (unsigned i = 0; i < n; i++) {
    const uint8_t *o = head + 15 * i;
    CHECK(o[0] == 0xC4 && o[1] == 13 && o[2] == 3 && o[3] == 0x00);
    CHECK(o[14] == (i + 1 == n ? 1 : 0));
  }
  CHECK(head[15 * n] == 0xCB);
  return 0;
}
