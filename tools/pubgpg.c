/* pubgpg.c - detached signatures through the standard gpg (see pubgpg.h). */
#include "pubgpg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Enough for every signer of a key statement or manifest (SW_THRESHOLD_MAX
 * is far smaller); more keys than this is a caller error. */
#define SW_PUBGPG_KEYS_MAX 32

int sw_pub_gpg_sign(const char *homedir, const char *const *keys, size_t n_keys, const char *purpose,
                    const char *in, const char *out, int armor) {
  const char *argv[24 + 2 * SW_PUBGPG_KEYS_MAX];
  char notation[128];
  int n = 0, status = 0;
  pid_t pid;
  if (keys == NULL || n_keys == 0 || n_keys > SW_PUBGPG_KEYS_MAX || in == NULL || out == NULL) return -1;
  argv[n++] = "gpg";
  argv[n++] = "--batch";
  argv[n++] = "--yes";
  argv[n++] = "--quiet";
  if (homedir) {
    argv[n++] = "--homedir";
    argv[n++] = homedir;
  }
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
  argv[n++] = "--digest-algo";
  argv[n++] = "SHA512";
  argv[n++] = "--no-textmode"; /* the client accepts only binary-document signatures */
  if (armor) argv[n++] = "--armor";
  argv[n++] = "--output";
  argv[n++] = out;
  argv[n++] = "--detach-sign";
  argv[n++] = in;
  argv[n] = NULL;
  fflush(NULL);
  pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    execvp("gpg", (char *const *)argv);
    _exit(127);
  }
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
