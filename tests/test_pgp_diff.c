/* test_pgp_diff.c - differential test of verify/pgp.c against gpgv.
 *
 * Real signatures (keys from tests/lib/mkkeys.sh, made at test time) are
 * mutated by tests/fuzz/pgp_diff.h, a few hundred times from a printed seed;
 * each mutant is judged by sw_pgp_verify_mem (the one-pass re-framing gpg is
 * given) and by `gpgv --keyring` on its detached form. A mutant swarmup
 * accepts and gpgv rejects fails the test, which prints the seed, the
 * mutant's index, what was done to it and its bytes, and keeps it with the
 * keys in SW_TEST_BINDIR/pgp-diff-finding.PID/ for gpgv to be run on by hand.
 *
 * SW_PGP_DIFF_SEED=N repeats a run (the signatures are new each time, so a
 * mutant is reproduced from its kept files; the seed reproduces the
 * operations); SW_PGP_DIFF_N=N sets the number of mutants per test. */
#include "sw_test.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>

#include "pgp.h"
#include "verify_int.h"

#define SW_FIXTURE_PREFIX "/tmp/swtd"
#include "pgp_fixture.h"

#include "fuzz/pgp_diff.h"

#define DEFAULT_SEED 0x5EED0A11D1FFull

static uint64_t g_seed;
static char g_ring[300], g_vhome[200];
static uint8_t g_data[300];

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *e = getenv(name);
  char *end = NULL;
  unsigned long long v;
  if (e == NULL || *e == 0) return dflt;
  errno = 0;
  v = strtoull(e, &end, 0);
  if (errno || *end) SW_FAILF("%s=%s is not a number", name, e);
  return (uint64_t)v;
}

static void setup(void) {
  const char *asc[2];
  char a[300], e[300];
  need_fixture();
  g_seed = env_u64("SW_PGP_DIFF_SEED", DEFAULT_SEED);
  snprintf(g_vhome, sizeof g_vhome, "%s/gpgv.%d", g_dir, (int)getpid());
  SW_ASSERT(mkdir(g_vhome, 0700) == 0 || errno == EEXIST);
  snprintf(a, sizeof a, "%s", keyfile("trusted.asc"));
  snprintf(e, sizeof e, "%s", keyfile("second.asc"));
  asc[0] = a;
  asc[1] = e;
  snprintf(g_ring, sizeof g_ring, "%s/ring.gpg", g_vhome);
  SW_ASSERT_EQ_INT(pd_make_ring(g_home, asc, 2, g_ring), 0);
  for (size_t i = 0; i < sizeof g_data; i++) g_data[i] = (uint8_t)(i * 131 + 7);
}

static sw_pgp *open_both(void) {
  static const char *const k[] = {"trusted.asc", "second.asc"};
  return open_keys(k, 2);
}

struct base {
  const char *name;
  uint8_t *sig;
  size_t len;
};

static struct base make_base(const char *name, int who, const char *const *extra) {
  struct base b = {name, NULL, 0};
  b.sig = sign_as(who, g_data, sizeof g_data, "--detach-sign", 0, extra, &b.len);
  return b;
}

static struct base cat_base(const char *name, struct base x, struct base y) {
  struct base b = {name, malloc(x.len + y.len), x.len + y.len};
  SW_ASSERT(b.sig != NULL);
  memcpy(b.sig, x.sig, x.len);
  memcpy(b.sig + x.len, y.sig, y.len);
  return b;
}

/* 1 accepted, 0 rejected; the check must have run. */
static int ours(sw_pgp *p, const uint8_t *sig, size_t n, const uint8_t *data, size_t len, sw_pgp_verdict *v) {
  sw_err rc = sw_pgp_verify_mem(p, SW_PGP_PURPOSE_MANIFEST, sig, n, data, len, 1, v);
  if (rc != SW_OK) SW_FAILF("verify did not run: %s: %s", sw_err_name(rc), v->reason);
  if (v->accepted) {
    /* A verdict that says yes names a pinned signer. */
    SW_ASSERT(v->n_good >= 1);
    SW_ASSERT(strcmp(v->signer[0], g_fpr[A]) == 0 || strcmp(v->signer[0], g_fpr[E]) == 0);
  }
  return v->accepted;
}

static int theirs(const uint8_t *sig, size_t n, const uint8_t *data, size_t len) {
  int r = pd_gpgv(g_vhome, g_vhome, g_ring, sig, n, data, len);
  if (r < 0) SW_FAILF("could not run gpgv");
  return r;
}

