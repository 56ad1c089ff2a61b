/* test_keychain.c - which key statement may follow which (verify/keychain.c):
 * sw_keys_verify_next, sw_keys_verify_anchor, sw_keys_open_signers.
 * Keys come from tests/lib/mkkeys.sh; every statement is written here by hand
 * and signed with plain gpg (--sig-notation purpose@swarmup=keys), its Keyring
 * the base64 of `gpg --export`. Letters name the fixture's keys: A, B, E, R
 * (primaries), a and b (the signing subkeys of A and B). */
#include "sw_test.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>

#include "keys.h"
#include "pgp.h"

#define SW_FIXTURE_PREFIX "/tmp/swtk"
#include "pgp_fixture.h"

static const char *fpr_of(char c) {
  switch (c) {
  case 'A': return g_fpr[A];
  case 'a': return g_fpr[A_SUB];
  case 'B': return g_fpr[B];
  case 'b': return g_fpr[B_SUB];
  case 'E': return g_fpr[E];
  case 'R': return g_fpr[R];
  default: SW_FAILF("no fixture key '%c'", c);
  }
  return NULL;
}

/* base64 of `gpg --export` of the primaries named by letters (heap string). */
static char *keyring_b64(const char *who) {
  char cmd[1024], out[128];
  static int seq;
  size_t n = 0;
  int len;
  snprintf(out, sizeof out, "%s/ring.%d.%d", g_dir, (int)getpid(), seq++);
  len = snprintf(cmd, sizeof cmd, "gpg --homedir '%s' --batch --no-tty --export", g_home);
  for (const char *w = who; *w; w++) len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %s", fpr_of(*w));
  snprintf(cmd + len, sizeof cmd - (size_t)len, " 2>/dev/null | base64 -w0 >'%s'", out);
  SW_ASSERT_EQ_INT(system(cmd), 0);
  uint8_t *b = read_all(out, &n);
  SW_ASSERT(n > 0);
  b[n] = '\0';
  return (char *)b;
}

/* A statement of product/version: Key lines for the letters in keys, Next
 * lines for next (Next-Threshold next_thr when any), Keyring of ring. */
static char *stmt(const char *product, unsigned long long version, unsigned threshold, const char *keys,
                  const char *next, unsigned next_thr, const char *ring) {
  char *s = malloc(SW_KEYS_STMT_MAX), *r = keyring_b64(ring);
  int n;
  SW_ASSERT(s != NULL);
  n = snprintf(s, SW_KEYS_STMT_MAX,
               "Format: swarmup-keys/1\nProduct: %s\nVersion: %llu\nDate: 2026-12-01T00:00:00Z\n"
               "Expires: 2027-12-01T00:00:00Z\nThreshold: %u\n",
               product, version, threshold);
  for (const char *k = keys; *k; k++) n += snprintf(s + n, SW_KEYS_STMT_MAX - (size_t)n, "Key: %s\n", fpr_of(*k));
  for (const char *k = next; *k; k++) n += snprintf(s + n, SW_KEYS_STMT_MAX - (size_t)n, "Next: %s\n", fpr_of(*k));
  if (*next) n += snprintf(s + n, SW_KEYS_STMT_MAX - (size_t)n, "Next-Threshold: %u\n", next_thr);
  n += snprintf(s + n, SW_KEYS_STMT_MAX - (size_t)n, "Keyring: %s\n", r);
  SW_ASSERT(n > 0 && (size_t)n < SW_KEYS_STMT_MAX);
  free(r);
  return s;
}

/* Detached binary signature over data by every key in who (one packet each,
 * at most 8), with the notation purpose@swarmup=purpose (none when NULL:
 * pgp_fixture.h's sign_as puts g_purpose on). */
static uint8_t *sign_by(const char *who, const char *purpose, const void *data, size_t len, size_t *sig_len) {
  const char *extra[20];
  char users[8][sizeof g_fpr[0] + 2];
  int n = 0, first = -1;
  SW_ASSERT(strlen(who) >= 1 && strlen(who) <= 8);
  g_purpose = purpose;
  for (size_t i = 1; who[i]; i++) {
    snprintf(users[i], sizeof users[i], "%s!", fpr_of(who[i]));
    extra[n++] = "-u";
    extra[n++] = users[i];
  }
  extra[n] = NULL;
  /* sign_as takes the first signer as a fixture index */
  for (int i = 0; i < 8 && first < 0; i++)
    if (strcmp(g_fpr[i], fpr_of(who[0])) == 0) first = i;
  SW_ASSERT(first >= 0);
  return sign_as(first, data, len, "--detach-sign", 0, extra, sig_len);
}

