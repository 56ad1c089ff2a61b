/* test_keys.c - the swarmup-keys/1 key statement parser: one valid statement,
 * and each malformation of it rejected with a message naming line and problem.
 * Syntax only: whether a statement follows another is test_keychain's. */
#include "sw_test.h"

#include <dirent.h>

#include "keys.h"

#define SW_TESTDOC_CAP (SW_KEYS_STMT_MAX * 2)
#include "sw_testdoc.h"

#define FA "0123456789ABCDEF0123456789ABCDEF01234567"
#define FB "89ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define FC "FEDCBA9876543210FEDCBA9876543210FEDCBA98"
/* 98 33 04 5f 00 01 b4: an old-format public-key packet header and a few bytes. */
#define RING "mDMEXwABtA=="

/* Line numbers below follow this order (Keyring is line 12). */
static const char *const VALID[] = {
    "Format: swarmup-keys/1",
    "Product: hello",
    "Version: 2",
    "Date: 2026-12-01T00:00:00Z",
    "Expires: 2027-12-01T00:00:00Z",
    "Threshold: 2",
    "Key: " FA,
    "Key: " FB,
    "Next: " FC,
    "Next-Threshold: 1",
    "Sequence-Floor: stable=44 beta=7",
    "Keyring: " RING,
    NULL,
};

static char msg[SW_MSG_MAX];
static sw_keys *K;

/* The valid statement with the FIRST line of `field` replaced by `line`;
 * line NULL removes every line of `field`. */
static void build_with(const char *field, const char *line) { sw_testdoc_build(VALID, field, line); }

static sw_err parse_text(void) {
  if (K == NULL) K = calloc(1, sizeof *K);
  SW_ASSERT(K != NULL);
  msg[0] = '\0';
  return sw_keys_parse((const uint8_t *)text, text_len, K, msg, sizeof msg);
}

static sw_err parse_with(const char *field, const char *line) {
  build_with(field, line);
  return parse_text();
}

/* The valid statement plus raw bytes appended (must end in LF to be a line). */
static sw_err parse_plus(const char *raw) {
  build_with(NULL, NULL);
  add(raw, strlen(raw));
  return parse_text();
}

/* Rejected, with the message, and nothing that looks parsed left behind. */
#define EXPECT_REJECT(expr, needle)                                                                \
  do {                                                                                             \
    SW_ASSERT_EQ_INT((expr), SW_ERR_KEYS_SYNTAX);                                                  \
    SW_ASSERT_CONTAINS(msg, (needle));                                                             \
    SW_ASSERT(strchr(msg, '\n') == NULL);                                                          \
    SW_ASSERT(all_zero(K, sizeof *K));                                                             \
  } while (0)

static void check_valid_values(void) {
  SW_ASSERT_STREQ(K->product, "hello");
  SW_ASSERT_EQ_INT(K->version, 2);
  SW_ASSERT_EQ_INT(K->date, 1796083200);
  SW_ASSERT_EQ_INT(K->expires, 1827619200);
  SW_ASSERT_EQ_INT(K->threshold, 2);
  SW_ASSERT_EQ_INT(K->n_key, 2);
  SW_ASSERT_STREQ(K->key[0], FA);
  SW_ASSERT_STREQ(K->key[1], FB);
  SW_ASSERT_EQ_INT(K->n_next, 1);
  SW_ASSERT_STREQ(K->next[0], FC);
  SW_ASSERT_EQ_INT(K->next_threshold, 1);
  SW_ASSERT_EQ_INT(K->n_floor, 2);
  SW_ASSERT_STREQ(K->floor[0].channel, "stable");
  SW_ASSERT_EQ_INT(K->floor[0].sequence, 44);
  SW_ASSERT_STREQ(K->floor[1].channel, "beta");
  SW_ASSERT_EQ_INT(K->floor[1].sequence, 7);
  SW_ASSERT_EQ_INT(K->keyring_len, 7);
  SW_ASSERT_EQ_INT(K->keyring[0], 0x98);
  SW_ASSERT_EQ_INT(K->keyring[6], 0xb4);
}

/* ---- accepted ---- */

SW_TEST(keys_accepts_valid_statement_with_every_field) {
  SW_ASSERT_EQ_INT(parse_with(NULL, NULL), SW_OK);
  SW_ASSERT_STREQ(msg, "");
  check_valid_values();
}

