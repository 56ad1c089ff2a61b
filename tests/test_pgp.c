/* test_pgp.c - OpenPGP checks against pinned keys (verify/pgp.c).
 * Keys come from tests/lib/mkkeys.sh, made once per binary before the tests
 * fork; signatures are made by the real gpg at test time. */
#include "sw_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pgp.h"
#include "pgp_int.h" /* struct sw_pgp: the home, to find its gpg */
#include "verify_int.h"

#define SW_FIXTURE_PREFIX "/tmp/swtp"
#include "pgp_fixture.h"

static uint8_t *sign_detached(int who, const void *data, size_t len, int armor, size_t *sig_len) {
  return sign_as(who, data, len, "--detach-sign", armor, NULL, sig_len);
}

static sw_pgp *open_trusted(void) {
  static const char *const k[] = {"trusted.asc"};
  return open_keys(k, 1);
}

static const char DATA[] = "swarmup-1.2.3.tar.gz contents\n\x00\x01\x02 binary tail";

/* verify and return the verdict; asserts the check ran */
static sw_pgp_verdict check(sw_pgp *p, const uint8_t *sig, size_t sig_len, const void *data, size_t len,
                            unsigned threshold) {
  sw_pgp_verdict v;
  sw_err rc = sw_pgp_verify_mem(p, SW_PGP_PURPOSE_MANIFEST, sig, sig_len, data, len, threshold, &v);
  if (rc != SW_OK) SW_FAILF("verify did not run: %s: %s", sw_err_name(rc), v.reason);
  return v;
}

static uint8_t *concat(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, size_t *len) {
  uint8_t *c = malloc(alen + blen);
  SW_ASSERT(c != NULL);
  memcpy(c, a, alen);
  memcpy(c + alen, b, blen);
  *len = alen + blen;
  return c;
}

SW_TEST(accepts_good_signature_by_pinned_primary) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_detached(A, DATA, sizeof DATA, 0, &n);
  sw_pgp_verdict v = check(p, sig, n, DATA, sizeof DATA, 1);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  SW_ASSERT_EQ_INT(v.n_good, 1);
  SW_ASSERT_STREQ(v.signer[0], g_fpr[A]);
  SW_ASSERT_EQ_INT(sw_pgp_key_count(p), 1);
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(accepts_signature_by_signing_subkey_of_pinned_key) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_detached(A_SUB, DATA, sizeof DATA, 0, &n);
  sw_pgp_verdict v = check(p, sig, n, DATA, sizeof DATA, 1);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  SW_ASSERT_STREQ(v.signer[0], g_fpr[A]); /* counted as its primary */
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(accepts_armored_and_binary_signatures) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n1, n2;
  uint8_t *bin = sign_detached(A, DATA, sizeof DATA, 0, &n1);
  uint8_t *arm = sign_detached(A, DATA, sizeof DATA, 1, &n2);
  SW_ASSERT(bin[0] & 0x80);
  SW_ASSERT(memcmp(arm, "-----BEGIN PGP SIGNATURE-----", 29) == 0);
  sw_pgp_verdict v1 = check(p, bin, n1, DATA, sizeof DATA, 1);
  sw_pgp_verdict v2 = check(p, arm, n2, DATA, sizeof DATA, 1);
  if (!v1.accepted) SW_FAILF("binary rejected: %s", v1.reason);
  if (!v2.accepted) SW_FAILF("armored rejected: %s", v2.reason);
  free(bin);
  free(arm);
  sw_pgp_free(p);
}

