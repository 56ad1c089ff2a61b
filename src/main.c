/* swarmup - BitTorrent-first software updates, verified against an offline key. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#ifndef SW_VERSION_STRING
#define SW_VERSION_STRING "0"
#endif

static void sw__usage(FILE *f) {
  fprintf(f,
          "usage: swarmup COMMAND [options]\n\n"
          "commands:\n"
          "  check    verify a signed manifest; say whether an update is available\n"
          "  verify   check local files against a signed manifest (the payload gate)\n"
          "  fetch    verify, download from the swarm, gate, install, then seed for a while\n"
          "  seed     seed every verified release of the configured products (mirrors)\n"
          "  status   what the state dir records: installed, fresh or stale, seeding\n"
          "  help     show this text, or `swarmup help COMMAND`\n"
          "  version  print the version\n\n"
          "Every command takes --help. Exit status: 0 ok, 1 other failure, 2 usage or\n"
          "configuration error, 3 manifest rejected, 4 download failed on every source,\n"
          "5 payload rejected, 6 stale, 7 clock set back; check: 100 update available.\n"
          "Manuals: man swarmup, man swarmup-publish.\n");
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : NULL;
  /* A file-size limit (ulimit -f) must be a clear EFBIG error, not a silent death. */
  signal(SIGXFSZ, SIG_IGN);
  /* A peer or server closing a socket must not kill us; the write returns EPIPE. */
  signal(SIGPIPE, SIG_IGN);
  if (cmd == NULL) {
    sw__usage(stderr);
    return 2;
  }
  if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    if (argc > 2) {
      char *help[] = {(char *)"--help", NULL};
      if (!strcmp(argv[2], "check")) return sw_cmd_check(1, help);
      if (!strcmp(argv[2], "verify")) return sw_cmd_verify(1, help);
      if (!strcmp(argv[2], "fetch")) return sw_cmd_fetch(1, help);
      if (!strcmp(argv[2], "seed")) return sw_cmd_seed(1, help);
      if (!strcmp(argv[2], "status")) return sw_cmd_status(1, help);
    }
    sw__usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
    printf("swarmup %s\n", SW_VERSION_STRING);
    return 0;
  }
  if (!strcmp(cmd, "check")) return sw_cmd_check(argc - 2, argv + 2);
  if (!strcmp(cmd, "verify")) return sw_cmd_verify(argc - 2, argv + 2);
  if (!strcmp(cmd, "fetch")) return sw_cmd_fetch(argc - 2, argv + 2);
  if (!strcmp(cmd, "seed")) return sw_cmd_seed(argc - 2, argv + 2);
  if (!strcmp(cmd, "status")) return sw_cmd_status(argc - 2, argv + 2);
  fprintf(stderr, "swarmup: unknown command \"%.60s\" (see swarmup --help)\n", cmd);
  return 2;
}
