/* fuzz_config.c - libFuzzer target for the --config parser
 * (sw_opts_parse_config, src/opts.h), for every command kind.
 *
 * Each run starts from a fresh sw_opts holding the defaults sw_opts_parse
 * applies, and frees it with sw_opts_free, so leaks of the string store show
 * up in LeakSanitizer. An accepted config for fetch/seed is also turned into
 * swarm settings, as the commands do (that parses --listen). For seed, every
 * "[label]" section is parsed too, as a layer over the global part. */
#include "fuzz_common.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "seedcfg.h"
#include "sw_err.h"
#include "sw_limits.h"
#include "swarm.h"
#include "swopts.h"

static void check_opt_str(const char *s) { CHECK(s == NULL || s[0] != 0); }

/* swarmup seed reads a config as global options, then one "[label]" section
 * per product (sw_seedcfg_split, src/seedcfg.h: the splitter src/seed_products.c uses),
 * each parsed as a next layer over the global part (src/seed_products.c, prod_new).
 * The split must describe ordered, in-bounds parts; every section body must be
 * accepted or refused with a message naming the file, and a section may set
 * again what the global part set. */
static void seed_sections(const uint8_t *data, size_t size) {
  static sw_seedcfg split;
  char msg[SW_MSG_MAX];
  size_t prev_end;
  msg[0] = 0;
  if (sw_seedcfg_split(data, size, "fuzz.conf", &split, msg, sizeof msg) != SW_OK) {
    check_msg(msg, sizeof msg);
    CHECK(strstr(msg, "fuzz.conf") != NULL);
    return;
  }
  CHECK(split.global_len <= size && split.n <= SW_SEEDCFG_SECTIONS_MAX);
  CHECK(split.n > 0 || split.global_len == size);
  prev_end = split.global_len;
  for (size_t i = 0; i < split.n; i++) {
    const sw_seedcfg_section *sec = &split.sec[i];
    sw_opts o;
    sw_err err;
    CHECK(prev_end <= sec->start && sec->start <= sec->end && sec->end <= size);
    CHECK(sec->label[0] != 0 && strlen(sec->label) <= SW_SEEDCFG_LABEL_MAX);
    CHECK(i + 1 < split.n || sec->end == size);
    prev_end = sec->end;
    sw_opts_defaults(&o);
    msg[0] = 0;
    if (sw_opts_parse_config(SW_CMD_SEED, "fuzz.conf", data, split.global_len, &o, msg, sizeof msg) == SW_OK) {
      sw_opts_new_config_layer(&o);
      err = sw_opts_parse_config(SW_CMD_SEED, "fuzz.conf [s]", data + sec->start, sec->end - sec->start, &o, msg,
                                 sizeof msg);
      if (err != SW_OK) {
        CHECK(err == SW_ERR_CONFIG || err == SW_ERR_NOMEM);
        check_msg(msg, sizeof msg);
        CHECK(strstr(msg, "fuzz.conf [s]") != NULL || err == SW_ERR_NOMEM);
      } else {
        CHECK(o.config == NULL);
        CHECK(o.threshold <= SW_THRESHOLD_MAX);
        CHECK(o.n_trusted_key <= SW_LIST_MAX);
      }
    }
    sw_opts_free(&o);
  }
}

static void one(enum sw_cmd cmd, const uint8_t *data, size_t size) {
  sw_opts o;
  sw_swarm_settings set;
  char msg[SW_MSG_MAX];
  sw_err err;

  sw_opts_defaults(&o);
  msg[0] = 0;
  err = sw_opts_parse_config(cmd, "fuzz.conf", data, size, &o, msg, sizeof msg);
  if (err != SW_OK) {
    CHECK(err == SW_ERR_CONFIG || err == SW_ERR_NOMEM);
    check_msg(msg, sizeof msg);
    CHECK(strstr(msg, "fuzz.conf") != NULL || err == SW_ERR_NOMEM);
    goto out;
  }
  CHECK(size <= SW_CONFIG_MAX);
  CHECK(o.n_trusted_key <= SW_LIST_MAX);
  for (size_t i = 0; i < o.n_trusted_key; i++) CHECK(o.trusted_key[i] != NULL && o.trusted_key[i][0] != 0);
  check_opt_str(o.manifest);
  check_opt_str(o.manifest_sig);
  check_opt_str(o.product);
  check_opt_str(o.channel);
  check_opt_str(o.state_dir);
  check_opt_str(o.out);
  check_opt_str(o.listen);
  check_opt_str(o.encryption);
  CHECK(o.config == NULL); /* a config file cannot name another */
  CHECK(o.threshold <= SW_THRESHOLD_MAX);
  CHECK(o.seed_ratio >= 0 && o.seed_ratio <= 1000);
  CHECK(o.upload_limit <= 4194304 && o.download_limit <= 4194304);
  if (cmd == SW_CMD_FETCH || cmd == SW_CMD_SEED) {
    err = sw_swarm_opts_to_settings(&o, &set, msg, sizeof msg);
    if (err != SW_OK) {
      CHECK(err == SW_ERR_USAGE);
      check_msg(msg, sizeof msg);
    } else {
      /* The configured KiB/s limit reaches libtorrent as bytes/s, not wrapped. */
      CHECK(set.upload_rate_limit >= 0 && (uint64_t)set.upload_rate_limit == o.upload_limit * 1024);
      CHECK(set.download_rate_limit >= 0 && (uint64_t)set.download_rate_limit == o.download_limit * 1024);
      CHECK(set.listen_interfaces != NULL && set.listen_interfaces[0] != 0);
    }
  }
  /* A next layer ([section] of swarmup seed) may set the same keys again. */
  sw_opts_new_config_layer(&o);
  (void)sw_opts_parse_config(cmd, "fuzz.conf", data, size, &o, msg, sizeof msg);
  if (cmd == SW_CMD_SEED) seed_sections(data, size);
out:
  sw_opts_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  one(SW_CMD_CHECK, data, size);
  one(SW_CMD_VERIFY, data, size);
  one(SW_CMD_FETCH, data, size);
  one(SW_CMD_SEED, data, size);
  return 0;
}
