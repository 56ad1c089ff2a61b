/* swarmup seed: for mirror operators. Keeps every configured product's
 * current releases verified and seeded, on one libuv loop.
 *
 * For each product: every --poll seconds the key statements are read and
 * walked again (with --trusted-keys; prod_keys), then the manifest is fetched
 * (over the loop's HTTPS client) and verified (thread pool) exactly as
 * `swarmup check` does, including the rollback state. A new release is
 * obtained into the store (STATE/<product>/<channel>/store/<sequence>/), from
 * --from FILE or from the swarm, and is seeded only after it passed the payload gate
 * (marked by the store's `verified` file). The last --keep releases stay;
 * older ones are removed from the session and the store.
 * SIGTERM/SIGINT stop cleanly (resume data saved); SIGHUP reloads --config. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "cmd.h"
#include "fsutil.h"
#include "gate.h"
#include "http.h"
#include "out.h"
#include "release.h"
#include "safedir.h"
#include "seed_int.h"
#include "seedcfg.h"
#include "seedrec.h"
#include "store.h"
#include "swarm.h"
#include "swopts.h"

void sw__seed_prod_free(seed_prod *p) {
  if (p == NULL) return;
  for (size_t i = 0; i < p->n_rel; i++) {
    if (p->rel[i]->t) sw_swarm_remove(p->rel[i]->t);
    sw__seed_rel_free(p->rel[i]);
  }
  sw_release_free(&p->r);
  sw_pgp_free(p->pgp);
  sw_opts_free(&p->o);
  free(p);
}

/* ---- configuration ------------------------------------------------------------- */

static sw_err prod_new(seeder *sd, const char *label, const uint8_t *global, size_t global_len, const uint8_t *section,
                       size_t section_len, const sw_opts *flags, seed_prod **out, char *msg, size_t msglen) {
  seed_prod *p = calloc(1, sizeof *p);
  char where[128];
  sw_err err;
  *out = NULL;
  if (p == NULL) return sw_fail(SW_ERR_NOMEM, msg, msglen, "out of memory");
  p->sd = sd;
  snprintf(p->label, sizeof p->label, "%s", label);
  /* Defaults, then the config's global part, then the section, then for the
   * product given by flags, the flags themselves. */
  {
    char *none[] = {NULL};
    err = sw_opts_parse(SW_CMD_SEED, 0, none, &p->o, msg, msglen);
  }
  snprintf(where, sizeof where, "%s", sd->config_path ? sd->config_path : "(flags)");
  if (!err && global) err = sw_opts_parse_config(SW_CMD_SEED, where, global, global_len, &p->o, msg, msglen);
  sw_opts_new_config_layer(&p->o);
  snprintf(where, sizeof where, "%s [%s]", sd->config_path ? sd->config_path : "", label);
  if (!err && section) err = sw_opts_parse_config(SW_CMD_SEED, where, section, section_len, &p->o, msg, msglen);
  /* --super-seed on the command line applies to every product. */
  if (sd->g.super_seed) p->o.super_seed = 1;
  if (!err && flags) {
    /* The product named by flags: take the manifest options from the flags. */
    p->o.manifest = flags->manifest;
    p->o.manifest_sig = flags->manifest_sig;
    p->o.product = flags->product;
    p->o.channel = flags->channel;
    p->o.from = flags->from;
    if (flags->n_trusted_key) {
      memcpy(p->o.trusted_key, flags->trusted_key, sizeof p->o.trusted_key);
      p->o.n_trusted_key = flags->n_trusted_key;
    }
    if (flags->trusted_keys) p->o.trusted_keys = flags->trusted_keys;
    if (flags->keys_url) p->o.keys_url = flags->keys_url;
    p->o.threshold = flags->threshold;
    err = sw_opts_check_trust(flags, msg, msglen);
  }
  /* Session-wide options always come from the seeder's own (flag-overridden) set. */
  p->o.poll = sd->g.poll;
  p->o.keep = sd->g.keep;
  p->o.state_dir = sd->statedir;
  p->o.ca_file = p->o.ca_file ? p->o.ca_file : sd->g.ca_file;
  if (!err) err = sw__cmd_check_names(&p->o, msg, msglen);
  if (!err && p->o.keep < 1) err = sw_fail(SW_ERR_USAGE, msg, msglen, "--keep must be at least 1");
  if (!err) err = sw_release_open_keys_at(&p->o, &p->pgp, &p->keys_version, msg, msglen);
  /* Uploads of earlier runs; an unreadable record only loses those counts. */
  if (!err && sw_seedrec_read(&sd->root, p->o.product, p->o.channel, &p->have_prev, &p->prev, NULL, 0) != SW_OK)
    p->have_prev = 0;
  if (err) {
    char inner[SW_MSG_MAX];
    snprintf(inner, sizeof inner, "%s", msg);
    sw_fail(err, msg, msglen, "product [%s]: %s", label, inner);
    sw__seed_prod_free(p);
    return err;
  }
  *out = p;
  return SW_OK;
}

