/* test_magnet.c - the strict magnet parser used for the manifest's Magnet field. */
#include "sw_test.h"

#include "magnet.h"

#define BTMH "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define BTIH "5a6df720540c20d95d530d3fd6885511223d5d20"
#define V2 "magnet:?xt=urn:btmh:1220" BTMH

static char msg[SW_MSG_MAX];
static sw_magnet *G;

/* Parse s from an exact-size heap copy (no NUL), so a read past len is caught by ASan/valgrind. */
static sw_err parse(const char *s) {
  size_t n = strlen(s);
  uint8_t *copy = malloc(n ? n : 1);
  sw_err rc;
  SW_ASSERT(copy != NULL);
  memcpy(copy, s, n);
  if (G == NULL) G = calloc(1, sizeof *G);
  SW_ASSERT(G != NULL);
  msg[0] = '\0';
  rc = sw_magnet_parse(copy, n, G, msg, sizeof msg);
  free(copy);
  return rc;
}

static int all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i]) return 0;
  return 1;
}

#define EXPECT_REJECT(s, needle)                                                                   \
  do {                                                                                             \
    SW_ASSERT_EQ_INT(parse(s), SW_ERR_MANIFEST_SYNTAX);                                            \
    SW_ASSERT_CONTAINS(msg, (needle));                                                             \
    SW_ASSERT(all_zero(G, sizeof *G));                                                             \
  } while (0)

SW_TEST(magnet_accepts_hybrid) {
  SW_ASSERT_EQ_INT(parse(V2 "&xt=urn:btih:" BTIH "&dn=hello%202.tar.gz&tr=udp%3A%2F%2F127.0.0.1%3A6969"
                            "&tr=https://t.example/announce&x.pe=127.0.0.1:6881"),
                   SW_OK);
  SW_ASSERT_EQ_INT(G->btmh[0], 0x2c);
  SW_ASSERT_EQ_INT(G->btmh[31], 0x24);
  SW_ASSERT_EQ_INT(G->has_btih, 1);
  SW_ASSERT_EQ_INT(G->btih[0], 0x5a);
  SW_ASSERT_EQ_INT(G->btih[19], 0x20);
  SW_ASSERT_STREQ(G->dn, "hello 2.tar.gz");
  SW_ASSERT_EQ_INT(G->n_tr, 2);
  SW_ASSERT_STREQ(G->tr[0], "udp://127.0.0.1:6969");
  SW_ASSERT_STREQ(G->tr[1], "https://t.example/announce");
  SW_ASSERT_EQ_INT(G->n_peers, 1);
  SW_ASSERT_STREQ(G->peers[0], "127.0.0.1:6881");
}

SW_TEST(magnet_accepts_btih_before_btmh) {
  SW_ASSERT_EQ_INT(parse("magnet:?xt=urn:btih:" BTIH "&xt=urn:btmh:1220" BTMH), SW_OK);
  SW_ASSERT_EQ_INT(G->has_btih, 1);
  SW_ASSERT_EQ_INT(G->btmh[0], 0x2c);
}

SW_TEST(magnet_accepts_v2_only) {
  SW_ASSERT_EQ_INT(parse(V2), SW_OK);
  SW_ASSERT_EQ_INT(G->has_btih, 0);
  SW_ASSERT_EQ_INT(G->n_tr, 0);
  SW_ASSERT_EQ_INT(G->n_peers, 0);
  SW_ASSERT_STREQ(G->dn, "");
  SW_ASSERT_EQ_INT(G->btmh[1], 0xf2);
}

SW_TEST(magnet_accepts_uppercase_hex) {
  SW_ASSERT_EQ_INT(parse("magnet:?xt=urn:btmh:1220"
                         "2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"),
                   SW_OK);
  SW_ASSERT_EQ_INT(G->btmh[0], 0x2c);
  SW_ASSERT_EQ_INT(G->btmh[31], 0x24);
}

SW_TEST(magnet_rejects_bad_hex) {
  EXPECT_REJECT("magnet:?xt=urn:btmh:1220"
                "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982g",
                "must be followed by 64 hex digits");
}

SW_TEST(magnet_rejects_short_btmh) {
  EXPECT_REJECT("magnet:?xt=urn:btmh:1220"
                "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982",
                "must be followed by 64 hex digits");
}

