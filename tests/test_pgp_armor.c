/* test_pgp_armor.c - the armor decoder of verify/pgp.c agrees with gpg.
 *
 * verify/pgp.c decodes armored signatures itself and hands gpg the binary
 * packets inside a one-pass message, so gpg's own armor checks (the CRC-24
 * line above all) no longer run. Every armor that `gpgv` refuses must be
 * refused here too. Each case is also given to gpgv on its detached form, so
 * the test says both what we do and that gpg agrees; signatures are made by
 * the real gpg with keys from tests/lib/mkkeys.sh. */
#include "sw_test.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>

#include "pgp.h"
#include "verify_int.h"

#define SW_FIXTURE_PREFIX "/tmp/swta"
#include "pgp_fixture.h"

#include "fuzz/pgp_diff.h"

static const char DATA[] = "swarmup-2.0.0.tar.gz contents\n\x00\x01\x02 binary tail";

static sw_pgp *open_both(void) {
  static const char *const k[] = {"trusted.asc", "second.asc"};
  return open_keys(k, 2);
}

/* gpgv's keyring: the pinned key files, dearmored (the same keys, nothing else). */
static char g_ring[300], g_vhome[200];
static void gpgv_setup(void) {
  char out[2][300];
  const char *in[2] = {"trusted.asc", "second.asc"};
  uint8_t *ring = NULL;
  size_t total = 0;
  snprintf(g_vhome, sizeof g_vhome, "%s/gpgv.%d", g_dir, (int)getpid());
  SW_ASSERT(mkdir(g_vhome, 0700) == 0 || errno == EEXIST);
  for (int i = 0; i < 2; i++) {
    char src[160];
    snprintf(src, sizeof src, "%s", keyfile(in[i]));
    snprintf(out[i], sizeof out[i], "%s/ring%d.gpg", g_vhome, i);
    char *argv[] = {"gpg", "--homedir", g_home, "--batch", "--yes", "-o", out[i], "--dearmor", src, NULL};
    SW_ASSERT_EQ_INT(run(argv), 0);
  }
  ring = malloc(2 << 20);
  SW_ASSERT(ring != NULL);
  for (int i = 0; i < 2; i++) {
    size_t n;
    uint8_t *b = read_all(out[i], &n);
    memcpy(ring + total, b, n);
    total += n;
    free(b);
  }
  snprintf(g_ring, sizeof g_ring, "%s/ring.gpg", g_vhome);
  write_file(g_ring, ring, total);
  free(ring);
}

static int gpgv_good(const char *sig, size_t n, const void *data, size_t len) {
  int r = pd_gpgv(g_vhome, g_vhome, g_ring, (const uint8_t *)sig, n, data, len);
  if (r < 0) SW_FAILF("could not run gpgv");
  return r;
}

static sw_pgp_verdict ours(sw_pgp *p, const char *sig, size_t n) {
  sw_pgp_verdict v;
  sw_err rc = sw_pgp_verify_mem(p, SW_PGP_PURPOSE_MANIFEST, (const uint8_t *)sig, n, (const uint8_t *)DATA, sizeof DATA, 1, &v);
  if (rc != SW_OK) SW_FAILF("verify did not run: %s: %s", sw_err_name(rc), v.reason);
  return v;
}

/* Both refuse sig; ours with a reason containing why. */
static void both_refuse(sw_pgp *p, const char *sig, size_t n, const char *why, const char *label) {
  sw_pgp_verdict v = ours(p, sig, n);
  if (v.accepted) SW_FAILF("%s: accepted by swarmup:\n%.*s", label, (int)n, sig);
  if (why) SW_ASSERT_CONTAINS(v.reason, why);
  if (gpgv_good(sig, n, DATA, sizeof DATA)) SW_FAILF("%s: gpgv accepts it; the test no longer matches gpg", label);
}

static void both_accept(sw_pgp *p, const char *sig, size_t n, const char *label) {
  sw_pgp_verdict v = ours(p, sig, n);
  if (!v.accepted) SW_FAILF("%s: rejected by swarmup: %s\n%.*s", label, v.reason, (int)n, sig);
  if (!gpgv_good(sig, n, DATA, sizeof DATA)) SW_FAILF("%s: gpgv rejects it", label);
}

/* A's binary signature over DATA, and an armor of it. */
static uint8_t *g_bin;
static size_t g_bin_len;
static size_t armor(const struct pd_armor_opt *o, char *out, size_t cap) {
  if (g_bin == NULL) g_bin = sign_as(A, DATA, sizeof DATA, "--detach-sign", 0, NULL, &g_bin_len);
  size_t n = pd_armor(g_bin, g_bin_len, o, out, cap);
  SW_ASSERT(n > 0);
  return n;
}

/* The offset of the CRC-24 line ("=XXXX") in armored text, or fail. */
static size_t crc_line(const char *t, size_t n) {
  for (size_t i = 1; i + 5 < n; i++)
    if (t[i - 1] == '\n' && t[i] == '=' && t[i + 5] == '\n') return i;
  SW_FAILF("no CRC-24 line in:\n%.*s", (int)n, t);
  return 0;
}

