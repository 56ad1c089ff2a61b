/* cmd.h - the swarmup commands. Each takes the arguments after its name and
 * returns the process exit code (README "Exit codes"). */
#ifndef SW_CMD_H
#define SW_CMD_H

#include <stddef.h>

#include "opts.h"
#include "sw_err.h"

/* check's exit code for "an update is available" (0: up to date), as dnf
 * check-update's: scripts tell the two apart without parsing text. */
#define SW_EXIT_UPDATE_AVAILABLE 100

int sw_cmd_check(int argc, char **argv);
int sw_cmd_verify(int argc, char **argv);
int sw_cmd_fetch(int argc, char **argv);
int sw_cmd_seed(int argc, char **argv);
int sw_cmd_status(int argc, char **argv);

/* Check --product, --channel (names that become state paths), --threshold
 * and --manifest; shared by the commands that take a manifest. */
sw_err sw__cmd_check_names(const sw_opts *o, char *msg, size_t msglen);

/* Report SW_ERR_STALE (message from sw_release_stale; rec is the state it
 * read): the one line on stderr, or with --json one object {"event": command,
 * "status": "stale", "no_fresh_since", "valid_until", "expired", "error",
 * "exit", "message", ...}. Returns the exit code (6). */
struct sw_state_rec;
int sw__report_stale(const char *command, const sw_opts *o, const struct sw_state_rec *rec, const char *message);

#endif
