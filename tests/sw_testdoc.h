/* sw_testdoc.h - "Field: value" documents (manifests, key statements) built line by line
 * for parser tests: a valid document given as lines, with one field replaced or removed,
 * or raw bytes appended. One copy for test_manifest.c and test_keys.c.
 *
 * Before including, define SW_TESTDOC_CAP (the buffer size). The document is in
 * text[0..text_len); tests may edit both directly (cut the last LF, plant a NUL). */
#ifndef SW_TESTDOC_H
#define SW_TESTDOC_H

#include "sw_test.h"

#ifndef SW_TESTDOC_CAP
#error "define SW_TESTDOC_CAP before including sw_testdoc.h"
#endif

static char text[SW_TESTDOC_CAP];
static size_t text_len;

static void add(const char *s, size_t n) {
  if (text_len + n > sizeof text) SW_FAILF("test buffer too small");
  memcpy(text + text_len, s, n);
  text_len += n;
}
static void add_line(const char *s) {
  add(s, strlen(s));
  add("\n", 1);
}

static int is_field(const char *l, const char *field) {
  size_t fl = strlen(field);
  return strncmp(l, field, fl) == 0 && l[fl] == ':';
}

/* valid[] (NULL-terminated lines) with the FIRST line of `field` replaced by `line` (its
 * other lines kept); line NULL removes every line of `field`; field NULL: valid[] as it is. A field that
 * valid[] lacks is a mistake in the test, not a case. */
static void sw_testdoc_build(const char *const *valid, const char *field, const char *line) {
  int done = 0, found = 0;
  text_len = 0;
  for (int i = 0; valid[i]; i++) {
    if (field && is_field(valid[i], field) && (line == NULL || !done)) {
      found = 1;
      if (line) add_line(line);
      done = 1;
    } else {
      add_line(valid[i]);
    }
  }
  if (field && !found) SW_FAILF("no field %s in the valid document", field);
}

static int all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i]) return 0;
  return 1;
}

#endif
