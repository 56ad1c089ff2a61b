/* seedcfg.c - cut a seeder's config into its global part and its sections. */
#include "seedcfg.h"

#include <string.h>

sw_err sw_seedcfg_split(const uint8_t *buf, size_t len, const char *name, sw_seedcfg *out, char *msg, size_t msglen) {
  size_t pos = 0;
  memset(out, 0, sizeof *out);
  out->global_len = len;
  while (pos < len) {
    const uint8_t *nl = memchr(buf + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - buf) : len, a = pos, b = end;
    size_t next = nl ? end + 1 : len;
    while (a < b && (buf[a] == ' ' || buf[a] == '\t')) a++;
    while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t')) b--;
    if (a < b && buf[a] == '[') {
      sw_seedcfg_section *s;
      if (out->n == 0) out->global_len = pos;
      else out->sec[out->n - 1].end = pos;
      if (out->n >= SW_SEEDCFG_SECTIONS_MAX)
        return sw_fail(SW_ERR_CONFIG, msg, msglen, "config %s: more than %d products", name, SW_SEEDCFG_SECTIONS_MAX);
      /* "[" label "]": at least one byte of label, and it must fit. */
      if (b - a < 3 || buf[b - 1] != ']' || b - a - 2 > SW_SEEDCFG_LABEL_MAX)
        return sw_fail(SW_ERR_CONFIG, msg, msglen, "config %s: bad section header", name);
      /* The label goes into messages and logs: printable ASCII, no brackets. */
      for (size_t i = a + 1; i < b - 1; i++)
        if (buf[i] < 0x20 || buf[i] >= 0x7f || buf[i] == '[' || buf[i] == ']')
          return sw_fail(SW_ERR_CONFIG, msg, msglen, "config %s: bad section header (label characters)", name);
      s = &out->sec[out->n++];
      memcpy(s->label, buf + a + 1, b - a - 2);
      s->label[b - a - 2] = 0;
      s->start = next;
      s->end = len;
    }
    pos = next;
  }
  return SW_OK;
}
