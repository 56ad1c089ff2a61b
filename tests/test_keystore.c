/* test_keystore.c - the client's key state (src/keystore.h): the `current`
 * record's floors and its strictness, sequence floors taken by sw_state_load
 * exactly once, and the expiry judgement. The walk, forks and the kept chain
 * with real signed statements are tested by tests/cli/keys_chain.sh. */
#include "sw_test.h"

#include <sys/stat.h>

#include "fsutil.h"
#include "keystore.h"
#include "manifest.h"
#include "state.h"
#include "sw_testfs.h"

static char msg[SW_MSG_MAX];

/* DIR/hello/_keys/current = body + its checksum line. */
static void write_current(const char *dir, const char *body) {
  char path[256], hex[65], text[4096];
  uint8_t sum[32];
  FILE *f;
  snprintf(path, sizeof path, "%s/hello", dir);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/hello/_keys", dir);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/hello/_keys/current", dir);
  sw_sha256((const uint8_t *)body, strlen(body), sum);
  sw_hex(sum, 32, hex);
  snprintf(text, sizeof text, "%schecksum %s\n", body, hex);
  f = fopen(path, "wb");
  SW_ASSERT(f != NULL);
  SW_ASSERT(fputs(text, f) >= 0);
  SW_ASSERT(fclose(f) == 0);
}

#define CUR_HEAD                                                                                    \
  "swarmup-keys-current 1\nproduct hello\nversion 3\n"                                              \
  "sha256 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n"

static sw_state *open_state(const char *dir) {
  sw_state *st = NULL;
  SW_ASSERT_EQ_INT(sw_state_open(&st, dir, msg, sizeof msg), SW_OK);
  return st;
}

