/* test_gate.c - the payload gate (verify/gate.c): size, SHA-256 and the
 * file's detached signature, in one pass. Keys from tests/lib/mkkeys.sh, made
 * once per binary; signatures by the real gpg. */
#include "sw_test.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <sys/stat.h>

#include "gate.h"

#define SW_FIXTURE_PREFIX "/tmp/swtg"
#include "pgp_fixture.h"


/* A payload of several read chunks plus a tail, so chunk seams are crossed. */
#define PAYLOAD_LEN ((9u << 20) + 17u) /* more chunks than the gate has buffers */

/* Longer than the gate's flush step (64 MiB), so the file it writes is flushed
 * once while the check runs. */
#define FLUSHED_LEN ((72u << 20) + 5u)

struct fixture {
  char path[128];
  size_t len;
  uint8_t *data;
  sw_manifest *m;
  sw_pgp *p;
};

static void sha256(const uint8_t *d, size_t n, uint8_t out[32]) {
  unsigned len = 0;
  SW_ASSERT(EVP_Digest(d, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32);
}

/* Write a payload of len bytes, sign it as `who` with purpose@swarmup=purpose
 * (NULL: no notation, as a package signed by another tool), and fill a
 * manifest for it. */
static void setup_len(struct fixture *f, int who, const char *purpose, size_t len) {
  size_t n;
  uint64_t x = 88172645463325252ull;
  char msg[SW_MSG_MAX] = "";
  const char *keys[] = {keyfile("trusted.asc")};
  need_fixture();
  memset(f, 0, sizeof *f);
  f->len = len;
  f->data = malloc(len + 8);
  f->m = calloc(1, sizeof *f->m);
  SW_ASSERT(f->data != NULL && f->m != NULL);
  for (size_t i = 0; i < len; i += 8) { /* xorshift: incompressible, reproducible */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    memcpy(f->data + i, &x, 8);
  }
  snprintf(f->path, sizeof f->path, "%s/payload.%d", g_dir, (int)getpid());
  g_purpose = purpose;
  uint8_t *sig = sign_as(who, f->data, len, "--detach-sign", 0, NULL, &n);
  SW_ASSERT(n <= sizeof f->m->signature);
  write_file(f->path, f->data, len);
  memcpy(f->m->signature, sig, n);
  f->m->signature_len = n;
  f->m->size = len;
  sha256(f->data, len, f->m->sha256);
  free(sig);
  sw_err rc = sw_pgp_open(&f->p, keys, 1, msg, sizeof msg);
  if (rc != SW_OK) SW_FAILF("sw_pgp_open: %s", msg);
}

static void teardown(struct fixture *f) {
  sw_pgp_free(f->p);
  free(f->m);
  free(f->data);
  unlink(f->path);
}

static sw_gate_verdict gate(struct fixture *f) {
  sw_gate_verdict v;
  sw_err rc = sw_gate_check_path(f->p, f->m, f->path, 1, &v);
  if (rc != SW_OK) SW_FAILF("gate did not run: %s: %s", sw_err_name(rc), v.reason);
  return v;
}

static void setup_as(struct fixture *f, int who, const char *purpose) { setup_len(f, who, purpose, PAYLOAD_LEN); }

static void setup(struct fixture *f, int who) { setup_as(f, who, "package"); }

SW_TEST(gate_accepts_the_signed_file) {
  struct fixture f;
  setup(&f, A);
  sw_gate_verdict v = gate(&f);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  SW_ASSERT_EQ_INT(v.bytes, PAYLOAD_LEN);
  SW_ASSERT(memcmp(v.sha256, f.m->sha256, 32) == 0);
  SW_ASSERT_EQ_INT(v.pgp.accepted, 1);
  SW_ASSERT_STREQ(v.pgp.signer[0], g_fpr[A]);
  /* and through an fd that is not at offset 0 */
  int fd = open(f.path, O_RDONLY);
  SW_ASSERT(fd >= 0);
  SW_ASSERT(lseek(fd, 12345, SEEK_SET) == 12345);
  SW_ASSERT_EQ_INT(sw_gate_check_fd(f.p, f.m, fd, 1, &v), SW_OK);
  SW_ASSERT_EQ_INT(v.accepted, 1);
  close(fd);
  teardown(&f);
}

SW_TEST(gate_rejects_one_flipped_byte) {
  struct fixture f;
  setup(&f, A);
  f.data[(2u << 20) + 5] ^= 0x01; /* in the third chunk */
  write_file(f.path, f.data, PAYLOAD_LEN);
  sw_gate_verdict v = gate(&f);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "SHA-256 mismatch");
  SW_ASSERT_EQ_INT(v.pgp.accepted, 0); /* gpg saw the same flipped byte */
  SW_ASSERT_CONTAINS(v.pgp.reason, "bad signature");
  teardown(&f);
}

