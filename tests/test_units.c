/* Sizes, rates and durations as people type them (src/units.h). */
#include <string.h>

#include "sw_test.h"
#include "units.h"

static uint64_t ok_parse(const char *s, sw_units_kind kind, uint64_t plain) {
  uint64_t v = 12345;
  const char *why = NULL;
  if (sw_units_parse(s, strlen(s), kind, plain, &v, &why) != 0) SW_FAILF("\"%s\" refused: %s", s, why);
  return v;
}

static const char *refused(const char *s, sw_units_kind kind, uint64_t plain) {
  uint64_t v = 12345;
  const char *why = NULL;
  if (sw_units_parse(s, strlen(s), kind, plain, &v, &why) == 0) SW_FAILF("\"%s\" accepted as %llu", s, (unsigned long long)v);
  SW_ASSERT_EQ_INT(v, 12345); /* nothing written on refusal */
  SW_ASSERT(why != NULL);
  return why;
}

SW_TEST(sizes_take_binary_suffixes_k_is_1024) {
  SW_ASSERT_EQ_INT(ok_parse("0", SW_UNITS_BYTES, 1), 0);
  SW_ASSERT_EQ_INT(ok_parse("65536", SW_UNITS_BYTES, 1), 65536);
  SW_ASSERT_EQ_INT(ok_parse("100B", SW_UNITS_BYTES, 1), 100);
  SW_ASSERT_EQ_INT(ok_parse("512K", SW_UNITS_BYTES, 1), 524288);
  SW_ASSERT_EQ_INT(ok_parse("10M", SW_UNITS_BYTES, 1), 10485760);
  SW_ASSERT_EQ_INT(ok_parse("2G", SW_UNITS_BYTES, 1), 2147483648ll);
  SW_ASSERT_EQ_INT(ok_parse("1T", SW_UNITS_BYTES, 1), 1099511627776ll);
}

SW_TEST(sizes_take_kb_kib_and_any_case_alike) {
  SW_ASSERT_EQ_INT(ok_parse("512k", SW_UNITS_BYTES, 1), 524288);
  SW_ASSERT_EQ_INT(ok_parse("512KB", SW_UNITS_BYTES, 1), 524288);
  SW_ASSERT_EQ_INT(ok_parse("512KiB", SW_UNITS_BYTES, 1), 524288);
  SW_ASSERT_EQ_INT(ok_parse("10mb", SW_UNITS_BYTES, 1), 10485760);
  SW_ASSERT_EQ_INT(ok_parse("10MiB", SW_UNITS_BYTES, 1), 10485760);
}

SW_TEST(fractions_with_a_suffix_are_exact_or_rounded_down) {
  SW_ASSERT_EQ_INT(ok_parse("1.5G", SW_UNITS_BYTES, 1), 1610612736ll);
  SW_ASSERT_EQ_INT(ok_parse("1.5K", SW_UNITS_BYTES, 1), 1536);
  SW_ASSERT_EQ_INT(ok_parse("0.1K", SW_UNITS_BYTES, 1), 102); /* 102.4 */
  SW_ASSERT_EQ_INT(ok_parse("0.000000001T", SW_UNITS_BYTES, 1), 1099);
  SW_ASSERT_EQ_INT(ok_parse("1.5h", SW_UNITS_SECONDS, 1), 5400);
}

SW_TEST(rates_may_end_in_per_second) {
  SW_ASSERT_EQ_INT(ok_parse("10M/s", SW_UNITS_BYTES, 1), 10485760);
  SW_ASSERT_EQ_INT(ok_parse("256KiB/s", SW_UNITS_BYTES, 1), 262144);
  SW_ASSERT_EQ_INT(ok_parse("100B/s", SW_UNITS_BYTES, 1), 100);
}

SW_TEST(plain_number_is_in_the_options_own_unit) {
  SW_ASSERT_EQ_INT(ok_parse("100", SW_UNITS_BYTES, 1024), 102400); /* an option counted in KiB/s */
  SW_ASSERT_EQ_INT(ok_parse("1.5", SW_UNITS_BYTES, 1024), 1536);
  SW_ASSERT_EQ_INT(ok_parse("1M", SW_UNITS_BYTES, 1024), 1048576); /* a suffix says the unit */
}

SW_TEST(durations_take_s_m_h_d) {
  SW_ASSERT_EQ_INT(ok_parse("600", SW_UNITS_SECONDS, 1), 600);
  SW_ASSERT_EQ_INT(ok_parse("90s", SW_UNITS_SECONDS, 1), 90);
  SW_ASSERT_EQ_INT(ok_parse("5m", SW_UNITS_SECONDS, 1), 300);
  SW_ASSERT_EQ_INT(ok_parse("1h", SW_UNITS_SECONDS, 1), 3600);
  SW_ASSERT_EQ_INT(ok_parse("2d", SW_UNITS_SECONDS, 1), 172800);
  SW_ASSERT_EQ_INT(ok_parse("0.5m", SW_UNITS_SECONDS, 1), 30);
}

