/* pgp_int.h - what the files of pgp.c share (not a public header):
 *   pgp_armor.c    ASCII armor
 *   pgp_packet.c   packet walk, signature packets and their purpose notations
 *   pgp_keyring.c  the private gpg home and the pinned keys
 *   pgp_judge.c    judging each signature gpg reports
 *   pgp_frame.c    the one-pass signed message gpg is given
 *   pgp.c          verification through gpgme (the public entry points) */
#ifndef SW_PGP_INT_H
#define SW_PGP_INT_H

#include <gpgme.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pgp.h"

#define SW_PGP_HOME_MAX 96 /* sockets in the home: keep far below 108 bytes */
#define SW_PGP_MAX_KEYS 64 /* pinned primaries across all key files */
#define SW_PGP_SIGS_MAX 32 /* signature packets in one detached signature */
#define SW_PGP_POOL_MAX 2  /* idle gpgme contexts kept per sw_pgp */

struct sw_pgp {
  char home[SW_PGP_HOME_MAX];
  int lock_fd; /* flock()ed while the home is in use: a home whose lock is free is stale */
  size_t n_pinned;
  char pinned[SW_PGP_MAX_KEYS][41];
  /* Idle contexts on the home, reused: gpgme runs `gpg --version` each time a
   * context is pointed at a home (gpgme_ctx_set_engine_info), ~10 ms. */
  pthread_mutex_t pool_lock;
  size_t n_pool;
  gpgme_ctx_t pool[SW_PGP_POOL_MAX];
};

/* ---- pgp_armor.c ---- */
/* Decode the armored text buf[0..len) into out (capacity cap, at least len).
 * label: "SIGNATURE" to accept only signature blocks; NULL for any block
 * (key files). Returns 0 and *olen, or -1 with a reason in why.
 *
 * gpg never sees this text: it is given the decoded packets (see "the
 * message gpg is given"), so every check gpg's armor filter would make is
 * made here, and an armor gpg refuses is refused. Each block is
 *   BEGIN line, header lines ("Key: value"), a blank line,
 *   base64 lines (blanks inside ignored; '=' padding only at the very end),
 *   optionally the CRC-24 line "=XXXX", which must match the block's bytes,
 *   END line.
 * A missing CRC-24 line is accepted where gpg 2.2 accepts it (RFC 9580
 * makes it optional): when the data ends in '=' padding, the only '=' that
 * stops gpg's decoder short of the END line. A wrong or malformed CRC-24 is
 * refused, as gpg does. Stricter than
 * gpg, on purpose: text before BEGIN, between CRC-24 and END or after END,
 * '=' padding in the wrong place, a CRC-24 line with more than four
 * characters, and data whose last group holds a single character (gpg would
 * turn it into a stray byte) are refused. One spelling, nothing unchecked. */
int sw_pgp__dearmor(const uint8_t *buf, size_t len, const char *label, uint8_t *out, size_t cap,
                    size_t *olen, char *why, size_t whylen);

/* ---- pgp_packet.c ---- */
/* Called with each packet's tag and body; non-zero stops the walk (with why). */
typedef int (*packet_fn)(void *arg, int tag, const uint8_t *body, size_t blen, char *why, size_t whylen);

/* The purpose@swarmup notation of a packet, as found in its hashed area. */
enum { SIGP_NONE = 0, SIGP_MANIFEST = 1, SIGP_KEYS = 2, SIGP_PACKAGE = 3, SIGP_OTHER = 4 };
#define SW_PGP_PURPOSE_NAME "purpose@swarmup"
#define SW_PGP_PURPOSE_SHOW 32 /* bytes of an unknown value quoted in a reason */

/* What gpg needs to know about one signature packet to verify it inside a
 * one-pass signed message (RFC 4880 5.4): its class, algorithms and issuer;
 * and what swarmup needs to know about its purpose notation. */
struct sig_info {
  uint8_t type, pk_algo, hash_algo;
  uint8_t keyid[8];
  uint8_t fpr[20];      /* issuer fingerprint, when the hashed area names one */
  uint8_t has_fpr;
  uint8_t purpose;      /* SIGP_*: the hashed purpose notation's value */
  uint8_t n_purpose;    /* purpose notations in the hashed area (saturates) */
  uint8_t critical;     /* one of them has the subpacket's critical bit */
  uint8_t n_unhashed;   /* purpose notations in the unhashed area (saturates) */
  char other[SW_PGP_PURPOSE_SHOW + 1]; /* an unknown value, printable */
};

struct sig_scan {
  unsigned count;
  struct sig_info info[SW_PGP_SIGS_MAX];
};

/* What a key file holds, counted by sw_pgp__key_packet_cb. */
struct key_scan {
  unsigned n_public;
  unsigned n_secret;
};

/* Walk OpenPGP packets in buf[0..len). Calls back with each (tag, body).
 * Returns 0, or -1 with a reason for malformed framing. */
int sw_pgp__walk_packets(const uint8_t *buf, size_t len, packet_fn fn, void *arg, char *why, size_t whylen);