SW_TEST(rejects_signature_by_untrusted_key) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_detached(B, DATA, sizeof DATA, 0, &n);
  sw_pgp_verdict v = check(p, sig, n, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "untrusted key");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(rejects_signature_by_subkey_of_untrusted_key) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_detached(B_SUB, DATA, sizeof DATA, 0, &n);
  sw_pgp_verdict v = check(p, sig, n, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "untrusted key");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(rejects_one_byte_flipped_data) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t data[sizeof DATA];
  uint8_t *sig = sign_detached(A, DATA, sizeof DATA, 0, &n);
  memcpy(data, DATA, sizeof DATA);
  data[7] ^= 0x01;
  sw_pgp_verdict v = check(p, sig, n, data, sizeof data, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "bad signature");
  /* the unchanged data still passes with the same signature */
  sw_pgp_verdict ok = check(p, sig, n, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(ok.accepted, 1);
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(rejects_signature_over_other_data) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  static const char other[] = "another release entirely";
  uint8_t *sig = sign_detached(A, other, sizeof other, 0, &n);
  sw_pgp_verdict v = check(p, sig, n, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "bad signature");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(rejects_revoked_key) {
  need_fixture();
  static const char *const k[] = {"revoked.asc"};
  sw_pgp *p = open_keys(k, 1);
  size_t n;
  /* made by the signer home, where R is not revoked */
  uint8_t *sig = sign_detached(R, DATA, sizeof DATA, 0, &n);
  sw_pgp_verdict v = check(p, sig, n, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "revoked");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(rejects_expired_key) {
  need_fixture();
  static const char *const k[] = {"expired.asc"};
  sw_pgp *p = open_keys(k, 1);
  size_t n;
  uint8_t *sig = sign_detached(X, DATA, sizeof DATA, 0, &n); /* made while X was valid */
  sw_pgp_verdict v = check(p, sig, n, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "expired on 2020-12-31"); /* 1y after 2020-01-01 */
  free(sig);
  sw_pgp_free(p);
}

/* One handle verifies many times (its gpgme contexts are kept and reused,
 * pgp_keyring.c): every verdict stays the one a fresh handle would give,
 * after a rejection whose reason lists a key and after a bad signature.
 * (No threads here: valgrind's stage forks gpgme's children from this
 * process, and a forked child sees other threads' memory as leaked.) */
SW_TEST(one_handle_gives_the_same_verdicts_every_time) {
  need_fixture();
  static const char *const k[] = {"trusted.asc", "expired.asc"};
  sw_pgp *p = open_keys(k, 2);
  size_t ng, nx, nb;
  uint8_t *good = sign_detached(A, DATA, sizeof DATA, 0, &ng);
  uint8_t *expired = sign_detached(X, DATA, sizeof DATA, 0, &nx);
  uint8_t *other = sign_detached(A, DATA, 7, 0, &nb); /* A's, over other bytes */
  for (int round = 0; round < 3; round++) {
    sw_pgp_verdict v = check(p, good, ng, DATA, sizeof DATA, 1);
    if (!v.accepted) SW_FAILF("round %d: good rejected: %s", round, v.reason);
    SW_ASSERT_STREQ(v.signer[0], g_fpr[A]);
    v = check(p, expired, nx, DATA, sizeof DATA, 1);
    SW_ASSERT_EQ_INT(v.accepted, 0);
    SW_ASSERT_CONTAINS(v.reason, "expired on 2020-12-31");
    v = check(p, other, nb, DATA, sizeof DATA, 1);
    SW_ASSERT_EQ_INT(v.accepted, 0);
    SW_ASSERT_CONTAINS(v.reason, "bad signature");
  }
  free(good);
  free(expired);
  free(other);
  sw_pgp_free(p);
}

SW_TEST(rejects_sha1_digest) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  static const char *const sha1[] = {"--digest-algo", "SHA1", "--allow-weak-digest-algos", NULL};
  uint8_t *sig = sign_as(A, DATA, sizeof DATA, "--detach-sign", 0, sha1, &n);
  sw_pgp_verdict v = check(p, sig, n, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "SHA1");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(rejects_clearsigned_message_as_signature) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  /* The clearsigned text is validly signed by A; gpg given it as a "detached
   * signature" would verify that embedded text, not our data. */
  uint8_t *sig = sign_as(A, DATA, 10, "--clearsign", 0, NULL, &n);
  sw_pgp_verdict v = check(p, sig, n, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "clearsigned");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(rejects_inline_signed_message_as_signature) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n1, n2, n3;
  uint8_t *arm = sign_as(A, DATA, sizeof DATA, "--sign", 1, NULL, &n1);
  uint8_t *bin = sign_as(A, DATA, sizeof DATA, "--sign", 0, NULL, &n2);
  static const char *const nocomp[] = {"--compress-algo", "none", NULL};
  uint8_t *raw = sign_as(A, DATA, sizeof DATA, "--sign", 0, nocomp, &n3);
  sw_pgp_verdict v1 = check(p, arm, n1, DATA, sizeof DATA, 1);
  sw_pgp_verdict v2 = check(p, bin, n2, DATA, sizeof DATA, 1);
  sw_pgp_verdict v3 = check(p, raw, n3, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v1.accepted, 0);
  SW_ASSERT_CONTAINS(v1.reason, "inline-signed");
  SW_ASSERT_EQ_INT(v2.accepted, 0);
  SW_ASSERT_CONTAINS(v2.reason, "(tag 8)"); /* compressed data */
  SW_ASSERT_EQ_INT(v3.accepted, 0);
  SW_ASSERT_CONTAINS(v3.reason, "one-pass signature");
  /* The same message relabelled as an armored SIGNATURE block is still refused. */
  char *relabel = malloc(n1 + 64);
  SW_ASSERT(relabel != NULL);
  size_t m = 0;
  const char *body = memchr(arm, '\n', n1);
  SW_ASSERT(body != NULL);
  m += (size_t)sprintf(relabel, "-----BEGIN PGP SIGNATURE-----");
  const char *endl = strstr(body, "-----END PGP MESSAGE-----");
  SW_ASSERT(endl != NULL);
  memcpy(relabel + m, body, (size_t)(endl - body));
  m += (size_t)(endl - body);
  m += (size_t)sprintf(relabel + m, "-----END PGP SIGNATURE-----\n");
  sw_pgp_verdict v4 = check(p, (uint8_t *)relabel, m, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v4.accepted, 0);
  SW_ASSERT_CONTAINS(v4.reason, "(tag 8)");
  free(relabel);
  free(arm);
  free(bin);
  free(raw);
  sw_pgp_free(p);
}

SW_TEST(rejects_empty_signature) {
  need_fixture();
  sw_pgp *p = open_trusted();
  sw_pgp_verdict v = check(p, (const uint8_t *)"", 0, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "no signature found");
  sw_pgp_verdict w = check(p, (const uint8_t *)"\n \n", 3, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(w.accepted, 0);
  SW_ASSERT_CONTAINS(w.reason, "no signature found");
  sw_pgp_free(p);
}

SW_TEST(rejects_garbage_signature) {
  need_fixture();
  sw_pgp *p = open_trusted();
  static const char text[] = "this is not a signature\n";
  uint8_t bin[300];
  for (size_t i = 0; i < sizeof bin; i++) bin[i] = (uint8_t)(0x89 + i * 37);
  sw_pgp_verdict v1 = check(p, (const uint8_t *)text, sizeof text - 1, DATA, sizeof DATA, 1);
  sw_pgp_verdict v2 = check(p, bin, sizeof bin, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v1.accepted, 0);
  SW_ASSERT_EQ_INT(v2.accepted, 0);
  SW_ASSERT(v1.reason[0] != '\0');
  SW_ASSERT(v2.reason[0] != '\0');
  /* a real signature with its last byte cut off */
  size_t n;
  uint8_t *sig = sign_detached(A, DATA, sizeof DATA, 0, &n);
  sw_pgp_verdict v3 = check(p, sig, n - 1, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v3.accepted, 0);
  SW_ASSERT_CONTAINS(v3.reason, "truncated");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(threshold_two_needs_two_distinct_signers) {
  need_fixture();
  static const char *const k[] = {"trusted.asc", "second.asc"};
  sw_pgp *p = open_keys(k, 2);
  size_t na, ne, nsub, nae, nas;
  SW_ASSERT_EQ_INT(sw_pgp_key_count(p), 2);
  uint8_t *sa = sign_detached(A, DATA, sizeof DATA, 0, &na);
  uint8_t *se = sign_detached(E, DATA, sizeof DATA, 0, &ne);
  uint8_t *ss = sign_detached(A_SUB, DATA, sizeof DATA, 0, &nsub);
  uint8_t *ae = concat(sa, na, se, ne, &nae);
  uint8_t *as = concat(sa, na, ss, nsub, &nas);

  sw_pgp_verdict v = check(p, ae, nae, DATA, sizeof DATA, 2);
  if (!v.accepted) SW_FAILF("A+E rejected: %s", v.reason);
  SW_ASSERT_EQ_INT(v.n_good, 2);
  v = check(p, sa, na, DATA, sizeof DATA, 2);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_EQ_INT(v.n_good, 1);
  v = check(p, as, nas, DATA, sizeof DATA, 2); /* primary + its own subkey: one signer */
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_EQ_INT(v.n_good, 1);
  SW_ASSERT_CONTAINS(v.reason, "1 distinct trusted signer");
  /* threshold out of range is a usage error, not a verdict */
  sw_pgp_verdict u;
  SW_ASSERT_EQ_INT(sw_pgp_verify_mem(p, SW_PGP_PURPOSE_MANIFEST, ae, nae, (const uint8_t *)DATA, sizeof DATA, 0, &u), SW_ERR_USAGE);
  SW_ASSERT_EQ_INT(u.accepted, 0);
  free(sa);
  free(se);
  free(ss);
  free(ae);
  free(as);
  sw_pgp_free(p);
}

SW_TEST(any_bad_signature_rejects_set) {
  need_fixture();
  static const char *const k[] = {"trusted.asc", "second.asc"};
  sw_pgp *p = open_keys(k, 2);
  static const char other[] = "other bytes";
  size_t na, ne, nb, n1, n2;
  uint8_t *sa = sign_detached(A, DATA, sizeof DATA, 0, &na);
  uint8_t *bad = sign_detached(E, other, sizeof other, 0, &ne); /* E's sig over other data */
  uint8_t *sb = sign_detached(B, DATA, sizeof DATA, 0, &nb);    /* untrusted */
  uint8_t *s1 = concat(sa, na, bad, ne, &n1);
  uint8_t *s2 = concat(sb, nb, sa, na, &n2);
  sw_pgp_verdict v = check(p, s1, n1, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "bad signature");
  v = check(p, s2, n2, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "untrusted key");
  free(sa);
  free(bad);
  free(sb);
  free(s1);
  free(s2);
  sw_pgp_free(p);
}

SW_TEST(never_reads_user_home) {
  need_fixture();
  char home[128], link[160];
  size_t n;
  /* B's key (public and secret) is in the signer home; point both GNUPGHOME
   * and ~/.gnupg at it. Only pinned keys may count. */
  snprintf(home, sizeof home, "%s/home.%d", g_dir, (int)getpid());
  SW_ASSERT(mkdir(home, 0700) == 0);
  snprintf(link, sizeof link, "%s/.gnupg", home);
  SW_ASSERT(symlink(g_home, link) == 0);
  setenv("HOME", home, 1);
  setenv("GNUPGHOME", g_home, 1);
  sw_pgp *p = open_trusted();
  uint8_t *sig = sign_detached(B, DATA, sizeof DATA, 0, &n);
  sw_pgp_verdict v = check(p, sig, n, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "untrusted key");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(import_rejects_file_without_key) {
  need_fixture();
  sw_pgp *p = NULL;
  char msg[SW_MSG_MAX] = "";
  const char *path = keyfile("nokey.asc");
  static const char text[] = "no key here\n";
  write_file(path, text, sizeof text - 1);
  const char *files[] = {path};
  SW_ASSERT_EQ_INT(sw_pgp_open(&p, files, 1, msg, sizeof msg), SW_ERR_CONFIG);
  SW_ASSERT(p == NULL);
  SW_ASSERT(msg[0] != '\0');
  /* a detached signature is OpenPGP, but not a key */
  size_t n;
  uint8_t *sig = sign_detached(A, DATA, sizeof DATA, 1, &n);
  const char *spath = keyfile("sig-as-key.asc");
  write_file(spath, sig, n);
  files[0] = spath;
  SW_ASSERT_EQ_INT(sw_pgp_open(&p, files, 1, msg, sizeof msg), SW_ERR_CONFIG);
  SW_ASSERT_CONTAINS(msg, "no public key");
  free(sig);
}

SW_TEST(import_rejects_secret_key) {
  need_fixture();
  sw_pgp *p = NULL;
  char msg[SW_MSG_MAX] = "";
  const char *files[] = {keyfile("trusted.asc"), keyfile("untrusted-secret.asc")};
  SW_ASSERT_EQ_INT(sw_pgp_open(&p, files, 2, msg, sizeof msg), SW_ERR_CONFIG);
  SW_ASSERT(p == NULL);
  SW_ASSERT_CONTAINS(msg, "secret key");
}

static int list_homes(char out[][64], int max) {
  char cmd[128], line[256];
  int n = 0;
  snprintf(cmd, sizeof cmd, "ls -d %s/swpgp.* 2>/dev/null", g_dir);
  FILE *ls = popen(cmd, "r");
  SW_ASSERT(ls != NULL);
  while (n < max && fgets(line, sizeof line, ls)) {
    line[strcspn(line, "\n")] = '\0';
    snprintf(out[n++], 64, "%.63s", line);
  }
  pclose(ls);
  return n;
}

SW_TEST(free_removes_private_home) {
  need_fixture();
  static char before[256][64], after[256][64];
  int nb = list_homes(before, 256);
  sw_pgp *p = open_trusted();
  int na = list_homes(after, 256), mine = -1;
  for (int i = 0; i < na && mine < 0; i++) {
    int seen = 0;
    for (int j = 0; j < nb; j++) seen |= strcmp(after[i], before[j]) == 0;
    if (!seen) mine = i;
  }
  SW_ASSERT(mine >= 0);
  struct stat st;
  SW_ASSERT(lstat(after[mine], &st) == 0);
  SW_ASSERT_EQ_INT(st.st_mode & 0777, 0700);
  sw_pgp_free(p);
  sw_pgp_free(NULL);
  SW_ASSERT(lstat(after[mine], &st) != 0);
}

struct byte_src {
  const uint8_t *d;
  size_t len, pos;
};

/* one byte per call: gpgme must cope with short reads */
static ssize_t byte_reader(void *arg, uint8_t *buf, size_t len) {
  struct byte_src *s = arg;
  if (s->pos >= s->len || len == 0) return 0;
  buf[0] = s->d[s->pos++];
  return 1;
}

static ssize_t failing_reader(void *arg, uint8_t *buf, size_t len) {
  (void)arg;
  (void)buf;
  (void)len;
  return -1;
}

SW_TEST(verify_stream_accepts_good_and_rejects_changed_data) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_detached(A, DATA, sizeof DATA, 0, &n);
  uint8_t changed[sizeof DATA];
  struct byte_src src = {(const uint8_t *)DATA, sizeof DATA, 0};
  sw_pgp_verdict v;
  SW_ASSERT_EQ_INT(sw_pgp_verify_stream(p, SW_PGP_PURPOSE_MANIFEST, sig, n, sizeof DATA, byte_reader, &src, 1, &v), SW_OK);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  SW_ASSERT_EQ_INT(src.pos, sizeof DATA);
  memcpy(changed, DATA, sizeof DATA);
  changed[sizeof DATA - 1] ^= 0x80;
  struct byte_src src2 = {changed, sizeof changed, 0};
  SW_ASSERT_EQ_INT(sw_pgp_verify_stream(p, SW_PGP_PURPOSE_MANIFEST, sig, n, sizeof changed, byte_reader, &src2, 1, &v), SW_OK);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "bad signature");
  /* a read error is an error, never an accepted verdict */
  sw_err rc = sw_pgp_verify_stream(p, SW_PGP_PURPOSE_MANIFEST, sig, n, sizeof DATA, failing_reader, NULL, 1, &v);
  SW_ASSERT_NE_INT(rc, SW_OK);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(verify_stream_rejects_data_shorter_than_signed_size) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_detached(A, DATA, sizeof DATA, 0, &n);
  struct byte_src src = {(const uint8_t *)DATA, sizeof DATA - 1, 0};
  sw_pgp_verdict v;
  SW_ASSERT_EQ_INT(sw_pgp_verify_stream(p, SW_PGP_PURPOSE_MANIFEST, sig, n, sizeof DATA, byte_reader, &src, 1, &v), SW_OK);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "ended after");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(verify_stream_reads_only_the_declared_size) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_detached(A, DATA, sizeof DATA - 5, 0, &n);
  struct byte_src src = {(const uint8_t *)DATA, sizeof DATA, 0};
  sw_pgp_verdict v;
  /* signed: the first size bytes; the reader has more, which are not asked for */
  SW_ASSERT_EQ_INT(sw_pgp_verify_stream(p, SW_PGP_PURPOSE_MANIFEST, sig, n, sizeof DATA - 5, byte_reader, &src, 1, &v), SW_OK);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  SW_ASSERT_EQ_INT(src.pos, sizeof DATA - 5);
  /* declared one byte longer than what was signed: rejected */
  struct byte_src src2 = {(const uint8_t *)DATA, sizeof DATA, 0};
  SW_ASSERT_EQ_INT(sw_pgp_verify_stream(p, SW_PGP_PURPOSE_MANIFEST, sig, n, sizeof DATA - 4, byte_reader, &src2, 1, &v), SW_OK);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  free(sig);
  sw_pgp_free(p);
}

/* Data past the single-length limit is framed in partial-length chunks; the
 * limits are lowered here so that a few KiB take that path. */
SW_TEST(verify_stream_frames_long_data_in_partial_chunks) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n, len = 5000;
  uint8_t *data = malloc(len);
  SW_ASSERT(data != NULL);
  for (size_t i = 0; i < len; i++) data[i] = (uint8_t)(i * 7 + 3);
  uint8_t *sig = sign_detached(A, data, len, 0, &n);
  sw_pgp__single_max = 100;
  sw_pgp__partial_log = 9; /* 512-byte chunks, the smallest first chunk allowed */
  sw_pgp_verdict v;
  SW_ASSERT_EQ_INT(sw_pgp_verify_mem(p, SW_PGP_PURPOSE_MANIFEST, sig, n, data, len, 1, &v), SW_OK);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  /* exact multiples of the chunk size too */
  uint8_t *sig2 = sign_detached(A, data, 1024 - 6, 0, &n);
  SW_ASSERT_EQ_INT(sw_pgp_verify_mem(p, SW_PGP_PURPOSE_MANIFEST, sig2, n, data, 1024 - 6, 1, &v), SW_OK);
  if (!v.accepted) SW_FAILF("rejected at 2 chunks: %s", v.reason);
  data[len - 1] ^= 1;
  SW_ASSERT_EQ_INT(sw_pgp_verify_mem(p, SW_PGP_PURPOSE_MANIFEST, sig, n, data, len, 1, &v), SW_OK);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  free(sig);
  free(sig2);
  free(data);
  sw_pgp_free(p);
}

