/* swarmup seed: the products, from the --config file (global part, one
 * [section] each) and from the flags, each with its own options and keys;
 * started, dropped (SIGHUP, shutdown) and freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "seed_int.h"

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

/* Build the product list from the config file (sections "[label]") and the flags. */
sw_err sw__seed_load_products(seeder *sd, char *msg, size_t msglen) {
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

void sw__seed_products_start(seeder *sd) {
  for (size_t i = 0; i < sd->n_prod; i++) {
    sw__seed_prod_scan_store(sd->prod[i]);
    sw__seed_prod_poll(sd->prod[i]);
  }
}

void sw__seed_products_drop(seeder *sd) {
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
