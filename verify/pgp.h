/* pgp.h - OpenPGP signature checks through gpgme, against pinned keys only.
 *
 * Each sw_pgp owns a private GnuPG home made with mkdtemp(), populated only
 * from the given key files; ~/.gnupg, key servers and auto-key-retrieve are
 * never used. A signature counts only if gpgme says it is good (status
 * NO_ERROR and no bad summary bit: RED, KEY_REVOKED, KEY_EXPIRED, ...), it was
 * made by a pinned primary key or one of its signing subkeys, the key is
 * neither revoked nor expired, and the hash is not MD5, SHA-1 or RIPEMD-160;
 * the pinning, revocation, expiry and hash checks are swarmup's own (gpg's
 * web-of-trust validity plays no part). Only v4 signature packets over binary
 * documents (class 0x00) are accepted. Any bad signature in the set rejects
 * the whole set.
 *
 * Signatures say what they sign: each packet's hashed subpacket area carries
 * the notation purpose@swarmup=VALUE (gpg --sig-notation), and a check names
 * the purpose it wants (sw_pgp_purpose). Without it a package whose bytes
 * happen to be a manifest, signed by the publisher as a package, would pass
 * as a manifest.
 */
#ifndef SW_PGP_H
#define SW_PGP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sw_err.h"
#include "sw_limits.h"

typedef struct sw_pgp sw_pgp;

/* What a signature must say it signs (purpose@swarmup in its hashed area):
 *   MANIFEST  exactly one purpose@swarmup=manifest
 *   KEYS      exactly one purpose@swarmup=keys (key statements)
 *   PACKAGE   purpose@swarmup=package, or no purpose notation at all (packages
 *             signed by other tools); any other value is refused.
 * Two purpose notations in one packet are refused; one wrong packet rejects
 * the whole set. A notation in the unhashed area does not count (anyone can
 * rewrite that area without breaking the signature). */
typedef enum sw_pgp_purpose {
  SW_PGP_PURPOSE_MANIFEST = 1,
  SW_PGP_PURPOSE_KEYS = 2,
  SW_PGP_PURPOSE_PACKAGE = 3
} sw_pgp_purpose;

/* Create a private home under $TMPDIR (or /tmp), import every key in
 * key_files[0..n_keys) (armored or binary public keys, each at most
 * SW_TRUSTED_KEY_MAX bytes) and pin their primary fingerprints.
 * A file that holds no public key, or a secret key, is an error (SW_ERR_CONFIG).
 * On success *out owns the home; free it with sw_pgp_free(). */
sw_err sw_pgp_open(sw_pgp **out, const char *const *key_files, size_t n_keys, char *msg, size_t msglen);

/* Same, from the OpenPGP public keys keyring[0..len) in memory (a key
 * statement's Keyring: binary, at most 2 x SW_KEYS_KEYRING_MAX bytes, two joined for a chain step; armored is
 * accepted too; secret key material is an error, as for sw_pgp_open), pinning
 * only the primary fingerprints pin[0..n_pin) (40 hex, either case; n_pin >= 1).
 * A pinned fingerprint that is not a primary key of the keyring is
 * SW_ERR_CONFIG naming it. Keys of the keyring that are not pinned never count
 * as trusted signers ("signature by untrusted key"). */
sw_err sw_pgp_open_keyring(sw_pgp **out, const uint8_t *keyring, size_t len, const char (*pin)[41], size_t n_pin,
                           char *msg, size_t msglen);

/* Kill any agent started for the home, remove the home, free p. NULL is a no-op. */
void sw_pgp_free(sw_pgp *p);

/* Number of pinned primary keys. */
size_t sw_pgp_key_count(const sw_pgp *p);

typedef struct sw_pgp_verdict {
  int accepted;                         /* starts 0; 1 only after a complete check */
  unsigned n_good;                      /* distinct pinned primaries with a good signature */
  char signer[SW_THRESHOLD_MAX][41];    /* their primary fingerprints (hex, upper case) */
  char reason[SW_MSG_MAX];              /* one line: why rejected */
} sw_pgp_verdict;

/* Source of signed data for streaming checks: fill buf with up to len bytes;
 * return the count, 0 at end, -1 on error. */
typedef ssize_t (*sw_pgp_read_fn)(void *arg, uint8_t *buf, size_t len);

/* Check the detached signature sig[0..sig_len) (armored or binary; one or more
 * signature packets) over data[0..data_len), each packet saying purpose (see
 * sw_pgp_purpose). threshold: 1..SW_THRESHOLD_MAX.
 * Returns SW_OK when the check ran (the verdict is in *v; accepted or not),
 * or an error (SW_ERR_PGP_ENGINE, SW_ERR_USAGE) when it could not be made.
 * A clearsigned or inline-signed message given as sig is rejected. */
sw_err sw_pgp_verify_mem(sw_pgp *p, sw_pgp_purpose purpose, const uint8_t *sig, size_t sig_len,
                         const uint8_t *data, size_t data_len, unsigned threshold, sw_pgp_verdict *v);

/* Same, reading the size bytes of signed data through rd (used by the payload
 * gate to hash and verify in one pass). rd is asked for at most size bytes; if
 * it ends sooner the verdict is a rejection. */
sw_err sw_pgp_verify_stream(sw_pgp *p, sw_pgp_purpose purpose, const uint8_t *sig, size_t sig_len,
                            uint64_t size, sw_pgp_read_fn rd, void *rd_arg, unsigned threshold,
                            sw_pgp_verdict *v);

#endif
