/* fuzz_common.h - shared by the libFuzzer targets (include once, first). */
#ifndef SW_FUZZ_COMMON_H
#define SW_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }

/* A broken promise is a finding: name it, then abort (libFuzzer keeps the input). */
#define CHECK(c)                                                                         \
  do {                                                                                   \
    if (!(c)) {                                                                          \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);              \
      abort();                                                                           \
    }                                                                                    \
  } while (0)

/* A rejection message: one non-empty line inside its buffer. */
static void check_msg(const char *msg, size_t cap) {
  size_t n = strnlen(msg, cap);
  CHECK(n > 0 && n < cap);
  CHECK(strchr(msg, '\n') == NULL);
}

#endif
