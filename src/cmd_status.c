/* swarmup status: what the state dir says, per product and channel.
 *
 * Read-only and without the lock (a fetch may hold it for minutes; every file
 * read here is written atomically): nothing is created, migrated or saved.
 * The state dir and every directory below it that is read are opened and
 * checked as for writing (safedir.h: owned by us, not writable by others,
 * never through a symlink), and files are opened relative to them with
 * O_NOFOLLOW (sw_fs_read_at). Channels are the directories
 * STATE/<product>/<channel> with valid names, and those STATE/known lists. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "fsutil.h"
#include "keystore.h"
#include "manifest.h"
#include "out.h"
#include "release.h"
#include "safedir.h"
#include "seedrec.h"
#include "state.h"

#define ST_CHANNELS_MAX 1024u /* channels listed (STATE/known holds at most about 500) */
#define ST_STALE_RECORD_S 60  /* a seeding record older than this is from a seeder that is gone */

typedef struct st_chan {
  char product[SW_PRODUCT_MAX + 1];
  char channel[SW_CHANNEL_MAX + 1];
} st_chan;

typedef struct st_list {
  st_chan *c;
  size_t n;
} st_list;

typedef struct st_store {
  uint64_t releases, verified, bytes;
} st_store;

static void status_help(void) {
  printf("usage: swarmup status [--state-dir DIR] [--product NAME] [--channel NAME] [--json]\n\n"
         "Show what the state dir records, per product and channel: the installed and the\n"
         "last accepted release (version and sequence), when a manifest was last checked,\n"
         "until when the accepted manifest is valid and whether it is stale (expired:\n"
         "`check` and `fetch` would exit 6 without a fresh one), the newest key statement,\n"
         "what a `swarmup seed` using this state dir seeds and has sent (its record,\n"
         "rewritten every 10 s), and the size of the release store.\n"
         "Nothing is written and no lock is taken. The state dir must be yours (as for\n"
         "every command): read the seeding daemon's with\n"
         "  runuser -u _swarmup -- swarmup status --state-dir /var/lib/swarmup-seed\n"
         "Every channel is shown unless --product or --channel names one.\n\n"
         "options:\n");
  sw_opts_print_help(SW_CMD_STATUS, stdout);
  printf("\nWith --json: one object per line, {\"type\": \"channel\", ...} per channel,\n"
         "{\"type\": \"release\", ...} per release being seeded, and a last\n"
         "{\"type\": \"summary\", \"channels\", \"stale\", \"errors\", \"exit\"}.\n"
         "\nexit status: 0 ok (also: nothing recorded yet), 6 at least one channel is stale,\n"
         "1 a record could not be read (corrupt, missing), 2 usage or an unsafe state dir.\n");
}

static int st_has(const st_list *l, const char *product, const char *channel) {
  for (size_t i = 0; i < l->n; i++)
    if (!strcmp(l->c[i].product, product) && !strcmp(l->c[i].channel, channel)) return 1;
  return 0;
}

static int st_add(st_list *l, const sw_opts *o, const char *product, size_t plen, const char *channel,
                  size_t clen) {
  st_chan *c;
  if (!sw_manifest_name_ok(product, plen) || !sw_manifest_name_ok(channel, clen)) return 0;
  if (l->n >= ST_CHANNELS_MAX) return -1;
  c = &l->c[l->n];
  memcpy(c->product, product, plen);
  c->product[plen] = 0;
  memcpy(c->channel, channel, clen);
  c->channel[clen] = 0;
  if (o->product && strcmp(o->product, c->product)) return 0;
  if (sw_opts_given(o, "channel") && strcmp(o->channel, c->channel)) return 0;
  if (st_has(l, c->product, c->channel)) return 0;
  l->n++;
  return 0;
}

/* Call fn(arg, name) for every entry of d that is a directory (not a symlink). */
static sw_err st_subdirs(const sw_dir *d, void (*fn)(void *, const char *), void *arg, char *msg, size_t msglen) {
  struct dirent *e;
  struct stat sb;
  DIR *dir;
  int fd = fcntl(d->fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
    if (fd >= 0) close(fd);
    return sw_fail(SW_ERR_IO, msg, msglen, "%s: %s", d->path, strerror(errno));
  }
  while ((e = readdir(dir)) != NULL)
    if (e->d_name[0] != '.' && fstatat(d->fd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode))
      fn(arg, e->d_name);
  closedir(dir);
  return SW_OK;
}