/* Build the product list from the config file (sections "[label]") and the flags. */
static sw_err load_products(seeder *sd, char *msg, size_t msglen) {
  uint8_t *cfg = NULL;
  size_t cfg_len = 0, global_len = 0;
  sw_seedcfg split;
  sw_err err = SW_OK;

  if (sd->config_path) {
    err = sw_fs_read_file(sd->config_path, SW_CONFIG_MAX, SW_ERR_CONFIG, &cfg, &cfg_len, msg, msglen);
    if (err) return SW_ERR_CONFIG;
    /* The global part, then one "[label]" section per product (seedcfg.h). */
    err = sw_seedcfg_split(cfg, cfg_len, sd->config_path, &split, msg, msglen);
    if (err) goto out;
    global_len = split.global_len;
    for (size_t i = 0; i < split.n; i++) {
      seed_prod *p = NULL;
      err = prod_new(sd, split.sec[i].label, cfg, global_len, cfg + split.sec[i].start,
                     split.sec[i].end - split.sec[i].start, NULL, &p, msg, msglen);
      if (err) goto out;
      sd->prod[sd->n_prod++] = p;
    }
  }
  if (sd->g.manifest) {
    seed_prod *p = NULL;
    if (sd->n_prod >= SEED_PRODUCTS_MAX) {
      err = sw_fail(SW_ERR_CONFIG, msg, msglen, "too many products");
      goto out;
    }
    err = prod_new(sd, "flags", cfg, global_len, NULL, 0, &sd->g, &p, msg, msglen);
    if (err) goto out;
    sd->prod[sd->n_prod++] = p;
  }
  if (sd->n_prod == 0)
    err = sw_fail(SW_ERR_USAGE, msg, msglen,
                  "nothing to seed: give --manifest, --product and --trusted-key, or [sections] in --config");
out:
  free(cfg);
  return err;
}

static void products_start(seeder *sd) {
  for (size_t i = 0; i < sd->n_prod; i++) {
    sw__seed_prod_scan_store(sd->prod[i]);
    sw__seed_prod_poll(sd->prod[i]);
  }
}

static void products_drop(seeder *sd) {
  for (size_t i = 0; i < sd->n_prod; i++) {
    seed_prod *p = sd->prod[i];
    p->dead = 1;
    for (size_t k = 0; k < p->n_rel; k++)
      if (p->rel[k]->t) {
        sw__seed_rel_final_upload(p->rel[k]);
        sw_swarm_remove(p->rel[k]->t);
        p->rel[k]->t = NULL;
      }
    sw__seed_prod_write_rec(p, 0);
    if (p->busy == 0) sw__seed_prod_free(p);
  }
  sd->n_prod = 0;
}

/* ---- loop ------------------------------------------------------------------------ */

