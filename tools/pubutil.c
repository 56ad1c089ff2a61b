/* pubutil.c - helpers shared by the swarmup-publish files (see pubutil.h). */
#include "pubutil.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int sw__pub_die(int code, const char *fmt, ...) {
  va_list ap;
  fputs("swarmup-publish: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return code;
}

void sw__pub_dir_of(const char *p, char *out, size_t cap) {
  const char *s = strrchr(p, '/');
  if (s == NULL) snprintf(out, cap, ".");
  else if (s == p) snprintf(out, cap, "/");
  else snprintf(out, cap, "%.*s", (int)(s - p), p);
}

const char *sw__pub_base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

int sw__pub_confirm(const char *question) {
  char answer[16];
  fprintf(stderr, "%s Type yes: ", question);
  if (fgets(answer, sizeof answer, stdin) == NULL || strncmp(answer, "yes", 3) != 0)
    return sw__pub_die(1, "not signed");
  return 0;
}

int sw__pub_hash_file(const char *path, uint64_t *size, uint8_t sha[32]) {
  int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  static uint8_t buf[1 << 20];
  unsigned int n = 32;
  *size = 0;
  if (fd < 0 || ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) goto out;
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) goto out;
    if (r == 0) break;
    EVP_DigestUpdate(ctx, buf, (size_t)r);
    *size += (uint64_t)r;
  }
  if (!EVP_DigestFinal_ex(ctx, sha, &n)) goto out;
  rc = 0;
out:
  EVP_MD_CTX_free(ctx);
  if (fd >= 0) close(fd);
  return rc;
}
