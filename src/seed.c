/* swarmup seed: for mirror operators. Keeps every configured product's
 * current releases verified and seeded, on one libuv loop.
 *
 * For each product: every --poll seconds the key statements are read and
 * walked again (with --trusted-keys; seed_poll.c), then the manifest is fetched
 * (over the loop's HTTPS client) and verified (thread pool) exactly as
 * `swarmup check` does, including the rollback state. A new release is
 * obtained into the store (STATE/<product>/<channel>/store/<sequence>/), from
 * --from FILE or from the swarm, and is seeded only after it passed the payload gate
 * (marked by the store's `verified` file). The last --keep releases stay;
 * older ones are removed from the session and the store.
 * SIGTERM/SIGINT stop cleanly (resume data saved); SIGHUP reloads --config.
 *
 * This file: --help, the options, the setup, the loop's clock tick, the signals
 * and the shutdown; each concern is in its own seed_*.c (seed_int.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "out.h"
#include "seed_int.h"
#include "swopts.h"

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
  sw__seed_products_drop(sd);
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
    sw__seed_products_drop(sd);
    if (sw__seed_load_products(sd, msg, sizeof msg) != SW_OK) {
      sw__seed_log(sd, "error", NULL, 0, "reload failed, seeding nothing until fixed: %s", msg);
      return;
    }
    sw__seed_products_start(sd);
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
  err = sw__seed_load_products(sd, msg, sizeof msg);
  if (err) goto fail;

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
  sw__seed_products_start(sd);
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
  sw__seed_products_drop(sd);
  sw_dir_close(&sd->root);
  sw_opts_free(&sd->g);
  free(sd);
  return rc;
}
