/* publish_sign.c - `swarmup-publish sign` on the offline machine (publish.h):
 * check the package against the draft, show a checklist, sign the package
 * (detached, binary) into the draft's Signature field, then sign the manifest
 * (detached, armored), both through the standard gpg (pubgpg.h). */
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "manifest.h"
#include "pubgpg.h"
#include "publish.h"
#include "pubutil.h"
#include "sw_limits.h"

/* Sign in into out with the one --key, carrying purpose@swarmup=purpose. */
static int run_gpg_sign(const sw__pub_opts *o, const char *purpose, const char *in, const char *out, int armor) {
  const char *keys[1] = {o->key};
  return sw_pub_gpg_sign(o->homedir, keys, 1, purpose, in, out, armor);
}

/* Find "Field: value" in the draft; returns value length or -1. */
static int draft_field(const char *text, const char *field, const char **val) {
  size_t fl = strlen(field);
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    size_t ll = nl ? (size_t)(nl - p) : strlen(p);
    if (ll > fl + 2 && !strncmp(p, field, fl) && p[fl] == ':' && p[fl + 1] == ' ') {
      *val = p + fl + 2;
      return (int)(ll - fl - 2);
    }
    p += ll + (nl ? 1 : 0);
  }
  return -1;
}

int sw__pub_sign(sw__pub_opts *o) {
  char outdir[2048], name[300], sigtmp[4096], shahex[65], msg[SW_MSG_MAX], date[21], expires[21];
  char path[4400];
  uint8_t *draft = NULL, *pkgsig = NULL, sha[32];
  size_t draft_len = 0, pkgsig_len = 0, len = 0;
  char *text = NULL, *b64 = NULL;
  sw_manifest *m = NULL;
  uint64_t size = 0;
  int64_t old_date = 0, old_expires = 0, now = (int64_t)time(NULL);
  int rc = 1, n;
  const char *v;
  sw_err err;

  if (!o->draft || !o->file || !o->key) return sw__pub_die(2, "sign needs --draft, --file and --key (see --help)");
  err = sw_fs_read_file(o->draft, SW_MANIFEST_MAX, SW_ERR_IO, &draft, &draft_len, msg, sizeof msg);
  if (err) return sw__pub_die(1, "%s", msg);
  m = calloc(1, sizeof *m);
  text = malloc(SW_MANIFEST_MAX + 1);
  b64 = malloc(SW_PKG_SIG_MAX * 2);
  if (!m || !text || !b64) {
    rc = sw__pub_die(1, "out of memory");
    goto out;
  }
  if (draft_field((char *)draft, "Signature", &v) >= 0) {
    rc = sw__pub_die(2, "%s already has a Signature field: sign a fresh draft", o->draft);
    goto out;
  }
  /* Parse the draft as the client would (placeholder signature) to show what is signed. */
  n = snprintf(text, SW_MANIFEST_MAX + 1, "%sSignature: iQ==\n", (char *)draft);
  err = sw_manifest_parse((uint8_t *)text, (size_t)n, m, msg, sizeof msg);
  if (err) {
    rc = sw__pub_die(2, "the draft is not a valid manifest: %s", msg);
    goto out;
  }
  old_date = m->date;
  old_expires = m->expires;
  if (sw__pub_hash_file(o->file, &size, sha) != 0) {
    rc = sw__pub_die(1, "%s: %s", o->file, strerror(errno));
    goto out;
  }
  if (size != m->size || memcmp(sha, m->sha256, 32) != 0) {
    rc = sw__pub_die(5,
                     "%s does not match the draft (size %" PRIu64 " vs %" PRIu64 ", or SHA-256 differs): not signing",
                     o->file, size, m->size);
    goto out;
  }
  sw_hex(sha, 32, shahex);
  sw_manifest_format_time(now, date);
  sw_manifest_format_time(now + (old_expires - old_date), expires);

  fprintf(stderr,
          "About to sign, with key %s:\n"
          "  [ ] Product   %s (channel %s)\n"
          "  [ ] Version   %s, Sequence %" PRIu64 " (must be higher than every release before it)\n"
          "  [ ] File      %s, %" PRIu64 " bytes\n"
          "  [ ] SHA256    %s (computed here from %s)\n"
          "  [ ] Date      %s, Expires %s\n"
          "  [ ] Magnet    %s\n",
          o->key, m->product, m->channel, m->version, m->sequence, m->file, m->size, shahex, o->file, date,
          expires, m->magnet_uri);
  for (size_t i = 0; i < m->n_fallback; i++) fprintf(stderr, "  [ ] Fallback  %s\n", m->fallback[i]);
  if (m->torrent_url[0]) fprintf(stderr, "  [ ] Torrent   %s\n", m->torrent_url);
  if (!o->yes) {
    rc = sw__pub_confirm("Sign this release?");
    if (rc) goto out;
  }

  if (o->out_dir) snprintf(outdir, sizeof outdir, "%s", o->out_dir);
  else sw__pub_dir_of(o->draft, outdir, sizeof outdir);
  if (o->name) snprintf(name, sizeof name, "%s", o->name);
  else snprintf(name, sizeof name, "%s-%s", m->product, m->channel);
  if (!sw_manifest_file_ok(name, strlen(name))) {
    rc = sw__pub_die(2, "--name must be a plain file name");
    goto out;
  }

  /* 1. the package's detached binary signature */
  snprintf(sigtmp, sizeof sigtmp, "%s/.%s.pkgsig.%ld", outdir, name, (long)getpid());
  if (run_gpg_sign(o, "package", o->file, sigtmp, 0) != 0) {
    unlink(sigtmp);
    rc = sw__pub_die(1, "gpg could not sign %s with key %s", o->file, o->key);
    goto out;
  }
  err = sw_fs_read_file(sigtmp, SW_PKG_SIG_MAX, SW_ERR_IO, &pkgsig, &pkgsig_len, msg, sizeof msg);
  unlink(sigtmp);
  if (err) {
    rc = sw__pub_die(1, "package signature: %s", msg);
    goto out;
  }
  EVP_EncodeBlock((unsigned char *)b64, pkgsig, (int)pkgsig_len);

  /* 2. the manifest: the draft's lines with Date/Expires re-stamped, then Signature */
  len = 0;
  for (const char *p = (char *)draft; *p;) {
    const char *nl = strchr(p, '\n');
    size_t ll = nl ? (size_t)(nl - p) + 1 : strlen(p);
    if (!strncmp(p, "Date: ", 6)) len += (size_t)snprintf(text + len, SW_MANIFEST_MAX + 1 - len, "Date: %s\n", date);
    else if (!strncmp(p, "Expires: ", 9))
      len += (size_t)snprintf(text + len, SW_MANIFEST_MAX + 1 - len, "Expires: %s\n", expires);
    else len += (size_t)snprintf(text + len, SW_MANIFEST_MAX + 1 - len, "%.*s", (int)ll, p);
    p += ll;
    if (len >= SW_MANIFEST_MAX) break;
  }
  if (len < SW_MANIFEST_MAX) len += (size_t)snprintf(text + len, SW_MANIFEST_MAX + 1 - len, "Signature: %s\n", b64);
  if (len >= SW_MANIFEST_MAX) {
    rc = sw__pub_die(2, "the signed manifest would exceed %u bytes", SW_MANIFEST_MAX);
    goto out;
  }
  err = sw_manifest_parse((uint8_t *)text, len, m, msg, sizeof msg);
  if (err) {
    rc = sw__pub_die(1, "the signed manifest does not parse (bug): %s", msg);
    goto out;
  }
  snprintf(path, sizeof path, "%s.manifest", name);
  err = sw_fs_write_atomic(outdir, path, (uint8_t *)text, len, 0644, msg, sizeof msg);
  if (err) {
    rc = sw__pub_die(1, "%s", msg);
    goto out;
  }
  /* 3. the manifest's detached armored signature, over exactly those bytes */
  snprintf(path, sizeof path, "%s/%s.manifest", outdir, name);
  snprintf(sigtmp, sizeof sigtmp, "%s/%s.manifest.sig", outdir, name);
  if (run_gpg_sign(o, "manifest", path, sigtmp, 1) != 0) {
    rc = sw__pub_die(1, "gpg could not sign %s", path);
    goto out;
  }
  printf("signed:   %s\n          %s\n", path, sigtmp);
  printf("publish both beside the package; anyone can check them with\n  gpg --verify %s %s\n", sigtmp, path);
  rc = 0;
out:
  free(draft);
  free(pkgsig);
  free(text);
  free(b64);
  free(m);
  return rc;
}
