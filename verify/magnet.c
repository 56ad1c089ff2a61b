/* magnet.c - strict parser for the manifest's Magnet field (see magnet.h).
 *
 * Only the handful of parameters swarmup uses are accepted; anything else is
 * an error rather than ignored, so a signed manifest means exactly one thing. */
#include "magnet.h"
#include "verify_int.h"

#include <string.h>

/* How much of an untrusted value an error message quotes. */
#define MAG_QUOTE_MAX SW__QUOTE_MAX

static int mag_hexval(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decode exactly 2*n hex digits (either case) into out[n]; 0 on a non-hex digit. */
static int mag_hex_decode(const uint8_t *s, size_t n, uint8_t *out) {
  for (size_t i = 0; i < n; i++) {
    int hi = mag_hexval(s[2 * i]), lo = mag_hexval(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return 0;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 1;
}

/* Percent-decode s[0..len) into out (NUL-terminated), at most cap bytes.
 * '+' is not special. Decoded bytes must be printable ASCII (0x20..0x7e), and
 * 0x20 only if allow_space. Returns SW_OK or an error with a reason. */
static sw_err mag_pct_decode(const uint8_t *s, size_t len, char *out, size_t cap, int allow_space,
                             const char *what, char *msg, size_t msglen) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = s[i];
    if (c == '%') {
      int hi, lo;
      if (len - i < 3) /* fewer than two bytes follow the '%' */
        return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "%s: truncated percent escape", what);
      hi = mag_hexval(s[i + 1]);
      lo = mag_hexval(s[i + 2]);
      if (hi < 0 || lo < 0)
        return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "%s: bad percent escape", what);
      c = (uint8_t)(hi << 4 | lo);
      i += 2;
    }
    if (c < 0x20 || c >= 0x7f)
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                     "%s: decodes to a control or non-ASCII byte 0x%02x", what, c);
    if (c == ' ' && !allow_space)
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "%s: decodes to a space", what);
    if (o >= cap)
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "%s: longer than %zu bytes after decoding",
                     what, cap);
    out[o++] = (char)c;
  }
  out[o] = '\0';
  return SW_OK;
}

static int mag_prefix_ci(const char *s, const char *prefix) {
  for (; *prefix; s++, prefix++) {
    char a = *s, b = *prefix;
    if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
    if (a != b) return 0;
  }
  return 1;
}

/* Tracker URL: http://, https:// or udp:// (scheme case-insensitive) with a non-empty host. */
static int mag_tracker_ok(const char *u) {
  const char *rest = NULL;
  if (mag_prefix_ci(u, "http://"))
    rest = u + 7;
  else if (mag_prefix_ci(u, "https://"))
    rest = u + 8;
  else if (mag_prefix_ci(u, "udp://"))
    rest = u + 6;
  else
    return 0;
  return *rest != '\0' && *rest != '/' && *rest != ':' && *rest != '?' && *rest != '#';
}

/* Port: 1..65535, decimal, no leading zero. */
static int mag_port_ok(const char *s) {
  unsigned long v = 0;
  size_t n = strlen(s);
  if (n == 0 || n > 5 || s[0] == '0') return 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (unsigned long)(s[i] - '0');
  }
  return v >= 1 && v <= 65535;
}

/* Peer: "host:port" (host [A-Za-z0-9.-]+) or "[v6]:port" (v6 [0-9A-Fa-f:.]+ with a ':'). */
static int mag_peer_ok(const char *p) {
  const char *colon = NULL;
  if (p[0] == '[') {
    const char *end = strchr(p, ']');
    int has_colon = 0;
    if (end == NULL || end == p + 1 || end[1] != ':') return 0;
    for (const char *q = p + 1; q < end; q++) {
      if (*q == ':')
        has_colon = 1;
      else if (!(mag_hexval((uint8_t)*q) >= 0 || *q == '.'))
        return 0;
    }
    if (!has_colon) return 0;
    colon = end + 1;
  } else {
    colon = strchr(p, ':');
    if (colon == NULL || colon == p) return 0;
    for (const char *q = p; q < colon; q++)
      if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
            *q == '.' || *q == '-'))
        return 0;
  }
  return mag_port_ok(colon + 1);
}