static void keep_finding(const struct pd_mutant *m, const char *base, unsigned i) {
  char dir[400], path[500], cmd[1200];
  FILE *f;
  snprintf(dir, sizeof dir, "%s/pgp-diff-finding.%d", SW_TEST_BINDIR, (int)getpid());
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) return;
  snprintf(path, sizeof path, "%s/mutant.sig", dir);
  write_file(path, m->sig, m->sig_len);
  snprintf(path, sizeof path, "%s/mutant.data", dir);
  write_file(path, m->data, m->data_len);
  snprintf(cmd, sizeof cmd, "cp '%s' '%s' '%s' '%s/'", keyfile("trusted.asc"), keyfile("second.asc"), g_ring, dir);
  if (system(cmd) != 0) fprintf(stderr, "could not copy the keys to %s\n", dir);
  snprintf(path, sizeof path, "%s/what.txt", dir);
  f = fopen(path, "w");
  if (f) {
    fprintf(f, "seed 0x%llx, base %s, mutant %u\n", (unsigned long long)g_seed, base, i);
    pd_dump(f, m);
    fprintf(f, "repeat: gpgv --homedir DIR --keyring %s/ring.gpg %s/mutant.sig %s/mutant.data\n", dir, dir, dir);
    fclose(f);
  }
  fprintf(stderr, "kept in %s\n", dir);
}

/* splitmix64: every bit of the seed, the test and the index reaches the state. */
static uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

struct tally {
  unsigned n, both_yes, both_no, only_gpgv, findings;
};

/* n mutants of each base; fails at the first finding. salt separates tests. */
static void run_diff(sw_pgp *p, const struct base *bases, size_t nb, unsigned n, uint64_t salt, struct tally *t) {
  static struct pd_mutant m;
  sw_pgp_verdict v;
  memset(t, 0, sizeof *t);
  for (size_t b = 0; b < nb; b++) {
    /* The bases themselves pass both, and a flipped data byte fails both:
     * otherwise a broken gpgv call would make a finding impossible. */
    if (!ours(p, bases[b].sig, bases[b].len, g_data, sizeof g_data, &v))
      SW_FAILF("base %s rejected by swarmup: %s", bases[b].name, v.reason);
    if (!theirs(bases[b].sig, bases[b].len, g_data, sizeof g_data)) SW_FAILF("base %s rejected by gpgv", bases[b].name);
    g_data[5] ^= 0x10;
    SW_ASSERT_EQ_INT(theirs(bases[b].sig, bases[b].len, g_data, sizeof g_data), 0);
    SW_ASSERT_EQ_INT(ours(p, bases[b].sig, bases[b].len, g_data, sizeof g_data, &v), 0);
    g_data[5] ^= 0x10;
  }
  for (unsigned i = 0; i < n; i++) {
    const struct base *b = &bases[i % nb];
    struct pd_src src;
    memset(&src, 0, sizeof src);
    src.rng = splitmix64(g_seed ^ splitmix64(salt ^ splitmix64(i))) | 1; /* mutant i of this seed */
    pd_mutate(&src, b->sig, b->len, g_data, sizeof g_data, &m);
    int we = ours(p, m.sig, m.sig_len, m.data, m.data_len, &v);
    int they = theirs(m.sig, m.sig_len, m.data, m.data_len);
    t->n++;
    if (we && they) t->both_yes++;
    if (!we && !they) t->both_no++;
    if (!we && they) t->only_gpgv++;
    if (we && !they) {
      t->findings++;
      fprintf(stderr, "FINDING: swarmup accepts what gpgv rejects (seed 0x%llx, base %s, mutant %u)\n",
              (unsigned long long)g_seed, b->name, i);
      pd_dump(stderr, &m);
      keep_finding(&m, b->name, i);
      SW_FAILF("swarmup accepted a signature gpgv rejects");
    }
    if (getenv("SW_PGP_DIFF_VERBOSE"))
      fprintf(stderr, "%u %s ours=%d gpgv=%d %s%s%s\n", i, b->name, we, they, m.what, we ? "" : " / ", we ? "" : v.reason);
  }
  printf("seed 0x%llx: %u mutants: %u accepted by both, %u rejected by both, %u rejected by swarmup only, %u findings\n",
         (unsigned long long)g_seed, t->n, t->both_yes, t->both_no, t->only_gpgv, t->findings);
}