static char *dup_edit(const char *t, size_t n, size_t at, size_t del, const char *ins, size_t *out_len) {
  size_t il = strlen(ins);
  char *o = malloc(n - del + il + 1);
  SW_ASSERT(o != NULL && at + del <= n);
  memcpy(o, t, at);
  memcpy(o + at, ins, il);
  memcpy(o + at + il, t + at + del, n - at - del);
  *out_len = n - del + il;
  o[*out_len] = 0;
  return o;
}

SW_TEST(armored_signature_with_wrong_crc24_is_refused) {
  need_fixture();
  gpgv_setup();
  sw_pgp *p = open_both();
  char good[4096], bad[4096];
  struct pd_armor_opt o = {0};
  o.crc = 1;
  size_t n = armor(&o, good, sizeof good);
  both_accept(p, good, n, "the right CRC-24");
  /* Every one of the 24 bits, and the line gpg itself wrote with one character changed. */
  for (unsigned bit = 0; bit < 24; bit++) {
    char label[32];
    o.crc = 2;
    o.crc_xor = 1u << bit;
    n = armor(&o, bad, sizeof bad);
    snprintf(label, sizeof label, "CRC-24 bit %u flipped", bit);
    both_refuse(p, bad, n, "CRC-24", label);
  }
  size_t an;
  char *arm = (char *)sign_as(A, DATA, sizeof DATA, "--detach-sign", 1, NULL, &an);
  both_accept(p, arm, an, "gpg's own armor");
  size_t c = crc_line(arm, an);
  arm[c + 4] = arm[c + 4] == 'A' ? 'B' : 'A';
  both_refuse(p, arm, an, "CRC-24", "gpg's armor with its CRC-24 line changed");
  free(arm);
  sw_pgp_free(p);
}

SW_TEST(armored_signature_with_malformed_crc24_line_is_refused) {
  need_fixture();
  gpgv_setup();
  sw_pgp *p = open_both();
  char good[4096];
  struct pd_armor_opt o = {0};
  o.crc = 1;
  size_t n = armor(&o, good, sizeof good), m;
  size_t c = crc_line(good, n);
  char *t;
  t = dup_edit(good, n, c + 4, 1, "", &m); /* three characters */
  both_refuse(p, t, m, "CRC-24", "a CRC-24 line of 3 characters");
  free(t);
  t = dup_edit(good, n, c + 2, 1, "!", &m); /* not base64 */
  both_refuse(p, t, m, "CRC-24", "a CRC-24 line with '!'");
  free(t);
  t = dup_edit(good, n, c + 3, 0, " ", &m); /* a blank inside */
  both_refuse(p, t, m, "CRC-24", "a CRC-24 line with a blank inside");
  free(t);
  sw_pgp_free(p);
}

/* gpg 2.2 accepts an armor without a CRC-24 line (RFC 9580 makes it
 * optional) when its data ends in '=' padding; so does swarmup, or a valid
 * signature would be refused. */
SW_TEST(armored_signature_without_crc24_line_is_accepted_as_gpg_does) {
  need_fixture();
  gpgv_setup();
  sw_pgp *p = open_both();
  char t[4096];
  struct pd_armor_opt o = {0};
  o.crc = 0;
  size_t n = armor(&o, t, sizeof t);
  SW_ASSERT(g_bin_len % 3 != 0); /* an ed25519 signature of A: 119 bytes */
  both_accept(p, t, n, "no CRC-24 line");
  o.crlf = 1;
  o.width = 76;
  n = armor(&o, t, sizeof t);
  both_accept(p, t, n, "no CRC-24 line, CRLF, 76 columns");
  sw_pgp_free(p);
}

/* Without padding nothing stops gpg's decoder before the END line, which it
 * then decodes as data: it refuses the signature, and so does swarmup (found
 * by test_pgp_diff: the first version of the new decoder accepted it). */
SW_TEST(armored_signature_with_neither_crc24_nor_padding_is_refused) {
  need_fixture();
  gpgv_setup();
  sw_pgp *p = open_both();
  /* A notation whose value grows by a byte each time: one of them makes the
   * signature a multiple of 3 bytes long (EdDSA MPIs can be a byte short). */
  static const char *const values[] = {"n@test.invalid=1",    "n@test.invalid=12",     "n@test.invalid=123",
                                       "n@test.invalid=1234", "n@test.invalid=12345", "n@test.invalid=123456"};
  int found = 0;
  for (int i = 0; i < 6 && !found; i++) {
    const char *extra[] = {"--sig-notation", values[i], NULL};
    size_t bl, n;
    uint8_t *bin = sign_as(A, DATA, sizeof DATA, "--detach-sign", 0, extra, &bl);
    char t[4096];
    struct pd_armor_opt o = {0};
    if (bl % 3 == 0) {
      found = 1;
      o.crc = 1;
      n = pd_armor(bin, bl, &o, t, sizeof t);
      both_accept(p, t, n, "no padding, a CRC-24 line");
      o.crc = 0;
      n = pd_armor(bin, bl, &o, t, sizeof t);
      both_refuse(p, t, n, "neither padding nor a CRC-24", "neither padding nor a CRC-24 line");
    }
    free(bin);
  }
  if (!found) SW_FAILF("none of 6 signatures was a multiple of 3 bytes long");
  sw_pgp_free(p);
}

