/* pgp_packet.c - the packet walk, and the pre-checks of signature packets before gpg
 * sees them: only v4 binary-document signatures, and their purpose@swarmup notations. */
#include "pgp_int.h"
#include "verify_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Walk OpenPGP packets in buf[0..len). Calls back with each (tag, body).
 * Returns 0, or -1 with a reason for malformed framing. */
int sw_pgp__walk_packets(const uint8_t *buf, size_t len, packet_fn fn, void *arg, char *why, size_t whylen) {
  size_t pos = 0;
  while (pos < len) {
    uint8_t h = buf[pos++];
    int tag;
    size_t blen = 0;
    if (!(h & 0x80)) {
      sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "not an OpenPGP packet at offset %zu", pos - 1);
      return -1;
    }
    if (h & 0x40) { /* new format */
      tag = h & 0x3f;
      if (pos >= len) goto trunc;
      uint8_t c = buf[pos++];
      if (c < 192) {
        blen = c;
      } else if (c < 224) {
        if (pos >= len) goto trunc;
        blen = ((size_t)(c - 192) << 8) + buf[pos++] + 192;
      } else if (c == 255) {
        if (len - pos < 4) goto trunc;
        blen = ((size_t)buf[pos] << 24) | ((size_t)buf[pos + 1] << 16) | ((size_t)buf[pos + 2] << 8) |
               buf[pos + 3];
        pos += 4;
      } else {
        /* Partial body lengths only occur in data packets, never signatures or keys. */
        sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "partial-length packet (tag %d) refused", tag);
        return -1;
      }
    } else { /* old format */
      tag = (h >> 2) & 0x0f;
      int lt = h & 3;
      size_t nb = lt == 0 ? 1 : lt == 1 ? 2 : lt == 2 ? 4 : 0;
      if (nb == 0) {
        sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "indeterminate-length packet (tag %d) refused", tag);
        return -1;
      }
      if (len - pos < nb) goto trunc;
      for (size_t i = 0; i < nb; i++) blen = (blen << 8) | buf[pos++];
    }
    if (blen > len - pos) goto trunc;
    if (fn(arg, tag, buf + pos, blen, why, whylen) != 0) return -1;
    pos += blen;
  }
  return 0;
trunc:
  sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "truncated OpenPGP packet");
  return -1;
}

static const char *tag_name(int tag) {
  switch (tag) {
  case 4: return "one-pass signature";
  case 8: return "compressed data";
  case 11: return "literal data";
  case 18: return "encrypted data";
  case 1: return "encrypted session key";
  case 6: return "public key";
  case 5: return "secret key";
  default: return "non-signature";
  }
}

/* One notation subpacket body (after the type byte): 4 flag bytes, name
 * length (2), value length (2), name, value (RFC 4880 5.2.3.16). Records a
 * purpose@swarmup notation in *si (hashed) or counts it (unhashed).
 * -1 when the lengths do not add up. */
static int scan_notation(const uint8_t *b, size_t n, struct sig_info *si, int hashed, int critical) {
  size_t nl, vl;
  const uint8_t *name, *val;
  if (n < 8) return -1;
  nl = ((size_t)b[4] << 8) | b[5];
  vl = ((size_t)b[6] << 8) | b[7];
  if (n - 8 != nl + vl) return -1;
  name = b + 8;
  val = name + nl;
  if (nl != sizeof SW_PGP_PURPOSE_NAME - 1 || memcmp(name, SW_PGP_PURPOSE_NAME, nl) != 0) return 0;
  if (!hashed) {
    if (si->n_unhashed < 255) si->n_unhashed++;
    return 0;
  }
  if (si->n_purpose < 255) si->n_purpose++;
  if (critical) si->critical = 1;
  if (vl == 8 && memcmp(val, "manifest", 8) == 0) {
    si->purpose = SIGP_MANIFEST;
  } else if (vl == 4 && memcmp(val, "keys", 4) == 0) {
    si->purpose = SIGP_KEYS;
  } else if (vl == 7 && memcmp(val, "package", 7) == 0) {
    si->purpose = SIGP_PACKAGE;
  } else {
    size_t k;
    si->purpose = SIGP_OTHER;
    /* Quoted in a one-line reason: printable ASCII only. */
    for (k = 0; k < vl && k < SW_PGP_PURPOSE_SHOW; k++)
      si->other[k] = (val[k] >= 0x20 && val[k] < 0x7f) ? (char)val[k] : '?';
    si->other[k] = '\0';
  }
  return 0;
}

