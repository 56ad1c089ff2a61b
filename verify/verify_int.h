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

/* Literal-packet framing limits of pgp.c, lowered by tests only. */
extern uint64_t sw_pgp__single_max;
extern unsigned sw_pgp__partial_log;

/* The bytes pgp.c sends gpg before the data: one one-pass packet per
 * signature packet and the literal packet's header. Returns the number of
 * signature packets, or 0 with the reason in why (tests/fuzz only). */
unsigned sw_pgp__frame_head(const uint8_t *sig, size_t sig_len, uint64_t size, uint8_t *head, size_t cap,
                            size_t *head_len, char *why, size_t whylen);

#endif
