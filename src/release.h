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
} sw_release;

/* Open a private keyring from o->trusted_key (SW_ERR_CONFIG if none given or unreadable). */
sw_err sw_release_open_keys(const sw_opts *o, sw_pgp **pgp, char *msg, size_t msglen);

/* Read o->manifest (at most SW_MANIFEST_MAX bytes) and its signature
 * (o->manifest_sig, default SRC.sig), verify with threshold o->threshold, parse.
 * Errors: SW_ERR_MANIFEST_SIG / SW_ERR_MANIFEST_SYNTAX (exit 3) with
 * "manifest rejected: ..." in msg; SW_ERR_IO / SW_ERR_HTTP / SW_ERR_TLS when
 * the bytes could not be had. */
sw_err sw_release_load(const sw_opts *o, sw_pgp *pgp, sw_release *r, char *msg, size_t msglen);

/* The freshness policy against the state store: on SW_OK, *fresh is NEWER or
 * SAME and *rec holds the state before this manifest. Errors carry
 * "manifest rejected: ..." (SW_ERR_MANIFEST_POLICY) or state errors. */
sw_err sw_release_check_fresh(const sw_opts *o, sw_state *st, const sw_release *r, sw_fresh *fresh,
                              sw_state_rec *rec, char *msg, size_t msglen);

/* Record an accepted manifest (copy + state) after sw_release_check_fresh said NEWER. */
sw_err sw_release_record(sw_state *st, const sw_release *r, sw_state_rec *rec, char *msg, size_t msglen);

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
