/* test_manifest.c - the swarmup/1 manifest parser: one valid manifest, and
 * each malformation of it rejected with a message naming line and problem. */
#include "sw_test.h"

#include <dirent.h>

#include "manifest.h"

#define SW_TESTDOC_CAP (SW_MANIFEST_MAX * 2)
#include "sw_testdoc.h"

#define BTMH "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define BTIH "5a6df720540c20d95d530d3fd6885511223d5d20"
#define SHA "33d6b3af08ff743f266a001576a27cea7a309fa4345e6fba4f66d85483f1becb"
#define SIG                                                                                        \
  "wnUEABYKLXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIEtcRZCtyawRAFifKn7rDL1yFMPsZA8xNsCJYcXkhpIgS1x" \
  "FkK3JrBEAWJ8qfusMvXIUw+xkDzE2wIlhxeSGkiB"

/* Line numbers below follow this order (Signature is line 13). */
static const char *const VALID[] = {
    "Format: swarmup/1",
    "Product: hello",
    "Channel: stable",
    "Version: 3.2.0 (beta 1)",
    "Sequence: 42",
    "Date: 2026-11-26T12:00:00Z",
    "Expires: 2026-12-26T12:00:00Z",
    "File: hello-3.2.0.tar.gz",
    "Size: 10485760",
    "SHA256: " SHA,
    "Magnet: magnet:?xt=urn:btmh:1220" BTMH "&xt=urn:btih:" BTIH "&dn=hello-3.2.0.tar.gz"
    "&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce&x.pe=127.0.0.1:6881",
    "Fallback: https://example.org/hello/hello-3.2.0.tar.gz https://mirror.example.net:8443/h/hello-3.2.0.tar.gz",
    "Signature: " SIG,
    NULL,
};

static char msg[SW_MSG_MAX];
static sw_manifest *M;

/* The valid manifest with the line of `field` replaced by `line` (NULL: removed). */
static void build_with(const char *field, const char *line) { sw_testdoc_build(VALID, field, line); }

static sw_err parse_text(void) {
  if (M == NULL) M = calloc(1, sizeof *M);
  SW_ASSERT(M != NULL);
  msg[0] = '\0';
  return sw_manifest_parse((const uint8_t *)text, text_len, M, msg, sizeof msg);
}

static sw_err parse_with(const char *field, const char *line) {
  build_with(field, line);
  return parse_text();
}

/* The valid manifest plus raw bytes appended (must end in LF to be a line). */
static sw_err parse_plus(const char *raw) {
  build_with(NULL, NULL);
  add(raw, strlen(raw));
  return parse_text();
}

/* Rejected, with the message, and nothing that looks parsed left behind. */
#define EXPECT_REJECT(expr, needle)                                                                \
  do {                                                                                             \
    SW_ASSERT_EQ_INT((expr), SW_ERR_MANIFEST_SYNTAX);                                              \
    SW_ASSERT_CONTAINS(msg, (needle));                                                             \
    SW_ASSERT(strchr(msg, '\n') == NULL);                                                          \
    SW_ASSERT(all_zero(M, sizeof *M));                                                             \
  } while (0)

