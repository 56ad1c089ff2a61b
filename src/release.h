/* release.h - get a manifest and its signature (path or https:// URL), check
 * the signature over the exact bytes read, then parse those same bytes.
 * Shared by every command that takes --manifest. */
#ifndef SW_RELEASE_H
#define SW_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "http.h"
#include "manifest.h"
#include "opts.h"
#include "pgp.h"
#include "policy.h"
#include "state.h"
#include "sw_err.h"

typedef struct sw_release {
  uint8_t *manifest;            /* the exact bytes that were verified and parsed */
  size_t manifest_len;
  uint8_t *sig;
  size_t sig_len;
  uint8_t manifest_sha256[32];
  sw_manifest *m;               /* parsed; NULL until accepted */
  sw_pgp_verdict pgp;
  uint64_t verify_ms;            /* the signature check's wall time (where a slow start went) */
} sw_release;

/* Decide the trust for o->product and open a private keyring for it:
 *   - --trusted-key files: those keys, the threshold o->threshold (a fixed anchor);
 *   - --trusted-keys (with --keys-url: after the walk): the newest key
 *     statement's Key, and o->threshold is set to its Threshold, so that every
 *     user of o->threshold (the manifest, the package gate) follows it. The
 *     kept chain is read and written under o->state_dir (opened and locked here,
 *     closed before returning) when o->state_dir is set; without it (verify)
 *     the chain is held in memory. An expired newest statement, or one with no
 *     Key, is SW_ERR_KEYS_POLICY (exit 3); from 30 days before its expiry a
 *     warning goes to stderr (with o->json, an {"event":"warning"} line on stdout).
 * SW_ERR_CONFIG if no key is given, a key file is unreadable, or --threshold
 * is larger than the number of --trusted-key primary keys (it could never be met). */
sw_err sw_release_open_keys(sw_opts *o, sw_pgp **pgp, char *msg, size_t msglen);
/* The same, and with --trusted-keys *version is the Version of the statement
 * the keyring was opened from (else 0), for sw_release_keys_walk. */
sw_err sw_release_open_keys_at(sw_opts *o, sw_pgp **pgp, uint64_t *version, char *msg, size_t msglen);

/* With --trusted-keys: walk the key statements again (synchronously, as
 * sw_release_open_keys does) and judge the newest one's expiry now. On SW_OK,
 * *version and *threshold are the newest statement's, and *fresh is a new
 * keyring for its Key when its Version is not `have` (else NULL); the caller
 * installs it (and sets o->threshold) when nothing in flight uses the old one.
 * Errors: as sw_release_open_keys (an expired statement, one with no Key: exit 3
 * SW_ERR_KEYS_POLICY; a refused statement, a fork: SW_ERR_KEYS_*). */
sw_err sw_release_keys_walk(const sw_opts *o, uint64_t have, uint64_t *version, unsigned *threshold,
                            sw_pgp **fresh, char *msg, size_t msglen);

/* Read a source (a path, or an https:// URL over a private loop: blocks) of at
 * most max bytes; a source over max is too_big_err; a URL that is not https://
 * is refused (SW_ERR_USAGE) before any connection. A URL answered with HTTP
 * 404 is SW_ERR_HTTP with "HTTP 404" in msg. */
sw_err sw_release_get(const sw_opts *o, const char *src, size_t max, sw_err too_big_err, uint8_t **buf,
                      size_t *len, char *msg, size_t msglen);
/* The same, a URL read with the client http when it is not NULL (running its
 * loop until the transfer ends: not from a callback of that loop), so that the
 * client's connection to the origin is made once and kept for what follows. */
sw_err sw_release_get_on(sw_http *http, const sw_opts *o, const char *src, size_t max, sw_err too_big_err,
                         uint8_t **buf, size_t *len, char *msg, size_t msglen);
int sw_release_is_url(const char *s);

/* Read o->manifest (at most SW_MANIFEST_MAX bytes) and its signature
 * (o->manifest_sig, default SRC.sig), verify with threshold o->threshold, parse.
 * Errors: SW_ERR_MANIFEST_SIG / SW_ERR_MANIFEST_SYNTAX (exit 3) with
 * "manifest rejected: ..." in msg; SW_ERR_IO / SW_ERR_HTTP / SW_ERR_TLS when
 * the bytes could not be had. */
