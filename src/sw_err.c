#include "sw_err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const sw__err_text[] = {
#define SW__ERR_TEXT(name, code, text) text,
    SW_ERR_MAP(SW__ERR_TEXT)
#undef SW__ERR_TEXT
};
static const char *const sw__err_names[] = {
#define SW__ERR_NAME(name, code, text) #name,
    SW_ERR_MAP(SW__ERR_NAME)
#undef SW__ERR_NAME
};
static const int sw__err_codes[] = {
#define SW__ERR_CODE(name, code, text) code,
    SW_ERR_MAP(SW__ERR_CODE)
#undef SW__ERR_CODE
};

const char *sw_strerror(sw_err e) {
  if ((unsigned)e >= SW_ERR__COUNT) return "unknown error";
  return sw__err_text[e];
}

const char *sw_err_name(sw_err e) {
  if ((unsigned)e >= SW_ERR__COUNT) return "UNKNOWN";
  return sw__err_names[e];
}

int sw_err_exit_code(sw_err e) {
  if ((unsigned)e >= SW_ERR__COUNT) return 1;
  return sw__err_codes[e];
}

sw_err sw_fail(sw_err e, char *msg, size_t msglen, const char *fmt, ...) {
  va_list ap;
  if (msg == NULL || msglen == 0) return e;
  va_start(ap, fmt);
  vsnprintf(msg, msglen, fmt, ap);
  va_end(ap);
  /* Messages are one line and may quote untrusted bytes: neutralise controls. */
  for (char *p = msg; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) *p = '?';
  return e;
}