/* Whether a subpacket of this type (its data, after the type byte, n bytes
 * long) is shorter than gpg accepts. gpg 2.2's parse_one_sig_subpkt() holds
 * these types to these lengths; where it reads one that is too short it logs
 * an error ("subpacket of type 16 too short") and gpgv then exits 2, while
 * the signature still checks as good and gpgme reports it good. Refused here
 * in either area, read by gpg or not, so that we are never the laxer one:
 * fuzz_pgp_diff found an unhashed Issuer of no bytes that swarmup accepted. */
static int subpacket_too_short(uint8_t type, size_t n) {
  switch (type) {
  case 2:  /* signature creation time */
  case 3:  /* signature expiration time */
  case 9:  /* key expiration time */
    return n < 4;
  case 4:  /* exportable */
  case 7:  /* revocable */
  case 29: /* reason for revocation */
    return n < 1;
  case 5: /* trust signature */
    return n != 2;
  case 25: /* primary user ID */
    return n != 1;
  case 16: /* issuer key ID */
    return n < 8;
  case 33: /* issuer fingerprint */
    return n < 21;
  default:
    return 0;
  }
}

/* Find the issuer key ID in one subpacket area: an Issuer Fingerprint (33,
 * v4: the ID is its last 8 bytes) or an Issuer (16) subpacket, and the
 * purpose notations (20). Returns 1 when an issuer was found, 0 when absent,
 * -1 when the area's framing is broken, -2 (and *short_type) when a subpacket
 * is shorter than gpg accepts. hashed: the area is the hashed one,
 * the only one whose notations and issuer fingerprint are recorded as such
 * (the unhashed area is not covered by the signature). */
static int scan_subpackets(const uint8_t *a, size_t n, struct sig_info *si, int hashed, uint8_t *short_type) {
  size_t pos = 0;
  int found = 0;
  while (pos < n) {
    size_t slen;
    uint8_t c = a[pos++];
    if (c < 192) {
      slen = c;
    } else if (c < 255) {
      if (pos >= n) return -1;
      slen = ((size_t)(c - 192) << 8) + a[pos++] + 192;
    } else {
      if (n - pos < 4) return -1;
      slen = ((size_t)a[pos] << 24) | ((size_t)a[pos + 1] << 16) | ((size_t)a[pos + 2] << 8) | a[pos + 3];
      pos += 4;
    }
    if (slen == 0 || slen > n - pos) return -1;
    uint8_t type = a[pos] & 0x7f;
    if (subpacket_too_short(type, slen - 1)) {
      *short_type = type;
      return -2;
    }
    if (type == 33 && slen == 22 && a[pos + 1] == 4) {
      memcpy(si->keyid, a + pos + 2 + 12, 8);
      if (hashed) {
        memcpy(si->fpr, a + pos + 2, 20);
        si->has_fpr = 1;
      }
      found = 1;
    } else if (type == 16 && slen == 9 && !found) {
      memcpy(si->keyid, a + pos + 1, 8);
      found = 1;
    } else if (type == 20) {
      if (scan_notation(a + pos + 1, slen - 1, si, hashed, (a[pos] & 0x80) != 0) != 0) return -1;
    }
    pos += slen;
  }
  return found;
}