SW_TEST(magnet_rejects_long_btmh) {
  EXPECT_REJECT(V2 "00", "must be followed by 64 hex digits");
}

SW_TEST(magnet_rejects_btih_only) {
  EXPECT_REJECT("magnet:?xt=urn:btih:" BTIH "&dn=x", "no xt=urn:btmh");
}

SW_TEST(magnet_rejects_duplicate_btmh) {
  EXPECT_REJECT(V2 "&xt=urn:btmh:1220" BTMH, "duplicate xt=urn:btmh");
}

SW_TEST(magnet_rejects_duplicate_btih) {
  EXPECT_REJECT(V2 "&xt=urn:btih:" BTIH "&xt=urn:btih:" BTIH, "duplicate xt=urn:btih");
}

SW_TEST(magnet_rejects_base32_btih) {
  EXPECT_REJECT(V2 "&xt=urn:btih:LJW7OICUBQQNSXKTBU75NCCVCERD2XJA", "xt=urn:btih: must be followed by 40 hex digits");
}

SW_TEST(magnet_rejects_other_multihash) {
  /* 0x11 0x14 would be SHA-1 in multihash: only SHA-256 (0x12 0x20) is a v2 info-hash. */
  EXPECT_REJECT("magnet:?xt=urn:btmh:1114" BTIH, "unsupported xt \"urn:btmh:1114");
}

SW_TEST(magnet_rejects_other_urn) {
  EXPECT_REJECT(V2 "&xt=urn:sha1:" BTIH, "unsupported xt");
}

SW_TEST(magnet_rejects_unknown_key) {
  EXPECT_REJECT(V2 "&ws=https://example.org/f", "unknown parameter \"ws\"");
}

SW_TEST(magnet_rejects_uppercase_key) {
  EXPECT_REJECT(V2 "&DN=x", "unknown parameter \"DN\"");
}

SW_TEST(magnet_rejects_bad_escape) {
  EXPECT_REJECT(V2 "&dn=a%zzb", "dn: bad percent escape");
}

SW_TEST(magnet_rejects_truncated_escape) {
  EXPECT_REJECT(V2 "&dn=a%4", "dn: truncated percent escape");
}

SW_TEST(magnet_rejects_decoded_control_character) {
  EXPECT_REJECT(V2 "&dn=a%0Ab", "dn: decodes to a control or non-ASCII byte 0x0a");
}

SW_TEST(magnet_rejects_decoded_nul) {
  EXPECT_REJECT(V2 "&tr=http://a.example/%00", "tr: decodes to a control or non-ASCII byte 0x00");
}

SW_TEST(magnet_rejects_raw_space) {
  EXPECT_REJECT(V2 "&dn=a b", "byte 0x20");
}

SW_TEST(magnet_plus_is_not_special) {
  SW_ASSERT_EQ_INT(parse(V2 "&dn=a+b%2Bc"), SW_OK);
  SW_ASSERT_STREQ(G->dn, "a+b+c");
}

SW_TEST(magnet_rejects_duplicate_dn) {
  EXPECT_REJECT(V2 "&dn=a&dn=b", "duplicate dn");
}

SW_TEST(magnet_rejects_dn_over_255_bytes) {
  char s[600];
  snprintf(s, sizeof s, "%s&dn=", V2);
  memset(s + strlen(s), 'a', 256);
  s[strlen(V2) + 4 + 256] = '\0';
  EXPECT_REJECT(s, "dn: longer than 255 bytes after decoding");
}

SW_TEST(magnet_rejects_empty_value) {
  EXPECT_REJECT(V2 "&dn=", "parameter 2 has an empty value");
}

SW_TEST(magnet_rejects_key_without_equals) {
  EXPECT_REJECT(V2 "&dn", "parameter 2 has no '='");
}

SW_TEST(magnet_rejects_empty_key) {
  EXPECT_REJECT(V2 "&=x", "parameter 2 has an empty key");
}

SW_TEST(magnet_rejects_empty_parameter) {
  EXPECT_REJECT("magnet:?xt=urn:btih:" BTIH "&&" "xt=urn:btmh:1220" BTMH, "parameter 2 is empty");
}

SW_TEST(magnet_rejects_trailing_ampersand) {
  EXPECT_REJECT(V2 "&", "parameter 2 is empty");
}