static void on_tick(uv_timer_t *h) {
  seeder *sd = h->data;
  uint64_t now = uv_now(&sd->loop);
  for (size_t i = 0; i < sd->n_prod; i++) {
    if (now >= sd->prod[i]->next_poll) sw__seed_prod_poll(sd->prod[i]);
    if (now - sd->prod[i]->rec_at >= SW_SEEDREC_EVERY_MS) sw__seed_prod_write_rec(sd->prod[i], 1);
  }
}

static void seeder_close_cb(uv_handle_t *h) { (void)h; }

static void seeder_shutdown(seeder *sd) {
  if (sd->closing) return;
  sd->closing = 1;
  products_drop(sd);
  uv_close((uv_handle_t *)&sd->tick, seeder_close_cb);
  uv_close((uv_handle_t *)&sd->s_int, seeder_close_cb);
  uv_close((uv_handle_t *)&sd->s_term, seeder_close_cb);
  uv_close((uv_handle_t *)&sd->s_hup, seeder_close_cb);
  if (sd->http) sw_http_free(sd->http);
  sd->http = NULL;
  if (sd->swarm) sw_swarm_free(sd->swarm);
  sd->swarm = NULL;
}

static void on_signal(uv_signal_t *h, int signum) {
  seeder *sd = h->data;
  char msg[SW_MSG_MAX];
  if (signum == SIGHUP) {
    sw__seed_log(sd, "reload", NULL, 0, "SIGHUP: reloading %s", sd->config_path ? sd->config_path : "(no config file)");
    products_drop(sd);
    if (load_products(sd, msg, sizeof msg) != SW_OK) {
      sw__seed_log(sd, "error", NULL, 0, "reload failed, seeding nothing until fixed: %s", msg);
      return;
    }
    products_start(sd);
    return;
  }
  sw__seed_log(sd, "stopped", NULL, 0, "signal %d: stopping", signum);
  seeder_shutdown(sd);
}

static void seed_help(void) {
  printf("usage: swarmup seed --manifest SRC (--trusted-key FILE | --trusted-keys FILE [--keys-url BASE])\n"
         "                    --product NAME [--from FILE] [options]\n"
         "       swarmup seed --config FILE [options]\n\n"
         "Seed every verified release of the configured products (for mirror operators).\n"
         "Each manifest is checked as `swarmup check` does, every --poll seconds; a new\n"
         "release is downloaded from the swarm (or adopted from --from FILE), must pass\n"
         "the payload gate, and is then seeded. The last --keep releases are kept.\n"
         "SIGTERM/SIGINT stop cleanly; SIGHUP reloads the config file.\n"
         "With --trusted-keys and --keys-url, key statements are walked at start, on\n"
         "SIGHUP, and at every poll before the polled manifest is judged (and once more\n"
         "at once when it is refused by its signature); the newest statement's expiry\n"
         "is judged at every poll. The walk is synchronous (seeding waits for it: at\n"
         "most 32 small fetches; one when nothing is new).\n\n"
         "A config file holds global `key = value` options, then one section per product:\n"
         "    listen = 6881\n"
         "    keep = 2\n"
         "    [hello]\n"
         "    manifest = https://updates.example/hello-stable.manifest\n"
         "    trusted-key = /etc/swarmup/keys/hello.asc\n"
         "    product = hello\n\n"
         "options:\n");
  sw_opts_print_help(SW_CMD_SEED, stdout);
  printf("\nexit status: 0 stopped by a signal, 2 usage or configuration, 3 a key statement\n"
         "refused at start, 1 other failure.\n");
}

