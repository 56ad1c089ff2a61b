/* publish_keys.h - `swarmup-publish keys init|rotate|sign`: write and sign
 * key statements (docs/keys.md, verify/keys.h). */
#ifndef SW_PUBLISH_KEYS_H
#define SW_PUBLISH_KEYS_H

#include <stdio.h>

/* Run `swarmup-publish keys ARGS...`: argv[0] is the subcommand (init,
 * rotate, sign, or --help). Returns the process exit code: 0 done, 1 failure
 * (gpg, files, not confirmed), 2 usage error (including a statement that
 * would not parse and a --key set that cannot meet the signing rules). */
int sw_pub_keys_main(int argc, char **argv);

/* The usage lines of the keys subcommands, for swarmup-publish --help. */
void sw_pub_keys_usage(FILE *f);

#endif