/* A source of `len` bytes (i * 131 + 7) that fails, or kills the gpg of
 * `home`, once `at` bytes were served. */
struct big_src {
  size_t len, pos, at;
  int fail;            /* at `at`: return -1 */
  const char *home;    /* at `at`: SIGKILL the gpg whose command line names it */
  int killed;
};

static void fill_big(uint8_t *buf, size_t from, size_t n) {
  for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)((from + i) * 131 + 7);
}

/* SIGKILL every process whose command line has "--verify" and names home;
 * waits (at most 5 s) until each has closed its files. How many it killed. */
static int kill_gpg_of(const char *home) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  int n = 0;
  pid_t pids[8];
  SW_ASSERT(d != NULL);
  while ((e = readdir(d)) != NULL && n < 8) {
    char path[300], cmd[4096];
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t r = read(fd, cmd, sizeof cmd - 1);
    close(fd);
    if (r <= 0) continue;
    int has_home = 0, has_verify = 0;
    for (ssize_t i = 0; i < r; i += (ssize_t)strlen(cmd + i) + 1) {
      cmd[r] = '\0';
      has_home |= strcmp(cmd + i, home) == 0;
      has_verify |= strcmp(cmd + i, "--verify") == 0;
    }
    if (has_home && has_verify && kill((pid_t)atoi(e->d_name), SIGKILL) == 0) pids[n++] = (pid_t)atoi(e->d_name);
  }
  closedir(d);
  for (int i = 0; i < n; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/0", (int)pids[i]);
    for (int t = 0; t < 500 && access(path, F_OK) == 0; t++) usleep(10000);
  }
  return n;
}

