/* pubutil.c - helpers shared by the swarmup-publish files (see pubutil.h). */
#include "pubutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
  if (fgets(answer, sizeof answer, stdin) == NULL || strncmp(answer, "yes", 3) != 0) return sw__pub_die(1, "not signed");
  return 0;
}