SW_TEST(gate_rejects_truncated_file) {
  struct fixture f;
  setup(&f, A);
  write_file(f.path, f.data, PAYLOAD_LEN - 1);
  sw_gate_verdict v = gate(&f);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "differs from the signed size");
  write_file(f.path, f.data, 0);
  v = gate(&f);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "size 0 differs");
  teardown(&f);
}

SW_TEST(gate_rejects_extended_file) {
  struct fixture f;
  setup(&f, A);
  FILE *fp = fopen(f.path, "ab");
  SW_ASSERT(fp != NULL);
  fputc('x', fp);
  fclose(fp);
  sw_gate_verdict v = gate(&f);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "differs from the signed size");
  teardown(&f);
}

SW_TEST(gate_rejects_file_signed_by_other_key) {
  struct fixture f;
  setup(&f, B); /* untrusted signer, SHA256 and Size match */
  sw_gate_verdict v = gate(&f);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_EQ_INT(v.bytes, PAYLOAD_LEN);
  SW_ASSERT(memcmp(v.sha256, f.m->sha256, 32) == 0);
  SW_ASSERT_CONTAINS(v.reason, "untrusted key");
  teardown(&f);
}

SW_TEST(gate_rejects_sha256_mismatch_even_with_good_signature) {
  struct fixture f;
  setup(&f, A);
  f.m->sha256[31] ^= 0xff;
  sw_gate_verdict v = gate(&f);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_EQ_INT(v.pgp.accepted, 1); /* the signature alone would pass */
  SW_ASSERT_CONTAINS(v.reason, "SHA-256 mismatch: got ");
  teardown(&f);
}

SW_TEST(gate_rejects_size_mismatch_before_crypto) {
  struct fixture f;
  setup(&f, A);
  f.m->size = PAYLOAD_LEN + 4096;
  /* a signature that would make gpg fail loudly if it were ever consulted */
  memset(f.m->signature, 0xff, 16);
  f.m->signature_len = 16;
  sw_gate_verdict v = gate(&f);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_EQ_INT(v.bytes, 0); /* nothing was read */
  SW_ASSERT_STREQ(v.pgp.reason, "");
  char want[128];
  snprintf(want, sizeof want, "size %u differs from the signed size %u", PAYLOAD_LEN, PAYLOAD_LEN + 4096);
  SW_ASSERT_STREQ(v.reason, want);
  teardown(&f);
}

SW_TEST(gate_rejects_manifest_without_signature) {
  struct fixture f;
  setup(&f, A);
  f.m->signature_len = 0;
  sw_gate_verdict v = gate(&f);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT(v.reason[0] != '\0');
  teardown(&f);
}

SW_TEST(gate_reports_missing_file_as_io_error) {
  struct fixture f;
  sw_gate_verdict v;
  setup(&f, A);
  unlink(f.path);
  SW_ASSERT_EQ_INT(sw_gate_check_path(f.p, f.m, f.path, 1, &v), SW_ERR_IO);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  teardown(&f);
}

