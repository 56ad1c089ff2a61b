/* fuzz_pgp_diff.c - libFuzzer differential target: verify/pgp.c against gpgv.
 *
 * The same comparison as tests/test_pgp_diff.c, steered by the fuzzer: at
 * start-up real keys are made (tests/lib/mkkeys.sh) and four real detached
 * signatures over fixed data (by A, by A's subkey, by E, and A+E); each input
 * picks one (first byte) and its remaining bytes are the choices of the
 * mutator in pgp_diff.h (which operations, where, what values, and raw bytes
 * spliced in). A valid signature cannot be found by random bytes, so the
 * input describes edits to one instead; that is what lets the fuzzer reach
 * mutants gpg still accepts.
 *
 * The mutant goes to sw_pgp_verify_mem; only when swarmup accepts it is gpgv
 * run on its detached form (one more process): a mutant swarmup accepts and
 * gpgv rejects is a finding (printed, then abort, so libFuzzer keeps the
 * input). Rejections by swarmup alone are its stricter policy, not findings.
 * Each input costs at most two gpg processes; most cost none (refused before
 * gpg), so a 60 s run makes a few thousand. */
#include "fuzz_common.h"
#include <stdint.h>

#include "pgp.h"
#include "sw_err.h"
#include "sw_limits.h"

#include "pgp_diff.h"

#ifndef SW_FUZZ_SRCDIR
#error "SW_FUZZ_SRCDIR (the tests/ directory) is needed to make the keys"
#endif

static char work[64], gnupghome[256], fpr_a[64], fpr_asub[64], fpr_e[64];
static char ring[320], vdir[320];
static sw_pgp *pgp;
static uint8_t data[300];
static struct {
  uint8_t sig[1024];
  size_t len;
} base[4];

static void cleanup(void) {
  if (pgp) sw_pgp_free(pgp);
  pgp = NULL;
  if (gnupghome[0]) {
    char *kill[] = {"gpgconf", "--homedir", gnupghome, "--kill", "all", NULL};
    char *rm[] = {"rm", "-rf", gnupghome, NULL};
    pd_run(kill);
    pd_run(rm);
  }
  if (work[0]) {
    char *rm[] = {"rm", "-rf", work, NULL};
    pd_run(rm);
  }
}

static void die(const char *what) {
  fprintf(stderr, "fuzz_pgp_diff: setup failed: %s\n", what);
  exit(1);
}

static void read_env(void) {
  char path[128], line[512];
  FILE *f;
  snprintf(path, sizeof path, "%s/keys/keys.env", work);
  f = fopen(path, "r");
  if (f == NULL) die("no keys.env");
  while (fgets(line, sizeof line, f)) {
    char *eq = strchr(line, '=');
    if (eq == NULL) continue;
    *eq = 0;
    eq[1 + strcspn(eq + 1, "\n")] = 0;
    if (strcmp(line, "GNUPGHOME") == 0) snprintf(gnupghome, sizeof gnupghome, "%s", eq + 1);
    if (strcmp(line, "A_FPR") == 0) snprintf(fpr_a, sizeof fpr_a, "%s!", eq + 1);
    if (strcmp(line, "A_SUB_FPR") == 0) snprintf(fpr_asub, sizeof fpr_asub, "%s!", eq + 1);
    if (strcmp(line, "E_FPR") == 0) snprintf(fpr_e, sizeof fpr_e, "%s!", eq + 1);
  }
  fclose(f);
  if (!gnupghome[0] || !fpr_a[0] || !fpr_asub[0] || !fpr_e[0]) die("keys.env lacks a key");
}

