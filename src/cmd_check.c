/* swarmup check: is there an authentic, fresh, newer release? */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "fsutil.h"
#include "out.h"
#include "release.h"

static void sw__check_help(void) {
  printf("usage: swarmup check --manifest SRC (--trusted-key FILE | --trusted-keys FILE [--keys-url BASE])\n"
         "                     --product NAME [options]\n\n"
         "Fetch and verify a signed manifest and say whether an update is available.\n"
         "The manifest must carry a good signature by the pinned key(s), name the\n"
         "expected product and channel, not be expired or dated in the future, and\n"
         "be newer than (or identical to) the last one accepted in the state dir.\n"
         "An accepted newer manifest is recorded, so older ones are refused from then on.\n\n"
         "options:\n");
  sw_opts_print_help(SW_CMD_CHECK, stdout);
  printf("\nexit status: 0 up to date, %d update available (as dnf check-update),\n"
         "2 usage or configuration, 3 manifest or key statement rejected, 4 manifest\n"
         "could not be downloaded (nothing accepted before), 6 stale: no fresh manifest\n"
         "(withheld, unreachable or expired) since the last successful check, 7 the\n"
         "clock is behind the latest known time (set back?), 1 other failure.\n", SW_EXIT_UPDATE_AVAILABLE);
}

/* Names given by the user become state paths: check them like the manifest's. */
sw_err sw__cmd_check_names(const sw_opts *o, char *msg, size_t msglen) {
  if (o->product == NULL) return sw_fail(SW_ERR_USAGE, msg, msglen, "--product is required");
  if (!sw_manifest_name_ok(o->product, strlen(o->product)))
    return sw_fail(SW_ERR_USAGE, msg, msglen, "--product \"%.64s\" is not a valid name ([a-z0-9][a-z0-9._-]*)",
                   o->product);
  if (!sw_manifest_name_ok(o->channel, strlen(o->channel)))
    return sw_fail(SW_ERR_USAGE, msg, msglen, "--channel \"%.64s\" is not a valid name ([a-z0-9][a-z0-9._-]*)",
                   o->channel);
  sw_err err = sw_opts_check_trust(o, msg, msglen);
  if (err) return err;
  if (o->threshold < 1) return sw_fail(SW_ERR_USAGE, msg, msglen, "--threshold must be at least 1");
  if (o->manifest == NULL) return sw_fail(SW_ERR_USAGE, msg, msglen, "--manifest is required");
  return SW_OK;
}

int sw__report_stale(const char *command, const sw_opts *o, const sw_state_rec *rec, const char *message) {
  sw_release_stale_info info;
  char since[21], until[21];
  if (!o->json) return sw_report_error(0, command, SW_ERR_STALE, message);
  sw_release_stale_info_of(o, rec, sw_release_now(), &info);
  if (info.since != SW_STATE_TIME_UNKNOWN) sw_manifest_format_time(info.since, since);
  if (info.valid_until != SW_STATE_TIME_UNKNOWN) sw_manifest_format_time(info.valid_until, until);
  sw_json j;
  sw_json_begin(&j, stdout);
  sw_json_str(&j, "event", command);
  sw_json_str(&j, "status", "stale");
  sw_json_str(&j, "product", o->product);
  sw_json_str(&j, "channel", o->channel);
  sw_json_u64(&j, "sequence", rec->sequence);
  sw_json_str(&j, "version", rec->version);
  sw_json_str(&j, "no_fresh_since", info.since != SW_STATE_TIME_UNKNOWN ? since : NULL);
  sw_json_str(&j, "valid_until", info.valid_until != SW_STATE_TIME_UNKNOWN ? until : NULL);
  sw_json_bool(&j, "expired", info.expired);
  sw_json_str(&j, "error", sw_err_name(SW_ERR_STALE));
  sw_json_i64(&j, "exit", sw_err_exit_code(SW_ERR_STALE));
  sw_json_str(&j, "message", message);
  sw_json_end(&j);
  return sw_err_exit_code(SW_ERR_STALE);
}

