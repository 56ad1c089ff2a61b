/* Option values as flags and as config lines: the unit suffixes (src/units.h)
 * reach every size, rate and duration option, and -q / -v. */
#include <string.h>

#include "opts.h"
#include "sw_limits.h"
#include "sw_test.h"

/* parse CMD's flags argv[0..argc) into *o; returns the error. */
static sw_err flags(enum sw_cmd cmd, sw_opts *o, char *msg, size_t msglen, int argc, const char **argv) {
  return sw_opts_parse(cmd, argc, (char **)argv, o, msg, msglen);
}

#define FLAGS(cmd, o, msg, ...)                                                           \
  flags(cmd, o, msg, sizeof msg, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), \
        (const char *[]){__VA_ARGS__})

static sw_err config(enum sw_cmd cmd, sw_opts *o, char *msg, size_t msglen, const char *text) {
  sw_opts_defaults(o);
  return sw_opts_parse_config(cmd, "t.conf", (const uint8_t *)text, strlen(text), o, msg, msglen);
}

SW_TEST(durations_take_suffixes_as_flags) {
  sw_opts o;
  char msg[SW_MSG_MAX] = "";
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_FETCH, &o, msg, "--seed-time", "5m", "--swarm-timeout=90s", "--stall-timeout", "1m",
                         "--low-speed-time", "0.5m"), SW_OK);
  SW_ASSERT_EQ_INT(o.seed_time, 300);
  SW_ASSERT_EQ_INT(o.swarm_timeout, 90);
  SW_ASSERT_EQ_INT(o.stall_timeout, 60);
  SW_ASSERT_EQ_INT(o.low_speed_time, 30);
  sw_opts_free(&o);
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_SEED, &o, msg, "--poll", "1h"), SW_OK);
  SW_ASSERT_EQ_INT(o.poll, 3600);
  sw_opts_free(&o);
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_CHECK, &o, msg, "--max-clock-skew", "2h", "--max-validity", "7d"), SW_OK);
  SW_ASSERT_EQ_INT(o.max_clock_skew, 7200);
  SW_ASSERT_EQ_INT(o.max_validity, 604800);
  sw_opts_free(&o);
}

SW_TEST(plain_numbers_keep_their_old_meaning) {
  sw_opts o;
  char msg[SW_MSG_MAX] = "";
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_FETCH, &o, msg, "--seed-time", "600", "--upload-limit", "100", "--stall-rate", "16384"),
                   SW_OK);
  SW_ASSERT_EQ_INT(o.seed_time, 600);
  SW_ASSERT_EQ_INT(o.upload_limit, 100); /* KiB/s */
  SW_ASSERT_EQ_INT(o.stall_rate, 16384); /* bytes/s */
  sw_opts_free(&o);
}

SW_TEST(sizes_and_rates_take_suffixes_as_flags) {
  sw_opts o;
  char msg[SW_MSG_MAX] = "";
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_FETCH, &o, msg, "--stall-rate", "16K", "--min-rate", "1M/s", "--low-speed-limit",
                         "10KiB", "--download-limit", "10M", "--upload-limit", "1.5M"), SW_OK);
  SW_ASSERT_EQ_INT(o.stall_rate, 16384);
  SW_ASSERT_EQ_INT(o.min_rate, 1048576);
  SW_ASSERT_EQ_INT(o.low_speed_limit, 10240);
  SW_ASSERT_EQ_INT(o.download_limit, 10240); /* 10 MiB/s in KiB/s */
  SW_ASSERT_EQ_INT(o.upload_limit, 1536);
  sw_opts_free(&o);
}

SW_TEST(small_kib_limit_rounds_up_never_to_unlimited) {
  sw_opts o;
  char msg[SW_MSG_MAX] = "";
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_FETCH, &o, msg, "--upload-limit", "500B", "--download-limit", "1025B"), SW_OK);
  SW_ASSERT_EQ_INT(o.upload_limit, 1);
  SW_ASSERT_EQ_INT(o.download_limit, 2);
  sw_opts_free(&o);
}

SW_TEST(config_values_take_the_same_suffixes) {
  sw_opts o;
  char msg[SW_MSG_MAX] = "";
  SW_ASSERT_EQ_INT(config(SW_CMD_FETCH, &o, msg, sizeof msg,
                          "seed-time = 1h\nupload-limit = 512K\nstall-rate = 32KiB/s\nquiet = true\n"),
                   SW_OK);
  SW_ASSERT_EQ_INT(o.seed_time, 3600);
  SW_ASSERT_EQ_INT(o.upload_limit, 512);
  SW_ASSERT_EQ_INT(o.stall_rate, 32768);
  SW_ASSERT_EQ_INT(o.quiet, 1);
  sw_opts_free(&o);
}

