/* swarm.h - the only door to libtorrent (torrent/swarm.cpp is the one C++ file).
 *
 * Plain C: opaque structs, no C++ types, no varargs. Every function returns an
 * sw_err and writes a one-line reason into (msg, msglen) on failure; no C++
 * exception crosses this header.
 *
 * Part 1: make a hybrid (BitTorrent v1+v2) single-file torrent, and read one.
 * Part 2: a libtorrent session driven by a libuv loop (see "Session" below).
 */
#ifndef SW_SWARM_H
#define SW_SWARM_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sw_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- torrents */

typedef struct sw_swarm_make_opts {
  const char *file_path;        /* the package (a single regular file, size > 0) */
  const char *torrent_path;     /* where to write the .torrent (temp + fsync + rename) */
  const char *name;             /* torrent name = file name (plain basename); NULL: basename of file_path */
  const char *const *trackers;  /* announce URLs (all in tier 0), may be NULL if n_trackers == 0 */
  size_t n_trackers;
  int piece_size;               /* 0: libtorrent's choice; else a power of two >= 16 KiB */
  const char *creator;          /* "created by"; NULL: none */
} sw_swarm_make_opts;

typedef struct sw_swarm_made {
  char btmh_hex[65];            /* v2 info-hash (SHA-256), lowercase hex */
  char btih_hex[41];            /* v1 info-hash (SHA-1), lowercase hex; "" for a v2-only torrent */
  uint64_t size;                /* the file's size in bytes */
  int piece_size;
  int num_pieces;
} sw_swarm_made;

/* Hash o->file_path and write a hybrid v1+v2 torrent describing exactly that one
 * file to o->torrent_path. No creation date (the same file, name, trackers and
 * piece size give the same bytes), no web seeds. A piece count of 512k+1 is
 * never produced (libtorrent 2.0.8 peers cannot fetch that v2 piece layer by
 * magnet): the automatic piece size steps around it, an explicit piece_size
 * that hits it is SW_ERR_USAGE. Blocks while hashing: call it
 * from a tool or from a thread-pool job, not from a loop callback.
 * Returns SW_OK and fills *out; SW_ERR_USAGE for bad options (name not a plain
 * basename, bad piece size, not a regular file, empty file); SW_ERR_IO for
 * read/write failures; SW_ERR_SWARM for libtorrent failures. */
sw_err sw_swarm_make_torrent(const sw_swarm_make_opts *o, sw_swarm_made *out, char *msg, size_t msglen);

/* Decode a .torrent from buf[0..len) (the caller caps len) and report its
 * hashes, piece layout and its single file's name (NUL-terminated into
 * name_out[name_cap]; may be NULL/0) and size. The name is untrusted: it is
 * only reported, checked to be a printable plain basename.
 * Returns SW_OK; SW_ERR_TORRENT_MISMATCH if the torrent does not hold exactly
 * one file, has no v2 hash, or its name is not a plain basename or does not fit
 * name_cap; SW_ERR_SWARM if it does not decode. */
sw_err sw_swarm_torrent_info(const uint8_t *buf, size_t len, sw_swarm_made *out, char *name_out,
                             size_t name_cap, char *msg, size_t msglen);

/* The signed part of the .torrent in buf[0..len): a new .torrent holding only
 * its info dictionary (the same bytes, so the same info-hashes) and its v2
 * piece layers. Every other key (announce, announce-list, url-list, httpseeds,
 * nodes, ...) is not bound by the manifest's btmh and is dropped. The loaders
 * in this file use only this part; use it for a .torrent that is kept, so
 * that no other client is handed those keys either. On SW_OK *out (malloc'd,
 * the caller frees it) and *out_len; SW_ERR_SWARM if it does not decode or
 * has no info dictionary. */
sw_err sw_swarm_torrent_signed(const uint8_t *buf, size_t len, uint8_t **out, size_t *out_len, char *msg,
                               size_t msglen);

/* Whether resume data buf[0..len) would be used for a download of btmh
 * (btih: NULL or the v1 hash) of the single file name, size bytes: the check
 * sw_swarm_add_download makes on the resume file it reads back (at most 64 MiB;
 * anything else is ignored and libtorrent rechecks the files). *usable is 1 or
 * 0. Returns SW_OK, or SW_ERR_USAGE / SW_ERR_SWARM (exception). For tests and
 * tests/fuzz/fuzz_resume.c. */