SW_TEST(keys_accepts_fields_in_any_order_after_format) {
  int n = 0;
  while (VALID[n]) n++;
  text_len = 0;
  add_line(VALID[0]);
  /* Reversed, except that Key lines keep their order (K->key[0] is FA). */
  for (int i = n - 1; i >= 1; i--) {
    if (i == 8) {
      add_line(VALID[8]);
      add_line(VALID[6]);
      add_line(VALID[7]);
      i = 6;
      continue;
    }
    add_line(VALID[i]);
  }
  SW_ASSERT_EQ_INT(parse_text(), SW_OK);
  check_valid_values();
}

SW_TEST(keys_accepts_x_field) {
  SW_ASSERT_EQ_INT(parse_plus("X-Comment: rotated after the 2026 audit — Grüße\nX-Ceremony: 7\n"), SW_OK);
  check_valid_values();
}

SW_TEST(keys_accepts_lowercase_fingerprint_stored_upper) {
  SW_ASSERT_EQ_INT(parse_with("Key", "Key: 0123456789abcdef0123456789abcdef01234567"), SW_OK);
  SW_ASSERT_STREQ(K->key[0], FA);
  SW_ASSERT_EQ_INT(parse_with("Next", "Next: fedcba9876543210FEDCBA9876543210fedcba98"), SW_OK);
  SW_ASSERT_STREQ(K->next[0], FC);
}

SW_TEST(keys_accepts_no_key_rotate_to_null) {
  /* Threshold 2 with no Key at all: only its range is checked. */
  SW_ASSERT_EQ_INT(parse_with("Key", NULL), SW_OK);
  SW_ASSERT_EQ_INT(K->n_key, 0);
  SW_ASSERT_EQ_INT(K->threshold, 2);
  SW_ASSERT_EQ_INT(K->n_next, 1);
}

SW_TEST(keys_accepts_no_next_and_no_next_threshold) {
  text_len = 0;
  for (int i = 0; VALID[i]; i++)
    if (!is_field(VALID[i], "Next") && !is_field(VALID[i], "Next-Threshold")) add_line(VALID[i]);
  SW_ASSERT_EQ_INT(parse_text(), SW_OK);
  SW_ASSERT_EQ_INT(K->n_next, 0);
  SW_ASSERT_EQ_INT(K->next_threshold, 0);
}

SW_TEST(keys_accepts_no_sequence_floor) {
  SW_ASSERT_EQ_INT(parse_with("Sequence-Floor", NULL), SW_OK);
  SW_ASSERT_EQ_INT(K->n_floor, 0);
}

SW_TEST(keys_accepts_sequence_floor_zero_and_uint64_max) {
  SW_ASSERT_EQ_INT(parse_with("Sequence-Floor", "Sequence-Floor: stable=0 nightly=18446744073709551615"), SW_OK);
  SW_ASSERT_EQ_INT(K->n_floor, 2);
  SW_ASSERT_EQ_INT(K->floor[0].sequence, 0);
  SW_ASSERT(K->floor[1].sequence == UINT64_MAX);
}

SW_TEST(keys_accepts_sixteen_floors) {
  char line[1024] = "Sequence-Floor:";
  for (int i = 0; i < 16; i++) snprintf(line + strlen(line), sizeof line - strlen(line), " ch%d=%d", i, i);
  SW_ASSERT_EQ_INT(parse_with("Sequence-Floor", line), SW_OK);
  SW_ASSERT_EQ_INT(K->n_floor, 16);
  SW_ASSERT_STREQ(K->floor[15].channel, "ch15");
}

SW_TEST(keys_accepts_version_uint64_max) {
  SW_ASSERT_EQ_INT(parse_with("Version", "Version: 18446744073709551615"), SW_OK);
  SW_ASSERT(K->version == UINT64_MAX);
}

SW_TEST(keys_accepts_threshold_equal_to_key_count) {
  SW_ASSERT_EQ_INT(parse_with(NULL, NULL), SW_OK);
  SW_ASSERT_EQ_INT(K->threshold, K->n_key);
}

/* n Key lines (distinct, upper case) built from i, plus Threshold 1. */
static void build_keys(int n) {
  text_len = 0;
  for (int i = 0; VALID[i]; i++) {
    if (is_field(VALID[i], "Key")) continue;
    if (is_field(VALID[i], "Threshold")) {
      add_line("Threshold: 1");
      for (int k = 0; k < n; k++) {
        char line[64];
        snprintf(line, sizeof line, "Key: %040X", (unsigned)k + 1);
        add_line(line);
      }
      continue;
    }
    add_line(VALID[i]);
  }
}

