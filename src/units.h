/* units.h - the numbers people type for sizes, rates and durations.
 *
 * One convention for every option and config value (swarmup(1), "UNITS"):
 *   sizes and rates: a decimal number, a fraction allowed (1.5G), with an
 *     optional binary suffix in any case: B (bytes), K, M, G, T, each also as
 *     KB or KiB: K = 1024, M = 1024^2, G = 1024^3, T = 1024^4, as curl's
 *     --limit-rate and aria2 count. A rate may end in "/s" (10M/s).
 *   durations: a decimal number with an optional suffix s, m, h or d
 *     (90s, 5m, 1.5h, 2d).
 * A number without a suffix is in the option's own unit (plain_unit base
 * units: 1 for bytes and seconds, 1024 for an option counted in KiB/s). The
 * result is in base units (bytes, seconds), a fraction rounded down.
 * Refused: an empty text, a sign (-1, +1), a point without digits on both
 * sides, an unknown suffix, blanks, more than SW_UNITS_TEXT_MAX characters,
 * more than 9 decimals, a fraction without a suffix where the plain unit is
 * the base unit (1.5 bytes), and a value over UINT64_MAX. */
#ifndef SW_UNITS_H
#define SW_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define SW_UNITS_TEXT_MAX 40u

typedef enum sw_units_kind { SW_UNITS_BYTES = 1, SW_UNITS_SECONDS = 2 } sw_units_kind;

/* Parse s[0..len) (no NUL needed) as kind. Returns 0 and *out, or -1 with
 * *why set to a static one-line reason ("unknown unit", "negative", ...). */
int sw_units_parse(const char *s, size_t len, sw_units_kind kind, uint64_t plain_unit, uint64_t *out,
                   const char **why);

/* What the suffixes of kind are, for messages: "K, M, G, T (K = 1024)" style. */
const char *sw_units_hint(sw_units_kind kind);

#endif