static void sign(const char *who, int i) {
  char in[128], out[128];
  int fd;
  ssize_t r;
  snprintf(in, sizeof in, "%s/data", work);
  snprintf(out, sizeof out, "%s/sig%d", work, i);
  /* purpose@swarmup=manifest: the base signatures are checked as manifest signatures. */
  char *argv[] = {"gpg", "--homedir", gnupghome, "--batch", "--yes", "--sig-notation", "purpose@swarmup=manifest",
                  "-u", (char *)who, "-o", out, "--detach-sign", in, NULL};
  if (pd_run(argv) != 0) die("gpg --detach-sign");
  fd = open(out, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("no signature");
  r = read(fd, base[i].sig, sizeof base[i].sig);
  close(fd);
  if (r <= 0 || (size_t)r >= sizeof base[i].sig) die("signature size");
  base[i].len = (size_t)r;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  char cmd[512], in[128], keys[2][160];
  const char *files[2] = {keys[0], keys[1]};
  char msg[SW_MSG_MAX] = "";
  sw_pgp_verdict v;
  (void)argc;
  (void)argv;
  snprintf(work, sizeof work, "/tmp/swfd.XXXXXX");
  if (mkdtemp(work) == NULL) die("mkdtemp");
  atexit(cleanup);
  snprintf(cmd, sizeof cmd, "bash '%s/lib/mkkeys.sh' '%s/keys' >/dev/null", SW_FUZZ_SRCDIR, work);
  if (system(cmd) != 0) die("mkkeys.sh");
  read_env();
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 131 + 7);
  snprintf(in, sizeof in, "%s/data", work);
  if (pd_write_file(in, data, sizeof data) != 0) die("data");
  sign(fpr_a, 0);
  sign(fpr_asub, 1);
  sign(fpr_e, 2);
  if (base[0].len + base[2].len > sizeof base[3].sig) die("A+E size");
  memcpy(base[3].sig, base[0].sig, base[0].len);
  memcpy(base[3].sig + base[0].len, base[2].sig, base[2].len);
  base[3].len = base[0].len + base[2].len;
  snprintf(keys[0], sizeof keys[0], "%s/keys/trusted.asc", work);
  snprintf(keys[1], sizeof keys[1], "%s/keys/second.asc", work);
  snprintf(vdir, sizeof vdir, "%s/gpgv", work);
  if (mkdir(vdir, 0700) != 0) die("gpgv home");
  snprintf(ring, sizeof ring, "%s/ring.gpg", vdir);
  if (pd_make_ring(gnupghome, files, 2, ring) != 0) die("gpgv keyring");
  /* sw_pgp's private homes go under the work dir, and with it. */
  setenv("TMPDIR", work, 1);
  if (sw_pgp_open(&pgp, files, 2, msg, sizeof msg) != SW_OK) die(msg);
  /* The bases pass both; a flipped data byte fails both. */
  for (int i = 0; i < 4; i++) {
    CHECK(sw_pgp_verify_mem(pgp, SW_PGP_PURPOSE_MANIFEST, base[i].sig, base[i].len, data, sizeof data, 1, &v) == SW_OK && v.accepted);
    CHECK(pd_gpgv(vdir, vdir, ring, base[i].sig, base[i].len, data, sizeof data) == 1);
  }
  data[5] ^= 1;
  CHECK(pd_gpgv(vdir, vdir, ring, base[0].sig, base[0].len, data, sizeof data) == 0);
  data[5] ^= 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  static struct pd_mutant m;
  struct pd_src src;
  sw_pgp_verdict v;
  sw_err rc;
  int b;
  if (size == 0) return 0;
  b = in[0] % 4;
  memset(&src, 0, sizeof src);
  src.in = in + 1;
  src.len = size - 1;
  pd_mutate(&src, base[b].sig, base[b].len, data, sizeof data, &m);
  rc = sw_pgp_verify_mem(pgp, SW_PGP_PURPOSE_MANIFEST, m.sig, m.sig_len, m.data, m.data_len, 1, &v);
  CHECK(rc == SW_OK);
  if (!v.accepted) {
    check_msg(v.reason, sizeof v.reason);
    return 0;
  }
  CHECK(v.n_good >= 1);
  int g = pd_gpgv(vdir, vdir, ring, m.sig, m.sig_len, m.data, m.data_len);
  CHECK(g >= 0);
  if (g == 0) {
    fprintf(stderr, "FINDING: swarmup accepts what gpgv rejects (base %d)\n", b);
    pd_dump(stderr, &m);
    CHECK(!"swarmup accepted a signature gpgv rejects");
  }
  return 0;
}