static ssize_t big_reader(void *arg, uint8_t *buf, size_t len) {
  struct big_src *s = arg;
  if (s->pos >= s->at && (s->fail || (s->home != NULL && !s->killed))) {
    if (s->fail) return -1;
    s->killed = kill_gpg_of(s->home);
  }
  if (len > s->len - s->pos) len = s->len - s->pos;
  if (s->pos < s->at && len > s->at - s->pos) len = s->at - s->pos;
  fill_big(buf, s->pos, len);
  s->pos += len;
  return (ssize_t)len;
}

/* len bytes of fill_big's pattern and key A's detached signature of them. */
struct big_signed {
  uint8_t *data, *sig;
  size_t len, sig_len;
};

static struct big_signed sign_big(size_t len) {
  struct big_signed b = {malloc(len), NULL, len, 0};
  SW_ASSERT(b.data != NULL);
  fill_big(b.data, 0, len);
  b.sig = sign_detached(A, b.data, len, 0, &b.sig_len);
  return b;
}

static void free_big(struct big_signed *b) {
  free(b->sig);
  free(b->data);
}

/* We write the message into gpg's pipe ourselves (verify/pgp_pump.c): data
 * several times the 1 MiB pipe goes through full pipes and partial writes. */
SW_TEST(verify_stream_of_data_larger_than_the_pipe_is_checked_whole) {
  need_fixture();
  sw_pgp *p = open_trusted();
  struct big_signed b = sign_big((5u << 20) + 12345);
  struct big_src src = {b.len, 0, b.len, 0, NULL, 0};
  sw_pgp_verdict v;
  SW_ASSERT_EQ_INT(
      sw_pgp_verify_stream(p, SW_PGP_PURPOSE_MANIFEST, b.sig, b.sig_len, b.len, big_reader, &src, 1, &v), SW_OK);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  SW_ASSERT_EQ_INT(src.pos, b.len);
  /* one bit in the middle of the third MiB */
  b.data[(2u << 20) + 777] ^= 4;
  SW_ASSERT_EQ_INT(sw_pgp_verify_mem(p, SW_PGP_PURPOSE_MANIFEST, b.sig, b.sig_len, b.data, b.len, 1, &v), SW_OK);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "bad signature");
  free_big(&b);
  sw_pgp_free(p);
}

