/* gate_bench.c - time the payload gate on one file.
 *
 *   sw_gate_bench --key trusted.asc [--key ...] --sig FILE.sig --sha256 HEX --size N
 *                 [--threshold N] FILE
 *
 * Opens the pinned keys, then runs sw_gate_check_path() once and prints the
 * wall seconds of the check (key import excluded) on stdout. Exit 0 when the
 * gate accepted, 1 when it rejected, 2 on usage or setup errors. Used by
 * tools/bench/gate.sh. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gate.h"

#define MAX_KEYS 8

static int usage(void) {
  fprintf(stderr, "usage: sw_gate_bench --key FILE [--key FILE...] --sig FILE --sha256 HEX --size N "
                  "[--threshold N] PAYLOAD\n");
  return 2;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  const char *keys[MAX_KEYS];
  size_t n_keys = 0;
  const char *sig_path = NULL, *sha_hex = NULL, *size_str = NULL, *payload = NULL;
  unsigned threshold = 1;
  sw_manifest *m = NULL;
  sw_pgp *p = NULL;
  sw_gate_verdict v;
  char msg[SW_MSG_MAX] = "";
  int ret = 2;
  FILE *f = NULL;
  char *end = NULL;
  double t0, t1;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 < argc && strcmp(a, "--key") == 0) {
      if (n_keys == MAX_KEYS) return usage();
      keys[n_keys++] = argv[++i];
    } else if (i + 1 < argc && strcmp(a, "--sig") == 0) {
      sig_path = argv[++i];
    } else if (i + 1 < argc && strcmp(a, "--sha256") == 0) {
      sha_hex = argv[++i];
    } else if (i + 1 < argc && strcmp(a, "--size") == 0) {
      size_str = argv[++i];
    } else if (i + 1 < argc && strcmp(a, "--threshold") == 0) {
      unsigned long t = strtoul(argv[++i], &end, 10);
      if (*end != '\0' || t < 1 || t > SW_THRESHOLD_MAX) return usage();
      threshold = (unsigned)t;
    } else if (a[0] != '-' && payload == NULL) {
      payload = a;
    } else {
      return usage();
    }
  }
  if (n_keys == 0 || sig_path == NULL || sha_hex == NULL || size_str == NULL || payload == NULL) return usage();
  if (strlen(sha_hex) != 64) return usage();

  m = calloc(1, sizeof *m);
  if (m == NULL) goto out;
  for (int i = 0; i < 32; i++) {
    int hi = hexval(sha_hex[2 * i]), lo = hexval(sha_hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      ret = usage();
      goto out;
    }
    m->sha256[i] = (uint8_t)(hi << 4 | lo);
  }
  errno = 0;
  m->size = strtoull(size_str, &end, 10);
  if (errno != 0 || *end != '\0' || m->size == 0) {
    ret = usage();
    goto out;
  }
  f = fopen(sig_path, "rb");
  if (f == NULL) {
    fprintf(stderr, "%s: %s\n", sig_path, strerror(errno));
    goto out;
  }
  m->signature_len = fread(m->signature, 1, sizeof m->signature, f);
  if (m->signature_len == 0 || m->signature_len == sizeof m->signature) {
    fprintf(stderr, "%s: empty or larger than %zu bytes\n", sig_path, sizeof m->signature - 1);
    goto out;
  }
  sw_err rc = sw_pgp_open(&p, keys, n_keys, msg, sizeof msg);
  if (rc != SW_OK) {
    fprintf(stderr, "keys: %s\n", msg);
    goto out;
  }
  t0 = now();
  rc = sw_gate_check_path(p, m, payload, threshold, &v);
  t1 = now();
  if (rc != SW_OK) {
    fprintf(stderr, "gate could not run: %s: %s\n", sw_err_name(rc), v.reason);
    goto out;
  }
  printf("%.3f\n", t1 - t0);
  /* The gate's own CPU by stage (gpg, a grandchild, is not in them). */
  fprintf(stderr, "cpu s: gate thread %.3f (reading %.3f), SHA-256 %.3f, copy %.3f\n", v.cpu.gate_ns / 1e9,
          v.cpu.read_ns / 1e9, v.cpu.sha_ns / 1e9, v.cpu.copy_ns / 1e9);
  if (v.accepted) {
    fprintf(stderr, "accepted (%u signer%s)\n", v.pgp.n_good, v.pgp.n_good == 1 ? "" : "s");
    ret = 0;
  } else {
    fprintf(stderr, "rejected: %s\n", v.reason);
    ret = 1;
  }
out:
  if (f) fclose(f);
  sw_pgp_free(p);
  free(m);
  return ret;
}