sw_err sw_release_load(const sw_opts *o, sw_pgp *pgp, sw_release *r, char *msg, size_t msglen);
/* The same, URLs read with the client http (see sw_release_get_on; NULL: a
 * private loop and client for each, as sw_release_load). */
sw_err sw_release_load_on(sw_http *http, const sw_opts *o, sw_pgp *pgp, sw_release *r, char *msg, size_t msglen);

/* The freshness policy against the state store: on SW_OK, *fresh is NEWER or
 * SAME and *rec holds the state before this manifest with this check noted in
 * memory (last_check, latest_known_time, and for SAME the Expires): the caller
 * saves it, with sw_release_record for NEWER or sw_state_save for SAME.
 * Errors: "manifest rejected: ..." (SW_ERR_MANIFEST_POLICY); SW_ERR_CLOCK (the
 * clock is behind the latest known time); SW_ERR_STALE when the manifest has
 * expired and something was accepted before (see sw_release_stale; an expired
 * manifest with nothing accepted before is SW_ERR_MANIFEST_POLICY); state errors. */
sw_err sw_release_check_fresh(const sw_opts *o, sw_state *st, const sw_release *r, sw_fresh *fresh,
                              sw_state_rec *rec, char *msg, size_t msglen);

/* Record an accepted manifest (copy + state) after sw_release_check_fresh said NEWER. */
sw_err sw_release_record(sw_state *st, const sw_release *r, sw_state_rec *rec, char *msg, size_t msglen);

/* What a "stale" report says, from the state record (times may be SW_STATE_TIME_UNKNOWN). */
typedef struct sw_release_stale_info {
  int expired;            /* the accepted manifest's validity has passed */
  int64_t since;          /* no fresh manifest since: the last successful check */
  int64_t valid_until;    /* the accepted manifest was (is) valid until: Expires capped by --max-validity */
} sw_release_stale_info;

/* Fill *info from rec (which has something accepted) for the clock now. Pure. */
void sw_release_stale_info_of(const sw_opts *o, const sw_state_rec *rec, int64_t now, sw_release_stale_info *info);

/* No fresh manifest could be had: cause with cause_msg (copied first; may be
 * msg itself) is why. rec is the state as loaded for (o->product, o->channel).
 * With something accepted before: the clock is checked (SW_ERR_CLOCK), an
 * accepted manifest seen expired raises the latest known time to its end of
 * validity (saved), and the result is SW_ERR_STALE with one line in msg:
 *   "stale: no fresh manifest since T (CAUSE); the last accepted, sequence N
 *    (version V), is valid until E" (or "expired at E").
 * With nothing accepted: cause and cause_msg unchanged (an expiry, SW_ERR_STALE,
 * becomes SW_ERR_MANIFEST_POLICY "manifest rejected: ..."). */
sw_err sw_release_stale(const sw_opts *o, sw_state *st, sw_state_rec *rec, sw_err cause, const char *cause_msg,
                        char *msg, size_t msglen);

/* sw_release_load failed with err (its message in msg): when the manifest
 * could not be had (a transport error, not a rejection), open the state (into
 * *st, unless open already; the caller closes it) and load *rec, then
 * sw_release_stale. Any other error, or a state that cannot be read, returns
 * err with msg unchanged. */
sw_err sw_release_unavailable(const sw_opts *o, sw_state **st, sw_state_rec *rec, sw_err err, char *msg,
                              size_t msglen);

/* Save rec after a successful check that accepted nothing new (SAME), best
 * effort: a failure is a warning on stderr naming command, not an error (the
 * check's answer stands; only last_check and the latest known time do not move). */
void sw_release_note_saved(sw_state *st, const sw_opts *o, const sw_state_rec *rec, const char *command);

/* The clock freshness is judged by (time(NULL); tests move it with faketime). */
int64_t sw_release_now(void);

/* Called once on the loop thread when an async load ends; msg is one line
 * ("" on success); on success r->m is set. */
typedef void (*sw_release_done_fn)(void *arg, sw_err err, const char *msg);
typedef struct sw_release_job sw_release_job;

/* sw_release_load without blocking the loop: URLs are read with http (a
 * client on loop), the signature check and parsing run on the thread pool.
 * r must stay valid until done runs. On an error return done is never called. */
sw_err sw_release_load_async(uv_loop_t *loop, sw_http *http, const sw_opts *o, sw_pgp *pgp, sw_release *r,
                             sw_release_done_fn done, void *arg, char *msg, size_t msglen);

void sw_release_free(sw_release *r);

#endif
