/* swarmup-publish - make a release (online machine) and sign it (offline machine).
 *
 *   make: hash the package, write a hybrid v1+v2 .torrent beside it, build the
 *         magnet and write an unsigned manifest draft.
 *   sign: on the offline machine, check the package against the draft, show a
 *         checklist, sign the package (detached, binary) into the draft's
 *         Signature field, then sign the manifest (detached, armored).
 * Signing runs the standard `gpg` so that passphrases, smartcards and the
 * offline key's home work as they do for any other gpg use. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "manifest.h"
#include "pubgpg.h"
#include "publish_keys.h"
#include "pubutil.h"
#include "swarm.h"
#include "sw_limits.h"

#ifndef SW_VERSION_STRING
#define SW_VERSION_STRING "0"
#endif

#define MAXLIST 16

typedef struct pub_opts {
  const char *file, *product, *channel, *version, *sequence, *expires_days, *out_dir, *torrent_url, *piece_size;
  const char *draft, *key, *homedir, *name;
  const char *fallback[MAXLIST];
  size_t n_fallback;
  const char *tracker[MAXLIST];
  size_t n_tracker;
  const char *peer[MAXLIST];
  size_t n_peer;
  int yes, no_torrent_url, help;
} pub_opts;

static void usage(FILE *f) {
  fprintf(f,
          "usage: swarmup-publish make --file PKG --product P [--channel C] --version V --sequence N\n"
          "                            --fallback URL [--fallback URL...] [--tracker URL...] [--peer HOST:PORT...]\n"
          "                            [--expires-days D] [--out-dir DIR] [--torrent-url URL | --no-torrent-url]\n"
          "                            [--piece-size BYTES]\n"
          "       swarmup-publish sign --draft FILE --file PKG --key KEYID [--homedir GNUPGHOME] [--yes]\n"
          "                            [--out-dir DIR] [--name NAME]\n\n"
          "make (online machine): writes PKG.torrent (hybrid v1+v2) and P-C.manifest.draft in --out-dir\n"
          "  (default: PKG's directory). The draft's Date/Expires are re-stamped at signing time; Expires is\n"
          "  Date + --expires-days (default 30). Torrent: defaults to the first Fallback URL + \".torrent\".\n"
          "sign (offline machine): checks PKG's size and SHA-256 against the draft, shows a checklist, asks for\n"
          "  confirmation (--yes: don't ask), signs PKG with gpg into the Signature field, writes NAME.manifest\n"
          "  and its detached armored signature NAME.manifest.sig (NAME defaults to P-C).\n"
          "  Check with: gpg --verify NAME.manifest.sig NAME.manifest\n\n");
  sw_pub_keys_usage(f);
  fprintf(f, "keys: write key statement 1 (init) or the draft N+1 (rotate) on the online machine, and sign one\n"
             "  on the offline machine after a checklist of who is added, dropped and must sign (sign).\n"
             "  See swarmup-publish keys init|rotate|sign --help and docs/keys.md.\n");
}

static int parse_args(int argc, char **argv, pub_opts *o) {
  static const struct { const char *name; size_t off; } strs[] = {
#define S(n, f) {n, offsetof(pub_opts, f)}
      S("file", file),         S("product", product), S("channel", channel),   S("version", version),
      S("sequence", sequence), S("expires-days", expires_days), S("out-dir", out_dir),
      S("torrent-url", torrent_url), S("piece-size", piece_size), S("draft", draft), S("key", key),
      S("homedir", homedir),   S("name", name),
#undef S
  };
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    int done = 0;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { o->help = 1; continue; }
    if (!strcmp(a, "--yes")) { o->yes = 1; continue; }
    if (!strcmp(a, "--no-torrent-url")) { o->no_torrent_url = 1; continue; }
    if (strncmp(a, "--", 2) != 0) return sw__pub_die(2, "unexpected argument \"%.60s\"", a);
    if (i + 1 >= argc) return sw__pub_die(2, "%s needs a value", a);
    for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++) {
      if (strcmp(a + 2, strs[k].name) == 0) {
        *(const char **)((char *)o + strs[k].off) = argv[++i];
        done = 1;
        break;
      }
    }
    if (done) continue;
    if (!strcmp(a, "--fallback") || !strcmp(a, "--tracker") || !strcmp(a, "--peer")) {
      const char **list = a[2] == 'f' ? o->fallback : a[2] == 't' ? o->tracker : o->peer;
      size_t *n = a[2] == 'f' ? &o->n_fallback : a[2] == 't' ? &o->n_tracker : &o->n_peer;
      if (*n >= MAXLIST) return sw__pub_die(2, "too many %s", a);
      list[(*n)++] = argv[++i];
      continue;
    }
    return sw__pub_die(2, "unknown option %.60s (see --help)", a);
  }
  return 0;
}

/* Size and SHA-256 of a file in one read. */
static int hash_file(const char *path, uint64_t *size, uint8_t sha[32]) {
  int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  static uint8_t buf[1 << 20];
  unsigned int n = 32;
  *size = 0;
  if (fd < 0 || ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) goto out;
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) goto out;
    if (r == 0) break;
    EVP_DigestUpdate(ctx, buf, (size_t)r);
    *size += (uint64_t)r;
  }
  if (!EVP_DigestFinal_ex(ctx, sha, &n)) goto out;
  rc = 0;
