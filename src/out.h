/* out.h - what commands print: one-line text messages or JSON objects. */
#ifndef SW_OUT_H
#define SW_OUT_H

#include <stdint.h>
#include <stdio.h>

#include "sw_err.h"

/* A tiny JSON object writer: sw_json_begin(f); sw_json_str(f, "k", v); ...; sw_json_end(f).
 * Strings are escaped; bytes that are not printable ASCII are written as \u00XX. */
typedef struct sw_json {
  FILE *f;
  int n;
} sw_json;

void sw_json_begin(sw_json *j, FILE *f);
void sw_json_str(sw_json *j, const char *key, const char *value);
void sw_json_u64(sw_json *j, const char *key, uint64_t value);
void sw_json_i64(sw_json *j, const char *key, int64_t value);
void sw_json_bool(sw_json *j, const char *key, int value);
/* A number with three decimals (a ratio). */
void sw_json_f64(sw_json *j, const char *key, double value);
/* "key": [ "a", "b" ] */
void sw_json_strs(sw_json *j, const char *key, const char *const *values, size_t n);
void sw_json_end(sw_json *j);

/* One JSON event on stdout: {"event": event, "product", "channel" (when not
 * NULL), "sequence" (when not 0), "message": text}, flushed. */
void sw_json_event(const char *event, const char *product, const char *channel, uint64_t sequence,
                   const char *text);

/* Report err with its one-line message: text to stderr, or a JSON error event
 * to stdout. Returns the exit code for err. */
int sw_report_error(int json, const char *command, sw_err err, const char *message);

#endif
