/* sw_err.h - the one error enum of swarmup, shared by every module.
 *
 * One X-macro gives the enum, sw_strerror(), sw_err_name() and the process
 * exit code a command returns for it (documented in README "Exit codes").
 * Details (which field, which key, which URL) go into a caller-provided
 * message buffer; these strings only name the class of failure.
 */
#ifndef SW_ERR_H
#define SW_ERR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*        name              exit  text */
#define SW_ERR_MAP(X)                                                              \
  X(OK,               0, "success")                                                \
  X(USAGE,            2, "usage error")                                            \
  X(CONFIG,           2, "configuration error")                                    \
  X(NOMEM,            1, "out of memory")                                          \
  X(IO,               1, "input/output error")                                     \
  X(INTERNAL,         1, "internal error")                                         \
  X(LOCKED,           1, "state directory is locked by another swarmup")          \
  X(STATE_CORRUPT,    1, "state file is corrupt")                                  \
  X(PGP_ENGINE,       1, "OpenPGP engine failed (could not check)")               \
  X(CANCELLED,        1, "cancelled")                                              \
  X(MANIFEST_SYNTAX,  3, "manifest malformed")                                     \
  X(MANIFEST_SIG,     3, "manifest signature rejected")                            \
  X(MANIFEST_POLICY,  3, "manifest refused by freshness policy")                   \
  X(DOWNLOAD,         4, "download failed on every source")                        \
  X(HTTP,             4, "HTTPS transfer failed")                                  \
  X(TLS,              4, "TLS certificate verification failed")                    \
  X(HTTP_TOO_BIG,     4, "response larger than allowed")                           \
  X(HTTP_SLOW,        4, "transfer slower than the low-speed limit")               \
  X(SWARM,            4, "swarm download failed")                                  \
  X(TORRENT_MISMATCH, 4, "torrent metadata does not match the manifest")           \
  X(PAYLOAD,          5, "payload rejected")                                       \
  X(STALE,            6, "no fresh manifest (withheld, unreachable or expired)")   \
  X(CLOCK,            7, "system clock is behind the latest known time")          \
  X(HTTP_DEADLINE,    4, "transfer did not end within its deadline")              \
  X(UNSAFE_DIR,       2, "directory not safe (owner or mode)")                     \
  X(STATE_MISSING,    1, "state file is missing")                                  \
  X(KEYS_SYNTAX,      3, "key statement malformed")                                \
  X(KEYS_SIG,         3, "key statement signature rejected")                       \
  X(KEYS_POLICY,      3, "key statement refused (version, fork, expiry, revocation)")

typedef enum sw_err {
#define SW__ERR_ENUM(name, code, text) SW_ERR_##name,
  SW_ERR_MAP(SW__ERR_ENUM)
#undef SW__ERR_ENUM
  SW_ERR__COUNT
} sw_err;

#define SW_OK SW_ERR_OK

/* Static text for e; never NULL ("unknown error" for values out of range). */
const char *sw_strerror(sw_err e);
/* Symbolic name ("MANIFEST_SIG"); never NULL. */
const char *sw_err_name(sw_err e);
/* Process exit code for a command that fails with e (0 for SW_OK). */
int sw_err_exit_code(sw_err e);

/* snprintf into msg (if msg && msglen) and return e: `return sw_fail(e, msg, n, "...", ...);`.
 * The text is cut at msglen-1 bytes and never contains a newline from fmt
 * arguments (control characters are replaced by '?'). */
sw_err sw_fail(sw_err e, char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#ifdef __cplusplus
}
#endif

#endif
