/* pgp_diff_gpgv.h - the other judge: gpgv --keyring on the detached form of a mutant, in a private home.
 * Part of pgp_diff.h (which includes it after the choices and the mutant):
 * not to be included on its own. */
#ifndef SW_PGP_DIFF_GPGV_H
#define SW_PGP_DIFF_GPGV_H

/* ---------- gpgv on the detached form ---------- */

PD_FN int pd_write_file(const char *path, const void *b, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const uint8_t *p = b;
  if (fd < 0) return -1;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      close(fd);
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return close(fd);
}

/* Run gpgv --homedir HOME --keyring RING on sig and data written into dir.
 * Returns 1 if gpgv says good (exit 0), 0 if not, -1 if it could not run.
 * gpgv's messages go to dir/gpgv.log. */
PD_FN int pd_gpgv(const char *dir, const char *home, const char *ring, const uint8_t *sig, size_t sig_len,
                   const uint8_t *data, size_t data_len) {
  char sp[512], dp[512], lp[512];
  char *argv[] = {"gpgv", "--homedir", (char *)home, "--keyring", (char *)ring, sp, dp, NULL};
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int st = 0, r;
  snprintf(sp, sizeof sp, "%s/mutant.sig", dir);
  snprintf(dp, sizeof dp, "%s/mutant.data", dir);
  snprintf(lp, sizeof lp, "%s/gpgv.log", dir);
  if (pd_write_file(sp, sig, sig_len) != 0 || pd_write_file(dp, data, data_len) != 0) return -1;
  if (posix_spawn_file_actions_init(&fa) != 0) return -1;
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, lp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  r = posix_spawnp(&pid, "gpgv", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0) return -1;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  if (!WIFEXITED(st)) return -1;
  return WEXITSTATUS(st) == 0 ? 1 : 0;
}

/* Run argv (stdout and stderr to /dev/null). The exit status, or -1. */
PD_FN int pd_run(char *const argv[]) {
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int st = 0, r;
  if (posix_spawn_file_actions_init(&fa) != 0) return -1;
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0) return -1;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* gpgv's keyring at ring: the armored key files asc[0..n) dearmored and
 * concatenated, so gpgv knows exactly the keys swarmup pins. gpg_home is
 * any GnuPG home to run `gpg --dearmor` in. 0, or -1. */
PD_FN int pd_make_ring(const char *gpg_home, const char *const *asc, size_t n, const char *ring) {
  char part[600];
  int out = -1, rc = -1;
  out = open(ring, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) return -1;
  for (size_t i = 0; i < n; i++) {
    char *argv[] = {"gpg", "--homedir", (char *)gpg_home, "--batch", "--yes", "-o", part, "--dearmor",
                    (char *)asc[i], NULL};
    uint8_t buf[65536];
    ssize_t r;
    int in;
    snprintf(part, sizeof part, "%s.part", ring);
    if (pd_run(argv) != 0) goto out;
    in = open(part, O_RDONLY | O_CLOEXEC);
    if (in < 0) goto out;
    while ((r = read(in, buf, sizeof buf)) > 0)
      if (write(out, buf, (size_t)r) != r) r = -1;
    close(in);
    unlink(part);
    if (r < 0) goto out;
  }
  rc = 0;
out:
  if (close(out) != 0) rc = -1;
  return rc;
}

#endif
