/* sw_test.h - a tiny test harness in the libuv style.
 *
 *   SW_TEST(manifest_rejects_trailing_bytes) { ... SW_ASSERT_EQ_INT(a, b); }
 *
 * Every test runs in its own forked process with an alarm (SW_TEST_TIMEOUT
 * seconds, default 120), so a crash or a hang fails that test only. Asserts
 * print both operands. `test_x NAME` runs one test; no argument runs all.
 * The last line is "N passed, N failed" (read by CI). */
#ifndef SW_TEST_H
#define SW_TEST_H

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

typedef void (*sw_test_fn)(void);
struct sw_test_entry { const char *name; sw_test_fn fn; };

#define SW_TEST_MAX 512
static struct sw_test_entry sw__tests[SW_TEST_MAX];
static int sw__ntests;

#define SW_TEST(tname)                                                              \
  static void sw_test_##tname(void);                                                \
  __attribute__((constructor)) static void sw_test_reg_##tname(void) {              \
    if (sw__ntests < SW_TEST_MAX) {                                                \
      sw__tests[sw__ntests].name = #tname;                                          \
      sw__tests[sw__ntests].fn = sw_test_##tname;                                   \
      sw__ntests++;                                                                \
    }                                                                              \
  }                                                                                \
  static void sw_test_##tname(void)

#define SW_FAILF(...)                                                              \
  do {                                                                             \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                \
    fprintf(stderr, __VA_ARGS__);                                                  \
    fputc('\n', stderr);                                                           \
    _exit(1);                                                                      \
  } while (0)

#define SW_ASSERT(cond)                                                            \
  do { if (!(cond)) SW_FAILF("assertion failed: %s", #cond); } while (0)

#define SW_ASSERT_EQ_INT(a, b)                                                     \
  do {                                                                             \
    long long sw__a = (long long)(a), sw__b = (long long)(b);                      \
    if (sw__a != sw__b) SW_FAILF("%s == %s: %lld != %lld", #a, #b, sw__a, sw__b);  \
  } while (0)

#define SW_ASSERT_NE_INT(a, b)                                                     \
  do {                                                                             \
    long long sw__a = (long long)(a), sw__b = (long long)(b);                      \
    if (sw__a == sw__b) SW_FAILF("%s != %s: both %lld", #a, #b, sw__a);            \
  } while (0)

#define SW_ASSERT_STREQ(a, b)                                                      \
  do {                                                                             \
    const char *sw__a = (a), *sw__b = (b);                                         \
    if (sw__a == NULL || sw__b == NULL || strcmp(sw__a, sw__b) != 0)               \
      SW_FAILF("%s == %s: \"%s\" != \"%s\"", #a, #b, sw__a ? sw__a : "(null)",     \
               sw__b ? sw__b : "(null)");                                          \
  } while (0)

/* haystack contains needle */
#define SW_ASSERT_CONTAINS(hay, needle)                                            \
  do {                                                                             \
    const char *sw__h = (hay), *sw__n = (needle);                                  \
    if (sw__h == NULL || strstr(sw__h, sw__n) == NULL)                             \
      SW_FAILF("%s contains %s: \"%s\" lacks \"%s\"", #hay, #needle,               \
               sw__h ? sw__h : "(null)", sw__n);                                   \
  } while (0)

static int sw__run_one(const struct sw_test_entry *t, unsigned timeout) {
  pid_t pid;
  int status = 0;
  fflush(NULL);
  pid = fork();
  if (pid < 0) { perror("fork"); return 1; }
  if (pid == 0) {
    alarm(timeout);
    t->fn();
    fflush(NULL);
#if defined(__SANITIZE_ADDRESS__)
    /* The child leaves with _exit() (the parent's atexit handlers are not its
     * own), so LeakSanitizer's exit check never runs: ask for it here. */
    if (__lsan_do_recoverable_leak_check()) _exit(1);
#endif
    _exit(0);
  }
  if (waitpid(pid, &status, 0) < 0) { perror("waitpid"); return 1; }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFSIGNALED(status))
    fprintf(stderr, "  %s: killed by signal %d%s\n", t->name, WTERMSIG(status),
            WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
  return 1;
}

int main(int argc, char **argv) {
  unsigned timeout = 120, passed = 0, failed = 0;
  const char *env = getenv("SW_TEST_TIMEOUT");
  if (env && atoi(env) > 0) timeout = (unsigned)atoi(env);
  for (int i = 0; i < sw__ntests; i++) {
    if (argc > 1 && strcmp(argv[1], sw__tests[i].name) != 0) continue;
    int rc = sw__run_one(&sw__tests[i], timeout);
    printf("%s %s\n", rc ? "FAIL" : "ok  ", sw__tests[i].name);
    if (rc) failed++; else passed++;
  }
  printf("%u passed, %u failed\n", passed, failed);
  return failed || (passed == 0) ? 1 : 0;
}

#endif