typedef struct st_walk {
  st_list *l;
  const sw_opts *o;
  const sw_dir *root;
  const char *product;
  int full;
} st_walk;

static void st_on_channel(void *arg, const char *name) {
  st_walk *w = arg;
  if (st_add(w->l, w->o, w->product, strlen(w->product), name, strlen(name)) < 0) w->full = 1;
}

static void st_on_product(void *arg, const char *name) {
  st_walk *w = arg;
  sw_dir pd;
  if (!sw_manifest_name_ok(name, strlen(name)) || (w->o->product && strcmp(w->o->product, name))) return;
  /* An unsafe product dir: its channels are not listed here; STATE/known may
   * name them, and reading them reports the refusal. */
  if (sw_dir_open_sub(&pd, w->root, name, 0, NULL, 0) != SW_OK || pd.fd < 0) return;
  w->product = name;
  (void)st_subdirs(&pd, st_on_channel, w, NULL, 0);
  sw_dir_close(&pd);
}

/* The channels: directories, then STATE/known (whose state file may be gone). */
static sw_err st_channels(const sw_dir *root, const sw_opts *o, st_list *l, char *msg, size_t msglen) {
  static const char magic[] = "swarmup-known 1\n";
  st_walk w = {l, o, root, NULL, 0};
  uint8_t *buf = NULL;
  size_t len = 0;
  sw_err err = st_subdirs(root, st_on_product, &w, msg, msglen);
  if (err == SW_OK && sw_dir_has_file(root, "known")) {
    err = sw_fs_read_at(root->fd, root->path, "known", SW_STATE_KNOWN_MAX, SW_ERR_STATE_CORRUPT, &buf, &len, msg,
                        msglen);
    if (err == SW_OK && (len < sizeof magic - 1 || memcmp(buf, magic, sizeof magic - 1)))
      err = sw_fail(SW_ERR_STATE_CORRUPT, msg, msglen, "%s/known is corrupt", root->path);
    for (const char *p = (const char *)buf + sizeof magic - 1, *end = (const char *)buf + len; err == SW_OK && p < end;) {
      const char *nl = memchr(p, '\n', (size_t)(end - p)), *slash;
      if (nl == NULL) break;
      slash = memchr(p, '/', (size_t)(nl - p));
      if (slash && st_add(l, o, p, (size_t)(slash - p), slash + 1, (size_t)(nl - slash - 1)) < 0) w.full = 1;
      p = nl + 1;
    }
  }
  free(buf);
  if (err == SW_OK && w.full)
    err = sw_fail(SW_ERR_IO, msg, msglen, "more than %u channels in %s; name one with --product", ST_CHANNELS_MAX,
                  root->path);
  return err;
}

static int st_cmp(const void *a, const void *b) {
  const st_chan *x = a, *y = b;
  int c = strcmp(x->product, y->product);
  return c ? c : strcmp(x->channel, y->channel);
}

/* Sum the regular files of one release directory. */
static void st_on_file_sum(int fd, const char *name, uint64_t *bytes) {
  struct stat sb;
  if (fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode)) *bytes += (uint64_t)sb.st_size;
}

typedef struct st_storewalk {
  const sw_dir *store;
  st_store *s;
} st_storewalk;

static void st_on_release(void *arg, const char *name) {
  st_storewalk *w = arg;
  struct dirent *e;
  sw_dir rd;
  DIR *dir;
  int fd;
  if (name[0] < '1' || name[0] > '9' || name[strspn(name, "0123456789")] != 0) return;
  if (sw_dir_open_sub(&rd, w->store, name, 0, NULL, 0) != SW_OK || rd.fd < 0) return;
  w->s->releases++;
  if (sw_dir_has_file(&rd, "verified")) w->s->verified++;
  fd = fcntl(rd.fd, F_DUPFD_CLOEXEC, 0);
  if (fd >= 0 && (dir = fdopendir(fd)) != NULL) {
    while ((e = readdir(dir)) != NULL) st_on_file_sum(rd.fd, e->d_name, &w->s->bytes);
    closedir(dir);
  } else if (fd >= 0) {
    close(fd);
  }
  sw_dir_close(&rd);
}

static sw_err st_store_of(const sw_dir *chan, st_store *s, char *msg, size_t msglen) {
  sw_dir sd;
  sw_err err;
  memset(s, 0, sizeof *s);
  if (chan->fd < 0) return SW_OK;
  err = sw_dir_open_sub(&sd, chan, "store", 0, msg, msglen);
  if (err == SW_OK && sd.fd >= 0) {
    st_storewalk w = {&sd, s};
    err = st_subdirs(&sd, st_on_release, &w, msg, msglen);
  }
  sw_dir_close(&sd);
  return err;
}