/* A "=XXXX" line between body lines ends gpg's data there (and its CRC-24
 * covers only what came before); the old decoder skipped it and went on. */
SW_TEST(armored_signature_with_crc24_line_inside_the_body_is_refused) {
  need_fixture();
  gpgv_setup();
  sw_pgp *p = open_both();
  char good[4096];
  struct pd_armor_opt o = {0};
  o.crc = 1;
  o.width = 16;
  size_t n = armor(&o, good, sizeof good), m;
  size_t c = crc_line(good, n);
  char crc[7];
  memcpy(crc, good + c, 5);
  crc[5] = '\n';
  crc[6] = 0;
  /* after the first body line: the BEGIN line, the blank line, 16 characters */
  size_t at = strlen("-----BEGIN PGP SIGNATURE-----\n\n") + 17;
  char *t = dup_edit(good, n, at, 0, crc, &m);
  both_refuse(p, t, m, NULL, "a CRC-24 line inside the body");
  free(t);
  t = dup_edit(good, n, at, 0, "=twTO\n", &m); /* the CRC-24 of nothing */
  both_refuse(p, t, m, NULL, "the CRC-24 of nothing inside the body");
  free(t);
  sw_pgp_free(p);
}

/* Several blocks: each one's CRC-24 counts (gpgv checks the second block's). */
SW_TEST(second_armor_block_with_wrong_crc24_is_refused) {
  need_fixture();
  gpgv_setup();
  sw_pgp *p = open_both();
  size_t na, ne;
  char *a = (char *)sign_as(A, DATA, sizeof DATA, "--detach-sign", 1, NULL, &na);
  char *e = (char *)sign_as(E, DATA, sizeof DATA, "--detach-sign", 1, NULL, &ne);
  char *two = malloc(na + ne);
  SW_ASSERT(two != NULL);
  memcpy(two, a, na);
  memcpy(two + na, e, ne);
  both_accept(p, two, na + ne, "two armored signatures");
  size_t c = na + crc_line(e, ne);
  two[c + 1] = two[c + 1] == 'A' ? 'B' : 'A';
  both_refuse(p, two, na + ne, "CRC-24", "two blocks, the second's CRC-24 wrong");
  free(two);
  free(a);
  free(e);
  sw_pgp_free(p);
}

/* gpg reads a header line as "Key: value" (or "Key:" alone); anything else
 * before the blank line is an "invalid armor header" to it. */
SW_TEST(armor_header_without_space_after_colon_is_refused) {
  need_fixture();
  gpgv_setup();
  sw_pgp *p = open_both();
  char t[4096];
  struct pd_armor_opt o = {0};
  o.crc = 1;
  o.headers = "Comment: made by a test\nFoo: unknown keys are fine\nComment:\n";
  size_t n = armor(&o, t, sizeof t);
  both_accept(p, t, n, "headers with \": \" and an empty one");
  o.headers = "Comment:x\n";
  n = armor(&o, t, sizeof t);
  both_refuse(p, t, n, "armor header", "\"Comment:x\"");
  o.headers = "Comment: x\nJunk\n";
  n = armor(&o, t, sizeof t);
  both_refuse(p, t, n, "armor header", "a header line without a colon");
  sw_pgp_free(p);
}

SW_TEST(armor_without_blank_line_after_headers_is_refused) {
  need_fixture();
  gpgv_setup();
  sw_pgp *p = open_both();
  char t[4096];
  struct pd_armor_opt o = {0};
  o.crc = 1;
  o.no_blank = 1;
  size_t n = armor(&o, t, sizeof t);
  both_refuse(p, t, n, "armor header", "no blank line, no headers");
  o.headers = "Comment: x\n";
  n = armor(&o, t, sizeof t);
  both_refuse(p, t, n, "armor header", "no blank line after a header");
  sw_pgp_free(p);
}

/* Stricter than gpg, on purpose: gpg ignores text between the CRC-24 line and
 * the END line; swarmup refuses it (one spelling, nothing unchecked). */
SW_TEST(armor_with_text_after_crc24_line_is_refused) {
  need_fixture();
  sw_pgp *p = open_both();
  char good[4096];
  struct pd_armor_opt o = {0};
  o.crc = 1;
  size_t n = armor(&o, good, sizeof good), m;
  size_t c = crc_line(good, n);
  char *t = dup_edit(good, n, c + 6, 0, "garbage\n", &m);
  sw_pgp_verdict v = ours(p, t, m);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "after the armor CRC-24");
  free(t);
  char crc[7];
  memcpy(crc, good + c, 6); /* "=XXXX\n" */
  crc[6] = 0;
  t = dup_edit(good, n, c + 6, 0, crc, &m); /* the CRC-24 line twice */
  v = ours(p, t, m);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "after the armor CRC-24");
  free(t);
  sw_pgp_free(p);
}