SW_TEST(config_refuses_a_bad_unit_naming_file_line_and_key) {
  sw_opts o;
  char msg[SW_MSG_MAX] = "";
  SW_ASSERT_EQ_INT(config(SW_CMD_FETCH, &o, msg, sizeof msg, "# limits\nseed-time = -5m\n"), SW_ERR_CONFIG);
  SW_ASSERT_CONTAINS(msg, "config t.conf line 2: seed-time \"-5m\": negative");
  sw_opts_free(&o);
  SW_ASSERT_EQ_INT(config(SW_CMD_FETCH, &o, msg, sizeof msg, "upload-limit = 10 M\n"), SW_ERR_CONFIG);
  SW_ASSERT_CONTAINS(msg, "line 1: upload-limit \"10 M\": unknown unit");
  sw_opts_free(&o);
}

SW_TEST(flags_refuse_unknown_units_negative_and_overflow) {
  sw_opts o;
  char msg[SW_MSG_MAX] = "";
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_FETCH, &o, msg, "--seed-time", "2y"), SW_ERR_USAGE);
  SW_ASSERT_CONTAINS(msg, "--seed-time: \"2y\": unknown unit (seconds, or a number with s, m, h or d");
  sw_opts_free(&o);
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_FETCH, &o, msg, "--stall-rate", "-1K"), SW_ERR_USAGE);
  SW_ASSERT_CONTAINS(msg, "negative");
  sw_opts_free(&o);
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_FETCH, &o, msg, "--seed-time", "10M"), SW_ERR_USAGE); /* a size, not a duration */
  SW_ASSERT_CONTAINS(msg, "unknown unit");
  sw_opts_free(&o);
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_FETCH, &o, msg, "--seed-time", "366d"), SW_ERR_USAGE);
  SW_ASSERT_CONTAINS(msg, "--seed-time: \"366d\" is over the limit of 31536000 s");
  sw_opts_free(&o);
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_FETCH, &o, msg, "--upload-limit", "3G"), SW_ERR_USAGE);
  SW_ASSERT_CONTAINS(msg, "over the limit of 2097151 KiB/s");
  sw_opts_free(&o);
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_FETCH, &o, msg, "--stall-rate", "99999999999999999999"), SW_ERR_USAGE);
  SW_ASSERT_CONTAINS(msg, "too large");
  sw_opts_free(&o);
}

SW_TEST(counts_take_no_suffix) {
  sw_opts o;
  char msg[SW_MSG_MAX] = "";
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_CHECK, &o, msg, "--threshold", "2K"), SW_ERR_USAGE);
  SW_ASSERT_CONTAINS(msg, "must be a whole number");
  sw_opts_free(&o);
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_SEED, &o, msg, "--keep", "1m"), SW_ERR_USAGE);
  sw_opts_free(&o);
}

SW_TEST(short_q_and_v_set_quiet_and_verbose) {
  sw_opts o;
  char msg[SW_MSG_MAX] = "";
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_CHECK, &o, msg, "-q"), SW_OK);
  SW_ASSERT_EQ_INT(o.quiet, 1);
  SW_ASSERT_EQ_INT(o.verbose, 0);
  sw_opts_free(&o);
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_FETCH, &o, msg, "-v"), SW_OK);
  SW_ASSERT_EQ_INT(o.verbose, 1);
  sw_opts_free(&o);
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_SEED, &o, msg, "--quiet", "--verbose"), SW_ERR_USAGE);
  SW_ASSERT_CONTAINS(msg, "exclude each other");
  sw_opts_free(&o);
  SW_ASSERT_EQ_INT(FLAGS(SW_CMD_VERIFY, &o, msg, "-x"), SW_ERR_USAGE);
  sw_opts_free(&o);
}

SW_TEST(help_documents_the_unit_convention) {
  char buf[16384] = "";
  FILE *f = fmemopen(buf, sizeof buf - 1, "w");
  SW_ASSERT(f != NULL);
  sw_opts_print_help(SW_CMD_FETCH, f);
  fclose(f);
  SW_ASSERT_CONTAINS(buf, "K = 1024");
  SW_ASSERT_CONTAINS(buf, "90s, 5m, 1.5h, 2d");
  SW_ASSERT_CONTAINS(buf, "-q, --quiet");
  SW_ASSERT_CONTAINS(buf, "-v, --verbose");
  SW_ASSERT_CONTAINS(buf, "--seed-time SEC");
}