/* Everything known about one channel. */
typedef struct st_info {
  sw_state_rec rec;
  sw_release_stale_info fresh;
  int have_keys, have_seed, seeder_alive;
  uint64_t keys_version;
  sw_seedrec seed;
  st_store store;
  uint64_t uploaded, seeded_bytes;
  sw_err err;
  char msg[SW_MSG_MAX];
} st_info;

/* 1 if STATE/known has the line "product/channel". */
static int st_known_lists(const sw_dir *root, const st_chan *c) {
  uint8_t *k = NULL;
  size_t klen = 0, n;
  char line[SW_PRODUCT_MAX + SW_CHANNEL_MAX + 4];
  int listed = 0;
  n = (size_t)snprintf(line, sizeof line, "\n%s/%s\n", c->product, c->channel);
  if (sw_fs_read_at(root->fd, root->path, "known", SW_STATE_KNOWN_MAX, SW_ERR_STATE_CORRUPT, &k, &klen, NULL, 0) !=
      SW_OK)
    return 0;
  /* Every line, the first included, follows a '\n' (the magic line's). */
  for (size_t i = 0; i + n <= klen && !listed; i++) listed = !memcmp(k + i, line, n);
  free(k);
  return listed;
}

static void st_read(const sw_dir *root, const sw_opts *o, const st_chan *c, int64_t now, st_info *in) {
  const char *names[3] = {c->product, c->channel, NULL};
  uint8_t *buf = NULL;
  size_t len = 0;
  sw_dir d;
  sw_err err;

  memset(in, 0, sizeof *in);
  err = sw_dir_open_chain(&d, root, names, 0, in->msg, sizeof in->msg);
  if (err == SW_OK && d.fd >= 0 && sw_dir_has_file(&d, "state")) {
    err = sw_fs_read_at(d.fd, d.path, "state", SW_STATE_MAX, SW_ERR_STATE_CORRUPT, &buf, &len, in->msg, sizeof in->msg);
    if (err == SW_OK) err = sw_state_decode(buf, len, c->product, c->channel, &in->rec, in->msg, sizeof in->msg);
  } else if (err == SW_OK) {
    struct stat sb;
    if (d.fd >= 0 && fstatat(d.fd, "state", &sb, AT_SYMLINK_NOFOLLOW) == 0)
      err = sw_fail(SW_ERR_STATE_CORRUPT, in->msg, sizeof in->msg, "%s/state is not a regular file", d.path);
    else if (st_known_lists(root, c))
      err = sw_fail(SW_ERR_STATE_MISSING, in->msg, sizeof in->msg,
                    "the state file is missing, but %s/known says an earlier run wrote one", root->path);
    /* else: a directory made by a run that saved nothing yet (a first fetch that failed). */
  }
  if (err == SW_OK && in->rec.have) sw_release_stale_info_of(o, &in->rec, now, &in->fresh);
  if (err == SW_OK) err = sw_keystore_current_of(root, c->product, &in->have_keys, &in->keys_version, in->msg,
                                                 sizeof in->msg);
  if (err == SW_OK) err = sw_seedrec_read(root, c->product, c->channel, &in->have_seed, &in->seed, in->msg,
                                          sizeof in->msg);
  if (err == SW_OK && d.fd >= 0) err = st_store_of(&d, &in->store, in->msg, sizeof in->msg);
  if (in->have_seed) {
    /* Alive: says it runs, wrote lately, and its pid exists (EPERM: another user's). */
    in->seeder_alive = in->seed.running && in->seed.updated + ST_STALE_RECORD_S >= now &&
                       in->seed.pid > 1 && in->seed.pid < (uint64_t)INT32_MAX &&
                       (kill((pid_t)in->seed.pid, 0) == 0 || errno == EPERM);
    for (size_t i = 0; i < in->seed.n; i++) {
      in->uploaded += in->seed.rel[i].uploaded;
      in->seeded_bytes += in->seed.rel[i].size;
    }
  }
  in->err = err;
  free(buf);
  sw_dir_close(&d);
}

static void st_time(int64_t t, char out[21]) {
  if (t == SW_STATE_TIME_UNKNOWN) snprintf(out, 21, "unknown");
  else sw_manifest_format_time(t, out);
}

static double st_ratio(uint64_t up, uint64_t size) { return size ? (double)up / (double)size : 0.0; }

