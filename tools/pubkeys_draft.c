/* pubkeys_draft.c - `swarmup-publish keys init` (statement 1, the anchor
 * shipped with the application) and `keys rotate` (the draft N+1 from N: keys
 * added and dropped, the next keys, sequence floors), on the online machine.
 * The Keyring is exported from the gpg home and listed back (pubkeys_gpg.c);
 * the text is checked by parsing it back (pubkeys_stmt.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsutil.h"
#include "manifest.h"
#include "pubkeys.h"
#include "pubutil.h"

/* "CH=N" arguments joined with spaces; the parser judges the values. Only
 * printable, space-free text gets in, so no argument can add a line. */
static int join_floors(const sw__pub_keys_opts *o, char *out, size_t cap) {
  size_t n = 0;
  out[0] = 0;
  for (size_t i = 0; i < o->n_floor; i++) {
    const char *s = o->floor[i], *eq = strchr(s, '=');
    for (const char *p = s; *p; p++)
      if (*p <= 0x20 || *p >= 0x7f) return sw__pub_die(2, "--sequence-floor \"%.60s\": expected CH=N", s);
    if (eq == NULL || eq == s || !sw_manifest_name_ok(s, (size_t)(eq - s)))
      return sw__pub_die(2, "--sequence-floor \"%.60s\": expected CH=N with a channel name", s);
    n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", i ? " " : "", s);
    if (n >= cap) return sw__pub_die(2, "too many --sequence-floor");
  }
  return 0;
}

/* The --next keys (distinct) and --next-threshold (default 1) into k, whose
 * Key list is complete. */
static int add_next(const sw__pub_keys_opts *o, sw_keys *k) {
  int rc;
  for (size_t i = 0; i < o->n_next; i++) {
    rc = sw__pub_keys_add_fpr(k->next, &k->n_next, o->next[i], "--next");
    if (rc) return rc;
    if (sw_keys_has(k->key, k->n_key, k->next[k->n_next - 1]))
      /* Allowed, but a thief of the current keys then holds the rotation too. */
      fprintf(stderr, "swarmup-publish: warning: %s is both a Key and a Next: keep the next key apart\n",
              k->next[k->n_next - 1]);
  }
  if (k->n_next) {
    k->next_threshold = 1;
    if (o->next_threshold) return sw__pub_keys_count(o->next_threshold, "--next-threshold", &k->next_threshold);
  }
  return 0;
}

/* k's Keyring: exactly its Key and Next primaries, exported from homedir. */
static int export_key_next(const char *homedir, sw_keys *k) {
  char all[2 * SW_KEYS_FPR_MAX][41];
  size_t n = 0;
  for (size_t i = 0; i < k->n_key; i++) memcpy(all[n++], k->key[i], 41);
  for (size_t i = 0; i < k->n_next; i++) memcpy(all[n++], k->next[i], 41);
  return sw__pub_keys_export_ring(homedir, (const char(*)[41])all, n, k);
}

static void print_written(const char *dir, const char *name, const sw_keys *k) {
  printf("wrote:    %s/%s (statement %" PRIu64 " of %s)\n", dir, name, k->version, k->product);
  printf("next: carry it to the offline machine and run\n"
         "  swarmup-publish keys sign --draft %s/%s --key FPR...\n",
         dir, name);
}

int sw__pub_keys_init(sw__pub_keys_opts *o) {
  char dir[2048], *text = NULL, floors[1] = {0};
  sw_keys *k = NULL;
  sw__pub_ring_list *rl = NULL;
  int64_t days = 0, now = (int64_t)time(NULL);
  size_t len = 0;
  int rc = 1;

  if (o->product == NULL || o->n_key == 0)
    return sw__pub_die(2, "keys init needs --product, --key and --expires-days (see keys init --help)");
  if (!sw_manifest_name_ok(o->product, strlen(o->product))) return sw__pub_die(2, "bad --product name");
  if (sw__pub_keys_days(o->expires_days, &days)) return 2;
  if (o->next_threshold && o->n_next == 0) return sw__pub_die(2, "--next-threshold needs --next");
  k = calloc(1, sizeof *k);
  rl = calloc(1, sizeof *rl);
  text = malloc(SW_KEYS_STMT_MAX + 1);
  if (k == NULL || rl == NULL || text == NULL) {
    rc = sw__pub_die(1, "out of memory");
    goto out;
  }
  snprintf(k->product, sizeof k->product, "%s", o->product);
  k->version = 1;
  k->date = now;
  k->expires = now + days;
  k->threshold = 1;
  if (o->threshold) {
    rc = sw__pub_keys_count(o->threshold, "--threshold", &k->threshold);
    if (rc) goto out;
  }
  for (size_t i = 0; i < o->n_key; i++) {
    rc = sw__pub_keys_add_fpr(k->key, &k->n_key, o->key[i], "--key");
    if (rc) goto out;
  }
  rc = add_next(o, k);
  if (rc) goto out;
  if (k->threshold > k->n_key) {
    rc = sw__pub_die(2, "--threshold %u is more than the %zu keys given", k->threshold, k->n_key);
    goto out;
  }
  if (k->next_threshold > k->n_next) {
    rc = sw__pub_die(2, "--next-threshold %u is more than the %zu next keys given", k->next_threshold, k->n_next);
    goto out;
  }
  rc = export_key_next(o->homedir, k);
  if (rc) goto out;
  rc = sw__pub_keys_check_ring(o->homedir, k, rl);
  if (rc) goto out;
  rc = sw__pub_keys_build(k, floors, text, SW_KEYS_STMT_MAX + 1, &len);
  if (rc) goto out;
  if (o->out) snprintf(dir, sizeof dir, "%s", o->out);
  else snprintf(dir, sizeof dir, "%s.keys", o->product);
  {
    char msg[SW_MSG_MAX];
    if (sw_fs_mkdirs(dir, 0755, msg, sizeof msg) != SW_OK) {
      rc = sw__pub_die(1, "%s", msg);
      goto out;
    }
  }
  rc = sw__pub_keys_save(dir, "1.keys", text, len);
  if (rc) goto out;
  print_written(dir, "1.keys", k);
  rc = 0;
out:
  free(k);
  free(rl);
  free(text);
  return rc;
}

