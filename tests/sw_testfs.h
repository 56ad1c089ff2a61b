/* sw_testfs.h - file helpers shared by the unit tests that make their own
 * scratch directories (test_swarm.c, test_torrent_signed.c). Include after
 * sw_test.h. (inline: not every includer uses every helper.) */
#ifndef SW_TESTFS_H
#define SW_TESTFS_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A new scratch directory /tmp/swt.XXXXXX (the returned buffer is reused). */
static inline char *tdir(void) {
  static char d[64];
  snprintf(d, sizeof d, "/tmp/swt.XXXXXX");
  SW_ASSERT(mkdtemp(d) != NULL);
  return d;
}

/* Remove a test directory made by tdir() (only those: the prefix is checked). */
static inline void rmtree(const char *d) {
  char cmd[128];
  SW_ASSERT(strncmp(d, "/tmp/swt.", 9) == 0 && strchr(d, '\'') == NULL);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
  SW_ASSERT_EQ_INT(system(cmd), 0);
}

/* The whole file (malloc'd, one spare byte; the caller frees it). */
static inline uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  SW_ASSERT(f != NULL);
  SW_ASSERT_EQ_INT(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  SW_ASSERT(n >= 0);
  rewind(f);
  uint8_t *b = malloc((size_t)n + 1);
  SW_ASSERT(b != NULL);
  SW_ASSERT_EQ_INT(fread(b, 1, (size_t)n, f), n);
  SW_ASSERT_EQ_INT(fclose(f), 0);
  *len = (size_t)n;
  return b;
}

/* 1 if the string needle occurs in hay[0..n). */
static inline int contains(const uint8_t *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(hay + i, needle, k) == 0) return 1;
  return 0;
}
#endif