SW_TEST(keys_accepts_sixteen_keys) {
  build_keys(16);
  SW_ASSERT_EQ_INT(parse_text(), SW_OK);
  SW_ASSERT_EQ_INT(K->n_key, 16);
  SW_ASSERT_STREQ(K->key[15], "0000000000000000000000000000000000000010");
}

SW_TEST(keys_accepts_largest_keyring_that_fits) {
  static char line[SW_KEYS_STMT_MAX + 16];
  size_t n;
  /* 64 KiB minus the other lines, in whole base64 groups. */
  build_with("Keyring", NULL);
  n = (SW_KEYS_STMT_MAX - text_len - strlen("Keyring: ") - 1) / 4 * 4;
  strcpy(line, "Keyring: ");
  memset(line + 9, 'm', n);
  line[9 + n] = '\0';
  add_line(line);
  SW_ASSERT(text_len <= SW_KEYS_STMT_MAX);
  SW_ASSERT_EQ_INT(parse_text(), SW_OK);
  SW_ASSERT_EQ_INT(K->keyring_len, n / 4 * 3);
  SW_ASSERT_EQ_INT(K->keyring[0], 0x9a);
}

SW_TEST(keys_has_finds_listed_fingerprints_only) {
  SW_ASSERT_EQ_INT(parse_with(NULL, NULL), SW_OK);
  SW_ASSERT_EQ_INT(sw_keys_has((const char(*)[41])K->key, K->n_key, FA), 1);
  SW_ASSERT_EQ_INT(sw_keys_has((const char(*)[41])K->key, K->n_key, FB), 1);
  SW_ASSERT_EQ_INT(sw_keys_has((const char(*)[41])K->key, K->n_key, FC), 0);
  SW_ASSERT_EQ_INT(sw_keys_has((const char(*)[41])K->next, K->n_next, FC), 1);
  SW_ASSERT_EQ_INT(sw_keys_has((const char(*)[41])K->key, 1, FB), 0);
  SW_ASSERT_EQ_INT(sw_keys_has((const char(*)[41])K->key, 0, FA), 0);
  SW_ASSERT_EQ_INT(sw_keys_has(NULL, 0, FA), 0);
}

/* ---- rejected: text rules ---- */

SW_TEST(keys_rejects_empty_input) {
  text_len = 0;
  EXPECT_REJECT(parse_text(), "key statement is empty");
}