SW_TEST(floor_is_read_from_current_per_channel) {
  char *d = tdir();
  sw_state *st;
  uint64_t seq = 0, ver = 0;
  int has = 0;
  write_current(d, CUR_HEAD "floor stable 10 2\nfloor beta 7 3\n");
  st = open_state(d);
  SW_ASSERT_EQ_INT(sw_keystore_floor_of(st, "hello", "stable", &has, &seq, &ver, msg, sizeof msg), SW_OK);
  SW_ASSERT(has == 1 && seq == 10 && ver == 2);
  SW_ASSERT_EQ_INT(sw_keystore_floor_of(st, "hello", "beta", &has, &seq, &ver, msg, sizeof msg), SW_OK);
  SW_ASSERT(has == 1 && seq == 7 && ver == 3);
  SW_ASSERT_EQ_INT(sw_keystore_floor_of(st, "hello", "nightly", &has, &seq, &ver, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(has, 0);
  sw_state_close(st);
  rmtree(d);
}

SW_TEST(no_current_is_no_floor) {
  char *d = tdir();
  sw_state *st = open_state(d);
  uint64_t seq = 0, ver = 0;
  int has = 1;
  SW_ASSERT_EQ_INT(sw_keystore_floor_of(st, "hello", "stable", &has, &seq, &ver, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(has, 0);
  sw_state_close(st);
  rmtree(d);
}

/* Each body is refused as corrupt: never read as "no floor". */
static void expect_corrupt(const char *body) {
  char *d = tdir();
  sw_state *st;
  sw_state_rec rec;
  uint64_t seq = 0, ver = 0;
  int has = 0;
  write_current(d, body);
  st = open_state(d);
  SW_ASSERT_EQ_INT(sw_keystore_floor_of(st, "hello", "stable", &has, &seq, &ver, msg, sizeof msg),
                   SW_ERR_STATE_CORRUPT);
  SW_ASSERT_CONTAINS(msg, "refusing to guess");
  /* ... and so is loading any channel of the product. */
  SW_ASSERT_EQ_INT(sw_state_load(st, "hello", "stable", &rec, msg, sizeof msg), SW_ERR_STATE_CORRUPT);
  sw_state_close(st);
  rmtree(d);
}

SW_TEST(current_with_a_floor_of_a_later_statement_is_corrupt) { expect_corrupt(CUR_HEAD "floor stable 10 4\n"); }
SW_TEST(current_of_another_product_is_corrupt) {
  expect_corrupt("swarmup-keys-current 1\nproduct other\nversion 3\n"
                 "sha256 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n");
}
SW_TEST(current_with_a_leading_zero_is_corrupt) { expect_corrupt(CUR_HEAD "floor stable 010 2\n"); }
SW_TEST(current_with_an_unknown_line_is_corrupt) { expect_corrupt(CUR_HEAD "ceiling stable 10 2\n"); }
SW_TEST(current_with_version_0_is_corrupt) {
  expect_corrupt("swarmup-keys-current 1\nproduct hello\nversion 0\n"
                 "sha256 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n");
}

SW_TEST(current_with_a_bad_checksum_is_corrupt) {
  char *d = tdir(), path[256];
  sw_state *st;
  uint64_t seq = 0, ver = 0;
  int has = 0;
  FILE *f;
  write_current(d, CUR_HEAD "floor stable 10 2\n");
  /* The same file with the floor edited by hand: the checksum no longer matches. */
  snprintf(path, sizeof path, "%s/hello/_keys/current", d);
  f = fopen(path, "r+b");
  SW_ASSERT(f != NULL);
  SW_ASSERT(fseek(f, (long)strlen(CUR_HEAD "floor stable "), SEEK_SET) == 0);
  SW_ASSERT(fputc('9', f) == '9');
  SW_ASSERT(fclose(f) == 0);
  st = open_state(d);
  SW_ASSERT_EQ_INT(sw_keystore_floor_of(st, "hello", "stable", &has, &seq, &ver, msg, sizeof msg),
                   SW_ERR_STATE_CORRUPT);
  sw_state_close(st);
  rmtree(d);
}

static sw_state_rec accepted(uint64_t sequence) {
  sw_state_rec r;
  memset(&r, 0, sizeof r);
  r.have = 1;
  r.sequence = sequence;
  r.installed_sequence = sequence;
  SW_ASSERT_EQ_INT(sw_manifest_parse_time("2026-11-26T12:00:00Z", 20, &r.date), SW_OK);
  r.expires = SW_STATE_TIME_UNKNOWN;
  r.last_check = SW_STATE_TIME_UNKNOWN;
  r.latest_known_time = r.date;
  strcpy(r.version, "6.6.6");
  return r;
}

SW_TEST(state_load_takes_a_newer_floor_downwards_exactly_once) {
  char *d = tdir();
  sw_state *st = open_state(d);
  sw_state_rec r = accepted(UINT64_MAX), back;
  SW_ASSERT_EQ_INT(sw_state_save(st, "hello", "stable", &r, msg, sizeof msg), SW_OK);
  write_current(d, CUR_HEAD "floor stable 10 2\n");
  SW_ASSERT_EQ_INT(sw_state_load(st, "hello", "stable", &back, msg, sizeof msg), SW_OK);
  SW_ASSERT(back.sequence == 10);
  SW_ASSERT(back.installed_sequence == 10); /* the next real release counts as an update */
  SW_ASSERT_EQ_INT(back.floor_version, 2);
  /* Not saved yet (a crash here): the next load takes it again. */
  SW_ASSERT_EQ_INT(sw_state_load(st, "hello", "stable", &back, msg, sizeof msg), SW_OK);
  SW_ASSERT(back.sequence == 10);
  /* Saved with a release above the floor: the floor is not taken again. */
  back.sequence = 11;
  SW_ASSERT_EQ_INT(sw_state_save(st, "hello", "stable", &back, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(sw_state_load(st, "hello", "stable", &back, msg, sizeof msg), SW_OK);
  SW_ASSERT(back.sequence == 11);
  SW_ASSERT_EQ_INT(back.floor_version, 2);
  /* A floor on another channel leaves this one alone. */
  write_current(d, CUR_HEAD "floor stable 10 2\nfloor beta 3 3\n");
  SW_ASSERT_EQ_INT(sw_state_load(st, "hello", "stable", &back, msg, sizeof msg), SW_OK);
  SW_ASSERT(back.sequence == 11);
  sw_state_close(st);
  rmtree(d);
}

SW_TEST(a_channel_with_nothing_accepted_takes_the_floor_as_applied) {
  char *d = tdir();
  sw_state *st = open_state(d);
  sw_state_rec back;
  write_current(d, CUR_HEAD "floor stable 10 2\n");
  SW_ASSERT_EQ_INT(sw_state_load(st, "hello", "stable", &back, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(back.have, 0);
  SW_ASSERT_EQ_INT(back.floor_version, 2);
  SW_ASSERT(back.sequence == 0);
  sw_state_close(st);
  rmtree(d);
}

SW_TEST(expired_newest_statement_is_refused_with_its_successor_named) {
  sw_keys *k = calloc(1, sizeof *k);
  int64_t warn_in = 0;
  SW_ASSERT(k != NULL);
  k->version = 3;
  SW_ASSERT_EQ_INT(sw_manifest_parse_time("2027-12-01T00:00:00Z", 20, &k->expires), SW_OK);
  SW_ASSERT_EQ_INT(sw_keystore_judge(k, k->expires, &warn_in, msg, sizeof msg), SW_ERR_KEYS_POLICY);
  SW_ASSERT_STREQ(msg, "key statement 3 expired at 2027-12-01T00:00:00Z; the publisher must publish statement 4");
  SW_ASSERT_EQ_INT(sw_keystore_judge(k, k->expires - 20 * 86400, &warn_in, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(warn_in, 20 * 86400);
  SW_ASSERT_EQ_INT(sw_keystore_judge(k, k->expires - 30 * 86400, &warn_in, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(warn_in, -1);
  free(k);
}
