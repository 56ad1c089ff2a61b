/* pubgpg.h - run the standard gpg for the publisher tools (swarmup-publish
 * and its key statements): detached OpenPGP signatures, and gpg with piped
 * input and output (exporting and listing keys).
 *
 * The standard gpg binary is run (not gpgme) so that passphrases, smartcards
 * and an offline key's home work as for any other gpg use. */
#ifndef SW_PUBGPG_H
#define SW_PUBGPG_H

#include <stddef.h>
#include <stdint.h>

/* argv[0..) = "gpg --batch --quiet [--homedir HOMEDIR]" (homedir NULL: gpg's
 * default); returns how many entries were set (at most 5). The caller adds
 * its options and command and the NULL. */
int sw_pub_gpg_argv(const char **argv, const char *homedir);

/* Run gpg (argv[0] "gpg") with in[0..in_len) on its stdin, collecting its
 * stdout into out (at most cap bytes). Both pipes are served with poll() so
 * that neither side can block the other. gpg's stderr stays ours (its
 * messages are the user's best clue). The caller ignores SIGPIPE (gpg may
 * exit before reading all of its input: its exit status says so). Returns 0,
 * -1 if gpg failed or could not run, -2 if its output was larger than cap. */
int sw_pub_gpg_run(const char *const *argv, const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                   size_t *out_len);

/* Sign in into out (detached, binary document, SHA-256; armored if armor).
 * homedir: gpg's --homedir, or NULL for gpg's default. keys[0..n_keys): one
 * `--local-user KEY` each, so out holds one signature packet per key.
 * purpose: when not NULL, every packet carries the hashed notation
 * purpose@swarmup=PURPOSE ("manifest", "keys", "package"), which the client
 * requires so that a signature made for one kind of document is never
 * accepted for another. Returns 0, or -1 if gpg could not be run or failed. */
int sw_pub_gpg_sign(const char *homedir, const char *const *keys, size_t n_keys, const char *purpose,
                    const char *in, const char *out, int armor);

#endif