static void check_valid_values(void) {
  static const uint8_t sha0[4] = {0x33, 0xd6, 0xb3, 0xaf};
  static const uint8_t btmh0[4] = {0x2c, 0xf2, 0x4d, 0xba};
  SW_ASSERT_STREQ(M->product, "hello");
  SW_ASSERT_STREQ(M->channel, "stable");
  SW_ASSERT_STREQ(M->version, "3.2.0 (beta 1)");
  SW_ASSERT_EQ_INT(M->sequence, 42);
  SW_ASSERT_EQ_INT(M->date, 1795694400);
  SW_ASSERT_EQ_INT(M->expires, 1798286400);
  SW_ASSERT_STREQ(M->file, "hello-3.2.0.tar.gz");
  SW_ASSERT_EQ_INT(M->size, 10485760);
  SW_ASSERT(memcmp(M->sha256, sha0, 4) == 0);
  SW_ASSERT_EQ_INT(M->sha256[31], 0xcb);
  SW_ASSERT(strncmp(M->magnet_uri, "magnet:?xt=urn:btmh:1220" BTMH, 88) == 0);
  SW_ASSERT(memcmp(M->magnet.btmh, btmh0, 4) == 0);
  SW_ASSERT_EQ_INT(M->magnet.has_btih, 1);
  SW_ASSERT_EQ_INT(M->magnet.btih[0], 0x5a);
  SW_ASSERT_STREQ(M->magnet.dn, "hello-3.2.0.tar.gz");
  SW_ASSERT_EQ_INT(M->magnet.n_tr, 1);
  SW_ASSERT_STREQ(M->magnet.tr[0], "http://127.0.0.1:6969/announce");
  SW_ASSERT_EQ_INT(M->magnet.n_peers, 1);
  SW_ASSERT_STREQ(M->magnet.peers[0], "127.0.0.1:6881");
  SW_ASSERT_EQ_INT(M->n_fallback, 2);
  SW_ASSERT_STREQ(M->fallback[0], "https://example.org/hello/hello-3.2.0.tar.gz");
  SW_ASSERT_STREQ(M->fallback[1], "https://mirror.example.net:8443/h/hello-3.2.0.tar.gz");
  SW_ASSERT_EQ_INT(M->signature_len, 102);
  SW_ASSERT_EQ_INT(M->signature[0], 0xc2);
  SW_ASSERT_EQ_INT(M->signature[101], 0x81);
  SW_ASSERT_STREQ(M->torrent_url, "");
}

/* ---- accepted ---- */

SW_TEST(manifest_accepts_valid) {
  SW_ASSERT_EQ_INT(parse_with(NULL, NULL), SW_OK);
  SW_ASSERT_STREQ(msg, "");
  check_valid_values();
}

SW_TEST(manifest_accepts_fields_in_any_order) {
  int n = 0;
  while (VALID[n]) n++;
  text_len = 0;
  for (int i = n - 1; i >= 0; i--) add_line(VALID[i]);
  SW_ASSERT_EQ_INT(parse_text(), SW_OK);
  check_valid_values();
}

SW_TEST(manifest_accepts_optional_torrent) {
  SW_ASSERT_EQ_INT(parse_plus("Torrent: https://example.org/hello-3.2.0.tar.gz.torrent\n"), SW_OK);
  SW_ASSERT_STREQ(M->torrent_url, "https://example.org/hello-3.2.0.tar.gz.torrent");
}

SW_TEST(manifest_ignores_x_fields) {
  SW_ASSERT_EQ_INT(parse_plus("X-Notes: Grüße, 世界 — fixed the frobnicator\nX-Build: 1234\n"), SW_OK);
  check_valid_values();
}

SW_TEST(manifest_accepts_uppercase_https_scheme) {
  SW_ASSERT_EQ_INT(parse_with("Fallback", "Fallback: HTTPS://example.org/a"), SW_OK);
  SW_ASSERT_STREQ(M->fallback[0], "HTTPS://example.org/a");
}

SW_TEST(manifest_accepts_eight_fallbacks) {
  char line[1024] = "Fallback:";
  for (int i = 0; i < 8; i++) snprintf(line + strlen(line), sizeof line - strlen(line), " https://m%d.example/f", i);
  SW_ASSERT_EQ_INT(parse_with("Fallback", line), SW_OK);
  SW_ASSERT_EQ_INT(M->n_fallback, 8);
  SW_ASSERT_STREQ(M->fallback[7], "https://m7.example/f");
}

SW_TEST(manifest_accepts_sequence_uint64_max) {
  SW_ASSERT_EQ_INT(parse_with("Sequence", "Sequence: 18446744073709551615"), SW_OK);
  SW_ASSERT(M->sequence == UINT64_MAX);
}

SW_TEST(manifest_accepts_feb_29_in_leap_year) {
  SW_ASSERT_EQ_INT(parse_with("Expires", "Expires: 2028-02-29T00:00:00Z"), SW_OK);
  SW_ASSERT_EQ_INT(M->expires, 1835395200);
}

SW_TEST(manifest_accepts_file_name_of_255_bytes) {
  char line[300] = "File: ";
  memset(line + 6, 'a', 255);
  line[6 + 255] = '\0';
  SW_ASSERT_EQ_INT(parse_with("File", line), SW_OK);
  SW_ASSERT_EQ_INT(strlen(M->file), 255);
}