int sw__pub_keys_rotate(sw__pub_keys_opts *o) {
  char dir[2048], name[256], floors[SW_KEYS_FLOOR_MAX * (SW_CHANNEL_MAX + 24)], want[64], *text = NULL;
  sw_keys *prev = NULL, *k = NULL;
  sw__pub_ring_list *rl = NULL;
  int64_t days = 0, now = (int64_t)time(NULL);
  size_t len = 0;
  int rc = 1;

  if (o->from == NULL)
    return sw__pub_die(2, "keys rotate needs --from N.keys and --expires-days (see keys rotate --help)");
  if (sw__pub_keys_days(o->expires_days, &days)) return 2;
  if (o->next_threshold && o->n_next == 0) return sw__pub_die(2, "--next-threshold needs --next");
  rc = join_floors(o, floors, sizeof floors);
  if (rc) return rc;
  prev = calloc(1, sizeof *prev);
  k = calloc(1, sizeof *k);
  rl = calloc(1, sizeof *rl);
  text = malloc(SW_KEYS_STMT_MAX + 1);
  if (prev == NULL || k == NULL || rl == NULL || text == NULL) {
    rc = sw__pub_die(1, "out of memory");
    goto out;
  }
  rc = sw__pub_keys_read(o->from, prev);
  if (rc) goto out;
  /* The client fetches BASE/N.keys: a file named otherwise is probably not the one meant. */
  snprintf(want, sizeof want, "%" PRIu64 ".keys", prev->version);
  if (strcmp(sw__pub_base_name(o->from), want) != 0) {
    rc = sw__pub_die(2, "%s holds statement %" PRIu64 ", so it should be named %s", o->from, prev->version, want);
    goto out;
  }
  if (prev->version == UINT64_MAX) {
    rc = sw__pub_die(2, "statement %" PRIu64 " has no successor", prev->version);
    goto out;
  }
  memcpy(k->product, prev->product, sizeof k->product);
  k->version = prev->version + 1;
  k->date = now;
  k->expires = now + days;
  k->threshold = prev->threshold;
  if (o->threshold) {
    rc = sw__pub_keys_count(o->threshold, "--threshold", &k->threshold);
    if (rc) goto out;
  }
  {
    char drop[SW_KEYS_FPR_MAX][41];
    size_t n_drop = 0;
    for (size_t i = 0; i < o->n_drop; i++) {
      rc = sw__pub_keys_add_fpr(drop, &n_drop, o->drop[i], "--drop");
      if (rc) goto out;
      if (!sw_keys_has(prev->key, prev->n_key, drop[n_drop - 1])) {
        rc = sw__pub_die(2, "--drop %s: not a Key of statement %" PRIu64, drop[n_drop - 1], prev->version);
        goto out;
      }
    }
    for (size_t i = 0; i < prev->n_key; i++)
      if (!sw_keys_has(drop, n_drop, prev->key[i])) memcpy(k->key[k->n_key++], prev->key[i], 41);
    for (size_t i = 0; i < o->n_key; i++) {
      char f[41];
      if (sw__pub_keys_fpr_norm(o->key[i], f) == 0 && sw_keys_has(k->key, k->n_key, f)) {
        rc = sw__pub_die(2, "--key %s is already a Key of statement %" PRIu64, f, prev->version);
        goto out;
      }
      if (sw__pub_keys_fpr_norm(o->key[i], f) == 0 && sw_keys_has(drop, n_drop, f)) {
        rc = sw__pub_die(2, "%s is given with both --key and --drop", f);
        goto out;
      }
      rc = sw__pub_keys_add_fpr(k->key, &k->n_key, o->key[i], "--key");
      if (rc) goto out;
    }
  }
  rc = add_next(o, k);
  if (rc) goto out;
  if (k->n_key > 0 && k->threshold > k->n_key) {
    rc = sw__pub_die(2, "Threshold %u is more than the %zu keys left: give --threshold", k->threshold, k->n_key);
    goto out;
  }
  if (k->next_threshold > k->n_next) {
    rc = sw__pub_die(2, "--next-threshold %u is more than the %zu next keys given", k->next_threshold, k->n_next);
    goto out;
  }
  if (k->n_key + k->n_next == 0) {
    /* Rotation to null with no Next: nothing could ever sign statement N+2. */
    rc = sw__pub_die(2, "the statement would have no Key and no Next: nothing could ever follow it");
    goto out;
  }
  rc = export_key_next(o->homedir, k);
  if (rc) goto out;
  rc = sw__pub_keys_check_ring(o->homedir, k, rl);
  if (rc) goto out;
  rc = sw__pub_keys_build(k, floors, text, SW_KEYS_STMT_MAX + 1, &len);
  if (rc) goto out;
  if (o->out) {
    sw__pub_dir_of(o->out, dir, sizeof dir);
    snprintf(name, sizeof name, "%s", sw__pub_base_name(o->out));
  } else {
    sw__pub_dir_of(o->from, dir, sizeof dir);
    snprintf(name, sizeof name, "%" PRIu64 ".keys", k->version);
  }
  rc = sw__pub_keys_save(dir, name, text, len);
  if (rc) goto out;
  print_written(dir, name, k);
  rc = 0;
out:
  free(prev);
  free(k);
  free(rl);
  free(text);
  return rc;
}
