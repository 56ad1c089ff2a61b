/* manifest.h - parser for swarmup/1 manifests (docs/manifest.md).
 *
 * The parser sees exactly the bytes the signature covered: the caller reads the
 * manifest once into memory, verifies NAME.manifest.sig over that buffer, then
 * parses the same buffer. Parsing alone proves nothing about authenticity.
 */
#ifndef SW_MANIFEST_H
#define SW_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "magnet.h"
#include "sw_err.h"
#include "sw_limits.h"

typedef struct sw_manifest {
  char product[SW_PRODUCT_MAX + 1];
  char channel[SW_CHANNEL_MAX + 1];
  char version[SW_VERSION_MAX + 1];      /* printable ASCII, display only */
  uint64_t sequence;
  int64_t date;                          /* Date, seconds since the epoch (UTC) */
  int64_t expires;                       /* Expires, seconds since the epoch; > date */
  char file[SW_FILE_MAX + 1];            /* checked plain basename */
  uint64_t size;                         /* > 0 */
  uint8_t sha256[32];
  char magnet_uri[SW_MANIFEST_LINE_MAX + 1]; /* the Magnet value as signed */
  sw_magnet magnet;                      /* ... and parsed */
  size_t n_fallback;                     /* >= 1 */
  char fallback[SW_FALLBACK_MAX][SW_URL_MAX + 1]; /* https:// URLs */
  size_t signature_len;
  uint8_t signature[SW_PKG_SIG_MAX];     /* binary detached OpenPGP signature of the file */
  char torrent_url[SW_URL_MAX + 1];      /* optional https:// URL; "" if absent */
} sw_manifest;

/* Parse buf[0..len) into *out (caller-allocated; it is large, so allocate it
 * on the heap). Enforces SW_MANIFEST_MAX, SW_MANIFEST_LINE_MAX, LF line ends
 * (the last line must end with LF), each required field exactly once, X-
 * fields ignored, every other field an error, no NUL or control character.
 * Returns SW_OK, or SW_ERR_MANIFEST_SYNTAX with a one-line reason in msg
 * ("line 7: duplicate field Sequence"). */
sw_err sw_manifest_parse(const uint8_t *buf, size_t len, sw_manifest *out, char *msg, size_t msglen);

/* Helpers shared with the CLI and the publisher tool. */

/* 1 if s[0..len) is a valid Product/Channel name: [a-z0-9][a-z0-9._-]{0,63}. */
int sw_manifest_name_ok(const char *s, size_t len);
/* 1 if s[0..len) is a plain basename: [A-Za-z0-9][A-Za-z0-9._+-]{0,254}. */
int sw_manifest_file_ok(const char *s, size_t len);
/* Parse RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" exactly (20 bytes); SW_OK or SW_ERR_MANIFEST_SYNTAX. */
sw_err sw_manifest_parse_time(const char *s, size_t len, int64_t *out);
/* Format t as "YYYY-MM-DDTHH:MM:SSZ" into out[21]. */
void sw_manifest_format_time(int64_t t, char out[21]);

#endif
