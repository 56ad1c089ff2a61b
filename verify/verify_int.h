/* verify_int.h - internals shared by the files of verify/ (not a public header). */
#ifndef SW_VERIFY_INT_H
#define SW_VERIFY_INT_H

#include <stddef.h>
#include <stdint.h>

/* How much of an untrusted value a message quotes. */
#define SW__QUOTE_MAX 40

/* Copy at most SW__QUOTE_MAX bytes of s into out, printable ASCII only ('"'
 * and everything else replaced by '?'), "..." if cut. Untrusted text never
 * reaches a terminal or a log unfiltered. */
void sw__quote(char out[SW__QUOTE_MAX + 4], const uint8_t *s, size_t len);

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF
 * (manifest.c; X- field values of manifests and key statements). */
int sw__utf8_ok(const uint8_t *s, size_t len);

/* Strict decimal uint64: digits only, no sign, no leading zero, no overflow
 * (manifest.c; every number of manifests and key statements).
 * 0 ok, 1 not a number, 2 leading zero, 3 overflow. */
int sw__parse_u64(const uint8_t *s, size_t len, uint64_t *out);

/* Strict standard base64 with '=' padding (manifest.c; Signature and
 * Keyring): length a multiple of 4, padding only at the end, unused bits zero,
 * so one byte string has one spelling. Decodes v[0..vl) into out[0..cap);
 * *out_len is the decoded length (also set for SW__B64_TOO_BIG), *bad_at the
 * offset of the 4-character group with a bad character. */
enum { SW__B64_OK, SW__B64_LENGTH, SW__B64_TOO_BIG, SW__B64_BAD_CHAR, SW__B64_NOT_CANONICAL };
int sw__b64_decode(const uint8_t *v, size_t vl, uint8_t *out, size_t cap, size_t *out_len, size_t *bad_at);

/* Literal-packet framing limits of pgp.c, lowered by tests only. */
extern uint64_t sw_pgp__single_max;
extern unsigned sw_pgp__partial_log;

/* The bytes pgp.c sends gpg before the data: one one-pass packet per
 * signature packet and the literal packet's header. Returns the number of
 * signature packets, or 0 with the reason in why (tests/fuzz only). */
unsigned sw_pgp__frame_head(const uint8_t *sig, size_t sig_len, uint64_t size, uint8_t *head, size_t cap,
                            size_t *head_len, char *why, size_t whylen);

#endif