sw_err sw_swarm_resume_check(const uint8_t *buf, size_t len, const uint8_t btmh[32], const uint8_t *btih,
                             const char *name, uint64_t size, int *usable, char *msg, size_t msglen);

/* ----------------------------------------------------------------- session
 *
 * One libtorrent session per process, driven by the caller's libuv loop:
 * libtorrent's alert-notify hook wakes a uv_async_t; its callback pops the
 * alerts and turns them into the callbacks below, always on the loop thread.
 * A uv_timer asks for status updates (stats_interval_ms) and saves resume
 * data (resume_interval_s). Nothing polls.
 *
 * Lifetime (libuv style): sw_swarm_new() starts it; sw_swarm_free() begins a
 * bounded close (save resume data, at most close_timeout_ms; stop the session
 * on a thread-pool job, so the loop never waits for trackers) and frees
 * everything in the last close callback, then calls on_closed. The loop must
 * keep running until then. Every sw_swarm_torrent belongs to its sw_swarm:
 * it stays valid until sw_swarm_remove() or the end of sw_swarm_free(), even
 * after it failed. No callback runs inside an sw_swarm_* call, and none for a
 * torrent after sw_swarm_remove(t) returned.
 */

typedef struct sw_swarm sw_swarm;
typedef struct sw_swarm_torrent sw_swarm_torrent;

typedef enum sw_swarm_encryption {
  SW_SWARM_ENC_ENABLED = 0,     /* try encrypted, accept plain (libtorrent's default) */
  SW_SWARM_ENC_FORCED = 1,      /* encrypted connections only */
  SW_SWARM_ENC_DISABLED = 2     /* plain connections only */
} sw_swarm_encryption;

typedef struct sw_swarm_settings {
  const char *listen_interfaces; /* libtorrent syntax, "127.0.0.1:6881,[::1]:6881"; port 0: any free port */
  int enable_dht;                /* default 1 */
  int enable_lsd;                /* local service discovery, default 1 */
  int enable_upnp;               /* default 0: we don't reconfigure routers unless asked */
  int enable_natpmp;             /* default 0 */
  int enable_utp;                /* default 1; 0: TCP only (use 0 on loopback: uTP is ~36x slower there) */
  int encryption;                /* sw_swarm_encryption, default SW_SWARM_ENC_ENABLED */
  int upload_rate_limit;         /* bytes/s, 0: unlimited (default). Not applied to local-network peers */
  int download_rate_limit;       /* bytes/s, 0: unlimited (default). Not applied to local-network peers */
  int posix_disk_io;             /* 1: pread/pwrite disk I/O instead of mmap (less RSS); default 0 */
  int tick_interval_ms;          /* libtorrent's internal tick, default 100 */
  int stats_interval_ms;         /* on_status period, default 1000 */
  int resume_interval_s;         /* resume data save period, default 30 */
  int close_timeout_ms;          /* bound on waiting for resume data at close, default 5000 */
  int dht_bootstrap;             /* default 1: the DHT starts from libtorrent's bootstrap router
                                  * (dht.libtorrent.org:25401, a DNS lookup and an Internet host);
                                  * 0: no router, the DHT learns nodes only from peers */
} sw_swarm_settings;

/* Fill *s with the defaults above (listen_interfaces "0.0.0.0:6881,[::]:6881"). */
void sw_swarm_settings_init(sw_swarm_settings *s);

typedef enum sw_swarm_state {
  SW_SWARM_METADATA = 0,        /* magnet: waiting for the info dictionary */
  SW_SWARM_CHECKING = 1,        /* checking files / resume data */
  SW_SWARM_DOWNLOADING = 2,
  SW_SWARM_SEEDING = 3,         /* complete (finished or seeding) */
  SW_SWARM_PAUSED = 4,
  SW_SWARM_FAILED = 5           /* aborted: see the error callback; only remove is left */
} sw_swarm_state;

typedef struct sw_swarm_status {
  int state;                    /* sw_swarm_state */
  int has_metadata;             /* metadata present and checked against the expected name/size */
  uint64_t size;                /* expected size (download) or the torrent's size (seed) */
  uint64_t bytes_done;          /* verified bytes of the file we have */
  uint64_t total_payload_download; /* payload received in this session (not all-time) */
  uint64_t total_payload_upload;
  int download_rate;            /* payload bytes/s */
  int upload_rate;
  int num_peers;
  int num_seeds;
} sw_swarm_status;

