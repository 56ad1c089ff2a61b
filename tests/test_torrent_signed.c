/* test_torrent_signed.c - sw_swarm_torrent_signed (torrent/swarm.h): of a
 * .torrent only the info dictionary (byte for byte) and the piece layers are
 * kept; the keys the btmh does not bind are dropped (issue 10, section 4). */
#include "sw_test.h"
#include "sw_testfs.h"

#include <stdint.h>

#include "sw_limits.h"
#include "swarm.h"

/* A release torrent made with a tracker, then more unsigned keys appended at
 * the top level (kept in key order, as bencoding wants). */
static uint8_t *tampered(const char *d, size_t *len, sw_swarm_made *m) {
  char file[128], tor[128], msg[SW_MSG_MAX] = "";
  snprintf(file, sizeof file, "%s/pkg-1.0.tar", d);
  snprintf(tor, sizeof tor, "%s/pkg.torrent", d);
  FILE *f = fopen(file, "wb");
  SW_ASSERT(f != NULL);
  for (int i = 0; i < 200000; i++) fputc((i * 7919) & 0xff, f);
  SW_ASSERT_EQ_INT(fclose(f), 0);
  const char *trackers[] = {"http://127.0.0.1:1/announce"};
  sw_swarm_make_opts o = {.file_path = file, .torrent_path = tor, .trackers = trackers, .n_trackers = 1};
  sw_err e = sw_swarm_make_torrent(&o, m, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("make: %s", msg);
  size_t n = 0;
  uint8_t *b = read_all(tor, &n);
  SW_ASSERT(n > 0);
  /* "url-list" sorts after "piece layers", so it goes last: before the final 'e'. */
  static const char extra[] = "8:url-listl19:http://127.0.0.1:2/ee";
  SW_ASSERT(n > 1 && b[n - 1] == 'e');
  uint8_t *t = malloc(n - 1 + sizeof extra - 1);
  SW_ASSERT(t != NULL);
  memcpy(t, b, n - 1);
  memcpy(t + n - 1, extra, sizeof extra - 1);
  free(b);
  *len = n - 1 + sizeof extra - 1;
  return t;
}

SW_TEST(signed_part_drops_trackers_and_web_seeds_and_keeps_the_hashes) {
  char *d = tdir();
  char msg[SW_MSG_MAX] = "", name[SW_FILE_MAX + 1];
  sw_swarm_made m, a, b;
  size_t tl = 0, sl = 0;
  uint8_t *t = tampered(d, &tl, &m), *s = NULL;
  SW_ASSERT(contains(t, tl, "8:announce") && contains(t, tl, "8:url-list"));
  SW_ASSERT_EQ_INT(sw_swarm_torrent_info(t, tl, &a, name, sizeof name, msg, sizeof msg), SW_OK);
  sw_err e = sw_swarm_torrent_signed(t, tl, &s, &sl, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("signed: %s", msg);
  SW_ASSERT(s != NULL && sl > 0 && sl < tl);
  SW_ASSERT(!contains(s, sl, "announce") && !contains(s, sl, "url-list") && !contains(s, sl, "created by"));
  SW_ASSERT(contains(s, sl, "4:info") && contains(s, sl, "12:piece layers"));
  SW_ASSERT_EQ_INT(sw_swarm_torrent_info(s, sl, &b, name, sizeof name, msg, sizeof msg), SW_OK);
  SW_ASSERT_STREQ(a.btmh_hex, m.btmh_hex);
  SW_ASSERT_STREQ(b.btmh_hex, m.btmh_hex);
  SW_ASSERT_STREQ(b.btih_hex, m.btih_hex);
  SW_ASSERT_EQ_INT(b.size, m.size);
  SW_ASSERT_STREQ(name, "pkg-1.0.tar");
  /* Already clean: the same bytes again. */
  uint8_t *s2 = NULL;
  size_t sl2 = 0;
  SW_ASSERT_EQ_INT(sw_swarm_torrent_signed(s, sl, &s2, &sl2, msg, sizeof msg), SW_OK);
  SW_ASSERT(sl2 == sl && memcmp(s2, s, sl) == 0);
  free(s2);
  free(s);
  free(t);
  rmtree(d);
}

SW_TEST(signed_part_refuses_what_has_no_info_dictionary) {
  char msg[SW_MSG_MAX] = "";
  uint8_t *s = (uint8_t *)"x";
  size_t sl = 7;
  static const char no_info[] = "d8:announce20:http://127.0.0.1:3/ae";
  static const char not_dict[] = "l4:infoe";
  static const char info_not_dict[] = "d4:infoi1ee";
  SW_ASSERT_EQ_INT(sw_swarm_torrent_signed((const uint8_t *)no_info, sizeof no_info - 1, &s, &sl, msg, sizeof msg),
                   SW_ERR_SWARM);
  SW_ASSERT(s == NULL && sl == 0);
  SW_ASSERT_CONTAINS(msg, "no info dictionary");
  SW_ASSERT_EQ_INT(sw_swarm_torrent_signed((const uint8_t *)not_dict, sizeof not_dict - 1, &s, &sl, msg, sizeof msg),
                   SW_ERR_SWARM);
  SW_ASSERT_EQ_INT(
      sw_swarm_torrent_signed((const uint8_t *)info_not_dict, sizeof info_not_dict - 1, &s, &sl, msg, sizeof msg),
      SW_ERR_SWARM);
  SW_ASSERT_EQ_INT(sw_swarm_torrent_signed((const uint8_t *)"de", 0, &s, &sl, msg, sizeof msg), SW_ERR_SWARM);
  SW_ASSERT_EQ_INT(sw_swarm_torrent_signed((const uint8_t *)"d4:info", 7, &s, &sl, msg, sizeof msg), SW_ERR_SWARM);
  SW_ASSERT_EQ_INT(sw_swarm_torrent_signed(NULL, 3, &s, &sl, msg, sizeof msg), SW_ERR_USAGE);
  SW_ASSERT(s == NULL);
}
