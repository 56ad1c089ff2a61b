/* install.h - put a verified file in place atomically, in a directory that
 * only we (or root) can change, and hand the hook the verified inode.
 *
 * sw_install_open() resolves --out once (symlinks followed, then every
 * component from / opened with O_NOFOLLOW under its checked parent) and
 * refuses it unless it and every directory above it is owned by root or the
 * effective uid, --out itself is not writable by group or others (sticky or
 * not), and each directory above it is not writable by group or others unless
 * it is sticky (like /tmp above a dir of ours). It runs before any download,
 * makes a missing --out (0755) under a checked parent, and keeps its fd: all
 * later work is relative to that fd.
 *
 * The bytes are written into an unnamed file (O_TMPFILE) in --out, so that
 * nothing named, partial or unverified ever appears there. Only after the
 * caller's gate has accepted exactly those bytes does sw_install_commit()
 * fsync the file, give it a hidden temporary name, rename it over the
 * destination and fsync the directory.
 *
 * Where --out's file system has no O_TMPFILE, the gate's copy goes into a
 * private unnamed file in a scratch dir of ours (the release's store dir)
 * instead, and commit copies it into a hidden ".NAME.swarmup-PID" in --out,
 * hashing while copying: the copy is renamed into place only if its size and
 * SHA-256 are those the gate accepted. So --out never holds unverified bytes.
 * Stale ".NAME.swarmup-*" files from a crash are removed by the next install.
 *
 * Link mode (the default of swarmup fetch; --copy turns it off): when the file
 * the gate reads (the release in the store, which is seeded afterwards) is on
 * --out's file system, the gate makes no copy at all, and commit hard-links
 * the very inode the gate read (its open fd, through /proc/self/fd) into a
 * hidden temporary name in --out, fsyncs it and renames it into place. That
 * saves writing and syncing the file a second time (on a 2-core machine about
 * a third of a second per 512 MiB, docs/cpu.md). The installed file and the
 * store's copy are then one inode (mode 0644 less the umask, as a copy gets):
 * an edit of the installed file in place changes what the store holds, which
 * libtorrent's seed mode finds (it hashes each piece before it first serves
 * it) and the next install from the store finds (it runs the gate again).
 * Where the link cannot be made (another file system after all, a file system
 * without hard links), commit copies the file instead, hashing while copying,
 * as in copy mode above. */
#ifndef SW_INSTALL_H
#define SW_INSTALL_H

#include <stddef.h>
#include <stdint.h>

#include "sw_err.h"

typedef struct sw_install {
  int fd;              /* write the new content here (the gate's copy); -1 in link mode until commit */
  int src_fd;          /* link mode: the file the gate read and accepted (sw_install_set_source) */
  int dir_fd;          /* --out, checked by sw_install_open */
  int ro_fd;           /* after commit: the installed file, read-only (for the hook) */
  int named;           /* 1: tmp names a file in dir */
  int copy;            /* 1: no O_TMPFILE in dir: fd is private, commit copies it */
  int link;            /* 1: no copy; commit links src_fd's inode (or copies it) */
  unsigned mode;       /* the installed file's mode in link mode: 0644 less our umask */
  int created_dir;     /* 1: we made dir (removed again if nothing is installed) */
  char dir[2048];      /* the resolved --out */
  char name[256];      /* the destination's plain basename */
  char tmp[320];       /* the temporary name, when named */
  char sha256[65];     /* after commit: lowercase hex SHA-256 of the installed bytes */
} sw_install;

/* Nothing open: sw_install_close() is a no-op. Call before anything else. */
void sw_install_init(sw_install *in);
/* Resolve, make if missing (0755) and check dir as above; keep its fd.
 * SW_ERR_CONFIG with a one-line message naming the path and the fix when it is
 * unsafe or not a directory; SW_ERR_IO when it cannot be made, opened or
 * written (e.g. a read-only file system). */
sw_err sw_install_open(sw_install *in, const char *dir, char *msg, size_t msglen);
/* Prepare to install dir/name (name must be a checked plain basename).
 * scratch_dir: a directory of ours for the private copy where dir has no
 * O_TMPFILE. link_dir_fd: the directory of the file the gate will read, or -1;
 * when it is on dir's file system, link mode (above): in->link is set, in->fd
 * stays -1 (the gate makes no copy) and the caller hands the checked file to
 * sw_install_set_source before commit. After sw_install_open. */
sw_err sw_install_begin(sw_install *in, const char *name, const char *scratch_dir, int link_dir_fd, char *msg,
                        size_t msglen);
/* Link mode: fd is the file the gate read and accepted (open, any access
 * mode); the install owns it from here on (closed by commit or abort). */
void sw_install_set_source(sw_install *in, int fd);
/* Name the content dir/name: fsync, (link, or copy with re-hash,) rename over
 * dir/name, fsync dir. sha256/size: what the gate accepted; a copy made here
 * that differs is SW_ERR_PAYLOAD and nothing is installed. On success ro_fd and
 * sha256 describe the installed inode. The write fd is closed either way. */
sw_err sw_install_commit(sw_install *in, const uint8_t sha256[32], uint64_t size, char *msg, size_t msglen);
/* Drop the new content: nothing is left behind; dir stays open (begin may
 * run again). Safe after commit (no-op). */
void sw_install_abort(sw_install *in);
/* Abort, close everything, and remove dir if we made it and it is still empty. */
void sw_install_close(sw_install *in);

/* The environment for the --exec hook: this process's own without any
 * SWARMUP_FILE, SWARMUP_FILE_FD or SWARMUP_SHA256, plus
 * SWARMUP_FILE=path, SWARMUP_FILE_FD=fd_number, SWARMUP_SHA256=in->sha256.
 * NULL when out of memory; free with sw_install_free_env. */
char **sw_install_hook_env(const sw_install *in, const char *path, int fd_number);
void sw_install_free_env(char **env);

#endif