SW_TEST(largest_value_is_accepted_one_more_is_too_large) {
  SW_ASSERT_EQ_INT((long long)(ok_parse("18446744073709551615", SW_UNITS_BYTES, 1) == UINT64_MAX), 1);
  SW_ASSERT_STREQ(refused("18446744073709551616", SW_UNITS_BYTES, 1), "too large");
  SW_ASSERT_EQ_INT((long long)(ok_parse("16777215T", SW_UNITS_BYTES, 1) == 16777215ull << 40), 1);
  SW_ASSERT_STREQ(refused("16777216T", SW_UNITS_BYTES, 1), "too large");
  SW_ASSERT_EQ_INT((long long)(ok_parse("213503982334601d", SW_UNITS_SECONDS, 1) == 18446744073709526400ull), 1);
  SW_ASSERT_STREQ(refused("213503982334601.5d", SW_UNITS_SECONDS, 1), "too large"); /* the fraction overflows */
  SW_ASSERT_STREQ(refused("999999999999999999999d", SW_UNITS_SECONDS, 1), "too large");
  SW_ASSERT_STREQ(refused("213503982334602d", SW_UNITS_SECONDS, 1), "too large");
}

SW_TEST(negative_and_signed_numbers_are_refused) {
  SW_ASSERT_STREQ(refused("-1", SW_UNITS_BYTES, 1), "negative");
  SW_ASSERT_STREQ(refused("-5m", SW_UNITS_SECONDS, 1), "negative");
  SW_ASSERT_STREQ(refused("+1", SW_UNITS_BYTES, 1), "not a number");
}

SW_TEST(unknown_suffixes_are_refused) {
  SW_ASSERT_STREQ(refused("10X", SW_UNITS_BYTES, 1), "unknown unit");
  SW_ASSERT_STREQ(refused("10P", SW_UNITS_BYTES, 1), "unknown unit");
  SW_ASSERT_STREQ(refused("10Kb/min", SW_UNITS_BYTES, 1), "unknown unit");
  SW_ASSERT_STREQ(refused("5y", SW_UNITS_SECONDS, 1), "unknown unit");
  SW_ASSERT_STREQ(refused("5M", SW_UNITS_SECONDS, 1), "unknown unit"); /* minutes are m; M is not months */
  SW_ASSERT_STREQ(refused("5ms", SW_UNITS_SECONDS, 1), "unknown unit");
  SW_ASSERT_STREQ(refused("1h30m", SW_UNITS_SECONDS, 1), "unknown unit");
  SW_ASSERT_STREQ(refused("10K", SW_UNITS_SECONDS, 1), "unknown unit"); /* a size is not a duration */
  SW_ASSERT_STREQ(refused("5m/h", SW_UNITS_BYTES, 1), "unknown unit");
}

SW_TEST(malformed_numbers_are_refused) {
  SW_ASSERT_STREQ(refused("", SW_UNITS_BYTES, 1), "empty");
  SW_ASSERT_STREQ(refused("K", SW_UNITS_BYTES, 1), "not a number");
  SW_ASSERT_STREQ(refused(".5K", SW_UNITS_BYTES, 1), "not a number");
  SW_ASSERT_STREQ(refused("5.K", SW_UNITS_BYTES, 1), "not a number");
  SW_ASSERT_STREQ(refused("1..5K", SW_UNITS_BYTES, 1), "not a number");
  SW_ASSERT_STREQ(refused(" 10M", SW_UNITS_BYTES, 1), "not a number");
  SW_ASSERT_STREQ(refused("10 M", SW_UNITS_BYTES, 1), "unknown unit");
  SW_ASSERT_STREQ(refused("10M ", SW_UNITS_BYTES, 1), "unknown unit");
  SW_ASSERT_STREQ(refused("1.0000000001K", SW_UNITS_BYTES, 1), "more than 9 decimals");
  SW_ASSERT_STREQ(refused("1.5", SW_UNITS_BYTES, 1), "a fraction needs a unit");
  SW_ASSERT_STREQ(refused("1.5", SW_UNITS_SECONDS, 1), "a fraction needs a unit");
  SW_ASSERT_STREQ(refused("00000000000000000000000000000000000000001", SW_UNITS_BYTES, 1), "too long");
}

SW_TEST(parser_reads_only_len_bytes) {
  uint64_t v = 0;
  const char *why = NULL;
  SW_ASSERT_EQ_INT(sw_units_parse("10Mjunk", 3, SW_UNITS_BYTES, 1, &v, &why), 0);
  SW_ASSERT_EQ_INT(v, 10485760);
}
