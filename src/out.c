#include "out.h"

#include <inttypes.h>
#include <string.h>

static void sw__json_escape(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7f) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static void sw__key(sw_json *j, const char *key) {
  fputs(j->n++ ? "," : "", j->f);
  sw__json_escape(j->f, key);
  fputc(':', j->f);
}

void sw_json_begin(sw_json *j, FILE *f) {
  j->f = f;
  j->n = 0;
  fputc('{', f);
}

void sw_json_str(sw_json *j, const char *key, const char *value) {
  sw__key(j, key);
  if (value) sw__json_escape(j->f, value);
  else fputs("null", j->f);
}

void sw_json_u64(sw_json *j, const char *key, uint64_t value) {
  sw__key(j, key);
  fprintf(j->f, "%" PRIu64, value);
}

void sw_json_i64(sw_json *j, const char *key, int64_t value) {
  sw__key(j, key);
  fprintf(j->f, "%" PRId64, value);
}

void sw_json_bool(sw_json *j, const char *key, int value) {
  sw__key(j, key);
  fputs(value ? "true" : "false", j->f);
}

void sw_json_f64(sw_json *j, const char *key, double value) {
  sw__key(j, key);
  fprintf(j->f, "%.3f", value);
}

void sw_json_strs(sw_json *j, const char *key, const char *const *values, size_t n) {
  sw__key(j, key);
  fputc('[', j->f);
  for (size_t i = 0; i < n; i++) {
    if (i) fputc(',', j->f);
    sw__json_escape(j->f, values[i]);
  }
  fputc(']', j->f);
}

void sw_json_end(sw_json *j) {
  fputs("}\n", j->f);
  fflush(j->f);
}

int sw_report_error(int json, const char *command, sw_err err, const char *message) {
  if (json) {
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", "error");
    sw_json_str(&j, "command", command);
    sw_json_str(&j, "error", sw_err_name(err));
    sw_json_i64(&j, "exit", sw_err_exit_code(err));
    sw_json_str(&j, "message", message);
    sw_json_end(&j);
  } else {
    fprintf(stderr, "swarmup %s: %s\n", command, message);
  }
  return sw_err_exit_code(err);
}

void sw_json_event(const char *event, const char *product, const char *channel, uint64_t sequence,
                   const char *text) {
  sw_json j;
  sw_json_begin(&j, stdout);
  sw_json_str(&j, "event", event);
  if (product) sw_json_str(&j, "product", product);
  if (channel) sw_json_str(&j, "channel", channel);
  if (sequence) sw_json_u64(&j, "sequence", sequence);
  sw_json_str(&j, "message", text);
  sw_json_end(&j);
}
