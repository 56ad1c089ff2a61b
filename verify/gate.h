/* gate.h - the payload gate: a file is the signed release only if its size
 * equals Size, its SHA-256 equals SHA256 and the detached signature in the
 * manifest's Signature field verifies under the same trust rules as the
 * manifest. One read pass: OpenSSL SHA-256 runs inside the read callback
 * that feeds gpgme. */
#ifndef SW_GATE_H
#define SW_GATE_H

#include <stdint.h>

#include "manifest.h"
#include "pgp.h"
#include "sw_err.h"

/* CPU time one check spent in this process, by stage, in nanoseconds
 * (CLOCK_THREAD_CPUTIME_ID around each 128 KiB read and 1 MiB chunk: nearly
 * free). The gate's thread runs gpgme: gate_ns - read_ns is gpgme's own
 * pumping. gpg's own CPU is not here: gpgme double-forks gpg, so it is never
 * our child (measure it from outside: tools/bench/cpu.sh). */
typedef struct sw_gate_cpu {
  uint64_t gate_ns;   /* the calling thread, the whole check */
  uint64_t read_ns;   /* of which: getting the bytes (pread, or the copy out of
                         the piece ring) and copying them into gpgme's buffer */
  uint64_t sha_ns;    /* the digest thread: SHA-256 */
  uint64_t copy_ns;   /* the digest thread: the rest (the pwrite into copy_fd) */
} sw_gate_cpu;

typedef struct sw_gate_verdict {
  int accepted;                 /* starts 0 */
  sw_gate_cpu cpu;              /* what the check cost, accepted or not */
  uint64_t bytes;               /* bytes read */
  unsigned flushes;             /* fdatasyncs of the written file while the check ran */
  uint8_t sha256[32];           /* of the bytes read (valid when bytes == size) */
  sw_pgp_verdict pgp;
  char reason[SW_MSG_MAX];      /* one line: why rejected */
} sw_gate_verdict;

/* Check the open file fd (read from offset 0, never more than m->size + 1
 * bytes) against m. Returns SW_OK when the check ran (verdict in *v), or an
 * error when it could not (SW_ERR_IO, SW_ERR_PGP_ENGINE). */
sw_err sw_gate_check_fd(sw_pgp *p, const sw_manifest *m, int fd, unsigned threshold, sw_gate_verdict *v);

/* Same, and every byte read is also written (pwrite at the same offset) to
 * copy_fd, so that copy_fd ends up holding exactly the bytes that were checked:
 * the caller installs that copy only if the verdict is accepted. copy_fd < 0:
 * no copy. A failed write is SW_ERR_IO (e.g. a full disk). */
sw_err sw_gate_check_fd_copy(sw_pgp *p, const sw_manifest *m, int fd, int copy_fd, unsigned threshold,
                             sw_gate_verdict *v);

/* Streaming: called on the gate's thread before each read at offset
 * (offset < Size): return how many bytes from offset on are final (verified
 * and written by the downloader), waiting until there is at least one; return
 * 0 or less to abort the check (SW_ERR_IO, "cancelled"). */
typedef int64_t (*sw_gate_avail_fn)(void *arg, uint64_t offset);

/* Streaming from memory: called on the gate's thread to get bytes at offset
 * (offset < Size) into buf (at most len); waits until some are there; returns
 * the count, or 0 or less to abort the check. Used when the downloader hands
 * over verified pieces itself instead of the gate reading a file. */
typedef int64_t (*sw_gate_read_fn)(void *arg, uint64_t offset, uint8_t *buf, size_t len);

/* sw_gate_check_fd_copy on a release that is still downloading, so that
 * hashing, signature checking and the copy proceed while the download runs and
 * end shortly after its last byte. With read_at, bytes come from read_at (fd
 * is not used and may be -1); otherwise from fd, only as far as avail says,
 * and fd's writeback to disk is started behind the check (sync_file_range),
 * as copy_fd's is: both are fsynced before an install. Both are also flushed
 * (fdatasync) every 64 MiB written while the check runs, so that fsync finds
 * little left; a flush that fails makes the check SW_ERR_IO.
 * The early size check is replaced by the count of bytes read. */
sw_err sw_gate_check_stream(sw_pgp *p, const sw_manifest *m, int fd, int copy_fd, sw_gate_avail_fn avail,
                            sw_gate_read_fn read_at, void *arg, unsigned threshold, sw_gate_verdict *v);

/* Same for a path, opened O_RDONLY (the caller chose the path). */
sw_err sw_gate_check_path(sw_pgp *p, const sw_manifest *m, const char *path, unsigned threshold,
                          sw_gate_verdict *v);

#endif
