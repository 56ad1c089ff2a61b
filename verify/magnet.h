/* magnet.h - strict parser for the manifest's Magnet field (untrusted until the
 * manifest signature is checked, and even then parsed with hard limits).
 *
 * Accepted form (parameters in any order, each key as listed):
 *   magnet:?xt=urn:btmh:1220<64 hex>        exactly one, required (BitTorrent v2 info-hash)
 *          &xt=urn:btih:<40 hex>            at most one (hybrid torrent's v1 info-hash)
 *          &dn=<percent-encoded name>       at most one, display only
 *          &tr=<percent-encoded URL>        up to SW_MAGNET_TR_MAX
 *          &x.pe=<host:port>                up to SW_MAGNET_PEERS_MAX
 * Any other key, an empty value, a bad percent escape, a control character
 * after decoding, or a limit exceeded is an error.
 */
#ifndef SW_MAGNET_H
#define SW_MAGNET_H

#include <stddef.h>
#include <stdint.h>

#include "sw_err.h"
#include "sw_limits.h"

typedef struct sw_magnet {
  uint8_t btmh[32];                                    /* v2 info-hash (SHA-256) */
  int has_btih;
  uint8_t btih[20];                                    /* v1 info-hash, if has_btih */
  char dn[SW_FILE_MAX + 1];                            /* decoded, printable; "" if absent */
  size_t n_tr;
  char tr[SW_MAGNET_TR_MAX][SW_URL_MAX + 1];           /* decoded tracker URLs */
  size_t n_peers;
  char peers[SW_MAGNET_PEERS_MAX][SW_PEER_MAX + 1];    /* decoded "host:port" / "[v6]:port" */
} sw_magnet;

/* Parse buf[0..len) (no NUL needed) into *out (caller-allocated, overwritten).
 * Returns SW_OK, or SW_ERR_MANIFEST_SYNTAX with a one-line reason in msg. */
sw_err sw_magnet_parse(const uint8_t *buf, size_t len, sw_magnet *out, char *msg, size_t msglen);

#endif