/* The purpose rule of pgp.h (sw_pgp_purpose), on our own reading of every
 * packet's hashed area: 0, or -1 with a one-line reason. Checked before gpg
 * runs; any wrong packet rejects the whole set. */
int sw_pgp__check_purpose(const struct sig_scan *sc, sw_pgp_purpose purpose, char *why, size_t whylen);

/* gpg's own reading of the notations of one good signature must agree with
 * the rule (a second opinion on our packet scan; gpg reports the notations it
 * parsed). 0, or -1 with the reason in v->reason. */
int sw_pgp__check_purpose_gpg(gpgme_signature_t s, sw_pgp_purpose purpose, sw_pgp_verdict *v);

/* Check sig bytes: only v4 binary-document signature packets, raw or armored.
 * On success returns the number of packets (>0), their binary form in *bin
 * (the caller frees it) and what gpg needs about each in *sc; else 0 with the
 * reason in why. */
unsigned sw_pgp__precheck_signature(const uint8_t *sig, size_t sig_len, struct sig_scan *sc, uint8_t **bin,
                                    size_t *bin_len, char *why, size_t whylen);

/* packet_fn for key files: counts public and secret key packets into a struct key_scan. */
int sw_pgp__key_packet_cb(void *arg, int tag, const uint8_t *body, size_t blen, char *why, size_t whylen);

/* ---- pgp_keyring.c ---- */
/* A gpgme context on p's private home only (offline, local key listing,
 * binary): an idle one of p's if there is one, else a new one. Any thread. */
sw_err sw_pgp__take_ctx(sw_pgp *p, gpgme_ctx_t *out, char *msg, size_t msglen);

/* Hand back a context from sw_pgp__take_ctx whose last operation ran to its
 * end (kept for the next caller, or released). */
void sw_pgp__give_ctx(sw_pgp *p, gpgme_ctx_t ctx);

/* gpgme_get_key(ctx, fpr, key, 0) on ctx itself rather than on a context of
 * its own (which costs a `gpg --version`): the one key whose fingerprint
 * fpr names, else an error (GPG_ERR_AMBIGUOUS_NAME if two match). Starting
 * the listing ends whatever result ctx held (a verify result included). */
gpgme_error_t sw_pgp__get_key(gpgme_ctx_t ctx, const char *fpr, gpgme_key_t *key);

/* The index of fpr (40 uppercase hex) among the pinned primaries, or -1. */
int sw_pgp__pinned_index(const sw_pgp *p, const char *fpr);

/* 1 if s is a fingerprint as gpgme spells it: 40 uppercase hex digits. */
int sw_pgp__is_hex40(const char *s);

/* ---- pgp_judge.c ---- */
/* Judge what gpg reports of one signature (status, summary, hash, key usage);
 * 0 if it may count, -1 with v->reason if not. A rejection may have listed a
 * key on ctx (for the date of an expired key), which frees s's result: the
 * caller must not look at the verify result after -1. */
int sw_pgp__judge_sig(gpgme_ctx_t ctx, gpgme_signature_t s, sw_pgp_verdict *v);

/* The key behind a signature judge_sig let pass (fpr: 40 hex digits, as
 * pgp.c checked before copying it): the pinned index (>= 0) of
 * its primary if the (sub)key is pinned, can sign and neither it nor its
 * primary is revoked, expired, disabled, invalid or too small now; else -1
 * with v->reason. Lists the key on ctx (see sw_pgp__get_key). */
int sw_pgp__check_signer(sw_pgp *p, gpgme_ctx_t ctx, const char *fpr, sw_pgp_verdict *v);

/* ---- pgp_frame.c ---- */
/* The state of one message being served to gpgme (sw_pgp__framer_read). */
struct framer {
  sw_pgp_read_fn rd;
  void *arg;
  uint64_t size;       /* data bytes the caller says it has */
  uint64_t data_done;  /* data bytes passed to gpg */
  uint64_t chunk_left; /* data bytes before the next length header */
  uint8_t head[SW_PGP_SIGS_MAX * 15 + 16];
  size_t head_len, head_pos;
  const uint8_t *tail; /* the signature packets */
  size_t tail_len, tail_pos;
  int stage; /* 0 framing bytes, 1 data, 2 signature packets, 3 end */
  int failed, short_data, piped;
};

void sw_pgp__framer_init(struct framer *f, const struct sig_scan *sc, const uint8_t *bin, size_t bin_len,
                         uint64_t size, sw_pgp_read_fn rd, void *arg);

ssize_t sw_pgp__framer_read(void *handle, void *buffer, size_t size);
/* gpgme_op_verify(ctx, md, NULL, NULL) for the message f serves through md,
 * with the message written into gpg's pipe by us (pgp_pump.c). Returns what
 * gpgme_op_verify would; the ctx's I/O callbacks are reset afterwards. */
gpgme_error_t sw_pgp__verify_pumped(gpgme_ctx_t ctx, gpgme_data_t md, struct framer *f);

#endif