SW_TEST(mutated_signature_never_passes_where_gpgv_on_the_detached_form_fails) {
  setup();
  sw_pgp *p = open_both();
  static const char *const sha512[] = {"--digest-algo", "SHA512", NULL};
  static const char *const notation[] = {"--sig-notation", "build@test.invalid=42", "--sig-notation",
                                         "second@test.invalid=x", "--set-policy-url", "https://p.invalid/", NULL};
  struct base b[4];
  struct tally t;
  b[0] = make_base("A", A, NULL);
  b[1] = make_base("A_SUB", A_SUB, NULL);
  b[2] = make_base("E/SHA512", E, sha512);
  b[3] = make_base("A/notations", A, notation);
  run_diff(p, b, 4, (unsigned)env_u64("SW_PGP_DIFF_N", 400), 0x51, &t);
  /* Some mutants keep the signature valid (another length form, unhashed
   * subpackets added or dropped): if none passed both, the mutator or the
   * comparison is broken and the test would prove nothing. */
  if (t.n >= 40 && t.both_yes == 0) SW_FAILF("no mutant passed both: the comparison proves nothing");
  for (int i = 0; i < 4; i++) free(b[i].sig);
  sw_pgp_free(p);
}

SW_TEST(mutated_signature_set_never_passes_where_gpgv_on_the_detached_form_fails) {
  setup();
  sw_pgp *p = open_both();
  struct base a = make_base("A", A, NULL), e = make_base("E", E, NULL), s = make_base("A_SUB", A_SUB, NULL);
  struct base b[2];
  struct tally t;
  b[0] = cat_base("A+E", a, e);
  b[1] = cat_base("A+A_SUB", a, s);
  run_diff(p, b, 2, (unsigned)env_u64("SW_PGP_DIFF_N", 400) / 2, 0x52, &t);
  if (t.n >= 40 && t.both_yes == 0) SW_FAILF("no mutant passed both: the comparison proves nothing");
  free(a.sig);
  free(e.sig);
  free(s.sig);
  free(b[0].sig);
  free(b[1].sig);
  sw_pgp_free(p);
}

/* The base of A_SUB with its unhashed Issuer (16, where gpg 2.2 puts it)
 * renamed to an unknown type (62), and, with add_empty, an Issuer of no bytes
 * appended to the unhashed area: the first Issuer gpg then finds is too short
 * for it. Written into out; its length. */
static size_t renamed_issuer(const struct base *b, int add_empty, uint8_t *out, size_t cap) {
  static struct pd_msg msg;
  static const uint8_t empty_issuer[] = {1, 16};
  size_t hoff, hlen, uoff, ulen, off[64], size[64];
  unsigned ns, renamed = 0;
  SW_ASSERT(pd_parse(b->sig, b->len, &msg) == 0 && msg.n == 1);
  struct pd_pkt *k = &msg.p[0];
  SW_ASSERT(pd_areas(k, &hoff, &hlen, &uoff, &ulen) == 0);
  ns = pd_subpackets(k->body + uoff, ulen, off, size);
  for (unsigned i = 0; i < ns; i++) {
    uint8_t *t = k->body + uoff + off[i] + 1; /* one length octet: these subpackets are short */
    if ((*t & 0x7f) == 16) {
      *t = 62;
      renamed++;
    }
  }
  SW_ASSERT(renamed == 1);
  if (add_empty) {
    SW_ASSERT(pd_splice(k, uoff + ulen, 0, empty_issuer, sizeof empty_issuer) == 0);
    pd_put16(k->body + uoff - 2, ulen + sizeof empty_issuer);
  }
  size_t w = pd_write(&msg, out, cap);
  SW_ASSERT(w > 0);
  return w;
}

/* fuzz_pgp_diff's finding (CI of 2026-12-07): gpg logs "subpacket of type 16
 * too short" and gpgv exits 2, while the signature checks as good and gpgme
 * reported it good: swarmup accepted it. */
SW_TEST(unhashed_issuer_too_short_for_gpg_is_refused_as_gpgv_does) {
  setup();
  sw_pgp *p = open_both();
  struct base b = make_base("A_SUB", A_SUB, NULL);
  static uint8_t out[PD_SIG_MAX];
  sw_pgp_verdict v;
  size_t w;
  /* The rename alone (an unknown unhashed subpacket) passes both: the construction is sound. */
  w = renamed_issuer(&b, 0, out, sizeof out);
  SW_ASSERT(theirs(out, w, g_data, sizeof g_data) == 1);
  SW_ASSERT(ours(p, out, w, g_data, sizeof g_data, &v) == 1);
  /* With the empty Issuer after it, gpgv refuses, and so must we, saying why. */
  w = renamed_issuer(&b, 1, out, sizeof out);
  SW_ASSERT(theirs(out, w, g_data, sizeof g_data) == 0);
  SW_ASSERT(ours(p, out, w, g_data, sizeof g_data, &v) == 0);
  if (strstr(v.reason, "subpacket of type 16 is too short") == NULL) SW_FAILF("reason: %s", v.reason);
  free(b.sig);
  sw_pgp_free(p);
}
