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

#endif