SW_TEST(a_read_failing_mid_stream_is_an_error_and_the_next_verify_still_works) {
  need_fixture();
  sw_pgp *p = open_trusted();
  struct big_signed b = sign_big(3u << 20);
  struct big_src src = {b.len, 0, 2u << 20, 1, NULL, 0};
  sw_pgp_verdict v;
  sw_err rc = sw_pgp_verify_stream(p, SW_PGP_PURPOSE_MANIFEST, b.sig, b.sig_len, b.len, big_reader, &src, 1, &v);
  SW_ASSERT_EQ_INT(rc, SW_ERR_IO);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "reading the signed data failed");
  struct big_src again = {b.len, 0, b.len, 0, NULL, 0};
  SW_ASSERT_EQ_INT(
      sw_pgp_verify_stream(p, SW_PGP_PURPOSE_MANIFEST, b.sig, b.sig_len, b.len, big_reader, &again, 1, &v), SW_OK);
  if (!v.accepted) SW_FAILF("rejected after a failed read: %s", v.reason);
  free_big(&b);
  sw_pgp_free(p);
}

/* gpg gone while we still write (EPIPE): the check ends, rejected, instead of
 * waiting on a pipe nobody reads. */
SW_TEST(gpg_killed_mid_message_is_a_rejection_not_a_hang) {
  need_fixture();
  sw_pgp *p = open_trusted();
  struct big_signed b = sign_big(8u << 20);
  struct big_src src = {b.len, 0, 3u << 20, 0, p->home, 0};
  sw_pgp_verdict v;
  (void)sw_pgp_verify_stream(p, SW_PGP_PURPOSE_MANIFEST, b.sig, b.sig_len, b.len, big_reader, &src, 1, &v);
  SW_ASSERT_EQ_INT(src.killed, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  free_big(&b);
  sw_pgp_free(p);
}

/* A process killed before sw_pgp_free leaves its home (gpg.conf, the pinned
 * keys) in $TMPDIR; the next open removes it, and never a home in use. */
SW_TEST(a_home_left_by_a_killed_process_is_removed_by_the_next_open) {
  need_fixture();
  int fds[2], st;
  char home[SW_PGP_HOME_MAX] = "";
  struct stat sb;
  SW_ASSERT(pipe(fds) == 0);
  pid_t pid = fork();
  SW_ASSERT(pid >= 0);
  if (pid == 0) {
    sw_pgp *c = open_trusted();
    if (write(fds[1], c->home, strlen(c->home)) < 0) _exit(1);
    raise(SIGKILL);
    _exit(1);
  }
  close(fds[1]);
  ssize_t r = read(fds[0], home, sizeof home - 1);
  close(fds[0]);
  SW_ASSERT(waitpid(pid, &st, 0) == pid);
  SW_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  SW_ASSERT(r > 0);
  SW_ASSERT(lstat(home, &sb) == 0); /* left behind */
  sw_pgp *in_use = open_trusted();
  sw_pgp *p = open_trusted();
  SW_ASSERT(lstat(home, &sb) != 0);
  SW_ASSERT(lstat(in_use->home, &sb) == 0);
  /* the home in use still works */
  size_t n;
  uint8_t *sig = sign_detached(A, DATA, sizeof DATA, 0, &n);
  sw_pgp_verdict v = check(in_use, sig, n, DATA, sizeof DATA, 1);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  free(sig);
  sw_pgp_free(p);
  sw_pgp_free(in_use);
}

/* $TMPDIR is writable by everyone: a symlink named like a home, to a
 * directory that looks stale, is neither followed nor removed. */
SW_TEST(a_symlink_named_like_a_home_is_never_followed) {
  need_fixture();
  char target[] = "/tmp/swtp-target.XXXXXX", link[] = "/tmp/swpgp.XXXXXX", path[64];
  struct stat sb;
  SW_ASSERT(mkdtemp(target) != NULL);
  SW_ASSERT(chmod(target, 0700) == 0);
  snprintf(path, sizeof path, "%s/swarmup.lock", target);
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  SW_ASSERT(fd >= 0);
  close(fd);
  SW_ASSERT(mkdtemp(link) != NULL); /* a free name of the right shape */
  SW_ASSERT(rmdir(link) == 0);
  SW_ASSERT(symlink(target, link) == 0);
  sw_pgp *p = open_trusted();
  SW_ASSERT(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));
  SW_ASSERT(lstat(path, &sb) == 0);
  sw_pgp_free(p);
  SW_ASSERT(unlink(link) == 0);
  SW_ASSERT(unlink(path) == 0);
  SW_ASSERT(rmdir(target) == 0);
}