int sw_cmd_check(int argc, char **argv) {
  sw_opts o;
  sw_pgp *pgp = NULL;
  sw_state *st = NULL;
  sw_release r;
  sw_state_rec rec;
  sw_fresh fresh = SW_FRESH_REJECTED;
  char msg[SW_MSG_MAX] = "", statedir[2048], date[21], expires[21];
  sw_err err;
  int rc = 1, available;

  memset(&r, 0, sizeof r);
  err = sw_opts_parse(SW_CMD_CHECK, argc, argv, &o, msg, sizeof msg);
  if (err) goto fail;
  if (o.help) {
    sw__check_help();
    rc = 0;
    goto out;
  }
  if (o.n_args) {
    err = sw_fail(SW_ERR_USAGE, msg, sizeof msg, "unexpected argument \"%.60s\"", o.args[0]);
    goto fail;
  }
  err = sw__cmd_check_names(&o, msg, sizeof msg);
  if (err) goto fail;
  if (o.state_dir == NULL) {
    if (sw_state_default_dir(statedir, sizeof statedir) != SW_OK) {
      err = sw_fail(SW_ERR_CONFIG, msg, sizeof msg, "no state dir: set --state-dir or HOME");
      goto fail;
    }
    o.state_dir = statedir;
  }
  err = sw_release_open_keys(&o, &pgp, msg, sizeof msg);
  if (err) goto fail;
  memset(&rec, 0, sizeof rec);
  err = sw_release_load(&o, pgp, &r, msg, sizeof msg);
  if (err) err = sw_release_unavailable(&o, &st, &rec, err, msg, sizeof msg);
  if (err) goto fail;
  err = sw_state_open(&st, o.state_dir, msg, sizeof msg);
  if (err) goto fail;
  err = sw_release_check_fresh(&o, st, &r, &fresh, &rec, msg, sizeof msg);
  if (err) goto fail;
  /* Newer: keep it and make it the accepted one; the same: note the check
   * (best effort: on a full disk the answer is still right, only the latest
   * known time does not move). */
  if (fresh == SW_FRESH_NEWER) {
    err = sw_release_record(st, &r, &rec, msg, sizeof msg);
    if (err) goto fail;
  } else {
    sw_release_note_saved(st, &o, &rec, "check");
  }
  available = r.m->sequence > rec.installed_sequence;
  sw_manifest_format_time(r.m->date, date);
  sw_manifest_format_time(r.m->expires, expires);
  if (o.json) {
    sw_json j;
    const char *signers[SW_THRESHOLD_MAX];
    char sha[65];
    for (unsigned i = 0; i < r.pgp.n_good && i < SW_THRESHOLD_MAX; i++) signers[i] = r.pgp.signer[i];
    sw_hex(r.m->sha256, 32, sha);
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "event", "check");
    sw_json_str(&j, "status", available ? "update-available" : "up-to-date");
    sw_json_str(&j, "product", r.m->product);
    sw_json_str(&j, "channel", r.m->channel);
    sw_json_str(&j, "version", r.m->version);
    sw_json_u64(&j, "sequence", r.m->sequence);
    sw_json_bool(&j, "new_manifest", fresh == SW_FRESH_NEWER);
    sw_json_u64(&j, "installed_sequence", rec.installed_sequence);
    sw_json_str(&j, "installed_version", rec.installed_sequence ? rec.installed_version : NULL);
    sw_json_str(&j, "file", r.m->file);
    sw_json_u64(&j, "size", r.m->size);
    sw_json_str(&j, "sha256", sha);
    sw_json_str(&j, "date", date);
    sw_json_str(&j, "expires", expires);
    sw_json_strs(&j, "signers", signers, r.pgp.n_good);
    sw_json_end(&j);
  } else if (o.quiet) {
    /* -q: the exit status is the answer (0 up to date, 100 update available). */
  } else {
    if (available)
      printf("update available: %s %s (sequence %llu, %s, %llu bytes, expires %s)\n", r.m->product, r.m->version,
             (unsigned long long)r.m->sequence, r.m->file, (unsigned long long)r.m->size, expires);
    else
      printf("up to date: %s %s (sequence %llu)\n", r.m->product, r.m->version, (unsigned long long)r.m->sequence);
    if (o.verbose) {
      char sha[65];
      sw_hex(r.m->sha256, 32, sha);
      printf("  manifest dated %s, expires %s%s\n", date, expires, fresh == SW_FRESH_NEWER ? " (new)" : "");
      printf("  file %s, %llu bytes, SHA-256 %s\n", r.m->file, (unsigned long long)r.m->size, sha);
      for (unsigned i = 0; i < r.pgp.n_good && i < SW_THRESHOLD_MAX; i++) printf("  signed by %s\n", r.pgp.signer[i]);
      if (rec.installed_sequence)
        printf("  installed: %s (sequence %llu)\n", rec.installed_version, (unsigned long long)rec.installed_sequence);
      printf("  state dir %s\n", o.state_dir);
    }
  }
  /* Its own code, so that a script needs no text to tell the two apart. */
  rc = available ? SW_EXIT_UPDATE_AVAILABLE : 0;
  goto out;
fail:
  if (err == SW_ERR_STALE) rc = sw__report_stale("check", &o, &rec, msg);
  else rc = sw_report_error(o.json, "check", err, msg);
out:
  sw_state_close(st);
  sw_release_free(&r);
  sw_pgp_free(pgp);
  sw_opts_free(&o);
  return rc;
}