SW_TEST(magnet_rejects_wrong_prefix) {
  EXPECT_REJECT("magnet:xt=urn:btmh:1220" BTMH, "does not start with \"magnet:?\"");
  EXPECT_REJECT("MAGNET:?xt=urn:btmh:1220" BTMH, "does not start with");
  EXPECT_REJECT("", "does not start with");
}

SW_TEST(magnet_rejects_no_parameters) {
  EXPECT_REJECT("magnet:?", "has no parameters");
}

SW_TEST(magnet_accepts_sixteen_trackers) {
  char s[2048];
  strcpy(s, V2);
  for (int i = 0; i < 16; i++) snprintf(s + strlen(s), sizeof s - strlen(s), "&tr=udp://t%d.example:6969", i);
  SW_ASSERT_EQ_INT(parse(s), SW_OK);
  SW_ASSERT_EQ_INT(G->n_tr, 16);
  SW_ASSERT_STREQ(G->tr[15], "udp://t15.example:6969");
}

SW_TEST(magnet_rejects_too_many_tr) {
  char s[2048];
  strcpy(s, V2);
  for (int i = 0; i < 17; i++) snprintf(s + strlen(s), sizeof s - strlen(s), "&tr=udp://t%d.example:6969", i);
  EXPECT_REJECT(s, "more than 16 tr parameters");
}

SW_TEST(magnet_rejects_tracker_with_other_scheme) {
  EXPECT_REJECT(V2 "&tr=wss://t.example/announce", "tracker \"wss://t.example/announce\" is not an http");
}

SW_TEST(magnet_rejects_tracker_without_host) {
  EXPECT_REJECT(V2 "&tr=http:///announce", "is not an http, https or udp URL with a host");
}

SW_TEST(magnet_accepts_x_pe_forms) {
  SW_ASSERT_EQ_INT(parse(V2 "&x.pe=127.0.0.1:6881&x.pe=seed.example.org:1&x.pe=[::1]:65535"
                            "&x.pe=%5B2001:db8::7%5D:51413"),
                   SW_OK);
  SW_ASSERT_EQ_INT(G->n_peers, 4);
  SW_ASSERT_STREQ(G->peers[0], "127.0.0.1:6881");
  SW_ASSERT_STREQ(G->peers[1], "seed.example.org:1");
  SW_ASSERT_STREQ(G->peers[2], "[::1]:65535");
  SW_ASSERT_STREQ(G->peers[3], "[2001:db8::7]:51413");
}

SW_TEST(magnet_rejects_bad_x_pe_forms) {
  static const char *const bad[] = {
      "127.0.0.1",        /* no port */
      "127.0.0.1:0",      /* port 0 */
      "127.0.0.1:65536",  /* port too big */
      "127.0.0.1:0681",   /* leading zero */
      "127.0.0.1:",       /* empty port */
      ":6881",            /* empty host */
      "[::1]",            /* v6 without port */
      "::1:6881",         /* v6 without brackets */
      "[]:6881",          /* empty v6 */
      "[1.2.3.4]:6881",   /* brackets without v6 */
      "host_name:6881",   /* '_' not a host character */
      "a.example:68x1",   /* non-digit port */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char s[300];
    snprintf(s, sizeof s, "%s&x.pe=%s", V2, bad[i]);
    EXPECT_REJECT(s, "is not host:port or [v6]:port");
  }
}

SW_TEST(magnet_rejects_too_many_peers) {
  char s[2048];
  strcpy(s, V2);
  for (int i = 0; i < 17; i++) snprintf(s + strlen(s), sizeof s - strlen(s), "&x.pe=10.0.0.%d:6881", i + 1);
  EXPECT_REJECT(s, "more than 16 x.pe parameters");
}

SW_TEST(magnet_rejects_peer_over_64_bytes) {
  char s[400];
  snprintf(s, sizeof s, "%s&x.pe=", V2);
  memset(s + strlen(s), 'a', 70);
  strcpy(s + strlen(V2) + 6 + 70, ":1");
  EXPECT_REJECT(s, "x.pe: longer than 64 bytes");
}

SW_TEST(magnet_error_leaves_output_zeroed) {
  SW_ASSERT_EQ_INT(parse(V2 "&dn=ok"), SW_OK);
  SW_ASSERT_STREQ(G->dn, "ok");
  /* btmh and dn are stored before the bad parameter is reached. */
  EXPECT_REJECT(V2 "&dn=ok&bogus=1", "unknown parameter");
}