SW_TEST(rejects_signature_packet_without_issuer) {
  need_fixture();
  sw_pgp *p = open_trusted();
  /* v4, binary, EdDSA, SHA-256, no subpackets, left16, two empty MPIs */
  static const uint8_t forged[] = {0xC2, 12, 4, 0, 22, 8, 0, 0, 0, 0, 0xAB, 0xCD, 0, 0};
  sw_pgp_verdict v = check(p, forged, sizeof forged, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "no issuer");
  /* a hashed area longer than the packet */
  static const uint8_t broken[] = {0xC2, 8, 4, 0, 22, 8, 0, 200, 0, 0};
  v = check(p, broken, sizeof broken, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "malformed signature packet");
  sw_pgp_free(p);
}

SW_TEST(rejects_more_than_32_signature_packets) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_detached(A, DATA, sizeof DATA, 0, &n);
  uint8_t *many = malloc(n * 33);
  SW_ASSERT(many != NULL);
  for (int i = 0; i < 33; i++) memcpy(many + (size_t)i * n, sig, n);
  sw_pgp_verdict v = check(p, many, n * 33, DATA, sizeof DATA, 1);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "more than 32");
  /* 32 copies of one good signature: one distinct signer, accepted */
  v = check(p, many, n * 32, DATA, sizeof DATA, 1);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  SW_ASSERT_EQ_INT(v.n_good, 1);
  free(many);
  free(sig);
  sw_pgp_free(p);
}

/* ---------- signatures say what they sign (purpose@swarmup) ---------- */

/* Sign DATA as who, carrying purpose@swarmup=purpose (NULL: no notation). */
static uint8_t *sign_purpose(int who, const char *purpose, size_t *n) {
  g_purpose = purpose;
  uint8_t *sig = sign_detached(who, DATA, sizeof DATA, 0, n);
  g_purpose = "manifest";
  return sig;
}

static sw_pgp_verdict check_for(sw_pgp *p, sw_pgp_purpose purpose, const uint8_t *sig, size_t n) {
  sw_pgp_verdict v;
  sw_err rc = sw_pgp_verify_mem(p, purpose, sig, n, (const uint8_t *)DATA, sizeof DATA, 1, &v);
  if (rc != SW_OK) SW_FAILF("verify did not run: %s: %s", sw_err_name(rc), v.reason);
  return v;
}

SW_TEST(manifest_signature_without_purpose_is_refused) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_purpose(A, NULL, &n);
  sw_pgp_verdict v = check_for(p, SW_PGP_PURPOSE_MANIFEST, sig, n);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "has no purpose@swarmup notation");
  SW_ASSERT_CONTAINS(v.reason, "a manifest signature needs purpose@swarmup=manifest");
  SW_ASSERT_CONTAINS(v.reason, g_fpr[A]);
  /* nor as a key statement signature */
  v = check_for(p, SW_PGP_PURPOSE_KEYS, sig, n);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "a key statement signature needs purpose@swarmup=keys");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(package_signature_is_not_a_manifest_signature) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_purpose(A, "package", &n);
  sw_pgp_verdict v = check_for(p, SW_PGP_PURPOSE_MANIFEST, sig, n);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "is a package signature (purpose@swarmup=package), not a manifest signature");
  v = check_for(p, SW_PGP_PURPOSE_KEYS, sig, n);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "is a package signature (purpose@swarmup=package), not a key statement signature");
  v = check_for(p, SW_PGP_PURPOSE_PACKAGE, sig, n);
  if (!v.accepted) SW_FAILF("package signature refused as a package signature: %s", v.reason);
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(keys_signature_is_not_a_package_signature) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_purpose(A, "keys", &n);
  sw_pgp_verdict v = check_for(p, SW_PGP_PURPOSE_PACKAGE, sig, n);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "is a key statement signature (purpose@swarmup=keys), not a package signature");
  v = check_for(p, SW_PGP_PURPOSE_MANIFEST, sig, n);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "is a key statement signature (purpose@swarmup=keys), not a manifest signature");
  v = check_for(p, SW_PGP_PURPOSE_KEYS, sig, n);
  if (!v.accepted) SW_FAILF("keys signature refused as a keys signature: %s", v.reason);
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(manifest_signature_is_not_a_package_or_keys_signature) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_purpose(A, "manifest", &n);
  sw_pgp_verdict v = check_for(p, SW_PGP_PURPOSE_PACKAGE, sig, n);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "is a manifest signature (purpose@swarmup=manifest), not a package signature");
  v = check_for(p, SW_PGP_PURPOSE_KEYS, sig, n);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "not a key statement signature");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(notationless_package_signature_is_accepted) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_purpose(A, NULL, &n);
  sw_pgp_verdict v = check_for(p, SW_PGP_PURPOSE_PACKAGE, sig, n);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  SW_ASSERT_STREQ(v.signer[0], g_fpr[A]);
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(unknown_purpose_value_is_refused_for_every_purpose) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  uint8_t *sig = sign_purpose(A, "firmware", &n);
  sw_pgp_verdict v = check_for(p, SW_PGP_PURPOSE_PACKAGE, sig, n);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "has purpose@swarmup=firmware, not purpose@swarmup=package");
  v = check_for(p, SW_PGP_PURPOSE_MANIFEST, sig, n);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "has purpose@swarmup=firmware, not purpose@swarmup=manifest");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(critical_purpose_notation_is_refused_with_its_own_reason) {
  /* gpg would say only "bad signature" (an unknown critical notation). */
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  static const char *const extra[] = {"--sig-notation", "!purpose@swarmup=manifest", NULL};
  g_purpose = NULL;
  uint8_t *sig = sign_as(A, DATA, sizeof DATA, "--detach-sign", 0, extra, &n);
  g_purpose = "manifest";
  sw_pgp_verdict v = check_for(p, SW_PGP_PURPOSE_MANIFEST, sig, n);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "marks its purpose@swarmup notation critical");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(two_purpose_notations_in_one_packet_are_refused) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  static const char *const extra[] = {"--sig-notation", "purpose@swarmup=package", NULL};
  uint8_t *sig = sign_as(A, DATA, sizeof DATA, "--detach-sign", 0, extra, &n); /* + manifest */
  sw_pgp_verdict v = check_for(p, SW_PGP_PURPOSE_MANIFEST, sig, n);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "carries 2 purpose@swarmup notations");
  v = check_for(p, SW_PGP_PURPOSE_PACKAGE, sig, n);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "carries 2 purpose@swarmup notations");
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(one_wrong_purpose_in_a_set_rejects_the_set) {
  need_fixture();
  static const char *const k[] = {"trusted.asc", "second.asc"};
  sw_pgp *p = open_keys(k, 2);
  size_t na, ne, nc;
  uint8_t *a = sign_purpose(A, "manifest", &na);
  uint8_t *e = sign_purpose(E, "package", &ne);
  uint8_t *c = concat(a, na, e, ne, &nc);
  sw_pgp_verdict v = check_for(p, SW_PGP_PURPOSE_MANIFEST, c, nc);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "is a package signature");
  SW_ASSERT_CONTAINS(v.reason, g_fpr[E]);
  free(a);
  free(e);
  free(c);
  sw_pgp_free(p);
}

