/* swarmup verify: the payload gate on local files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "fsutil.h"
#include "gate.h"
#include "out.h"
#include "release.h"

static void sw__verify_help(void) {
  printf("usage: swarmup verify --manifest SRC (--trusted-key FILE | --trusted-keys FILE [--keys-url BASE])\n"
         "                     --product NAME [options] FILE...\n\n"
         "Check that each FILE is exactly the release a signed manifest names: its size\n"
         "equals Size, its SHA-256 equals SHA256 and the manifest's Signature (a detached\n"
         "OpenPGP signature of the file) verifies against the pinned key(s). Hashing and\n"
         "signature checking share one read of the file. The manifest's signature, product\n"
         "and channel are checked; the state dir is not consulted or changed, and an\n"
         "expired manifest is still good for telling what a file is (a warning is printed).\n\n"
         "options:\n");
  sw_opts_print_help(SW_CMD_VERIFY, stdout);
  printf("\nexit status: 0 every file is the signed release, 5 a file is not,\n"
         "3 manifest or key statement rejected, 2 usage or configuration, 1 other failure.\n");
}

int sw_cmd_verify(int argc, char **argv) {
  sw_opts o;
  sw_pgp *pgp = NULL;
  sw_release r;
  sw_gate_verdict *v = NULL;
  char msg[SW_MSG_MAX] = "";
  sw_err err;
  int rc = 1, rejected = 0;

  memset(&r, 0, sizeof r);
  err = sw_opts_parse(SW_CMD_VERIFY, argc, argv, &o, msg, sizeof msg);
  if (err) goto fail;
  if (o.help) {
    sw__verify_help();
    rc = 0;
    goto out;
  }
  err = sw__cmd_check_names(&o, msg, sizeof msg);
  if (err) goto fail;
  if (o.n_args == 0) {
    err = sw_fail(SW_ERR_USAGE, msg, sizeof msg, "no FILE to verify");
    goto fail;
  }
  err = sw_release_open_keys(&o, &pgp, msg, sizeof msg);
  if (err) goto fail;
  err = sw_release_load(&o, pgp, &r, msg, sizeof msg);
  if (err) goto fail;
  if (strcmp(r.m->product, o.product) != 0 || strcmp(r.m->channel, o.channel) != 0) {
    err = sw_fail(SW_ERR_MANIFEST_POLICY, msg, sizeof msg,
                  "manifest rejected: it is for %s/%s, expected %s/%s", r.m->product, r.m->channel,
                  o.product, o.channel);
    goto fail;
  }
  if (r.m->expires <= (int64_t)time(NULL) && !o.json) /* a warning: printed even with -q */
    fprintf(stderr, "swarmup verify: warning: the manifest has expired (a newer release may exist)\n");
  v = calloc(1, sizeof *v);
  if (v == NULL) {
    err = sw_fail(SW_ERR_NOMEM, msg, sizeof msg, "out of memory");
    goto fail;
  }
  for (int i = 0; i < o.n_args; i++) {
    const char *path = o.args[i];
    err = sw_gate_check_path(pgp, r.m, path, (unsigned)o.threshold, v);
    if (err) {
      err = sw_fail(err, msg, sizeof msg, "%s: could not check: %s", path, v->reason);
      goto fail;
    }
    if (o.json) {
      sw_json j;
      sw_json_begin(&j, stdout);
      sw_json_str(&j, "event", "verify");
      sw_json_str(&j, "file", path);
      sw_json_bool(&j, "accepted", v->accepted);
      sw_json_str(&j, "product", r.m->product);
      sw_json_str(&j, "version", r.m->version);
      sw_json_u64(&j, "sequence", r.m->sequence);
      if (!v->accepted) sw_json_str(&j, "reason", v->reason);
      sw_json_end(&j);
    } else if (v->accepted) {
      if (!o.quiet)
        printf("ok: %s is %s %s (sequence %llu), signed by %s\n", path, r.m->product, r.m->version,
               (unsigned long long)r.m->sequence, v->pgp.signer[0]);
      if (o.verbose) {
        char sha[65];
        sw_hex(r.m->sha256, 32, sha);
        printf("  file %s, %llu bytes, SHA-256 %s\n", r.m->file, (unsigned long long)r.m->size, sha);
        for (unsigned k = 1; k < v->pgp.n_good && k < SW_THRESHOLD_MAX; k++) printf("  also signed by %s\n", v->pgp.signer[k]);
      }
    } else {
      fprintf(stderr, "swarmup verify: payload rejected: %s: %s\n", path, v->reason);
    }
    if (!v->accepted) rejected++;
  }
  rc = rejected ? sw_err_exit_code(SW_ERR_PAYLOAD) : 0;
  goto out;
fail:
  rc = sw_report_error(o.json, "verify", err, msg);
out:
  free(v);
  sw_release_free(&r);
  sw_pgp_free(pgp);
  sw_opts_free(&o);
  return rc;
}
