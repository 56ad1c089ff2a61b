/* seedcfg.h - how `swarmup seed --config` is cut into parts: the global
 * `key = value` lines, then one "[label]" section per product. Pure (buf, len)
 * splitting, no I/O: seed_products.c parses each part with sw_opts_parse_config, and
 * tests/fuzz/fuzz_config.c fuzzes exactly this code. */
#ifndef SW_SEEDCFG_H
#define SW_SEEDCFG_H
#include <stddef.h>
#include <stdint.h>
#include "sw_err.h"

#define SW_SEEDCFG_SECTIONS_MAX 32 /* products one seeder serves */
#define SW_SEEDCFG_LABEL_MAX 79    /* bytes of a label, between the brackets */

typedef struct sw_seedcfg_section {
  char label[SW_SEEDCFG_LABEL_MAX + 1];
  size_t start, end; /* the body: buf[start..end), after its header line */
} sw_seedcfg_section;

typedef struct sw_seedcfg {
  size_t global_len; /* buf[0..global_len): the lines before the first header */
  size_t n;
  sw_seedcfg_section sec[SW_SEEDCFG_SECTIONS_MAX];
} sw_seedcfg;

/* Split buf[0..len). A line whose trimmed text starts with '[' is a header: it
 * must be "[label]" with 1..SW_SEEDCFG_LABEL_MAX bytes of label (printable
 * ASCII, no brackets: it is shown in messages), and opens a
 * section that runs to the next header or the end. More than
 * SW_SEEDCFG_SECTIONS_MAX sections or a bad header is SW_ERR_CONFIG, with a
 * message naming `name` (the file). The labels are not checked further here:
 * they only name a section in messages. */
sw_err sw_seedcfg_split(const uint8_t *buf, size_t len, const char *name, sw_seedcfg *out, char *msg, size_t msglen);
#endif
