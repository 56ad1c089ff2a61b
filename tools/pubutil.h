/* pubutil.h - small helpers shared by the files of swarmup-publish
 * (publish.c and the pubkeys_*.c of `keys`), so that every message and path
 * is made the same way. */
#ifndef SW_PUBUTIL_H
#define SW_PUBUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Print "swarmup-publish: MESSAGE\n" to stderr; returns code, the exit code
 * the caller then returns (so `return sw__pub_die(2, ...)`). */
int sw__pub_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The directory part of path p into out ("." without a slash, "/" for a file
 * at the root), truncated to cap. */
void sw__pub_dir_of(const char *p, char *out, size_t cap);

/* The part of p after its last slash (p itself without one); points into p. */
const char *sw__pub_base_name(const char *p);

/* Ask question on stderr ("QUESTION Type yes: ") and read the answer from
 * stdin: 0 if it starts with "yes", else 1 after saying "not signed". */
int sw__pub_confirm(const char *question);

/* Size and SHA-256 of the file at path in one read: 0, or -1 with errno set
 * (a failing read) or an OpenSSL failure. */
int sw__pub_hash_file(const char *path, uint64_t *size, uint8_t sha[32]);

#endif
