/* publish_make.c - `swarmup-publish make` on the online machine (publish.h):
 * hash the package, write a hybrid v1+v2 .torrent beside it, build the magnet
 * and write an unsigned manifest draft, checked as the client would parse it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsutil.h"
#include "manifest.h"
#include "publish.h"
#include "pubutil.h"
#include "swarm.h"
#include "sw_limits.h"
#include "units.h"

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

int sw__pub_make(sw__pub_opts *o) {
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

  if (sw__pub_hash_file(o->file, &size, sha) != 0) return sw__pub_die(1, "%s: %s", o->file, strerror(errno));
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
  if (o->piece_size) {
    uint64_t ps = 0;
    const char *why = NULL;
    /* The same units as swarmup's options: 256K, 4M (K = 1024), or bytes. */
    if (sw_units_parse(o->piece_size, strlen(o->piece_size), SW_UNITS_BYTES, 1, &ps, &why) != 0 ||
        ps == 0 || ps > (1u << 30))
      return sw__pub_die(2, "--piece-size \"%.40s\": %s (a power of two from 16K to 128M, e.g. 256K or 4M)",
                         o->piece_size, why ? why : "out of range");
    mo.piece_size = (int)ps;
  }
  err = sw_swarm_make_torrent(&mo, &made, msg, sizeof msg);
  /* Our own failure to make it is exit 1, a bad option 2 (never 4, "download failed"). */
  if (err) return sw__pub_die(err == SW_ERR_USAGE ? 2 : 1, "making the torrent: %s", msg);
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
  printf("torrent:  %s (v2 %s, v1 %s, %d piece%s of %d bytes)\n", torrent_path, made.btmh_hex, made.btih_hex,
         made.num_pieces, made.num_pieces == 1 ? "" : "s", made.piece_size);
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