/* Append a purpose@swarmup=value notation to the UNHASHED area of the one
 * binary signature packet sig[0..n): the signature stays valid (that area is
 * not covered by it), which is why only the hashed area may say the purpose. */
static uint8_t *add_unhashed_notation(const uint8_t *sig, size_t n, const char *value, size_t *out_len) {
  const char name[] = "purpose@swarmup";
  size_t nl = sizeof name - 1, vl = strlen(value), sub = 1 + 8 + nl + vl;
  size_t pos = 0, blen = 0, hashed, unhashed, nb, k = 0;
  const uint8_t *body;
  uint8_t *out;
  SW_ASSERT(n > 3 && (sig[0] & 0x80) && sub < 192);
  if (sig[0] & 0x40) { /* new format, one- or two-byte length */
    SW_ASSERT((sig[0] & 0x3f) == 2);
    if (sig[1] < 192) {
      blen = sig[1];
      pos = 2;
    } else {
      SW_ASSERT(sig[1] < 224);
      blen = ((size_t)(sig[1] - 192) << 8) + sig[2] + 192;
      pos = 3;
    }
  } else { /* old format, 1/2/4-byte length */
    size_t lt = sig[0] & 3, w = lt == 0 ? 1 : lt == 1 ? 2 : 4;
    SW_ASSERT(((sig[0] >> 2) & 0x0f) == 2 && lt != 3);
    for (size_t i = 0; i < w; i++) blen = (blen << 8) | sig[1 + i];
    pos = 1 + w;
  }
  SW_ASSERT(pos + blen == n);
  body = sig + pos;
  hashed = ((size_t)body[4] << 8) | body[5];
  unhashed = ((size_t)body[6 + hashed] << 8) | body[7 + hashed];
  nb = blen + 1 + sub;
  out = malloc(nb + 8);
  SW_ASSERT(out != NULL);
  out[k++] = 0xC2; /* new format, tag 2, four-byte length */
  out[k++] = 0xFF;
  out[k++] = (uint8_t)(nb >> 24);
  out[k++] = (uint8_t)(nb >> 16);
  out[k++] = (uint8_t)(nb >> 8);
  out[k++] = (uint8_t)nb;
  memcpy(out + k, body, 6 + hashed);
  k += 6 + hashed;
  out[k++] = (uint8_t)((unhashed + 1 + sub) >> 8);
  out[k++] = (uint8_t)(unhashed + 1 + sub);
  memcpy(out + k, body + 8 + hashed, unhashed);
  k += unhashed;
  out[k++] = (uint8_t)sub;
  out[k++] = 20;   /* notation data */
  out[k++] = 0x80; /* human-readable */
  out[k++] = 0;
  out[k++] = 0;
  out[k++] = 0;
  out[k++] = (uint8_t)(nl >> 8);
  out[k++] = (uint8_t)nl;
  out[k++] = (uint8_t)(vl >> 8);
  out[k++] = (uint8_t)vl;
  memcpy(out + k, name, nl);
  k += nl;
  memcpy(out + k, value, vl);
  k += vl;
  memcpy(out + k, body + 8 + hashed + unhashed, blen - 8 - hashed - unhashed);
  k += blen - 8 - hashed - unhashed;
  *out_len = k;
  return out;
}