/* All optional (NULL: not called); all run on the loop thread. t_arg is the
 * arg given when t was added. t is NULL for session-wide events. */
typedef struct sw_swarm_callbacks {
  void *arg;
  void (*on_status)(void *arg, sw_swarm_torrent *t, void *t_arg, const sw_swarm_status *st);
  /* Metadata arrived and matched the expected name and size. */
  void (*on_metadata)(void *arg, sw_swarm_torrent *t, void *t_arg);
  /* connected = 1 on connect, 0 on disconnect/failure (reason: libtorrent's text). */
  void (*on_peer)(void *arg, sw_swarm_torrent *t, void *t_arg, int connected, const char *endpoint,
                  const char *reason);
  void (*on_piece)(void *arg, sw_swarm_torrent *t, void *t_arg, int piece);
  /* Every wanted byte is on disk and hash-checked by libtorrent (not yet by our gate). */
  void (*on_finished)(void *arg, sw_swarm_torrent *t, void *t_arg);
  /* SW_ERR_TORRENT_MISMATCH (metadata differs: the torrent was stopped, state
   * FAILED), SW_ERR_IO (file error: FAILED), SW_ERR_SWARM (torrent error:
   * FAILED; with t == NULL: a session problem such as a listen failure). */
  void (*on_error)(void *arg, sw_swarm_torrent *t, void *t_arg, sw_err err, const char *msg);
  /* libtorrent dropped every piece of t and starts over (a recovery from its
   * spurious "v1 and v2 hashes do not describe the same data"; at most 3 times,
   * then on_error). Pieces finished before are no longer had. */
  void (*on_reset)(void *arg, sw_swarm_torrent *t, void *t_arg, const char *why);
  /* A piece failed its hash check (a bad peer, or bad bytes given to sw_swarm_add_piece). */
  void (*on_piece_failed)(void *arg, sw_swarm_torrent *t, void *t_arg, int piece);
  /* A tracker answered (ok = 1) or failed (ok = 0, msg says why). */
  void (*on_tracker)(void *arg, sw_swarm_torrent *t, void *t_arg, int ok, const char *url, const char *msg);
  /* After sw_swarm_free(): everything is closed and freed. */
  void (*on_closed)(void *arg);
} sw_swarm_callbacks;

/* Start a session on loop with settings s (NULL: defaults) and callbacks cb
 * (copied; may be NULL). Returns SW_OK and *out; on error nothing is left open. */
sw_err sw_swarm_new(uv_loop_t *loop, const sw_swarm_settings *s, const sw_swarm_callbacks *cb, sw_swarm **out,
                    char *msg, size_t msglen);

/* Begin the bounded close described above. NULL: no-op. */
void sw_swarm_free(sw_swarm *s);

/* The TCP port the session listens on (0 if not listening yet or failed). */
int sw_swarm_listen_port(sw_swarm *s);

typedef struct sw_swarm_download {
  const uint8_t *btmh;          /* 32 bytes, required: v2 info-hash */
  const uint8_t *btih;          /* 20 bytes or NULL: v1 info-hash of a hybrid torrent */
  const char *expected_name;    /* the single file's name (plain basename), required */
  uint64_t expected_size;       /* its size, required (> 0) */
  const char *const *trackers;  /* announce URLs */
  size_t n_trackers;
  const char *const *peers;     /* "a.b.c.d:port" or "[v6]:port", numeric only */
  size_t n_peers;
  const char *save_dir;         /* the partial area: libtorrent writes save_dir/expected_name */
  const char *resume_path;      /* NULL: none. Loaded if present (ignored if for another torrent),
                                 * saved atomically every resume_interval_s, when finished and at close */
  int sequential;               /* 1: fetch pieces in order (the file's prefix grows steadily) */
  const uint8_t *torrent;       /* NULL, or a .torrent already checked against btmh, name and size:
                                 * the metadata without asking a peer (copied) */
  size_t torrent_len;
  void *arg;                    /* t_arg for callbacks */
} sw_swarm_download;

/* Add a download. Metadata is accepted only if it describes exactly one file
 * named expected_name of expected_size bytes; otherwise the torrent is
 * stopped and on_error gets SW_ERR_TORRENT_MISMATCH. Returns SW_OK and *out;
 * SW_ERR_USAGE for bad arguments (an unparsable peer), SW_ERR_SWARM if
 * libtorrent refuses (e.g. the same torrent twice). */