static sw_err mag_param(const uint8_t *key, size_t kl, const uint8_t *val, size_t vl, sw_magnet *out,
                        int *have_btmh, int *have_dn, char *msg, size_t msglen) {
  static const char btmh[] = "urn:btmh:1220";
  static const char btih[] = "urn:btih:";
  char q[MAG_QUOTE_MAX + 4];
  sw_err rc = SW_OK;

  if (kl == 2 && memcmp(key, "xt", 2) == 0) {
    if (vl >= sizeof btmh - 1 && memcmp(val, btmh, sizeof btmh - 1) == 0) {
      if (*have_btmh)
        return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "duplicate xt=urn:btmh parameter");
      if (vl != sizeof btmh - 1 + 64 || !mag_hex_decode(val + sizeof btmh - 1, 32, out->btmh))
        return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                       "xt=urn:btmh:1220 must be followed by 64 hex digits");
      *have_btmh = 1;
      return SW_OK;
    }
    if (vl >= sizeof btih - 1 && memcmp(val, btih, sizeof btih - 1) == 0) {
      if (out->has_btih)
        return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "duplicate xt=urn:btih parameter");
      /* The 32-character base32 form is legal in the wild but not here: one spelling only. */
      if (vl != sizeof btih - 1 + 40 || !mag_hex_decode(val + sizeof btih - 1, 20, out->btih))
        return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "xt=urn:btih: must be followed by 40 hex digits");
      out->has_btih = 1;
      return SW_OK;
    }
    sw__quote(q, val, vl);
    return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                   "unsupported xt \"%s\" (want urn:btmh:1220<sha256> or urn:btih:<sha1>)", q);
  }
  if (kl == 2 && memcmp(key, "dn", 2) == 0) {
    if (*have_dn) return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "duplicate dn parameter");
    rc = mag_pct_decode(val, vl, out->dn, SW_FILE_MAX, 1, "dn", msg, msglen);
    if (rc != SW_OK) return rc;
    *have_dn = 1;
    return SW_OK;
  }
  if (kl == 2 && memcmp(key, "tr", 2) == 0) {
    if (out->n_tr >= SW_MAGNET_TR_MAX)
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "more than %u tr parameters",
                     (unsigned)SW_MAGNET_TR_MAX);
    rc = mag_pct_decode(val, vl, out->tr[out->n_tr], SW_URL_MAX, 0, "tr", msg, msglen);
    if (rc != SW_OK) return rc;
    if (!mag_tracker_ok(out->tr[out->n_tr])) {
      sw__quote(q, (const uint8_t *)out->tr[out->n_tr], strlen(out->tr[out->n_tr]));
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                     "tracker \"%s\" is not an http, https or udp URL with a host", q);
    }
    out->n_tr++;
    return SW_OK;
  }
  if (kl == 4 && memcmp(key, "x.pe", 4) == 0) {
    if (out->n_peers >= SW_MAGNET_PEERS_MAX)
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "more than %u x.pe parameters",
                     (unsigned)SW_MAGNET_PEERS_MAX);
    rc = mag_pct_decode(val, vl, out->peers[out->n_peers], SW_PEER_MAX, 0, "x.pe", msg, msglen);
    if (rc != SW_OK) return rc;
    if (!mag_peer_ok(out->peers[out->n_peers])) {
      sw__quote(q, (const uint8_t *)out->peers[out->n_peers], strlen(out->peers[out->n_peers]));
      return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                     "x.pe \"%s\" is not host:port or [v6]:port with port 1..65535", q);
    }
    out->n_peers++;
    return SW_OK;
  }
  sw__quote(q, key, kl);
  return sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "unknown parameter \"%s\"", q);
}

sw_err sw_magnet_parse(const uint8_t *buf, size_t len, sw_magnet *out, char *msg, size_t msglen) {
  static const char prefix[] = "magnet:?";
  int have_btmh = 0, have_dn = 0;
  unsigned n = 0;
  size_t pos = 0;
  sw_err rc = SW_OK;

  if (out == NULL) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "sw_magnet_parse: no output");
  memset(out, 0, sizeof *out);
  if (buf == NULL && len > 0) {
    rc = sw_fail(SW_ERR_INTERNAL, msg, msglen, "sw_magnet_parse: no input");
    goto out;
  }
  if (len < sizeof prefix - 1 || memcmp(buf, prefix, sizeof prefix - 1) != 0) {
    rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "does not start with \"magnet:?\"");
    goto out;
  }
  /* Raw bytes must be URI characters; spaces, controls and non-ASCII must be %-escaped. */
  for (size_t i = 0; i < len; i++) {
    if (buf[i] <= 0x20 || buf[i] >= 0x7f) {
      rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "byte 0x%02x at offset %zu is not allowed in a URI",
                   buf[i], i);
      goto out;
    }
  }
  pos = sizeof prefix - 1;
  if (pos == len) {
    rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "has no parameters");
    goto out;
  }
  while (pos <= len) {
    const uint8_t *p = buf + pos;
    const uint8_t *amp = memchr(p, '&', len - pos);
    size_t pl = amp ? (size_t)(amp - p) : len - pos;
    const uint8_t *eq = memchr(p, '=', pl);
    n++;
    if (pl == 0) {
      rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "parameter %u is empty", n);
      goto out;
    }
    if (eq == NULL) {
      rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "parameter %u has no '='", n);
      goto out;
    }
    if (eq == p) {
      rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "parameter %u has an empty key", n);
      goto out;
    }
    if ((size_t)(eq - p) + 1 == pl) {
      rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen, "parameter %u has an empty value", n);
      goto out;
    }
    rc = mag_param(p, (size_t)(eq - p), eq + 1, pl - (size_t)(eq - p) - 1, out, &have_btmh, &have_dn,
                   msg, msglen);
    if (rc != SW_OK) goto out;
    if (amp == NULL) break;
    pos += pl + 1; /* a trailing '&' leaves pos == len: an empty last parameter, rejected above */
  }
  if (!have_btmh) {
    rc = sw_fail(SW_ERR_MANIFEST_SYNTAX, msg, msglen,
                 "no xt=urn:btmh:1220... parameter (BitTorrent v2 info-hash is required)");
    goto out;
  }
out:
  /* Leave nothing that looks like a parsed magnet behind. */
  if (rc != SW_OK) memset(out, 0, sizeof *out);
  return rc;
}