out:
  EVP_MD_CTX_free(ctx);
  if (fd >= 0) close(fd);
  return rc;
}

/* Percent-encode for a magnet parameter value: keep unreserved characters and ':' '/' ; encode the rest. */
static void pct(char *out, size_t cap, const char *s) {
  size_t o = 0;
  for (; *s && o + 4 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~:/", c))
      out[o++] = (char)c;
    else
      o += (size_t)snprintf(out + o, cap - o, "%%%02X", c);
  }
  out[o] = 0;
}

static int printable(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n > max || s[0] == ' ' || s[n - 1] == ' ') return 0;
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return 0;
  return 1;
}

static int cmd_make(pub_opts *o) {
  char outdir[2048], torrent_path[4096], draft_name[300], magnet[SW_MANIFEST_LINE_MAX + 1], enc[SW_URL_MAX * 3 + 1];
  char text[SW_MANIFEST_MAX], msg[SW_MSG_MAX], shahex[65], date[21], expires[21], *end = NULL;
  uint8_t sha[32];
  uint64_t size = 0, seq = 0, days = 30;
  size_t len = 0, mlen = 0;
  sw_swarm_made made;
  sw_swarm_make_opts mo;
  sw_manifest *check = NULL;
  const char *file = NULL;
  int64_t now = (int64_t)time(NULL);
  int rc = 1;
  sw_err err;

  if (!o->file || !o->product || !o->version || !o->sequence || o->n_fallback == 0)
    return sw__pub_die(2, "make needs --file, --product, --version, --sequence and --fallback (see --help)");
  if (!o->channel) o->channel = "stable";
  file = sw__pub_base_name(o->file);
  if (!sw_manifest_name_ok(o->product, strlen(o->product))) return sw__pub_die(2, "bad --product name");
  if (!sw_manifest_name_ok(o->channel, strlen(o->channel))) return sw__pub_die(2, "bad --channel name");
  if (!sw_manifest_file_ok(file, strlen(file))) return sw__pub_die(2, "package name \"%.60s\" is not a plain file name", file);
  if (!printable(o->version, SW_VERSION_MAX)) return sw__pub_die(2, "--version must be printable ASCII, at most 64 bytes");
  errno = 0;
  seq = strtoull(o->sequence, &end, 10);
  if (errno || !end || *end || seq == 0 || o->sequence[0] < '1' || o->sequence[0] > '9')
    return sw__pub_die(2, "--sequence must be a whole number >= 1 without leading zeros");
  if (o->expires_days) {
    days = strtoull(o->expires_days, &end, 10);
    if (!end || *end || days == 0 || days > 3650) return sw__pub_die(2, "--expires-days must be 1..3650");
  }
  if (o->out_dir) snprintf(outdir, sizeof outdir, "%s", o->out_dir);
  else sw__pub_dir_of(o->file, outdir, sizeof outdir);

  if (hash_file(o->file, &size, sha) != 0) return sw__pub_die(1, "%s: %s", o->file, strerror(errno));
  if (size == 0) return sw__pub_die(2, "%s is empty", o->file);
  sw_hex(sha, 32, shahex);

  memset(&mo, 0, sizeof mo);
  snprintf(torrent_path, sizeof torrent_path, "%s/%s.torrent", outdir, file);
  mo.file_path = o->file;
  mo.torrent_path = torrent_path;
  mo.name = file;
  mo.trackers = o->tracker;
  mo.n_trackers = o->n_tracker;
  mo.creator = "swarmup-publish " SW_VERSION_STRING;
  if (o->piece_size) mo.piece_size = atoi(o->piece_size);
  err = sw_swarm_make_torrent(&mo, &made, msg, sizeof msg);
  if (err) return sw__pub_die(sw_err_exit_code(err), "making the torrent: %s", msg);
  if (made.size != size) return sw__pub_die(1, "%s changed while it was being hashed", o->file);

  /* The magnet: v2 hash (btmh) required, v1 hash for hybrid swarms, name, trackers, peers. */
  mlen = (size_t)snprintf(magnet, sizeof magnet, "magnet:?xt=urn:btmh:1220%s", made.btmh_hex);
  if (made.btih_hex[0]) mlen += (size_t)snprintf(magnet + mlen, sizeof magnet - mlen, "&xt=urn:btih:%s", made.btih_hex);
  pct(enc, sizeof enc, file);
  mlen += (size_t)snprintf(magnet + mlen, sizeof magnet - mlen, "&dn=%s", enc);
  for (size_t i = 0; i < o->n_tracker && mlen < sizeof magnet; i++) {
    pct(enc, sizeof enc, o->tracker[i]);
    mlen += (size_t)snprintf(magnet + mlen, sizeof magnet - mlen, "&tr=%s", enc);
  }
  for (size_t i = 0; i < o->n_peer && mlen < sizeof magnet; i++) {
    pct(enc, sizeof enc, o->peer[i]);
    mlen += (size_t)snprintf(magnet + mlen, sizeof magnet - mlen, "&x.pe=%s", enc);
  }
  if (mlen >= sizeof magnet - 1) return sw__pub_die(2, "the magnet URI is too long (too many trackers or peers)");

  sw_manifest_format_time(now, date);
  sw_manifest_format_time(now + (int64_t)days * 86400, expires);
  len = (size_t)snprintf(text, sizeof text,
                         "Format: swarmup/1\nProduct: %s\nChannel: %s\nVersion: %s\nSequence: %" PRIu64
                         "\nDate: %s\nExpires: %s\nFile: %s\nSize: %" PRIu64 "\nSHA256: %s\nMagnet: %s\nFallback:",
                         o->product, o->channel, o->version, seq, date, expires, file, size, shahex, magnet);
  for (size_t i = 0; i < o->n_fallback && len < sizeof text; i++)
    len += (size_t)snprintf(text + len, sizeof text - len, " %s", o->fallback[i]);
  if (len < sizeof text) len += (size_t)snprintf(text + len, sizeof text - len, "\n");
  if (!o->no_torrent_url && len < sizeof text) {
    if (o->torrent_url) len += (size_t)snprintf(text + len, sizeof text - len, "Torrent: %s\n", o->torrent_url);
    else len += (size_t)snprintf(text + len, sizeof text - len, "Torrent: %s.torrent\n", o->fallback[0]);
  }
  if (len >= sizeof text - 64) return sw__pub_die(2, "manifest too large");

  /* Check the draft as the client will: with a placeholder Signature it must parse. */
  check = calloc(1, sizeof *check);
  if (check == NULL) return sw__pub_die(1, "out of memory");
  {
    char probe[SW_MANIFEST_MAX + 32];
    int n = snprintf(probe, sizeof probe, "%.*sSignature: iQ==\n", (int)len, text);
    err = sw_manifest_parse((const uint8_t *)probe, (size_t)n, check, msg, sizeof msg);
    if (err) {
      rc = sw__pub_die(2, "the draft would be rejected: %s", msg);
      goto out;
    }
  }
  snprintf(draft_name, sizeof draft_name, "%s-%s.manifest.draft", o->product, o->channel);
  err = sw_fs_write_atomic(outdir, draft_name, (const uint8_t *)text, len, 0644, msg, sizeof msg);
  if (err) {
    rc = sw__pub_die(1, "%s", msg);
    goto out;
  }
  printf("torrent:  %s (v2 %s, v1 %s, %d pieces of %d bytes)\n", torrent_path, made.btmh_hex, made.btih_hex,
         made.num_pieces, made.piece_size);
  printf("magnet:   %s\n", magnet);
  printf("draft:    %s/%s\n", outdir, draft_name);
  printf("next: carry the draft and %s to the offline machine and run\n"
         "  swarmup-publish sign --draft %s --file %s --key KEYID\n",
         file, draft_name, file);
  rc = 0;
out:
  free(check);
  return rc;
}

/* Sign in into out with the one --key, carrying purpose@swarmup=purpose. */
static int run_gpg_sign(const pub_opts *o, const char *purpose, const char *in, const char *out, int armor) {
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

static int cmd_sign(pub_opts *o) {
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
  if (hash_file(o->file, &size, sha) != 0) {
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

int main(int argc, char **argv) {
  pub_opts o;
  int rc;
  memset(&o, 0, sizeof o);
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("swarmup-publish %s\n", SW_VERSION_STRING);
    return 0;
  }
  if (!strcmp(argv[1], "keys")) return sw_pub_keys_main(argc - 2, argv + 2);
  rc = parse_args(argc - 2, argv + 2, &o);
  if (rc) return rc;
  if (o.help) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "make")) return cmd_make(&o);
  if (!strcmp(argv[1], "sign")) return cmd_sign(&o);
  return sw__pub_die(2, "unknown command \"%.40s\" (make, sign or keys)", argv[1]);
}