static sw_keys *parsed(char *text) {
  sw_keys *k = malloc(sizeof *k);
  char msg[SW_MSG_MAX] = "";
  SW_ASSERT(k != NULL);
  sw_err rc = sw_keys_parse((const uint8_t *)text, strlen(text), k, msg, sizeof msg);
  if (rc != SW_OK) SW_FAILF("statement does not parse: %s: %s", sw_err_name(rc), msg);
  free(text);
  return k;
}

/* sw_keys_verify_next(cur, text signed by who with purpose); msg gets the reason. */
static sw_err next_signed(const sw_keys *cur, const char *text, const char *who, const char *purpose, sw_keys *out,
                          char *msg, size_t msglen) {
  size_t sl = 0;
  uint8_t *sig = sign_by(who, purpose, text, strlen(text), &sl);
  msg[0] = '\0';
  sw_err rc = sw_keys_verify_next(cur, (const uint8_t *)text, strlen(text), sig, sl, out, msg, msglen);
  free(sig);
  return rc;
}

#define EXPECT_OK(rc, msg)                                                                                         \
  do {                                                                                                             \
    sw_err e__ = (rc);                                                                                             \
    if (e__ != SW_OK) SW_FAILF("refused: %s: %s", sw_err_name(e__), msg);                                         \
  } while (0)

static sw_keys g_out; /* large: not on the stack */

SW_TEST(rotation_to_precommitted_next_key_is_accepted) {
  need_fixture();
  char msg[SW_MSG_MAX];
  sw_keys *s1 = parsed(stmt("hello", 1, 1, "A", "B", 1, "AB"));
  char *s2 = stmt("hello", 2, 1, "B", "", 0, "B");
  EXPECT_OK(next_signed(s1, s2, "B", "keys", &g_out, msg, sizeof msg), msg);
  SW_ASSERT_EQ_INT(g_out.version, 2);
  SW_ASSERT_EQ_INT(g_out.n_key, 1);
  SW_ASSERT_STREQ(g_out.key[0], g_fpr[B]);

  /* Manifests now: B's accepted, A's (dropped from Key) refused. */
  static const char man[] = "Format: swarmup-manifest/1\nProduct: hello\n";
  sw_pgp *p = NULL;
  sw_pgp_verdict v;
  size_t sl;
  EXPECT_OK(sw_keys_open_signers(&g_out, &p, msg, sizeof msg), msg);
  uint8_t *by_b = sign_by("B", "manifest", man, sizeof man - 1, &sl);
  SW_ASSERT_EQ_INT(sw_pgp_verify_mem(p, SW_PGP_PURPOSE_MANIFEST, by_b, sl, (const uint8_t *)man, sizeof man - 1,
                                     g_out.threshold, &v),
                   SW_OK);
  if (!v.accepted) SW_FAILF("manifest by B refused: %s", v.reason);
  uint8_t *by_a = sign_by("A", "manifest", man, sizeof man - 1, &sl);
  SW_ASSERT_EQ_INT(sw_pgp_verify_mem(p, SW_PGP_PURPOSE_MANIFEST, by_a, sl, (const uint8_t *)man, sizeof man - 1,
                                     g_out.threshold, &v),
                   SW_OK);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "untrusted key");
  sw_pgp_free(p);
  free(by_a);
  free(by_b);
  free(s2);
  free(s1);
}