static int sig_packet_cb(void *arg, int tag, const uint8_t *body, size_t blen, char *why, size_t whylen) {
  struct sig_scan *sc = arg;
  struct sig_info *si;
  size_t hashed, unhashed;
  uint8_t short_type = 0;
  int f;
  if (tag != 2) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
            "%s packet (tag %d) in a detached signature: only signature packets are accepted",
            tag_name(tag), tag);
    return -1;
  }
  if (blen < 2 || body[0] != 4) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "signature packet version %d is not accepted (only 4)",
            blen ? body[0] : -1);
    return -1;
  }
  if (body[1] != 0x00) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
            "signature class 0x%02x is not a binary document signature (0x00)", body[1]);
    return -1;
  }
  if (sc->count >= SW_PGP_SIGS_MAX) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "more than %u signature packets", SW_PGP_SIGS_MAX);
    return -1;
  }
  /* v4: version, class, public-key algo, hash algo, hashed area, unhashed area, ... */
  if (blen < 8) goto broken;
  hashed = ((size_t)body[4] << 8) | body[5];
  if (blen - 6 < hashed + 2) goto broken;
  unhashed = ((size_t)body[6 + hashed] << 8) | body[7 + hashed];
  if (blen - 8 - hashed < unhashed) goto broken;
  si = &sc->info[sc->count];
  /* The hashed area is covered by the signature: prefer an issuer found there. */
  memset(si, 0, sizeof *si);
  si->type = body[1];
  si->pk_algo = body[2];
  si->hash_algo = body[3];
  f = scan_subpackets(body + 6, hashed, si, 1, &short_type);
  if (f >= 0) {
    /* Walk the unhashed area too: its notations are counted (for the
     * reason), and its issuer is used only when the hashed area has none. */
    struct sig_info u;
    int g;
    memset(&u, 0, sizeof u);
    g = scan_subpackets(body + 8 + hashed, unhashed, &u, 0, &short_type);
    if (g < 0) f = g;
    else {
      si->n_unhashed = u.n_unhashed;
      if (f == 0 && g == 1) {
        memcpy(si->keyid, u.keyid, 8);
        f = 1;
      }
    }
  }
  if (f == -2) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "signature subpacket of type %u is too short", (unsigned)short_type);
    return -1;
  }
  if (f < 0) goto broken;
  if (f == 0) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "signature packet names no issuer key");
    return -1;
  }
  sc->count++;
  return 0;
broken:
  sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "malformed signature packet");
  return -1;
}

static const char *purpose_value(int pp) {
  switch (pp) {
  case SIGP_MANIFEST: return "manifest";
  case SIGP_KEYS: return "keys";
  case SIGP_PACKAGE: return "package";
  default: return "?";
  }
}

/* "a manifest", "a key statement", "a package": what a purpose signs. */
static const char *purpose_what(int pp) {
  switch (pp) {
  case SIGP_MANIFEST: return "a manifest";
  case SIGP_KEYS: return "a key statement";
  case SIGP_PACKAGE: return "a package";
  default: return "an unknown";
  }
}

/* The signer as the packet names it: the hashed issuer fingerprint (what gpg
 * would print), else the 64-bit key ID. */
static void issuer_hex(const struct sig_info *si, char out[41]) {
  const uint8_t *b = si->has_fpr ? si->fpr : si->keyid;
  size_t n = si->has_fpr ? 20 : 8;
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02X", b[i]);
}

/* The purpose rule of pgp.h (sw_pgp_purpose), on our own reading of every
 * packet's hashed area: 0, or -1 with a one-line reason. Checked before gpg
 * runs; any wrong packet rejects the whole set. */
int sw_pgp__check_purpose(const struct sig_scan *sc, sw_pgp_purpose purpose, char *why, size_t whylen) {
  /* purpose is one of the three (verdict_init checked it). */
  int want = purpose == SW_PGP_PURPOSE_MANIFEST ? SIGP_MANIFEST
             : purpose == SW_PGP_PURPOSE_KEYS   ? SIGP_KEYS
                                                : SIGP_PACKAGE;
  for (unsigned i = 0; i < sc->count; i++) {
    const struct sig_info *si = &sc->info[i];
    char who[41];
    issuer_hex(si, who);
    if (si->n_purpose > 1) {
      sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
              "signature by key 0x%s carries %u purpose@swarmup notations (exactly one is allowed)", who,
              (unsigned)si->n_purpose);
      return -1;
    }
    if (si->critical) {
      /* gpg refuses a signature with a critical notation it does not know
       * ("bad signature"): say what is wrong instead. */
      sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
              "signature by key 0x%s marks its purpose@swarmup notation critical, which gpg refuses "
              "(make it without the leading '!')",
              who);
      return -1;
    }
    if (si->n_purpose == 0) {
      /* Packages signed by other tools carry no notation: still packages. */
      if (want == SIGP_PACKAGE) continue;
      sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
              "signature by key 0x%s has no purpose@swarmup notation%s (%s signature needs "
              "purpose@swarmup=%s)",
              who, si->n_unhashed ? " in its hashed area (one in the unhashed area does not count)" : "",
              purpose_what(want), purpose_value(want));
      return -1;
    }
    if (si->purpose == want) continue;
    if (si->purpose == SIGP_OTHER) {
      sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
              "signature by key 0x%s has purpose@swarmup=%s, not purpose@swarmup=%s", who, si->other,
              purpose_value(want));
      return -1;
    }
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen,
            "signature by key 0x%s is %s signature (purpose@swarmup=%s), not %s signature", who,
            purpose_what(si->purpose), purpose_value(si->purpose), purpose_what(want));
    return -1;
  }
  return 0;
}

