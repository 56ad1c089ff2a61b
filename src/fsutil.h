/* fsutil.h - small file helpers with the durability rules of the state store. */
#ifndef SW_FSUTIL_H
#define SW_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "sw_err.h"

/* Read the regular file at path into a malloc'd buffer (NUL-terminated for
 * convenience; *len excludes it). A file over max bytes fails with
 * "X is over the N-byte limit" and too_big_err (SW_ERR_IO if that is SW_OK).
 * The caller frees *buf. */
sw_err sw_fs_read_file(const char *path, size_t max, sw_err too_big_err, uint8_t **buf, size_t *len,
                       char *msg, size_t msglen);

/* The same for dir/name opened relative to dirfd (dir is only for messages),
 * never through a symlink (O_NOFOLLOW), never blocking on a FIFO. */
sw_err sw_fs_read_at(int dirfd, const char *dir, const char *name, size_t max, sw_err too_big_err, uint8_t **buf,
                     size_t *len, char *msg, size_t msglen);

/* Write buf to dir/name atomically: a temp file in dir (O_EXCL, mode), write,
 * fsync, rename over name, fsync dir. Readers see the old or the new content,
 * never a mix. Temp files of crashed writers of the same name are removed
 * first (callers hold the state lock). The test hook
 * SWARMUP_FAULT=before-rename[:NAME] makes the process kill itself (SIGKILL)
 * after the temp file of NAME (or of any file) is synced, before the rename. */
sw_err sw_fs_write_atomic(const char *dir, const char *name, const uint8_t *buf, size_t len,
                          unsigned mode, char *msg, size_t msglen);

/* The same relative to dirfd (dir is only for messages): the temp file is
 * created with O_EXCL | O_NOFOLLOW and renamed with renameat, so nothing is
 * ever written through a name planted in the directory. */
sw_err sw_fs_write_atomic_at(int dirfd, const char *dir, const char *name, const uint8_t *buf, size_t len,
                             unsigned mode, char *msg, size_t msglen);

/* mkdir -p with mode for each missing component. */
sw_err sw_fs_mkdirs(const char *path, unsigned mode, char *msg, size_t msglen);

/* fsync the directory at path. */
sw_err sw_fs_sync_dir(const char *path, char *msg, size_t msglen);

/* SHA-256 of buf into out (OpenSSL). */
void sw_sha256(const uint8_t *buf, size_t len, uint8_t out[32]);

/* The number and hash fields of our own record files (the state file, _keys/current).
 * sw_text_u64: s[0..n) is a strict decimal uint64 (digits only, no leading zero,
 * no overflow). sw_text_unhex: s[0..n) is exactly 2 * outlen lower-case hex digits.
 * Both return 0, or -1 with *out unspecified. */
int sw_text_u64(const char *s, size_t n, uint64_t *out);
int sw_text_unhex(const char *s, size_t n, uint8_t *out, size_t outlen);
/* Lowercase hex of buf[0..len) into out (2*len+1 bytes). */
void sw_hex(const uint8_t *buf, size_t len, char *out);

#endif