SW_TEST(keys_rejects_input_over_the_limit) {
  build_with(NULL, NULL);
  while (text_len <= SW_KEYS_STMT_MAX) add_line("X-Pad: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  EXPECT_REJECT(parse_text(), "over the 65536-byte limit");
}

SW_TEST(keys_rejects_crlf) {
  text_len = 0;
  for (int i = 0; VALID[i]; i++) {
    add(VALID[i], strlen(VALID[i]));
    add("\r\n", 2);
  }
  EXPECT_REJECT(parse_text(), "line 1: carriage return at column 23 (line ends must be LF only)");
}

SW_TEST(keys_rejects_trailing_bytes_without_lf) {
  build_with(NULL, NULL);
  text_len--; /* the last LF */
  EXPECT_REJECT(parse_text(), "line 12: does not end in LF (missing final newline)");
  EXPECT_REJECT(parse_plus("X-Tail: x"), "line 13: does not end in LF");
}

SW_TEST(keys_rejects_nul_byte) {
  build_with(NULL, NULL);
  text[text_len - 2] = '\0';
  EXPECT_REJECT(parse_text(), "line 12: NUL byte at column");
}

SW_TEST(keys_rejects_control_character) {
  EXPECT_REJECT(parse_with("Product", "Product: hel\tlo"), "line 2: control character 0x09 at column 13");
  EXPECT_REJECT(parse_plus("X-Note: a\x7f" "b\n"), "line 13: control character 0x7f");
}

SW_TEST(keys_rejects_empty_line) {
  EXPECT_REJECT(parse_plus("\n"), "line 13: empty line");
}

SW_TEST(keys_rejects_line_without_colon) {
  EXPECT_REJECT(parse_plus("just words\n"), "line 13: \"just words\" is not a \"Field: value\" line");
}

SW_TEST(keys_rejects_missing_space_after_colon) {
  EXPECT_REJECT(parse_with("Version", "Version:2"), "line 3: field Version: expected one space after ':'");
}

SW_TEST(keys_rejects_two_spaces_after_colon) {
  EXPECT_REJECT(parse_with("Version", "Version:  2"), "line 3: field Version: more than one space after ':'");
}

SW_TEST(keys_rejects_trailing_space) {
  EXPECT_REJECT(parse_with("Version", "Version: 2 "), "line 3: field Version has trailing space");
}

SW_TEST(keys_rejects_empty_value) {
  EXPECT_REJECT(parse_with("Product", "Product: "), "line 2: field Product has an empty value");
}

SW_TEST(keys_rejects_bad_field_name) {
  EXPECT_REJECT(parse_plus("Ke y: x\n"), "line 13: bad field name \"Ke y\"");
}

SW_TEST(keys_rejects_unknown_field) {
  EXPECT_REJECT(parse_plus("Comment: hi\n"), "line 13: unknown field Comment");
  /* Field names are case-sensitive: one spelling per statement. */
  EXPECT_REJECT(parse_plus("key: " FA "\n"), "line 13: unknown field key");
  /* A manifest's field is no key statement's field. */
  EXPECT_REJECT(parse_plus("Sequence: 5\n"), "line 13: unknown field Sequence");
}

SW_TEST(keys_rejects_non_ascii_value) {
  EXPECT_REJECT(parse_with("Product", "Product: h\xc3\xa9llo"), "line 2: field Product has a non-ASCII byte");
}

SW_TEST(keys_rejects_invalid_utf8_in_x_field) {
  EXPECT_REJECT(parse_plus("X-Note: \xc0\xaf\n"), "line 13: field X-Note is not valid UTF-8");
}

/* ---- rejected: fields ---- */

SW_TEST(keys_rejects_format_not_first) {
  text_len = 0;
  add_line(VALID[1]);
  add_line(VALID[0]);
  for (int i = 2; VALID[i]; i++) add_line(VALID[i]);
  EXPECT_REJECT(parse_text(), "line 1: the first line must be \"Format: swarmup-keys/1\", not field Product");
  /* Not even an X- field comes first. */
  text_len = 0;
  add_line("X-Note: hello");
  for (int i = 0; VALID[i]; i++) add_line(VALID[i]);
  EXPECT_REJECT(parse_text(), "line 1: the first line must be");
}

SW_TEST(keys_rejects_missing_format) {
  EXPECT_REJECT(parse_with("Format", NULL), "line 1: the first line must be \"Format: swarmup-keys/1\"");
}

SW_TEST(keys_rejects_wrong_format) {
  EXPECT_REJECT(parse_with("Format", "Format: swarmup/1"), "line 1: unsupported Format \"swarmup/1\" (want swarmup-keys/1)");
  EXPECT_REJECT(parse_with("Format", "Format: swarmup-keys/2"), "unsupported Format \"swarmup-keys/2\"");
}

SW_TEST(keys_rejects_duplicate_single_field) {
  EXPECT_REJECT(parse_plus("Product: hello\n"), "line 13: duplicate field Product (first on line 2)");
  EXPECT_REJECT(parse_plus("Format: swarmup-keys/1\n"), "line 13: duplicate field Format (first on line 1)");
  EXPECT_REJECT(parse_plus("Next-Threshold: 1\n"), "line 13: duplicate field Next-Threshold (first on line 10)");
  EXPECT_REJECT(parse_plus("Sequence-Floor: rc=1\n"), "line 13: duplicate field Sequence-Floor (first on line 11)");
  EXPECT_REJECT(parse_plus("Keyring: " RING "\n"), "line 13: duplicate field Keyring (first on line 12)");
}

SW_TEST(keys_rejects_missing_required_field) {
  static const char *const req[] = {"Product", "Version", "Date", "Expires", "Threshold", "Keyring", NULL};
  for (int i = 0; req[i]; i++) {
    char want[64];
    snprintf(want, sizeof want, "missing field %s", req[i]);
    EXPECT_REJECT(parse_with(req[i], NULL), want);
  }
}

SW_TEST(keys_rejects_bad_product) {
  EXPECT_REJECT(parse_with("Product", "Product: Hello"), "line 2: Product \"Hello\" is not a valid name");
  EXPECT_REJECT(parse_with("Product", "Product: -x"), "line 2: Product \"-x\" is not a valid name");
}

SW_TEST(keys_rejects_version_zero) {
  EXPECT_REJECT(parse_with("Version", "Version: 0"), "line 3: Version must be at least 1");
}

SW_TEST(keys_rejects_version_leading_zero) {
  EXPECT_REJECT(parse_with("Version", "Version: 02"), "line 3: Version \"02\" has a leading zero");
}

SW_TEST(keys_rejects_version_with_sign) {
  EXPECT_REJECT(parse_with("Version", "Version: +2"), "line 3: Version \"+2\" is not a decimal number");
  EXPECT_REJECT(parse_with("Version", "Version: -1"), "line 3: Version \"-1\" is not a decimal number");
}

SW_TEST(keys_rejects_version_overflow) {
  EXPECT_REJECT(parse_with("Version", "Version: 18446744073709551616"), "line 3: Version \"18446744073709551616\" overflows 64 bits");
}

SW_TEST(keys_rejects_bad_date) {
  EXPECT_REJECT(parse_with("Date", "Date: 2026-12-01 00:00:00Z"), "line 4: Date \"2026-12-01 00:00:00Z\" is not a valid YYYY-MM-DDTHH:MM:SSZ UTC time");
  EXPECT_REJECT(parse_with("Expires", "Expires: 2027-02-29T00:00:00Z"), "line 5: Expires \"2027-02-29T00:00:00Z\" is not a valid");
}

SW_TEST(keys_rejects_expires_not_after_date) {
  EXPECT_REJECT(parse_with("Expires", "Expires: 2026-12-01T00:00:00Z"),
                "line 5: Expires 2026-12-01T00:00:00Z is not after Date 2026-12-01T00:00:00Z");
  EXPECT_REJECT(parse_with("Expires", "Expires: 2025-12-01T00:00:00Z"), "line 5: Expires 2025-12-01T00:00:00Z is not after Date");
}

SW_TEST(keys_rejects_threshold_zero) {
  EXPECT_REJECT(parse_with("Threshold", "Threshold: 0"), "line 6: Threshold must be at least 1");
}

SW_TEST(keys_rejects_threshold_over_max) {
  EXPECT_REJECT(parse_with("Threshold", "Threshold: 17"), "line 6: Threshold 17 is over the limit of 16");
}

SW_TEST(keys_rejects_threshold_above_key_count) {
  EXPECT_REJECT(parse_with("Threshold", "Threshold: 3"), "line 6: Threshold 3 is more than the 2 Key lines");
}

SW_TEST(keys_rejects_threshold_not_a_number) {
  EXPECT_REJECT(parse_with("Threshold", "Threshold: two"), "line 6: Threshold \"two\" is not a decimal number");
}

SW_TEST(keys_rejects_short_fingerprint) {
  EXPECT_REJECT(parse_with("Key", "Key: 0123456789ABCDEF0123456789ABCDEF0123456"),
                "line 7: Key \"0123456789ABCDEF0123456789ABCDEF0123456\" is not a fingerprint (40 hex digits, no spaces), got 39 bytes");
  /* A v5/v6 fingerprint (64 hex) is not a v4 one. */
  EXPECT_REJECT(parse_with("Next", "Next: " FA FB "012345"), "line 9: Next \"");
}

SW_TEST(keys_rejects_non_hex_fingerprint) {
  EXPECT_REJECT(parse_with("Key", "Key: 0123456789ABCDEF0123456789ABCDEF0123456G"),
                "line 7: Key \"0123456789ABCDEF0123456789ABCDEF0123456G\" is not a fingerprint (non-hex character at column 40");
  /* gpg's grouped display form is not accepted: one spelling. */
  EXPECT_REJECT(parse_with("Key", "Key: 0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567"), "line 7: Key \"0123 4567");
  EXPECT_REJECT(parse_with("Key", "Key: 0x0123456789ABCDEF0123456789ABCDEF012345"), "non-hex character at column 2");
}

SW_TEST(keys_rejects_duplicate_key) {
  EXPECT_REJECT(parse_with("Key", "Key: " FB), "line 8: duplicate Key " FB);
}

SW_TEST(keys_rejects_duplicate_key_differing_in_case) {
  EXPECT_REJECT(parse_with("Key", "Key: 89abcdef0123456789abcdef0123456789abcdef"), "line 8: duplicate Key " FB);
}

SW_TEST(keys_rejects_duplicate_next) {
  EXPECT_REJECT(parse_plus("Next: " FC "\n"), "line 13: duplicate Next " FC);
}

SW_TEST(keys_rejects_fingerprint_in_both_key_and_next) {
  /* Next after Key, */
  EXPECT_REJECT(parse_with("Next", "Next: " FA),
                "line 9: " FA " is in both Key and Next (the next key must be a different key, kept apart from the current ones)");
  /* Key after Next, and either case. */
  EXPECT_REJECT(parse_plus("Key: fedcba9876543210fedcba9876543210fedcba98\n"), "line 13: " FC " is in both Key and Next");
}

SW_TEST(keys_rejects_seventeen_keys) {
  build_keys(17);
  EXPECT_REJECT(parse_text(), "line 23: more than 16 Key lines");
}

SW_TEST(keys_rejects_seventeen_next) {
  text_len = 0;
  for (int i = 0; VALID[i]; i++) {
    if (is_field(VALID[i], "Next")) {
      for (int k = 0; k < 17; k++) {
        char line[64];
        snprintf(line, sizeof line, "Next: %040X", (unsigned)k + 1);
        add_line(line);
      }
      continue;
    }
    add_line(VALID[i]);
  }
  EXPECT_REJECT(parse_text(), "line 25: more than 16 Next lines");
}

SW_TEST(keys_rejects_next_without_next_threshold) {
  EXPECT_REJECT(parse_with("Next-Threshold", NULL), "missing field Next-Threshold (required when Next is present)");
}

SW_TEST(keys_rejects_next_threshold_without_next) {
  EXPECT_REJECT(parse_with("Next", NULL), "line 9: Next-Threshold without any Next line");
}

SW_TEST(keys_rejects_next_threshold_zero) {
  EXPECT_REJECT(parse_with("Next-Threshold", "Next-Threshold: 0"), "line 10: Next-Threshold must be at least 1");
}

SW_TEST(keys_rejects_next_threshold_above_next_count) {
  EXPECT_REJECT(parse_with("Next-Threshold", "Next-Threshold: 2"), "line 10: Next-Threshold 2 is more than the 1 Next lines");
}

SW_TEST(keys_rejects_floor_without_equals) {
  EXPECT_REJECT(parse_with("Sequence-Floor", "Sequence-Floor: stable"), "line 11: Sequence-Floor entry \"stable\" is not CHANNEL=N");
}

SW_TEST(keys_rejects_floor_bad_channel) {
  EXPECT_REJECT(parse_with("Sequence-Floor", "Sequence-Floor: Stable=4"), "line 11: Sequence-Floor channel \"Stable\" is not a valid name");
  EXPECT_REJECT(parse_with("Sequence-Floor", "Sequence-Floor: =4"), "line 11: Sequence-Floor channel \"\" is not a valid name");
  EXPECT_REJECT(parse_with("Sequence-Floor", "Sequence-Floor: ../x=4"), "Sequence-Floor channel \"../x\"");
}

SW_TEST(keys_rejects_floor_duplicate_channel) {
  EXPECT_REJECT(parse_with("Sequence-Floor", "Sequence-Floor: stable=4 beta=1 stable=9"),
                "line 11: Sequence-Floor names channel stable twice");
}

SW_TEST(keys_rejects_floor_bad_number) {
  EXPECT_REJECT(parse_with("Sequence-Floor", "Sequence-Floor: stable="), "line 11: Sequence-Floor value \"\" is not a decimal number");
  EXPECT_REJECT(parse_with("Sequence-Floor", "Sequence-Floor: stable=-1"), "line 11: Sequence-Floor value \"-1\" is not a decimal number");
  EXPECT_REJECT(parse_with("Sequence-Floor", "Sequence-Floor: stable=010"), "line 11: Sequence-Floor value \"010\" has a leading zero");
  EXPECT_REJECT(parse_with("Sequence-Floor", "Sequence-Floor: stable=18446744073709551616"), "overflows 64 bits");
  EXPECT_REJECT(parse_with("Sequence-Floor", "Sequence-Floor: stable=4=5"), "line 11: Sequence-Floor value \"4=5\"");
}

SW_TEST(keys_rejects_floor_empty_entry) {
  EXPECT_REJECT(parse_with("Sequence-Floor", "Sequence-Floor: stable=4  beta=1"),
                "line 11: Sequence-Floor has an empty entry (entries are separated by one space)");
}

SW_TEST(keys_rejects_seventeen_floors) {
  char line[1024] = "Sequence-Floor:";
  for (int i = 0; i < 17; i++) snprintf(line + strlen(line), sizeof line - strlen(line), " ch%d=%d", i, i);
  EXPECT_REJECT(parse_with("Sequence-Floor", line), "line 11: Sequence-Floor has more than 16 entries");
}

SW_TEST(keys_rejects_keyring_bad_character) {
  EXPECT_REJECT(parse_with("Keyring", "Keyring: mDME*wABtA=="), "line 12: Keyring is not base64 (bad character near offset 4)");
  /* No whitespace inside: one line, one spelling. */
  EXPECT_REJECT(parse_with("Keyring", "Keyring: mDME XwABtA=="), "line 12: Keyring is not base64");
}

SW_TEST(keys_rejects_keyring_without_padding) {
  EXPECT_REJECT(parse_with("Keyring", "Keyring: mDMEXwABtA"),
                "line 12: Keyring is not base64 (length 10 is not a multiple of 4; padding is required)");
}

SW_TEST(keys_rejects_keyring_url_safe_alphabet) {
  EXPECT_REJECT(parse_with("Keyring", "Keyring: mDME_wAB"), "line 12: Keyring is not base64 (bad character");
}

SW_TEST(keys_rejects_keyring_padding_in_the_middle) {
  EXPECT_REJECT(parse_with("Keyring", "Keyring: mD==XwAB"), "line 12: Keyring is not base64 (bad character near offset 0)");
}

SW_TEST(keys_rejects_keyring_non_canonical_padding_bits) {
  EXPECT_REJECT(parse_with("Keyring", "Keyring: mDMEXwABtB=="), "line 12: Keyring is not canonical base64 (non-zero padding bits)");
}

SW_TEST(keys_rejects_keyring_armored_not_binary) {
  /* "-----BEGIN PGP" base64-encoded: first byte '-' (0x2d). */
  EXPECT_REJECT(parse_with("Keyring", "Keyring: LS0tLS1CRUdJTiBQR1A="),
                "line 12: Keyring is not binary OpenPGP (first byte 0x2d; use gpg --export, not --armor)");
}

SW_TEST(keys_rejects_keyring_over_the_limit) {
  /* A Keyring over SW_KEYS_KEYRING_MAX (49152 decoded bytes) needs more than
   * 65536 base64 characters, so the whole-input limit refuses it first; the
   * parser's own Keyring check is the second line of defence. */
  static char big[SW_KEYS_STMT_MAX * 2];
  size_t n = (SW_KEYS_KEYRING_MAX / 3 + 1) * 4; /* 49155 bytes */
  text_len = 0;
  add_line("Format: swarmup-keys/1");
  add_line("Product: p");
  add_line("Version: 1");
  add_line("Date: 2026-12-01T00:00:00Z");
  add_line("Expires: 2027-12-01T00:00:00Z");
  add_line("Threshold: 1");
  strcpy(big, "Keyring: ");
  memset(big + 9, 'm', n);
  big[9 + n] = '\0';
  add_line(big);
  EXPECT_REJECT(parse_text(), "over the 65536-byte limit");
}

/* ---- the fuzz seed corpus stays honest: valid_* parse, bad_* are rejected ---- */

SW_TEST(keys_seed_corpus_matches_file_names) {
  static uint8_t buf[SW_KEYS_STMT_MAX + 1];
  const char *dir = SW_TEST_SRCDIR "/fuzz/corpus/keys";
  DIR *d = opendir(dir);
  struct dirent *e = NULL;
  int n_valid = 0, n_bad = 0;
  if (K == NULL) K = calloc(1, sizeof *K);
  SW_ASSERT(d != NULL && K != NULL);
  for (e = readdir(d); e != NULL; e = readdir(d)) {
    char path[1024];
    FILE *f = NULL;
    size_t n;
    int valid = strncmp(e->d_name, "valid_", 6) == 0;
    if (!valid && strncmp(e->d_name, "bad_", 4) != 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    f = fopen(path, "rb");
    SW_ASSERT(f != NULL);
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if ((sw_keys_parse(buf, n, K, msg, sizeof msg) == SW_OK) != valid)
      SW_FAILF("%s: unexpected result (%s)", e->d_name, msg);
    if (valid) n_valid++;
    else n_bad++;
  }
  closedir(d);
  SW_ASSERT(n_valid >= 3);
  SW_ASSERT(n_bad >= 5);
}