static void st_print_text(const st_chan *c, const st_info *in) {
  const sw_state_rec *r = &in->rec;
  char t1[21], t2[21];
  printf("%s/%s\n", c->product, c->channel);
  if (in->err) {
    printf("  error        %s\n", in->msg);
    return;
  }
  if (r->installed_sequence) printf("  installed    %s (sequence %" PRIu64 ")\n", r->installed_version, r->installed_sequence);
  else printf("  installed    nothing installed by swarmup\n");
  if (r->have) {
    st_time(in->fresh.valid_until, t1);
    printf("  accepted     %s (sequence %" PRIu64 "), %s %s%s\n", r->version, r->sequence,
           in->fresh.expired ? "expired at" : "valid until", t1,
           in->fresh.expired ? ": STALE (check and fetch exit 6 until a fresh manifest)" : "");
    st_time(r->last_check, t2);
    printf("  last check   %s\n", t2);
  } else {
    printf("  accepted     nothing yet\n");
  }
  if (in->have_keys) printf("  keys         key statement %" PRIu64 "\n", in->keys_version);
  else printf("  keys         no key statement (pinned keys)\n");
  if (!in->have_seed) {
    printf("  seeding      no seeder has used this state dir\n");
  } else {
    sw_manifest_format_time(in->seed.updated, t1);
    printf("  seeding      %s (pid %" PRIu64 ", record of %s)\n",
           in->seeder_alive ? "running" : in->seed.running ? "not running (its record stopped)" : "stopped",
           in->seed.pid, t1);
    for (size_t i = 0; i < in->seed.n; i++) {
      const sw_seedrec_rel *s = &in->seed.rel[i];
      printf("               #%" PRIu64 ": %.1f MiB sent, ratio %.2f, %" PRIu64 " peer%s\n", s->sequence,
             (double)s->uploaded / 1048576.0, st_ratio(s->uploaded, s->size), s->peers, s->peers == 1 ? "" : "s");
    }
  }
  printf("  store        %" PRIu64 " release%s (%" PRIu64 " verified), %.1f MiB\n", in->store.releases,
         in->store.releases == 1 ? "" : "s", in->store.verified, (double)in->store.bytes / 1048576.0);
}

static void st_print_json(const st_chan *c, const st_info *in) {
  const sw_state_rec *r = &in->rec;
  char t1[21], t2[21], t3[21];
  sw_json j;
  int vu = r->have && in->fresh.valid_until != SW_STATE_TIME_UNKNOWN;
  int lc = r->have && r->last_check != SW_STATE_TIME_UNKNOWN;
  if (vu) sw_manifest_format_time(in->fresh.valid_until, t1);
  if (lc) sw_manifest_format_time(r->last_check, t2);
  if (in->have_seed) sw_manifest_format_time(in->seed.updated, t3);
  sw_json_begin(&j, stdout);
  sw_json_str(&j, "type", "channel");
  sw_json_str(&j, "product", c->product);
  sw_json_str(&j, "channel", c->channel);
  if (in->err) {
    sw_json_str(&j, "error", sw_err_name(in->err));
    sw_json_str(&j, "message", in->msg);
    sw_json_end(&j);
    return;
  }
  sw_json_bool(&j, "accepted", r->have);
  sw_json_u64(&j, "sequence", r->sequence);
  sw_json_str(&j, "version", r->have ? r->version : NULL);
  sw_json_u64(&j, "installed_sequence", r->installed_sequence);
  sw_json_str(&j, "installed_version", r->installed_sequence ? r->installed_version : NULL);
  sw_json_str(&j, "last_check", lc ? t2 : NULL);
  sw_json_str(&j, "valid_until", vu ? t1 : NULL);
  sw_json_bool(&j, "stale", r->have && in->fresh.expired);
  if (in->have_keys) sw_json_u64(&j, "keys_version", in->keys_version);
  else sw_json_str(&j, "keys_version", NULL);
  sw_json_str(&j, "seeder", !in->have_seed ? "none" : in->seeder_alive ? "running" : "stopped");
  if (in->have_seed) sw_json_u64(&j, "seeder_pid", in->seed.pid);
  sw_json_str(&j, "seeder_updated", in->have_seed ? t3 : NULL);
  sw_json_u64(&j, "uploaded", in->uploaded);
  sw_json_f64(&j, "ratio", st_ratio(in->uploaded, in->seeded_bytes));
  sw_json_u64(&j, "store_releases", in->store.releases);
  sw_json_u64(&j, "store_verified", in->store.verified);
  sw_json_u64(&j, "store_bytes", in->store.bytes);
  sw_json_end(&j);
  for (size_t i = 0; i < in->seed.n; i++) {
    const sw_seedrec_rel *s = &in->seed.rel[i];
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "type", "release");
    sw_json_str(&j, "product", c->product);
    sw_json_str(&j, "channel", c->channel);
    sw_json_u64(&j, "sequence", s->sequence);
    sw_json_bool(&j, "seeding", in->seeder_alive);
    sw_json_u64(&j, "size", s->size);
    sw_json_u64(&j, "uploaded", s->uploaded);
    sw_json_f64(&j, "ratio", st_ratio(s->uploaded, s->size));
    sw_json_u64(&j, "peers", s->peers);
    sw_json_end(&j);
  }
}

