/* pubgpg.c - the standard gpg for the publisher tools (see pubgpg.h): one
 * fork/exec and one wait for every way it is run. */
#include "pubgpg.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Enough for every signer of a key statement or manifest (SW_THRESHOLD_MAX
 * is far smaller); more keys than this is a caller error. */
#define SW_PUBGPG_KEYS_MAX 32

/* Start gpg with argv; in_fd/out_fd (when >= 0) become its stdin/stdout.
 * Returns the child's pid, or -1 if it could not be started. */
static pid_t spawn(const char *const *argv, int in_fd, int out_fd) {
  pid_t pid;
  fflush(NULL); /* nothing buffered here is written twice by the child */
  pid = fork();
  if (pid != 0) return pid;
  /* dup2 clears FD_CLOEXEC on 0 and 1 only. */
  if ((in_fd >= 0 && dup2(in_fd, 0) < 0) || (out_fd >= 0 && dup2(out_fd, 1) < 0)) _exit(127);
  execvp("gpg", (char *const *)argv);
  _exit(127);
}

/* Reap pid into *status, retrying after signals; -1 if waitpid failed. */
static int wait_exit(pid_t pid, int *status) {
  while (waitpid(pid, status, 0) < 0)
    if (errno != EINTR) return -1;
  return 0;
}

int sw_pub_gpg_argv(const char **argv, const char *homedir) {
  int n = 0;
  argv[n++] = "gpg";
  argv[n++] = "--batch";
  argv[n++] = "--quiet";
  if (homedir) {
    argv[n++] = "--homedir";
    argv[n++] = homedir;
  }
  return n;
}

int sw_pub_gpg_run(const char *const *argv, const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                   size_t *out_len) {
  int inp[2] = {-1, -1}, outp[2] = {-1, -1}, status = 0, rc = -1, over = 0;
  size_t put = 0;
  pid_t pid = -1;
  *out_len = 0;
  if (pipe(inp) != 0 || pipe(outp) != 0) goto out;
  for (int i = 0; i < 2; i++) {
    fcntl(inp[i], F_SETFD, FD_CLOEXEC);
    fcntl(outp[i], F_SETFD, FD_CLOEXEC);
  }
  pid = spawn(argv, inp[0], outp[1]);
  if (pid < 0) goto out;
  close(inp[0]);
  close(outp[1]);
  inp[0] = outp[1] = -1;
  fcntl(inp[1], F_SETFL, O_NONBLOCK);
  if (in_len == 0) {
    close(inp[1]);
    inp[1] = -1;
  }
  while (outp[0] >= 0) {
    struct pollfd pf[2];
    nfds_t nf = 0;
    pf[nf].fd = outp[0];
    pf[nf++].events = POLLIN;
    if (inp[1] >= 0) {
      pf[nf].fd = inp[1];
      pf[nf++].events = POLLOUT;
    }
    if (poll(pf, nf, -1) < 0) {
      if (errno == EINTR) continue;
      goto out;
    }
    if (nf > 1 && pf[1].revents) {
      ssize_t w = write(inp[1], in + put, in_len - put);
      if (w > 0) put += (size_t)w;
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || put == in_len) {
        close(inp[1]); /* gpg sees the end of its input (or quit early: its exit status says why) */
        inp[1] = -1;
      }
    }
    if (pf[0].revents) {
      uint8_t scratch[4096];
      ssize_t r = *out_len < cap ? read(outp[0], out + *out_len, cap - *out_len)
                                 : read(outp[0], scratch, sizeof scratch);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        close(outp[0]);
        outp[0] = -1;
      } else if (*out_len < cap) {
        *out_len += (size_t)r;
      } else {
        over = 1; /* keep draining so that gpg can finish */
      }
    }
  }
  if (wait_exit(pid, &status) != 0) goto out;
  pid = -1;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) rc = over ? -2 : 0;
out:
  if (pid > 0) {
    /* Not reached with a live child unless poll failed: reap it. */
    kill(pid, SIGTERM);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  for (int i = 0; i < 2; i++) {
    if (inp[i] >= 0) close(inp[i]);
    if (outp[i] >= 0) close(outp[i]);
  }
  return rc;
}

int sw_pub_gpg_sign(const char *homedir, const char *const *keys, size_t n_keys, const char *purpose,
                    const char *in, const char *out, int armor) {
  const char *argv[24 + 2 * SW_PUBGPG_KEYS_MAX];
  char notation[128];
  int n = 0, status = 0;
  pid_t pid;
  if (keys == NULL || n_keys == 0 || n_keys > SW_PUBGPG_KEYS_MAX || in == NULL || out == NULL) return -1;
  n = sw_pub_gpg_argv(argv, homedir);
  argv[n++] = "--yes";
  for (size_t i = 0; i < n_keys; i++) {
    argv[n++] = "--local-user";
    argv[n++] = keys[i];
  }
  if (purpose) {
    /* Hashed (gpg puts --sig-notation in the hashed area): the client reads
     * the purpose only from there, since the unhashed area can be rewritten
     * by anyone without breaking the signature. */
    int k = snprintf(notation, sizeof notation, "purpose@swarmup=%s", purpose);
    if (k < 0 || (size_t)k >= sizeof notation) return -1;
    argv[n++] = "--sig-notation";
    argv[n++] = notation;
  }
  /* SHA-256, the digest the manifest commits to: libgcrypt hashes it with the
   * CPU's SHA instructions where they exist, and every client's gpg hashes the
   * whole package once per install (gpgv here: 0.9-1.1 against 1.3-1.4 CPU-s
   * for 512 MiB with SHA-512, docs/cpu.md). */
  argv[n++] = "--digest-algo";
  argv[n++] = "SHA256";
  argv[n++] = "--no-textmode"; /* the client accepts only binary-document signatures */
  if (armor) argv[n++] = "--armor";
  argv[n++] = "--output";
  argv[n++] = out;
  argv[n++] = "--detach-sign";
  argv[n++] = in;
  argv[n] = NULL;
  pid = spawn(argv, -1, -1);
  if (pid < 0) return -1;
  if (wait_exit(pid, &status) != 0) return -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