SW_TEST(gate_copy_holds_exactly_the_checked_bytes) {
  struct fixture f;
  char copy_path[256];
  size_t orig_len = 0, copy_len = 0;
  setup(&f, A);
  snprintf(copy_path, sizeof copy_path, "%s.copy", f.path);
  int fd = open(f.path, O_RDONLY);
  int cfd = open(copy_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  SW_ASSERT(fd >= 0 && cfd >= 0);
  sw_gate_verdict v;
  SW_ASSERT_EQ_INT(sw_gate_check_fd_copy(f.p, f.m, fd, cfd, 1, &v), SW_OK);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  close(fd);
  close(cfd);
  uint8_t *orig = read_all(f.path, &orig_len), *copy = read_all(copy_path, &copy_len);
  SW_ASSERT_EQ_INT(copy_len, orig_len);
  SW_ASSERT(memcmp(orig, copy, orig_len) == 0);
  free(orig);
  free(copy);
  unlink(copy_path);
  teardown(&f);
}

SW_TEST(gate_reports_cpu_time_of_each_stage_it_ran) {
  struct fixture f;
  char copy_path[256];
  setup(&f, A);
  snprintf(copy_path, sizeof copy_path, "%s.copy", f.path);
  int fd = open(f.path, O_RDONLY);
  int cfd = open(copy_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  SW_ASSERT(fd >= 0 && cfd >= 0);
  sw_gate_verdict v;
  SW_ASSERT_EQ_INT(sw_gate_check_fd_copy(f.p, f.m, fd, cfd, 1, &v), SW_OK);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  /* Every stage ran, so each took some CPU; reading is a part of the gate's thread. */
  SW_ASSERT(v.cpu.gate_ns > 0);
  SW_ASSERT(v.cpu.read_ns > 0);
  SW_ASSERT(v.cpu.read_ns <= v.cpu.gate_ns);
  SW_ASSERT(v.cpu.sha_ns > 0);
  SW_ASSERT(v.cpu.copy_ns > 0);
  /* ...and none is absurd: less than a minute for this small file. */
  SW_ASSERT(v.cpu.gate_ns < 60000000000ull && v.cpu.sha_ns < 60000000000ull && v.cpu.copy_ns < 60000000000ull);
  close(fd);
  close(cfd);
  unlink(copy_path);
  teardown(&f);
}

/* The streaming gate's avail callback: the whole file is already written
 * (what a finished download looks like to the gate). */
static int64_t all_written(void *arg, uint64_t offset) {
  struct fixture *f = arg;
  return (int64_t)(f->len - offset);
}

/* The file the gate writes (the copy) or sees being written (a streamed
 * download) is flushed to disk while the check runs, so the install's fsync
 * finds little left; a file it only reads is not. A flush that fails (a dying
 * disk; the test hook) fails the check: the install's fsync on the same open
 * file would not report that error a second time. */
SW_TEST(gate_flushes_the_file_it_writes_and_fails_when_a_flush_fails) {
  struct fixture f;
  char copy_path[256];
  sw_gate_verdict v;
  setup_len(&f, A, "package", FLUSHED_LEN);
  snprintf(copy_path, sizeof copy_path, "%s.copy", f.path);
  int fd = open(f.path, O_RDONLY);
  int cfd = open(copy_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  SW_ASSERT(fd >= 0 && cfd >= 0);
  SW_ASSERT_EQ_INT(sw_gate_check_fd(f.p, f.m, fd, 1, &v), SW_OK);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  SW_ASSERT_EQ_INT(v.flushes, 0); /* read only: nothing to flush */
  SW_ASSERT_EQ_INT(sw_gate_check_fd_copy(f.p, f.m, fd, cfd, 1, &v), SW_OK);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  SW_ASSERT(v.flushes >= 1);
  SW_ASSERT_EQ_INT(sw_gate_check_stream(f.p, f.m, fd, -1, all_written, NULL, &f, 1, &v), SW_OK);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  SW_ASSERT(v.flushes >= 1); /* the streamed file itself */
  setenv("SWARMUP_FAULT", "gate-flush", 1);
  SW_ASSERT_EQ_INT(sw_gate_check_fd_copy(f.p, f.m, fd, cfd, 1, &v), SW_ERR_IO);
  unsetenv("SWARMUP_FAULT");
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_STREQ(v.reason, "writing the payload to disk failed: Input/output error");
  close(fd);
  close(cfd);
  unlink(copy_path);
  teardown(&f);
}

SW_TEST(gate_copy_write_failure_is_io_error_not_acceptance) {
  struct fixture f;
  setup(&f, A);
  int fd = open(f.path, O_RDONLY);
  int cfd = open(f.path, O_RDONLY); /* not writable: every write fails */
  SW_ASSERT(fd >= 0 && cfd >= 0);
  sw_gate_verdict v;
  SW_ASSERT_EQ_INT(sw_gate_check_fd_copy(f.p, f.m, fd, cfd, 1, &v), SW_ERR_IO);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "copy");
  close(fd);
  close(cfd);
  teardown(&f);
}

/* ---------- the package signature says it signs a package ---------- */

SW_TEST(gate_refuses_keys_signature_as_package_signature) {
  struct fixture f;
  setup_as(&f, A, "keys");
  sw_gate_verdict v = gate(&f);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_EQ_INT(v.pgp.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "is a key statement signature (purpose@swarmup=keys), not a package signature");
  teardown(&f);
}

SW_TEST(gate_refuses_manifest_signature_as_package_signature) {
  struct fixture f;
  setup_as(&f, A, "manifest");
  sw_gate_verdict v = gate(&f);
  SW_ASSERT_EQ_INT(v.accepted, 0);
  SW_ASSERT_CONTAINS(v.reason, "is a manifest signature (purpose@swarmup=manifest), not a package signature");
  teardown(&f);
}

SW_TEST(gate_accepts_notationless_package_signature) {
  struct fixture f;
  setup_as(&f, A, NULL); /* a package signed by another tool */
  sw_gate_verdict v = gate(&f);
  if (!v.accepted) SW_FAILF("rejected: %s", v.reason);
  SW_ASSERT_STREQ(v.pgp.signer[0], g_fpr[A]);
  teardown(&f);
}