int sw_cmd_status(int argc, char **argv) {
  sw_opts o;
  sw_dir root;
  st_list l = {NULL, 0};
  struct stat sb;
  char msg[SW_MSG_MAX] = "", statedir[2048];
  size_t stale = 0, errors = 0;
  int rc = 0, exists = 1;
  int64_t now = sw_release_now();
  sw_err err, first = SW_OK;

  sw_dir_init(&root);
  err = sw_opts_parse(SW_CMD_STATUS, argc, argv, &o, msg, sizeof msg);
  if (err) goto fail;
  if (o.help) {
    status_help();
    goto out;
  }
  if (o.n_args) {
    err = sw_fail(SW_ERR_USAGE, msg, sizeof msg, "unexpected argument \"%.60s\"", o.args[0]);
    goto fail;
  }
  if ((o.product && !sw_manifest_name_ok(o.product, strlen(o.product))) ||
      !sw_manifest_name_ok(o.channel, strlen(o.channel))) {
    err = sw_fail(SW_ERR_USAGE, msg, sizeof msg, "--product and --channel take names ([a-z0-9][a-z0-9._-]*)");
    goto fail;
  }
  if (o.state_dir) snprintf(statedir, sizeof statedir, "%s", o.state_dir);
  else if (sw_state_default_dir(statedir, sizeof statedir) != SW_OK) {
    err = sw_fail(SW_ERR_CONFIG, msg, sizeof msg, "no state dir: set --state-dir or HOME");
    goto fail;
  }
  /* A state dir that does not exist yet: nothing checked, nothing to make. */
  if (stat(statedir, &sb) != 0 && errno == ENOENT) {
    exists = 0;
  } else {
    err = sw_dir_open_root(&root, statedir, 0, msg, sizeof msg);
    if (err) goto fail;
    l.c = calloc(ST_CHANNELS_MAX, sizeof *l.c);
    if (l.c == NULL) {
      err = sw_fail(SW_ERR_NOMEM, msg, sizeof msg, "out of memory");
      goto fail;
    }
    err = st_channels(&root, &o, &l, msg, sizeof msg);
    if (err) goto fail;
    qsort(l.c, l.n, sizeof *l.c, st_cmp);
  }
  if (!o.json && l.n == 0)
    printf("%s: %s\n", statedir,
           exists ? "no product checked yet" : "does not exist yet (no product checked); nothing to show");
  for (size_t i = 0; i < l.n; i++) {
    st_info *in = malloc(sizeof *in);
    if (in == NULL) {
      err = sw_fail(SW_ERR_NOMEM, msg, sizeof msg, "out of memory");
      goto fail;
    }
    st_read(&root, &o, &l.c[i], now, in);
    if (o.json) st_print_json(&l.c[i], in);
    else st_print_text(&l.c[i], in);
    if (in->err && !first) first = in->err;
    errors += in->err != SW_OK;
    stale += in->err == SW_OK && in->rec.have && in->fresh.expired;
    free(in);
  }
  rc = first ? sw_err_exit_code(first) : stale ? sw_err_exit_code(SW_ERR_STALE) : 0;
  if (o.json) {
    sw_json j;
    sw_json_begin(&j, stdout);
    sw_json_str(&j, "type", "summary");
    sw_json_str(&j, "state_dir", statedir);
    sw_json_bool(&j, "exists", exists);
    sw_json_u64(&j, "channels", l.n);
    sw_json_u64(&j, "stale", stale);
    sw_json_u64(&j, "errors", errors);
    sw_json_i64(&j, "exit", rc);
    sw_json_end(&j);
  }
  goto out;
fail:
  rc = sw_report_error(o.json, "status", err, msg);
out:
  free(l.c);
  sw_dir_close(&root);
  sw_opts_free(&o);
  return rc;
}