SW_TEST(purpose_notation_in_the_unhashed_area_does_not_count) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n, m;
  /* A package signed by another tool (no notation), and the same signature
   * with purpose@swarmup=manifest added where anyone can add it. */
  uint8_t *sig = sign_purpose(A, NULL, &n);
  uint8_t *forged = add_unhashed_notation(sig, n, "manifest", &m);
  /* still a good signature: as a package signature it is accepted */
  sw_pgp_verdict v = check_for(p, SW_PGP_PURPOSE_PACKAGE, forged, m);
  if (!v.accepted) SW_FAILF("the rewritten signature is no longer good: %s", v.reason);
  v = check_for(p, SW_PGP_PURPOSE_MANIFEST, forged, m);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "has no purpose@swarmup notation in its hashed area");
  free(forged);
  /* and an unhashed "package" does not make a key statement signature a package one */
  free(sig);
  sig = sign_purpose(A, "keys", &n);
  forged = add_unhashed_notation(sig, n, "package", &m);
  v = check_for(p, SW_PGP_PURPOSE_PACKAGE, forged, m);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "is a key statement signature");
  free(forged);
  free(sig);
  sw_pgp_free(p);
}

SW_TEST(verify_refuses_an_unknown_purpose_argument) {
  need_fixture();
  sw_pgp *p = open_trusted();
  size_t n;
  sw_pgp_verdict v;
  uint8_t *sig = sign_purpose(A, "manifest", &n);
  SW_ASSERT_EQ_INT(sw_pgp_verify_mem(p, (sw_pgp_purpose)0, sig, n, (const uint8_t *)DATA, sizeof DATA, 1, &v),
                   SW_ERR_USAGE);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  free(sig);
  sw_pgp_free(p);
}

/* ---------- a private home from an in-memory keyring ---------- */

/* gpg --export of the given fingerprints (binary), as a key statement's Keyring. */
static uint8_t *export_keys(const char *const *fprs, size_t n_fprs, size_t *len) {
  char out[128];
  char *argv[16];
  int n = 0;
  static int seq;
  snprintf(out, sizeof out, "%s/export.%d.%d", g_dir, (int)getpid(), seq++);
  argv[n++] = "gpg";
  argv[n++] = "--homedir";
  argv[n++] = g_home;
  argv[n++] = "--batch";
  argv[n++] = "--yes";
  argv[n++] = "-o";
  argv[n++] = out;
  argv[n++] = "--export";
  for (size_t i = 0; i < n_fprs; i++) argv[n++] = (char *)fprs[i];
  argv[n] = NULL;
  SW_ASSERT_EQ_INT(run(argv), 0);
  return read_all(out, len);
}

SW_TEST(keyring_home_pins_only_the_listed_keys) {
  need_fixture();
  const char *fprs[] = {g_fpr[A], g_fpr[E]};
  size_t len, na, ne;
  uint8_t *ring = export_keys(fprs, 2, &len);
  char pin[1][41];
  char msg[SW_MSG_MAX] = "";
  sw_pgp *p = NULL;
  /* lower case is accepted (the statement's parser may hand either) */
  for (int i = 0; i < 41; i++) pin[0][i] = (char)(g_fpr[A][i] >= 'A' && g_fpr[A][i] <= 'F' ? g_fpr[A][i] + 32 : g_fpr[A][i]);
  SW_ASSERT(ring[0] & 0x80); /* binary */
  sw_err rc = sw_pgp_open_keyring(&p, ring, len, (const char(*)[41])pin, 1, msg, sizeof msg);
  if (rc != SW_OK) SW_FAILF("sw_pgp_open_keyring: %s: %s", sw_err_name(rc), msg);
  SW_ASSERT_EQ_INT(sw_pgp_key_count(p), 1);
  uint8_t *a = sign_purpose(A, "keys", &na);
  uint8_t *e = sign_purpose(E, "keys", &ne);
  sw_pgp_verdict v = check_for(p, SW_PGP_PURPOSE_KEYS, a, na);
  if (!v.accepted) SW_FAILF("pinned key refused: %s", v.reason);
  SW_ASSERT_STREQ(v.signer[0], g_fpr[A]);
  /* E is in the keyring but not pinned: not a trusted signer */
  v = check_for(p, SW_PGP_PURPOSE_KEYS, e, ne);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "untrusted key");
  free(a);
  free(e);
  free(ring);
  sw_pgp_free(p);
}

SW_TEST(keyring_home_refuses_a_pinned_key_missing_from_the_keyring) {
  need_fixture();
  const char *fprs[] = {g_fpr[A]};
  size_t len;
  uint8_t *ring = export_keys(fprs, 1, &len);
  char pin[2][41];
  char msg[SW_MSG_MAX] = "";
  sw_pgp *p = NULL;
  memcpy(pin[0], g_fpr[A], 41);
  memcpy(pin[1], g_fpr[E], 41);
  SW_ASSERT_EQ_INT(sw_pgp_open_keyring(&p, ring, len, (const char(*)[41])pin, 2, msg, sizeof msg), SW_ERR_CONFIG);
  SW_ASSERT(p == NULL);
  SW_ASSERT_CONTAINS(msg, g_fpr[E]);
  /* a subkey's fingerprint is not a primary key of the keyring */
  memcpy(pin[1], g_fpr[A_SUB], 41);
  SW_ASSERT_EQ_INT(sw_pgp_open_keyring(&p, ring, len, (const char(*)[41])pin, 2, msg, sizeof msg), SW_ERR_CONFIG);
  SW_ASSERT_CONTAINS(msg, g_fpr[A_SUB]);
  free(ring);
}

SW_TEST(keyring_home_refuses_secret_keys_and_garbage) {
  need_fixture();
  size_t len;
  uint8_t *sec = read_all(keyfile("untrusted-secret.asc"), &len);
  char pin[1][41];
  char msg[SW_MSG_MAX] = "";
  sw_pgp *p = NULL;
  memcpy(pin[0], g_fpr[B], 41);
  SW_ASSERT_EQ_INT(sw_pgp_open_keyring(&p, sec, len, (const char(*)[41])pin, 1, msg, sizeof msg), SW_ERR_CONFIG);
  SW_ASSERT_CONTAINS(msg, "secret key");
  static const uint8_t junk[] = {0x99, 0x00, 0x01, 0x04};
  SW_ASSERT_EQ_INT(sw_pgp_open_keyring(&p, junk, sizeof junk, (const char(*)[41])pin, 1, msg, sizeof msg),
                   SW_ERR_CONFIG);
  SW_ASSERT(p == NULL);
  free(sec);
}
