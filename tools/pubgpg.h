/* pubgpg.h - make detached OpenPGP signatures with the standard gpg, for the
 * publisher tools (swarmup-publish and its key statements).
 *
 * The standard gpg binary is run (not gpgme) so that passphrases, smartcards
 * and an offline key's home work as for any other gpg use. */
#ifndef SW_PUBGPG_H
#define SW_PUBGPG_H

#include <stddef.h>

/* Sign in into out (detached, binary document, SHA-512; armored if armor).
 * homedir: gpg's --homedir, or NULL for gpg's default. keys[0..n_keys): one
 * `--local-user KEY` each, so out holds one signature packet per key.
 * purpose: when not NULL, every packet carries the hashed notation
 * purpose@swarmup=PURPOSE ("manifest", "keys", "package"), which the client
 * requires so that a signature made for one kind of document is never
 * accepted for another. Returns 0, or -1 if gpg could not be run or failed. */
int sw_pub_gpg_sign(const char *homedir, const char *const *keys, size_t n_keys, const char *purpose,
                    const char *in, const char *out, int armor);

#endif