sw_err sw_swarm_add_download(sw_swarm *s, const sw_swarm_download *d, sw_swarm_torrent **out, char *msg,
                             size_t msglen);

typedef struct sw_swarm_seed {
  const uint8_t *torrent;       /* the .torrent bytes (caller caps the size) */
  size_t torrent_len;
  const char *save_dir;         /* holds the complete file, named as in the torrent */
  const char *resume_path;      /* NULL: none; only saved (seed mode needs nothing loaded) */
  const char *const *trackers;  /* more announce URLs (e.g. the magnet's), may be NULL */
  size_t n_trackers;
  int super_seed;               /* 1: super-seeding (BEP 16): each peer is offered one piece at a
                                 * time, the next only once that one was seen at another peer */
  void *arg;
} sw_swarm_seed;

/* Seed a complete file that already passed our payload gate: added in seed
 * mode (pieces are hashed only when a peer asks for them, a bad piece drops
 * seed mode). SW_ERR_TORRENT_MISMATCH if the torrent is not one file;
 * SW_ERR_IO if the file is missing or its size differs. */
sw_err sw_swarm_add_seed(sw_swarm *s, const sw_swarm_seed *sd, sw_swarm_torrent **out, char *msg, size_t msglen);

/* Dial a peer ("a.b.c.d:port" / "[v6]:port"). */
sw_err sw_swarm_add_peer(sw_swarm_torrent *t, const char *peer, char *msg, size_t msglen);
/* Pause (paused != 0) or resume a torrent. */
sw_err sw_swarm_pause(sw_swarm_torrent *t, int paused, char *msg, size_t msglen);
/* A fresh status (asks libtorrent synchronously; short). */
sw_err sw_swarm_get_status(sw_swarm_torrent *t, sw_swarm_status *st, char *msg, size_t msglen);
/* Ask for piece `piece` within ms milliseconds: libtorrent requests it first,
 * from the fastest peers, while the rest of the torrent stays rarest-first. */
sw_err sw_swarm_piece_deadline(sw_swarm_torrent *t, int piece, int ms, char *msg, size_t msglen);

/* The piece layout of t (needs checked metadata). */
sw_err sw_swarm_layout(sw_swarm_torrent *t, int *piece_len, int *num_pieces, char *msg, size_t msglen);
/* Bit i of bits (LSB first in each byte) set if t has piece i, hash-checked.
 * nbytes must be at least (num_pieces + 7) / 8. */
sw_err sw_swarm_have_pieces(sw_swarm_torrent *t, uint8_t *bits, size_t nbytes, char *msg, size_t msglen);
/* Hand libtorrent piece `piece` obtained elsewhere (our HTTPS fallback): it is
 * checked against the torrent's v1 and v2 piece hashes like any peer's data and
 * written only if it matches (else on_piece_failed). len must be the piece's size. */
sw_err sw_swarm_add_piece(sw_swarm_torrent *t, int piece, const uint8_t *data, size_t len, char *msg, size_t msglen);

/* Pieces [first, last] downloaded from peers only when nothing else is left
 * (on = 0: HTTPS fetches them; libtorrent's lowest priority that still counts
 * them as wanted) or back to the normal priority (on = 1: an HTTPS request
 * failed). */
sw_err sw_swarm_piece_priority(sw_swarm_torrent *t, int first, int last, int on, char *msg, size_t msglen);
/* on = 1: libtorrent picks pieces in order (from the start of the file), not
 * rarest first; on = 0: rarest first again. */
sw_err sw_swarm_set_sequential(sw_swarm_torrent *t, int on, char *msg, size_t msglen);
/* Bit i set if the swarm is downloading piece i now (some blocks requested or
 * received, not yet hash-checked). nbytes as for sw_swarm_have_pieces. */
sw_err sw_swarm_queued_pieces(sw_swarm_torrent *t, uint8_t *bits, size_t nbytes, char *msg, size_t msglen);

/* Write t's metadata (a .torrent with the v2 piece layers, same info-hashes)
 * to path atomically, e.g. to seed it later with sw_swarm_add_seed. Needs the
 * metadata (after on_metadata). */
sw_err sw_swarm_write_torrent(sw_swarm_torrent *t, const char *path, char *msg, size_t msglen);

/* Remove t from the session (files stay; the resume file is kept, not
 * rewritten) and free it. NULL: no-op. */
void sw_swarm_remove(sw_swarm_torrent *t);

#ifdef __cplusplus
}
#endif

#endif