SW_TEST(statement_signed_by_current_key_alone_is_refused_when_next_was_committed) {
  need_fixture();
  char msg[SW_MSG_MAX];
  sw_keys *s1 = parsed(stmt("hello", 1, 1, "A", "B", 1, "AB"));
  /* The thief of A names a key of its own (R) and signs with both. */
  char *s2 = stmt("hello", 2, 1, "R", "", 0, "R");
  SW_ASSERT_EQ_INT(next_signed(s1, s2, "AR", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "key statement 2 rejected: signed by 0 of the 1 pre-committed next keys of statement 1, "
                          "1 required");
  /* A alone, keeping itself as Key: the same. */
  char *s2a = stmt("hello", 2, 1, "A", "", 0, "A");
  SW_ASSERT_EQ_INT(next_signed(s1, s2a, "A", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "signed by 0 of the 1 pre-committed next keys of statement 1");
  free(s2a);
  free(s2);
  free(s1);
}

SW_TEST(current_key_may_cosign_a_rotation_by_the_next_key) {
  need_fixture();
  char msg[SW_MSG_MAX];
  /* A is named by statement 1: its signature is known, good, and not counted. */
  sw_keys *s1 = parsed(stmt("hello", 1, 1, "A", "B", 1, "AB"));
  char *s2 = stmt("hello", 2, 1, "B", "", 0, "B");
  EXPECT_OK(next_signed(s1, s2, "AB", "keys", &g_out, msg, sizeof msg), msg);
  free(s2);
  free(s1);
}

SW_TEST(statement_without_next_signed_by_current_key_is_accepted) {
  need_fixture();
  char msg[SW_MSG_MAX];
  sw_keys *s1 = parsed(stmt("hello", 1, 1, "A", "", 0, "A"));
  /* Routine re-signing: same key, and one adding E (which must sign too). */
  char *same = stmt("hello", 2, 1, "A", "B", 1, "AB");
  EXPECT_OK(next_signed(s1, same, "A", "keys", &g_out, msg, sizeof msg), msg);
  char *add = stmt("hello", 2, 1, "AE", "", 0, "AE");
  EXPECT_OK(next_signed(s1, add, "AE", "keys", &g_out, msg, sizeof msg), msg);
  SW_ASSERT_EQ_INT(g_out.n_key, 2);
  free(add);
  free(same);
  free(s1);
}

SW_TEST(skipped_version_is_refused) {
  need_fixture();
  char msg[SW_MSG_MAX];
  sw_keys *s2 = parsed(stmt("hello", 2, 1, "A", "", 0, "A"));
  char *s4 = stmt("hello", 4, 1, "A", "", 0, "A");
  SW_ASSERT_EQ_INT(next_signed(s2, s4, "A", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_POLICY);
  SW_ASSERT_CONTAINS(msg, "key statement 3 rejected: version 4 does not follow 2");
  /* nor the same version again, nor an older one */
  char *again = stmt("hello", 2, 1, "A", "", 0, "A");
  SW_ASSERT_EQ_INT(next_signed(s2, again, "A", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_POLICY);
  SW_ASSERT_CONTAINS(msg, "version 2 does not follow 2");
  char *s3 = stmt("hello", 3, 1, "A", "", 0, "A");
  EXPECT_OK(next_signed(s2, s3, "A", "keys", &g_out, msg, sizeof msg), msg);
  free(s3);
  free(again);
  free(s4);
  free(s2);
}

SW_TEST(other_product_is_refused) {
  need_fixture();
  char msg[SW_MSG_MAX];
  sw_keys *s1 = parsed(stmt("hello", 1, 1, "A", "", 0, "A"));
  char *s2 = stmt("other", 2, 1, "A", "", 0, "A");
  SW_ASSERT_EQ_INT(next_signed(s1, s2, "A", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_POLICY);
  SW_ASSERT_CONTAINS(msg, "key statement 2 rejected: product other is not hello");
  free(s2);
  free(s1);
}

SW_TEST(unparsable_statement_is_refused_as_syntax) {
  need_fixture();
  char msg[SW_MSG_MAX];
  sw_keys *s1 = parsed(stmt("hello", 1, 1, "A", "", 0, "A"));
  char *s2 = stmt("hello", 2, 1, "A", "", 0, "A");
  s2[strlen(s2) - 1] = '\0'; /* no final LF */
  SW_ASSERT_EQ_INT(next_signed(s1, s2, "A", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_SYNTAX);
  SW_ASSERT_CONTAINS(msg, "key statement 2 rejected: line");
  free(s2);
  free(s1);
}

SW_TEST(threshold_two_needs_two_distinct_signers) {
  need_fixture();
  char msg[SW_MSG_MAX];
  sw_keys *s1 = parsed(stmt("hello", 1, 2, "AE", "", 0, "AE"));
  char *s2 = stmt("hello", 2, 2, "AE", "", 0, "AE");
  SW_ASSERT_EQ_INT(next_signed(s1, s2, "A", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "key statement 2 rejected: signed by 1 of the 2 keys of statement 1, 2 required");
  /* A primary and its own subkey are one key. */
  SW_ASSERT_EQ_INT(next_signed(s1, s2, "Aa", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "signed by 1 of the 2 keys of statement 1, 2 required");
  EXPECT_OK(next_signed(s1, s2, "AE", "keys", &g_out, msg, sizeof msg), msg);
  EXPECT_OK(next_signed(s1, s2, "aE", "keys", &g_out, msg, sizeof msg), msg); /* a subkey counts for its primary */
  free(s2);
  free(s1);
}

SW_TEST(next_threshold_two_needs_two_distinct_next_keys) {
  need_fixture();
  char msg[SW_MSG_MAX];
  sw_keys *s1 = parsed(stmt("hello", 1, 1, "A", "BE", 2, "ABE"));
  char *s2 = stmt("hello", 2, 1, "B", "", 0, "B");
  SW_ASSERT_EQ_INT(next_signed(s1, s2, "Bb", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "signed by 1 of the 2 pre-committed next keys of statement 1, 2 required");
  /* The current key A may co-sign but is not a next key: still 1 of 2. */
  SW_ASSERT_EQ_INT(next_signed(s1, s2, "AB", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "signed by 1 of the 2 pre-committed next keys of statement 1, 2 required");
  EXPECT_OK(next_signed(s1, s2, "BE", "keys", &g_out, msg, sizeof msg), msg);
  free(s2);
  free(s1);
}

SW_TEST(statement_not_signed_by_its_own_new_key_is_refused) {
  need_fixture();
  char msg[SW_MSG_MAX];
  sw_keys *s1 = parsed(stmt("hello", 1, 1, "A", "B", 1, "AB"));
  /* B may rotate, but E never agreed to be named. */
  char *s2 = stmt("hello", 2, 1, "E", "", 0, "E");
  SW_ASSERT_EQ_INT(next_signed(s1, s2, "B", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "key statement 2 rejected: signed by 0 of its own 1 keys, 1 required");
  EXPECT_OK(next_signed(s1, s2, "BE", "keys", &g_out, msg, sizeof msg), msg);
  /* its own Threshold counts too */
  char *two = stmt("hello", 2, 2, "BE", "", 0, "BE");
  SW_ASSERT_EQ_INT(next_signed(s1, two, "B", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "signed by 1 of its own 2 keys, 2 required");
  /* A (named by statement 1) co-signing does not stand in for E */
  SW_ASSERT_EQ_INT(next_signed(s1, two, "AB", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "signed by 1 of its own 2 keys, 2 required");
  EXPECT_OK(next_signed(s1, two, "BE", "keys", &g_out, msg, sizeof msg), msg);
  free(two);
  free(s2);
  free(s1);
}

SW_TEST(unknown_signer_rejects_the_statement) {
  need_fixture();
  char msg[SW_MSG_MAX];
  sw_keys *s1 = parsed(stmt("hello", 1, 1, "A", "B", 1, "AB"));
  char *s2 = stmt("hello", 2, 1, "B", "", 0, "B");
  /* R is in no Keyring: the thresholds are met by B, and still refused. */
  SW_ASSERT_EQ_INT(next_signed(s1, s2, "BR", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "key statement 2 rejected:");
  SW_ASSERT_CONTAINS(msg, "untrusted key");
  /* E is in the new Keyring but named by neither statement: the same. */
  char *s2e = stmt("hello", 2, 1, "B", "", 0, "BE");
  SW_ASSERT_EQ_INT(next_signed(s1, s2e, "BE", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "untrusted key");
  EXPECT_OK(next_signed(s1, s2e, "B", "keys", &g_out, msg, sizeof msg), msg);
  free(s2e);
  free(s2);
  free(s1);
}

SW_TEST(manifest_purpose_signature_is_not_a_key_statement_signature) {
  need_fixture();
  char msg[SW_MSG_MAX];
  sw_keys *s1 = parsed(stmt("hello", 1, 1, "A", "B", 1, "AB"));
  char *s2 = stmt("hello", 2, 1, "B", "", 0, "B");
  SW_ASSERT_EQ_INT(next_signed(s1, s2, "B", "manifest", &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "key statement 2 rejected:");
  SW_ASSERT_CONTAINS(msg, "is a manifest signature (purpose@swarmup=manifest), not a key statement signature");
  SW_ASSERT_EQ_INT(next_signed(s1, s2, "B", "package", &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "not a key statement signature");
  SW_ASSERT_EQ_INT(next_signed(s1, s2, "B", NULL, &g_out, msg, sizeof msg), SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "has no purpose@swarmup notation");
  EXPECT_OK(next_signed(s1, s2, "B", "keys", &g_out, msg, sizeof msg), msg);
  free(s2);
  free(s1);
}

SW_TEST(rotate_to_null_needs_no_own_signature) {
  need_fixture();
  char msg[SW_MSG_MAX];
  sw_pgp *p = NULL;
  sw_keys *s1 = parsed(stmt("hello", 1, 1, "A", "B", 1, "AB"));
  /* Statement 2 names no Key (every manifest refused) but keeps B as Next. */
  char *s2 = stmt("hello", 2, 1, "", "B", 1, "B");
  EXPECT_OK(next_signed(s1, s2, "B", "keys", &g_out, msg, sizeof msg), msg);
  SW_ASSERT_EQ_INT(g_out.n_key, 0);
  SW_ASSERT_EQ_INT(sw_keys_open_signers(&g_out, &p, msg, sizeof msg), SW_ERR_KEYS_POLICY);
  SW_ASSERT(p == NULL);
  SW_ASSERT_CONTAINS(msg, "the publisher revoked all keys of hello");
  /* B, committed as Next, names new keys later. */
  sw_keys *frozen = malloc(sizeof *frozen);
  SW_ASSERT(frozen != NULL);
  memcpy(frozen, &g_out, sizeof *frozen);
  char *s3 = stmt("hello", 3, 1, "B", "", 0, "B");
  EXPECT_OK(next_signed(frozen, s3, "B", "keys", &g_out, msg, sizeof msg), msg);
  SW_ASSERT_EQ_INT(g_out.n_key, 1);
  free(s3);
  free(frozen);
  free(s2);
  free(s1);
}

SW_TEST(statement_after_a_rotation_to_null_without_next_is_refused) {
  need_fixture();
  char msg[SW_MSG_MAX];
  /* No Key and no Next: nothing can ever follow (the Keyring must still hold a key). */
  sw_keys *s2 = parsed(stmt("hello", 2, 1, "", "", 0, "A"));
  char *s3 = stmt("hello", 3, 1, "A", "", 0, "A");
  SW_ASSERT_EQ_INT(next_signed(s2, s3, "A", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_POLICY);
  SW_ASSERT_CONTAINS(msg, "key statement 3 rejected: statement 2 revoked all keys of hello");
  free(s3);
  free(s2);
}

SW_TEST(keyring_without_a_named_key_is_refused) {
  need_fixture();
  char msg[SW_MSG_MAX];
  sw_pgp *p = NULL;
  sw_keys *s1 = parsed(stmt("hello", 1, 1, "A", "B", 1, "AB"));
  /* E is named as Key but its key is not in the Keyring */
  char *s2 = stmt("hello", 2, 1, "BE", "", 0, "B");
  SW_ASSERT_EQ_INT(next_signed(s1, s2, "B", "keys", &g_out, msg, sizeof msg), SW_ERR_KEYS_SYNTAX);
  SW_ASSERT_CONTAINS(msg, "key statement 2 rejected: Keyring:");
  SW_ASSERT_CONTAINS(msg, g_fpr[E]);
  sw_keys *bad = parsed(strdup(s2));
  SW_ASSERT_EQ_INT(sw_keys_open_signers(bad, &p, msg, sizeof msg), SW_ERR_KEYS_SYNTAX);
  SW_ASSERT(p == NULL);
  SW_ASSERT_CONTAINS(msg, g_fpr[E]);
  free(bad);
  free(s2);
  free(s1);
}

SW_TEST(anchor_signed_by_its_own_key_is_accepted) {
  need_fixture();
  char msg[SW_MSG_MAX] = "";
  size_t sl;
  char *s1 = stmt("hello", 1, 1, "A", "B", 1, "AB");
  uint8_t *sig = sign_by("A", "keys", s1, strlen(s1), &sl);
  EXPECT_OK(sw_keys_verify_anchor((const uint8_t *)s1, strlen(s1), sig, sl, &g_out, msg, sizeof msg), msg);
  SW_ASSERT_EQ_INT(g_out.version, 1);
  SW_ASSERT_STREQ(g_out.key[0], g_fpr[A]);
  SW_ASSERT_STREQ(g_out.next[0], g_fpr[B]);
  free(sig);
  /* An anchor can start anywhere in the chain (statement 5 shipped today). */
  char *s5 = stmt("hello", 5, 2, "AE", "", 0, "AE");
  sig = sign_by("aE", "keys", s5, strlen(s5), &sl);
  EXPECT_OK(sw_keys_verify_anchor((const uint8_t *)s5, strlen(s5), sig, sl, &g_out, msg, sizeof msg), msg);
  SW_ASSERT_EQ_INT(g_out.version, 5);
  free(sig);
  free(s5);
  free(s1);
}

SW_TEST(anchor_with_bad_signature_is_refused) {
  need_fixture();
  char msg[SW_MSG_MAX] = "";
  size_t sl;
  char *s1 = stmt("hello", 1, 1, "A", "B", 1, "AB");
  uint8_t *sig = sign_by("A", "keys", s1, strlen(s1), &sl);
  /* one byte changed after signing: Threshold 1 -> 2 would not parse, Date's year does */
  char *d = strstr(s1, "Date: 2026");
  SW_ASSERT(d != NULL);
  d[9] = '5';
  SW_ASSERT_EQ_INT(sw_keys_verify_anchor((const uint8_t *)s1, strlen(s1), sig, sl, &g_out, msg, sizeof msg),
                   SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "key statement 1 rejected:");
  SW_ASSERT_CONTAINS(msg, "bad signature");
  d[9] = '6';
  free(sig);
  /* signed by its Next key only: not its own Key */
  sig = sign_by("B", "keys", s1, strlen(s1), &sl);
  SW_ASSERT_EQ_INT(sw_keys_verify_anchor((const uint8_t *)s1, strlen(s1), sig, sl, &g_out, msg, sizeof msg),
                   SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "key statement 1 rejected: signed by 0 of its own 1 keys, 1 required");
  free(sig);
  /* no signature at all */
  SW_ASSERT_EQ_INT(sw_keys_verify_anchor((const uint8_t *)s1, strlen(s1), NULL, 0, &g_out, msg, sizeof msg),
                   SW_ERR_KEYS_SIG);
  /* a manifest signature by the right key */
  sig = sign_by("A", "manifest", s1, strlen(s1), &sl);
  SW_ASSERT_EQ_INT(sw_keys_verify_anchor((const uint8_t *)s1, strlen(s1), sig, sl, &g_out, msg, sizeof msg),
                   SW_ERR_KEYS_SIG);
  SW_ASSERT_CONTAINS(msg, "not a key statement signature");
  free(sig);
  free(s1);
}

SW_TEST(open_signers_pins_only_key_not_next) {
  need_fixture();
  char msg[SW_MSG_MAX] = "";
  static const char man[] = "Format: swarmup-manifest/1\nProduct: hello\n";
  sw_pgp *p = NULL;
  sw_pgp_verdict v;
  size_t sl;
  sw_keys *s1 = parsed(stmt("hello", 1, 1, "A", "B", 1, "AB"));
  EXPECT_OK(sw_keys_open_signers(s1, &p, msg, sizeof msg), msg);
  SW_ASSERT_EQ_INT(sw_pgp_key_count(p), 1);
  uint8_t *by_b = sign_by("B", "manifest", man, sizeof man - 1, &sl);
  SW_ASSERT_EQ_INT(
      sw_pgp_verify_mem(p, SW_PGP_PURPOSE_MANIFEST, by_b, sl, (const uint8_t *)man, sizeof man - 1, 1, &v), SW_OK);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "untrusted key");
  uint8_t *by_a = sign_by("A", "manifest", man, sizeof man - 1, &sl);
  SW_ASSERT_EQ_INT(
      sw_pgp_verify_mem(p, SW_PGP_PURPOSE_MANIFEST, by_a, sl, (const uint8_t *)man, sizeof man - 1, 1, &v), SW_OK);
  if (!v.accepted) SW_FAILF("manifest by A refused: %s", v.reason);
  sw_pgp_free(p);
  free(by_a);
  free(by_b);
  free(s1);
}
