/* keys.h - key statements (docs/keys.md): the signed chain that says which
 * OpenPGP keys may sign a product's manifests, and which keys may name the
 * next ones.
 *
 *   Format: swarmup-keys/1
 *   Product: hello
 *   Version: 2
 *   Date: 2026-12-01T00:00:00Z
 *   Expires: 2027-12-01T00:00:00Z
 *   Threshold: 1
 *   Key: <40 hex>                (zero or more: zero is "rotate to null")
 *   Next: <40 hex>               (zero or more)
 *   Next-Threshold: 1            (required when Next is present, absent otherwise)
 *   Sequence-Floor: stable=44 beta=7   (optional)
 *   Keyring: <base64 of binary OpenPGP public keys for every Key and Next>
 *
 * Same text rules as a manifest: LF line ends (the last line too), "Field: value"
 * with one space, no NUL or control character, X- fields ignored, every other
 * unknown field an error, single-valued fields exactly once. Fingerprints are
 * accepted in either hex case and kept in upper case (as gpg prints them).
 *
 * This module is pure (no network, no files). sw_keys_parse checks syntax only;
 * sw_keys_verify_next (gpgme, through pgp.h) decides whether a statement
 * follows another. */
#ifndef SW_KEYS_H
#define SW_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "pgp.h"
#include "sw_err.h"
#include "sw_limits.h"

typedef struct sw_keys_floor {
  char channel[SW_CHANNEL_MAX + 1];   /* checked name (sw_manifest_name_ok) */
  uint64_t sequence;
} sw_keys_floor;

typedef struct sw_keys {
  char product[SW_PRODUCT_MAX + 1];
  uint64_t version;                   /* >= 1 */
  int64_t date;                       /* seconds since the epoch (UTC) */
  int64_t expires;                    /* > date */
  unsigned threshold;                 /* 1..n_key when n_key > 0; any 1..SW_THRESHOLD_MAX when n_key == 0 */
  size_t n_key;                       /* 0: every key revoked (the product is frozen) */
  char key[SW_KEYS_FPR_MAX][41];      /* upper-case hex, distinct */
  size_t n_next;
  char next[SW_KEYS_FPR_MAX][41];     /* upper-case hex, distinct */
  unsigned next_threshold;            /* 1..n_next when n_next > 0, else 0 */
  size_t n_floor;
  sw_keys_floor floor[SW_KEYS_FLOOR_MAX]; /* distinct channels */
  size_t keyring_len;
  uint8_t keyring[SW_KEYS_KEYRING_MAX]; /* decoded Keyring (not yet checked as OpenPGP) */
} sw_keys;

/* Parse buf[0..len) into *out (caller-allocated; large: use the heap).
 * Enforces SW_KEYS_STMT_MAX and SW_KEYS_LINE_MAX, the field rules above,
 * Threshold <= n_key (when n_key > 0), Next-Threshold <= n_next, Expires > Date,
 * Version >= 1, base64 that decodes exactly. Returns SW_OK or
 * SW_ERR_KEYS_SYNTAX with "line N: ..." in msg. */
sw_err sw_keys_parse(const uint8_t *buf, size_t len, sw_keys *out, char *msg, size_t msglen);

/* 1 if fpr (40 upper-case hex) is in list[0..n). */
int sw_keys_has(const char (*list)[41], size_t n, const char *fpr);

/* A private keyring (pgp.h) pinned to the manifest signers of statement k:
 * its Keyring, with only its Key fingerprints pinned. SW_ERR_KEYS_SYNTAX when a
 * Key fingerprint is missing from the Keyring; SW_ERR_KEYS_POLICY ("the
 * publisher revoked all keys of PRODUCT") when k has no Key. */
sw_err sw_keys_open_signers(const sw_keys *k, sw_pgp **out, char *msg, size_t msglen);

/* Is statement next (its exact bytes buf[0..len), and the detached signature
 * sig[0..sig_len), one or more packets) the successor of cur?
 *   - buf parses (into *out), Product is cur's, Version is cur->version + 1;
 *   - every signature in sig is good, by a key known from cur's or next's
 *     Keyring (an unknown signer rejects the whole statement), and carries
 *     purpose@swarmup=keys;
 *   - when cur has Next: Next-Threshold distinct keys of cur's Next signed it,
 *     else Threshold distinct keys of cur's Key (a thief of the current keys
 *     cannot rotate once a Next is committed);
 *   - its own Threshold distinct keys of its own Key signed it (none needed
 *     when it has no Key: a rotation to null).
 * Expiry is not judged here (an expired intermediate statement does not stop
 * the walk; the caller judges the newest). On SW_OK the statement is accepted
 * and *out holds it; otherwise SW_ERR_KEYS_SYNTAX / SW_ERR_KEYS_SIG /
 * SW_ERR_KEYS_POLICY with "key statement N rejected: ..." in msg, or
 * SW_ERR_PGP_ENGINE / SW_ERR_NOMEM when the check could not be made. */
sw_err sw_keys_verify_next(const sw_keys *cur, const uint8_t *buf, size_t len, const uint8_t *sig, size_t sig_len,
                           sw_keys *out, char *msg, size_t msglen);

/* The anchor: statement buf[0..len) shipped with the application (trusted as
 * installed), parsed into *out, and its signature sig checked: good signatures
 * (purpose@swarmup=keys) by Threshold distinct keys of its own Key, from its own
 * Keyring. Same errors as sw_keys_verify_next. */
sw_err sw_keys_verify_anchor(const uint8_t *buf, size_t len, const uint8_t *sig, size_t sig_len, sw_keys *out,
                             char *msg, size_t msglen);

#endif
