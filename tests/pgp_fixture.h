/* pgp_fixture.h - the OpenPGP test keys (tests/lib/mkkeys.sh), made once per
 * test binary, and signing with the real gpg. Shared by test_pgp.c and
 * test_gate.c; include it once, after sw_test.h. SW_FIXTURE_PREFIX names the
 * temporary directory ("/tmp/swtp" -> /tmp/swtp.XXXXXX). */
#ifndef SW_PGP_FIXTURE_H
#define SW_PGP_FIXTURE_H

#ifndef SW_FIXTURE_PREFIX
#define SW_FIXTURE_PREFIX "/tmp/swtf"
#endif

extern char **environ;

static char g_dir[64];     /* mkdtemp: keys, data and signatures */
static char g_home[128];   /* signer GNUPGHOME from keys.env */
static char g_fpr[8][64];  /* A, A_SUB, E, B, B_SUB, R, X, X_SIGN_TIME */
static int g_ok;
enum { A, A_SUB, E, B, B_SUB, R, X, XTIME };
static const char *const g_names[] = {"A_FPR", "B_FPR_unused", "E_FPR", "B_FPR", "B_SUB_FPR", "R_FPR",
                                      "X_FPR", "X_SIGN_TIME"};

static int run(char *const argv[]) {
  pid_t pid;
  int st = 0;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return -1;
  }
  posix_spawn_file_actions_destroy(&fa);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void fixture_cleanup(void) {
  char cmd[512];
  if (g_home[0]) {
    char *kill_argv[] = {"gpgconf", "--homedir", g_home, "--kill", "all", NULL};
    run(kill_argv);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_home);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", g_home);
  }
  if (g_dir[0]) {
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", g_dir);
  }
}

__attribute__((constructor(200))) static void fixture_setup(void) {
  char cmd[512], path[128], line[256];
  FILE *f;
  snprintf(g_dir, sizeof g_dir, "%s.XXXXXX", SW_FIXTURE_PREFIX);
  if (mkdtemp(g_dir) == NULL) {
    g_dir[0] = '\0';
    return;
  }
  atexit(fixture_cleanup);
  snprintf(cmd, sizeof cmd, "bash '%s/lib/mkkeys.sh' '%s' >/dev/null", SW_TEST_SRCDIR, g_dir);
  if (system(cmd) != 0) return;
  snprintf(path, sizeof path, "%s/keys.env", g_dir);
  f = fopen(path, "r");
  if (f == NULL) return;
  while (fgets(line, sizeof line, f)) {
    char *eq = strchr(line, '='), *val;
    if (eq == NULL) continue;
    *eq = '\0';
    val = eq + 1;
    val[strcspn(val, "\n")] = '\0';
    if (val[0] == '\'') { /* X_SIGN_TIME='...' */
      val++;
      val[strcspn(val, "'")] = '\0';
    }
    if (strcmp(line, "GNUPGHOME") == 0) snprintf(g_home, sizeof g_home, "%s", val);
    if (strcmp(line, "A_SUB_FPR") == 0) snprintf(g_fpr[A_SUB], sizeof g_fpr[0], "%s", val);
    for (int i = 0; i < 8; i++)
      if (i != A_SUB && strcmp(line, g_names[i]) == 0) snprintf(g_fpr[i], sizeof g_fpr[0], "%s", val);
  }
  fclose(f);
  /* Private homes of failed tests (they _exit without sw_pgp_free) land here
   * and go with the fixture. */
  setenv("TMPDIR", g_dir, 1);
  g_ok = g_home[0] != '\0';
  for (int i = 0; i < 8; i++)
    if (g_fpr[i][0] == '\0') g_ok = 0;
}

static void need_fixture(void) {
  if (!g_ok) SW_FAILF("mkkeys.sh fixture missing (dir %s)", g_dir);
}

static const char *keyfile(const char *name) {
  static char path[8][128];
  static int next;
  char *p = path[next++ % 8];
  snprintf(p, 128, "%s/%s", g_dir, name);
  return p;
}

/* Open a verifier over the fixture's key files names[0..n) (at most 8); fails
 * the test if it cannot. (inline: not every test that includes this uses it.) */
static inline sw_pgp *open_keys(const char *const *names, size_t n) {
  const char *files[8];
  char msg[SW_MSG_MAX] = "";
  sw_pgp *p = NULL;
  if (n > 8) SW_FAILF("open_keys: %zu key files, at most 8", n);
  for (size_t i = 0; i < n; i++) files[i] = keyfile(names[i]);
  sw_err rc = sw_pgp_open(&p, files, n, msg, sizeof msg);
  if (rc != SW_OK) SW_FAILF("sw_pgp_open: %s: %s", sw_err_name(rc), msg);
  SW_ASSERT(p != NULL);
  return p;
}

static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  SW_ASSERT(f != NULL);
  SW_ASSERT(len == 0 || fwrite(data, 1, len, f) == len);
  SW_ASSERT(fclose(f) == 0);
}

static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf = malloc(1 << 20);
  SW_ASSERT(f != NULL && buf != NULL);
  *len = fread(buf, 1, 1 << 20, f);
  fclose(f);
  return buf;
}

/* The purpose@swarmup notation sign_as puts on its signatures (hashed, with
 * gpg's --sig-notation): "manifest" unless a test says otherwise (test_gate.c
 * signs packages; NULL makes a signature without the notation). Each test runs
 * in its own child process, so a test that changes it changes only itself. */
static const char *g_purpose = "manifest";

/* Sign data with gpg as key spec (a fingerprint; "!" is appended). mode:
 * "--detach-sign", "--clearsign" or "--sign". Extra gpg options in extra
 * (NULL-terminated, may be NULL). Returns the signature bytes. */
static uint8_t *sign_as(int who, const void *data, size_t len, const char *mode, int armor,
                        const char *const *extra, size_t *sig_len) {
  char in[128], out[128], user[sizeof g_fpr + 2], notation[64];
  char *argv[40];
  int n = 0;
  static int seq;
  snprintf(in, sizeof in, "%s/data.%d.%d", g_dir, (int)getpid(), seq);
  snprintf(out, sizeof out, "%s/sig.%d.%d", g_dir, (int)getpid(), seq++);
  snprintf(user, sizeof user, "%s!", g_fpr[who]);
  write_file(in, data, len);
  argv[n++] = "gpg";
  argv[n++] = "--homedir";
  argv[n++] = g_home;
  argv[n++] = "--batch";
  argv[n++] = "--yes";
  argv[n++] = "--no-tty";
  if (who == X) {
    argv[n++] = "--faked-system-time";
    argv[n++] = g_fpr[XTIME];
  }
  if (g_purpose) {
    snprintf(notation, sizeof notation, "purpose@swarmup=%s", g_purpose);
    argv[n++] = "--sig-notation";
    argv[n++] = notation;
  }
  for (int i = 0; extra && extra[i]; i++) argv[n++] = (char *)extra[i];
  argv[n++] = "-u";
  argv[n++] = user;
  if (armor) argv[n++] = "--armor";
  argv[n++] = "-o";
  argv[n++] = out;
  argv[n++] = (char *)mode;
  argv[n++] = in;
  argv[n] = NULL;
  SW_ASSERT_EQ_INT(run(argv), 0);
  return read_all(out, sig_len);
}

#endif