int sw_cmd_seed(int argc, char **argv) {
  seeder *sd = calloc(1, sizeof *sd);
  sw_swarm_settings ss;
  sw_swarm_callbacks cb;
  sw_http_opts ho;
  char msg[SW_MSG_MAX] = "";
  sw_err err;
  int rc = 1, loop_ok = 0;

  if (sd == NULL) return sw_report_error(0, "seed", SW_ERR_NOMEM, "out of memory");
  sw_dir_init(&sd->root);
  err = sw_opts_parse(SW_CMD_SEED, argc, argv, &sd->g, msg, sizeof msg);
  if (err) goto fail;
  if (sd->g.help) {
    seed_help();
    rc = 0;
    goto out;
  }
  if (sd->g.n_args) {
    err = sw_fail(SW_ERR_USAGE, msg, sizeof msg, "unexpected argument \"%.60s\"", sd->g.args[0]);
    goto fail;
  }
  sd->config_path = sd->g.config;
  if (sd->g.state_dir) snprintf(sd->statedir, sizeof sd->statedir, "%s", sd->g.state_dir);
  else if (sw_state_default_dir(sd->statedir, sizeof sd->statedir) != SW_OK) {
    err = sw_fail(SW_ERR_CONFIG, msg, sizeof msg, "no state dir: set --state-dir or HOME");
    goto fail;
  }
  err = sw_swarm_opts_to_settings(&sd->g, &ss, msg, sizeof msg);
  if (err) goto fail;
  err = sw_dir_open_root(&sd->root, sd->statedir, 1, msg, sizeof msg);
  if (err) goto fail;
  err = load_products(sd, msg, sizeof msg);
  if (err) goto fail;
  /* One session serves every product: if any super-seeds, the session keeps libtorrent's
   * fixed unchoke slots (swarm.h says why). A product made super-seeding by a later SIGHUP
   * reload gets the choker the session started with. */
  for (size_t i = 0; i < sd->n_prod; i++)
    if (sd->prod[i]->o.super_seed) ss.fixed_slots_choker = 1;

  if (uv_loop_init(&sd->loop) != 0) {
    err = sw_fail(SW_ERR_INTERNAL, msg, sizeof msg, "uv_loop_init failed");
    goto fail;
  }
  loop_ok = 1;
  memset(&ho, 0, sizeof ho);
  ho.ca_file = sd->g.ca_file;
  err = sw_http_new(&sd->http, &sd->loop, &ho, msg, sizeof msg);
  if (err) goto fail;
  memset(&cb, 0, sizeof cb);
  cb.arg = sd;
  cb.on_finished = sw__seed_on_finished;
  cb.on_error = sw__seed_on_error;
  cb.on_status = sw__seed_on_status;
  err = sw_swarm_new(&sd->loop, &ss, &cb, &sd->swarm, msg, sizeof msg);
  if (err) {
    sw_http_free(sd->http);
    sd->http = NULL;
    goto fail;
  }
  uv_timer_init(&sd->loop, &sd->tick);
  uv_signal_init(&sd->loop, &sd->s_int);
  uv_signal_init(&sd->loop, &sd->s_term);
  uv_signal_init(&sd->loop, &sd->s_hup);
  sd->tick.data = sd->s_int.data = sd->s_term.data = sd->s_hup.data = sd;
  uv_signal_start(&sd->s_int, on_signal, SIGINT);
  uv_signal_start(&sd->s_term, on_signal, SIGTERM);
  uv_signal_start(&sd->s_hup, on_signal, SIGHUP);
  uv_timer_start(&sd->tick, on_tick, 1000, 1000);
  sw__seed_log(sd, "started", NULL, 0, "seeding %zu product(s), listening on port %d, state in %s", sd->n_prod,
               sw_swarm_listen_port(sd->swarm), sd->statedir);
  products_start(sd);
  uv_run(&sd->loop, UV_RUN_DEFAULT);
  rc = 0;
  goto out;
fail:
  rc = sw_report_error(sd->g.json, "seed", err, msg);
out:
  if (loop_ok) {
    if (!sd->closing && (sd->http || sd->swarm)) seeder_shutdown(sd);
    uv_run(&sd->loop, UV_RUN_DEFAULT);
    uv_loop_close(&sd->loop);
  }
  products_drop(sd);
  sw_dir_close(&sd->root);
  sw_opts_free(&sd->g);
  free(sd);
  return rc;
}