/* gpg's own reading of the notations of one good signature must agree with
 * the rule (a second opinion on our packet scan; gpg reports the notations it
 * parsed). 0, or -1 with the reason in v->reason. */
int sw_pgp__check_purpose_gpg(gpgme_signature_t s, sw_pgp_purpose purpose, sw_pgp_verdict *v) {
  const char *want = purpose == SW_PGP_PURPOSE_MANIFEST ? "manifest"
                     : purpose == SW_PGP_PURPOSE_KEYS   ? "keys"
                                                        : "package";
  unsigned n = 0, good = 0;
  for (gpgme_sig_notation_t no = s->notations; no; no = no->next) {
    if (no->name == NULL || no->name_len != (int)(sizeof SW_PGP_PURPOSE_NAME - 1) ||
        memcmp(no->name, SW_PGP_PURPOSE_NAME, sizeof SW_PGP_PURPOSE_NAME - 1) != 0)
      continue;
    n++;
    if (no->value && no->value_len == (int)strlen(want) && memcmp(no->value, want, strlen(want)) == 0) good++;
  }
  if (n == 1 && good == 1) return 0;
  if (n == 0 && purpose == SW_PGP_PURPOSE_PACKAGE) return 0;
  sw_fail(SW_ERR_MANIFEST_SIG, v->reason, sizeof v->reason,
          "signature by key 0x%s: gpg reports %u purpose@swarmup notation%s, %u of them =%s (expected one)",
          s->fpr ? s->fpr : "?", n, n == 1 ? "" : "s", good, want);
  return -1;
}

/* Check sig bytes: only v4 binary-document signature packets, raw or armored.
 * On success returns the number of packets (>0), their binary form in *bin
 * (the caller frees it) and what gpg needs about each in *sc; else 0 with the
 * reason in why. */
unsigned sw_pgp__precheck_signature(const uint8_t *sig, size_t sig_len, struct sig_scan *sc, uint8_t **bin,
                                    size_t *bin_len, char *why, size_t whylen) {
  uint8_t *b = NULL;
  size_t blen = 0;
  memset(sc, 0, sizeof *sc);
  *bin = NULL;
  *bin_len = 0;
  if (sig_len == 0) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "no signature found (empty signature)");
    return 0;
  }
  if (sig_len > SW_MANIFEST_SIG_MAX) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "signature larger than %u bytes", SW_MANIFEST_SIG_MAX);
    return 0;
  }
  b = malloc(sig_len);
  if (b == NULL) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "out of memory");
    return 0;
  }
  if (sig[0] & 0x80) {
    memcpy(b, sig, sig_len);
    blen = sig_len;
  } else if (sw_pgp__dearmor(sig, sig_len, "SIGNATURE", b, sig_len, &blen, why, whylen) != 0) {
    goto fail;
  }
  if (sw_pgp__walk_packets(b, blen, sig_packet_cb, sc, why, whylen) != 0) goto fail;
  if (sc->count == 0) {
    sw_fail(SW_ERR_MANIFEST_SIG, why, whylen, "no signature found (empty armor block)");
    goto fail;
  }
  *bin = b;
  *bin_len = blen;
  return sc->count;
fail:
  free(b);
  sc->count = 0;
  return 0;
}
int sw_pgp__key_packet_cb(void *arg, int tag, const uint8_t *body, size_t blen, char *why, size_t whylen) {
  struct key_scan *ks = arg;
  (void)body;
  (void)blen;
  (void)why;
  (void)whylen;
  if (tag == 5 || tag == 7) ks->n_secret++;
  if (tag == 6) ks->n_public++;
  return 0;
}