SW_TEST(manifest_accepts_old_format_signature_packet) {
  SW_ASSERT_EQ_INT(parse_with("Signature", "Signature: iQECAw=="), SW_OK);
  SW_ASSERT_EQ_INT(M->signature_len, 4);
  SW_ASSERT_EQ_INT(M->signature[0], 0x89);
  SW_ASSERT_EQ_INT(M->signature[3], 0x03);
}

SW_TEST(manifest_accepts_single_padding_signature) {
  SW_ASSERT_EQ_INT(parse_with("Signature", "Signature: wgE="), SW_OK);
  SW_ASSERT_EQ_INT(M->signature_len, 2);
  SW_ASSERT_EQ_INT(M->signature[1], 0x01);
}

SW_TEST(manifest_accepts_line_of_exactly_4096_bytes) {
  static char line[SW_MANIFEST_LINE_MAX + 2];
  memcpy(line, "X-Pad: ", 7);
  memset(line + 7, 'p', SW_MANIFEST_LINE_MAX - 7);
  line[SW_MANIFEST_LINE_MAX] = '\n';
  line[SW_MANIFEST_LINE_MAX + 1] = '\0';
  SW_ASSERT_EQ_INT(parse_plus(line), SW_OK);
}

SW_TEST(manifest_accepts_exactly_64_kib) {
  build_with(NULL, NULL);
  while (text_len < SW_MANIFEST_MAX) {
    size_t room = SW_MANIFEST_MAX - text_len; /* bytes still to add, including the LF */
    size_t n = room > 1000 ? 1000 : room;
    if (room - n > 0 && room - n < 10) n -= 10; /* never leave a remainder too short for a line */
    add("X-P: ", 5);
    for (size_t i = 5; i + 1 < n; i++) add("x", 1);
    add("\n", 1);
  }
  SW_ASSERT_EQ_INT(text_len, SW_MANIFEST_MAX);
  SW_ASSERT_EQ_INT(parse_text(), SW_OK);
}

/* ---- framing: size, lines, bytes ---- */

