/* sw_limits.h - every size limit on untrusted input, in one place.
 * Parsers take these by name; a value over a limit is an error, never a truncation. */
#ifndef SW_LIMITS_H
#define SW_LIMITS_H

#define SW_MANIFEST_MAX        65536u   /* whole manifest, bytes */
#define SW_MANIFEST_LINE_MAX    4096u   /* one line, bytes, without its LF */
#define SW_MANIFEST_SIG_MAX    65536u   /* NAME.manifest.sig (armored, several signatures) */
#define SW_PRODUCT_MAX            64u   /* Product and Channel: [a-z0-9][a-z0-9._-]{0,63} */
#define SW_CHANNEL_MAX            64u
#define SW_VERSION_MAX            64u   /* printable ASCII, display only */
#define SW_FILE_MAX              255u   /* File: plain basename */
#define SW_URL_MAX              2048u   /* one https URL */
#define SW_FALLBACK_MAX            8u   /* URLs on the Fallback line */
#define SW_PKG_SIG_MAX          3063u   /* decoded Signature field: 4084 base64 chars, the most that fit a 4096-byte line after "Signature: " */
#define SW_MAGNET_TR_MAX          16u   /* tr= trackers in a magnet */
#define SW_MAGNET_PEERS_MAX       16u   /* x.pe= peers in a magnet */
#define SW_PEER_MAX               64u   /* "host:port" or "[v6]:port" */
#define SW_THRESHOLD_MAX          16u   /* --threshold and distinct signers counted */
#define SW_TRUSTED_KEY_MAX   1048576u   /* one --trusted-key file */
#define SW_CONFIG_MAX          65536u   /* --config file */
#define SW_CONFIG_LINE_MAX      4096u
#define SW_STATE_MAX            8192u   /* one state file */
#define SW_STATE_KNOWN_MAX     65536u   /* STATE/known: the (product, channel) pairs with a state file */
#define SW_MSG_MAX               512u   /* one error message line */
#define SW_KEYS_STMT_MAX       65536u   /* one N.keys key statement, bytes (same text rules as a manifest) */
#define SW_KEYS_LINE_MAX      65536u   /* one line of it: the Keyring line may fill the statement */
#define SW_KEYS_FPR_MAX           16u   /* Key: lines, and Next: lines, each */
#define SW_KEYS_FLOOR_MAX         16u   /* channel=N pairs on the Sequence-Floor line */
#define SW_KEYS_KEYRING_MAX    49152u   /* decoded Keyring (binary public keys) */
#define SW_KEYS_WALK_MAX          32u   /* statements fetched per run (python-tuf's cap) */
#define SW_CONTENT_RANGE_MAX     256u   /* an HTTP Content-Range value ("bytes " and three 20-digit numbers need 70) */

#endif