SW_TEST(manifest_rejects_oversize) {
  build_with(NULL, NULL);
  while (text_len < 70000) add_line("X-Pad: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  text_len = 70000;
  EXPECT_REJECT(parse_text(), "manifest is 70000 bytes, over the 65536-byte limit");
}

SW_TEST(manifest_rejects_empty_manifest) {
  text_len = 0;
  EXPECT_REJECT(parse_text(), "manifest is empty");
}

SW_TEST(manifest_rejects_long_line) {
  static char line[SW_MANIFEST_LINE_MAX + 3];
  memcpy(line, "X-Pad: ", 7);
  memset(line + 7, 'p', SW_MANIFEST_LINE_MAX + 1 - 7);
  line[SW_MANIFEST_LINE_MAX + 1] = '\n';
  line[SW_MANIFEST_LINE_MAX + 2] = '\0';
  EXPECT_REJECT(parse_plus(line), "line 14: longer than 4096 bytes");
}

SW_TEST(manifest_rejects_crlf) {
  text_len = 0;
  for (int i = 0; VALID[i]; i++) {
    add(VALID[i], strlen(VALID[i]));
    add("\r\n", 2);
  }
  EXPECT_REJECT(parse_text(), "line 1: carriage return");
}

SW_TEST(manifest_rejects_missing_final_lf) {
  build_with(NULL, NULL);
  text_len--; /* drop the last LF */
  EXPECT_REJECT(parse_text(), "line 13: does not end in LF");
}

SW_TEST(manifest_rejects_nul) {
  build_with(NULL, NULL);
  text[2] = '\0'; /* inside "Format" */
  EXPECT_REJECT(parse_text(), "line 1: NUL byte at column 3");
}

SW_TEST(manifest_rejects_nul_in_x_field) {
  static const char raw[] = "X-Note: a\0b\n";
  build_with(NULL, NULL);
  add(raw, sizeof raw - 1);
  EXPECT_REJECT(parse_text(), "line 14: NUL byte");
}

SW_TEST(manifest_rejects_tab) {
  EXPECT_REJECT(parse_with("Version", "Version: 3.2.0\tx"), "line 4: control character 0x09");
}

SW_TEST(manifest_rejects_del_character) {
  EXPECT_REJECT(parse_with("Version", "Version: 3.2\x7f"), "line 4: control character 0x7f");
}

SW_TEST(manifest_rejects_escape_in_x_field) {
  EXPECT_REJECT(parse_plus("X-Note: \x1b[31mred\n"), "line 14: control character 0x1b");
}

SW_TEST(manifest_rejects_empty_line) {
  EXPECT_REJECT(parse_plus("\n"), "line 14: empty line");
}

SW_TEST(manifest_rejects_line_without_colon) {
  EXPECT_REJECT(parse_plus("just some text\n"), "line 14: \"just some text\" is not a \"Field: value\" line");
}

SW_TEST(manifest_rejects_no_space_after_colon) {
  EXPECT_REJECT(parse_with("Channel", "Channel:stable"), "line 3: field Channel: expected one space after ':'");
}

SW_TEST(manifest_rejects_two_spaces_after_colon) {
  EXPECT_REJECT(parse_with("Channel", "Channel:  stable"), "line 3: field Channel: more than one space");
}

SW_TEST(manifest_rejects_space_before_colon) {
  EXPECT_REJECT(parse_with("Channel", "Channel : stable"), "line 3: bad field name \"Channel \"");
}

SW_TEST(manifest_rejects_trailing_space) {
  EXPECT_REJECT(parse_with("Version", "Version: 3.2.0 "), "line 4: field Version has trailing space");
}

SW_TEST(manifest_rejects_empty_value) {
  EXPECT_REJECT(parse_with("Version", "Version: "), "line 4: field Version has an empty value");
}

SW_TEST(manifest_rejects_unknown_field) {
  EXPECT_REJECT(parse_plus("Foo: bar\n"), "line 14: unknown field Foo");
}

SW_TEST(manifest_rejects_field_name_in_wrong_case) {
  EXPECT_REJECT(parse_with("Product", "product: hello"), "line 2: unknown field product");
}

SW_TEST(manifest_rejects_lowercase_x_prefix) {
  EXPECT_REJECT(parse_plus("x-note: hi\n"), "line 14: unknown field x-note");
}

SW_TEST(manifest_rejects_invalid_utf8_in_x_field) {
  EXPECT_REJECT(parse_plus("X-Note: \xc3\x28\n"), "line 14: field X-Note is not valid UTF-8");
}

SW_TEST(manifest_rejects_overlong_utf8_in_x_field) {
  EXPECT_REJECT(parse_plus("X-Note: \xc0\xaf\n"), "line 14: field X-Note is not valid UTF-8");
}

SW_TEST(manifest_rejects_utf16_surrogate_in_x_field) {
  EXPECT_REJECT(parse_plus("X-Note: \xed\xa0\x80\n"), "not valid UTF-8");
}

SW_TEST(manifest_rejects_non_ascii_outside_x_fields) {
  EXPECT_REJECT(parse_with("Version", "Version: 3.2.0-\xc3\xa9t\xc3\xa9"), "line 4: field Version has a non-ASCII byte");
}

SW_TEST(manifest_rejects_duplicate_field) {
  EXPECT_REJECT(parse_plus("Sequence: 43\n"), "line 14: duplicate field Sequence");
}

SW_TEST(manifest_rejects_duplicate_optional_torrent) {
  EXPECT_REJECT(parse_plus("Torrent: https://a.example/t.torrent\nTorrent: https://a.example/t.torrent\n"),
                "line 15: duplicate field Torrent");
}

SW_TEST(manifest_rejects_missing_sha256) {
  EXPECT_REJECT(parse_with("SHA256", NULL), "missing field SHA256");
}

SW_TEST(manifest_rejects_each_missing_required_field) {
  static const char *const names[] = {"Format", "Product", "Channel", "Version", "Sequence",
                                      "Date",   "Expires", "File",    "Size",    "SHA256",
                                      "Magnet", "Fallback", "Signature"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char want[64];
    snprintf(want, sizeof want, "missing field %s", names[i]);
    EXPECT_REJECT(parse_with(names[i], NULL), want);
  }
}

/* ---- field values ---- */

SW_TEST(manifest_rejects_other_format) {
  EXPECT_REJECT(parse_with("Format", "Format: swarmup/2"), "line 1: unsupported Format \"swarmup/2\"");
}

SW_TEST(manifest_rejects_uppercase_product) {
  EXPECT_REJECT(parse_with("Product", "Product: Hello"), "line 2: Product \"Hello\" is not a valid name");
}

SW_TEST(manifest_rejects_product_starting_with_dot) {
  EXPECT_REJECT(parse_with("Product", "Product: .hello"), "line 2: Product \".hello\" is not a valid name");
}

SW_TEST(manifest_rejects_product_over_64_bytes) {
  char line[100] = "Product: ";
  memset(line + 9, 'a', 65);
  line[9 + 65] = '\0';
  EXPECT_REJECT(parse_with("Product", line), "line 2: Product");
}

SW_TEST(manifest_rejects_channel_with_slash) {
  EXPECT_REJECT(parse_with("Channel", "Channel: sta/ble"), "line 3: Channel \"sta/ble\" is not a valid name");
}

SW_TEST(manifest_rejects_version_over_64_bytes) {
  char line[100] = "Version: ";
  memset(line + 9, '1', 65);
  line[9 + 65] = '\0';
  EXPECT_REJECT(parse_with("Version", line), "line 4: Version is 65 bytes, over the 64-byte limit");
}

SW_TEST(manifest_rejects_sequence_overflow) {
  EXPECT_REJECT(parse_with("Sequence", "Sequence: 18446744073709551616"),
                "line 5: Sequence \"18446744073709551616\" overflows 64 bits");
}

SW_TEST(manifest_rejects_leading_zero) {
  EXPECT_REJECT(parse_with("Sequence", "Sequence: 042"), "line 5: Sequence \"042\" has a leading zero");
}

SW_TEST(manifest_rejects_zero_sequence) {
  EXPECT_REJECT(parse_with("Sequence", "Sequence: 0"), "line 5: Sequence must be at least 1");
}

SW_TEST(manifest_rejects_signed_sequence) {
  EXPECT_REJECT(parse_with("Sequence", "Sequence: +42"), "line 5: Sequence \"+42\" is not a decimal number");
}

SW_TEST(manifest_rejects_hex_size) {
  EXPECT_REJECT(parse_with("Size", "Size: 0x10"), "line 9: Size \"0x10\" is not a decimal number");
}

SW_TEST(manifest_rejects_zero_size) {
  EXPECT_REJECT(parse_with("Size", "Size: 0"), "line 9: Size must be at least 1");
}

SW_TEST(manifest_rejects_feb_30) {
  EXPECT_REJECT(parse_with("Date", "Date: 2026-02-30T12:00:00Z"),
                "line 6: Date \"2026-02-30T12:00:00Z\" is not a valid");
}

SW_TEST(manifest_rejects_feb_29_in_common_year) {
  EXPECT_REJECT(parse_with("Date", "Date: 2026-02-29T12:00:00Z"), "line 6: Date");
}

SW_TEST(manifest_rejects_feb_29_in_2100) {
  EXPECT_REJECT(parse_with("Expires", "Expires: 2100-02-29T00:00:00Z"), "line 7: Expires");
}

SW_TEST(manifest_rejects_april_31) {
  EXPECT_REJECT(parse_with("Date", "Date: 2026-04-31T12:00:00Z"), "line 6: Date");
}

SW_TEST(manifest_rejects_month_13) {
  EXPECT_REJECT(parse_with("Date", "Date: 2026-13-01T12:00:00Z"), "line 6: Date");
}

SW_TEST(manifest_rejects_hour_24) {
  EXPECT_REJECT(parse_with("Date", "Date: 2026-11-26T24:00:00Z"), "line 6: Date");
}

SW_TEST(manifest_rejects_leap_second) {
  EXPECT_REJECT(parse_with("Date", "Date: 2026-11-26T23:59:60Z"), "line 6: Date");
}

SW_TEST(manifest_rejects_date_with_offset) {
  EXPECT_REJECT(parse_with("Date", "Date: 2026-11-26T12:00:00+00:00"), "line 6: Date");
}

SW_TEST(manifest_rejects_date_without_z) {
  EXPECT_REJECT(parse_with("Date", "Date: 2026-11-26T12:00:00"), "line 6: Date");
}

SW_TEST(manifest_rejects_lowercase_t_and_z) {
  EXPECT_REJECT(parse_with("Date", "Date: 2026-11-26t12:00:00z"), "line 6: Date");
}

SW_TEST(manifest_rejects_fractional_seconds) {
  EXPECT_REJECT(parse_with("Date", "Date: 2026-11-26T12:00:00.5Z"), "line 6: Date");
}

SW_TEST(manifest_rejects_expires_before_date) {
  EXPECT_REJECT(parse_with("Expires", "Expires: 2026-11-25T12:00:00Z"),
                "line 7: Expires 2026-11-25T12:00:00Z is not after Date 2026-11-26T12:00:00Z");
}

SW_TEST(manifest_rejects_expires_equal_to_date) {
  EXPECT_REJECT(parse_with("Expires", "Expires: 2026-11-26T12:00:00Z"), "is not after Date");
}

SW_TEST(manifest_rejects_file_with_dotdot) {
  EXPECT_REJECT(parse_with("File", "File: ../x"), "line 8: File \"../x\" is not a plain file name");
}

SW_TEST(manifest_rejects_file_dotdot_alone) {
  EXPECT_REJECT(parse_with("File", "File: .."), "line 8: File \"..\" is not a plain file name");
}

SW_TEST(manifest_rejects_file_absolute_path) {
  EXPECT_REJECT(parse_with("File", "File: /etc/passwd"), "line 8: File \"/etc/passwd\" is not a plain file name");
}

SW_TEST(manifest_rejects_hidden_file) {
  EXPECT_REJECT(parse_with("File", "File: .hidden"), "line 8: File \".hidden\" is not a plain file name");
}

SW_TEST(manifest_rejects_file_with_slash) {
  EXPECT_REJECT(parse_with("File", "File: a/b"), "line 8: File \"a/b\" is not a plain file name");
}

SW_TEST(manifest_rejects_file_with_backslash) {
  EXPECT_REJECT(parse_with("File", "File: a\\b"), "line 8: File");
}

SW_TEST(manifest_rejects_file_starting_with_dash) {
  EXPECT_REJECT(parse_with("File", "File: -rf"), "line 8: File \"-rf\"");
}

SW_TEST(manifest_rejects_file_name_of_256_bytes) {
  char line[300] = "File: ";
  memset(line + 6, 'a', 256);
  line[6 + 256] = '\0';
  EXPECT_REJECT(parse_with("File", line), "line 8: File");
}

SW_TEST(manifest_quotes_untrusted_text_short) {
  char line[400] = "File: ../";
  memset(line + 9, 'a', 300);
  line[9 + 300] = '\0';
  EXPECT_REJECT(parse_with("File", line), "...\" is not a plain file name");
  SW_ASSERT(strlen(msg) < 160);
}

SW_TEST(manifest_rejects_uppercase_sha256) {
  char line[100] = "SHA256: " SHA;
  line[8] = 'A'; /* the first digit is '3': make it an uppercase hex letter */
  EXPECT_REJECT(parse_with("SHA256", line), "line 10: SHA256 must be 64 lowercase hex digits");
}

SW_TEST(manifest_rejects_short_sha256) {
  char line[100] = "SHA256: " SHA;
  line[strlen(line) - 1] = '\0';
  EXPECT_REJECT(parse_with("SHA256", line), "line 10: SHA256 must be 64 lowercase hex digits, got 63 bytes");
}

SW_TEST(manifest_rejects_magnet_without_btmh) {
  EXPECT_REJECT(parse_with("Magnet", "Magnet: magnet:?xt=urn:btih:" BTIH), "line 11: Magnet: no xt=urn:btmh");
}

SW_TEST(manifest_rejects_magnet_with_unknown_key) {
  EXPECT_REJECT(parse_with("Magnet", "Magnet: magnet:?xt=urn:btmh:1220" BTMH "&ws=https://x.example/f"),
                "line 11: Magnet: unknown parameter \"ws\"");
}

SW_TEST(manifest_rejects_http_fallback) {
  EXPECT_REJECT(parse_with("Fallback", "Fallback: http://example.org/f"), "line 12: Fallback URL 1 is not https://");
}

SW_TEST(manifest_rejects_second_fallback_not_https) {
  EXPECT_REJECT(parse_with("Fallback", "Fallback: https://a.example/f ftp://b.example/f"),
                "line 12: Fallback URL 2 is not https://");
}

SW_TEST(manifest_rejects_fallback_double_space) {
  EXPECT_REJECT(parse_with("Fallback", "Fallback: https://a.example/f  https://b.example/f"),
                "line 12: Fallback URL 2 is empty");
}

SW_TEST(manifest_rejects_fallback_without_host) {
  EXPECT_REJECT(parse_with("Fallback", "Fallback: https:///etc/passwd"), "line 12: Fallback URL 1 has no host");
}

SW_TEST(manifest_rejects_fallback_with_empty_host_and_port) {
  EXPECT_REJECT(parse_with("Fallback", "Fallback: https://:443/f"), "line 12: Fallback URL 1 has no host");
}

SW_TEST(manifest_rejects_nine_fallbacks) {
  char line[1024] = "Fallback:";
  for (int i = 0; i < 9; i++) snprintf(line + strlen(line), sizeof line - strlen(line), " https://m%d.example/f", i);
  EXPECT_REJECT(parse_with("Fallback", line), "line 12: Fallback has more than 8 URLs");
}

SW_TEST(manifest_rejects_fallback_url_over_2048_bytes) {
  static char line[3000];
  strcpy(line, "Fallback: https://example.org/");
  memset(line + strlen(line), 'a', 2100);
  EXPECT_REJECT(parse_with("Fallback", line), "line 12: Fallback URL 1 is 2120 bytes, over the 2048-byte limit");
}

SW_TEST(manifest_rejects_http_torrent_url) {
  EXPECT_REJECT(parse_plus("Torrent: http://example.org/t.torrent\n"), "line 14: Torrent URL is not https://");
}

SW_TEST(manifest_rejects_torrent_url_with_space) {
  EXPECT_REJECT(parse_plus("Torrent: https://example.org/a b.torrent\n"), "line 14: Torrent URL contains a space");
}

SW_TEST(manifest_rejects_bad_base64_signature) {
  EXPECT_REJECT(parse_with("Signature", "Signature: wnUE*BYK"), "line 13: Signature is not base64 (bad character");
}

SW_TEST(manifest_rejects_signature_length_not_multiple_of_4) {
  EXPECT_REJECT(parse_with("Signature", "Signature: wnUEABY"), "line 13: Signature is not base64 (length 7");
}

SW_TEST(manifest_rejects_signature_with_padding_inside) {
  EXPECT_REJECT(parse_with("Signature", "Signature: wg==wg=="), "line 13: Signature is not base64");
}

SW_TEST(manifest_rejects_signature_with_nonzero_padding_bits) {
  EXPECT_REJECT(parse_with("Signature", "Signature: wh=="), "line 13: Signature is not canonical base64");
}

SW_TEST(manifest_rejects_signature_with_urlsafe_alphabet) {
  EXPECT_REJECT(parse_with("Signature", "Signature: wn_-"), "line 13: Signature is not base64");
}

SW_TEST(manifest_rejects_signature_that_is_not_a_signature_packet) {
  /* 0x99 is an old-format public-key packet: a key is not a signature. */
  EXPECT_REJECT(parse_with("Signature", "Signature: mQEC"),
                "line 13: Signature is not an OpenPGP signature packet (first byte 0x99)");
}

/* ---- the output contract ---- */

SW_TEST(manifest_error_leaves_output_zeroed) {
  SW_ASSERT_EQ_INT(parse_with(NULL, NULL), SW_OK);
  SW_ASSERT_EQ_INT(M->sequence, 42);
  /* Fails on the last line, after every other field was stored. */
  SW_ASSERT_EQ_INT(parse_with("Signature", "Signature: mQEC"), SW_ERR_MANIFEST_SYNTAX);
  SW_ASSERT(all_zero(M, sizeof *M));
}

SW_TEST(manifest_parse_needs_no_nul_terminator) {
  /* Parse from an exact-size heap copy so ASan/valgrind catch any read past len. */
  uint8_t *copy = NULL;
  build_with(NULL, NULL);
  copy = malloc(text_len);
  SW_ASSERT(copy != NULL);
  memcpy(copy, text, text_len);
  if (M == NULL) M = calloc(1, sizeof *M);
  SW_ASSERT_EQ_INT(sw_manifest_parse(copy, text_len, M, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(sw_manifest_parse(copy, text_len - 1, M, msg, sizeof msg), SW_ERR_MANIFEST_SYNTAX);
  free(copy);
}

/* ---- helpers ---- */

SW_TEST(manifest_time_parses_known_instants) {
  static const struct {
    const char *s;
    int64_t t;
  } cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59Z", -1},
      {"2000-02-29T23:59:59Z", 951868799},
      {"2026-11-26T12:00:00Z", 1795694400},
      {"2038-01-19T03:14:08Z", 2147483648LL},
      {"0001-01-01T00:00:00Z", -62135596800LL},
      {"9999-12-31T23:59:59Z", 253402300799LL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t t = 0;
    char back[21];
    SW_ASSERT_EQ_INT(sw_manifest_parse_time(cases[i].s, 20, &t), SW_OK);
    SW_ASSERT_EQ_INT(t, cases[i].t);
    sw_manifest_format_time(t, back);
    SW_ASSERT_STREQ(back, cases[i].s);
  }
}

SW_TEST(manifest_time_does_not_depend_on_tz) {
  int64_t t = 0;
  char out[21];
  setenv("TZ", "America/New_York", 1);
  SW_ASSERT_EQ_INT(sw_manifest_parse_time("2026-07-01T00:00:00Z", 20, &t), SW_OK);
  SW_ASSERT_EQ_INT(t, 1782864000);
  sw_manifest_format_time(t, out);
  SW_ASSERT_STREQ(out, "2026-07-01T00:00:00Z");
}

SW_TEST(manifest_time_roundtrips_every_day_for_400_years) {
  for (int64_t t = -86400LL * 365 * 30 + 3723; t < 86400LL * 365 * 370; t += 86400) {
    char s[21];
    int64_t back = 0;
    sw_manifest_format_time(t, s);
    SW_ASSERT_EQ_INT(sw_manifest_parse_time(s, 20, &back), SW_OK);
    SW_ASSERT_EQ_INT(back, t);
  }
}

SW_TEST(manifest_time_rejects_wrong_length) {
  int64_t t = 7;
  SW_ASSERT_EQ_INT(sw_manifest_parse_time("2026-11-26T12:00:00Z", 19, &t), SW_ERR_MANIFEST_SYNTAX);
  SW_ASSERT_EQ_INT(t, 0);
}

SW_TEST(manifest_name_and_file_helpers) {
  SW_ASSERT_EQ_INT(sw_manifest_name_ok("hello", 5), 1);
  SW_ASSERT_EQ_INT(sw_manifest_name_ok("0a._-", 5), 1);
  SW_ASSERT_EQ_INT(sw_manifest_name_ok("-a", 2), 0);
  SW_ASSERT_EQ_INT(sw_manifest_name_ok("", 0), 0);
  SW_ASSERT_EQ_INT(sw_manifest_file_ok("Hello+1_2-3.tar.gz", 18), 1);
  SW_ASSERT_EQ_INT(sw_manifest_file_ok(".", 1), 0);
  SW_ASSERT_EQ_INT(sw_manifest_file_ok("a b", 3), 0);
  SW_ASSERT_EQ_INT(sw_manifest_file_ok("a\0b", 3), 0);
}

/* The fuzz seed corpus stays honest: valid_* parse, bad_* are rejected. */
SW_TEST(manifest_seed_corpus_matches_file_names) {
  static uint8_t buf[SW_MANIFEST_MAX + 1];
  const char *dir = SW_TEST_SRCDIR "/fuzz/corpus/manifest";
  DIR *d = opendir(dir);
  struct dirent *e = NULL;
  int n_valid = 0, n_bad = 0;
  if (M == NULL) M = calloc(1, sizeof *M);
  SW_ASSERT(d != NULL && M != NULL);
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
    if ((sw_manifest_parse(buf, n, M, msg, sizeof msg) == SW_OK) != valid)
      SW_FAILF("%s: unexpected result (%s)", e->d_name, msg);
    if (valid) n_valid++; else n_bad++;
  }
  closedir(d);
  SW_ASSERT(n_valid >= 3);
  SW_ASSERT(n_bad >= 10);
}
